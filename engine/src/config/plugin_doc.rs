//! `kind: Plugin` documents:
//!
//! ```yaml
//! kind: Plugin
//! name: sms                       # instance name; runbook actions are `sms:send`
//! plugin: twilio                  # a built-in plugin, or `path: ./my-plugin.wasm`
//! config: { account_sid: AC123 }
//! secrets: [twilio-auth-token]
//! allow: { http: ["https://api.twilio.com"], tcp: ["smtp.example.com:587"] }
//! limits: { memory_mb: 32, timeout_ms: 10000, output_kb: 1024, log_lines: 1000 }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, SecretStore};
use crate::plugin::{Grant, InstanceSpec, Limits, PluginSource};

/// Largest configuration file read (bytes).
const MAX_FILE: u64 = 1024 * 1024;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDoc {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub plugin: Option<String>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub config: Option<serde_json::Value>,
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub allow: Allow,
    #[serde(default)]
    pub limits: LimitsDoc,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allow {
    #[serde(default)]
    pub http: Vec<String>,
    #[serde(default)]
    pub tcp: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsDoc {
    pub memory_mb: Option<u64>,
    pub timeout_ms: Option<u64>,
    pub output_kb: Option<u64>,
    pub log_lines: Option<u32>,
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<String>,
}

/// Parse every `---`-separated document of a file. Documents of other kinds are skipped (they
/// belong to other modules); a document with no `kind` is an error.
pub fn parse_plugin_docs(
    path: &Path,
    text: &str,
    secrets: &SecretStore,
) -> Result<Vec<InstanceSpec>, ConfigError> {
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple(text).map_err(|e| ConfigError::Yaml {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    for (i, value) in docs.into_iter().enumerate() {
        let index = i + 1;
        let field_err = |field: &str, message: String| ConfigError::Field {
            path: path.to_owned(),
            index,
            field: field.to_owned(),
            message,
        };
        if value.is_null() {
            continue;
        }
        let kind: KindOnly = serde_json::from_value(value.clone()).map_err(|_| {
            field_err(
                "kind",
                "a configuration document must be a mapping with a `kind`".into(),
            )
        })?;
        match kind.kind.as_deref() {
            Some("Plugin") => {}
            Some(other) if KNOWN_OTHER_KINDS.contains(&other) => continue,
            Some(other) => {
                return Err(ConfigError::UnknownKind {
                    path: path.to_owned(),
                    index,
                    kind: other.to_owned(),
                });
            }
            None => return Err(field_err("kind", "missing; expected `kind: Plugin`".into())),
        }
        let doc: PluginDoc = serde_json::from_value(value).map_err(|e| {
            let msg = e.to_string();
            field_err(field_of(&msg), msg)
        })?;
        out.push(
            to_spec(doc, path, secrets).map_err(|(field, message)| field_err(field, message))?,
        );
    }
    Ok(out)
}

/// Kinds that other parts of the engine read from the same directory.
const KNOWN_OTHER_KINDS: &[&str] = &[
    "Contact",
    "Rotation",
    "OnCallSchedule",
    "EscalationPlan",
    "PagingPolicy",
    "AlertMapping",
    "AlertIntake",
    "ResponsePlan",
    "EventRule",
];

fn field_of(serde_message: &str) -> &'static str {
    for f in [
        "name",
        "plugin",
        "path",
        "config",
        "secrets",
        "allow",
        "limits",
        "http",
        "tcp",
        "memory_mb",
        "timeout_ms",
        "output_kb",
        "log_lines",
    ] {
        if serde_message.contains(&format!("`{f}`")) {
            return f;
        }
    }
    "(document)"
}

fn to_spec(
    doc: PluginDoc,
    path: &Path,
    secrets: &SecretStore,
) -> Result<InstanceSpec, (&'static str, String)> {
    if doc.name.is_empty()
        || !doc
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err((
            "name",
            format!(
                "`{}` must be non-empty and only letters, digits, `-` and `_`",
                doc.name
            ),
        ));
    }
    let source = match (doc.plugin, doc.path) {
        (Some(p), None) => PluginSource::Builtin(p),
        (None, Some(p)) => {
            let base = path.parent().unwrap_or(Path::new("."));
            PluginSource::Path(if p.is_absolute() { p } else { base.join(p) })
        }
        (Some(_), Some(_)) => {
            return Err((
                "plugin",
                "give either `plugin` (a built-in) or `path` (a .wasm file), not both".into(),
            ));
        }
        (None, None) => {
            return Err((
                "plugin",
                "missing: give `plugin: <built-in>` or `path: ./plugin.wasm`".into(),
            ));
        }
    };
    let mut limits = Limits::default();
    if let Some(mb) = doc.limits.memory_mb {
        if mb == 0 || mb > 1024 {
            return Err(("limits.memory_mb", format!("{mb} is out of range 1..=1024")));
        }
        limits.memory_bytes = usize::try_from(mb * 1024 * 1024)
            .map_err(|_| ("limits.memory_mb", "too large".to_owned()))?;
    }
    if let Some(ms) = doc.limits.timeout_ms {
        if ms == 0 || ms > 15 * 60 * 1000 {
            return Err((
                "limits.timeout_ms",
                format!("{ms} is out of range 1..=900000"),
            ));
        }
        limits.timeout = Duration::from_millis(ms);
    }
    if let Some(kb) = doc.limits.output_kb {
        if kb == 0 || kb > 64 * 1024 {
            return Err((
                "limits.output_kb",
                format!("{kb} is out of range 1..=65536"),
            ));
        }
        limits.output_bytes =
            usize::try_from(kb * 1024).map_err(|_| ("limits.output_kb", "too large".to_owned()))?;
    }
    if let Some(lines) = doc.limits.log_lines {
        limits.log_lines = lines;
    }
    let secret_values = doc
        .secrets
        .iter()
        .filter_map(|n| secrets.get(n).map(|v| (n.clone(), v)))
        .collect();
    Ok(InstanceSpec {
        name: doc.name,
        source,
        config: doc.config.unwrap_or_else(|| serde_json::json!({})),
        grant: Grant {
            http: doc.allow.http,
            tcp: doc.allow.tcp,
            secrets: doc.secrets,
        },
        secret_values,
        limits,
    })
}

/// Every `kind: Plugin` instance in the `.yaml`/`.yml` files of `dir` (recursively, sorted).
pub fn load_config_dir(
    dir: &Path,
    secrets: &SecretStore,
) -> Result<Vec<InstanceSpec>, ConfigError> {
    let mut files = Vec::new();
    super::collect_yaml(dir, &mut files, 0)?;
    files.sort();
    let mut specs = Vec::new();
    for file in files {
        let meta = std::fs::metadata(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        if meta.len() > MAX_FILE {
            return Err(ConfigError::Yaml {
                path: file,
                message: format!("file is over {MAX_FILE} bytes"),
            });
        }
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            path: file.clone(),
            source,
        })?;
        // Runbooks (schemaVersion documents) may share the directory; they are not configuration.
        if text.lines().any(|l| l.starts_with("schemaVersion")) {
            continue;
        }
        specs.extend(parse_plugin_docs(&file, &text, secrets)?);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<InstanceSpec>, ConfigError> {
        parse_plugin_docs(
            Path::new("/etc/tocsin/plugins.yaml"),
            text,
            &SecretStore::default(),
        )
    }

    #[test]
    fn a_full_document_becomes_an_instance_spec() {
        let specs = parse(
            "kind: Plugin\nname: hooks\nplugin: webhook\nconfig: {a: 1}\nsecrets: [token]\nallow: {http: ['https://*.example.com']}\nlimits: {memory_mb: 32, timeout_ms: 500}\n---\nkind: Plugin\nname: mine\npath: my.wasm\n",
        )
        .unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].source, PluginSource::Builtin("webhook".into()));
        assert_eq!(specs[0].limits.memory_bytes, 32 * 1024 * 1024);
        assert_eq!(specs[0].limits.timeout, Duration::from_millis(500));
        assert_eq!(
            specs[0].grant.http,
            vec!["https://*.example.com".to_owned()]
        );
        assert_eq!(
            specs[1].source,
            PluginSource::Path(PathBuf::from("/etc/tocsin/my.wasm"))
        );
    }

    #[test]
    fn bad_documents_name_the_field_and_the_rule() {
        let cases = [
            ("kind: Plugin\nname: x\n", "`plugin`"),
            ("kind: Plugin\nname: x\nplugin: a\npath: b\n", "not both"),
            ("kind: Plugin\nname: 'bad name'\nplugin: a\n", "`name`"),
            (
                "kind: Plugin\nname: x\nplugin: a\nlimits: {memory_mb: 0}\n",
                "limits.memory_mb",
            ),
            (
                "kind: Plugin\nname: x\nplugin: a\nallow: {ftp: []}\n",
                "ftp",
            ),
            ("kind: Plugni\nname: x\n", "unknown kind `Plugni`"),
            ("name: x\n", "`kind`"),
        ];
        for (text, expected) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?} gave {err}");
            assert!(err.contains("plugins.yaml"), "{err}");
        }
    }

    #[test]
    fn yaml_bombs_are_refused_not_expanded() {
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert!(parse(bomb).is_err());
    }
}
