//! One case per diagnostic the validator produces.

use super::super::{PluginActions, Severity, code, validate_paths, validate_source};
use super::{check, codes};
use serde_json::json;

const HEAD: &str = "schemaVersion: '0.3'\n";

fn doc(body: &str) -> String {
    format!("{HEAD}{body}")
}

fn has(yaml: &str, code: &str) -> bool {
    codes(&check(yaml)).contains(&code)
}

#[test]
fn a_clean_runbook_has_no_diagnostics() {
    let r = check(&doc(
        "parameters:\n  Env: { type: String, default: prod, allowedValues: [prod, dev] }\nmainSteps:\n  - name: Wait\n    action: aws:sleep\n    inputs: { Duration: PT1M }\n  - name: Ask\n    action: aws:approve\n    inputs: { Approvers: [alice], Message: 'ok {{ Env }}?' }\n",
    ));
    assert_eq!(r.diagnostics().count(), 0, "{}", r.render_human());
    assert!(!r.has_errors());
}

#[test]
fn unknown_and_unsupported_actions() {
    let y = doc(
        "mainSteps:\n  - { name: A, action: 'pager:page' }\n  - { name: B, action: 'aws:sleeep', inputs: {Duration: PT1S} }\n  - { name: C, action: 'aws:executeScript', inputs: {} }\n  - { name: D, action: nonsense }\n",
    );
    let r = check(&y);
    let c = codes(&r);
    assert_eq!(
        c.iter().filter(|c| **c == code::UNKNOWN_ACTION).count(),
        3,
        "{c:?}"
    );
    assert!(c.contains(&code::UNSUPPORTED_ACTION));
    let text = r.render_human();
    assert!(text.contains("did you mean `aws:sleep`?"), "{text}");
    assert!(
        text.contains("configure a plugin instance named `pager`"),
        "{text}"
    );
    assert!(text.contains("step `C` uses `aws:executeScript`"), "{text}");
    assert!(text.contains("test.yaml:5:"), "{text}");
}

#[test]
fn a_plugin_can_provide_an_aws_action() {
    let y = doc(
        "mainSteps:\n  - { name: C, action: 'aws:executeAwsApi', inputs: { Service: ec2, Api: DescribeInstances } }\n",
    );
    let mut reg = PluginActions::new();
    reg.insert("aws:executeAwsApi", serde_json::Value::Null);
    let r = validate_source("t.yaml", y.as_bytes(), &reg);
    assert!(!r.has_errors(), "{}", r.render_human());
}

#[test]
fn plugin_inputs_are_checked_against_the_schema() {
    let y = doc(
        "parameters:\n  Ids: { type: StringList }\nmainSteps:\n  - name: S\n    action: sms:send\n    inputs: { To: '{{ Ids }}', Bodyy: hi, Count: 'x' }\n",
    );
    let mut reg = PluginActions::new();
    reg.insert(
        "sms:send",
        json!({"type": "object", "properties": {"To": {"type": "string"}, "Body": {"type": "string"}, "Count": {"type": "integer"}},
               "required": ["To", "Body"], "additionalProperties": false}),
    );
    let r = validate_source("t.yaml", y.as_bytes(), &reg);
    let text = r.render_human();
    let c = codes(&r);
    assert_eq!(
        c.iter().filter(|c| **c == code::TYPE_MISMATCH).count(),
        2,
        "{text}"
    );
    assert!(c.contains(&code::INVALID_INPUT), "{text}");
    assert!(c.contains(&code::MISSING_FIELD), "{text}");
    assert!(text.contains("did you mean `Body`?"), "{text}");
    assert!(text.contains("`{{ Ids }}` is a StringList"), "{text}");
}

#[test]
fn builtin_inputs() {
    assert!(has(
        &doc(
            "mainSteps:\n  - { name: A, action: aws:sleep, inputs: { Duration: PT1S, Timestamp: '2030-01-01T00:00:00Z' } }\n"
        ),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:sleep, inputs: {} }\n"),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:sleep, inputs: { Duration: 10m } }\n"),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:sleep, inputs: { Timestamp: tomorrow } }\n"),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc(
            "mainSteps:\n  - { name: A, action: aws:approve, inputs: { Approvers: [a], MinRequiredApprovals: 2 } }\n"
        ),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:approve, inputs: { Message: hi } }\n"),
        code::MISSING_FIELD
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:pause, inputs: { Foo: 1 } }\n"),
        code::INVALID_INPUT
    ));
    assert!(has(
        &doc(
            "parameters:\n  P: { type: String }\nmainSteps:\n  - { name: A, action: aws:approve, inputs: { Approvers: '{{ P }}' } }\n"
        ),
        code::TYPE_MISMATCH
    ));
    let ignored = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:executeAutomation, inputs: { DocumentName: child, TargetLocations: [] } }\n",
    ));
    assert_eq!(ignored.warning_count(), 1);
    assert!(!ignored.has_errors(), "{}", ignored.render_human());
}

#[test]
fn template_references() {
    let base = "parameters:\n  Name: { type: String }\nmainSteps:\n";
    let step = |inputs: &str| {
        doc(&format!(
            "{base}  - name: First\n    action: x:y\n    outputs: [{{ Name: Out, Selector: $.a, Type: String }}]\n    inputs: {{ V: '{inputs}' }}\n  - name: Second\n    action: x:y\n    outputs: [{{ Name: Out, Selector: $.a, Type: String }}]\n    inputs: {{ V: '{{{{ First.Out }}}}' }}\n"
        ))
    };
    let c = |s: &str| codes(&check(&step(s)));
    assert!(!c("{{ Name }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ Nam }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ Nope.Out }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ First.Nope }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ First.Out }}").contains(&code::SELF_REFERENCE));
    assert!(c("{{ Second.Out }}").contains(&code::FORWARD_REFERENCE));
    assert!(
        c("{{ global:DATE }} {{ automation:EXECUTION_ID }} {{ incident:TITLE }}")
            .iter()
            .all(|x| *x == code::UNKNOWN_ACTION)
    );
    assert!(c("{{ global:NOPE }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ env:HOME }}").contains(&code::UNKNOWN_REFERENCE));
    assert!(c("{{ ssm:/a/b }}").contains(&code::UNSUPPORTED_REFERENCE));
    assert!(c("{{ Name ").contains(&code::TEMPLATE));
    assert!(c("{{ a b }}").contains(&code::TEMPLATE));
    // The span is the reference itself, not the whole string.
    let r = check(&step("x {{ Nam }}"));
    let (f, d) = r
        .diagnostics()
        .find(|(_, d)| d.code == code::UNKNOWN_REFERENCE)
        .unwrap();
    let s = d.span.unwrap();
    assert_eq!(&f.source()[s.start..s.end], "{{ Nam }}");
    assert_eq!(d.hint.as_deref(), Some("did you mean `{{ Name }}`?"));
}

#[test]
fn loop_variables_and_outputs_are_in_scope() {
    let y = doc(
        "mainSteps:\n  - name: L\n    action: aws:loop\n    inputs:\n      LoopCondition: { Variable: '{{ Probe.Ok }}', BooleanEquals: false }\n      MaxIterations: 5\n      Steps:\n        - name: Probe\n          action: x:y\n          inputs: { N: '{{ L.CurrentIteration }}' }\n          outputs: [{ Name: Ok, Selector: $.ok, Type: Boolean }]\n",
    );
    let r = check(&y);
    let c = codes(&r);
    assert_eq!(c, vec![code::UNKNOWN_ACTION], "{}", r.render_human());
}

#[test]
fn targets() {
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:pause, nextStep: Nope }\n"),
        code::UNDEFINED_TARGET
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:pause, onFailure: 'step:Nope' }\n"),
        code::UNDEFINED_TARGET
    ));
    assert!(has(
        &doc("mainSteps:\n  - { name: A, action: aws:pause, onCancel: 'step:Nope' }\n"),
        code::UNDEFINED_TARGET
    ));
    assert!(has(
        &doc(
            "mainSteps:\n  - { name: A, action: aws:branch, inputs: { Choices: [{ NextStep: Nope, Variable: a, StringEquals: a }], Default: Zip } }\n"
        ),
        code::UNDEFINED_TARGET
    ));
    // Jumping into a loop body from outside.
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause, nextStep: In }\n  - name: L\n    action: aws:loop\n    inputs: { Iterators: [a], Steps: [ { name: In, action: aws:pause } ] }\n",
    ));
    assert!(
        r.render_human().contains("inside aws:loop `L`"),
        "{}",
        r.render_human()
    );
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause, nextStep: Bee }\n  - { name: Be, action: aws:pause }\n",
    ));
    assert!(r.render_human().contains("did you mean `Be`?"));
}

#[test]
fn flow_unreachable_and_cycles() {
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause, isEnd: true }\n  - { name: B, action: aws:pause }\n",
    ));
    let (_, d) = r.diagnostics().next().unwrap();
    assert_eq!((d.code, d.severity), (code::UNREACHABLE, Severity::Warning));
    assert!(!r.has_errors());
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause }\n  - { name: B, action: aws:pause, nextStep: A }\n",
    ));
    assert!(codes(&r).contains(&code::CYCLE));
    assert!(r.render_human().contains("A → B → A"));
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause, nextStep: A }\n",
    ));
    assert!(codes(&r).contains(&code::CYCLE));
    // A cycle with a branch exit is fine.
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause }\n  - name: B\n    action: aws:branch\n    inputs: { Choices: [{ NextStep: A, Variable: a, StringEquals: b }], Default: C }\n  - { name: C, action: aws:pause }\n",
    ));
    assert!(!r.has_errors(), "{}", r.render_human());
}

#[test]
fn duplicate_steps() {
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause }\n  - { name: A, action: aws:pause }\n",
    ));
    let (_, d) = r
        .diagnostics()
        .find(|(_, d)| d.code == code::DUPLICATE_STEP)
        .unwrap();
    assert_eq!(
        d.hint.as_deref(),
        Some("first defined at line 3, column 13; step names must be unique")
    );
}

#[test]
fn parameter_types() {
    let p = |body: &str| {
        doc(&format!(
            "parameters:\n{body}mainSteps:\n  - {{ name: A, action: aws:pause }}\n"
        ))
    };
    assert!(has(
        &p("  N: { type: Integer, default: 'ten' }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: Boolean, default: 1 }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: StringList, default: [a, 1] }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: String, default: 5 }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: String, allowedValues: [a, 2] }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: String, default: c, allowedValues: [a, b] }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: String, minItems: 1 }\n"),
        code::SCHEMA
    ));
    assert!(has(
        &p("  N: { type: StringList, maxItems: 1, default: [a, b] }\n"),
        code::TYPE_MISMATCH
    ));
    assert!(has(
        &p("  N: { type: String, allowedPattern: '(' }\n"),
        code::PATTERN
    ));
    assert!(has(
        &p("  N: { type: String, default: ab, allowedPattern: '^(?!a)' }\n"),
        code::PATTERN
    ));
    assert!(
        !check(&p(
            "  N: { type: String, default: ba, allowedPattern: '^(?!a)' }\n"
        ))
        .has_errors()
    );
    assert!(
        !check(&p(
            "  N: { type: MapList, default: [{a: 1}] }\n  M: { type: StringMap, default: {} }\n"
        ))
        .has_errors()
    );
}

#[test]
fn parameter_defaults_referring_to_themselves() {
    let p = |body: &str| {
        doc(&format!(
            "parameters:\n{body}mainSteps:\n  - {{ name: A, action: aws:pause }}\n"
        ))
    };
    let r = check(&p("  A: { type: String, default: 'x{{ A }}' }\n"));
    assert!(
        r.render_human().contains("refers to itself"),
        "{}",
        r.render_human()
    );
    let r = check(&p(
        "  A: { type: String, default: '{{ B }}' }\n  B: { type: String, default: '{{ A }}' }\n",
    ));
    assert!(
        codes(&r).contains(&code::SELF_REFERENCE),
        "{}",
        r.render_human()
    );
    let r = check(&p(
        "  A: { type: String, default: '{{ B }}' }\n  B: { type: String, default: b }\n",
    ));
    assert!(!r.has_errors(), "{}", r.render_human());
}

#[test]
fn document_outputs_and_assume_role() {
    let r = check(&doc(
        "assumeRole: '{{ Role }}'\noutputs: [A.Nope, bare]\nmainSteps:\n  - { name: A, action: aws:pause }\n",
    ));
    let c = codes(&r);
    assert!(c.contains(&code::UNKNOWN_REFERENCE));
    assert!(c.contains(&code::SCHEMA));
    assert_eq!(
        c.iter().filter(|c| **c == code::UNKNOWN_REFERENCE).count(),
        2,
        "{c:?}"
    );
}

#[test]
fn json_report_has_locations() {
    let r = check(&doc(
        "mainSteps:\n  - { name: A, action: aws:pause, nextStep: Nope }\n",
    ));
    let j = r.to_json();
    assert_eq!(j["errors"], 1);
    let d = &j["diagnostics"][0];
    assert_eq!(d["file"], "test.yaml");
    assert_eq!(d["line"], 3);
    assert_eq!(d["column"], 45);
    assert_eq!(d["code"], "runbook::undefined-target");
    assert_eq!(d["severity"], "error");
    assert!(d["excerpt"].as_str().unwrap().contains("nextStep: Nope"));
    assert!(r.render_json().contains("\"diagnostics\""));
}

#[test]
fn json_runbooks_validate() {
    let r = validate_source(
        "r.json",
        br#"{"schemaVersion": "0.3", "mainSteps": [{"name": "A", "action": "aws:pause", "nextStep": "B"}]}"#,
        &PluginActions::new(),
    );
    let (f, d) = r.diagnostics().next().unwrap();
    assert_eq!(d.code, code::UNDEFINED_TARGET);
    assert_eq!(f.line_col(d), Some((1, 89)));
}

#[test]
fn paths_files_and_directories() {
    let dir = std::env::temp_dir().join(format!("tocsin-runbook-paths-{}", std::process::id()));
    let sub = dir.join("nested");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        dir.join("a.yaml"),
        doc("mainSteps:\n  - { name: A, action: aws:pause }\n"),
    )
    .unwrap();
    std::fs::write(
        sub.join("b.yml"),
        doc("mainSteps:\n  - { name: B, action: aws:pause, nextStep: Z }\n"),
    )
    .unwrap();
    std::fs::write(sub.join("c.json"), "{").unwrap();
    std::fs::write(sub.join("notes.txt"), "not a runbook").unwrap();
    let missing = dir.join("missing.yaml");
    let r = validate_paths(&[dir.clone(), missing], &PluginActions::new());
    let files: Vec<String> = r
        .files
        .iter()
        .map(|f| f.path.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    assert_eq!(files, ["a.yaml", "b.yml", "c.json", "missing.yaml"]);
    let c = codes(&r);
    assert_eq!(c, [code::UNDEFINED_TARGET, code::JSON, code::IO]);
    assert!(
        r.render_human()
            .ends_with("3 errors, 0 warnings in 4 files\n")
    );
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    assert_eq!(
        codes(&validate_paths(&[empty], &PluginActions::new())),
        [code::NO_FILES]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
