//! Engagements end to end: the real `tocsin serve`, escalation plans and contacts from YAML,
//! pages delivered by the real `webhook` plugin to a local receiver, acknowledgements from every
//! channel, rate limits, and `kill -9` in the middle of an escalation. Real clock with plans of
//! a few seconds; waits poll until a deadline, nothing asserts on elapsed time.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::{Seen, recording_peer, wait_until};
use crate::runbook_exec::Server;

const PEOPLE: &str = r#"
kind: Contact
alias: alice
type: PERSONAL
channels:
  - {name: sms, type: SMS, deliveryAddress: "+15555550101", activationStatus: ACTIVATED}
  - {name: mail, type: EMAIL, deliveryAddress: alice@example.com, activationStatus: ACTIVATED}
engagementPlan:
  stages: [{channel: sms, secondsAfterStart: 0}, {channel: mail, secondsAfterStart: 3}]
---
kind: Contact
alias: bob
type: PERSONAL
channels:
  - {name: mail, type: EMAIL, deliveryAddress: bob@example.com, activationStatus: ACTIVATED}
---
kind: Contact
alias: carol
type: PERSONAL
channels:
  - {name: sms, type: SMS, deliveryAddress: "+15555550103", activationStatus: ACTIVATED}
"#;

fn plan(stage_secs: u32) -> String {
    format!(
        "kind: EscalationPlan\nalias: sre\nstages:\n  - durationSeconds: {stage_secs}\n    targets: [{{contact: alice}}]\n  - durationSeconds: {stage_secs}\n    targets: [{{contact: bob}}]\n"
    )
}

/// A config dir: the webhook instance `hook` delivering every channel type to `receiver`.
fn config(receiver: std::net::SocketAddr, plan: &str, rate_limits: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{receiver}");
    std::fs::write(
        dir.path().join("plugins.yaml"),
        format!(
            "kind: Plugin\nname: hook\nplugin: webhook\nconfig: {{notify_url: '{url}/page'}}\nallow: {{http: ['{url}']}}\n---\nkind: PagingPolicy\nroutes: {{SMS: hook, EMAIL: hook, VOICE: hook}}\nrateLimits: {rate_limits}\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("people.yaml"), PEOPLE).unwrap();
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    dir
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn receiver(rt: &tokio::runtime::Runtime) -> (std::net::SocketAddr, Log) {
    rt.block_on(recording_peer(|_| (200, vec![], "{}".into())))
}

/// The pages the receiver got, in arrival order: (idempotency key, body).
fn pages(log: &Log) -> Vec<(String, Value)> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| {
            let body: Value = serde_json::from_str(&s.body).unwrap();
            (s.header("idempotency-key").unwrap_or("").to_owned(), body)
        })
        .collect()
}

fn page_with_key(log: &Log, suffix: &str) -> Value {
    wait_until(&format!("a page with key *{suffix}"), || {
        pages(log)
            .into_iter()
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, b)| b)
    })
}

fn start(srv: &Server, contact: &str, incident: &str) -> String {
    let (status, v) = srv.post(
        "/v1/engagements",
        json!({"contactId": contact, "sender": "tocsin", "subject": "DB down", "content": "primary is down", "incidentId": incident}),
    );
    assert_eq!(status, 201, "{v}");
    v["engagementId"].as_str().unwrap().to_owned()
}

fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(url)
        .form(form)
        .send()
        .unwrap();
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn kill_9_mid_escalation_loses_no_stage_and_doubles_none() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, log) = receiver(&rt);
    let cfg = config(addr, &plan(5), "{}");
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::start(data.path(), Some(cfg.path()), None);
    let incident = "arn:aws:ssm-incidents::111122223333:incident-record/db/1";
    let (status, first) = srv.post(
        "/v1/engagements",
        json!({"contactId": "sre", "sender": "tocsin", "subject": "DB down", "content": "primary is down", "incidentId": incident, "idempotencyToken": "alert-42"}),
    );
    assert_eq!(status, 201, "{first}");
    let id = first["engagementId"].as_str().unwrap().to_owned();
    // The same idempotency token is the same engagement, and pages nobody twice.
    let (_, again) = srv.post(
        "/v1/engagements",
        json!({"contactId": "sre", "sender": "tocsin", "subject": "DB down", "content": "primary is down", "idempotencyToken": "alert-42"}),
    );
    assert_eq!(again["engagementId"], first["engagementId"]);
    let sms = page_with_key(&log, "-p1/sms#1");
    assert_eq!(sms["recipient"], "+15555550101");
    assert_eq!(sms["accept_code"].as_str().unwrap().len(), 6);

    // Down across alice's e-mail (3 s) and the start of stage 2 (5 s).
    srv.kill9();
    let started: jiff::Timestamp = first["startTime"].as_str().unwrap().parse().unwrap();
    wait_until("both due times to pass while the engine is down", || {
        (jiff::Timestamp::now() > started + jiff::SignedDuration::from_secs(7)).then_some(())
    });
    let srv = Server::start(data.path(), Some(cfg.path()), None);
    page_with_key(&log, "-p2/mail#1");
    page_with_key(&log, "-p1/mail#1");
    let eng = wait_until("the plan to run out", || {
        let e = srv.get(&format!("/v1/engagements/{id}"));
        (e["status"] == "EXHAUSTED").then_some(e)
    });
    assert_eq!(eng["pages"], 2);

    let got = pages(&log);
    let mut order: Vec<&str> = Vec::new();
    for (k, _) in &got {
        if !order.contains(&k.as_str()) {
            order.push(k);
        }
    }
    let want = [
        format!("{id}-p1/sms#1"),
        format!("{id}-p1/mail#1"),
        format!("{id}-p2/mail#1"),
    ];
    // Sent before the kill, then the two that fell due while the engine was down (fired at once
    // on restart, sent concurrently, so their arrival order is not fixed).
    assert_eq!(order[0], want[0]);
    let mut rest: Vec<&str> = order[1..].to_vec();
    rest.sort();
    let mut want_rest = vec![want[1].as_str(), want[2].as_str()];
    want_rest.sort();
    assert_eq!(rest, want_rest, "every page once: none skipped, none extra");
    for key in &want {
        let n = got.iter().filter(|(k, _)| k == key).count();
        // A send in flight at the kill is re-sent once, with the same key (the provider dedupes).
        assert!(n <= 2, "{key} delivered {n} times");
    }
    let timeline = srv.get(&format!("/v1/timeline?incidentId={}", urlencode(incident)));
    let types: Vec<&str> = timeline["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for t in [
        "Engagement started",
        "Page created",
        "Page receipt",
        "Escalation plan exhausted",
    ] {
        assert!(types.contains(&t), "timeline lacks {t:?}: {types:?}");
    }
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
fn every_channel_acknowledges_and_the_first_essential_ack_stops_the_plan() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, log) = receiver(&rt);
    let cfg = config(addr, &plan(30), "{}");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), None);
    let id = start(&srv, "sre", "inc-2");
    let sms = page_with_key(&log, "-p1/sms#1");
    let page1 = format!("{id}-p1");

    // Delivery report from the provider, through the page's signed callback.
    let callback = sms["callback_url"].as_str().unwrap();
    let (st, _) = post_form(
        callback,
        &[("MessageSid", "SM1"), ("MessageStatus", "delivered")],
    );
    assert_eq!(st, 204);
    let receipts = srv.get(&format!("/v1/pages/{page1}/receipts"));
    assert!(
        receipts["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["receiptType"] == "DELIVERED"
                && r["receiptInfo"].as_str().unwrap().contains("SM1"))
    );
    // A forged callback is refused.
    let forged = callback.replace("/page/", "/page/x");
    assert_eq!(post_form(&forged, &[("MessageStatus", "delivered")]).0, 403);

    // The e-mail link shows a button; following it does not acknowledge (mail scanners).
    let link = sms["accept_url"].as_str().unwrap();
    let r = reqwest::blocking::get(link).unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().unwrap().contains("<form method=\"post\""));
    assert_eq!(srv.get(&format!("/v1/pages/{page1}"))["status"], "OPEN");

    // An SMS reply with a wrong code is refused; a keypress other than 1 acknowledges nothing.
    let (st, v) = srv.post(
        "/v1/inbound/SMS",
        json!({"from": "+15555550101", "body": "000000"}),
    );
    assert_eq!(st, 400, "{v}");
    let (st, twiml) = post_form(callback, &[("Digits", "2")]);
    assert_eq!(st, 200);
    assert!(twiml.contains("Not acknowledged"));

    // "escalate" by SMS: bob is paged now, not in 30 s.
    let (st, v) = srv.post(
        "/v1/inbound/SMS",
        json!({"from": "+15555550101", "body": "escalate"}),
    );
    assert_eq!(st, 200, "{v}");
    let bob = page_with_key(&log, "-p2/mail#1");

    // Bob acknowledges from the e-mail link (POST): the plan stops.
    let r = reqwest::blocking::Client::new()
        .post(bob["accept_url"].as_str().unwrap())
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let eng = srv.get(&format!("/v1/engagements/{id}"));
    assert_eq!(eng["status"], "ACKNOWLEDGED");
    assert_eq!(eng["acknowledgedBy"], "bob");
    assert_eq!(
        srv.get(&format!("/v1/pages/{id}-p2"))["acknowledgedVia"],
        "email-link"
    );

    // Alice presses 1 on the voice call: her page is acknowledged too.
    let (st, twiml) = post_form(callback, &[("Digits", "1")]);
    assert_eq!(st, 200);
    assert!(twiml.contains("Acknowledged"), "{twiml}");
    let p1 = srv.get(&format!("/v1/pages/{page1}"));
    assert_eq!(p1["status"], "ACKNOWLEDGED");
    assert!(p1["readTime"].is_string());

    // AcceptPage through the API is idempotent, and checks the code.
    let code = sms["accept_code"].as_str().unwrap();
    let (st, v) = srv.post(
        &format!("/v1/pages/{page1}/accept"),
        json!({"acceptCode": "123", "acceptType": "READ"}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("acceptCode"), "{v}");
    let (st, v) = srv.post(
        &format!("/v1/pages/{page1}/accept"),
        json!({"acceptCode": code, "acceptType": "READ"}),
    );
    assert_eq!(st, 200, "{v}");
    let by_contact = srv.get("/v1/contacts/alice/pages");
    assert_eq!(by_contact["pages"].as_array().unwrap().len(), 1);
}

#[test]
fn a_paging_storm_is_held_back_and_every_held_page_says_why() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, log) = receiver(&rt);
    let cfg = config(addr, &plan(30), "{SMS: {max: 2, perMinutes: 60}}");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), None);
    let ids: Vec<String> = (0..4)
        .map(|i| start(&srv, "carol", &format!("inc-{i}")))
        .collect();
    wait_until("two SMS delivered", || {
        (pages(&log).len() >= 2).then_some(())
    });
    let suppressed = wait_until("two pages held back", || {
        let held: Vec<Value> = ids
            .iter()
            .flat_map(|id| {
                srv.get(&format!("/v1/pages/{id}-p1/receipts"))["receipts"]
                    .as_array()
                    .unwrap()
                    .clone()
            })
            .filter(|r| r["receiptType"] == "SUPPRESSED")
            .collect();
        (held.len() == 2).then_some(held)
    });
    for r in &suppressed {
        let info = r["receiptInfo"].as_str().unwrap();
        assert!(
            info.contains("limit of 2 per 60 min") && info.contains("summary"),
            "{info}"
        );
    }
    assert_eq!(pages(&log).len(), 2, "the held pages were not sent");
}

#[test]
fn bad_engagement_requests_get_a_clear_4xx_and_create_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, _log) = receiver(&rt);
    let cfg = config(addr, &plan(30), "{}");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), None);
    let (st, v) = srv.post(
        "/v1/engagements",
        json!({"contactId": "nobody", "sender": "x", "subject": "s", "content": "c"}),
    );
    assert_eq!(st, 404, "{v}");
    let (st, v) = srv.post(
        "/v1/engagements",
        json!({"contactId": "sre", "sender": "x", "subject": "s"}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("content"), "{v}");
    let (st, v) = srv.post(
        "/v1/engagements",
        json!({"contactId": "sre", "sender": "x", "subject": "", "content": "c"}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("subject"), "{v}");
    assert_eq!(srv.get("/v1/engagements")["engagements"], json!([]));
}
