//! `tocsin incident …` through the real binary against a real `tocsin serve` (a response plan
//! that engages a contact through the console plugin and starts a runbook that waits at a manual
//! step): start → list → note → timeline → update → show → resolve → list by status, paging
//! through nextToken, and the refusals. Then the OpenAPI document the server serves: valid
//! OpenAPI 3.1 (openapi-spec-validator from the test venv) and documenting every route the
//! server's source registers, with its methods.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::peer_bin;
use crate::oncall_support::{stderr, stdout, tocsin};
use crate::runbook_exec::Server;

const RUNBOOK: &str = r#"
schemaVersion: '0.3'
description: Look at the incident, then wait for a human.
parameters:
  IncidentArn: {type: String}
mainSteps:
  - name: Triage
    action: aws:pause
"#;

const CONFIG: &str = r#"kind: Contact
alias: alice
type: PERSONAL
channels:
  - {name: desk, type: EMAIL, deliveryAddress: alice@example.com, activationStatus: ACTIVATED}
engagementPlan:
  stages:
    - {channel: desk, minutesAfterStart: 0}
---
kind: EscalationPlan
alias: sre
stages:
  - durationSeconds: 600
    targets: [{contact: alice}]
---
kind: ResponsePlan
name: db-outage
displayName: Database outage
incidentTemplate:
  title: Database outage
  impact: 2
  summary: The primary database is not answering.
engagements: [sre]
actions:
  - ssmAutomation:
      documentName: incident-triage
      dynamicParameters:
        IncidentArn: {variable: INCIDENT_RECORD_ARN}
"#;

fn dirs() -> (tempfile::TempDir, tempfile::TempDir) {
    let cfg = tempfile::tempdir().unwrap();
    std::fs::write(cfg.path().join("config.yaml"), CONFIG).unwrap();
    let books = tempfile::tempdir().unwrap();
    std::fs::write(books.path().join("incident-triage.yaml"), RUNBOOK).unwrap();
    (cfg, books)
}

/// Runs `tocsin incident ARGS… --server BASE`; panics unless it succeeds.
fn ok(base: &str, args: &[&str]) -> String {
    let mut all = vec!["incident"];
    all.extend_from_slice(args);
    all.extend(["--server", base]);
    let out = tocsin(&all);
    assert!(
        out.status.success(),
        "tocsin {all:?} failed:\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn ok_json(base: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = ok(base, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("incident {args:?}: {e}: {text}"))
}

/// Runs `tocsin incident ARGS… --server BASE`, expects a failure (1 refused by the server, 2
/// refused by the argument parser); returns stderr.
fn refused(base: &str, args: &[&str]) -> String {
    let mut all = vec!["incident"];
    all.extend_from_slice(args);
    all.extend(["--server", base]);
    let out = tocsin(&all);
    assert!(
        !out.status.success(),
        "tocsin {all:?} succeeded: {}",
        stdout(&out)
    );
    stderr(&out)
}

/// The data rows of a table (header dropped) that mention `needle`.
fn rows_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .skip(1)
        .filter(|l| l.contains(needle))
        .collect()
}

#[test]
fn incidents_from_the_cli_start_note_update_resolve_and_list() {
    let (cfg, books) = dirs();
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), Some(cfg.path()), Some(books.path()));
    let base = srv.base.as_str();
    let instance = "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc";

    // start prints the ARN; the same client token is the same incident.
    let text = ok(
        base,
        &[
            "start",
            "db-outage",
            "--title",
            "Primary DB down",
            "--related-resource",
            instance,
            "--client-token",
            "alarm-1",
        ],
    );
    let arn = text.trim().to_owned();
    assert!(
        arn.starts_with("arn:aws:ssm-incidents::") && arn.contains(":incident-record/db-outage/"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "start prints only the ARN: {text}");
    let id = arn.rsplit('/').next().unwrap().to_owned();
    let out = tocsin(&[
        "incident",
        "start",
        "db-outage",
        "--client-token",
        "alarm-1",
        "--server",
        base,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), arn);
    assert!(stderr(&out).contains("client token"), "{}", stderr(&out));

    // list: a table row with id, status, impact, title, plan.
    let text = ok(base, &["list"]);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            == ["ID", "STATUS", "IMPACT", "TITLE", "CREATED", "PLAN"],
        "{text}"
    );
    let row = rows_with(&text, &id);
    assert_eq!(row.len(), 1, "{text}");
    let cols: Vec<&str> = row[0]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cols[0], id, "{text}");
    assert_eq!(cols[1], "OPEN", "{text}");
    assert_eq!(cols[2], "2", "{text}");
    assert_eq!(cols[3], "Primary DB down", "{text}");
    assert_eq!(cols[5], "db-outage", "{text}");

    // A note shows in the timeline, by itself with --type.
    let text = ok(
        base,
        &["note", &id, "rolled back deploy 42", "--author", "alice"],
    );
    assert!(
        text.starts_with("note ") && text.contains(&format!("added to incident {id}")),
        "{text}"
    );
    let text = ok(base, &["timeline", &id]);
    assert!(text.contains("Incident created"), "{text}");
    assert!(
        text.contains("\"Primary DB down\", impact 2 (high), plan db-outage"),
        "{text}"
    );
    let note_line = text
        .lines()
        .find(|l| l.contains("Note"))
        .unwrap_or_else(|| panic!("no note in the timeline:\n{text}"));
    assert!(note_line.contains("alice: rolled back deploy 42"), "{text}");
    // Each line starts with the event's instant.
    for l in text.lines() {
        let t = l.split_whitespace().next().unwrap();
        assert!(t.parse::<jiff::Timestamp>().is_ok(), "{l}");
    }
    let text = ok(base, &["timeline", &id, "--type", "Note"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("alice: rolled back deploy 42"), "{text}");

    // update: impact 2 → 3 is an event; the record says 3.
    let text = ok(
        base,
        &[
            "update",
            &id,
            "--impact",
            "3",
            "--summary",
            "replica promoted",
        ],
    );
    assert!(text.contains("impact 3 (medium)"), "{text}");
    let text = ok(base, &["timeline", &id, "--type", "Impact changed"]);
    assert!(text.contains("2 (high) → 3 (medium) by api"), "{text}");
    // Newest first, one event: the latest is the impact change.
    let text = ok(base, &["timeline", &id, "--desc", "--limit", "1"]);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("Impact changed"), "{text}");
    // Paging: two events per request still gives every event, in order.
    let all = ok_json(base, &["timeline", &id])["eventSummaries"]
        .as_array()
        .unwrap()
        .clone();
    let paged = ok_json(base, &["timeline", &id, "--page-size", "2"])["eventSummaries"]
        .as_array()
        .unwrap()
        .clone();
    assert!(all.len() >= 4, "{all:?}");
    assert_eq!(
        all.iter().map(|e| &e["eventId"]).collect::<Vec<_>>(),
        paged.iter().map(|e| &e["eventId"]).collect::<Vec<_>>()
    );

    // show: the record, the engagement of alice, the runbook waiting at Triage, the events.
    let deadline = Instant::now() + Duration::from_secs(60);
    let shown = loop {
        let v = ok_json(base, &["show", &id]);
        let waiting = v["executions"][0]["waiting_for"]["step"] == "Triage";
        if waiting && v["engagements"].as_array().is_some_and(|e| !e.is_empty()) {
            break v;
        }
        assert!(
            Instant::now() < deadline,
            "the runbook never waited at Triage: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(shown["incidentRecord"]["impact"], 3);
    assert_eq!(shown["incidentRecord"]["summary"], "replica promoted");
    let engagement = shown["engagements"][0]["engagementId"]
        .as_str()
        .unwrap()
        .to_owned();
    let exec = shown["executions"][0]["id"].as_str().unwrap().to_owned();
    let text = ok(base, &["show", &id]);
    assert!(
        text.starts_with(&format!("incident {id}  OPEN  impact 3 (medium)")),
        "{text}"
    );
    for needle in [
        "title      Primary DB down",
        "summary    replica promoted",
        "plan       db-outage",
        &format!("INVOLVED_RESOURCE {instance}"),
        &engagement,
        "sre",
        &exec,
        "incident-triage",
        "waiting at Triage (Resume, StopStep)",
        "alice: rolled back deploy 42",
    ] {
        assert!(text.contains(needle), "show lacks {needle:?}:\n{text}");
    }
    // The ARN names the same incident as its id.
    let by_arn = ok_json(base, &["show", &arn]);
    assert_eq!(by_arn["incidentRecord"]["arn"], arn.as_str());

    // A second incident, then resolve the first.
    let other = ok(base, &["start", "db-outage", "--impact", "4"])
        .trim()
        .to_owned();
    let other_id = other.rsplit('/').next().unwrap().to_owned();
    assert_ne!(other_id, id);
    let text = ok(base, &["resolve", &id]);
    assert!(
        text.starts_with(&format!("incident {id} is RESOLVED at ")) && text.contains(" after "),
        "{text}"
    );
    let text = ok(base, &["timeline", &id, "--type", "Status changed"]);
    assert!(
        text.contains("OPEN → RESOLVED by api, resolved after"),
        "{text}"
    );

    // list by status: the resolved one only with RESOLVED, the other only with OPEN.
    let text = ok(base, &["list", "--status", "RESOLVED"]);
    assert_eq!(rows_with(&text, &id).len(), 1, "{text}");
    assert!(rows_with(&text, &id)[0].contains("RESOLVED"), "{text}");
    assert!(rows_with(&text, &other_id).is_empty(), "{text}");
    let text = ok(base, &["list", "--status", "open"]);
    assert!(rows_with(&text, &id).is_empty(), "{text}");
    assert_eq!(rows_with(&text, &other_id).len(), 1, "{text}");
    let text = ok(base, &["list", "--impact", "4", "--plan", "db-outage"]);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains(&other_id), "{text}");
    // One per request follows nextToken to the end; --limit stops early.
    let v = ok_json(base, &["list", "--page-size", "1"]);
    let ids: Vec<&str> = v["incidentRecordSummaries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["arn"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [other.as_str(), arn.as_str()], "newest first: {v}");
    let v = ok_json(base, &["list", "--limit", "1"]);
    assert_eq!(v["incidentRecordSummaries"].as_array().unwrap().len(), 1);

    // Refusals name what is wrong and exit 1.
    let err = refused(base, &["start", "no-such-plan"]);
    assert!(
        err.contains("404 not-found") && err.contains("no response plan \"no-such-plan\""),
        "{err}"
    );
    let err = refused(base, &["start", "db-outage", "--impact", "9"]);
    assert!(
        err.contains("400 invalid-input") && err.contains("`impact`"),
        "{err}"
    );
    let err = refused(base, &["update", &other_id, "--impact", "9"]);
    assert!(err.contains("`impact`") && err.contains("1-5"), "{err}");
    let err = refused(base, &["update", &other_id, "--title", ""]);
    assert!(err.contains("`title`"), "{err}");
    let err = refused(base, &["note", &other_id, "   "]);
    assert!(err.contains("`content`"), "{err}");
    let err = refused(base, &["show", "no-such-incident"]);
    assert!(err.contains("404 not-found"), "{err}");
    let err = refused(base, &["update", &other_id]);
    assert!(err.contains("--title") && err.contains("--impact"), "{err}");
    let err = refused(base, &["list", "--impact", "9"]);
    assert!(err.contains("--impact"), "{err}");
    // Nothing was created by the refusals.
    let v = ok_json(base, &["list"]);
    assert_eq!(
        v["incidentRecordSummaries"].as_array().unwrap().len(),
        2,
        "{v}"
    );
}

#[test]
fn without_a_server_incident_commands_say_how_to_start_one() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["incident", "list"],
        vec!["incident", "start", "db-outage"],
        vec!["incident", "timeline", "x"],
    ] {
        let mut all = args.clone();
        all.extend(["--server", &url]);
        let out = tocsin(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("no tocsin server answers at {url}"))
                && err.contains("tocsin serve")
                && err.contains("--server"),
            "{args:?}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

/// Every `route` call of the server's source: path → methods (lowercase).
fn routes_in_source() -> BTreeMap<String, BTreeSet<String>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/server");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sources in {}", dir.display());
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let text: String = std::fs::read_to_string(&f)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for (path, methods) in parse_routes(&text) {
            routes.entry(path).or_default().extend(methods);
        }
    }
    routes
}

/// `(path, methods)` of each `.route("PATH", get(a).post(b))`, also when split over lines.
fn parse_routes(text: &str) -> Vec<(String, BTreeSet<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        let Some(after_quote) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let end = after_quote.find('"').unwrap();
        let path = after_quote[..end].to_owned();
        // The handler chain up to the `)` that closes `.route(`.
        let chain = &after_quote[end + 1..];
        let mut depth = 1;
        let mut close = chain.len();
        for (k, c) in chain.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        close = k;
                        break;
                    }
                }
                _ => {}
            }
        }
        let chain = &chain[..close];
        let mut methods = BTreeSet::new();
        for m in ["get", "post", "put", "delete", "patch", "head", "options"] {
            let mut from = 0;
            while let Some(k) = chain[from..].find(&format!("{m}(")) {
                let at = from + k;
                let before = chain[..at].chars().next_back();
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    methods.insert(m.to_owned());
                }
                from = at + m.len();
            }
        }
        assert!(!methods.is_empty(), "no method for route {path}: {chain}");
        out.push((path, methods));
    }
    out
}

#[test]
fn the_route_parser_reads_chains_over_lines() {
    let src = r#"
        .route("/a", get(x).post(y))
        .route(
            "/b/{id}",
            get(get_b).put(put_b).delete(delete_b),
        )
        .route("/c", post(handler_get))
    "#;
    let r = parse_routes(src);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(r[0], ("/a".into(), s(&["get", "post"])));
    assert_eq!(r[1], ("/b/{id}".into(), s(&["get", "put", "delete"])));
    assert_eq!(r[2], ("/c".into(), s(&["post"])));
}

#[test]
fn openapi_documents_every_route() {
    let data = tempfile::tempdir().unwrap();
    let srv = Server::start(data.path(), None, None);
    let resp = reqwest::blocking::get(format!("{}/v1/openapi.json", srv.base)).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = resp.json().unwrap();

    // Structure: OpenAPI 3.1, info, paths with operations that answer something.
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1.")),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let verbs = ["get", "post", "put", "delete", "patch", "head", "options"];
    for (p, item) in paths {
        assert!(p.starts_with('/'), "{p}");
        for (k, op) in item.as_object().unwrap() {
            if verbs.contains(&k.as_str()) {
                assert!(
                    op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                    "{k} {p} has no responses"
                );
            }
        }
    }
    for schema in [
        "StartIncident",
        "IncidentRecord",
        "TimelineEvent",
        "Engagement",
        "Page",
        "Receipt",
        "Error",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "no schema {schema}"
        );
    }
    let err = &doc["components"]["schemas"]["Error"]["properties"];
    assert!(
        err["error"].is_object()
            && err["message"].is_object()
            && err["errors"]["items"]["properties"]["field"].is_object()
    );

    // Every route the server's source registers is documented, with each of its methods; every
    // documented path (placeholders aside) is routed, with no method it does not answer.
    let routes = routes_in_source();
    assert!(routes.contains_key("/v1/incidents") && routes.contains_key("/v1/openapi.json"));
    let mut problems = Vec::new();
    for (path, methods) in &routes {
        let Some(item) = paths.get(path) else {
            problems.push(format!(
                "{path} ({}) is routed but not documented",
                methods.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
            continue;
        };
        if item["x-tocsin-placeholder"] == true {
            eprintln!("note: {path} is routed now; document it and drop x-tocsin-placeholder");
            continue;
        }
        for m in methods {
            if !item[m].is_object() {
                problems.push(format!(
                    "{} {path} is routed but has no operation",
                    m.to_uppercase()
                ));
            }
        }
        for m in verbs {
            if item[m].is_object() && !methods.contains(m) {
                problems.push(format!(
                    "{} {path} is documented but not routed",
                    m.to_uppercase()
                ));
            }
        }
    }
    for (path, item) in paths {
        if item["x-tocsin-placeholder"] != true && !routes.contains_key(path) {
            problems.push(format!("{path} is documented but not routed"));
        }
    }
    assert!(
        problems.is_empty(),
        "the OpenAPI document (engine/src/server/openapi.yaml) and the routes differ:\n  {}",
        problems.join("\n  ")
    );

    // And it is valid OpenAPI by an independent validator.
    let file = data.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    let python = peer_bin().join("python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask test` to install the test peers)", python.display()));
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("valid"),
        "openapi-spec-validator refused the document:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
