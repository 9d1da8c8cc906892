//! Tests of the `pagerduty` plugin against a recording stand-in for PagerDuty that checks the
//! documented request contract (Events API v2, REST API v2) and answers as PagerDuty documents:
//! 202 `{status, message, dedup_key}` for events, 400 `{status: "invalid event", errors}`, 429
//! with Retry-After, REST objects wrapped in `{incident}`, `{note}`, `{notes}`, `{incidents}`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tocsin::plugin::{CallContext, InstanceSpec, InvokeError, PluginHost, PluginSource};

use crate::helpers::*;

const ROUTING_KEY: &str = "e93facc04764012d7bfb002500d5d1a6";
const API_TOKEN: &str = "y_NbAkKc66ryYTWUXYEu";
const ARN: &str = "arn:aws:ssm-incidents::111122223333:incident-record/db-plan/6e1a8c3b";

/// What the stand-in knows: notes per incident id, and which incidents are resolved.
#[derive(Default)]
struct PagerDutyState {
    notes: std::collections::BTreeMap<String, usize>,
    resolved: Vec<String>,
}

fn reply(status: u16, body: Value) -> Reply {
    (
        status,
        vec![("content-type", "application/json".into())],
        body.to_string(),
    )
}

/// An error as the REST API documents it.
fn rest_error(status: u16, message: &str, errors: &[&str]) -> Reply {
    reply(
        status,
        json!({"error": {"message": message, "code": 2001, "errors": errors}}),
    )
}

fn incident(id: &str, status: &str) -> Value {
    json!({"id": id, "type": "incident", "incident_number": 1234, "title": "db down", "status": status,
           "incident_key": ARN, "html_url": format!("https://acme.pagerduty.com/incidents/{id}")})
}

/// The Events API: check the documented event object and answer 202, 400 or 429.
fn events_api(req: &Seen) -> Reply {
    assert_eq!(req.method, "POST");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let event: Value = serde_json::from_str(&req.body).expect("a JSON event");
    if event["routing_key"].as_str().map(str::len) != Some(32) {
        return reply(
            400,
            json!({"status": "invalid event", "message": "Event object is invalid",
                   "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)"]}),
        );
    }
    let action = event["event_action"].as_str().unwrap();
    assert!(
        ["trigger", "acknowledge", "resolve"].contains(&action),
        "{event}"
    );
    if action == "trigger" {
        let payload = &event["payload"];
        for field in ["summary", "source", "severity"] {
            assert!(
                payload[field].is_string(),
                "payload.{field} is required: {event}"
            );
        }
        assert!(
            ["critical", "error", "warning", "info"]
                .contains(&payload["severity"].as_str().unwrap())
        );
        if payload["summary"] == "throttle me" {
            return (
                429,
                vec![("retry-after", "30".into())],
                r#"{"status":"throttle event","message":"Requests for this service are arriving too quickly. Please retry later."}"#.into(),
            );
        }
        if payload["summary"] == "server error" {
            return (500, vec![], "Internal Server Error".into());
        }
    } else {
        assert!(
            event.get("payload").is_none(),
            "acknowledge/resolve carry no payload: {event}"
        );
    }
    reply(
        202,
        json!({"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}),
    )
}

/// The REST API: check auth, version, `From` on writes; answer like PagerDuty.
fn rest_api(req: &Seen, state: &Mutex<PagerDutyState>) -> Reply {
    assert_eq!(
        req.header("authorization"),
        Some(&*format!("Token token={API_TOKEN}"))
    );
    assert_eq!(
        req.header("accept"),
        Some("application/vnd.pagerduty+json;version=2")
    );
    if req.method != "GET" {
        assert_eq!(
            req.header("from"),
            Some("oncall@example.com"),
            "writes name the user"
        );
        assert_eq!(req.header("content-type"), Some("application/json"));
    }
    let mut state = state.lock().unwrap();
    let (path, query) = req.uri.split_once('?').unwrap_or((&req.uri, ""));
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (req.method.as_str(), parts.as_slice()) {
        ("GET", ["incidents"]) => {
            let key = url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "incident_key")
                .map(|(_, v)| v.into_owned())
                .expect("looked up by incident_key");
            assert!(query.contains("date_range=all"), "{query}");
            let found: Vec<Value> = match key.as_str() {
                ARN => vec![incident("PT4KHLK", "triggered")],
                "already-resolved" => vec![incident("PRESOLV", "resolved")],
                "full" => vec![incident("PFULL00", "acknowledged")],
                _ => vec![],
            };
            reply(
                200,
                json!({"incidents": found, "limit": 25, "offset": 0, "total": null, "more": false}),
            )
        }
        ("GET", ["incidents", id, "notes"]) => {
            let n = if *id == "PFULL00" {
                2000
            } else {
                *state.notes.get(*id).unwrap_or(&0)
            };
            let notes: Vec<Value> = (0..n)
                .map(|i| json!({"id": format!("PN{i}"), "content": "x", "created_at": "2026-03-01T12:00:00Z"}))
                .collect();
            reply(200, json!({"notes": notes}))
        }
        ("POST", ["incidents", id, "notes"]) => {
            let body: Value = serde_json::from_str(&req.body).unwrap();
            let content = body["note"]["content"].as_str().expect("note.content");
            if content.len() > 25_000 {
                return rest_error(400, "Invalid Input Provided", &["Content is too long"]);
            }
            if content == "rate limited" {
                return (
                    429,
                    vec![("retry-after", "12".into())],
                    r#"{"error":{"message":"Rate Limit Exceeded","code":2020}}"#.into(),
                );
            }
            let n = state.notes.entry((*id).to_owned()).or_default();
            *n += 1;
            reply(
                201,
                json!({"note": {"id": format!("PNOTE{n}"), "content": content, "created_at": "2026-03-01T12:00:00Z",
                                "user": {"id": "PXPGF42", "type": "user_reference"},
                                "channel": {"summary": "The PagerDuty website or APIs"}}}),
            )
        }
        ("PUT", ["incidents", id]) => {
            let body: Value = serde_json::from_str(&req.body).unwrap();
            assert_eq!(body["incident"]["type"], "incident_reference", "{body}");
            assert_eq!(body["incident"]["status"], "resolved", "{body}");
            state.resolved.push((*id).to_owned());
            reply(200, json!({"incident": incident(id, "resolved")}))
        }
        _ => rest_error(404, "Not Found", &[]),
    }
}

/// A stand-in for both APIs (`/v2/enqueue` is the Events API; the rest is REST).
async fn pagerduty() -> (
    std::net::SocketAddr,
    Arc<Mutex<Vec<Seen>>>,
    Arc<Mutex<PagerDutyState>>,
) {
    let state: Arc<Mutex<PagerDutyState>> = Arc::default();
    let s = state.clone();
    let (addr, seen) = recording_peer(move |req| {
        if req.uri == "/v2/enqueue" {
            events_api(req)
        } else {
            rest_api(req, &s)
        }
    })
    .await;
    (addr, seen, state)
}

fn instance(addr: std::net::SocketAddr) -> InstanceSpec {
    let base = format!("http://{addr}");
    let mut s = spec("pd", PluginSource::Builtin("pagerduty".into()));
    s.config = json!({"events_base": base, "api_base": base, "email": "oncall@example.com", "source": "tocsin-prod"});
    s.grant.http = vec![base];
    s.grant.secrets = vec!["PAGERDUTY_ROUTING_KEY".into(), "PAGERDUTY_API_TOKEN".into()];
    s.secret_values = vec![
        ("PAGERDUTY_ROUTING_KEY".into(), ROUTING_KEY.into()),
        ("PAGERDUTY_API_TOKEN".into(), API_TOKEN.into()),
    ];
    s
}

/// A call made for an incident (the engine passes its ARN in the context).
async fn call(host: &PluginHost, action: &str, input: Value) -> Result<Value, InvokeError> {
    host.invoke(
        "pd",
        action,
        &input,
        CallContext {
            invocation_id: "exec-1/Page#1/1".into(),
            incident_arn: Some(ARN.into()),
            attempt: 1,
            ..Default::default()
        },
    )
    .await
}

fn bodies(seen: &Mutex<Vec<Seen>>) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_str(&r.body).unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn trigger_acknowledge_resolve_follow_the_events_api_contract() {
    let (addr, seen, _) = pagerduty().await;
    let host = host_with(vec![instance(addr)]).await;
    let out = call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "db-1 is down", "impact": 2,
               "component": "postgres", "group": "prod-db", "class": "availability",
               "timestamp": "2026-03-01T12:00:00Z",
               "custom_details": {"runbook": "restart-db"},
               "links": [{"href": "https://grafana.example.com/d/db", "text": "Dashboard"}],
               "images": [{"src": "https://grafana.example.com/render/db.png", "alt": "error rate"}],
               "client_url": "https://tocsin.example.com/incidents/6e1a8c3b"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({"status": "success", "message": "Event processed", "dedup_key": ARN})
    );
    call(&host, "event", json!({"event_action": "acknowledge"}))
        .await
        .unwrap();
    call(&host, "event", json!({"event_action": "resolve"}))
        .await
        .unwrap();

    let sent = bodies(&seen);
    assert_eq!(
        sent[0],
        json!({"routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": ARN,
               "payload": {"summary": "db-1 is down", "source": "tocsin-prod", "severity": "error",
                           "timestamp": "2026-03-01T12:00:00Z", "component": "postgres",
                           "group": "prod-db", "class": "availability",
                           "custom_details": {"runbook": "restart-db", "incident_arn": ARN}},
               "client": "Tocsin", "client_url": "https://tocsin.example.com/incidents/6e1a8c3b",
               "links": [{"href": "https://grafana.example.com/d/db", "text": "Dashboard"}],
               "images": [{"src": "https://grafana.example.com/render/db.png", "alt": "error rate"}]})
    );
    // Acknowledge and resolve name the same alert by the incident ARN, with nothing else.
    for (body, action) in sent[1..].iter().zip(["acknowledge", "resolve"]) {
        assert_eq!(
            body,
            &json!({"routing_key": ROUTING_KEY, "event_action": action, "dedup_key": ARN})
        );
    }
}

#[tokio::test]
async fn severity_follows_the_incident_impact_unless_given() {
    let (addr, seen, _) = pagerduty().await;
    let host = host_with(vec![instance(addr)]).await;
    for impact in 1..=5 {
        call(
            &host,
            "event",
            json!({"event_action": "trigger", "summary": "s", "impact": impact}),
        )
        .await
        .unwrap();
    }
    call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "s", "impact": 1, "severity": "info"}),
    )
    .await
    .unwrap();
    let severities: Vec<Value> = bodies(&seen)
        .iter()
        .map(|b| b["payload"]["severity"].clone())
        .collect();
    assert_eq!(
        severities,
        [
            json!("critical"),
            json!("error"),
            json!("warning"),
            json!("info"),
            json!("info"),
            json!("info")
        ]
    );

    // Outside an incident a trigger dedupes on the invocation id (its retries are one alert).
    let out = host
        .invoke(
            "pd",
            "event",
            &json!({"event_action": "trigger", "summary": "s", "severity": "warning"}),
            CallContext {
                invocation_id: "exec-9/Page#1/1".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(out["dedup_key"], "exec-9/Page#1/1");
    // An impact outside 1-5 is refused by the schema; a trigger without severity or summary too.
    let err = call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "s", "impact": 9}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    let err = call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "s"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("severity"), "{err}");
    let err = call(
        &host,
        "event",
        json!({"event_action": "trigger", "impact": 1}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("summary"), "{err}");
    let n = seen.lock().unwrap().len();
    assert_eq!(n, 7, "refused inputs send nothing");
}

#[tokio::test]
async fn provider_errors_keep_pagerdutys_message_and_honour_retry_after() {
    let (addr, _, _) = pagerduty().await;
    let mut wrong_key = instance(addr);
    wrong_key.secret_values[0].1 = "too-short".into();
    let host = host_with(vec![instance(addr)]).await;
    let bad = host_with(vec![wrong_key]).await;

    // 400 invalid event: not retryable, with PagerDuty's own explanation.
    let err = bad
        .invoke(
            "pd",
            "event",
            &json!({"event_action": "trigger", "summary": "s", "impact": 1}),
            CallContext::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string()
            .contains("Length of 'routing_key' is incorrect (should be 32 characters)"),
        "{err}"
    );
    assert!(
        !err.to_string().contains("too-short"),
        "the key is not echoed: {err}"
    );

    // 429 with Retry-After: retryable after the given delay; 500: retryable.
    let err = call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "throttle me", "impact": 3}),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
    assert!(err.to_string().contains("arriving too quickly"), "{err}");
    let err = call(
        &host,
        "event",
        json!({"event_action": "trigger", "summary": "server error", "impact": 3}),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");

    // REST: 400 with PagerDuty's error object, 429 with Retry-After.
    let err = call(
        &host,
        "add_note",
        json!({"incident_id": "PT4KHLK", "content": "x".repeat(30_000), "notes_so_far": 0}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(
        err.to_string().contains("Invalid Input Provided")
            && err.to_string().contains("Content is too long"),
        "{err}"
    );
    let err = call(
        &host,
        "add_note",
        json!({"incident_id": "PT4KHLK", "content": "rate limited", "notes_so_far": 0}),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(12)));
}

#[tokio::test]
async fn timeline_notes_are_added_until_the_cap_of_2000() {
    let (addr, seen, state) = pagerduty().await;
    let host = host_with(vec![instance(addr)]).await;

    // The engine keeps count and names the incident: one POST.
    let out = call(&host, "add_note", json!({"incident_id": "PT4KHLK", "content": "Runbook step Restart succeeded", "notes_so_far": 41}))
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"status": "added", "incident_id": "PT4KHLK", "note_id": "PNOTE1", "notes": 42})
    );
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            (seen.len(), seen[0].method.as_str(), seen[0].uri.as_str()),
            (1, "POST", "/incidents/PT4KHLK/notes")
        );
        assert_eq!(
            serde_json::from_str::<Value>(&seen[0].body).unwrap(),
            json!({"note": {"content": "Runbook step Restart succeeded"}})
        );
    }

    // Without an id or a count: the incident is found by the ARN (its incident key) and its
    // notes are counted first.
    let out = call(&host, "add_note", json!({"content": "Engaged alice"}))
        .await
        .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["notes"].as_u64()),
        (Some("added"), Some(2)),
        "{out}"
    );
    let uris: Vec<String> = seen.lock().unwrap()[1..]
        .iter()
        .map(|r| format!("{} {}", r.method, r.uri))
        .collect();
    assert_eq!(uris.len(), 3, "{uris:?}");
    assert!(
        uris[0].starts_with("GET /incidents?incident_key=arn%3Aaws%3Assm-incidents"),
        "{uris:?}"
    );
    assert_eq!(
        uris[1..],
        [
            "GET /incidents/PT4KHLK/notes",
            "POST /incidents/PT4KHLK/notes"
        ]
    );

    // At the cap nothing is posted, and the call still succeeds: the timeline goes on.
    let before = seen.lock().unwrap().len();
    let out = call(
        &host,
        "add_note",
        json!({"incident_id": "PT4KHLK", "content": "one too many", "notes_so_far": 2000}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], "skipped", "{out}");
    assert!(out["detail"].as_str().unwrap().contains("2000"), "{out}");
    let out = call(
        &host,
        "add_note",
        json!({"dedup_key": "full", "content": "counted by the plugin"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["status"].as_str(), out["incident_id"].as_str()),
        (Some("skipped"), Some("PFULL00")),
        "{out}"
    );
    assert!(
        seen.lock().unwrap()[before..]
            .iter()
            .all(|r| r.method == "GET"),
        "no note was posted past the cap"
    );
    assert_eq!(state.lock().unwrap().notes.get("PFULL00"), None);

    // An incident key PagerDuty does not know (yet: events are processed asynchronously).
    let err = call(
        &host,
        "add_note",
        json!({"dedup_key": "not-yet", "content": "x"}),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("not-yet"), "{err}");
}

#[tokio::test]
async fn incidents_are_resolved_through_the_rest_api() {
    let (addr, seen, state) = pagerduty().await;
    let host = host_with(vec![instance(addr)]).await;
    let out = call(
        &host,
        "resolve_incident",
        json!({"resolution": "Restarted db-1; error rate back to normal"}),
    )
    .await
    .unwrap();
    assert_eq!(
        out,
        json!({"incident_id": "PT4KHLK", "status": "resolved", "html_url": "https://acme.pagerduty.com/incidents/PT4KHLK", "changed": true})
    );
    let put = seen.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        (put.method.as_str(), put.uri.as_str()),
        ("PUT", "/incidents/PT4KHLK")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&put.body).unwrap(),
        json!({"incident": {"type": "incident_reference", "status": "resolved", "resolution": "Restarted db-1; error rate back to normal"}})
    );
    // By id, directly; and an incident that is already resolved is left alone.
    call(&host, "resolve_incident", json!({"incident_id": "PABC123"}))
        .await
        .unwrap();
    let out = call(
        &host,
        "resolve_incident",
        json!({"dedup_key": "already-resolved"}),
    )
    .await
    .unwrap();
    assert_eq!(
        (out["changed"].as_bool(), out["incident_id"].as_str()),
        (Some(false), Some("PRESOLV"))
    );
    assert_eq!(state.lock().unwrap().resolved, ["PT4KHLK", "PABC123"]);
}

#[tokio::test]
async fn missing_grants_secrets_and_email_fail_cleanly_naming_what_to_add() {
    let (addr, seen, _) = pagerduty().await;
    let mut ungranted = instance(addr);
    ungranted.grant.http = vec!["https://events.pagerduty.com".into()];
    let mut no_secrets = instance(addr);
    no_secrets.name = "nosecrets".into();
    no_secrets.grant.secrets.clear();
    no_secrets.secret_values.clear();
    let mut no_email = instance(addr);
    no_email.name = "noemail".into();
    no_email.config =
        json!({"events_base": format!("http://{addr}"), "api_base": format!("http://{addr}")});
    let host = host_with(vec![ungranted, no_secrets, no_email]).await;

    let err = call(&host, "event", json!({"event_action": "resolve"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        message.contains(&format!("http://{addr}")) && message.contains("allow.http"),
        "{message}"
    );

    let ctx = || CallContext {
        incident_arn: Some(ARN.into()),
        ..Default::default()
    };
    let err = host
        .invoke(
            "nosecrets",
            "event",
            &json!({"event_action": "resolve"}),
            ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "denied", "{err}");
    assert!(err.to_string().contains("PAGERDUTY_ROUTING_KEY"), "{err}");
    let err = host
        .invoke(
            "nosecrets",
            "add_note",
            &json!({"incident_id": "P1", "content": "x", "notes_so_far": 0}),
            ctx(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PAGERDUTY_API_TOKEN"), "{err}");

    let err = host
        .invoke(
            "noemail",
            "add_note",
            &json!({"incident_id": "P1", "content": "x", "notes_so_far": 0}),
            ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(err.to_string().contains("`email`"), "{err}");
    assert!(seen.lock().unwrap().is_empty(), "nothing reached PagerDuty");
}
