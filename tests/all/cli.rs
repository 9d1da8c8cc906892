//! The `tocsin plugin …` and `tocsin validate` commands, run as a user runs them.

use std::process::{Command, Output};

use crate::helpers::*;

fn tocsin(args: &[&str], dir: &std::path::Path) -> Output {
    Command::new(tocsin_bin())
        .args(args)
        .current_dir(dir)
        .env("TOCSIN_LOG", "warn")
        .output()
        .expect("run tocsin")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn plugin_list_shows_the_default_console_instance_and_configured_ones() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("plugins.yaml"),
        "kind: Plugin\nname: hooks\nplugin: webhook\nallow: {http: ['https://hooks.example.com']}\nlimits: {timeout_ms: 2000}\n",
    )
    .unwrap();
    let out = tocsin(&["plugin", "list", "--config", "."], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("console"), "{text}");
    assert!(
        text.contains("hooks") && text.contains("http https://hooks.example.com"),
        "{text}"
    );

    let out = tocsin(
        &["plugin", "list", "--config", ".", "--format", "json"],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"].as_array().unwrap().len(), 2);
    assert!(
        !dir.path().join("tocsin-data").exists(),
        "listing plugins writes no data directory"
    );
}

#[test]
fn plugin_describe_prints_actions_schemas_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let out = tocsin(
        &["plugin", "describe", "webhook", "--format", "json"],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["name"], "webhook");
    assert_eq!(m["actions"][0]["name"], "call");
    assert!(m["actions"][0]["input_schema"]["properties"]["url"].is_object());
    assert_eq!(m["requests"]["http"][0], "*");

    let out = tocsin(&["plugin", "describe", "console"], dir.path());
    assert!(stdout(&out).contains("action notify"), "{}", stdout(&out));
}

#[test]
fn plugin_invoke_runs_an_action_and_reports_errors_with_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = tocsin(
        &[
            "plugin",
            "invoke",
            "console",
            "notify",
            "--input",
            r#"{"message":"hello from the CLI"}"#,
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delivered"], true);

    let out = tocsin(
        &[
            "plugin",
            "invoke",
            "console",
            "notify",
            "--input",
            r#"{"msg":"typo"}"#,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("invalid-input") && stderr(&out).contains("message"),
        "{}",
        stderr(&out)
    );

    // An ad-hoc instance of the testbed .wasm with a TCP grant from the flags.
    let out = tocsin(
        &[
            "plugin",
            "invoke",
            tocsin::plugin::builtin::TESTBED_PATH,
            "http-get",
            "--input",
            r#"{"target":"http://example.invalid/"}"#,
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("denied") && stderr(&out).contains("allow.http"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_plugin_document_is_an_error_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "kind: Plugin\nname: x\nplugin: console\nlimits: {memory_mb: 99999}\n",
    )
    .unwrap();
    let out = tocsin(&["plugin", "list", "--config", "."], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("bad.yaml") && err.contains("limits.memory_mb"),
        "{err}"
    );
}

#[test]
fn validate_reports_located_diagnostics_and_fails_on_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "schemaVersion: '0.3'\nmainSteps:\n  - name: first\n    action: aws:sleep\n    inputs:\n      Duration: PT1S\n    nextStep: nowhere\n",
    )
    .unwrap();
    let out = tocsin(&["validate", "bad.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("bad.yaml:7:"),
        "file:line:column of the nextStep: {text}"
    );
    assert!(text.contains("nowhere"), "{text}");

    let out = tocsin(&["validate", "--format", "json", "bad.yaml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert!(v.to_string().contains("nowhere"), "{v}");

    // The example runbooks in the repository are clean, with the plugin instances they ship.
    let runbooks = workspace().join("runbooks");
    let runbooks = runbooks.to_str().unwrap();
    let out = tocsin(&["validate", runbooks, "--config", runbooks], dir.path());
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn validate_checks_plugin_actions_against_configured_instances() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf")).unwrap();
    std::fs::write(
        dir.path().join("rb.yaml"),
        "schemaVersion: '0.3'\nmainSteps:\n  - name: tell\n    action: console:notify\n    inputs:\n      message: hello\n  - name: page\n    action: sms:send\n    inputs:\n      to: '+15550100'\n",
    )
    .unwrap();
    let out = tocsin(&["validate", "rb.yaml", "--config", "conf"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("sms:send"),
        "the unknown instance is reported: {text}"
    );
    assert!(
        !text.contains("console:notify") || !text.contains("unknown action `console:notify`"),
        "{text}"
    );
}
