use serde_json::{Value, json as j};

use super::{Edit, fixture, json};
use crate::ingest::generic::{Mapping, Spec};
use crate::ingest::{IngestErrorKind, TriggerStatus};

fn mapping(v: Value) -> Mapping {
    let m: Mapping = serde_json::from_value(v).unwrap();
    m.validate().unwrap_or_else(|e| panic!("{e}"));
    m
}

/// A Grafana-style payload.
fn payload() -> Value {
    j!({
        "title": "[FIRING:1] DiskFull",
        "state": "alerting",
        "ruleId": 42,
        "severity": "3",
        "message": "disk / above 95%",
        "evalMatches": [
            {"metric": "disk", "tags": {"host": "db-1"}, "arn": "arn:aws:ec2:us-east-1:123456789012:instance/i-1"},
            {"metric": "disk", "tags": {"host": "db-2"}, "arn": "arn:aws:ec2:us-east-1:123456789012:instance/i-2"}
        ],
        "time": 1763680078,
        "team": "storage"
    })
}

fn grafana() -> Mapping {
    mapping(j!({
        "name": "grafana",
        "title": "$.title",
        "dedupeKey": "$.ruleId",
        "impact": "$.severity",
        "summary": "$.message",
        "resources": "$.evalMatches[*].arn",
        "status": "$.state",
        "resolvedWhen": ["ok", "no_data"],
        "timestamp": "$.time",
        "labels": {"team": "$.team", "tool": "grafana", "host": "$.evalMatches[0].tags.host"}
    }))
}

#[test]
fn a_mapping_reads_a_payload() {
    let t = grafana().apply(&payload()).unwrap();
    assert_eq!(t.source, "webhook:grafana");
    assert_eq!(t.identity, "42", "numbers are written out");
    assert_eq!(t.title, "[FIRING:1] DiskFull");
    assert_eq!(t.impact, Some(3));
    assert_eq!(t.summary.as_deref(), Some("disk / above 95%"));
    assert_eq!(
        t.resources,
        [
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-2"
        ]
    );
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(t.timestamp.unwrap().to_string(), "2025-11-20T23:07:58Z");
    assert_eq!(t.labels["team"], "storage");
    assert_eq!(t.labels["tool"], "grafana");
    assert_eq!(t.labels["host"], "db-1");
    assert_eq!(t.raw, payload());

    let mut p = payload();
    p["state"] = "OK".into();
    assert_eq!(
        grafana().apply(&p).unwrap().status,
        TriggerStatus::Resolved,
        "ignores ASCII case"
    );
    p["state"] = "no_data".into();
    assert_eq!(grafana().apply(&p).unwrap().status, TriggerStatus::Resolved);
    p.as_object_mut().unwrap().remove("state");
    assert_eq!(grafana().apply(&p).unwrap().status, TriggerStatus::Firing);
}

#[test]
fn a_mapping_reads_a_real_alertmanager_payload() {
    let m = mapping(j!({
        "name": "am-generic",
        "title": "$.commonLabels.alertname",
        "dedupeKey": "$.groupKey",
        "impact": 2,
        "resources": "$.alerts[*].labels.instance",
        "status": "$.status",
        "resolvedWhen": "resolved",
        "timestamp": "$.alerts[0].startsAt"
    }));
    let t = m
        .apply(&json(fixture!("alertmanager-v4-firing-group.json")))
        .unwrap();
    assert_eq!(t.title, "HighErrorRate");
    assert_eq!(t.impact, Some(2));
    assert_eq!(t.resources, ["checkout-2b1c:8080", "checkout-7d9f:8080"]);
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(
        t.timestamp.unwrap().to_string(),
        "2026-11-20T23:27:58.400222584Z"
    );
    let t = m
        .apply(&json(fixture!("alertmanager-v4-resolved-group.json")))
        .unwrap();
    assert_eq!(t.status, TriggerStatus::Resolved);
}

#[test]
fn literals_and_specs() {
    assert_eq!(Spec::from("$.a"), Spec::Path("$.a".into()));
    assert_eq!(Spec::from("plain"), Spec::Literal("plain".into()));
    assert_eq!(
        Spec::from(j!({"literal": "$5 off"})),
        Spec::Literal("$5 off".into())
    );
    let m = mapping(j!({
        "name": "lit",
        "title": {"literal": "$ spent"},
        "dedupeKey": "billing",
        "resources": ["arn:aws:s3:::a", "arn:aws:s3:::b"]
    }));
    let t = m.apply(&j!({})).unwrap();
    assert_eq!(t.title, "$ spent");
    assert_eq!(t.identity, "billing");
    assert_eq!(t.resources, ["arn:aws:s3:::a", "arn:aws:s3:::b"]);
    assert_eq!(t.impact, None);
    assert_eq!(t.timestamp, None);
    // Serialization gives back what was written.
    let back = serde_json::to_value(&m).unwrap();
    assert_eq!(back["title"], j!({"literal": "$ spent"}));
    assert_eq!(back["dedupeKey"], j!("billing"));
    assert!(back.get("impact").is_none());
}

#[test]
fn timestamps() {
    let m =
        |path: &str| mapping(j!({"name": "t", "title": "x", "dedupeKey": "k", "timestamp": path}));
    let at = |v: Value| {
        m("$.t")
            .apply(&j!({"t": v}))
            .map(|t| t.timestamp.map(|t| t.to_string()))
    };
    assert_eq!(
        at(j!("2026-11-20T18:44:48.619+0000")).unwrap().unwrap(),
        "2026-11-20T18:44:48.619Z"
    );
    assert_eq!(at(j!(1763680078)).unwrap().unwrap(), "2025-11-20T23:07:58Z");
    assert_eq!(
        at(j!(1763680078123_i64)).unwrap().unwrap(),
        "2025-11-20T23:07:58.123Z"
    );
    assert_eq!(at(j!(null)).unwrap(), None);
    assert!(at(j!("soon")).unwrap_err().has_field("$.t"));
    assert!(at(j!(1e300)).unwrap_err().has_field("$.t"));
    assert!(at(j!([1])).unwrap_err().has_field("$.t"));
}

#[test]
fn validate_names_every_bad_field() {
    let m: Mapping = serde_json::from_value(j!({
        "name": "bad name!",
        "title": "$[",
        "dedupeKey": "",
        "impact": 9,
        "summary": 5,
        "resources": 3,
        "status": "firing",
        "timestamp": "2026-01-01",
        "labels": {"x": "$.", "y": {"a": 1}, "": "v"}
    }))
    .unwrap();
    let e = m.validate().unwrap_err();
    assert_eq!(e.kind, IngestErrorKind::Config);
    for f in [
        "name",
        "title",
        "dedupeKey",
        "impact",
        "summary",
        "resources",
        "status",
        "timestamp",
        "labels.x",
        "labels.y",
        "labels",
        "resolvedWhen",
    ] {
        assert!(e.has_field(f), "expected an error on {f}, got {e}");
    }
    assert!(e.to_string().contains("RFC 9535"), "{e}");

    let m: Mapping = serde_json::from_value(j!({
        "name": "n", "title": "t", "dedupeKey": "k", "resolvedWhen": "ok"
    }))
    .unwrap();
    assert!(m.validate().unwrap_err().has_field("status"));
    assert!(m.apply(&j!({})).unwrap_err().has_field("status"));
    let m: Mapping = serde_json::from_value(j!({
        "name": "n", "title": "t", "dedupeKey": "k", "status": "$.s", "resolvedWhen": [[1]]
    }))
    .unwrap();
    assert!(m.validate().unwrap_err().has_field("resolvedWhen"));

    // Unknown and missing fields are serde errors naming them.
    let e = serde_json::from_value::<Mapping>(
        j!({"name": "n", "title": "t", "dedupeKey": "k", "titel": "x"}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("titel"), "{e}");
    let e = serde_json::from_value::<Mapping>(j!({"name": "n", "title": "t"})).unwrap_err();
    assert!(e.to_string().contains("dedupeKey"), "{e}");
}

#[test]
fn apply_bad_payloads_name_the_path() {
    let m = grafana();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "$.title",
            Box::new(|p| drop(p.as_object_mut().unwrap().remove("title"))),
        ),
        ("$.title", Box::new(|p| p["title"] = j!("  "))),
        ("$.title", Box::new(|p| p["title"] = j!({"a": 1}))),
        ("$.ruleId", Box::new(|p| p["ruleId"] = j!(null))),
        ("$.ruleId", Box::new(|p| p["ruleId"] = j!([1]))),
        ("$.severity", Box::new(|p| p["severity"] = j!("7"))),
        ("$.severity", Box::new(|p| p["severity"] = j!("high"))),
        ("$.severity", Box::new(|p| p["severity"] = j!(2.5))),
        (
            "$.evalMatches[*].arn",
            Box::new(|p| p["evalMatches"][1]["arn"] = j!(7)),
        ),
        ("$.time", Box::new(|p| p["time"] = j!(true))),
        ("$.team", Box::new(|p| p["team"] = j!(["a"]))),
    ];
    for (path, f) in cases {
        let mut p = payload();
        f(&mut p);
        let e = m.apply(&p).unwrap_err();
        assert!(e.has_field(path), "expected an error on {path}, got {e}");
        assert_eq!(e.kind, IngestErrorKind::Malformed, "{e}");
    }
    // Not an object at all: paths select nothing, so the required title is missing.
    for p in [j!(null), j!(5), j!("s"), j!([])] {
        assert!(m.apply(&p).unwrap_err().has_field("$.title"));
    }
    // Optional fields selecting nothing are simply unset.
    let t = m.apply(&j!({"title": "t", "ruleId": "r"})).unwrap();
    assert_eq!((t.impact, t.summary, t.timestamp), (None, None, None));
    assert!(t.resources.is_empty() && t.labels.len() == 1);
}
