//! Templates: `{{ Param }}`, `{{ Step.Output }}`, `{{ global:DATE_TIME }}`,
//! `{{ automation:EXECUTION_ID }}`, `{{ incident:TITLE }}`. A string that is exactly one reference
//! takes the referenced value with its type; otherwise references are interpolated as text.
//! Rendering is one pass: values substituted in are never rendered again, so nothing recurses.

use serde_json::Value;
use std::collections::BTreeMap;
use std::ops::Range;

/// Upper bound on the text produced by one [`render`] call.
pub const MAX_RENDERED_BYTES: usize = 4 * 1024 * 1024;

pub const GLOBALS: [&str; 5] = ["ACCOUNT_ID", "REGION", "AWS_PARTITION", "DATE", "DATE_TIME"];
pub const AUTOMATION_VARS: [&str; 1] = ["EXECUTION_ID"];
pub const INCIDENT_VARS: [&str; 6] = [
    "INCIDENT_RECORD_ARN",
    "TITLE",
    "IMPACT",
    "STATUS",
    "SUMMARY",
    "INVOLVED_RESOURCES",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("`{{{{` at byte {at} has no closing `}}}}`")]
    Unterminated { at: usize },
    #[error("`{{{{{text}}}}}` is not a valid reference")]
    Invalid { text: String },
    #[error("unknown reference `{name}`")]
    Unknown { name: String },
    #[error("rendered value exceeds {MAX_RENDERED_BYTES} bytes")]
    TooLarge,
}

/// One `{{ … }}` occurrence: the trimmed name and its byte range (braces included) in the string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefSite {
    pub name: String,
    pub range: Range<usize>,
}

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefKind<'a> {
    Param(&'a str),
    StepOutput { step: &'a str, output: &'a str },
    Namespaced { ns: &'a str, name: &'a str },
}

pub(crate) fn classify(name: &str) -> RefKind<'_> {
    if let Some((ns, rest)) = name.split_once(':') {
        return RefKind::Namespaced { ns, name: rest };
    }
    match name.split_once('.') {
        Some((step, output)) => RefKind::StepOutput { step, output },
        None => RefKind::Param(name),
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '/' | '-'))
}

/// All references in a string, in order.
pub fn references(s: &str) -> Result<Vec<RefSite>, RenderError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(open) = s.get(pos..).and_then(|r| r.find("{{")) {
        let start = pos + open;
        let inner_start = start + 2;
        let Some(close) = s.get(inner_start..).and_then(|r| r.find("}}")) else {
            return Err(RenderError::Unterminated { at: start });
        };
        let inner_end = inner_start + close;
        let inner = s.get(inner_start..inner_end).unwrap_or("");
        let name = inner.trim();
        if !valid_name(name) {
            return Err(RenderError::Invalid {
                text: inner.to_string(),
            });
        }
        out.push(RefSite {
            name: name.to_string(),
            range: start..inner_end + 2,
        });
        pos = inner_end + 2;
    }
    Ok(out)
}

/// If `s` is exactly one reference, its name.
pub(crate) fn sole_reference(s: &str) -> Option<String> {
    match references(s) {
        Ok(refs) if refs.len() == 1 && refs[0].range == (0..s.len()) => Some(refs[0].name.clone()),
        _ => None,
    }
}

/// The variables a template can see, keyed by reference name (`Param`, `Step.Output`,
/// `global:DATE`, `automation:EXECUTION_ID`, `incident:TITLE`, …).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Vars {
    values: BTreeMap<String, Value>,
}

impl Vars {
    /// Variables for one execution: `global:DATE`, `global:DATE_TIME` (UTC, SSM formats
    /// `yyyy-MM-dd` and `yyyy-MM-ddTHH.mm.ss`) and `automation:EXECUTION_ID`.
    pub fn new(now: jiff::Timestamp, execution_id: &str) -> Self {
        let mut v = Vars::default();
        v.set_now(now);
        v.set("automation:EXECUTION_ID", Value::from(execution_id));
        v
    }

    /// Refresh the clock-derived globals.
    pub fn set_now(&mut self, now: jiff::Timestamp) {
        self.set(
            "global:DATE",
            Value::from(now.strftime("%Y-%m-%d").to_string()),
        );
        self.set(
            "global:DATE_TIME",
            Value::from(now.strftime("%Y-%m-%dT%H.%M.%S").to_string()),
        );
    }

    pub fn set(&mut self, name: impl Into<String>, value: Value) {
        self.values.insert(name.into(), value);
    }

    pub fn set_param(&mut self, name: &str, value: Value) {
        self.set(name, value);
    }

    pub fn set_output(&mut self, step: &str, output: &str, value: Value) {
        self.set(format!("{step}.{output}"), value);
    }

    pub fn set_global(&mut self, name: &str, value: Value) {
        self.set(format!("global:{name}"), value);
    }

    pub fn set_incident(&mut self, name: &str, value: Value) {
        self.set(format!("incident:{name}"), value);
    }

    pub fn remove(&mut self, name: &str) {
        self.values.remove(name);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }
}

/// Render every string in `value` (object keys are left as written).
pub fn render(value: &Value, vars: &Vars) -> Result<Value, RenderError> {
    let mut budget = MAX_RENDERED_BYTES;
    render_value(value, vars, &mut budget)
}

/// Render one string.
pub fn render_str(s: &str, vars: &Vars) -> Result<Value, RenderError> {
    let mut budget = MAX_RENDERED_BYTES;
    render_string(s, vars, &mut budget)
}

fn render_value(value: &Value, vars: &Vars, budget: &mut usize) -> Result<Value, RenderError> {
    Ok(match value {
        Value::String(s) => render_string(s, vars, budget)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, vars, budget))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, vars, budget)?)))
                .collect::<Result<_, RenderError>>()?,
        ),
        other => other.clone(),
    })
}

fn render_string(s: &str, vars: &Vars, budget: &mut usize) -> Result<Value, RenderError> {
    let refs = references(s)?;
    if refs.is_empty() {
        return Ok(Value::String(s.to_string()));
    }
    let lookup = |name: &str| {
        vars.get(name).ok_or_else(|| RenderError::Unknown {
            name: name.to_string(),
        })
    };
    if refs.len() == 1 && refs[0].range == (0..s.len()) {
        let v = lookup(&refs[0].name)?;
        // Substituted values are not rendered again; only their size is charged.
        charge(budget, approx_size(v))?;
        return Ok(v.clone());
    }
    let mut out = String::new();
    let mut last = 0;
    for r in &refs {
        let text = s.get(last..r.range.start).unwrap_or("");
        charge(budget, text.len())?;
        out.push_str(text);
        let piece = match lookup(&r.name)? {
            Value::String(v) => v.clone(),
            other => other.to_string(),
        };
        charge(budget, piece.len())?;
        out.push_str(&piece);
        last = r.range.end;
    }
    let tail = s.get(last..).unwrap_or("");
    charge(budget, tail.len())?;
    out.push_str(tail);
    Ok(Value::String(out))
}

fn charge(budget: &mut usize, n: usize) -> Result<(), RenderError> {
    *budget = budget.checked_sub(n).ok_or(RenderError::TooLarge)?;
    Ok(())
}

fn approx_size(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(approx_size).sum::<usize>() + 1,
        Value::Object(m) => {
            m.iter()
                .map(|(k, v)| k.len() + approx_size(v))
                .sum::<usize>()
                + 1
        }
        _ => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let now: jiff::Timestamp = "2024-03-10T09:05:07Z".parse().unwrap();
        let mut v = Vars::new(now, "exec-1");
        v.set_param("Name", json!("web"));
        v.set_param("Ids", json!(["i-1", "i-2"]));
        v.set_param("Count", json!(3));
        v.set_output("Find", "Host", json!("db1"));
        v
    }

    #[test]
    fn exact_reference_keeps_type() {
        let v = vars();
        assert_eq!(
            render(&json!("{{ Ids }}"), &v).unwrap(),
            json!(["i-1", "i-2"])
        );
        assert_eq!(render(&json!("{{Count}}"), &v).unwrap(), json!(3));
        assert_eq!(
            render(&json!({"a": ["{{ Find.Host }}"]}), &v).unwrap(),
            json!({"a": ["db1"]})
        );
    }

    #[test]
    fn interpolation_makes_strings() {
        let v = vars();
        assert_eq!(
            render(&json!("host {{ Name }} x{{Count}} {{ Ids }}"), &v).unwrap(),
            json!("host web x3 [\"i-1\",\"i-2\"]")
        );
        assert_eq!(render(&json!(" {{ Name }}"), &v).unwrap(), json!(" web"));
    }

    #[test]
    fn globals_and_execution_id() {
        let v = vars();
        assert_eq!(
            render(
                &json!("{{ global:DATE }}|{{ global:DATE_TIME }}|{{ automation:EXECUTION_ID }}"),
                &v
            )
            .unwrap(),
            json!("2024-03-10|2024-03-10T09.05.07|exec-1")
        );
    }

    #[test]
    fn errors() {
        let v = vars();
        assert_eq!(
            render(&json!("{{ Nope }}"), &v),
            Err(RenderError::Unknown {
                name: "Nope".into()
            })
        );
        assert_eq!(
            render(&json!("a {{ Name"), &v),
            Err(RenderError::Unterminated { at: 2 })
        );
        assert!(matches!(
            render(&json!("{{ a b }}"), &v),
            Err(RenderError::Invalid { .. })
        ));
        assert!(matches!(
            render(&json!("{{}}"), &v),
            Err(RenderError::Invalid { .. })
        ));
    }

    #[test]
    fn values_are_not_rendered_twice() {
        let mut v = vars();
        v.set_param("Self", json!("{{ Self }}"));
        assert_eq!(
            render(&json!("{{ Self }}"), &v).unwrap(),
            json!("{{ Self }}")
        );
        assert_eq!(
            render(&json!("x{{ Self }}"), &v).unwrap(),
            json!("x{{ Self }}")
        );
    }

    #[test]
    fn output_is_bounded() {
        let mut v = vars();
        v.set_param("Big", json!("x".repeat(1024 * 1024)));
        let many = "{{ Big }}".repeat(10);
        assert_eq!(render(&json!(many), &v), Err(RenderError::TooLarge));
    }

    #[test]
    fn classify_names() {
        assert_eq!(classify("P"), RefKind::Param("P"));
        assert_eq!(
            classify("S.O"),
            RefKind::StepOutput {
                step: "S",
                output: "O"
            }
        );
        assert_eq!(
            classify("ssm:/a/b.c"),
            RefKind::Namespaced {
                ns: "ssm",
                name: "/a/b.c"
            }
        );
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn render_never_panics(s in ".{0,64}") {
            let v = Vars::default();
            let _ = render(&Value::String(s.clone()), &v);
            let _ = references(&s);
        }
    }
}
