//! Alert ingestion through the real binary with the real payloads of tests/fixtures/alerts:
//! Alertmanager v4 (and a real Alertmanager posting to the engine), CloudWatch via SNS (signed,
//! subscription confirmation, replay), EventBridge rules, generic JSON, bad input.

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{Value, json};

use crate::helpers::{Seen, recording_peer};
use crate::runbook_exec::Server;

fn fixture(name: &str) -> Value {
    let path = crate::helpers::workspace()
        .join("tests/fixtures/alerts")
        .join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

const PLANS: &str = r#"
kind: ResponsePlan
name: checkout
incidentTemplate: {title: Checkout degraded, impact: 2}
autoResolve: true
---
kind: ResponsePlan
name: ec2
incidentTemplate: {title: EC2 alarm, impact: 3}
---
kind: EventRule
name: alarms
responsePlan: ec2
eventPattern: {source: [aws.cloudwatch], detail-type: [CloudWatch Alarm State Change], detail: {state: {value: [ALARM, OK]}}}
---
kind: AlertMapping
name: grafana
responsePlan: checkout
mapping: {title: $.title, dedupeKey: $.ruleId, impact: $.severity, status: $.state, resolvedWhen: ok, resources: $.arns}
"#;

struct Env {
    _cfg: tempfile::TempDir,
    _data: tempfile::TempDir,
    srv: Server,
    peer: Arc<Mutex<Vec<Seen>>>,
    _rt: tokio::runtime::Runtime,
    cert: Option<(rsa::RsaPrivateKey, String)>,
}

/// A server whose config holds the plans above, an SNS intake and a `sns-confirm` webhook
/// instance granted only the local peer. `signed`: SNS signatures required (a pinned cert).
fn env(signed: bool) -> Env {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, peer) = rt.block_on(recording_peer(|_| (200, vec![], "<ok/>".into())));
    let cfg = tempfile::tempdir().unwrap();
    let cert = signed.then(make_cert);
    let mut intake = format!(
        "kind: Plugin\nname: sns-confirm\nplugin: webhook\nallow: {{http: ['http://{addr}']}}\n---\nkind: AlertIntake\nsns:\n  confirmWith: sns-confirm\n  verifySignatures: {signed}\n"
    );
    if let Some((_, pem)) = &cert {
        std::fs::write(cfg.path().join("sns.pem"), pem).unwrap();
        intake.push_str("  certificates: {'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem': sns.pem}\n");
    }
    std::fs::write(cfg.path().join("intake.yaml"), intake).unwrap();
    std::fs::write(cfg.path().join("plans.yaml"), PLANS).unwrap();
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), None);
    Env {
        _cfg: cfg,
        _data: data,
        srv,
        peer,
        _rt: rt,
        cert,
    }
}

fn make_cert() -> (rsa::RsaPrivateKey, String) {
    use rand::SeedableRng;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::der::EncodePem;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let private = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.clone());
    let spki =
        x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(private.to_public_key()).unwrap();
    let cert = CertificateBuilder::new(
        Profile::Root,
        x509_cert::serial_number::SerialNumber::from(7u32),
        x509_cert::time::Validity::from_now(Duration::from_secs(3600)).unwrap(),
        x509_cert::name::Name::from_str("CN=sns.amazonaws.com").unwrap(),
        spki,
        &signer,
    )
    .unwrap()
    .build::<rsa::pkcs1v15::Signature>()
    .unwrap();
    (
        private,
        cert.to_pem(x509_cert::der::pem::LineEnding::LF).unwrap(),
    )
}

/// The fixture, sent now (SNS messages older than an hour are refused as replays), signed with
/// the test key when there is one.
fn sns_message(e: &Env, name: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let mut v = fixture(name);
    v["Timestamp"] = json!(jiff::Timestamp::now().to_string());
    edit(&mut v);
    if let Some((key, _)) = &e.cert {
        let msg = tocsin::ingest::sns::from_value(&v).unwrap();
        let text = tocsin::ingest::sns::string_to_sign(&msg);
        let sig = rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key.clone())
            .sign(text.as_bytes())
            .to_vec();
        v["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    }
    v
}

fn post_raw(srv: &Server, path: &str, ct: &str, body: Vec<u8>) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}{path}", srv.base))
        .header("content-type", ct)
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap_or(Value::Null))
}

fn incident(srv: &Server, arn: &str) -> Value {
    let id = arn.rsplit('/').next().unwrap();
    srv.get(&format!("/v1/incidents/{id}"))["incidentRecord"].clone()
}

#[test]
fn alertmanager_firing_dedupes_by_group_and_resolved_resolves() {
    let e = env(false);
    let firing = fixture("alertmanager-v4-firing-group.json");
    let (st, v) = e
        .srv
        .post("/v1/alerts/alertmanager/checkout", firing.clone());
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["outcome"], "CREATED");
    let arn = v["incidentRecordArn"].as_str().unwrap().to_owned();
    let rec = incident(&e.srv, &arn);
    assert_eq!(rec["incidentRecordSource"]["source"], "alertmanager");
    assert_eq!(rec["dedupeString"], firing["groupKey"]);
    let (_, again) = e.srv.post("/v1/alerts/alertmanager/checkout", firing);
    assert_eq!(again["outcome"], "DEDUPLICATED");
    assert_eq!(again["incidentRecordArn"], arn.as_str());
    let (st, v) = e.srv.post(
        "/v1/alerts/alertmanager/checkout",
        fixture("alertmanager-v4-resolved-group.json"),
    );
    assert_eq!(st, 202, "{v}");
    assert_eq!(
        incident(&e.srv, &arn)["status"],
        "RESOLVED",
        "the plan auto-resolves"
    );
    let id = arn.rsplit('/').next().unwrap();
    let tl = e.srv.get(&format!("/v1/incidents/{id}/timeline"));
    let types: Vec<&str> = tl["eventSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["eventType"].as_str().unwrap())
        .collect();
    for t in [
        "Incident triggered",
        "Trigger deduplicated",
        "Alert resolved",
        "Status changed",
    ] {
        assert!(types.contains(&t), "{t:?} missing from {types:?}");
    }
}

#[test]
fn bad_alerts_get_a_clear_4xx_and_create_nothing() {
    let e = env(false);
    let firing = serde_json::to_vec(&fixture("alertmanager-v4-firing-group.json")).unwrap();
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/alertmanager/checkout",
        "text/xml",
        firing.clone(),
    );
    assert_eq!(st, 415, "{v}");
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/alertmanager/checkout",
        "application/json",
        b"{\"version\": ".to_vec(),
    );
    assert_eq!(st, 400, "{v}");
    let mut wrong = fixture("alertmanager-v4-firing-group.json");
    wrong["version"] = json!("3");
    let (st, v) = e.srv.post("/v1/alerts/alertmanager/checkout", wrong);
    assert_eq!(st, 422, "{v}");
    assert!(v.to_string().contains("version"), "{v}");
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/alertmanager/nope",
        "application/json",
        firing,
    );
    assert_eq!(st, 404, "{v}");
    let big = vec![b' '; 2 * 1024 * 1024];
    let (st, _) = post_raw(
        &e.srv,
        "/v1/alerts/alertmanager/checkout",
        "application/json",
        big,
    );
    assert_eq!(st, 413);
    let (st, v) = e.srv.post("/v1/alerts/webhook/unknown", json!({}));
    assert_eq!(st, 404, "{v}");
    let (st, v) = e
        .srv
        .post("/v1/alerts/webhook/grafana", json!({"ruleId": "r1"}));
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("title"), "{v}");
    assert_eq!(
        e.srv.get("/v1/incidents")["incidentRecordSummaries"],
        json!([])
    );
}

#[test]
fn cloudwatch_via_signed_sns_opens_with_the_instance_and_refuses_replays_and_forgeries() {
    let e = env(true);
    let msg = sns_message(
        &e,
        "cloudwatch-alarm-via-sns-http-single-metric.json",
        |_| {},
    );
    let body = serde_json::to_vec(&msg).unwrap();
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/sns/ec2",
        "text/plain; charset=UTF-8",
        body.clone(),
    );
    assert_eq!(st, 202, "{v}");
    let rec = incident(&e.srv, v["incidentRecordArn"].as_str().unwrap());
    assert_eq!(rec["incidentRecordSource"]["source"], "aws.cloudwatch");
    assert!(
        rec["incidentRecordSource"]["resourceArn"]
            .as_str()
            .unwrap()
            .contains(":alarm:")
    );
    let involved: Vec<&str> = rec["relatedItems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["identifier"]["value"]["arn"].as_str())
        .collect();
    // The fixture is AWS's documented example: dimension InstanceId = TestInstance.
    assert_eq!(
        involved,
        ["arn:aws:ec2:REGION:ACCOUNT_NUMBER:instance/TestInstance"]
    );
    // The same message again is a replay.
    let (st, v) = post_raw(&e.srv, "/v1/alerts/sns/ec2", "text/plain", body);
    assert_eq!(st, 409, "{v}");
    // An altered message fails its signature; an old one is refused.
    let mut forged = msg.clone();
    forged["Subject"] = json!("OK: nothing to see");
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/sns/ec2",
        "text/plain",
        serde_json::to_vec(&forged).unwrap(),
    );
    assert_eq!(st, 403, "{v}");
    let old = sns_message(
        &e,
        "cloudwatch-alarm-via-sns-http-single-metric.json",
        |v| {
            v["Timestamp"] = json!("2015-06-03T17:43:27.123Z");
            v["MessageId"] = json!("another");
        },
    );
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/sns/ec2",
        "text/plain",
        serde_json::to_vec(&old).unwrap(),
    );
    assert_eq!(st, 403, "{v}");
    assert!(v.to_string().contains("Timestamp"), "{v}");
}

#[test]
fn an_sns_subscription_is_confirmed_through_the_granted_instance_only() {
    let e = env(false);
    let addr = {
        // The peer the `sns-confirm` instance is granted (read back from its config).
        let d = e.srv.get("/v1/plugins");
        let s = d.to_string();
        let at = s.find("http://127.0.0.1:").unwrap();
        s[at..].split(['"', '\\']).next().unwrap().to_owned()
    };
    let ok = sns_message(&e, "sns-subscription-confirmation.json", |v| {
        v["SubscribeURL"] = json!(format!(
            "{addr}/?Action=ConfirmSubscription&TopicArn=t&Token=abc"
        ));
    });
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/sns/ec2",
        "text/plain",
        serde_json::to_vec(&ok).unwrap(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["outcome"], "CONFIRMED");
    let seen = e.peer.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|s| s.method == "GET" && s.uri.contains("Action=ConfirmSubscription")),
        "{seen:?}"
    );
    // A SubscribeURL elsewhere is refused by the instance's grant.
    let elsewhere = sns_message(&e, "sns-subscription-confirmation.json", |v| {
        v["MessageId"] = json!("m2");
        v["SubscribeURL"] = json!("http://203.0.113.9/?Action=ConfirmSubscription&Token=x");
    });
    let (st, v) = post_raw(
        &e.srv,
        "/v1/alerts/sns/ec2",
        "text/plain",
        serde_json::to_vec(&elsewhere).unwrap(),
    );
    assert_eq!(st, 403, "{v}");
}

#[test]
fn eventbridge_events_match_rules_and_generic_webhooks_map_fields() {
    let e = env(false);
    let event = fixture("eventbridge-cloudwatch-alarm-state-change.json");
    let (st, v) = e.srv.post("/v1/alerts/events", event.clone());
    assert_eq!(st, 202, "{v}");
    assert_eq!(v["matchedRules"], json!(["alarms"]));
    assert_eq!(v["results"][0]["result"]["outcome"], "CREATED");
    let mut other = event;
    other["source"] = json!("aws.ec2");
    let (st, v) = e.srv.post("/v1/alerts/events", other);
    assert_eq!((st, v["matchedRules"].clone()), (202, json!([])));

    let alert = json!({"title": "5xx on checkout", "ruleId": "r-9", "severity": 1, "state": "alerting", "arns": ["arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/web/1"]});
    let (st, v) = e.srv.post("/v1/alerts/webhook/grafana", alert.clone());
    assert_eq!(st, 202, "{v}");
    let rec = incident(&e.srv, v["incidentRecordArn"].as_str().unwrap());
    assert_eq!(rec["impact"], 1);
    assert_eq!(rec["dedupeString"], "r-9");
    let mut resolved = alert;
    resolved["state"] = json!("ok");
    let (st, _) = e.srv.post("/v1/alerts/webhook/grafana", resolved);
    assert_eq!(st, 202);
    assert_eq!(
        incident(&e.srv, rec["arn"].as_str().unwrap())["status"],
        "RESOLVED"
    );
}

/// A real Alertmanager (Debian `prometheus-alertmanager`) with group_wait 0s posts to the engine.
#[test]
fn a_real_alertmanager_delivers_to_the_engine() {
    let e = env(false);
    let am_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cluster = free_port();
    std::fs::write(
        am_dir.path().join("am.yml"),
        format!(
            "route:\n  receiver: tocsin\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: tocsin\n    webhook_configs:\n      - url: '{}/v1/alerts/alertmanager/checkout'\n        send_resolved: true\n",
            e.srv.base
        ),
    )
    .unwrap();
    let mut am = Alertmanager(
        Command::new(alertmanager_bin())
            .arg(format!(
                "--config.file={}",
                am_dir.path().join("am.yml").display()
            ))
            .arg(format!("--storage.path={}", am_dir.path().display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--cluster.listen-address=127.0.0.1:{cluster}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start prometheus-alertmanager (installed by `cargo xtask test`)"),
    );
    let api = format!("http://127.0.0.1:{port}/api/v2/alerts");
    let alert = json!([{"labels": {"alertname": "CheckoutErrors", "service": "checkout", "instance": "web-1:9100"},
                        "annotations": {"summary": "checkout 5xx above 5%"}}]);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let r = reqwest::blocking::Client::new()
            .post(&api)
            .json(&alert)
            .send();
        if r.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alertmanager never accepted the alert"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let arn = loop {
        let list = e.srv.get("/v1/incidents");
        if let Some(a) = list["incidentRecordSummaries"][0]["arn"].as_str() {
            break a.to_owned();
        }
        assert!(Instant::now() < deadline, "no incident from alertmanager");
        std::thread::sleep(Duration::from_millis(100));
    };
    let rec = incident(&e.srv, &arn);
    assert_eq!(rec["incidentRecordSource"]["source"], "alertmanager");
    assert!(
        rec["dedupeString"]
            .as_str()
            .unwrap()
            .contains("CheckoutErrors"),
        "{rec}"
    );
    let _ = am.0.stdin.take().map(|mut s| s.flush());
    am.stop();
}

struct Alertmanager(Child);

impl Alertmanager {
    fn stop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        self.stop();
    }
}

fn alertmanager_bin() -> String {
    std::env::var("TOCSIN_ALERTMANAGER").unwrap_or_else(|_| "prometheus-alertmanager".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
