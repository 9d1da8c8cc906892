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
    assert!(text.contains("hooks") && text.contains("http https://hooks.example.com"), "{text}");

    let out = tocsin(&["plugin", "list", "--config", ".", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"].as_array().unwrap().len(), 2);
    assert!(!dir.path().join("tocsin-data").exists(), "listing plugins writes no data directory");
}

#[test]
fn plugin_describe_prints_actions_schemas_and_requests() {
    let dir = tempfile::tempdir().unwrap();
    let out = tocsin(&["plugin", "describe", "webhook", "--format", "json"], dir.path());
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
    let out = tocsin(&["plugin", "invoke", "console", "notify", "--input", r#"{"message":"hello from the CLI"}"#], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delivered"], true);

    let out = tocsin(&["plugin", "invoke", "console", "notify", "--input", r#"{"msg":"typo"}"#], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("invalid-input") && stderr(&out).contains("message"), "{}", stderr(&out));

    // An ad-hoc instance of the testbed .wasm with a TCP grant from the flags.
    let out = tocsin(
        &["plugin", "invoke", tocsin::plugin::builtin::TESTBED_PATH, "http-get", "--input", r#"{"target":"http://example.invalid/"}"#],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("denied") && stderr(&out).contains("allow.http"), "{}", stderr(&out));
}

#[test]
fn a_bad_plugin_document_is_an_error_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), "kind: Plugin\nname: x\nplugin: console\nlimits: {memory_mb: 99999}\n").unwrap();
    let out = tocsin(&["plugin", "list", "--config", "."], dir.path());
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.yaml") && err.contains("limits.memory_mb"), "{err}");
}
