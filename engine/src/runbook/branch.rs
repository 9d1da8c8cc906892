//! Evaluating `aws:branch` choices and `aws:loop` conditions against the variables in scope.

use super::model::{Branch, Condition, Operator};
use super::template::{RenderError, Vars, render};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BranchError {
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("{op} needs a number, got {got}")]
    NotANumber { op: &'static str, got: String },
    #[error("{op} needs a boolean, got {got}")]
    NotABoolean { op: &'static str, got: String },
    #[error("{op} needs a string, got {got}")]
    NotAString { op: &'static str, got: String },
}

/// Evaluate a condition.
pub fn evaluate(cond: &Condition, vars: &Vars) -> Result<bool, BranchError> {
    Ok(match cond {
        Condition::And(all) => {
            for c in all {
                if !evaluate(c, vars)? {
                    return Ok(false);
                }
            }
            true
        }
        Condition::Or(any) => {
            for c in any {
                if evaluate(c, vars)? {
                    return Ok(true);
                }
            }
            false
        }
        Condition::Not(c) => !evaluate(c, vars)?,
        Condition::Test {
            variable,
            op,
            operand,
        } => test(*op, &render(variable, vars)?, &render(operand, vars)?)?,
    })
}

/// The step an `aws:branch` goes to: the first true choice, else `Default` (None: no match).
pub fn choose(branch: &Branch, vars: &Vars) -> Result<Option<String>, BranchError> {
    for choice in &branch.choices {
        if evaluate(&choice.condition, vars)? {
            return Ok(Some(choice.next_step.clone()));
        }
    }
    Ok(branch.default.clone())
}

fn test(op: Operator, var: &Value, operand: &Value) -> Result<bool, BranchError> {
    use Operator as O;
    let name = op.name();
    Ok(match op {
        O::StringEquals => string(name, var)? == string(name, operand)?,
        O::EqualsIgnoreCase => {
            string(name, var)?.to_lowercase() == string(name, operand)?.to_lowercase()
        }
        O::StartsWith => string(name, var)?.starts_with(&string(name, operand)?),
        O::EndsWith => string(name, var)?.ends_with(&string(name, operand)?),
        O::Contains => match var {
            Value::Array(items) => items.iter().any(|i| same_text(i, operand)),
            _ => string(name, var)?.contains(&string(name, operand)?),
        },
        O::NumericEquals => number(name, var)? == number(name, operand)?,
        O::NumericGreater => number(name, var)? > number(name, operand)?,
        O::NumericGreaterOrEquals => number(name, var)? >= number(name, operand)?,
        O::NumericLesser => number(name, var)? < number(name, operand)?,
        O::NumericLesserOrEquals => number(name, var)? <= number(name, operand)?,
        O::BooleanEquals => boolean(name, var)? == boolean(name, operand)?,
    })
}

fn same_text(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x == y,
        _ => a == b,
    }
}

fn string(op: &'static str, v: &Value) -> Result<String, BranchError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(BranchError::NotAString {
            op,
            got: other.to_string(),
        }),
    }
}

fn number(op: &'static str, v: &Value) -> Result<f64, BranchError> {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    n.filter(|f| f.is_finite())
        .ok_or_else(|| BranchError::NotANumber {
            op,
            got: v.to_string(),
        })
}

fn boolean(op: &'static str, v: &Value) -> Result<bool, BranchError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        other => Err(BranchError::NotABoolean {
            op,
            got: other.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::Choice;
    use super::*;
    use serde_json::json;

    fn t(var: Value, op: Operator, operand: Value) -> Condition {
        Condition::Test {
            variable: var,
            op,
            operand,
        }
    }

    fn vars() -> Vars {
        let mut v = Vars::default();
        v.set_param("Sev", json!("High"));
        v.set_param("Count", json!(7));
        v.set_param("Flag", json!(true));
        v.set_param("Ids", json!(["a", "b"]));
        v
    }

    #[test]
    fn operators() {
        let v = vars();
        let cases = [
            (
                t(json!("{{ Sev }}"), Operator::StringEquals, json!("High")),
                true,
            ),
            (
                t(
                    json!("{{ Sev }}"),
                    Operator::EqualsIgnoreCase,
                    json!("high"),
                ),
                true,
            ),
            (
                t(json!("{{ Sev }}"), Operator::StartsWith, json!("Hi")),
                true,
            ),
            (t(json!("{{ Sev }}"), Operator::EndsWith, json!("gh")), true),
            (t(json!("{{ Sev }}"), Operator::Contains, json!("ig")), true),
            (t(json!("{{ Ids }}"), Operator::Contains, json!("b")), true),
            (t(json!("{{ Ids }}"), Operator::Contains, json!("c")), false),
            (
                t(json!("{{ Count }}"), Operator::NumericEquals, json!(7)),
                true,
            ),
            (
                t(json!("{{ Count }}"), Operator::NumericGreater, json!(7)),
                false,
            ),
            (
                t(
                    json!("{{ Count }}"),
                    Operator::NumericGreaterOrEquals,
                    json!(7),
                ),
                true,
            ),
            (
                t(json!("{{ Count }}"), Operator::NumericLesser, json!("8")),
                true,
            ),
            (
                t(
                    json!("{{ Count }}"),
                    Operator::NumericLesserOrEquals,
                    json!(6),
                ),
                false,
            ),
            (
                t(json!("{{ Flag }}"), Operator::BooleanEquals, json!(true)),
                true,
            ),
            (
                t(json!("x{{ Flag }}"), Operator::StringEquals, json!("xtrue")),
                true,
            ),
        ];
        for (c, want) in cases {
            assert_eq!(evaluate(&c, &v).unwrap(), want, "{c:?}");
        }
    }

    #[test]
    fn combinators() {
        let v = vars();
        let yes = t(json!("{{ Flag }}"), Operator::BooleanEquals, json!(true));
        let no = t(json!("{{ Flag }}"), Operator::BooleanEquals, json!(false));
        assert!(evaluate(&Condition::And(vec![yes.clone(), yes.clone()]), &v).unwrap());
        assert!(!evaluate(&Condition::And(vec![yes.clone(), no.clone()]), &v).unwrap());
        assert!(evaluate(&Condition::Or(vec![no.clone(), yes.clone()]), &v).unwrap());
        assert!(evaluate(&Condition::Not(Box::new(no.clone())), &v).unwrap());
    }

    #[test]
    fn choose_first_match_then_default() {
        let v = vars();
        let b = Branch {
            choices: vec![
                Choice {
                    next_step: "Low".into(),
                    condition: t(json!("{{ Sev }}"), Operator::StringEquals, json!("Low")),
                },
                Choice {
                    next_step: "High".into(),
                    condition: t(json!("{{ Sev }}"), Operator::StringEquals, json!("High")),
                },
            ],
            default: Some("Other".into()),
        };
        assert_eq!(choose(&b, &v).unwrap().as_deref(), Some("High"));
        let mut v2 = v.clone();
        v2.set_param("Sev", json!("Mid"));
        assert_eq!(choose(&b, &v2).unwrap().as_deref(), Some("Other"));
    }

    #[test]
    fn type_errors() {
        let v = vars();
        assert!(matches!(
            evaluate(
                &t(json!("{{ Sev }}"), Operator::NumericEquals, json!(1)),
                &v
            ),
            Err(BranchError::NotANumber { .. })
        ));
        assert!(matches!(
            evaluate(
                &t(json!("{{ Sev }}"), Operator::BooleanEquals, json!(true)),
                &v
            ),
            Err(BranchError::NotABoolean { .. })
        ));
        assert!(matches!(
            evaluate(
                &t(json!("{{ Nope }}"), Operator::StringEquals, json!("x")),
                &v
            ),
            Err(BranchError::Render(_))
        ));
    }
}
