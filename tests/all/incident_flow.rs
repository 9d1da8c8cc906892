//! Incidents end to end through the real binary: a response plan from YAML opens an incident,
//! engages responders (pages through the webhook plugin to a local receiver), starts its runbook
//! with INCIDENT_RECORD_ARN and INVOLVED_RESOURCES, survives `kill -9`, is acknowledged and
//! resolved; dedupe, timeline, related items, lists and bad input.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::helpers::{Seen, recording_peer, wait_until};
use crate::runbook_exec::Server;

type Log = Arc<Mutex<Vec<Seen>>>;

const RUNBOOK: &str = r#"
schemaVersion: '0.3'
description: Triage, then report what the incident gave us.
parameters:
  IncidentArn: {type: String}
  Resources: {type: StringList}
mainSteps:
  - name: Triage
    action: aws:pause
  - name: Report
    action: hook:call
    inputs:
      url: "RECEIVER/runbook"
      json: {arn: "{{ IncidentArn }}", resources: "{{ Resources }}"}
"#;

fn setup(
    dedupe: &str,
) -> (
    tokio::runtime::Runtime,
    Log,
    tempfile::TempDir,
    tempfile::TempDir,
) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, log) = rt.block_on(recording_peer(|_| (200, vec![], "{}".into())));
    let url = format!("http://{addr}");
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(
        cfg.path().join("config.yaml"),
        format!(
            r#"kind: Plugin
name: hook
plugin: webhook
config: {{notify_url: '{url}/page'}}
allow: {{http: ['{url}']}}
---
kind: PagingPolicy
routes: {{SMS: hook, EMAIL: hook, VOICE: hook}}
rateLimits: {{}}
---
kind: Contact
alias: alice
type: PERSONAL
channels:
  - {{name: sms, type: SMS, deliveryAddress: "+15555550101", activationStatus: ACTIVATED}}
---
kind: EscalationPlan
alias: sre
stages:
  - durationSeconds: 60
    targets: [{{contact: alice}}]
---
kind: ResponsePlan
name: db-outage
displayName: Database outage
incidentTemplate:
  title: Database outage
  impact: 2
  summary: The primary database is not answering.
  {dedupe}
engagements: [sre]
actions:
  - ssmAutomation:
      documentName: incident-triage
      dynamicParameters:
        IncidentArn: {{variable: INCIDENT_RECORD_ARN}}
        Resources: {{variable: INVOLVED_RESOURCES}}
autoResolve: true
"#
        ),
    )
    .unwrap();
    let books = tempfile::tempdir().unwrap();
    std::fs::write(
        books.path().join("incident-triage.yaml"),
        RUNBOOK.replace("RECEIVER", &url),
    )
    .unwrap();
    (rt, log, cfg, books)
}

fn received(log: &Log, path: &str) -> Vec<Value> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|s| s.uri == path)
        .map(|s| serde_json::from_str(&s.body).unwrap())
        .collect()
}

fn resource(arn: &str) -> Value {
    json!({"identifier": {"type": "INVOLVED_RESOURCE", "value": {"arn": arn}}, "title": "the instance"})
}

fn incident_of(srv: &Server, id: &str) -> Value {
    srv.get(&format!("/v1/incidents/{id}"))["incidentRecord"].clone()
}

#[test]
fn the_seeds_flow_survives_kill_9_and_ends_resolved() {
    let (_rt, log, cfg, books) = setup("");
    let data = tempfile::tempdir().unwrap();
    let mut srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc";
    let (st, v) = srv.post(
        "/v1/incidents",
        json!({"responsePlan": "db-outage", "clientToken": "alarm-1",
               "relatedItems": [resource(instance)],
               "triggerDetails": {"source": "aws.cloudwatch", "rawData": "{\"AlarmName\":\"db-cpu\"}"}}),
    );
    assert_eq!(st, 201, "{v}");
    let arn = v["incidentRecordArn"].as_str().unwrap().to_owned();
    assert!(
        arn.starts_with("arn:aws:ssm-incidents::") && arn.contains(":incident-record/db-outage/"),
        "{arn}"
    );
    let id = arn.rsplit('/').next().unwrap().to_owned();
    // The same client token is the same incident.
    let (st, again) = srv.post(
        "/v1/incidents",
        json!({"responsePlan": "db-outage", "clientToken": "alarm-1"}),
    );
    assert_eq!((st, again["outcome"].as_str()), (200, Some("EXISTING")));
    assert_eq!(again["incidentRecordArn"], arn.as_str());

    // Responders are paged, and the runbook waits at its manual step.
    let page = wait_until("alice's page", || {
        received(&log, "/page").into_iter().next()
    });
    assert_eq!(page["incident_arn"], arn.as_str());
    let exec = wait_until("the runbook to start", || {
        let r = incident_of(&srv, &id);
        r["automationExecutions"][0]["ssmExecutionArn"]
            .as_str()
            .map(|a| a.rsplit('/').next().unwrap().to_owned())
    });
    srv.wait_waiting_at(&exec, "Triage");

    // Crash in the middle; nothing is lost and nothing is started twice.
    srv.kill9();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let rec = incident_of(&srv, &id);
    assert_eq!(rec["status"], "OPEN");
    assert_eq!(rec["automationExecutions"].as_array().unwrap().len(), 1);
    assert_eq!(rec["engagements"].as_array().unwrap().len(), 1);
    srv.wait_waiting_at(&exec, "Triage");
    srv.signal(&exec, json!({"signal": "Resume"}));
    srv.wait_status(&exec, "Success");
    let report = wait_until("the runbook's report", || {
        received(&log, "/runbook").into_iter().next()
    });
    assert_eq!(report["arn"], arn.as_str());
    assert_eq!(report["resources"], json!([instance]));

    // Alice acknowledges by SMS; the incident is resolved; the engagement stops.
    let code = page["accept_code"].as_str().unwrap();
    let (st, v) = srv.post(
        "/v1/inbound/SMS",
        json!({"from": "+15555550101", "body": code}),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = srv.post(&format!("/v1/incidents/{id}/resolve"), json!({}));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["incidentRecord"]["status"], "RESOLVED");
    let eng = rec["engagements"][0].as_str().unwrap().to_owned();
    wait_until("the engagement to stop", || {
        (srv.get(&format!("/v1/engagements/{eng}"))["status"] == "STOPPED").then_some(())
    });
    assert_eq!(received(&log, "/page").len(), 1, "alice was paged once");

    let tl = srv.get(&format!("/v1/incidents/{id}/timeline"));
    let events = tl["eventSummaries"].as_array().unwrap();
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for t in [
        "Incident created",
        "Incident triggered",
        "Engagement started",
        "Page created",
        "Runbook started",
        "Page acknowledged",
        "Runbook step finished",
        "Runbook finished",
        "Status changed",
    ] {
        assert!(types.contains(&t), "timeline lacks {t:?}: {types:?}");
    }
    let triggered = events
        .iter()
        .find(|e| e["eventType"] == "Incident triggered")
        .unwrap();
    assert_eq!(triggered["eventData"]["rawData"]["AlarmName"], "db-cpu");
    let desc = srv.get(&format!(
        "/v1/incidents/{id}/timeline?sortOrder=DESCENDING&maxResults=1"
    ));
    assert_eq!(desc["eventSummaries"].as_array().unwrap().len(), 1);
    assert!(desc["nextToken"].is_string());
}

#[test]
fn an_open_incident_absorbs_triggers_with_its_dedupe_string_and_pages_nobody_again() {
    let (_rt, log, cfg, books) = setup("dedupeString: db-primary");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let start = |related: Value| {
        srv.post(
            "/v1/incidents",
            json!({"responsePlan": "db-outage", "relatedItems": related}),
        )
    };
    let (st, first) = start(json!([]));
    assert_eq!(st, 201, "{first}");
    wait_until("the first page", || {
        received(&log, "/page").into_iter().next()
    });
    let (st, second) = start(json!([resource("arn:aws:ec2:us-east-1:1:instance/i-2")]));
    assert_eq!(
        (st, second["outcome"].as_str()),
        (200, Some("DEDUPLICATED"))
    );
    assert_eq!(second["incidentRecordArn"], first["incidentRecordArn"]);
    let id = first["incidentRecordArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let rec = incident_of(&srv, &id);
    assert_eq!(rec["relatedItems"].as_array().unwrap().len(), 1);
    assert_eq!(rec["triggerCount"], 2);
    let tl = srv.get(&format!(
        "/v1/incidents/{id}/timeline?eventType=Trigger%20deduplicated"
    ));
    assert_eq!(tl["eventSummaries"].as_array().unwrap().len(), 1);
    // Once resolved, the same dedupe string opens a new incident.
    let (st, _) = srv.post(&format!("/v1/incidents/{id}/resolve"), json!({}));
    assert_eq!(st, 200);
    let (st, third) = start(json!([]));
    assert_eq!((st, third["outcome"].as_str()), (201, Some("CREATED")));
    assert_ne!(third["incidentRecordArn"], first["incidentRecordArn"]);
    // Lists filter like ListIncidentRecords and page with tokens.
    let open = srv.get("/v1/incidents?status=OPEN");
    assert_eq!(open["incidentRecordSummaries"].as_array().unwrap().len(), 1);
    let (st, all) = srv.post("/v1/incidents/list", json!({"filters": [{"key": "impact", "condition": {"equals": {"integerValues": [2]}}}], "maxResults": 1}));
    assert_eq!(st, 200, "{all}");
    assert_eq!(all["incidentRecordSummaries"].as_array().unwrap().len(), 1);
    let next = all["nextToken"].as_str().unwrap();
    let (_, rest) = srv.post(
        "/v1/incidents/list",
        json!({"maxResults": 1, "nextToken": next}),
    );
    assert_eq!(rest["incidentRecordSummaries"].as_array().unwrap().len(), 1);
    assert!(rest["nextToken"].is_null());
}

#[test]
fn timeline_related_items_updates_and_bad_input() {
    let (_rt, _log, cfg, books) = setup("");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let (st, v) = srv.post("/v1/incidents", json!({"responsePlan": "nope"}));
    assert_eq!(st, 404, "{v}");
    let (st, v) = srv.post(
        "/v1/incidents",
        json!({"responsePlan": "db-outage", "impact": 9}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(v.to_string().contains("impact"), "{v}");
    let (st, v) = srv.post(
        "/v1/incidents",
        json!({"responsePlan": "db-outage", "colour": "red"}),
    );
    assert_eq!(st, 400, "{v}");
    assert_eq!(
        srv.get("/v1/incidents")["incidentRecordSummaries"],
        json!([])
    );
    let (st, v) = srv.post(
        "/v1/incidents/list",
        json!({"filters": [{"key": "colour", "condition": {"equals": {"stringValues": ["x"]}}}]}),
    );
    assert_eq!(st, 400, "{v}");

    let (_, v) = srv.post(
        "/v1/incidents",
        json!({"responsePlan": "db-outage", "title": "Replica lag"}),
    );
    let id = v["incidentRecordArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(v["incidentRecord"]["title"], "Replica lag");
    // Custom events can be created, updated and deleted; automatic ones cannot.
    let (st, ev) = srv.post(
        &format!("/v1/incidents/{id}/timeline"),
        json!({"eventType": "Custom Event", "eventData": "\"failover started\""}),
    );
    assert_eq!(st, 201, "{ev}");
    let ev_id = ev["eventId"].as_str().unwrap();
    let (st, upd) = srv.post(
        &format!("/v1/incidents/{id}/timeline/{ev_id}"),
        json!({"eventType": "Custom Event", "eventData": "\"failover done\""}),
    );
    assert_eq!(st, 200, "{upd}");
    let auto = srv.get(&format!(
        "/v1/incidents/{id}/timeline?eventType=Incident%20created"
    ))["eventSummaries"][0]["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, v) = srv.post(
        &format!("/v1/incidents/{id}/timeline/{auto}"),
        json!({"eventType": "Custom Event", "eventData": "\"rewrite history\""}),
    );
    assert_eq!(st, 409, "{v}");
    let del = reqwest::blocking::Client::new()
        .delete(format!("{}/v1/incidents/{id}/timeline/{ev_id}", srv.base))
        .send()
        .unwrap();
    assert_eq!(del.status(), 204);
    let (st, _) = srv.post(
        &format!("/v1/incidents/{id}/notes"),
        json!({"content": "paged the DBA", "author": "alice"}),
    );
    assert_eq!(st, 201);
    // Related items add / remove.
    let item = resource("arn:aws:rds:us-east-1:1:db:primary");
    let (st, v) = srv.post(
        &format!("/v1/incidents/{id}/related-items"),
        json!({"relatedItemsUpdate": {"itemToAdd": item}}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["relatedItems"].as_array().unwrap().len(), 1);
    let (st, v) = srv.post(
        &format!("/v1/incidents/{id}/related-items"),
        json!({"relatedItemsUpdate": {"itemToRemove": item["identifier"]}}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["relatedItems"], json!([]));
    // Updates: impact and title changes are timeline events; a bad value names its field.
    let (st, v) = srv.post(
        &format!("/v1/incidents/{id}/update"),
        json!({"impact": 1, "title": "Replica lag (all)"}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["incidentRecord"]["impact"], 1);
    let (st, v) = srv.post(&format!("/v1/incidents/{id}/update"), json!({"impact": 0}));
    assert_eq!(st, 400, "{v}");
    let tl = srv.get(&format!("/v1/incidents/{id}/timeline"));
    let types: Vec<&str> = tl["eventSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    for t in [
        "Impact changed",
        "Title changed",
        "Note",
        "Related item added",
        "Related item removed",
    ] {
        assert!(types.contains(&t), "{t:?} missing from {types:?}");
    }
    // An open incident cannot be deleted; a resolved one can.
    let del = |srv: &Server| {
        reqwest::blocking::Client::new()
            .delete(format!("{}/v1/incidents/{id}", srv.base))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(del(&srv), 409);
    srv.post(&format!("/v1/incidents/{id}/resolve"), json!({}));
    assert_eq!(del(&srv), 204);
}

#[test]
fn a_contact_that_cannot_be_engaged_leaves_a_timeline_event_and_the_others_are_paged() {
    let (_rt, log, cfg, books) = setup("");
    let path = cfg.path().join("config.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("engagements: [sre]", "engagements: [sre, bob]")
        + "---\nkind: Contact\nalias: bob\ntype: PERSONAL\nchannels: []\n";
    std::fs::write(&path, text).unwrap();
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    // The plan was valid when applied; bob leaves afterwards.
    let st = reqwest::blocking::Client::new()
        .delete(format!("{}/v1/contacts/bob", srv.base))
        .send()
        .unwrap()
        .status();
    assert_eq!(st, 204);
    let (st, started) = srv.post("/v1/incidents", json!({"responsePlan": "db-outage"}));
    assert_eq!(st, 201, "the incident opens anyway: {started}");
    let id = started["incidentRecordArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let pages = wait_until("alice's page", || {
        Some(received(&log, "/page")).filter(|p| !p.is_empty())
    });
    assert_eq!(pages.len(), 1);
    let rec = incident_of(&srv, &id);
    assert_eq!(rec["engagements"].as_array().unwrap().len(), 1, "{rec}");
    let tl = srv.get(&format!(
        "/v1/incidents/{id}/timeline?eventType=Follow-up%20failed"
    ));
    let events = tl["eventSummaries"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{tl}");
    let event = srv.get(&format!(
        "/v1/incidents/{id}/timeline/{}",
        events[0]["eventId"].as_str().unwrap()
    ))["event"]["eventData"]
        .clone();
    assert_eq!(event["action"], "engage-bob", "{event}");
    assert!(
        event["error"].as_str().unwrap().contains("bob"),
        "the error names the contact: {event}"
    );
}

#[test]
fn response_plans_are_created_replaced_and_deleted_through_the_api() {
    let (_rt, log, cfg, books) = setup("");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let http = reqwest::blocking::Client::new();
    let put = |name: &str, body: Value| -> (u16, Value) {
        let r = http
            .put(format!("{}/v1/response-plans/{name}", srv.base))
            .json(&body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json().unwrap_or(Value::Null))
    };
    let plan = |impact: u8| json!({"name": "api-plan", "incidentTemplate": {"title": "From the API", "impact": impact}, "engagements": ["alice"]});
    // Bad input names the field and writes nothing.
    for (body, field) in [
        (
            json!({"name": "other", "incidentTemplate": {"title": "t", "impact": 2}}),
            "name",
        ),
        (plan(9), "incidentTemplate.impact"),
        (
            json!({"name": "api-plan", "incidentTemplate": {"title": "t", "impact": 2}, "engagements": ["ghost"]}),
            "engagements[0]",
        ),
        (
            json!({"name": "api-plan", "incidentTemplate": {"title": "t", "impact": 2}, "chatChannel": {"plugin": "nope"}}),
            "chatChannel.plugin",
        ),
        (
            json!({"name": "api-plan", "incidentTemplate": {"title": "t", "impact": 2}, "colour": "red"}),
            "colour",
        ),
    ] {
        let (st, err) = put("api-plan", body);
        assert_eq!(st, 400, "{err}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    let r = http
        .get(format!("{}/v1/response-plans/api-plan", srv.base))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 404, "a refused plan is not stored");
    // Created, then replaced.
    let (st, created) = put("api-plan", plan(2));
    assert_eq!(st, 201, "{created}");
    let (st, replaced) = put("api-plan", plan(1));
    assert_eq!(st, 200, "{replaced}");
    assert_eq!(
        srv.get("/v1/response-plans/api-plan")["responsePlan"]["incidentTemplate"]["impact"],
        1
    );
    // The plan opens incidents and pages its engagements.
    let (st, started) = srv.post("/v1/incidents", json!({"responsePlan": "api-plan"}));
    assert_eq!(st, 201, "{started}");
    let pages = wait_until("alice's page", || {
        Some(received(&log, "/page")).filter(|p| !p.is_empty())
    });
    assert!(
        pages[0].to_string().contains("From the API"),
        "{}",
        pages[0]
    );
    // Deleted: new triggers are refused, the incident stays.
    let del = |name: &str| {
        http.delete(format!("{}/v1/response-plans/{name}", srv.base))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(del("api-plan"), 204);
    assert_eq!(del("api-plan"), 404);
    let (st, _) = srv.post("/v1/incidents", json!({"responsePlan": "api-plan"}));
    assert_eq!(st, 404);
    let id = started["incidentRecordArn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(incident_of(&srv, id)["responsePlan"], "api-plan");
}

#[test]
fn a_client_that_hangs_up_after_sending_still_gets_its_incident_paged() {
    use std::io::Write as _;
    let (_rt, log, cfg, books) = setup("");
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let addr = srv.base.trim_start_matches("http://").to_owned();
    // Raw requests whose connection closes the moment the body is sent: the server reads the
    // body (it asked for it with `100 Continue`) and may then drop the handler's future on the
    // closed connection, before or after its commit. Hang-ups are sent until the server has
    // committed some of them; every committed incident must still page.
    let open_count = || {
        srv.get("/v1/incidents?status=OPEN")["incidentRecordSummaries"]
            .as_array()
            .map_or(0, Vec::len)
    };
    for attempt in 0..200 {
        if attempt % 10 == 9 && open_count() > 0 {
            break;
        }
        use std::io::Read as _;
        let body =
            json!({"responsePlan": "db-outage", "title": format!("hang-up {attempt}")}).to_string();
        let mut sock = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            sock,
            "POST /v1/incidents HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\nexpect: 100-continue\r\ncontent-length: {}\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !seen.ends_with(b"\r\n\r\n") {
            sock.read_exact(&mut byte).unwrap();
            seen.push(byte[0]);
        }
        assert!(
            seen.starts_with(b"HTTP/1.1 100"),
            "{}",
            String::from_utf8_lossy(&seen)
        );
        sock.write_all(body.as_bytes()).unwrap();
        sock.shutdown(std::net::Shutdown::Both).unwrap();
    }
    // A hang-up may also come before the server took the request (nothing committed, nothing
    // answered: in some runs every one does); every incident that was committed gets its page.
    let (incidents, pages) = wait_until("a page for every committed incident", || {
        let n = open_count();
        let pages = received(&log, "/page").len();
        (pages == n).then_some((n, pages))
    });
    assert_eq!(incidents, pages);
}
