//! The runbook document model (SSM Automation schemaVersion 0.3). Plain data, serde-able.

use super::source::Span;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A parsed runbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub schema_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Accepted and recorded; Tocsin has no IAM role to assume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<String>,
    pub parameters: Vec<Parameter>,
    pub main_steps: Vec<Step>,
    /// `Step.Output` references exported as the execution's outputs.
    pub outputs: Vec<String>,
}

impl Document {
    /// Every step, including the steps nested in `aws:loop`, in document order.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'a>(steps: &'a [Step], out: &mut Vec<&'a Step>) {
            for s in steps {
                out.push(s);
                if let Action::Loop(l) = &s.action {
                    walk(&l.steps, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.main_steps, &mut out);
        out
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.all_steps().into_iter().find(|s| s.name == name)
    }

    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }
}

/// The value types of parameters and step outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ParamType {
    String,
    StringList,
    Integer,
    Boolean,
    StringMap,
    MapList,
}

impl ParamType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "String" => ParamType::String,
            "StringList" => ParamType::StringList,
            "Integer" => ParamType::Integer,
            "Boolean" => ParamType::Boolean,
            "StringMap" => ParamType::StringMap,
            "MapList" => ParamType::MapList,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::StringList => "StringList",
            ParamType::Integer => "Integer",
            ParamType::Boolean => "Boolean",
            ParamType::StringMap => "StringMap",
            ParamType::MapList => "MapList",
        }
    }

    /// Does a JSON value have this type?
    pub fn admits(self, v: &Value) -> bool {
        match self {
            ParamType::String => v.is_string(),
            ParamType::StringList => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            ParamType::Integer => v.is_i64() || v.is_u64(),
            ParamType::Boolean => v.is_boolean(),
            ParamType::StringMap => v.is_object(),
            ParamType::MapList => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        }
    }

    /// The JSON Schema `type` of values of this type.
    pub fn json_type(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::StringList | ParamType::MapList => "array",
            ParamType::Integer => "integer",
            ParamType::Boolean => "boolean",
            ParamType::StringMap => "object",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Parameter {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_values: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnFailure {
    Abort,
    Continue,
    Step(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnCancel {
    Abort,
    Step(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepOutput {
    pub name: String,
    /// RFC 9535 JSONPath into the action's result.
    pub selector: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
}

/// Where a step's parts are in the source (not serialized).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepSpans {
    pub step: Span,
    pub name: Span,
    pub action: Span,
    pub next_step: Span,
    pub on_failure: Span,
    pub on_cancel: Span,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    pub action: Action,
    /// The step's inputs as written (templates not rendered; for `aws:loop` without `Steps`).
    pub inputs: Map<String, Value>,
    pub outputs: Vec<StepOutput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    pub max_attempts: u32,
    pub on_failure: OnFailure,
    pub on_cancel: OnCancel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<String>,
    pub is_end: bool,
    pub is_critical: bool,
    #[serde(skip)]
    pub spans: StepSpans,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Action {
    /// `aws:pause`: waits for a Resume signal.
    Pause,
    /// `aws:approve`: waits for Approve/Reject signals.
    Approve,
    /// `aws:sleep`: waits for a Duration or until a Timestamp.
    Sleep,
    /// `aws:branch`.
    Branch(Branch),
    /// `aws:executeAutomation`: runs a child runbook.
    ExecuteAutomation,
    /// `aws:loop`.
    Loop(Loop),
    /// `<instance>:<action>` run by the plugin host (this includes `aws:*` names a plugin registers).
    Plugin(String),
}

impl Action {
    pub fn name(&self) -> &str {
        match self {
            Action::Pause => "aws:pause",
            Action::Approve => "aws:approve",
            Action::Sleep => "aws:sleep",
            Action::Branch(_) => "aws:branch",
            Action::ExecuteAutomation => "aws:executeAutomation",
            Action::Loop(_) => "aws:loop",
            Action::Plugin(name) => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub choices: Vec<Choice>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub next_step: String,
    pub condition: Condition,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Operator {
    StringEquals,
    EqualsIgnoreCase,
    StartsWith,
    EndsWith,
    Contains,
    NumericEquals,
    NumericGreater,
    NumericGreaterOrEquals,
    NumericLesser,
    NumericLesserOrEquals,
    BooleanEquals,
}

impl Operator {
    pub const ALL: [Operator; 11] = [
        Operator::StringEquals,
        Operator::EqualsIgnoreCase,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::Contains,
        Operator::NumericEquals,
        Operator::NumericGreater,
        Operator::NumericGreaterOrEquals,
        Operator::NumericLesser,
        Operator::NumericLesserOrEquals,
        Operator::BooleanEquals,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operator::StringEquals => "StringEquals",
            Operator::EqualsIgnoreCase => "EqualsIgnoreCase",
            Operator::StartsWith => "StartsWith",
            Operator::EndsWith => "EndsWith",
            Operator::Contains => "Contains",
            Operator::NumericEquals => "NumericEquals",
            Operator::NumericGreater => "NumericGreater",
            Operator::NumericGreaterOrEquals => "NumericGreaterOrEquals",
            Operator::NumericLesser => "NumericLesser",
            Operator::NumericLesserOrEquals => "NumericLesserOrEquals",
            Operator::BooleanEquals => "BooleanEquals",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Operator::ALL.into_iter().find(|o| o.name() == s)
    }
}

/// A branch or loop condition. `variable` and `operand` may hold templates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    Test {
        variable: Value,
        op: Operator,
        operand: Value,
    },
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Loop {
    pub over: LoopOver,
    pub steps: Vec<Step>,
    /// 1..=100.
    pub max_iterations: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum LoopOver {
    /// for-each: a list, or a template that renders to one.
    Iterators(Value),
    /// do-while: run the steps, then repeat while the condition holds.
    Condition(Condition),
}
