//! The example runbooks in runbooks/ validate cleanly against the first-party plugins.

use super::super::{PluginActions, validate_paths};
use serde_json::json;
use std::path::{Path, PathBuf};

fn runbooks_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TOCSIN_RUNBOOKS") {
        return PathBuf::from(dir);
    }
    let beside_manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runbooks");
    if beside_manifest.is_dir() {
        return beside_manifest;
    }
    // Compiled from outside the repo (a scratch crate using `#[path]`): walk up from this file.
    Path::new(file!())
        .ancestors()
        .nth(5)
        .map_or(beside_manifest.clone(), |root| root.join("runbooks"))
}

/// The plugin actions the examples use, with the input schemas of the first-party plugins.
fn plugins() -> PluginActions {
    let notify = json!({"type": "object", "properties": {
        "message": {"type": "string"}, "recipient": {"type": "string"},
        "subject": {"type": "string"}, "level": {"type": "string"}},
        "required": ["message"], "additionalProperties": false});
    let call = json!({"type": "object", "properties": {
        "url": {"type": "string"}, "method": {"type": "string"}, "headers": {"type": "object"},
        "body": {"type": "string"}, "json": {}, "timeout_ms": {"type": "integer"}},
        "required": ["url"], "additionalProperties": false});
    let query = json!({"type": "object", "properties": {
        "query": {"type": "string"}, "time": {"type": ["number", "string"]},
        "timeout": {"type": "string"}},
        "required": ["query"], "additionalProperties": false});
    // The ec2 example is checked against the real plugin's schemas by the integration suite
    // (tests/all/plugin_ec2.rs); here only its action names matter.
    let any = json!({"type": "object"});
    [
        ("console:notify", notify),
        ("prometheus:query", query),
        ("ops:call", call),
        ("ec2:describe", any.clone()),
        ("ec2:reboot", any.clone()),
        ("ec2:stop", any.clone()),
        ("ec2:start", any.clone()),
        ("ec2:wait", any),
    ]
    .into_iter()
    .collect()
}

#[test]
fn example_runbooks_are_clean() {
    let dir = runbooks_dir();
    let yaml: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let runbooks: Vec<PathBuf> = yaml
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| t.contains("schemaVersion")))
        .collect();
    assert!(
        runbooks.len() >= 2,
        "expected example runbooks in {}",
        dir.display()
    );
    let report = validate_paths(&runbooks, &plugins());
    assert_eq!(report.diagnostics().count(), 0, "{}", report.render_human());
}
