//! Runbook executions end to end: the real `tocsin serve` over HTTP, real plugins (console,
//! webhook against a local HTTP peer), signals, retries, StartStep, and `kill -9` + restart.
//! Waits poll the API until a state is reached; nothing asserts on elapsed time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

/// A `tocsin serve` child on a loopback port; killed on drop. Shared by the suite's server tests.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(crate) fn start(data: &Path, config: Option<&Path>, runbooks: Option<&Path>) -> Server {
        let mut cmd = Command::new(tocsin_bin());
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        if let Some(r) = runbooks {
            cmd.arg("--runbooks").arg(r);
        }
        let mut child = cmd
            .env("TOCSIN_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .trim()
            .strip_prefix("tocsin listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Server { child, base }
    }

    pub(crate) fn kill9(&mut self) {
        let status = Command::new("kill")
            .arg("-9")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }

    pub(crate) fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    pub(crate) fn get(&self, path: &str) -> Value {
        reqwest::blocking::get(format!("{}{path}", self.base))
            .unwrap()
            .json()
            .unwrap()
    }

    pub(crate) fn start_inline(&self, yaml: &str, params: Value) -> String {
        let (status, v) = self.post(
            "/v1/executions",
            json!({"content": yaml, "parameters": params}),
        );
        assert_eq!(status, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    pub(crate) fn signal(&self, id: &str, body: Value) -> Value {
        let (status, v) = self.post(&format!("/v1/executions/{id}/signal"), body);
        assert_eq!(status, 200, "{v}");
        v
    }

    /// Poll until `pred` holds for the execution (panics after a generous minute: a hang, not a
    /// timing assertion).
    pub(crate) fn wait_for(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        for _ in 0..1200 {
            let v = self.get(&format!("/v1/executions/{id}"));
            if pred(&v) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "execution {id} never reached: {what}; last state {}",
            self.get(&format!("/v1/executions/{id}"))
        );
    }

    pub(crate) fn wait_status(&self, id: &str, status: &str) -> Value {
        self.wait_for(id, status, |v| v["status"] == status)
    }

    pub(crate) fn wait_waiting_at(&self, id: &str, step: &str) -> Value {
        self.wait_for(id, &format!("waiting at {step}"), |v| {
            v["waiting_for"]["step"] == step
        })
    }
}

pub(crate) fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no step {name} in {v}"))
}

/// A webhook instance allowed to reach `addr`.
pub(crate) fn webhook_config(addr: std::net::SocketAddr) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("hooks.yaml"),
        format!("kind: Plugin\nname: hooks\nplugin: webhook\nallow: {{http: ['http://{addr}']}}\nlimits: {{timeout_ms: 20000}}\n"),
    )
    .unwrap();
    dir
}

/// Requests a peer received: (path, idempotency-key header).
pub(crate) type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A peer answering by path: `/ok` 200, `/fail` 400, `/flaky` 503 the first time then 200,
/// `/fail-once` 400 the first time then 200, `/slow` waits 60 s the first time then 200.
pub(crate) fn peer(rt: &tokio::runtime::Runtime) -> (std::net::SocketAddr, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let addr = rt.block_on(http_peer(move |_m, headers, body| {
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        let path = v["path"].as_str().unwrap_or("").to_owned();
        let key = headers
            .get("idempotency-key")
            .and_then(|k| k.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let mut seen = s.lock().unwrap();
        let before = seen.iter().filter(|(p, _)| *p == path).count();
        seen.push((path.clone(), key));
        let ok = (200, r#"{"ok":true,"value":42}"#.to_owned(), Duration::ZERO);
        match (path.as_str(), before) {
            ("/fail", _) | ("/fail-once", 0) => (400, r#"{"error":"bad"}"#.into(), Duration::ZERO),
            ("/flaky", 0) => (503, "try later".into(), Duration::ZERO),
            ("/slow", 0) => (200, "{}".into(), Duration::from_secs(60)),
            _ => ok,
        }
    }));
    (addr, seen)
}

pub(crate) fn keys(seen: &Seen, path: &str) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, k)| k.clone())
        .collect()
}

pub(crate) fn hook_step(name: &str, addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    action: hooks:call\n{extra}    inputs:\n      url: 'http://{addr}{path}'\n      json: {{ path: '{path}' }}\n      fail_on_status: true\n"
    )
}

#[test]
fn runbook_with_console_branch_sleep_pause_approval_and_on_failure_runs_over_http() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(config.path()), None);
    let yaml = format!(
        "schemaVersion: '0.3'\nparameters:\n  Who: {{ type: String }}\n  Level: {{ type: Integer, default: 3 }}\noutputs: [Approve.ApprovalStatus, Query.Value]\nmainSteps:\n  - name: Hello\n    action: console:notify\n    inputs: {{ message: 'hello {{{{ Who }}}}' }}\n  - name: Route\n    action: aws:branch\n    inputs:\n      Choices:\n        - {{ NextStep: Nap, Variable: '{{{{ Level }}}}', NumericGreater: 2 }}\n      Default: Skipped\n  - name: Skipped\n    action: console:notify\n    isEnd: true\n    inputs: {{ message: skipped }}\n  - name: Nap\n    action: aws:sleep\n    inputs: {{ Duration: PT1S }}\n  - name: Hold\n    action: aws:pause\n  - name: Approve\n    action: aws:approve\n    inputs: {{ Approvers: [alice, bob], MinRequiredApprovals: 1, Message: go? }}\n{}    onFailure: step:Recover\n{}  - name: Recover\n    action: console:notify\n    inputs: {{ message: recovered }}\n{}",
        hook_step("Break", addr, "/fail", ""),
        hook_step("Unreached", addr, "/ok", "")
            .replace("    inputs:", "    isEnd: true\n    inputs:"),
        hook_step(
            "Query",
            addr,
            "/ok",
            "    outputs: [{ Name: Value, Selector: '$.json.value', Type: Integer }]\n"
        ),
    );
    let id = server.start_inline(&yaml, json!({"Who": "ops"}));
    let v = server.wait_waiting_at(&id, "Hold");
    assert_eq!(v["status"], "Waiting");
    for s in ["Hello", "Route", "Nap"] {
        assert_eq!(step(&v, s)["status"], "Success", "{s}: {v}");
    }
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "Skipped"),
        "the branch went to Nap"
    );

    server.signal(&id, json!({"signal": "Resume"}));
    server.wait_waiting_at(&id, "Approve");
    // Someone not listed cannot approve: the signal changes nothing (409).
    let (status, v) = server.post(
        &format!("/v1/executions/{id}/signal"),
        json!({"signal": "Approve", "approver": "mallory"}),
    );
    assert_eq!((status, v["field"].as_str()), (409, Some("signal")), "{v}");
    server.signal(&id, json!({"signal": "Approve", "approver": "alice"}));

    let v = server.wait_status(&id, "Success");
    assert_eq!(step(&v, "Break")["status"], "Failed");
    assert!(
        step(&v, "Break")["failure"]
            .as_str()
            .unwrap()
            .contains("400"),
        "{v}"
    );
    assert_eq!(step(&v, "Recover")["status"], "Success");
    assert_eq!(v["outputs"]["Approve.ApprovalStatus"], "Approved");
    assert_eq!(v["outputs"]["Query.Value"], 42);
    assert!(
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["name"] != "Unreached")
    );
    assert_eq!(keys(&seen, "/fail"), vec![format!("{id}/Break#1/1")]);
    let history: Vec<&str> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "Hello", "Route", "Nap", "Hold", "Approve", "Break", "Recover", "Query"
        ]
    );
    assert!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["duration_ms"].is_u64())
    );

    let list = server.get("/v1/executions");
    assert_eq!(list["executions"].as_array().unwrap().len(), 1);
}

#[test]
fn retryable_webhook_failures_are_retried_with_one_key_per_attempt() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(config.path()), None);
    let yaml = format!(
        "schemaVersion: '0.3'\nmainSteps:\n{}",
        hook_step("Call", addr, "/flaky", "    maxAttempts: 3\n")
    );
    let id = server.start_inline(&yaml, json!({}));
    let v = server.wait_status(&id, "Success");
    assert_eq!(step(&v, "Call")["attempt"], 2);
    assert_eq!(
        keys(&seen, "/flaky"),
        vec![format!("{id}/Call#1/1"), format!("{id}/Call#1/2")]
    );
}

#[test]
fn start_step_reruns_a_failed_execution_from_the_named_step() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(config.path()), None);
    let yaml = format!(
        "schemaVersion: '0.3'\nmainSteps:\n  - name: First\n    action: console:notify\n    inputs: {{ message: first }}\n{}",
        hook_step("Deploy", addr, "/fail-once", "")
    );
    let id = server.start_inline(&yaml, json!({}));
    let v = server.wait_status(&id, "Failed");
    assert!(v["failure"].as_str().unwrap().contains("Deploy"), "{v}");
    let (status, e) = server.post(
        &format!("/v1/executions/{id}/signal"),
        json!({"signal": "StartStep"}),
    );
    assert_eq!((status, e["field"].as_str()), (400, Some("step")), "{e}");
    server.signal(&id, json!({"signal": "StartStep", "step": "Deploy"}));
    let v = server.wait_status(&id, "Success");
    assert_eq!(step(&v, "Deploy")["status"], "Success");
    let history: Vec<(&str, &str)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        history,
        [
            ("First", "Success"),
            ("Deploy", "Failed"),
            ("Deploy", "Success")
        ]
    );
    // The re-run is attempt 1 of a new run of Deploy: a new key, so a provider deduping on it
    // performs the re-run instead of replaying the failure.
    assert_eq!(
        keys(&seen, "/fail-once"),
        vec![format!("{id}/Deploy#1/1"), format!("{id}/Deploy#2/1")]
    );
    assert_eq!(
        (
            step(&v, "Deploy")["run"].as_u64(),
            step(&v, "Deploy")["attempt"].as_u64()
        ),
        (Some(2), Some(1))
    );
}

#[test]
fn bad_execution_requests_are_4xx_naming_the_field_and_write_nothing() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), None, None);
    let (s, v) = server.post("/v1/executions", json!({"document": "nope"}));
    assert_eq!(
        (s, v["field"].as_str(), v["error"].as_str()),
        (404, Some("document"), Some("unknown-document")),
        "{v}"
    );
    let yaml = "schemaVersion: '0.3'\nparameters:\n  N: { type: Integer }\nmainSteps:\n  - { name: P, action: 'aws:pause' }\n";
    let (s, v) = server.post(
        "/v1/executions",
        json!({"content": yaml, "parameters": {"N": "many"}}),
    );
    assert_eq!((s, v["field"].as_str()), (422, Some("parameters.N")), "{v}");
    let (s, v) = server.post("/v1/executions", json!({"content": yaml}));
    assert_eq!((s, v["field"].as_str()), (422, Some("parameters.N")), "{v}");
    let (s, v) = server.post("/v1/executions", json!({"content": "schemaVersion: '0.3'\nmainSteps:\n  - { name: X, action: 'aws:executeScript' }\n"}));
    assert_eq!((s, v["field"].as_str()), (422, Some("content")), "{v}");
    assert!(
        v["diagnostics"].is_object() || v["diagnostics"].is_array(),
        "{v}"
    );
    let (s, v) = server.post("/v1/executions", json!({"parameters": {}}));
    assert_eq!((s, v["field"].as_str()), (400, Some("document")), "{v}");
    let (s, _) = server.post("/v1/executions", json!({"content": yaml, "bogus": 1}));
    assert_eq!(s, 400);
    assert_eq!(
        server.get("/v1/executions")["executions"],
        json!([]),
        "nothing was written"
    );

    let id = server.start_inline(yaml, json!({"N": 3}));
    let (s, v) = server.post(
        &format!("/v1/executions/{id}/signal"),
        json!({"signal": "Wake"}),
    );
    assert_eq!((s, v["field"].as_str()), (400, Some("signal")), "{v}");
    let (s, v) = server.post(
        "/v1/executions/does-not-exist/signal",
        json!({"signal": "Resume"}),
    );
    assert_eq!(
        (s, v["error"].as_str()),
        (404, Some("unknown-execution")),
        "{v}"
    );
    let (s, v) = server.post(&format!("/v1/executions/{id}/cancel"), json!({}));
    assert_eq!((s, v["status"].as_str()), (200, Some("Cancelled")), "{v}");
}

#[test]
fn the_critical_incident_lifecycle_example_runs_through_signals() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), None, Some(&workspace().join("runbooks")));
    let (s, v) = server.post(
        "/v1/executions",
        json!({"document": "critical-incident-lifecycle", "parameters": {"Approvers": ["lead"]},
               "incident": {"TITLE": "db down", "INCIDENT_RECORD_ARN": "arn:aws:ssm-incidents::1:incident-record/x/1"}}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    for stage in ["Triage", "Diagnosis", "Mitigation", "Recovery"] {
        server.wait_waiting_at(&id, stage);
        server.signal(&id, json!({"signal": "Resume"}));
    }
    server.wait_waiting_at(&id, "CloseIncident");
    // Rejected: back to Recovery (onFailure: step:Recovery), then approved.
    server.signal(
        &id,
        json!({"signal": "Reject", "approver": "lead", "comment": "error rate still high"}),
    );
    server.wait_waiting_at(&id, "Recovery");
    server.signal(&id, json!({"signal": "Resume"}));
    server.wait_waiting_at(&id, "CloseIncident");
    server.signal(&id, json!({"signal": "Approve", "approver": "lead"}));
    let v = server.wait_status(&id, "Success");
    assert_eq!(step(&v, "AnnounceIncident")["status"], "Success");
    assert_eq!(step(&v, "PostIncidentAnalysis")["status"], "Success");
    assert_eq!(v["outputs"]["CloseIncident.ApprovalStatus"], "Approved");
}

#[test]
fn kill_9_then_restart_resumes_sleeping_waiting_and_in_flight_executions() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path(), Some(config.path()), None);
    let sleeping = server.start_inline("schemaVersion: '0.3'\nmainSteps:\n  - { name: Nap, action: 'aws:sleep', inputs: { Duration: PT2S } }\n  - { name: After, action: 'console:notify', inputs: { message: woke } }\n", json!({}));
    let waiting = server.start_inline("schemaVersion: '0.3'\nmainSteps:\n  - { name: Hold, action: 'aws:pause' }\n  - { name: After, action: 'console:notify', inputs: { message: resumed } }\n", json!({}));
    let in_flight = server.start_inline(
        &format!(
            "schemaVersion: '0.3'\nmainSteps:\n{}",
            hook_step("Slow", addr, "/slow", "")
        ),
        json!({}),
    );
    // Several accepted executions, to check none is lost.
    let many: Vec<String> = (0..5)
        .map(|_| {
            server.start_inline(
                "schemaVersion: '0.3'\nmainSteps:\n  - { name: Hold, action: 'aws:pause' }\n",
                json!({}),
            )
        })
        .collect();
    server.wait_waiting_at(&waiting, "Hold");
    // The slow call has reached the peer (and is being held there).
    for _ in 0..1200 {
        if !keys(&seen, "/slow").is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(keys(&seen, "/slow"), vec![format!("{in_flight}/Slow#1/1")]);
    assert_eq!(
        server.get(&format!("/v1/executions/{sleeping}"))["status"],
        "InProgress",
        "still sleeping at the kill"
    );

    server.kill9();
    let server = Server::start(data.path(), Some(config.path()), None);

    server.signal(&waiting, json!({"signal": "Resume"}));
    for id in [&sleeping, &waiting, &in_flight] {
        let v = server.wait_status(id, "Success");
        assert!(
            v["history"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["status"] == "Success"),
            "{v}"
        );
    }
    // The in-flight call was sent again after the restart with the same key and attempt.
    assert_eq!(
        keys(&seen, "/slow"),
        vec![
            format!("{in_flight}/Slow#1/1"),
            format!("{in_flight}/Slow#1/1")
        ]
    );
    let v = server.get(&format!("/v1/executions/{in_flight}"));
    assert_eq!(step(&v, "Slow")["attempt"], 1);
    // The sleep fired once: one history entry for Nap.
    let v = server.get(&format!("/v1/executions/{sleeping}"));
    assert_eq!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["name"] == "Nap")
            .count(),
        1
    );
    let listed: Vec<String> = server.get("/v1/executions")["executions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    for id in many.iter().chain([&sleeping, &waiting, &in_flight]) {
        assert!(listed.contains(id), "{id} was lost");
    }
    for id in &many {
        server.wait_waiting_at(id, "Hold");
    }
}

#[test]
fn tocsin_run_prints_a_line_per_step_and_exits_by_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let rb = dir.path().join("hello.yaml");
    std::fs::write(
        &rb,
        "schemaVersion: '0.3'\nparameters:\n  Who: { type: String }\nmainSteps:\n  - { name: Greet, action: 'console:notify', inputs: { message: 'hi {{ Who }}' } }\n  - { name: Nap, action: 'aws:sleep', inputs: { Duration: PT0S } }\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        Command::new(tocsin_bin())
            .args(["run", "--local", "--data-dir"])
            .arg(dir.path().join("data"))
            .arg(&rb)
            .args(extra)
            .env("TOCSIN_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&["-p", "Who=ops"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("Greet") && l.contains("Success") && l.contains("ms")),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("Nap") && l.contains("Success")),
        "{stdout}"
    );
    let out = run(&[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`Who`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
