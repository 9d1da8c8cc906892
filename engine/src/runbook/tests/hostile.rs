//! Bad input never panics: each case ends in one clear diagnostic.

use super::super::{
    NoPluginActions, PluginActions, Vars, code, parse_document, render, validate_paths,
    validate_source,
};
use super::{check, codes};
use proptest::prelude::*;
use serde_json::json;

#[test]
fn yaml_alias_bomb() {
    let mut s = String::from(
        "schemaVersion: '0.3'\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let r = check(&s);
    assert_eq!(codes(&r), [code::LIMIT]);
    assert!(
        r.render_human().contains("alias bomb"),
        "{}",
        r.render_human()
    );
    // Bounded work; generous bound so slow CI machines do not flake.
    assert!(start.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn ten_megabyte_document() {
    let big = format!(
        "schemaVersion: '0.3'\ndescription: '{}'\n",
        "x".repeat(10 * 1024 * 1024)
    );
    let r = check(&big);
    assert_eq!(codes(&r), [code::TOO_LARGE]);
    // From disk: not read beyond the limit.
    let path = std::env::temp_dir().join(format!("tocsin-runbook-big-{}.yaml", std::process::id()));
    std::fs::write(&path, &big).unwrap();
    let r = validate_paths(std::slice::from_ref(&path), &NoPluginActions);
    assert_eq!(codes(&r), [code::TOO_LARGE]);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn deep_nesting() {
    for text in [
        format!(
            "schemaVersion: '0.3'\nx: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        ),
        format!("schemaVersion: '0.3'\nx: {}\n", "{a: ".repeat(50_000)),
        (0..500).map(|i| format!("{}k:\n", " ".repeat(i))).collect(),
        (0..500).map(|i| format!("{}-\n", " ".repeat(i))).collect(),
    ] {
        let r = check(&text);
        let c = codes(&r);
        assert_eq!(c.len(), 1, "{c:?}");
        assert!(c[0] == code::LIMIT || c[0] == code::YAML, "{c:?}");
    }
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let r = validate_source("deep.json", json.as_bytes(), &NoPluginActions);
    let c = codes(&r);
    assert!(c == [code::JSON] || c == [code::LIMIT], "{c:?}");
    let text = r.render_human();
    assert!(text.contains("deep.json:1:") && text.len() < 2000, "{text}");
}

#[test]
fn invalid_utf8() {
    let mut bytes = b"schemaVersion: '0.3'\ndescription: caf".to_vec();
    bytes.extend_from_slice(&[0xC3, 0x28, b'\n']);
    let r = validate_source("bad.yaml", &bytes, &NoPluginActions);
    let (f, d) = r.diagnostics().next().unwrap();
    assert_eq!(d.code, code::ENCODING);
    assert_eq!(f.line_col(d), Some((2, 17)));
    assert!(
        r.render_human().contains("bad.yaml:2:17"),
        "{}",
        r.render_human()
    );
}

#[test]
fn templates_referencing_themselves() {
    // A parameter default that refers to itself.
    let r = check(
        "schemaVersion: '0.3'\nparameters:\n  P: { type: String, default: '{{ P }}' }\nmainSteps:\n  - { name: A, action: aws:pause }\n",
    );
    assert_eq!(codes(&r), [code::SELF_REFERENCE]);
    // A step that reads its own output.
    let r = check(
        "schemaVersion: '0.3'\nmainSteps:\n  - name: A\n    action: aws:approve\n    inputs: { Approvers: [a], Message: '{{ A.ApprovalStatus }}' }\n",
    );
    assert_eq!(codes(&r), [code::SELF_REFERENCE]);
    // At run time a value holding a template is substituted, never expanded again.
    let mut vars = Vars::default();
    vars.set_param("P", json!("{{ P }}{{ P }}"));
    assert_eq!(
        render(&json!("{{ P }}"), &vars).unwrap(),
        json!("{{ P }}{{ P }}")
    );
}

#[test]
fn odd_documents() {
    for (text, want) in [
        ("", code::SCHEMA),
        ("# only a comment\n", code::SCHEMA),
        ("just a string", code::WRONG_TYPE),
        ("- a\n- b\n", code::WRONG_TYPE),
        ("schemaVersion: '0.3'\nmainSteps: 3\n", code::WRONG_TYPE),
        ("schemaVersion: '0.3'\nmainSteps: [3]\n", code::WRONG_TYPE),
        ("schemaVersion: '0.3'\nmainSteps: []\n", code::SCHEMA),
        ("schemaVersion: '0.3'\n? [a]\n: b\n", code::YAML),
        ("a: *nope\n", code::YAML),
        ("\t- x: [\n", code::YAML),
    ] {
        let r = check(text);
        assert!(codes(&r).contains(&want), "{text:?}: {:?}", codes(&r));
        let _ = r.render_human();
        let _ = r.render_json();
    }
}

fn yamlish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "schemaVersion: '0.3'\n",
        "mainSteps:\n",
        "  - name: A\n",
        "    action: aws:branch\n",
        "    action: aws:loop\n",
        "    inputs:\n",
        "      Choices:\n",
        "      - NextStep: A\n",
        "        Variable: '{{ A.B }}'\n",
        "        And: [",
        "{",
        "}",
        "[",
        "]",
        ",",
        ": ",
        "&a ",
        "*a ",
        "'{{",
        "}}'",
        "\n",
        "  ",
        "- ",
        "nextStep: A\n",
        "isEnd: true\n",
        "      Steps:\n",
        "        - { name: B, action: aws:pause }\n",
        "\u{feff}",
        "\"\\u0000\"",
        "onFailure: step:A\n",
        "      Iterators: [1,2]\n",
        "parameters: {P: {type: String, default: '{{ P }}'}}\n",
    ]);
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = validate_source("fuzz.yaml", &bytes, &NoPluginActions);
        let _ = r.render_human();
        let _ = r.render_json();
    }

    #[test]
    fn arbitrary_yamlish_never_panics(text in yamlish()) {
        let mut reg = PluginActions::new();
        reg.insert("x:y", json!({"type": "object", "required": ["a"]}));
        let r = validate_source("fuzz.yaml", text.as_bytes(), &reg);
        let _ = r.render_human();
        let _ = validate_source("fuzz.json", text.as_bytes(), &reg);
        let _ = parse_document(&text);
    }
}
