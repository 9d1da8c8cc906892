//! Semantic checks over a loaded runbook: actions and their inputs, template references,
//! step targets, reachability, cycles, duplicate names and parameter types.

use super::actions::{self, KnownActions};
use super::diag::{Diagnostic, code};
use super::graph::Graph;
use super::load::{self, Loaded, suggest};
use super::model::{Action, Document, OnCancel, OnFailure, ParamType, Step};
use super::report::{FileReport, Report};
use super::source::{SourceText, Span};
use super::template::{self, RefKind, RefSite, RenderError};
use super::yaml::{Kind, Limits, Node, Syntax};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Validate one runbook given as bytes (YAML, or JSON when `name` ends in `.json` or the text
/// starts with `{`). `name` is used in diagnostics.
pub fn validate_source(name: &str, bytes: &[u8], known: &dyn KnownActions) -> Report {
    Report {
        files: vec![validate_file(name, bytes, known)],
    }
}

pub(crate) fn validate_file(name: &str, bytes: &[u8], known: &dyn KnownActions) -> FileReport {
    let (text, diags) = match std::str::from_utf8(bytes) {
        Ok(text) => {
            let src = SourceText::new(text.to_string());
            let syntax = if name.ends_with(".json") || text.trim_start().starts_with('{') {
                Syntax::Json
            } else {
                Syntax::Yaml
            };
            let diags = validate_text(&src, syntax, known);
            (src, diags)
        }
        Err(e) => {
            let src = SourceText::new(String::from_utf8_lossy(bytes).into_owned());
            let at = e.valid_up_to();
            // The lossy text has the same bytes up to the first invalid sequence.
            let d = Diagnostic::error(code::ENCODING, "the file is not valid UTF-8")
                .at(Span::new(at, src.clamp(at + 1)))
                .label("invalid byte sequence starts here")
                .hint("save the runbook as UTF-8");
            (src, vec![d])
        }
    };
    FileReport::new(name.to_string(), text, diags)
}

pub(crate) fn validate_text(
    src: &SourceText,
    syntax: Syntax,
    known: &dyn KnownActions,
) -> Vec<Diagnostic> {
    let (loaded, mut diags) = load::load(src, syntax, &Limits::default());
    if let Some(loaded) = loaded {
        let mut v = Validator {
            src,
            doc: &loaded.doc,
            graph: Graph::new(&loaded.doc),
            known,
            diags: Vec::new(),
            after_cache: HashMap::new(),
        };
        v.run(&loaded);
        diags.extend(v.diags);
    }
    diags
}

struct Validator<'a> {
    src: &'a SourceText,
    doc: &'a Document,
    graph: Graph<'a>,
    known: &'a dyn KnownActions,
    diags: Vec<Diagnostic>,
    after_cache: HashMap<usize, Vec<bool>>,
}

/// A step's mapping node, found by walking the tree (mainSteps and loop Steps).
fn step_nodes(root: &Node) -> Vec<&Node> {
    fn walk<'n>(seq: Option<&'n Node>, out: &mut Vec<&'n Node>) {
        for s in seq.and_then(Node::as_seq).unwrap_or(&[]) {
            out.push(s);
            if s.get("action").and_then(Node::as_str) == Some("aws:loop") {
                walk(s.get("inputs").and_then(|i| i.get("Steps")), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(root.get("mainSteps"), &mut out);
    out
}

impl<'a> Validator<'a> {
    fn run(&mut self, loaded: &Loaded) {
        self.duplicates();
        let nodes: HashMap<&str, &Node> = step_nodes(&loaded.root)
            .into_iter()
            .filter_map(|n| Some((n.get("name")?.as_str()?, n)))
            .rev() // the first of duplicate names wins
            .collect();
        for i in 0..self.graph.steps.len() {
            let step = self.graph.steps[i];
            let node = nodes.get(step.name.as_str()).copied();
            self.action(step, node);
            self.targets(i, node);
            if let Some(inputs) = node.and_then(|n| n.get("inputs")) {
                self.templates_in(inputs, Some(i));
            }
        }
        self.flow();
        self.parameters(&loaded.root);
        self.document_refs(&loaded.root);
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn line_of(&self, span: Span) -> String {
        let (l, c) = self.src.line_col(span.start);
        format!("line {l}, column {c}")
    }

    fn duplicates(&mut self) {
        let mut first: HashMap<&str, Span> = HashMap::new();
        for s in self.doc.all_steps() {
            match first.get(s.name.as_str()) {
                Some(prev) => {
                    let hint = format!(
                        "first defined at {}; step names must be unique",
                        self.line_of(*prev)
                    );
                    self.push(
                        Diagnostic::error(
                            code::DUPLICATE_STEP,
                            format!("duplicate step name `{}`", s.name),
                        )
                        .at(s.spans.name)
                        .hint(hint),
                    );
                }
                None => {
                    first.insert(&s.name, s.spans.name);
                }
            }
        }
    }

    // ---- actions and inputs -------------------------------------------------------------

    fn action(&mut self, step: &Step, node: Option<&Node>) {
        let name = step.action.name().to_string();
        let inputs = node.and_then(|n| n.get("inputs"));
        let at = step.spans.action;
        match &step.action {
            Action::Plugin(_) => {
                if self.known.knows(&name) {
                    if let (Some(schema), Some(inputs)) = (self.known.input_schema(&name), inputs) {
                        let (props, additional) = actions::schema_properties(schema);
                        let specs: Vec<(String, Option<String>, bool)> = props;
                        self.check_inputs(step, inputs, &specs, additional, &[]);
                    } else if let Some(schema) = self.known.input_schema(&name) {
                        let (props, _) = actions::schema_properties(schema);
                        for (p, _, required) in props {
                            if required {
                                self.push(missing_input(step, &p, at));
                            }
                        }
                    }
                } else if let Some(hint) = actions::unsupported_hint(&name) {
                    self.push(
                        Diagnostic::error(
                            code::UNSUPPORTED_ACTION,
                            format!(
                                "step `{}` uses `{name}`, which Tocsin does not execute",
                                step.name
                            ),
                        )
                        .at(at)
                        .label("not executed by Tocsin")
                        .hint(hint),
                    );
                } else if let Some(rest) = name.strip_prefix("aws:") {
                    let builtins: Vec<&str> =
                        actions::BUILTIN_ACTIONS.iter().map(|b| &b[4..]).collect();
                    let mut d = Diagnostic::error(
                        code::UNKNOWN_ACTION,
                        format!("step `{}` uses unknown action `{name}`", step.name),
                    )
                    .at(at);
                    d = match suggest(rest, &builtins) {
                        Some(s) => d.hint(format!("did you mean `aws:{s}`?")),
                        None => d.hint(format!(
                            "built-in actions are {}; anything else is a plugin action `<instance>:<action>`",
                            actions::BUILTIN_ACTIONS.join(", ")
                        )),
                    };
                    self.push(d);
                } else {
                    let d = match name.split_once(':') {
                        Some((inst, act)) if !inst.is_empty() && !act.is_empty() => Diagnostic::error(
                            code::UNKNOWN_ACTION,
                            format!("step `{}` uses `{name}`, but no plugin provides it", step.name),
                        )
                        .hint(format!(
                            "configure a plugin instance named `{inst}` (kind: Plugin) whose plugin has the action `{act}`"
                        )),
                        _ => Diagnostic::error(
                            code::UNKNOWN_ACTION,
                            format!("step `{}` has action `{name}`, which is not an action name", step.name),
                        )
                        .hint("use a built-in `aws:<action>` or a plugin action `<instance>:<action>`"),
                    };
                    self.push(d.at(at));
                }
            }
            builtin => {
                let Some(spec) = actions::builtin_inputs(builtin.name()) else {
                    return;
                };
                let specs: Vec<(String, Option<String>, bool)> = spec
                    .inputs
                    .iter()
                    .map(|i| (i.name.to_string(), Some(i.ty.to_string()), i.required))
                    .collect();
                match inputs {
                    Some(inputs) => self.check_inputs(step, inputs, &specs, false, spec.ignored),
                    None => {
                        for (p, _, required) in &specs {
                            if *required {
                                self.push(missing_input(step, p, at));
                            }
                        }
                    }
                }
                if let Some(inputs) = inputs {
                    match builtin {
                        Action::Sleep => self.sleep_inputs(step, inputs),
                        Action::Approve => self.approve_inputs(inputs),
                        _ => {}
                    }
                }
            }
        }
    }

    fn check_inputs(
        &mut self,
        step: &Step,
        inputs: &Node,
        specs: &[(String, Option<String>, bool)],
        additional: bool,
        ignored: &[(&str, &str)],
    ) {
        let Some(map) = inputs.as_map() else {
            return;
        };
        let names: Vec<&str> = specs.iter().map(|(n, _, _)| n.as_str()).collect();
        for (k, v) in map {
            let key = k.key_text();
            match specs.iter().find(|(n, _, _)| *n == key) {
                Some((_, Some(ty), _)) => self.check_type(step, &key, v, ty),
                Some((_, None, _)) => {}
                None => {
                    if let Some((_, why)) = ignored.iter().find(|(n, _)| *n == key) {
                        self.push(
                            Diagnostic::warning(
                                code::IGNORED_INPUT,
                                format!("input `{key}` of step `{}` is ignored", step.name),
                            )
                            .at(k.span)
                            .hint(*why),
                        );
                    } else if !additional {
                        let mut d = Diagnostic::error(
                            code::INVALID_INPUT,
                            format!("`{}` has no input `{key}`", step.action.name()),
                        )
                        .at(k.span);
                        d = match suggest(&key, &names) {
                            Some(s) => d.hint(format!("did you mean `{s}`?")),
                            None if names.is_empty() => {
                                d.hint(format!("`{}` takes no inputs", step.action.name()))
                            }
                            None => d.hint(format!("its inputs are: {}", names.join(", "))),
                        };
                        self.push(d);
                    }
                }
            }
        }
        for (name, _, required) in specs {
            if *required && inputs.get(name).is_none() {
                self.push(missing_input(step, name, inputs.span));
            }
        }
    }

    /// Check a value against a JSON Schema type name, looking through exact references.
    fn check_type(&mut self, step: &Step, input: &str, v: &Node, want: &str) {
        let (got, via) = match &v.kind {
            Kind::Str(s) => match template::sole_reference(s) {
                Some(name) => match self.reference_type(&name) {
                    Some(t) => (
                        t.json_type(),
                        Some(format!("`{{{{ {name} }}}}` is a {}", t.name())),
                    ),
                    None => return, // unknown type (or unknown reference, reported elsewhere)
                },
                None => ("string", None),
            },
            Kind::Null => return,
            Kind::Bool(_) => ("boolean", None),
            Kind::Int(_) => ("integer", None),
            Kind::Float(_) => ("number", None),
            Kind::Seq(_) => ("array", None),
            Kind::Map(_) => ("object", None),
        };
        let ok = got == want || (want == "number" && got == "integer");
        if !ok {
            let msg = format!(
                "input `{input}` of step `{}` must be {}, found {}",
                step.name,
                article(want),
                article(got)
            );
            let mut d = Diagnostic::error(code::TYPE_MISMATCH, msg).at(v.span);
            if let Some(via) = via {
                d = d.label(via);
            }
            self.push(d);
        }
    }

    fn reference_type(&self, name: &str) -> Option<ParamType> {
        match template::classify(name) {
            RefKind::Param(p) => self.doc.parameter(p).map(|p| p.ty),
            RefKind::StepOutput { step, output } => {
                let s = self.doc.step(step)?;
                if let Some(o) = s.outputs.iter().find(|o| o.name == output) {
                    return Some(o.ty);
                }
                actions::implicit_outputs(s.action.name())
                    .iter()
                    .find(|(n, _)| *n == output)
                    .and_then(|(_, t)| *t)
            }
            RefKind::Namespaced { ns, .. } => (ns != "ssm").then_some(ParamType::String),
        }
    }

    fn sleep_inputs(&mut self, step: &Step, inputs: &Node) {
        match (inputs.get("Duration"), inputs.get("Timestamp")) {
            (Some(_), Some(t)) => self.push(
                Diagnostic::error(
                    code::INVALID_INPUT,
                    "aws:sleep takes `Duration` or `Timestamp`, not both",
                )
                .at(t.span),
            ),
            (None, None) => self.push(
                Diagnostic::error(
                    code::INVALID_INPUT,
                    format!(
                        "aws:sleep step `{}` needs `Duration` or `Timestamp`",
                        step.name
                    ),
                )
                .at(load::head(inputs.span))
                .hint("e.g. `Duration: PT10M` (ISO 8601) or `Timestamp: '2030-01-01T00:00:00Z'`"),
            ),
            (Some(d), None) => {
                if let Some(s) = d
                    .as_str()
                    .filter(|s| template::references(s).is_ok_and(|r| r.is_empty()))
                    && let Err(e) = super::duration::parse_duration(s)
                {
                    self.push(
                        Diagnostic::error(code::INVALID_INPUT, e)
                            .at(d.span)
                            .hint("use an ISO 8601 duration such as PT30S, PT10M, PT1H or P1D (at most 7 days)"),
                    );
                }
            }
            (None, Some(t)) => {
                if let Some(s) = t
                    .as_str()
                    .filter(|s| template::references(s).is_ok_and(|r| r.is_empty()))
                    && s.parse::<jiff::Timestamp>().is_err()
                {
                    self.push(
                        Diagnostic::error(
                            code::INVALID_INPUT,
                            format!("`{s}` is not an ISO 8601 timestamp"),
                        )
                        .at(t.span)
                        .hint("use e.g. 2030-01-01T00:00:00Z"),
                    );
                }
            }
        }
    }

    fn approve_inputs(&mut self, inputs: &Node) {
        let approvers = inputs.get("Approvers").and_then(Node::as_seq);
        if let (Some(a), Some(n)) = (approvers, inputs.get("Approvers"))
            && a.is_empty()
        {
            self.push(Diagnostic::error(code::INVALID_INPUT, "`Approvers` is empty").at(n.span));
        }
        if let (Some(a), Some(m)) = (approvers, inputs.get("MinRequiredApprovals"))
            && let Kind::Int(min) = m.kind
            && (min < 1 || usize::try_from(min).map_or(true, |min| min > a.len()))
        {
            self.push(
                Diagnostic::error(
                    code::INVALID_INPUT,
                    format!(
                        "`MinRequiredApprovals` is {min} but there are {} approvers",
                        a.len()
                    ),
                )
                .at(m.span),
            );
        }
    }

    // ---- targets and flow ---------------------------------------------------------------

    fn targets(&mut self, i: usize, node: Option<&Node>) {
        let step = self.graph.steps[i];
        let check = |v: &mut Self, target: &str, what: &str, span: Span| {
            let Some(t) = v.graph.lookup(target) else {
                let names: Vec<&str> = v.graph.steps.iter().map(|s| s.name.as_str()).collect();
                let mut d = Diagnostic::error(
                    code::UNDEFINED_TARGET,
                    format!(
                        "{what} of step `{}` names `{target}`, which is not a step",
                        step.name
                    ),
                )
                .at(span);
                if let Some(s) = suggest(target, &names) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                v.push(d);
                return;
            };
            if v.graph.parent[t] != v.graph.parent[i] {
                let scope = |p: Option<usize>| match p {
                    Some(l) => format!("inside aws:loop `{}`", v.graph.steps[l].name),
                    None => "in mainSteps".to_string(),
                };
                let msg = format!(
                    "{what} of step `{}` jumps to `{target}`, which is {} while the step is {}",
                    step.name,
                    scope(v.graph.parent[t]),
                    scope(v.graph.parent[i])
                );
                v.push(
                    Diagnostic::error(code::UNDEFINED_TARGET, msg)
                        .at(span)
                        .hint("a step can only jump to steps of its own sequence"),
                );
            }
        };
        if let Some(t) = &step.next_step {
            check(self, t, "`nextStep`", step.spans.next_step);
        }
        if let OnFailure::Step(t) = &step.on_failure {
            check(self, t, "`onFailure`", step.spans.on_failure);
        }
        if let OnCancel::Step(t) = &step.on_cancel {
            check(self, t, "`onCancel`", step.spans.on_cancel);
        }
        if let Action::Branch(_) = &step.action {
            let inputs = node.and_then(|n| n.get("inputs"));
            let choices = inputs
                .and_then(|i| i.get("Choices"))
                .and_then(Node::as_seq)
                .unwrap_or(&[]);
            for c in choices {
                if let Some(n) = c.get("NextStep")
                    && let Some(t) = n.as_str()
                {
                    check(self, t, "a `NextStep` choice", n.span);
                }
            }
            if let Some(n) = inputs.and_then(|i| i.get("Default"))
                && let Some(t) = n.as_str()
            {
                check(self, t, "`Default`", n.span);
            }
        }
    }

    fn flow(&mut self) {
        let reachable = self.graph.reachable();
        for (i, r) in reachable.iter().enumerate() {
            if !r {
                let s = self.graph.steps[i];
                if self.graph.parent[i].is_some_and(|p| !reachable[p]) {
                    continue; // reported on the loop
                }
                self.push(
                    Diagnostic::warning(code::UNREACHABLE, format!("step `{}` can never run", s.name))
                        .at(s.spans.name)
                        .hint("no step leads here: check the `isEnd` / `nextStep` of the steps before it, or remove it"),
                );
            }
        }
        for cycle in self.graph.cycles_without_exit() {
            let names: Vec<&str> = cycle
                .iter()
                .map(|&i| self.graph.steps[i].name.as_str())
                .collect();
            let first = self.graph.steps[cycle[0]];
            let mut path = names.join(" → ");
            path.push_str(&format!(" → {}", names[0]));
            self.push(
                Diagnostic::error(
                    code::CYCLE,
                    format!("steps {path} loop forever: no step in the cycle can leave it"),
                )
                .at(first.spans.name)
                .hint("add an aws:branch with an exit, `isEnd: true`, or use aws:loop (at most 100 iterations)"),
            );
        }
    }

    // ---- templates ----------------------------------------------------------------------

    /// Check every template reference in the strings under `node`, used by step `at`.
    fn templates_in(&mut self, node: &Node, at: Option<usize>) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            match &n.kind {
                Kind::Str(s) => self.template(s, n.span, at),
                Kind::Seq(items) => stack.extend(items.iter().rev()),
                Kind::Map(entries) => stack.extend(entries.iter().rev().map(|(_, v)| v)),
                _ => {}
            }
        }
    }

    fn template(&mut self, s: &str, span: Span, at: Option<usize>) {
        match template::references(s) {
            Ok(refs) => {
                for r in refs {
                    let rspan = self.ref_span(span, s, &r);
                    self.reference(&r.name, rspan, at);
                }
            }
            Err(e) => {
                let hint = match e {
                    RenderError::Unterminated { .. } => "close it with `}}`",
                    _ => {
                        "a reference is `{{ Parameter }}`, `{{ Step.Output }}` or `{{ global:NAME }}`"
                    }
                };
                self.push(
                    Diagnostic::error(code::TEMPLATE, format!("invalid template: {e}"))
                        .at(span)
                        .hint(hint),
                );
            }
        }
    }

    /// The span of `{{ … }}` itself when the scalar's source text is the string verbatim.
    fn ref_span(&self, scalar: Span, value: &str, r: &RefSite) -> Span {
        let raw = self.src.text.get(scalar.start..scalar.end).unwrap_or("");
        let offset = if raw == value {
            Some(scalar.start)
        } else if raw.len() == value.len() + 2 && raw.get(1..raw.len() - 1) == Some(value) {
            Some(scalar.start + 1)
        } else {
            None
        };
        match offset {
            Some(o) => Span::new(o + r.range.start, o + r.range.end),
            None => scalar,
        }
    }

    fn reference(&mut self, name: &str, span: Span, at: Option<usize>) {
        let here = at.map(|i| self.graph.steps[i].name.clone());
        match template::classify(name) {
            RefKind::Param(p) => {
                if self.doc.parameter(p).is_some() {
                    return;
                }
                let mut d = Diagnostic::error(
                    code::UNKNOWN_REFERENCE,
                    format!("`{{{{ {name} }}}}` refers to an undeclared parameter `{p}`"),
                )
                .at(span);
                if self.graph.lookup(p).is_some() {
                    d = d.hint(format!(
                        "`{p}` is a step; refer to one of its outputs as `{{{{ {p}.OutputName }}}}`"
                    ));
                } else {
                    let names: Vec<&str> = self
                        .doc
                        .parameters
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect();
                    d = match suggest(p, &names) {
                        Some(s) => d.hint(format!("did you mean `{{{{ {s} }}}}`?")),
                        None => d.hint(format!(
                            "declare it under `parameters:` (e.g. `{p}: {{ type: String }}`)"
                        )),
                    };
                }
                self.push(d);
            }
            RefKind::StepOutput { step, output } => {
                self.step_reference(name, step, output, span, at, here)
            }
            RefKind::Namespaced { ns, name: var } => {
                let known: &[&str] = match ns {
                    "global" => &template::GLOBALS,
                    "automation" => &template::AUTOMATION_VARS,
                    "incident" => &template::INCIDENT_VARS,
                    "ssm" | "ssm-secure" | "secretsmanager" => {
                        self.push(
                            Diagnostic::error(
                                code::UNSUPPORTED_REFERENCE,
                                format!("`{{{{ {name} }}}}` reads AWS Parameter Store, which Tocsin does not have"),
                            )
                            .at(span)
                            .hint("pass the value as a runbook parameter, or read it in a plugin action that was granted the secret"),
                        );
                        return;
                    }
                    _ => {
                        self.push(
                            Diagnostic::error(
                                code::UNKNOWN_REFERENCE,
                                format!("unknown variable namespace `{ns}:`"),
                            )
                            .at(span)
                            .hint("namespaces are global:, automation: and incident:"),
                        );
                        return;
                    }
                };
                if !known.contains(&var) {
                    let mut d = Diagnostic::error(
                        code::UNKNOWN_REFERENCE,
                        format!("unknown variable `{name}`"),
                    )
                    .at(span);
                    d = match suggest(var, known) {
                        Some(s) => d.hint(format!("did you mean `{ns}:{s}`?")),
                        None => d.hint(format!("`{ns}:` has {}", known.join(", "))),
                    };
                    self.push(d);
                }
            }
        }
    }

    fn step_reference(
        &mut self,
        name: &str,
        step: &str,
        output: &str,
        span: Span,
        at: Option<usize>,
        here: Option<String>,
    ) {
        let Some(target) = self.graph.lookup(step) else {
            let mut d = Diagnostic::error(
                code::UNKNOWN_REFERENCE,
                format!("`{{{{ {name} }}}}` refers to `{step}`, which is not a step"),
            )
            .at(span);
            if self.doc.parameter(step).is_some() {
                d = d.hint(format!(
                    "`{step}` is a parameter; parameters have no fields, use `{{{{ {step} }}}}`"
                ));
            } else {
                let names: Vec<&str> = self.graph.steps.iter().map(|s| s.name.as_str()).collect();
                if let Some(s) = suggest(step, &names) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
            }
            self.push(d);
            return;
        };
        let s = self.graph.steps[target];
        let implicit = actions::implicit_outputs(s.action.name());
        let declared = s.outputs.iter().any(|o| o.name == output)
            || implicit.iter().any(|(n, _)| *n == output);
        if !declared {
            let mut outs: Vec<&str> = s.outputs.iter().map(|o| o.name.as_str()).collect();
            outs.extend(implicit.iter().map(|(n, _)| *n));
            let hint = if outs.is_empty() {
                format!("declare it in the `outputs` of step `{step}` (Name, Selector, Type)")
            } else {
                format!("its outputs are: {}", outs.join(", "))
            };
            self.push(
                Diagnostic::error(
                    code::UNKNOWN_REFERENCE,
                    format!("step `{step}` has no output `{output}`"),
                )
                .at(span)
                .hint(hint),
            );
            return;
        }
        let Some(i) = at else { return };
        let is_loop_var = matches!(s.action, Action::Loop(_))
            && matches!(output, "CurrentIteration" | "CurrentIteratorValue");
        // Loop variables are visible inside the loop (and in its own condition).
        if is_loop_var && (target == i || self.ancestors(i).contains(&target)) {
            return;
        }
        // A loop's condition may read the outputs of the steps inside it.
        if self.ancestors(target).contains(&i) {
            return;
        }
        if target == i {
            self.push(
                Diagnostic::error(
                    code::SELF_REFERENCE,
                    format!("step `{step}` refers to its own output `{{{{ {name} }}}}`"),
                )
                .at(span)
                .hint("a step's outputs exist only after it has run; use a later step"),
            );
            return;
        }
        let after = self
            .after_cache
            .entry(target)
            .or_insert_with(|| self.graph.after(target));
        if !after[i] {
            self.push(
                Diagnostic::error(
                    code::FORWARD_REFERENCE,
                    format!(
                        "`{{{{ {name} }}}}` is used by step `{}`, but step `{step}` cannot have run before it",
                        here.unwrap_or_default()
                    ),
                )
                .at(span)
                .hint(format!("move step `{step}` earlier, or take the value from a step that runs first")),
            );
        }
    }

    fn ancestors(&self, mut i: usize) -> Vec<usize> {
        let mut out = Vec::new();
        while let Some(p) = self.graph.parent[i] {
            out.push(p);
            i = p;
        }
        out
    }

    // ---- parameters and document-level references ---------------------------------------

    fn parameters(&mut self, root: &Node) {
        let pnodes = root.get("parameters");
        let mut deps: HashMap<String, Vec<String>> = HashMap::new();
        for p in &self.doc.parameters {
            let node = pnodes.and_then(|n| n.get(&p.name));
            let field = |k: &str| node.and_then(|n| n.get(k));
            let at = |k: &str| field(k).map_or(p.span, |n| n.span);
            let pattern = p.allowed_pattern.as_ref().and_then(|pat| {
                match fancy_regex::RegexBuilder::new(pat).backtrack_limit(100_000).build() {
                    Ok(re) => Some(re),
                    Err(e) => {
                        self.diags.push(
                            Diagnostic::error(code::PATTERN, format!("allowedPattern of parameter `{}` is not a valid regular expression: {e}", p.name))
                                .at(at("allowedPattern")),
                        );
                        None
                    }
                }
            });
            if let Some(default) = &p.default {
                let refs = default_refs(default);
                if !refs.is_empty() {
                    deps.insert(p.name.clone(), refs);
                }
                if !has_references(default) {
                    self.check_value(p.ty, default, &p.name, "default", at("default"));
                    if let (Some(re), Value::String(s)) = (&pattern, default)
                        && re.is_match(s).ok() == Some(false)
                    {
                        self.diags.push(
                            Diagnostic::warning(
                                code::PATTERN,
                                format!("the default of parameter `{}` does not match its allowedPattern", p.name),
                            )
                            .at(at("default"))
                            .hint("a run that keeps the default will be rejected; fix the default or the pattern"),
                        );
                    }
                    if let Some(allowed) = &p.allowed_values
                        && !allowed.contains(default)
                    {
                        self.diags.push(
                            Diagnostic::error(
                                code::TYPE_MISMATCH,
                                format!(
                                    "the default of parameter `{}` is not one of its allowedValues",
                                    p.name
                                ),
                            )
                            .at(at("default")),
                        );
                    }
                    self.check_items(p, default, at("default"));
                }
            }
            if let Some(allowed) = &p.allowed_values {
                let items = field("allowedValues").and_then(Node::as_seq).unwrap_or(&[]);
                for (k, v) in allowed.iter().enumerate() {
                    let span = items.get(k).map_or(at("allowedValues"), |n| n.span);
                    self.check_value(p.ty, v, &p.name, "allowed value", span);
                }
            }
            if (p.min_items.is_some() || p.max_items.is_some())
                && !matches!(p.ty, ParamType::StringList | ParamType::MapList)
            {
                let span = field("minItems")
                    .or(field("maxItems"))
                    .map_or(p.span, |n| n.span);
                self.diags.push(
                    Diagnostic::error(
                        code::SCHEMA,
                        format!("minItems/maxItems apply to StringList and MapList, not {} (parameter `{}`)", p.ty.name(), p.name),
                    )
                    .at(span),
                );
            }
            if let Some(d) = field("default") {
                self.templates_in(d, None);
            }
        }
        self.default_cycles(&deps, pnodes);
    }

    fn check_items(&mut self, p: &super::model::Parameter, v: &Value, span: Span) {
        let Some(len) = v.as_array().map(Vec::len) else {
            return;
        };
        let len = len as u64;
        if p.min_items.is_some_and(|m| len < m) || p.max_items.is_some_and(|m| len > m) {
            self.diags.push(
                Diagnostic::error(
                    code::TYPE_MISMATCH,
                    format!(
                        "the default of parameter `{}` has {len} items, outside minItems/maxItems",
                        p.name
                    ),
                )
                .at(span),
            );
        }
    }

    fn check_value(&mut self, ty: ParamType, v: &Value, param: &str, what: &str, span: Span) {
        if !ty.admits(v) {
            self.diags.push(
                Diagnostic::error(
                    code::TYPE_MISMATCH,
                    format!(
                        "the {what} of parameter `{param}` is {}, but the parameter is a {}",
                        json_kind(v),
                        ty.name()
                    ),
                )
                .at(span)
                .hint(match ty {
                    ParamType::String => "quote it to make it a string".to_string(),
                    _ => format!("give a {} value", ty.name()),
                }),
            );
        }
    }

    /// Parameter defaults that refer to parameters must not refer (transitively) to themselves.
    fn default_cycles(&mut self, deps: &HashMap<String, Vec<String>>, pnodes: Option<&Node>) {
        let mut reported: HashSet<String> = HashSet::new();
        let mut names: Vec<&String> = deps.keys().collect();
        names.sort();
        for start in names {
            // Walk the dependency chain depth-first, looking for a path back to `start`.
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            let mut seen: HashSet<String> = HashSet::new();
            while let Some((cur, path)) = stack.pop() {
                for next in deps.get(&cur).into_iter().flatten() {
                    if next == start {
                        if reported.insert(start.clone()) {
                            let mut chain = path.clone();
                            chain.push(start.clone());
                            let span = pnodes
                                .and_then(|n| n.get(start))
                                .and_then(|n| n.get("default"))
                                .map_or(Span::default(), |n| n.span);
                            let msg = if path.len() == 1 {
                                format!("the default of parameter `{start}` refers to itself")
                            } else {
                                format!(
                                    "parameter defaults refer to each other: {}",
                                    chain.join(" → ")
                                )
                            };
                            self.diags.push(
                                Diagnostic::error(code::SELF_REFERENCE, msg)
                                    .at(span)
                                    .hint("give one of them a literal default"),
                            );
                        }
                    } else if seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
    }

    fn document_refs(&mut self, root: &Node) {
        if let Some(n) = root.get("assumeRole")
            && let Some(s) = n.as_str()
        {
            self.template(s, n.span, None);
        }
        let items = root.get("outputs").and_then(Node::as_seq).unwrap_or(&[]);
        for n in items {
            let Some(s) = n.as_str() else { continue };
            match s.split_once('.') {
                Some((step, output)) if !step.is_empty() && !output.is_empty() => {
                    let name = s.to_string();
                    self.step_reference(&name, step, output, n.span, None, None);
                }
                _ => self.push(
                    Diagnostic::error(
                        code::SCHEMA,
                        format!("runbook output `{s}` is not `Step.Output`"),
                    )
                    .at(n.span)
                    .hint("list step outputs as `StepName.OutputName` (no braces)"),
                ),
            }
        }
    }
}

fn missing_input(step: &Step, input: &str, at: Span) -> Diagnostic {
    Diagnostic::error(
        code::MISSING_FIELD,
        format!(
            "step `{}` ({}) is missing the required input `{input}`",
            step.name,
            step.action.name()
        ),
    )
    .at(at)
}

/// Does any string in the value hold a `{{ … }}` (its type and pattern are known only at run time)?
fn has_references(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{"),
        Value::Array(a) => a.iter().any(has_references),
        Value::Object(m) => m.values().any(has_references),
        _ => false,
    }
}

/// Parameter names referenced by a default value (only parameter references).
fn default_refs(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                for r in template::references(s).unwrap_or_default() {
                    if let RefKind::Param(p) = template::classify(&r.name) {
                        out.push(p.to_string());
                    }
                }
            }
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    out
}

fn article(json_type: &str) -> String {
    match json_type {
        "integer" | "array" | "object" => format!("an {json_type}"),
        other => format!("a {other}"),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}
