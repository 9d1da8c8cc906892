//! A generic JSON webhook: a named [`Mapping`] says where the title, dedupe key, impact, summary,
//! resources, status and timestamp of a trigger are in the payload, each as an RFC 9535 JSONPath
//! (a string starting with `$`) or a literal.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_json_path::JsonPath;

use super::json::{timestamp, type_name};
use super::{IngestError, IngestErrorKind, Result, Trigger, TriggerStatus};
use crate::oncall::FieldError;

/// Where one trigger field comes from: a JSONPath into the payload (a string starting with `$`)
/// or a literal (any other value; write `{"literal": "$…"}` for a literal string starting with
/// `$`).
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Path(String),
    Literal(Value),
}

impl serde::Serialize for Spec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Spec::Path(p) => s.serialize_str(p),
            Spec::Literal(Value::String(l)) if l.starts_with('$') => {
                serde_json::json!({ "literal": l }).serialize(s)
            }
            Spec::Literal(v) => v.serialize(s),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Spec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Spec::from(Value::deserialize(d)?))
    }
}

impl From<Value> for Spec {
    fn from(v: Value) -> Self {
        match v {
            Value::String(s) if s.starts_with('$') => Spec::Path(s),
            Value::Object(mut m) if m.len() == 1 && m.contains_key("literal") => {
                Spec::Literal(m.remove("literal").unwrap_or_default())
            }
            other => Spec::Literal(other),
        }
    }
}

impl From<&str> for Spec {
    fn from(s: &str) -> Self {
        Spec::from(Value::String(s.to_owned()))
    }
}

/// How to read a trigger out of a generic JSON payload. Trigger source: `webhook:<name>`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Mapping {
    /// Names the webhook (`[A-Za-z0-9._-]`, at most 64 characters).
    pub name: String,
    pub title: Spec,
    /// The dedupe identity: an open incident with the same key absorbs the trigger.
    pub dedupe_key: Spec,
    /// 1..5 (a number or a numeric string in the payload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impact: Option<Spec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Spec>,
    /// Every selected string (or string in a selected array) is an involved resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Spec>,
    /// A JSONPath to the payload's status; the trigger resolves when it equals `resolvedWhen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Spec>,
    /// A value, or a list of values, of `status` that mean resolved (strings compare ignoring
    /// ASCII case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_when: Option<Value>,
    /// A JSONPath to an RFC 3339 string or a Unix time (seconds; milliseconds when ≥ 10^11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Spec>,
    /// Trigger labels, each a JSONPath or a literal.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, Spec>,
}

/// What a literal of a field may be.
#[derive(Clone, Copy, PartialEq)]
enum Lit {
    Text,
    Impact,
    Resources,
    Scalar,
    PathOnly,
}

impl Mapping {
    /// Checks every field and reports every problem, each naming the field (`title`,
    /// `labels.team`, …) and the rule.
    pub fn validate(&self) -> Result<()> {
        let mut errors = Vec::new();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !name_ok {
            errors.push(FieldError::new(
                "name",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'",
            ));
        }
        check(&mut errors, "title", Some(&self.title), Lit::Text);
        check(&mut errors, "dedupeKey", Some(&self.dedupe_key), Lit::Text);
        check(&mut errors, "impact", self.impact.as_ref(), Lit::Impact);
        check(&mut errors, "summary", self.summary.as_ref(), Lit::Text);
        check(
            &mut errors,
            "resources",
            self.resources.as_ref(),
            Lit::Resources,
        );
        check(&mut errors, "status", self.status.as_ref(), Lit::PathOnly);
        check(
            &mut errors,
            "timestamp",
            self.timestamp.as_ref(),
            Lit::PathOnly,
        );
        for (k, spec) in &self.labels {
            if k.trim().is_empty() {
                errors.push(FieldError::new("labels", "label names must not be empty"));
            }
            check(&mut errors, &format!("labels.{k}"), Some(spec), Lit::Scalar);
        }
        match (&self.status, &self.resolved_when) {
            (Some(_), None) => errors.push(FieldError::new(
                "resolvedWhen",
                "is required when status is set (the status value that means resolved)",
            )),
            (None, Some(_)) => errors.push(FieldError::new(
                "status",
                "is required when resolvedWhen is set (the JSONPath of the payload's status)",
            )),
            (Some(_), Some(v)) => {
                let scalar = |v: &Value| !v.is_array() && !v.is_object();
                let ok = match v {
                    Value::Array(items) => !items.is_empty() && items.iter().all(scalar),
                    v => scalar(v),
                };
                if !ok {
                    errors.push(FieldError::new(
                        "resolvedWhen",
                        "must be a string, number, boolean or null, or a non-empty list of them",
                    ));
                }
            }
            (None, None) => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(IngestError {
                kind: IngestErrorKind::Config,
                errors,
            })
        }
    }

    /// Reads a trigger out of `payload`. A JSONPath selecting several nodes yields the first
    /// (all of them for `resources`); selecting nothing (or null) leaves an optional field unset
    /// and fails for `title` and `dedupeKey`. Payload errors name the JSONPath and the field.
    pub fn apply(&self, payload: &Value) -> Result<Trigger> {
        let title = self
            .text("title", &self.title, payload)?
            .ok_or_else(|| missing("title", &self.title))?;
        let identity = self
            .text("dedupeKey", &self.dedupe_key, payload)?
            .ok_or_else(|| missing("dedupeKey", &self.dedupe_key))?;
        let summary = match &self.summary {
            Some(s) => self.text("summary", s, payload)?,
            None => None,
        };
        let impact = match &self.impact {
            Some(s) => impact(s, first(s, payload, "impact")?)?,
            None => None,
        };
        let mut resources = Vec::new();
        if let Some(spec) = &self.resources {
            for v in select(spec, payload, "resources")? {
                push_resources(spec, v, &mut resources)?;
            }
        }
        let status = match (&self.status, &self.resolved_when) {
            (Some(spec), Some(when)) => match first(spec, payload, "status")? {
                Some(v) if resolved(v, when) => TriggerStatus::Resolved,
                _ => TriggerStatus::Firing,
            },
            (Some(_), None) => {
                return Err(IngestError::config(
                    "resolvedWhen",
                    "is required when status is set (the status value that means resolved)",
                ));
            }
            (None, Some(_)) => {
                return Err(IngestError::config(
                    "status",
                    "is required when resolvedWhen is set (the JSONPath of the payload's status)",
                ));
            }
            (None, None) => TriggerStatus::Firing,
        };
        let timestamp = match &self.timestamp {
            Some(spec) => match first(spec, payload, "timestamp")? {
                None => None,
                Some(v) => Some(to_timestamp(spec, v)?),
            },
            None => None,
        };
        let mut labels = BTreeMap::new();
        for (k, spec) in &self.labels {
            if let Some(v) = self.text(&format!("labels.{k}"), spec, payload)? {
                labels.insert(k.clone(), v);
            }
        }
        Ok(Trigger {
            source: format!("webhook:{}", self.name),
            identity,
            status,
            title,
            summary,
            impact,
            resources,
            resource_arn: None,
            timestamp,
            raw: payload.clone(),
            labels,
            alerts: Vec::new(),
        })
    }

    /// The first selected value as text (strings as is, numbers and booleans written out).
    fn text(&self, field: &str, spec: &Spec, payload: &Value) -> Result<Option<String>> {
        match first(spec, payload, field)? {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(other) => Err(payload_error(
                spec,
                field,
                format!(
                    "must be a string, number or boolean (found {})",
                    type_name(other)
                ),
            )),
        }
    }
}

fn check(errors: &mut Vec<FieldError>, field: &str, spec: Option<&Spec>, lit: Lit) {
    let Some(spec) = spec else { return };
    match spec {
        Spec::Path(p) => {
            if let Err(e) = JsonPath::parse(p) {
                errors.push(FieldError::new(
                    field,
                    format!("must be a valid RFC 9535 JSONPath ({e})"),
                ));
            }
        }
        Spec::Literal(v) => {
            let rule = match (lit, v) {
                (Lit::Text, Value::String(s)) if !s.trim().is_empty() => None,
                (Lit::Text, _) => Some("must be a JSONPath ($…) or a non-empty string"),
                (Lit::Impact, Value::Number(n))
                    if n.as_u64().is_some_and(|n| (1..=5).contains(&n)) =>
                {
                    None
                }
                (Lit::Impact, _) => Some("must be a JSONPath ($…) or an impact 1..5"),
                (Lit::Resources, Value::String(s)) if !s.is_empty() => None,
                (Lit::Resources, Value::Array(a)) if a.iter().all(Value::is_string) => None,
                (Lit::Resources, _) => {
                    Some("must be a JSONPath ($…), a string or a list of strings")
                }
                (Lit::Scalar, Value::String(_) | Value::Number(_) | Value::Bool(_)) => None,
                (Lit::Scalar, _) => Some("must be a JSONPath ($…) or a string, number or boolean"),
                (Lit::PathOnly, _) => Some("must be a JSONPath ($…) into the payload"),
            };
            if let Some(rule) = rule {
                errors.push(FieldError::new(field, rule));
            }
        }
    }
}

/// Where errors about the payload point: the JSONPath, or the mapping field for a literal.
fn payload_error(spec: &Spec, field: &str, rule: String) -> IngestError {
    match spec {
        Spec::Path(p) => {
            IngestError::malformed(p.clone(), format!("{rule} (the mapping's {field})"))
        }
        Spec::Literal(_) => IngestError::config(field, rule),
    }
}

fn missing(field: &str, spec: &Spec) -> IngestError {
    payload_error(
        spec,
        field,
        "is required: the JSONPath selected nothing (or null or \"\") in the payload".to_owned(),
    )
}

/// Every node `spec` selects (a literal selects itself), nulls skipped.
fn select<'v>(spec: &'v Spec, payload: &'v Value, field: &str) -> Result<Vec<&'v Value>> {
    match spec {
        Spec::Literal(v) => Ok(vec![v]),
        Spec::Path(p) => {
            let path = JsonPath::parse(p).map_err(|e| {
                IngestError::config(field, format!("must be a valid RFC 9535 JSONPath ({e})"))
            })?;
            Ok(path
                .query(payload)
                .all()
                .into_iter()
                .filter(|v| !v.is_null())
                .collect())
        }
    }
}

fn first<'v>(spec: &'v Spec, payload: &'v Value, field: &str) -> Result<Option<&'v Value>> {
    Ok(select(spec, payload, field)?.into_iter().next())
}

fn impact(spec: &Spec, v: Option<&Value>) -> Result<Option<u8>> {
    let Some(v) = v else { return Ok(None) };
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match n {
        Some(n @ 1..=5) => Ok(Some(n as u8)),
        _ => Err(payload_error(
            spec,
            "impact",
            format!("must be an impact 1..5 (found {v})"),
        )),
    }
}

fn push_resources(spec: &Spec, v: &Value, out: &mut Vec<String>) -> Result<()> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .filter(|i| !i.is_null())
            .try_for_each(|i| push_resources(spec, i, out)),
        other => Err(payload_error(
            spec,
            "resources",
            format!(
                "must select strings or arrays of strings (found {})",
                type_name(other)
            ),
        )),
    }
}

fn resolved(v: &Value, when: &Value) -> bool {
    let eq = |w: &Value| match (v, w) {
        (Value::String(a), Value::String(b)) => a.eq_ignore_ascii_case(b),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (a, b) => a == b,
    };
    match when {
        Value::Array(items) => items.iter().any(eq),
        w => eq(w),
    }
}

fn to_timestamp(spec: &Spec, v: &Value) -> Result<jiff::Timestamp> {
    let field = match spec {
        Spec::Path(p) => p.as_str(),
        Spec::Literal(_) => "timestamp",
    };
    match v {
        Value::String(s) => timestamp(s, field),
        Value::Number(n) => {
            let secs = n.as_f64().unwrap_or(f64::NAN);
            let ms = if secs.abs() >= 1e11 {
                secs
            } else {
                secs * 1000.0
            };
            let ms = ms.round();
            if ms.is_finite() && ms.abs() < 1e15 {
                jiff::Timestamp::from_millisecond(ms as i64).map_err(|e| {
                    payload_error(
                        spec,
                        "timestamp",
                        format!("must be a Unix time in range ({e})"),
                    )
                })
            } else {
                Err(payload_error(
                    spec,
                    "timestamp",
                    format!("must be a Unix time in range (found {n})"),
                ))
            }
        }
        other => Err(payload_error(
            spec,
            "timestamp",
            format!(
                "must be an RFC 3339 string or a Unix time (found {})",
                type_name(other)
            ),
        )),
    }
}
