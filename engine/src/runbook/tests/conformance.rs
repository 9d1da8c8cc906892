//! Every real public SSM runbook in tests/fixtures (copied from shared/fixtures) parses and validates with only precise
//! diagnostics; the full output is snapshotted.

use super::super::{NoPluginActions, Report, code, validate_source};
use std::path::PathBuf;

fn fixtures_dir() -> PathBuf {
    match std::env::var_os("TOCSIN_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/ssm-runbooks"
        )),
    }
}

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = fixtures_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("fixtures at {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
        })
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).unwrap_or_default();
            (name, bytes)
        })
        .collect()
}

fn report() -> Report {
    let mut all = Report::default();
    for (name, bytes) in fixtures() {
        all.extend(validate_source(&name, &bytes, &NoPluginActions));
    }
    all
}

#[test]
fn fixtures_parse_with_only_precise_diagnostics() {
    let files = fixtures();
    assert!(
        files.len() >= 40,
        "expected the shared fixtures, found {}",
        files.len()
    );
    let report = report();
    // Generic failures: the document could not be read as a runbook at all.
    let generic = [
        code::YAML,
        code::JSON,
        code::LIMIT,
        code::ENCODING,
        code::IO,
        code::TOO_LARGE,
        code::UNKNOWN_FIELD,
        code::WRONG_TYPE,
        code::MISSING_FIELD,
        code::SCHEMA_VERSION,
    ];
    for (f, d) in report.diagnostics() {
        assert!(!generic.contains(&d.code), "{}: {:?}", f.path, d);
        assert!(d.span.is_some(), "{}: unlocated {:?}", f.path, d);
        assert!(
            d.hint.is_some() || d.label.is_some(),
            "{}: no hint {:?}",
            f.path,
            d
        );
    }
}

#[test]
fn every_unexecuted_aws_step_is_named() {
    for (name, bytes) in fixtures() {
        let text = String::from_utf8_lossy(&bytes);
        let r = validate_source(&name, &bytes, &NoPluginActions);
        let unsupported = r
            .diagnostics()
            .filter(|(_, d)| d.code == code::UNSUPPORTED_ACTION)
            .count();
        let expected = text
            .lines()
            .filter(|l| {
                let l = l.trim().trim_start_matches("- ");
                l.starts_with("action:")
                    && ["executeScript", "executeAwsApi", "AwsResourceProperty"]
                        .iter()
                        .any(|a| l.contains(a))
            })
            .count();
        assert_eq!(unsupported, expected, "{name}");
    }
}

#[test]
fn snapshot_human() {
    snapshot("ssm_runbooks_human", &report().render_human());
}

#[test]
fn snapshot_json_summary() {
    let r = report();
    let lines: Vec<String> = r
        .diagnostics()
        .map(|(f, d)| {
            let (l, c) = f.line_col(d).unwrap_or((0, 0));
            format!("{}:{l}:{c} {:?} {}", f.path, d.severity, d.code)
        })
        .collect();
    snapshot("ssm_runbooks_locations", &lines.join("\n"));
    let json: serde_json::Value = serde_json::from_str(&r.render_json()).unwrap_or_default();
    assert_eq!(json["errors"].as_u64(), Some(r.error_count() as u64));
}

/// Snapshot names independent of the crate the module is compiled in.
pub(in super::super) fn snapshot(name: &str, value: &str) {
    insta::with_settings!({prepend_module_to_snapshot => false, omit_expression => true}, {
        insta::assert_snapshot!(name, value);
    });
}
