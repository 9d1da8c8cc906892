//! Binding the parameters an execution is started with: type checks and coercion from text
//! (`-p Name=Value`), defaults (which may refer to other parameters), allowedValues,
//! allowedPattern and minItems/maxItems. Pure.

use super::model::{Document, ParamType, Parameter};
use super::template::{Vars, render};
use serde_json::{Map, Value};

/// Why the given parameters do not fit the document. Each names the parameter.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("unknown parameter `{name}`; the runbook declares: {known}")]
    Unknown { name: String, known: String },
    #[error("parameter `{name}` ({ty}) is required and has no default; pass a value for it")]
    Missing { name: String, ty: &'static str },
    #[error("parameter `{name}` should be of type {ty}, got {got}")]
    Type {
        name: String,
        ty: &'static str,
        got: String,
    },
    #[error("parameter `{name}`: {message}")]
    Invalid { name: String, message: String },
}

impl ParamError {
    /// The parameter the error is about.
    pub fn parameter(&self) -> &str {
        match self {
            ParamError::Unknown { name, .. }
            | ParamError::Missing { name, .. }
            | ParamError::Type { name, .. }
            | ParamError::Invalid { name, .. } => name,
        }
    }
}

/// Check `given` against the document's parameters and put every parameter (given or default)
/// into `vars`. Strings are coerced to the declared type (`"5"` → 5 for an Integer, `a,b` or a
/// JSON list for a StringList, JSON text for maps).
pub fn bind_parameters(
    doc: &Document,
    given: &Map<String, Value>,
    vars: &mut Vars,
) -> Result<(), ParamError> {
    for name in given.keys() {
        if doc.parameter(name).is_none() {
            let known: Vec<&str> = doc.parameters.iter().map(|p| p.name.as_str()).collect();
            return Err(ParamError::Unknown {
                name: name.clone(),
                known: if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                },
            });
        }
    }
    let mut deferred: Vec<&Parameter> = Vec::new();
    for p in &doc.parameters {
        match (given.get(&p.name), &p.default) {
            (Some(v), _) => {
                let v = coerce(p, v.clone())?;
                check(p, &v)?;
                vars.set_param(&p.name, v);
            }
            (None, Some(d)) if has_template(d) => deferred.push(p),
            (None, Some(d)) => vars.set_param(&p.name, d.clone()),
            (None, None) => {
                return Err(ParamError::Missing {
                    name: p.name.clone(),
                    ty: p.ty.name(),
                });
            }
        }
    }
    // Defaults that refer to other parameters: resolve in as many passes as needed.
    while !deferred.is_empty() {
        let before = deferred.len();
        let mut left = Vec::new();
        let mut last_err = None;
        for p in deferred {
            let d = p.default.clone().unwrap_or(Value::Null);
            match render(&d, vars) {
                Ok(v) => {
                    let v = coerce(p, v)?;
                    vars.set_param(&p.name, v);
                }
                Err(e) => {
                    last_err = Some((p.name.clone(), e.to_string()));
                    left.push(p);
                }
            }
        }
        if left.len() == before {
            let (name, message) = last_err.unwrap_or_default();
            return Err(ParamError::Invalid {
                name,
                message: format!("cannot render the default: {message}"),
            });
        }
        deferred = left;
    }
    Ok(())
}

fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(o) => o.values().any(has_template),
        _ => false,
    }
}

fn type_error(p: &Parameter, v: &Value) -> ParamError {
    let mut got = v.to_string();
    if got.len() > 80 {
        let cut = (0..=80)
            .rev()
            .find(|i| got.is_char_boundary(*i))
            .unwrap_or(0);
        got.truncate(cut);
        got.push('…');
    }
    ParamError::Type {
        name: p.name.clone(),
        ty: p.ty.name(),
        got,
    }
}

fn coerce(p: &Parameter, v: Value) -> Result<Value, ParamError> {
    if p.ty.admits(&v) {
        return Ok(v);
    }
    let out = match (p.ty, &v) {
        (ParamType::String, Value::Number(_) | Value::Bool(_)) => {
            Some(Value::String(v.to_string()))
        }
        (ParamType::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (ParamType::Boolean, Value::String(s)) => match s.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        (ParamType::StringList, Value::String(s)) => {
            let t = s.trim();
            if t.starts_with('[') {
                serde_json::from_str::<Value>(t).ok()
            } else if t.is_empty() {
                Some(Value::Array(Vec::new()))
            } else {
                Some(Value::Array(
                    t.split(',').map(|x| Value::from(x.trim())).collect(),
                ))
            }
        }
        (ParamType::StringMap | ParamType::MapList, Value::String(s)) => {
            serde_json::from_str::<Value>(s.trim()).ok()
        }
        _ => None,
    };
    match out {
        Some(v) if p.ty.admits(&v) => Ok(v),
        _ => Err(type_error(p, &v)),
    }
}

fn check(p: &Parameter, v: &Value) -> Result<(), ParamError> {
    if let Some(allowed) = &p.allowed_values
        && !allowed.is_empty()
    {
        let ok = match v {
            Value::Array(items) => items.iter().all(|i| allowed.contains(i)),
            other => allowed.contains(other),
        };
        if !ok {
            let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
            return Err(ParamError::Invalid {
                name: p.name.clone(),
                message: format!("{v} is not one of the allowedValues ({})", list.join(", ")),
            });
        }
    }
    if let Some(pattern) = &p.allowed_pattern {
        let re = fancy_regex::Regex::new(pattern).map_err(|e| ParamError::Invalid {
            name: p.name.clone(),
            message: format!(
                "the allowedPattern `{pattern}` is not a valid regular expression: {e}"
            ),
        })?;
        let texts: Vec<&str> = match v {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for t in texts {
            if !re.is_match(t).unwrap_or(false) {
                return Err(ParamError::Invalid {
                    name: p.name.clone(),
                    message: format!("`{t}` does not match the allowedPattern `{pattern}`"),
                });
            }
        }
    }
    if let Value::Array(items) = v {
        let n = items.len() as u64;
        if p.min_items.is_some_and(|m| n < m) || p.max_items.is_some_and(|m| n > m) {
            return Err(ParamError::Invalid {
                name: p.name.clone(),
                message: format!(
                    "has {n} items; allowed: {}..{}",
                    p.min_items.unwrap_or(0),
                    p.max_items.map_or("".to_string(), |m| m.to_string())
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::parse_document;
    use serde_json::json;

    fn doc() -> Document {
        parse_document(
            "schemaVersion: '0.3'\nparameters:\n  N: { type: Integer }\n  L: { type: StringList, default: [a] }\n  S: { type: String, allowedPattern: '^[a-z]+$', default: 'x{{ N }}' }\n  B: { type: Boolean, default: false }\nmainSteps:\n  - { name: P, action: 'aws:pause' }\n",
        )
        .ok()
        .expect("valid")
    }

    fn bind(given: Value) -> Result<Vars, ParamError> {
        let mut vars = Vars::default();
        bind_parameters(&doc(), given.as_object().unwrap(), &mut vars).map(|()| vars)
    }

    #[test]
    fn text_is_coerced_and_defaults_render() {
        let v = bind(json!({"N": "5", "L": "a, b", "B": "true"})).unwrap();
        assert_eq!(v.get("N"), Some(&json!(5)));
        assert_eq!(v.get("L"), Some(&json!(["a", "b"])));
        assert_eq!(v.get("B"), Some(&json!(true)));
        assert_eq!(v.get("S"), Some(&json!("x5")));
    }

    #[test]
    fn errors_name_the_parameter() {
        assert_eq!(bind(json!({})).unwrap_err().parameter(), "N");
        let e = bind(json!({"N": "five"})).unwrap_err();
        assert!(
            matches!(e, ParamError::Type { ref name, .. } if name == "N"),
            "{e}"
        );
        assert_eq!(bind(json!({"N": 1, "Z": 1})).unwrap_err().parameter(), "Z");
        let e = bind(json!({"N": 1, "S": "ABC"})).unwrap_err();
        assert!(e.to_string().contains("allowedPattern"), "{e}");
    }
}
