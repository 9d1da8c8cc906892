//! The located tree → the document model, with a located diagnostic for every field that is
//! missing, unknown or of the wrong type. Structural only; cross-references are `validate`'s job.

use super::diag::{Diagnostic, code};
use super::model::{
    Action, Branch, Choice, Condition, Document, Loop, LoopOver, OnCancel, OnFailure, Operator,
    ParamType, Parameter, Step, StepOutput, StepSpans,
};
use super::source::{SourceText, Span};
use super::yaml::{self, Kind, Limits, Node, Syntax};
use serde_json::{Map, Value};

/// The result of parsing one runbook: the document (when its structure was readable) and every
/// structural diagnostic. A document with errors is returned for inspection, not for running.
#[derive(Debug, Clone)]
pub struct ParseOutcome {
    pub document: Option<Document>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ParseOutcome {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// The document, if it parsed without errors.
    pub fn ok(self) -> Option<Document> {
        if self.has_errors() {
            None
        } else {
            self.document
        }
    }
}

/// Parse a runbook from YAML or JSON text (JSON when the first non-blank character is `{`).
/// Cross-reference checks (actions, templates, targets) are done by [`super::validate_source`].
pub fn parse_document(text: &str) -> ParseOutcome {
    let syntax = if text.trim_start().starts_with('{') {
        Syntax::Json
    } else {
        Syntax::Yaml
    };
    let src = SourceText::new(text.to_string());
    let (doc, diagnostics) = load(&src, syntax, &Limits::default());
    ParseOutcome {
        document: doc.map(|l| l.doc),
        diagnostics,
    }
}

/// A loaded document plus the located tree it came from.
pub(crate) struct Loaded {
    pub doc: Document,
    pub root: Node,
}

pub(crate) fn load(
    src: &SourceText,
    syntax: Syntax,
    limits: &Limits,
) -> (Option<Loaded>, Vec<Diagnostic>) {
    let root = match yaml::parse(src, syntax, limits) {
        Ok(root) => root,
        Err(d) => return (None, vec![d]),
    };
    let mut cx = Cx { diags: Vec::new() };
    let doc = cx.document(&root);
    (doc.map(|doc| Loaded { doc, root }), cx.diags)
}

pub(crate) const STEP_FIELDS: [&str; 12] = [
    "name",
    "action",
    "inputs",
    "outputs",
    "description",
    "timeoutSeconds",
    "maxAttempts",
    "onFailure",
    "onCancel",
    "nextStep",
    "isEnd",
    "isCritical",
];

struct Cx {
    diags: Vec<Diagnostic>,
}

/// The node's entries, keyed by their text.
fn entries(node: &Node) -> impl Iterator<Item = (String, &Node, &Node)> {
    node.as_map()
        .unwrap_or(&[])
        .iter()
        .map(|(k, v)| (k.key_text(), k, v))
}

impl Cx {
    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn wrong_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.err(
            Diagnostic::error(
                code::WRONG_TYPE,
                format!("{what} must be {expected}, found {}", node.type_name()),
            )
            .at(node.span),
        );
    }

    fn unknown_fields(&mut self, node: &Node, allowed: &[&str], what: &str) {
        for (key, k, _) in entries(node) {
            if !allowed.contains(&key.as_str()) {
                let mut d = Diagnostic::error(
                    code::UNKNOWN_FIELD,
                    format!("unknown field `{key}` in {what}"),
                )
                .at(k.span);
                d = match suggest(&key, allowed) {
                    Some(s) => d.hint(format!("did you mean `{s}`?")),
                    None => d.hint(format!("expected one of: {}", allowed.join(", "))),
                };
                self.err(d);
            }
        }
    }

    fn require<'n>(&mut self, node: &'n Node, key: &str, what: &str) -> Option<&'n Node> {
        let v = node.get(key);
        if v.is_none() {
            self.err(
                Diagnostic::error(
                    code::MISSING_FIELD,
                    format!("{what} is missing the required field `{key}`"),
                )
                .at(head(node.span)),
            );
        }
        v
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<String> {
        match &node.kind {
            Kind::Str(s) => Some(s.clone()),
            _ => {
                self.wrong_type(node, what, "a string");
                None
            }
        }
    }

    fn opt_string(&mut self, parent: &Node, key: &str, what: &str) -> Option<String> {
        let v = parent.get(key)?;
        self.string(v, &format!("`{key}` of {what}"))
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.kind {
            Kind::Bool(b) => Some(*b),
            Kind::Str(s) if s.eq_ignore_ascii_case("true") => Some(true),
            Kind::Str(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.wrong_type(node, what, "true or false");
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str, min: i64, max: i64) -> Option<i64> {
        let n = match &node.kind {
            Kind::Int(i) => Some(*i),
            Kind::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            Some(n) => {
                self.err(
                    Diagnostic::error(
                        code::SCHEMA,
                        format!("{what} must be between {min} and {max}, found {n}"),
                    )
                    .at(node.span),
                );
                None
            }
            None => {
                self.wrong_type(node, what, "an integer");
                None
            }
        }
    }

    fn document(&mut self, root: &Node) -> Option<Document> {
        if root.as_map().is_none() {
            self.wrong_type(
                root,
                "a runbook",
                "a mapping with `schemaVersion` and `mainSteps`",
            );
            return None;
        }
        const TOP: [&str; 6] = [
            "schemaVersion",
            "description",
            "assumeRole",
            "parameters",
            "mainSteps",
            "outputs",
        ];
        self.unknown_fields(root, &TOP, "the runbook");
        let schema_version = match self.require(root, "schemaVersion", "the runbook") {
            Some(v) => {
                let text = match &v.kind {
                    Kind::Str(s) => Some(s.clone()),
                    Kind::Float(f) => Some(f.to_string()),
                    _ => None,
                };
                if text.as_deref() != Some("0.3") {
                    self.err(
                        Diagnostic::error(
                            code::SCHEMA_VERSION,
                            "unsupported schemaVersion; Tocsin runs Automation runbooks, schemaVersion '0.3'",
                        )
                        .at(v.span)
                        .hint("use `schemaVersion: '0.3'` (Command documents, 2.2, are not runbooks)"),
                    );
                }
                text.unwrap_or_default()
            }
            None => String::new(),
        };
        let description = self.opt_string(root, "description", "the runbook");
        let assume_role = self.opt_string(root, "assumeRole", "the runbook");
        let parameters = match root.get("parameters") {
            Some(p) => self.parameters(p),
            None => Vec::new(),
        };
        let main_steps = match self.require(root, "mainSteps", "the runbook") {
            Some(node) => {
                let steps = self.steps(node, "mainSteps", false);
                if node.as_seq().is_some_and(<[Node]>::is_empty) {
                    self.err(
                        Diagnostic::error(code::SCHEMA, "`mainSteps` is empty")
                            .at(node.span)
                            .hint("a runbook needs at least one step"),
                    );
                }
                steps
            }
            None => Vec::new(),
        };
        let outputs = match root.get("outputs") {
            Some(node) => match node.as_seq() {
                Some(items) => items
                    .iter()
                    .filter_map(|i| self.string(i, "an entry of `outputs`"))
                    .collect(),
                None => {
                    self.wrong_type(node, "`outputs`", "a list of `Step.Output` names");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        Some(Document {
            schema_version,
            description,
            assume_role,
            parameters,
            main_steps,
            outputs,
        })
    }

    fn parameters(&mut self, node: &Node) -> Vec<Parameter> {
        let Some(map) = node.as_map() else {
            self.wrong_type(node, "`parameters`", "a mapping of parameter names");
            return Vec::new();
        };
        const FIELDS: [&str; 10] = [
            "type",
            "description",
            "default",
            "allowedValues",
            "allowedPattern",
            "minItems",
            "maxItems",
            "displayType",
            "minChars",
            "maxChars",
        ];
        let mut out = Vec::new();
        for (k, v) in map {
            let name = k.key_text();
            let what = format!("parameter `{name}`");
            if !valid_identifier(&name) {
                self.err(
                    Diagnostic::error(code::SCHEMA, format!("invalid parameter name `{name}`"))
                        .at(k.span)
                        .hint(
                            "use letters, digits and `_` (templates refer to it as `{{ Name }}`)",
                        ),
                );
            }
            if v.as_map().is_none() {
                self.wrong_type(v, &what, "a mapping with at least `type`");
                continue;
            }
            self.unknown_fields(v, &FIELDS, &what);
            let Some(tnode) = self.require(v, "type", &what) else {
                continue;
            };
            let Some(tname) = self.string(tnode, &format!("`type` of {what}")) else {
                continue;
            };
            let Some(ty) = ParamType::parse(&tname) else {
                self.err(
                    Diagnostic::error(
                        code::SCHEMA,
                        format!("{what} has unsupported type `{tname}`"),
                    )
                    .at(tnode.span)
                    .hint("use String, StringList, Integer, Boolean, StringMap or MapList"),
                );
                continue;
            };
            let allowed_values = match v.get("allowedValues") {
                Some(av) => match av.as_seq() {
                    Some(items) => Some(items.iter().map(Node::to_json).collect()),
                    None => {
                        self.wrong_type(av, &format!("`allowedValues` of {what}"), "a list");
                        None
                    }
                },
                None => None,
            };
            let mut items = |key: &str| {
                v.get(key)
                    .and_then(|n| self.integer(n, &format!("`{key}` of {what}"), 0, i64::MAX))
                    .map(|n| n.unsigned_abs())
            };
            let min_items = items("minItems");
            let max_items = items("maxItems");
            out.push(Parameter {
                name,
                ty,
                description: self.opt_string(v, "description", &what),
                default: v.get("default").map(Node::to_json),
                allowed_values,
                allowed_pattern: self.opt_string(v, "allowedPattern", &what),
                min_items,
                max_items,
                span: k.span,
            });
        }
        out
    }

    fn steps(&mut self, node: &Node, what: &str, in_loop: bool) -> Vec<Step> {
        let Some(items) = node.as_seq() else {
            self.wrong_type(node, &format!("`{what}`"), "a list of steps");
            return Vec::new();
        };
        items.iter().filter_map(|s| self.step(s, in_loop)).collect()
    }

    fn step(&mut self, node: &Node, in_loop: bool) -> Option<Step> {
        if node.as_map().is_none() {
            self.wrong_type(node, "a step", "a mapping with `name` and `action`");
            return None;
        }
        let name_node = self.require(node, "name", "a step");
        let name = name_node.and_then(|n| self.string(n, "a step's `name`"));
        let what = match &name {
            Some(n) => format!("step `{n}`"),
            None => "a step".to_string(),
        };
        self.unknown_fields(node, &STEP_FIELDS, &what);
        if let (Some(n), Some(nn)) = (&name, name_node)
            && !valid_identifier(n)
        {
            self.err(
                Diagnostic::error(code::SCHEMA, format!("invalid step name `{n}`"))
                    .at(nn.span)
                    .hint("use letters, digits and `_` (templates refer to outputs as `{{ Step.Output }}`)"),
            );
        }
        let action_node = self.require(node, "action", &what);
        let action_name = action_node.and_then(|n| self.string(n, &format!("`action` of {what}")));
        let inputs_node = node.get("inputs");
        if let Some(i) = inputs_node
            && i.as_map().is_none()
            && !matches!(i.kind, Kind::Null)
        {
            self.wrong_type(i, &format!("`inputs` of {what}"), "a mapping");
        }
        let mut spans = StepSpans {
            step: node.span,
            name: name_node.map_or(head(node.span), |n| n.span),
            action: action_node.map_or(head(node.span), |n| n.span),
            ..StepSpans::default()
        };
        let action = match action_name.as_deref() {
            Some(a) => self.action(a, inputs_node, node, &what, in_loop),
            None => None,
        };
        let outputs = match node.get("outputs") {
            Some(o) => self.outputs(o, &what),
            None => Vec::new(),
        };
        let timeout_seconds = node
            .get("timeoutSeconds")
            .and_then(|n| self.integer(n, &format!("`timeoutSeconds` of {what}"), 1, i64::MAX))
            .map(i64::unsigned_abs);
        let max_attempts = node
            .get("maxAttempts")
            .and_then(|n| self.integer(n, &format!("`maxAttempts` of {what}"), 1, 100))
            .map_or(1, |n| u32::try_from(n).unwrap_or(1));
        let on_failure = match node.get("onFailure") {
            Some(n) => {
                spans.on_failure = n.span;
                match self.string(n, &format!("`onFailure` of {what}")).as_deref() {
                    Some("Abort") | None => OnFailure::Abort,
                    Some("Continue") => OnFailure::Continue,
                    Some(s) => match step_target(s) {
                        Some(t) => OnFailure::Step(t.to_string()),
                        None => {
                            self.err(
                                Diagnostic::error(
                                    code::SCHEMA,
                                    format!("invalid `onFailure` value `{s}`"),
                                )
                                .at(n.span)
                                .hint("use Abort, Continue or step:<StepName>"),
                            );
                            OnFailure::Abort
                        }
                    },
                }
            }
            None => OnFailure::Abort,
        };
        let on_cancel = match node.get("onCancel") {
            Some(n) => {
                spans.on_cancel = n.span;
                if matches!(action, Some(Action::Loop(_))) {
                    self.err(
                        Diagnostic::error(code::SCHEMA, "`onCancel` is not supported on aws:loop")
                            .at(n.span)
                            .hint("set `onCancel` on the steps inside the loop"),
                    );
                }
                match self.string(n, &format!("`onCancel` of {what}")).as_deref() {
                    Some("Abort") | None => OnCancel::Abort,
                    Some(s) => match step_target(s) {
                        Some(t) => OnCancel::Step(t.to_string()),
                        None => {
                            self.err(
                                Diagnostic::error(
                                    code::SCHEMA,
                                    format!("invalid `onCancel` value `{s}`"),
                                )
                                .at(n.span)
                                .hint("use Abort or step:<StepName>"),
                            );
                            OnCancel::Abort
                        }
                    },
                }
            }
            None => OnCancel::Abort,
        };
        let next_step = match node.get("nextStep") {
            Some(n) => {
                spans.next_step = n.span;
                self.string(n, &format!("`nextStep` of {what}"))
            }
            None => None,
        };
        let is_end = node
            .get("isEnd")
            .and_then(|n| self.boolean(n, &format!("`isEnd` of {what}")))
            .unwrap_or(false);
        let is_critical = node
            .get("isCritical")
            .and_then(|n| self.boolean(n, &format!("`isCritical` of {what}")))
            .unwrap_or(true);
        let mut inputs: Map<String, Value> = match inputs_node.map(Node::to_json) {
            Some(Value::Object(m)) => m,
            _ => Map::new(),
        };
        if matches!(action, Some(Action::Loop(_))) {
            inputs.remove("Steps");
        }
        Some(Step {
            name: name?,
            action: action?,
            inputs,
            outputs,
            description: self.opt_string(node, "description", &what),
            timeout_seconds,
            max_attempts,
            on_failure,
            on_cancel,
            next_step,
            is_end,
            is_critical,
            spans,
        })
    }

    fn action(
        &mut self,
        action: &str,
        inputs: Option<&Node>,
        step: &Node,
        what: &str,
        in_loop: bool,
    ) -> Option<Action> {
        Some(match action {
            "aws:pause" => Action::Pause,
            "aws:approve" => Action::Approve,
            "aws:sleep" => Action::Sleep,
            "aws:executeAutomation" => Action::ExecuteAutomation,
            "aws:branch" => {
                let Some(inputs) = inputs else {
                    self.require(step, "inputs", what);
                    return None;
                };
                Action::Branch(self.branch(inputs, what)?)
            }
            "aws:loop" => {
                let Some(inputs) = inputs else {
                    self.require(step, "inputs", what);
                    return None;
                };
                if in_loop {
                    self.err(
                        Diagnostic::error(
                            code::SCHEMA,
                            "an aws:loop cannot be nested inside another aws:loop",
                        )
                        .at(step.get("action").map_or(step.span, |n| n.span))
                        .hint("move the inner loop into a child runbook run with aws:executeAutomation"),
                    );
                    return None;
                }
                Action::Loop(self.loop_(inputs, what)?)
            }
            other => Action::Plugin(other.to_string()),
        })
    }

    fn outputs(&mut self, node: &Node, what: &str) -> Vec<StepOutput> {
        let Some(items) = node.as_seq() else {
            self.wrong_type(node, &format!("`outputs` of {what}"), "a list");
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            if item.as_map().is_none() {
                self.wrong_type(
                    item,
                    &format!("an output of {what}"),
                    "a mapping with Name, Selector and Type",
                );
                continue;
            }
            let owhat = format!("an output of {what}");
            self.unknown_fields(item, &["Name", "Selector", "Type"], &owhat);
            let name = self
                .require(item, "Name", &owhat)
                .and_then(|n| self.string(n, "`Name`"));
            let selector_node = self.require(item, "Selector", &owhat);
            let selector = selector_node.and_then(|n| self.string(n, "`Selector`"));
            if let (Some(sel), Some(sn)) = (&selector, selector_node)
                && let Err(e) = serde_json_path::JsonPath::parse(sel)
            {
                self.err(
                    Diagnostic::error(
                        code::SELECTOR,
                        format!("output Selector `{sel}` is not a valid JSONPath: {e}"),
                    )
                    .at(sn.span)
                    .hint("Selectors are RFC 9535 JSONPath expressions, e.g. `$.Payload.id`"),
                );
            }
            let ty = match self.require(item, "Type", &owhat) {
                Some(tn) => match self.string(tn, "`Type`") {
                    Some(t) => match ParamType::parse(&t) {
                        Some(ty) => Some(ty),
                        None => {
                            self.err(
                                Diagnostic::error(
                                    code::SCHEMA,
                                    format!("unsupported output Type `{t}`"),
                                )
                                .at(tn.span)
                                .hint("use String, StringList, Integer, Boolean, StringMap or MapList"),
                            );
                            None
                        }
                    },
                    None => None,
                },
                None => None,
            };
            if let (Some(name), Some(selector), Some(ty)) = (name, selector, ty) {
                out.push(StepOutput { name, selector, ty });
            }
        }
        out
    }

    fn branch(&mut self, inputs: &Node, what: &str) -> Option<Branch> {
        let choices_node = self.require(inputs, "Choices", &format!("the inputs of {what}"))?;
        let Some(items) = choices_node.as_seq() else {
            self.wrong_type(choices_node, "`Choices`", "a list");
            return None;
        };
        if items.is_empty() {
            self.err(Diagnostic::error(code::SCHEMA, "`Choices` is empty").at(choices_node.span));
        }
        let mut choices = Vec::new();
        for item in items {
            let next = self
                .require(item, "NextStep", "a choice")
                .and_then(|n| self.string(n, "`NextStep`"));
            let cond = self.condition(item, true);
            if let (Some(next_step), Some(condition)) = (next, cond) {
                choices.push(Choice {
                    next_step,
                    condition,
                });
            }
        }
        let default = self.opt_string(inputs, "Default", what);
        Some(Branch { choices, default })
    }

    /// `Variable` + one operator, or `And` / `Or` (lists) / `Not` (one condition).
    fn condition(&mut self, node: &Node, top: bool) -> Option<Condition> {
        if node.as_map().is_none() {
            self.wrong_type(node, "a condition", "a mapping");
            return None;
        }
        let mut allowed: Vec<&str> = vec!["Variable", "And", "Or", "Not"];
        allowed.extend(Operator::ALL.iter().map(|o| o.name()));
        if top {
            allowed.push("NextStep");
        }
        self.unknown_fields(node, &allowed, "a condition");
        let list = |cx: &mut Cx, key: &str| -> Option<Vec<Condition>> {
            let n = node.get(key)?;
            match n.as_seq() {
                Some(items) if !items.is_empty() => Some(
                    items
                        .iter()
                        .filter_map(|i| cx.condition(i, false))
                        .collect(),
                ),
                _ => {
                    cx.wrong_type(n, &format!("`{key}`"), "a non-empty list of conditions");
                    None
                }
            }
        };
        if node.get("And").is_some() {
            return list(self, "And").map(Condition::And);
        }
        if node.get("Or").is_some() {
            return list(self, "Or").map(Condition::Or);
        }
        if let Some(n) = node.get("Not") {
            let inner = match &n.kind {
                Kind::Seq(items) if items.len() == 1 => self.condition(&items[0], false),
                Kind::Map(_) => self.condition(n, false),
                _ => {
                    self.wrong_type(n, "`Not`", "one condition");
                    None
                }
            };
            return inner.map(|c| Condition::Not(Box::new(c)));
        }
        let ops: Vec<(Operator, &Node)> = Operator::ALL
            .iter()
            .filter_map(|o| node.get(o.name()).map(|v| (*o, v)))
            .collect();
        let variable = node.get("Variable");
        match (variable, ops.as_slice()) {
            (Some(var), [(op, operand)]) => Some(Condition::Test {
                variable: var.to_json(),
                op: *op,
                operand: operand.to_json(),
            }),
            (None, _) => {
                self.err(
                    Diagnostic::error(
                        code::MISSING_FIELD,
                        "a condition needs `Variable` and one operator, or And / Or / Not",
                    )
                    .at(head(node.span)),
                );
                None
            }
            (Some(_), []) => {
                self.err(
                    Diagnostic::error(
                        code::MISSING_FIELD,
                        "a condition has `Variable` but no operator",
                    )
                    .at(head(node.span))
                    .hint(format!(
                        "add one of: {}",
                        Operator::ALL.map(|o| o.name()).join(", ")
                    )),
                );
                None
            }
            (Some(_), [_, (_, second), ..]) => {
                self.err(
                    Diagnostic::error(code::SCHEMA, "a condition has more than one operator")
                        .at(second.span)
                        .hint("combine tests with And / Or"),
                );
                None
            }
        }
    }

    fn loop_(&mut self, inputs: &Node, what: &str) -> Option<Loop> {
        let iwhat = format!("the inputs of {what}");
        let steps_node = self.require(inputs, "Steps", &iwhat);
        let steps = steps_node.map(|n| self.steps(n, "Steps", true));
        if let Some(n) = steps_node
            && n.as_seq().is_some_and(<[Node]>::is_empty)
        {
            self.err(Diagnostic::error(code::SCHEMA, "`Steps` of aws:loop is empty").at(n.span));
        }
        let max_iterations = match inputs.get("MaxIterations") {
            Some(n) => self
                .integer(n, "`MaxIterations`", 1, 100)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(100),
            None => 100,
        };
        if let Some(n) = inputs.get("IteratorDataType") {
            let ok = n
                .as_str()
                .is_some_and(|s| matches!(s, "String" | "Integer" | "Boolean" | "StringMap"));
            if !ok {
                self.err(
                    Diagnostic::error(code::INVALID_INPUT, "invalid `IteratorDataType`")
                        .at(n.span)
                        .hint("use String, Integer, Boolean or StringMap"),
                );
            }
        }
        let over = match (inputs.get("Iterators"), inputs.get("LoopCondition")) {
            (Some(it), Some(c)) => {
                self.err(
                    Diagnostic::error(
                        code::INVALID_INPUT,
                        "aws:loop takes either `Iterators` or `LoopCondition`, not both",
                    )
                    .at(head(c.span)),
                );
                LoopOver::Iterators(it.to_json())
            }
            (Some(it), None) => {
                match &it.kind {
                    Kind::Seq(items) if items.len() > 100 => self.err(
                        Diagnostic::error(
                            code::INVALID_INPUT,
                            format!("`Iterators` has {} items; the maximum is 100", items.len()),
                        )
                        .at(it.span),
                    ),
                    Kind::Seq(_) | Kind::Str(_) => {}
                    _ => self.wrong_type(it, "`Iterators`", "a list or a `{{ reference }}` to one"),
                }
                LoopOver::Iterators(it.to_json())
            }
            (None, Some(c)) => LoopOver::Condition(self.condition(c, false)?),
            (None, None) => {
                self.err(
                    Diagnostic::error(
                        code::MISSING_FIELD,
                        "aws:loop needs `Iterators` (for each) or `LoopCondition` (do while)",
                    )
                    .at(head(inputs.span)),
                );
                return None;
            }
        };
        Some(Loop {
            over,
            steps: steps?,
            max_iterations,
        })
    }
}

/// `step:Name` → `Name`.
fn step_target(s: &str) -> Option<&str> {
    s.strip_prefix("step:")
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub(crate) fn valid_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// The first line of a span (so a missing-field diagnostic highlights the start of the mapping).
pub(crate) fn head(span: Span) -> Span {
    Span::new(span.start, span.start)
}

/// The closest allowed name within edit distance 2 (or equal ignoring case).
pub(crate) fn suggest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| {
            let d = if a.eq_ignore_ascii_case(key) {
                0
            } else {
                levenshtein(&key.to_lowercase(), &a.to_lowercase())
            };
            (d, *a)
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            let v = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            cur.push(v);
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_document() {
        let out = parse_document(
            r#"
schemaVersion: '0.3'
description: d
assumeRole: '{{ Role }}'
parameters:
  Role: { type: String, default: '' }
  Ids: { type: StringList, minItems: 1, maxItems: 3 }
outputs: [Find.Host]
mainSteps:
  - name: Find
    action: dns:lookup
    maxAttempts: 3
    timeoutSeconds: 30
    onFailure: step:Page
    inputs: { Name: '{{ Ids }}' }
    outputs:
      - { Name: Host, Selector: '$.host', Type: String }
  - name: Choose
    action: aws:branch
    inputs:
      Choices:
        - NextStep: Page
          And:
            - { Variable: '{{ Find.Host }}', StartsWith: db }
            - Not: { Variable: '{{ Find.Host }}', StringEquals: db0 }
      Default: Done
  - name: Page
    action: aws:pause
    isCritical: false
  - name: Loop
    action: aws:loop
    inputs:
      Iterators: '{{ Ids }}'
      MaxIterations: 5
      Steps:
        - { name: Nap, action: aws:sleep, inputs: { Duration: PT1M } }
  - name: Done
    action: aws:sleep
    isEnd: true
    inputs: { Duration: PT1S }
"#,
        );
        assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
        let doc = out.document.unwrap();
        assert_eq!(doc.parameters.len(), 2);
        assert_eq!(doc.parameters[1].ty, ParamType::StringList);
        assert_eq!(doc.main_steps.len(), 5);
        let find = &doc.main_steps[0];
        assert_eq!(find.max_attempts, 3);
        assert_eq!(find.on_failure, OnFailure::Step("Page".into()));
        assert_eq!(find.outputs[0].selector, "$.host");
        assert!(
            matches!(&doc.main_steps[1].action, Action::Branch(b) if b.choices.len() == 1 && b.default.as_deref() == Some("Done"))
        );
        assert!(!doc.main_steps[2].is_critical);
        let Action::Loop(l) = &doc.main_steps[3].action else {
            panic!()
        };
        assert_eq!(l.max_iterations, 5);
        assert_eq!(l.steps[0].name, "Nap");
        assert!(!doc.main_steps[3].inputs.contains_key("Steps"));
        assert_eq!(doc.all_steps().len(), 6);
    }

    #[test]
    fn json_documents_parse() {
        let out = parse_document(
            r#"{"schemaVersion": "0.3", "mainSteps": [{"name": "P", "action": "aws:pause", "isEnd": true}]}"#,
        );
        assert!(out.diagnostics.is_empty(), "{:#?}", out.diagnostics);
        assert_eq!(out.ok().unwrap().main_steps[0].action, Action::Pause);
    }

    #[test]
    fn structural_errors_are_located() {
        let text = "schemaVersion: '2.2'\nmainStep: []\nparameters:\n  P: { type: Float }\n";
        let out = parse_document(text);
        let codes: Vec<_> = out.diagnostics.iter().map(|d| d.code).collect();
        assert!(codes.contains(&code::SCHEMA_VERSION), "{codes:?}");
        assert!(codes.contains(&code::UNKNOWN_FIELD), "{codes:?}");
        assert!(codes.contains(&code::MISSING_FIELD), "{codes:?}");
        assert!(codes.contains(&code::SCHEMA), "{codes:?}");
        let unknown = out
            .diagnostics
            .iter()
            .find(|d| d.code == code::UNKNOWN_FIELD)
            .unwrap();
        assert_eq!(unknown.hint.as_deref(), Some("did you mean `mainSteps`?"));
        assert_eq!(
            &text[unknown.span.unwrap().start..unknown.span.unwrap().end],
            "mainStep"
        );
    }

    #[test]
    fn loop_rules() {
        let out = parse_document(
            "schemaVersion: '0.3'\nmainSteps:\n  - name: L\n    action: aws:loop\n    onCancel: Abort\n    inputs:\n      MaxIterations: 101\n      Iterators: [a]\n      LoopCondition: { Variable: x, StringEquals: y }\n      Steps: []\n",
        );
        let msgs: Vec<_> = out.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert!(
            msgs.iter().any(|m| m.contains("between 1 and 100")),
            "{msgs:?}"
        );
        assert!(msgs.iter().any(|m| m.contains("onCancel")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("empty")), "{msgs:?}");
    }

    #[test]
    fn bad_selector_is_reported() {
        let out = parse_document(
            "schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: x:y\n    outputs:\n      - { Name: O, Selector: '$..[', Type: String }\n",
        );
        assert!(
            out.diagnostics.iter().any(|d| d.code == code::SELECTOR),
            "{:#?}",
            out.diagnostics
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(suggest("nextstep", &STEP_FIELDS), Some("nextStep"));
        assert_eq!(suggest("onFailur", &STEP_FIELDS), Some("onFailure"));
        assert_eq!(suggest("zzzzzz", &STEP_FIELDS), None);
    }
}
