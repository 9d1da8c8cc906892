//! Which actions exist: the built-in `aws:*` actions and their inputs, the AWS actions Tocsin does
//! not execute (and what to use instead), and the plugin actions the host has registered.

use serde_json::Value;
use std::collections::BTreeMap;

/// The plugin actions available to runbooks (`<instance>:<action>`, or an `aws:*` name a plugin
/// registers to provide it). The plugin host implements this from its registry.
pub trait KnownActions {
    /// Is this action provided by a plugin instance?
    fn knows(&self, action: &str) -> bool;
    /// The JSON Schema of the action's input, when the plugin published one.
    fn input_schema(&self, action: &str) -> Option<&Value> {
        let _ = action;
        None
    }
}

/// No plugins: every `<instance>:<action>` is unknown.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPluginActions;

impl KnownActions for NoPluginActions {
    fn knows(&self, _action: &str) -> bool {
        false
    }
}

/// A fixed table of plugin actions and their input schemas.
#[derive(Debug, Clone, Default)]
pub struct PluginActions {
    actions: BTreeMap<String, Value>,
}

impl PluginActions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Register `name` (`instance:action`) with its input JSON Schema (`Value::Null` for none).
    pub fn insert(&mut self, name: impl Into<String>, input_schema: Value) -> &mut Self {
        self.actions.insert(name.into(), input_schema);
        self
    }
}

impl<S: Into<String>> FromIterator<(S, Value)> for PluginActions {
    fn from_iter<I: IntoIterator<Item = (S, Value)>>(iter: I) -> Self {
        PluginActions {
            actions: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

impl KnownActions for PluginActions {
    fn knows(&self, action: &str) -> bool {
        self.actions.contains_key(action)
    }

    fn input_schema(&self, action: &str) -> Option<&Value> {
        self.actions.get(action).filter(|v| v.is_object())
    }
}

pub const BUILTIN_ACTIONS: [&str; 6] = [
    "aws:pause",
    "aws:approve",
    "aws:sleep",
    "aws:branch",
    "aws:executeAutomation",
    "aws:loop",
];

/// SSM Automation actions Tocsin does not execute natively, with what to use instead.
pub const UNSUPPORTED_AWS_ACTIONS: [(&str, &str); 19] = [
    (
        "aws:executeScript",
        "move the script into a plugin action (`<instance>:<action>`, a WebAssembly component built with the plugin SDK, e.g. with componentize-py for Python)",
    ),
    (
        "aws:executeAwsApi",
        "call the API from a plugin action (e.g. an `aws` plugin instance granted the service endpoint), or register a plugin that provides `aws:executeAwsApi`",
    ),
    (
        "aws:runCommand",
        "run the command through a plugin action (e.g. an SSH or HTTP plugin instance)",
    ),
    (
        "aws:invokeLambdaFunction",
        "call the function's HTTPS endpoint with a webhook/HTTP plugin action",
    ),
    ("aws:createStack", AWS_API_HINT),
    ("aws:deleteStack", AWS_API_HINT),
    ("aws:changeInstanceState", AWS_API_HINT),
    ("aws:createImage", AWS_API_HINT),
    ("aws:copyImage", AWS_API_HINT),
    ("aws:deleteImage", AWS_API_HINT),
    ("aws:createTags", AWS_API_HINT),
    ("aws:runInstances", AWS_API_HINT),
    (
        "aws:assertAwsResourceProperty",
        "query the resource with a plugin action and compare its output in an `aws:branch` step",
    ),
    (
        "aws:waitForAwsResourceProperty",
        "poll the resource with a plugin action inside an `aws:loop` with a LoopCondition (and an `aws:sleep`)",
    ),
    (
        "aws:executeStateMachine",
        "start the workflow through a plugin action, or express it as a child runbook with `aws:executeAutomation`",
    ),
    (
        "aws:invokeWebhook",
        "use the webhook plugin's action (`<instance>:post`)",
    ),
    (
        "aws:updateVariable",
        "pass values between steps with step outputs (`{{ Step.Output }}`)",
    ),
    (
        "aws:runPowerShellScript",
        "run the script through a plugin action",
    ),
    (
        "aws:runShellScript",
        "run the script through a plugin action",
    ),
];

const AWS_API_HINT: &str = "call the AWS API from a plugin action (e.g. an `aws` plugin instance), or register a plugin that provides this action name";

pub(crate) fn unsupported_hint(action: &str) -> Option<&'static str> {
    UNSUPPORTED_AWS_ACTIONS
        .iter()
        .find(|(name, _)| *name == action)
        .map(|(_, hint)| *hint)
}

/// One documented input of a built-in action. `ty` is a JSON Schema type name.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InputSpec {
    pub name: &'static str,
    pub ty: &'static str,
    pub required: bool,
}

const fn input(name: &'static str, ty: &'static str, required: bool) -> InputSpec {
    InputSpec { name, ty, required }
}

/// The inputs a built-in action accepts, and the SSM inputs it accepts but ignores.
pub(crate) struct BuiltinInputs {
    pub inputs: &'static [InputSpec],
    pub ignored: &'static [(&'static str, &'static str)],
}

pub(crate) fn builtin_inputs(action: &str) -> Option<BuiltinInputs> {
    Some(match action {
        "aws:pause" => BuiltinInputs {
            inputs: &[],
            ignored: &[],
        },
        "aws:approve" => BuiltinInputs {
            inputs: APPROVE,
            ignored: &[(
                "NotificationArn",
                "Tocsin does not publish to SNS; notify approvers from an earlier step",
            )],
        },
        "aws:sleep" => BuiltinInputs {
            inputs: SLEEP,
            ignored: &[],
        },
        "aws:branch" => BuiltinInputs {
            inputs: BRANCH,
            ignored: &[],
        },
        "aws:executeAutomation" => BuiltinInputs {
            inputs: EXECUTE_AUTOMATION,
            ignored: &[
                ("Targets", TARGETS_IGNORED),
                ("TargetParameterName", TARGETS_IGNORED),
                ("TargetMaps", TARGETS_IGNORED),
                ("TargetLocations", TARGETS_IGNORED),
                ("TargetLocationsURL", TARGETS_IGNORED),
                ("MaxConcurrency", TARGETS_IGNORED),
                ("MaxErrors", TARGETS_IGNORED),
            ],
        },
        "aws:loop" => BuiltinInputs {
            inputs: LOOP,
            ignored: &[],
        },
        _ => return None,
    })
}

const APPROVE: &[InputSpec] = &[
    input("Approvers", "array", true),
    input("MinRequiredApprovals", "integer", false),
    input("Message", "string", false),
];
const SLEEP: &[InputSpec] = &[
    input("Duration", "string", false),
    input("Timestamp", "string", false),
];
const BRANCH: &[InputSpec] = &[
    input("Choices", "array", true),
    input("Default", "string", false),
];
const EXECUTE_AUTOMATION: &[InputSpec] = &[
    input("DocumentName", "string", true),
    input("DocumentVersion", "string", false),
    input("RuntimeParameters", "object", false),
];
const LOOP: &[InputSpec] = &[
    input("Iterators", "array", false),
    input("IteratorDataType", "string", false),
    input("LoopCondition", "object", false),
    input("Steps", "array", true),
    input("MaxIterations", "integer", false),
];

const TARGETS_IGNORED: &str =
    "Tocsin runs the child runbook once, locally; multi-account and target fan-out are ignored";

/// Outputs a built-in action produces without declaring them, with their types.
pub(crate) fn implicit_outputs(
    action: &str,
) -> &'static [(&'static str, Option<super::ParamType>)] {
    use super::ParamType as T;
    match action {
        "aws:approve" => &[
            ("ApprovalStatus", Some(T::String)),
            ("ApproverDecisions", Some(T::MapList)),
        ],
        "aws:executeAutomation" => &[
            ("ExecutionId", Some(T::String)),
            ("Status", Some(T::String)),
            ("Output", None),
        ],
        "aws:loop" => &[
            ("CurrentIteration", Some(T::Integer)),
            ("CurrentIteratorValue", None),
        ],
        "aws:executeScript" => &[("OutputPayload", Some(T::StringMap))],
        _ if !action.starts_with("aws:") => &[("Output", None)],
        _ => &[],
    }
}

/// The top-level properties of an object JSON Schema: (name, type, required), and whether other
/// properties are allowed.
pub(crate) fn schema_properties(schema: &Value) -> (Vec<(String, Option<String>, bool)>, bool) {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut props: Vec<(String, Option<String>, bool)> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    let ty = v.get("type").and_then(Value::as_str).map(str::to_string);
                    (k.clone(), ty, required.contains(&k.as_str()))
                })
                .collect()
        })
        .unwrap_or_default();
    for r in &required {
        if !props.iter().any(|(k, _, _)| k == r) {
            props.push((r.to_string(), None, true));
        }
    }
    let additional = schema.get("additionalProperties") != Some(&Value::Bool(false));
    (props, additional)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_lookups() {
        let reg: PluginActions = [
            ("sms:send", json!({"type": "object"})),
            ("aws:executeAwsApi", Value::Null),
        ]
        .into_iter()
        .collect();
        assert!(reg.knows("sms:send"));
        assert!(reg.input_schema("sms:send").is_some());
        assert!(reg.knows("aws:executeAwsApi"));
        assert!(reg.input_schema("aws:executeAwsApi").is_none());
        assert!(!NoPluginActions.knows("sms:send"));
    }

    #[test]
    fn schema_properties_reads_required_and_additional() {
        let (props, additional) = schema_properties(&json!({
            "type": "object",
            "properties": {"to": {"type": "string"}, "n": {"type": "integer"}},
            "required": ["to", "body"],
            "additionalProperties": false
        }));
        assert!(!additional);
        assert!(props.contains(&("to".into(), Some("string".into()), true)));
        assert!(props.contains(&("n".into(), Some("integer".into()), false)));
        assert!(props.contains(&("body".into(), None, true)));
    }

    #[test]
    fn every_unsupported_action_has_a_hint() {
        for (name, hint) in UNSUPPORTED_AWS_ACTIONS {
            assert!(name.starts_with("aws:") && !hint.is_empty());
            assert!(!BUILTIN_ACTIONS.contains(&name));
        }
    }
}
