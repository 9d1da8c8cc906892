//! `kind: Contact` and `kind: OnCallSchedule` documents (YAML, one or more per file):
//!
//! ```yaml
//! kind: Contact
//! alias: alice
//! displayName: Alice Ó Briain
//! type: PERSONAL
//! channels:
//!   - {name: mobile, type: SMS, deliveryAddress: "+14155550100"}
//! engagementPlan:
//!   stages: [{channel: mobile, minutesAfterStart: 0}]
//! ---
//! kind: OnCallSchedule
//! alias: sre
//! rotations:
//!   - name: dublin
//!     contacts: [alice, bob]
//!     startTime: 2026-01-05T08:00:00Z
//!     timeZoneId: Europe/Dublin
//!     recurrence: {dailySettings: ["08:00"], numberOfOnCalls: 1, recurrenceMultiplier: 1}
//! ```
//!
//! Parsing is structural (serde, with the path of the offending field); [`check_batch`] then
//! validates the whole batch against the on-call rules and what is already stored. Every problem
//! names the file, the document (1-based), the field and the rule. Pure: no IO except
//! [`read_yaml_files`], no storage.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ConfigError;
use crate::incident::{ResponsePlan, validate_plan};
use crate::oncall::{
    Contact, ContactType, EscalationPlan, OnCallSchedule, TargetRef, check_rotation_contacts,
    validate_contact, validate_escalation_plan, validate_schedule,
};

/// Largest YAML file read (bytes), and largest batch (sum of files).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Most documents of one batch.
pub const MAX_DOCUMENTS: usize = 10_000;

/// Kinds read by other parts of the engine from the same directory: skipped here.
const OTHER_KINDS: &[&str] = &[
    "Plugin",
    "PagingPolicy",
    "EventRule",
    "AlertMapping",
    "AlertIntake",
];

/// A parsed document and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located<T> {
    pub file: String,
    /// 1-based index of the document in its file.
    pub document: usize,
    pub item: T,
}

/// The on-call documents of a batch (one `apply`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OncallDocs {
    pub contacts: Vec<Located<Contact>>,
    pub schedules: Vec<Located<OnCallSchedule>>,
    /// `kind: EscalationPlan`: ESCALATION contacts with their stages.
    pub plans: Vec<Located<EscalationPlan>>,
    /// `kind: ResponsePlan`.
    pub response_plans: Vec<Located<ResponsePlan>>,
    /// Documents of other kinds (Plugin, EscalationPlan, ...) that were skipped.
    pub skipped: usize,
}

impl OncallDocs {
    pub fn is_empty(&self) -> bool {
        self.contacts.is_empty()
            && self.schedules.is_empty()
            && self.plans.is_empty()
            && self.response_plans.is_empty()
    }
}

/// One problem with one document: file, document, field and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocProblem {
    pub file: String,
    pub document: usize,
    pub field: String,
    pub rule: String,
}

impl fmt::Display for DocProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: document {}: `{}`: {}",
            self.file, self.document, self.field, self.rule
        )
    }
}

/// A batch that cannot be applied; nothing of it was written. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub struct OncallDocsError {
    pub problems: Vec<DocProblem>,
}

impl fmt::Display for OncallDocsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} problem(s) in the on-call documents; nothing was applied:",
            self.problems.len()
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Parses the on-call documents of `(file name, text)` pairs. Collects every structural problem
/// of every file rather than stopping at the first.
pub fn parse_oncall_files(files: &[(String, String)]) -> Result<OncallDocs, OncallDocsError> {
    let mut docs = OncallDocs::default();
    let mut problems = Vec::new();
    let total: usize = files.iter().map(|(_, t)| t.len()).sum();
    if total > 8 * MAX_FILE_BYTES {
        problems.push(DocProblem {
            file: "(batch)".into(),
            document: 0,
            field: "(files)".into(),
            rule: format!(
                "a batch holds at most {} bytes of YAML; apply it in parts",
                8 * MAX_FILE_BYTES
            ),
        });
        return Err(OncallDocsError { problems });
    }
    for (file, text) in files {
        parse_file(file, text, &mut docs, &mut problems);
    }
    if docs.contacts.len() + docs.schedules.len() > MAX_DOCUMENTS {
        problems.push(DocProblem {
            file: "(batch)".into(),
            document: 0,
            field: "(documents)".into(),
            rule: format!("a batch holds at most {MAX_DOCUMENTS} documents"),
        });
    }
    if problems.is_empty() {
        Ok(docs)
    } else {
        Err(OncallDocsError { problems })
    }
}

fn parse_file(file: &str, text: &str, docs: &mut OncallDocs, problems: &mut Vec<DocProblem>) {
    let problem = |document: usize, field: &str, rule: String| DocProblem {
        file: file.to_owned(),
        document,
        field: field.to_owned(),
        rule,
    };
    if text.len() > MAX_FILE_BYTES {
        problems.push(problem(
            0,
            "(file)",
            format!("file is over {MAX_FILE_BYTES} bytes"),
        ));
        return;
    }
    // Runbooks (schemaVersion documents) may share the directory; they are not configuration.
    if text.lines().any(|l| l.starts_with("schemaVersion")) {
        return;
    }
    let values: Vec<serde_json::Value> = match serde_saphyr::from_multiple(text) {
        Ok(v) => v,
        Err(e) => {
            problems.push(problem(0, "(yaml)", format!("not valid YAML: {e}")));
            return;
        }
    };
    for (i, mut value) in values.into_iter().enumerate() {
        let document = i + 1;
        if value.is_null() {
            continue;
        }
        let Some(map) = value.as_object_mut() else {
            problems.push(problem(
                document,
                "kind",
                "a document must be a mapping with a `kind`".into(),
            ));
            continue;
        };
        let kind = match map.remove("kind") {
            Some(serde_json::Value::String(k)) => k,
            Some(_) => {
                problems.push(problem(document, "kind", "must be a string".into()));
                continue;
            }
            None => {
                problems.push(problem(
                    document,
                    "kind",
                    "missing; expected `kind: Contact` or `kind: OnCallSchedule`".into(),
                ));
                continue;
            }
        };
        match kind.as_str() {
            "Contact" => match typed::<Contact>(value) {
                Ok(c) if c.contact_type == ContactType::OncallSchedule => problems.push(problem(
                    document,
                    "type",
                    "an ONCALL_SCHEDULE contact is written as `kind: OnCallSchedule` with its rotations"
                        .into(),
                )),
                Ok(item) => docs.contacts.push(Located {
                    file: file.to_owned(),
                    document,
                    item,
                }),
                Err((field, rule)) => problems.push(problem(document, &field, rule)),
            },
            "OnCallSchedule" => match typed::<OnCallSchedule>(value) {
                Ok(item) => docs.schedules.push(Located {
                    file: file.to_owned(),
                    document,
                    item,
                }),
                Err((field, rule)) => problems.push(problem(document, &field, rule)),
            },
            "ResponsePlan" => match typed::<ResponsePlan>(value) {
                Ok(item) => docs.response_plans.push(Located {
                    file: file.to_owned(),
                    document,
                    item,
                }),
                Err((field, rule)) => problems.push(problem(document, &field, rule)),
            },
            "EscalationPlan" => match typed::<EscalationPlan>(value) {
                Ok(item) => docs.plans.push(Located {
                    file: file.to_owned(),
                    document,
                    item,
                }),
                Err((field, rule)) => problems.push(problem(document, &field, rule)),
            },
            "Rotation" => problems.push(problem(
                document,
                "kind",
                "rotations are written inside their schedule: `kind: OnCallSchedule` with `rotations: [...]`"
                    .into(),
            )),
            k if OTHER_KINDS.contains(&k) => docs.skipped += 1,
            other => problems.push(problem(
                document,
                "kind",
                format!(
                    "unknown kind `{other}` (known kinds: Contact, OnCallSchedule, EscalationPlan, ResponsePlan, {})",
                    OTHER_KINDS.join(", ")
                ),
            )),
        }
    }
}

/// Deserializes with the path of the offending field (`channels[0].deliveryAddress`).
fn typed<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        // serde reports a missing field at its parent: name the field itself.
        let field = match message
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "(document)".to_owned(),
            None => path,
        };
        (field, message)
    })
}

/// What is already stored, as far as a batch needs to know.
#[derive(Debug, Clone, Default)]
pub struct Existing {
    /// Stored contacts (not schedules) by alias, with their type.
    pub contacts: BTreeMap<String, ContactType>,
    /// Stored schedule aliases.
    pub schedules: BTreeSet<String>,
}

/// Validates a whole batch: each document by the on-call rules, aliases unique across the
/// batch's contacts and schedules and not clashing with a stored item of the other kind, and
/// every rotation member a PERSONAL contact of the batch or of the store. `plugin_channel_types`
/// are the channel types plugins provide. Returns every problem found.
pub fn check_batch(
    docs: &OncallDocs,
    existing: &Existing,
    plugin_channel_types: &[&str],
) -> Vec<DocProblem> {
    let mut problems = Vec::new();
    let mut push = |file: &str, document: usize, field: String, rule: String| {
        problems.push(DocProblem {
            file: file.to_owned(),
            document,
            field,
            rule,
        })
    };
    // Aliases: first occurrence per alias.
    let mut seen: BTreeMap<&str, (&str, usize)> = BTreeMap::new();
    let mut aliases: Vec<(&str, &str, usize, bool)> = Vec::new();
    aliases.extend(
        docs.contacts
            .iter()
            .map(|c| (c.item.alias.as_str(), c.file.as_str(), c.document, false)),
    );
    aliases.extend(
        docs.schedules
            .iter()
            .map(|s| (s.item.alias.as_str(), s.file.as_str(), s.document, true)),
    );
    aliases.extend(
        docs.plans
            .iter()
            .map(|p| (p.item.alias.as_str(), p.file.as_str(), p.document, false)),
    );
    for (alias, file, document, is_schedule) in aliases {
        if let Some((f0, d0)) = seen.get(alias) {
            push(
                file,
                document,
                "alias".into(),
                format!(
                    "alias {alias:?} is already used by {f0} document {d0}: aliases are unique across contacts and schedules"
                ),
            );
            continue;
        }
        seen.insert(alias, (file, document));
        if is_schedule && existing.contacts.contains_key(alias) {
            push(
                file,
                document,
                "alias".into(),
                format!(
                    "alias {alias:?} belongs to a stored contact: aliases are unique across contacts and schedules"
                ),
            );
        }
        if !is_schedule && existing.schedules.contains(alias) {
            push(
                file,
                document,
                "alias".into(),
                format!(
                    "alias {alias:?} belongs to a stored on-call schedule: aliases are unique across contacts and schedules"
                ),
            );
        }
    }
    for c in &docs.contacts {
        if let Err(e) = validate_contact(&c.item, plugin_channel_types) {
            for fe in e.errors {
                push(&c.file, c.document, fe.field, fe.rule);
            }
        }
    }
    let batch_types: BTreeMap<&str, ContactType> = docs
        .contacts
        .iter()
        .map(|c| (c.item.alias.as_str(), c.item.contact_type))
        .collect();
    let is_personal = |alias: &str| match batch_types.get(alias) {
        Some(t) => *t == ContactType::Personal,
        None => existing.contacts.get(alias) == Some(&ContactType::Personal),
    };
    for s in &docs.schedules {
        if let Err(e) = validate_schedule(&s.item) {
            for fe in e.errors {
                push(&s.file, s.document, fe.field, fe.rule);
            }
        }
        for (i, r) in s.item.rotations.iter().enumerate() {
            if let Err(e) = check_rotation_contacts(r, is_personal) {
                for fe in e.errors {
                    push(
                        &s.file,
                        s.document,
                        format!("rotations[{i}].{}", fe.field),
                        format!(
                            "{}: rotation members must be PERSONAL contacts defined in this batch or already stored",
                            fe.rule
                        ),
                    );
                }
            }
        }
    }
    let batch_channels: BTreeMap<&str, &Contact> = docs
        .contacts
        .iter()
        .map(|c| (c.item.alias.as_str(), &c.item))
        .collect();
    for p in &docs.plans {
        if let Err(e) = validate_escalation_plan(&p.item) {
            for fe in e.errors {
                push(&p.file, p.document, fe.field, fe.rule);
            }
        }
        if existing.contacts.get(p.item.alias.as_str()) == Some(&ContactType::Personal)
            && !batch_types.contains_key(p.item.alias.as_str())
        {
            push(
                &p.file,
                p.document,
                "alias".into(),
                format!(
                    "alias {:?} belongs to a stored PERSONAL contact",
                    p.item.alias
                ),
            );
        }
        for (i, st) in p.item.stages.iter().enumerate() {
            for (j, t) in st.targets.iter().enumerate() {
                let field = format!("stages[{i}].targets[{j}]");
                let schedule_known = |a: &str| {
                    existing.schedules.contains(a)
                        || docs.schedules.iter().any(|s| s.item.alias == a)
                };
                match t.target() {
                    Some(TargetRef::Contact(c)) if !is_personal(c) => push(
                        &p.file,
                        p.document,
                        format!("{field}.contact"),
                        format!(
                            "{c:?} is not a PERSONAL contact of this batch or the store (plans target people and schedules, not other plans)"
                        ),
                    ),
                    Some(TargetRef::Schedule(s)) if !schedule_known(s) => push(
                        &p.file,
                        p.document,
                        format!("{field}.schedule"),
                        format!("no on-call schedule {s:?} in this batch or the store"),
                    ),
                    Some(TargetRef::Channel { contact, channel }) => {
                        if !is_personal(contact) {
                            push(
                                &p.file,
                                p.document,
                                format!("{field}.channel"),
                                format!(
                                    "{contact:?} is not a PERSONAL contact of this batch or the store"
                                ),
                            );
                        } else if let Some(c) = batch_channels.get(contact)
                            && c.channel(channel).is_none()
                        {
                            push(
                                &p.file,
                                p.document,
                                format!("{field}.channel"),
                                format!("contact {contact:?} has no channel {channel:?}"),
                            );
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let engageable = |a: &str| {
        existing.contacts.contains_key(a)
            || existing.schedules.contains(a)
            || batch_types.contains_key(a)
            || docs.schedules.iter().any(|s| s.item.alias == a)
            || docs.plans.iter().any(|p| p.item.alias == a)
    };
    let mut names = BTreeSet::new();
    for rp in &docs.response_plans {
        if !names.insert(rp.item.name.as_str()) {
            push(
                &rp.file,
                rp.document,
                "name".into(),
                format!(
                    "response plan {:?} is defined twice in this batch",
                    rp.item.name
                ),
            );
        }
        if let Err(e) = validate_plan(&rp.item) {
            for fe in e.errors {
                push(&rp.file, rp.document, fe.field, fe.rule);
            }
        }
        for (i, e) in rp.item.engagements.iter().enumerate() {
            let alias = e.rsplit('/').next().unwrap_or(e);
            if !engageable(alias) {
                push(
                    &rp.file,
                    rp.document,
                    format!("engagements[{i}]"),
                    format!(
                        "no contact, escalation plan or schedule {alias:?} in this batch or the store"
                    ),
                );
            }
        }
    }
    problems
}

/// Names of the `kind: Plugin` instances in `(path, text)` files (they may declare channel
/// types). Unreadable documents are ignored here: `serve --config` reports them.
pub fn plugin_instance_names(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (_, text) in files {
        if text.len() > MAX_FILE_BYTES {
            continue;
        }
        let Ok(values) = serde_saphyr::from_multiple::<serde_json::Value>(text) else {
            continue;
        };
        for v in values {
            if v["kind"] == "Plugin"
                && let Some(n) = v["name"].as_str()
            {
                out.push(n.to_owned());
            }
        }
    }
    out
}

/// The `.yaml`/`.yml` files under `dir` (recursively, sorted) as `(path, text)` pairs.
pub fn read_yaml_files(dir: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let mut files = Vec::new();
    super::collect_yaml(dir, &mut files, 0)?;
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let meta = std::fs::metadata(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        if meta.len() > MAX_FILE_BYTES as u64 {
            return Err(ConfigError::Yaml {
                path: file,
                message: format!("file is over {MAX_FILE_BYTES} bytes"),
            });
        }
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        out.push((file.display().to_string(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
kind: Contact
alias: alice
displayName: Alice
type: PERSONAL
channels:
  - {name: mobile, type: SMS, deliveryAddress: "+14155550100"}
engagementPlan:
  stages: [{channel: mobile, minutesAfterStart: 0}]
---
kind: Plugin
name: x
plugin: console
---
kind: OnCallSchedule
alias: sre
rotations:
  - name: dublin
    contacts: [alice]
    startTime: 2026-01-05T08:00:00Z
    timeZoneId: Europe/Dublin
    recurrence:
      dailySettings: [08:00]
      numberOfOnCalls: 1
      recurrenceMultiplier: 1
      shiftCoverages:
        MON: [{start: 08:00, end: "20:00"}]
"#;

    fn files(text: &str) -> Vec<(String, String)> {
        vec![("oncall.yaml".to_owned(), text.to_owned())]
    }

    #[test]
    fn contacts_and_schedules_parse_and_other_kinds_are_skipped() {
        let docs = parse_oncall_files(&files(GOOD)).unwrap();
        assert_eq!(docs.contacts.len(), 1);
        assert_eq!(docs.schedules.len(), 1);
        assert_eq!(docs.skipped, 1);
        assert_eq!(docs.schedules[0].document, 3);
        let r = &docs.schedules[0].item.rotations[0];
        assert_eq!(r.recurrence.daily_settings[0].to_string(), "08:00");
        assert!(check_batch(&docs, &Existing::default(), &[]).is_empty());
    }

    #[test]
    fn structural_problems_name_file_document_and_field() {
        let text = "kind: Contact\nalias: a\ntype: PERSONAL\nchannels: [{name: m, type: SMS, deliveryAddress: '+14155550100', colour: red}]\n---\nkind: OnCallSchedule\nrotations: []\n---\nkind: Contakt\n";
        let err = parse_oncall_files(&files(text)).unwrap_err();
        let s = err.to_string();
        assert!(
            s.contains("oncall.yaml: document 1: `channels[0].colour`"),
            "{s}"
        );
        assert!(s.contains("colour"), "{s}");
        assert!(s.contains("document 2: `alias`: missing field"), "{s}");
        assert!(
            s.contains("document 3: `kind`: unknown kind `Contakt`"),
            "{s}"
        );
    }

    #[test]
    fn batch_rules_collect_every_problem() {
        let text = GOOD.replace("contacts: [alice]", "contacts: [alice, zed]")
            + "---\nkind: Contact\nalias: alice\ntype: PERSONAL\n";
        let docs = parse_oncall_files(&files(&text)).unwrap();
        let problems = check_batch(&docs, &Existing::default(), &[]);
        let s: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            s.iter()
                .any(|p| p.contains("document 4: `alias`") && p.contains("unique")),
            "{s:?}"
        );
        assert!(
            s.iter()
                .any(|p| p.contains("`rotations[0].contacts[1]`") && p.contains("\"zed\"")),
            "{s:?}"
        );
    }

    #[test]
    fn hostile_yaml_is_a_problem_not_a_panic() {
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert!(parse_oncall_files(&files(bomb)).is_err());
        for t in ["- 1\n- 2\n", "kind: [1]\n", "{{{{", "kind: Contact\n"] {
            assert!(parse_oncall_files(&files(t)).is_err(), "{t}");
        }
    }
}
