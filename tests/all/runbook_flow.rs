//! Runbook flow end to end through the real binary: aws:loop and aws:executeAutomation (child
//! runbooks by name from `--runbooks DIR`), and idempotency keys that are unique per entry into a
//! step (loop iterations, StartStep re-runs) while stable across retries of one attempt.

use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::runbook_exec::{Server, keys, peer, step, webhook_config};

/// `hooks:call` of `/<path>` carrying `extra` (YAML flow-mapping entries) in its JSON body.
fn call(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    format!(
        "{{ url: 'http://{addr}{path}', json: {{ path: '{path}'{extra} }}, fail_on_status: true }}"
    )
}

/// The bodies the peer received on `path`.
fn bodies_of(v: &[Value], key: &str) -> Vec<String> {
    v.iter()
        .map(|b| b[key].as_str().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn a_loop_of_webhook_calls_sends_a_distinct_key_per_iteration_and_start_step_a_new_one() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(config.path()), None);
    let yaml = format!(
        "schemaVersion: '0.3'\nparameters:\n  Hosts: {{ type: StringList, default: [a, b, c] }}\noutputs: [Each.CurrentIteration]\nmainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: '{{{{ Hosts }}}}'\n      Steps:\n        - name: Call\n          action: hooks:call\n          inputs: {}\n",
        call(addr, "/loop", ", host: '{{ Each.CurrentIteratorValue }}'")
    );
    let id = server.start_inline(&yaml, json!({}));
    let v = server.wait_status(&id, "Success");
    assert_eq!(v["outputs"]["Each.CurrentIteration"], 3, "{v}");
    // One call per iteration, each with its own key: a provider deduping on the key performs all.
    assert_eq!(
        keys(&seen, "/loop"),
        (1..=3)
            .map(|run| format!("{id}/Call#{run}/1"))
            .collect::<Vec<_>>()
    );
    let history: Vec<(u64, &str)> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "Call")
        .map(|s| (s["run"].as_u64().unwrap(), s["status"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [(1, "Success"), (2, "Success"), (3, "Success")]);

    // Re-running the loop from StartStep enters Call three more times: three more new keys.
    server.signal(&id, json!({"signal": "StartStep", "step": "Each"}));
    server.wait_for(&id, "the re-run to end", |v| {
        v["status"] == "Success" && step(v, "Call")["run"] == 6
    });
    let all = keys(&seen, "/loop");
    assert_eq!(
        all,
        (1..=6)
            .map(|run| format!("{id}/Call#{run}/1"))
            .collect::<Vec<_>>()
    );
}

/// A child runbook that calls the peer for `Service` and exports the answer.
fn child_runbook(addr: std::net::SocketAddr) -> String {
    format!(
        "schemaVersion: '0.3'\ndescription: restart one service\nparameters:\n  Service: {{ type: String }}\noutputs: [Restart.Value]\nmainSteps:\n  - name: Restart\n    action: hooks:call\n    inputs: {}\n    outputs: [{{ Name: Value, Selector: '$.json.value', Type: Integer }}]\n",
        call(addr, "/restart", ", service: '{{ Service }}'")
    )
}

const PARENT: &str = "schemaVersion: '0.3'\nparameters:\n  Services: { type: StringList }\noutputs: [Each.CurrentIteration, Child.Output]\nmainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: '{{ Services }}'\n      Steps:\n        - name: Child\n          action: aws:executeAutomation\n          inputs:\n            DocumentName: restart-service\n            RuntimeParameters: { Service: '{{ Each.CurrentIteratorValue }}' }\n  - name: Missing\n    action: aws:executeAutomation\n    onFailure: Continue\n    isCritical: false\n    inputs: { DocumentName: no-such-runbook }\n";

#[test]
fn execute_automation_runs_a_child_by_name_from_the_runbooks_dir_in_a_loop_and_returns_its_outputs()
{
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, seen) = peer(&rt);
    let config = webhook_config(addr);
    let runbooks = tempfile::tempdir().unwrap();
    std::fs::write(
        runbooks.path().join("restart-service.yaml"),
        child_runbook(addr),
    )
    .unwrap();
    std::fs::write(runbooks.path().join("remediate.yaml"), PARENT).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), Some(config.path()), Some(runbooks.path()));
    let (s, v) = server.post(
        "/v1/executions",
        json!({"document": "remediate", "parameters": {"Services": ["api", "db"]}}),
    );
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let v = server.wait_status(&id, "Success");

    // The child's outputs are the step's `Output`; its id and status come with them.
    let child = step(&v, "Child");
    assert_eq!(child["status"], "Success", "{v}");
    assert_eq!(child["outputs"]["Status"], "Success");
    assert_eq!(child["outputs"]["Output"], json!({"Restart.Value": 42}));
    assert_eq!(v["outputs"]["Child.Output"], json!({"Restart.Value": 42}));
    assert_eq!(v["outputs"]["Each.CurrentIteration"], 2);
    // An unknown child document fails the step with a message naming it (Continue: run goes on).
    let missing = step(&v, "Missing");
    assert_eq!(missing["status"], "Failed");
    assert!(
        missing["outputs"]["Output"]["Error"]
            .as_str()
            .unwrap_or("")
            .contains("no-such-runbook"),
        "{missing}"
    );

    // One child execution per iteration, each linked to the parent step, each with its own key.
    let list = server.get("/v1/executions")["executions"]
        .as_array()
        .unwrap()
        .clone();
    let children: Vec<&Value> = list
        .iter()
        .filter(|e| e["parent"]["execution_id"] == id.as_str())
        .collect();
    assert_eq!(children.len(), 2, "{list:?}");
    let mut child_ids = Vec::new();
    for c in &children {
        assert_eq!(
            (
                c["document"].as_str(),
                c["status"].as_str(),
                c["parent"]["step"].as_str()
            ),
            (Some("restart-service"), Some("Success"), Some("Child"))
        );
        child_ids.push(c["id"].as_str().unwrap().to_owned());
    }
    let child_history: Vec<String> = v["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["name"] == "Child")
        .map(|s| s["outputs"]["ExecutionId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(child_history.len(), 2, "{v}");
    for c in &child_history {
        assert!(child_ids.contains(c), "{c} not in {child_ids:?}");
    }
    let mut sent = keys(&seen, "/restart");
    sent.sort();
    let mut expected: Vec<String> = child_ids
        .iter()
        .map(|c| format!("{c}/Restart#1/1"))
        .collect();
    expected.sort();
    assert_eq!(sent, expected);
    let bodies: Vec<Value> = child_ids
        .iter()
        .map(|c| server.get(&format!("/v1/executions/{c}")))
        .map(|c| step(&c, "Restart")["inputs"]["json"].clone())
        .collect();
    let mut services = bodies_of(&bodies, "service");
    services.sort();
    assert_eq!(services, ["api", "db"]);
}

#[test]
fn tocsin_run_finds_child_runbooks_next_to_the_file_and_loops_over_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("greet-one.yaml"),
        "schemaVersion: '0.3'\nparameters:\n  Who: { type: String }\noutputs: [Greet.Output]\nmainSteps:\n  - { name: Greet, action: 'console:notify', inputs: { message: 'hello {{ Who }}' } }\n",
    )
    .unwrap();
    let parent = dir.path().join("greet-all.yaml");
    std::fs::write(
        &parent,
        "schemaVersion: '0.3'\nparameters:\n  People: { type: StringList }\nmainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: '{{ People }}'\n      Steps:\n        - name: One\n          action: aws:executeAutomation\n          inputs: { DocumentName: greet-one, RuntimeParameters: { Who: '{{ Each.CurrentIteratorValue }}' } }\n",
    )
    .unwrap();
    let out = Command::new(tocsin_bin())
        .args(["run", "--local", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&parent)
        .args(["-p", "People=ann,bob,cy"])
        .env("TOCSIN_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let one = stdout
        .lines()
        .filter(|l| l.contains("One") && l.contains("Success"))
        .count();
    assert_eq!(one, 3, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("Each") && l.contains("Success")),
        "{stdout}"
    );
}
