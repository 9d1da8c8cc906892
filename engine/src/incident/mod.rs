//! Incidents: response plans, incident records, deduplication, updates, related items, timeline
//! events and list filters. Pure: `now`, ids and the trigger come in; records and timeline
//! events go out for the caller to commit together.

mod model;
#[cfg(test)]
mod tests;

pub use model::*;

use jiff::Timestamp;
use serde_json::{Value, json};

use crate::engage::TimelineEntry;
use crate::oncall::{FieldError, OncallError};

pub type Result<T> = std::result::Result<T, OncallError>;

/// Most related items per incident.
pub const MAX_RELATED_ITEMS: usize = 1000;

fn err(field: impl Into<String>, rule: impl Into<String>) -> OncallError {
    OncallError::one(field, rule)
}

/// Checks a response plan; every problem names its field.
pub fn validate_plan(plan: &ResponsePlan) -> Result<()> {
    let mut errors = Vec::new();
    let mut push = |f: &str, r: String| errors.push(FieldError::new(f, r));
    let name_ok = !plan.name.is_empty()
        && plan.name.len() <= 200
        && plan
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        push(
            "name",
            format!("{:?} must be 1-200 letters, digits, `-` or `_`", plan.name),
        );
    }
    let t = &plan.incident_template;
    if t.title.trim().is_empty() || t.title.chars().count() > 200 {
        push("incidentTemplate.title", "must be 1-200 characters".into());
    }
    if !(1..=5).contains(&t.impact) {
        push("incidentTemplate.impact", "must be 1-5".into());
    }
    if t.summary.as_ref().is_some_and(|s| s.chars().count() > 8000) {
        push("incidentTemplate.summary", "at most 8000 characters".into());
    }
    if t.dedupe_string.as_ref().is_some_and(|s| s.len() > 1000) {
        push(
            "incidentTemplate.dedupeString",
            "at most 1000 characters".into(),
        );
    }
    for k in t.incident_tags.keys() {
        if k.starts_with("aws:") || k.is_empty() || k.len() > 128 {
            push(
                &format!("incidentTemplate.incidentTags.{k}"),
                "keys are 1-128 characters and may not start with `aws:`".into(),
            );
        }
    }
    for (i, a) in plan.actions.iter().enumerate() {
        let d = &a.ssm_automation.document_name;
        if d.len() < 3 || d.len() > 128 {
            push(
                &format!("actions[{i}].ssmAutomation.documentName"),
                "must be 3-128 characters".into(),
            );
        }
        for k in a.ssm_automation.parameters.keys() {
            if a.ssm_automation.dynamic_parameters.contains_key(k) {
                push(
                    &format!("actions[{i}].ssmAutomation.dynamicParameters.{k}"),
                    "is also a static parameter; give it once".into(),
                );
            }
        }
    }
    for (i, e) in plan.engagements.iter().enumerate() {
        if e.trim().is_empty() {
            push(&format!("engagements[{i}]"), "must name a contact".into());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(OncallError { errors })
    }
}

/// What opened (or re-triggered) an incident.
#[derive(Debug, Clone)]
pub struct TriggerInfo {
    /// `aws.cloudwatch`, `alertmanager`, `api`, …
    pub source: String,
    pub timestamp: Timestamp,
    /// The alarm / rule ARN.
    pub trigger_arn: Option<String>,
    /// The raw payload, kept verbatim on the timeline (the seed's runbook reads it).
    pub raw_data: Value,
    /// Dedupe identity of the source (alarm ARN, group key); used when the plan has no dedupe
    /// string.
    pub identity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewIncident {
    pub id: String,
    /// `arn:aws:ssm-incidents::<account>`
    pub arn_prefix: String,
    pub title: Option<String>,
    pub impact: Option<u8>,
    pub related_items: Vec<RelatedItem>,
    pub trigger: TriggerInfo,
    pub created_by: String,
}

/// The dedupe string a trigger gets under `plan`.
pub fn dedupe_string(plan: &ResponsePlan, trigger: &TriggerInfo) -> Option<String> {
    plan.incident_template
        .dedupe_string
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| trigger.identity.clone())
}

/// A new incident record from a plan and a trigger, and its first timeline events.
pub fn open(
    plan: &ResponsePlan,
    new: NewIncident,
    now: Timestamp,
) -> Result<(IncidentRecord, Vec<TimelineEntry>)> {
    if let Some(i) = new.impact
        && !(1..=5).contains(&i)
    {
        return Err(err("impact", "must be 1-5"));
    }
    if let Some(t) = &new.title
        && t.chars().count() > 200
    {
        return Err(err("title", "at most 200 characters"));
    }
    check_related(&new.related_items)?;
    let arn = format!(
        "{}:incident-record/{}/{}",
        new.arn_prefix, plan.name, new.id
    );
    let dedupe = dedupe_string(plan, &new.trigger).unwrap_or_default();
    let record = IncidentRecord {
        arn: arn.clone(),
        title: new
            .title
            .clone()
            .unwrap_or_else(|| plan.incident_template.title.clone()),
        summary: plan.incident_template.summary.clone(),
        status: IncidentStatus::Open,
        impact: new.impact.unwrap_or(plan.incident_template.impact),
        creation_time: now,
        resolved_time: None,
        last_modified_time: now,
        last_modified_by: new.created_by.clone(),
        dedupe_string: dedupe,
        incident_record_source: IncidentRecordSource {
            created_by: new.created_by.clone(),
            invoked_by: Some(new.trigger.source.clone()),
            resource_arn: new.trigger.trigger_arn.clone(),
            source: new.trigger.source.clone(),
        },
        chat_channel: plan.chat_channel.clone(),
        notification_targets: plan.incident_template.notification_targets.clone(),
        automation_executions: Vec::new(),
        response_plan: plan.name.clone(),
        incident_tags: plan.incident_template.incident_tags.clone(),
        related_items: new.related_items,
        engagements: Vec::new(),
        trigger_count: 1,
        first_acknowledged_time: None,
    };
    let events = vec![
        TimelineEntry::auto(
            &arn,
            now,
            "Incident created",
            json!({"title": record.title, "impact": record.impact, "responsePlan": plan.name, "createdBy": new.created_by}),
        ),
        TimelineEntry::auto(
            &arn,
            new.trigger.timestamp,
            "Incident triggered",
            json!({"source": new.trigger.source, "triggerArn": new.trigger.trigger_arn, "rawData": new.trigger.raw_data}),
        ),
    ];
    Ok((record, events))
}

/// An open incident with the same dedupe string absorbs a new trigger: a timeline event and the
/// trigger's related items; no new pages.
pub fn absorb(
    record: &mut IncidentRecord,
    trigger: &TriggerInfo,
    related: Vec<RelatedItem>,
    now: Timestamp,
) -> Vec<TimelineEntry> {
    record.trigger_count += 1;
    let mut added = 0;
    for item in related {
        if record.related_items.len() >= MAX_RELATED_ITEMS {
            break;
        }
        if !record
            .related_items
            .iter()
            .any(|r| r.identifier == item.identifier)
        {
            record.related_items.push(item);
            added += 1;
        }
    }
    record.last_modified_time = now;
    vec![TimelineEntry::auto(
        &record.arn,
        trigger.timestamp,
        "Trigger deduplicated",
        json!({"source": trigger.source, "triggerArn": trigger.trigger_arn, "relatedItemsAdded": added, "rawData": trigger.raw_data, "triggerCount": record.trigger_count}),
    )]
}

/// UpdateIncidentRecord's optional fields.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentUpdate {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub impact: Option<u8>,
    #[serde(default)]
    pub status: Option<IncidentStatus>,
    #[serde(default)]
    pub chat_channel: Option<ChatChannel>,
    #[serde(default)]
    pub notification_targets: Option<Vec<Value>>,
    #[serde(default)]
    pub client_token: Option<String>,
}

/// Apply an update; returns the timeline events of what changed (status and impact changes are
/// events, as in Incident Manager).
pub fn update(
    record: &mut IncidentRecord,
    u: &IncidentUpdate,
    by: &str,
    now: Timestamp,
) -> Result<Vec<TimelineEntry>> {
    if let Some(t) = &u.title
        && (t.trim().is_empty() || t.chars().count() > 200)
    {
        return Err(err("title", "must be 1-200 characters"));
    }
    if let Some(i) = u.impact
        && !(1..=5).contains(&i)
    {
        return Err(err("impact", "must be 1-5"));
    }
    if u.summary.as_ref().is_some_and(|s| s.chars().count() > 8000) {
        return Err(err("summary", "at most 8000 characters"));
    }
    let mut events = Vec::new();
    if let Some(t) = &u.title
        && *t != record.title
    {
        events.push(TimelineEntry::auto(
            &record.arn,
            now,
            "Title changed",
            json!({"from": record.title, "to": t, "by": by}),
        ));
        record.title = t.clone();
    }
    if let Some(s) = &u.summary {
        record.summary = Some(s.clone());
    }
    if let Some(i) = u.impact
        && i != record.impact
    {
        events.push(TimelineEntry::auto(
            &record.arn,
            now,
            "Impact changed",
            json!({"from": record.impact, "to": i, "by": by}),
        ));
        record.impact = i;
    }
    if let Some(c) = &u.chat_channel {
        record.chat_channel = Some(c.clone());
    }
    if let Some(n) = &u.notification_targets {
        record.notification_targets = n.clone();
    }
    if let Some(s) = u.status
        && s != record.status
    {
        match s {
            IncidentStatus::Resolved => events.extend(resolve(record, by, now)),
            IncidentStatus::Open => {
                record.status = IncidentStatus::Open;
                record.resolved_time = None;
                events.push(TimelineEntry::auto(
                    &record.arn,
                    now,
                    "Status changed",
                    json!({"from": "RESOLVED", "to": "OPEN", "by": by}),
                ));
            }
        }
    }
    record.last_modified_time = now;
    record.last_modified_by = by.to_owned();
    Ok(events)
}

/// Resolve (idempotent): records the time and the time to resolve.
pub fn resolve(record: &mut IncidentRecord, by: &str, now: Timestamp) -> Vec<TimelineEntry> {
    if record.status == IncidentStatus::Resolved {
        return Vec::new();
    }
    record.status = IncidentStatus::Resolved;
    record.resolved_time = Some(now);
    record.last_modified_time = now;
    record.last_modified_by = by.to_owned();
    let ttr = now.duration_since(record.creation_time).as_secs_f64();
    vec![TimelineEntry::auto(
        &record.arn,
        now,
        "Status changed",
        json!({"from": "OPEN", "to": "RESOLVED", "by": by, "timeToResolveSeconds": ttr}),
    )]
}

/// Checks related items (types, exactly one value, sizes).
pub fn check_related(items: &[RelatedItem]) -> Result<()> {
    if items.len() > MAX_RELATED_ITEMS {
        return Err(err(
            "relatedItems",
            format!("at most {MAX_RELATED_ITEMS} items"),
        ));
    }
    for (i, it) in items.iter().enumerate() {
        let v = &it.identifier.value;
        let given = [
            v.arn.is_some(),
            v.url.is_some(),
            v.metric_definition.is_some(),
            v.pager_duty_incident_detail.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given != 1 {
            return Err(err(
                format!("relatedItems[{i}].identifier.value"),
                "give exactly one of arn, url, metricDefinition, pagerDutyIncidentDetail",
            ));
        }
        if it.title.as_ref().is_some_and(|t| t.chars().count() > 200) {
            return Err(err(
                format!("relatedItems[{i}].title"),
                "at most 200 characters",
            ));
        }
    }
    Ok(())
}

/// The ARNs of INVOLVED_RESOURCE related items (the runbook's INVOLVED_RESOURCES).
pub fn involved_resources(record: &IncidentRecord) -> Vec<String> {
    record
        .related_items
        .iter()
        .filter(|r| r.identifier.item_type == ItemType::InvolvedResource)
        .filter_map(|r| r.identifier.value.arn.clone())
        .collect()
}

/// The parameters of a plan's runbook action for `record`: static values (a one-element list
/// is a String, as SSM binds them) and the dynamic INCIDENT_RECORD_ARN (a String) and
/// INVOLVED_RESOURCES (a StringList). A parameter of the wrong type fails the runbook's start,
/// as the seed says.
pub fn runbook_parameters(
    a: &SsmAutomation,
    record: &IncidentRecord,
) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for (k, v) in &a.parameters {
        let value = match v.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        out.insert(k.clone(), value);
    }
    for (k, d) in &a.dynamic_parameters {
        let value = match d.variable {
            DynamicVariable::IncidentRecordArn => json!(record.arn),
            DynamicVariable::InvolvedResources => json!(involved_resources(record)),
        };
        out.insert(k.clone(), value);
    }
    out
}

/// AWS `Filter` of ListIncidentRecords: a key and one condition.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    pub key: String,
    pub condition: Condition,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    #[serde(default)]
    pub before: Option<Timestamp>,
    #[serde(default)]
    pub after: Option<Timestamp>,
    #[serde(default)]
    pub equals: Option<AttributeValues>,
}

#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AttributeValues {
    #[serde(default)]
    pub string_values: Option<Vec<String>>,
    #[serde(default)]
    pub integer_values: Option<Vec<i64>>,
}

/// Keys ListIncidentRecords filters on.
pub const FILTER_KEYS: &[&str] = &[
    "status",
    "impact",
    "creationTime",
    "resolvedTime",
    "createdBy",
    "responsePlan",
];

/// Checks filters before use: known keys, one condition each, the right value kind.
pub fn check_filters(filters: &[Filter]) -> Result<()> {
    for (i, f) in filters.iter().enumerate() {
        let field = format!("filters[{i}]");
        if !FILTER_KEYS.contains(&f.key.as_str()) {
            return Err(err(
                format!("{field}.key"),
                format!("{:?} is not one of {}", f.key, FILTER_KEYS.join(", ")),
            ));
        }
        let c = &f.condition;
        let n = [c.before.is_some(), c.after.is_some(), c.equals.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if n != 1 {
            return Err(err(
                format!("{field}.condition"),
                "give exactly one of before, after, equals",
            ));
        }
        let is_time = matches!(f.key.as_str(), "creationTime" | "resolvedTime");
        if is_time != c.equals.is_none() {
            return Err(err(
                format!("{field}.condition"),
                if is_time {
                    "time keys take before or after"
                } else {
                    "this key takes equals"
                },
            ));
        }
    }
    Ok(())
}

/// Whether a record passes every filter (AND across filters, OR within `equals` values).
pub fn matches(record: &IncidentRecord, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let c = &f.condition;
        let time = match f.key.as_str() {
            "creationTime" => Some(record.creation_time),
            "resolvedTime" => record.resolved_time,
            _ => None,
        };
        if c.before.is_some() || c.after.is_some() {
            let Some(t) = time else { return false };
            return c.before.is_none_or(|b| t < b) && c.after.is_none_or(|a| t > a);
        }
        let Some(eq) = &c.equals else { return false };
        let strings = eq.string_values.clone().unwrap_or_default();
        let ints = eq.integer_values.clone().unwrap_or_default();
        match f.key.as_str() {
            "status" => {
                let s = match record.status {
                    IncidentStatus::Open => "OPEN",
                    IncidentStatus::Resolved => "RESOLVED",
                };
                strings.iter().any(|v| v == s)
            }
            "impact" => ints.contains(&i64::from(record.impact)),
            "createdBy" => strings.contains(&record.incident_record_source.created_by),
            "responsePlan" => strings.iter().any(|v| {
                *v == record.response_plan || v.ends_with(&format!("/{}", record.response_plan))
            }),
            _ => false,
        }
    })
}
