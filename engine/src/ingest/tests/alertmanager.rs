use super::{Edit, fixture, json};
use crate::ingest::alertmanager::{self, parse};
use crate::ingest::{IngestErrorKind, TriggerStatus};

const FIRING: &[u8] = fixture!("alertmanager-v4-firing-group.json");
const RESOLVED: &[u8] = fixture!("alertmanager-v4-resolved-group.json");
const GROUP_KEY: &str = "{}:{alertname=\"HighErrorRate\", service=\"checkout\"}";

fn with(body: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v = json(body);
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn firing_group_fixture() {
    let t = parse(FIRING).unwrap();
    assert_eq!(t.source, "alertmanager");
    assert_eq!(t.identity, GROUP_KEY);
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(t.title, "5xx rate above 5% on checkout");
    assert_eq!(t.summary, None);
    assert_eq!(t.impact, None);
    assert_eq!(t.resources, ["checkout-2b1c:8080", "checkout-7d9f:8080"]);
    assert_eq!(t.resource_arn, None);
    assert_eq!(t.labels["alertname"], "HighErrorRate");
    assert_eq!(t.labels["severity"], "critical");
    assert_eq!(t.labels.len(), 3);
    assert_eq!(
        t.timestamp.unwrap().to_string(),
        "2026-11-20T23:27:58.400222584Z"
    );
    assert_eq!(t.raw, json(FIRING));
    assert_eq!(t.alerts.len(), 2);
    let a = &t.alerts[0];
    assert_eq!(a.status, TriggerStatus::Firing);
    assert_eq!(a.ends_at, None, "0001-01-01T00:00:00Z means still firing");
    assert_eq!(a.fingerprint.as_deref(), Some("6c2d91d028909ef5"));
    assert_eq!(a.resources, ["checkout-2b1c:8080"]);
    assert_eq!(
        a.annotations["runbook_url"],
        "https://runbooks.example/checkout-5xx"
    );
}

#[test]
fn resolved_group_fixture() {
    let t = parse(RESOLVED).unwrap();
    assert_eq!(t.identity, GROUP_KEY, "same identity as the firing group");
    assert_eq!(t.status, TriggerStatus::Resolved);
    assert_eq!(t.timestamp.unwrap().to_string(), "2026-11-20T23:28:00Z");
    for a in &t.alerts {
        assert_eq!(a.status, TriggerStatus::Resolved);
        assert_eq!(a.ends_at.unwrap().to_string(), "2026-11-20T23:28:00Z");
    }
}

#[test]
fn title_falls_back_to_alertname_and_summary_to_description() {
    let body = with(FIRING, |v| {
        v["commonAnnotations"] = serde_json::json!({"description": "checkout is failing"});
    });
    let t = parse(&body).unwrap();
    assert_eq!(t.title, "HighErrorRate");
    assert_eq!(t.summary.as_deref(), Some("checkout is failing"));
}

#[test]
fn impact_label_and_arn_labels() {
    let body = with(FIRING, |v| {
        v["commonLabels"]["impact"] = "2".into();
        v["alerts"][0]["labels"]["queue"] = "arn:aws:sqs:us-east-1:123456789012:orders".into();
    });
    let t = parse(&body).unwrap();
    assert_eq!(t.impact, Some(2));
    assert_eq!(
        t.resources,
        [
            "checkout-2b1c:8080",
            "arn:aws:sqs:us-east-1:123456789012:orders",
            "checkout-7d9f:8080"
        ]
    );
    let body = with(FIRING, |v| v["commonLabels"]["impact"] = "high".into());
    assert_eq!(
        parse(&body).unwrap().impact,
        None,
        "an impact label that is not 1..5 is ignored"
    );
}

#[test]
fn mixed_group_reports_each_alert() {
    let body = with(FIRING, |v| {
        v["alerts"][1]["status"] = "resolved".into();
        v["alerts"][1]["endsAt"] = "2026-11-20T23:28:00Z".into();
    });
    let t = parse(&body).unwrap();
    assert_eq!(t.status, TriggerStatus::Firing);
    assert_eq!(t.alerts[0].status, TriggerStatus::Firing);
    assert_eq!(t.alerts[1].status, TriggerStatus::Resolved);
    assert!(t.alerts[1].ends_at.is_some());
}

#[test]
fn other_versions_are_unsupported() {
    let body = with(FIRING, |v| v["version"] = "3".into());
    let e = parse(&body).unwrap_err();
    assert_eq!(e.kind, IngestErrorKind::Unsupported);
    assert!(e.has_field("version"), "{e}");
    assert!(e.to_string().contains("only \"4\""), "{e}");
    assert_eq!(e.http_status(), 422);

    let body = with(FIRING, |v| v["version"] = 4.into());
    let e = parse(&body).unwrap_err();
    assert_eq!(e.kind, IngestErrorKind::Malformed);
    assert!(
        e.to_string()
            .contains("version: must be the string \"4\" (found number)"),
        "{e}"
    );

    let body = with(FIRING, |v| {
        v.as_object_mut().unwrap().remove("version");
    });
    assert!(parse(&body).unwrap_err().has_field("version"));
}

#[test]
fn bad_input_names_the_field() {
    let cases: Vec<(&str, Edit)> = vec![
        (
            "groupKey",
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("groupKey"))),
        ),
        ("groupKey", Box::new(|v| v["groupKey"] = "".into())),
        ("groupKey", Box::new(|v| v["groupKey"] = 7.into())),
        ("status", Box::new(|v| v["status"] = "pending".into())),
        ("alerts", Box::new(|v| v["alerts"] = serde_json::json!([]))),
        ("alerts", Box::new(|v| v["alerts"] = serde_json::json!({}))),
        ("alerts[1]", Box::new(|v| v["alerts"][1] = "x".into())),
        (
            "alerts[0].status",
            Box::new(|v| v["alerts"][0]["status"] = true.into()),
        ),
        (
            "alerts[0].labels.instance",
            Box::new(|v| v["alerts"][0]["labels"]["instance"] = 1.into()),
        ),
        (
            "alerts[1].startsAt",
            Box::new(|v| v["alerts"][1]["startsAt"] = "yesterday".into()),
        ),
        (
            "alerts[0].endsAt",
            Box::new(|v| v["alerts"][0]["endsAt"] = "2026-13-01T00:00:00Z".into()),
        ),
        (
            "commonLabels",
            Box::new(|v| v["commonLabels"] = serde_json::json!(["a"])),
        ),
        (
            "commonAnnotations.summary",
            Box::new(|v| v["commonAnnotations"]["summary"] = serde_json::json!({})),
        ),
    ];
    for (field, edit) in cases {
        let body = with(FIRING, |v| edit(v));
        let e = parse(&body).unwrap_err();
        assert!(e.has_field(field), "expected an error on {field}, got {e}");
        assert_eq!(e.kind, IngestErrorKind::Malformed, "{e}");
        assert_eq!(e.http_status(), 400);
    }
}

#[test]
fn not_json_or_not_an_object() {
    let e = parse(b"{\"version\": \"4\",").unwrap_err();
    assert!(e.has_field("body"), "{e}");
    assert!(e.to_string().starts_with("body: must be valid JSON"), "{e}");
    let e = parse(b"[1,2]").unwrap_err();
    assert_eq!(e.to_string(), "body: must be an object (found array)");
    assert!(parse(b"").unwrap_err().has_field("body"));
}

#[test]
fn resource_labels_order() {
    let labels = [
        ("pod", "web-1"),
        ("instance", "10.0.0.1:9100"),
        ("job", "node"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(alertmanager::resources(&labels), ["10.0.0.1:9100", "web-1"]);
}
