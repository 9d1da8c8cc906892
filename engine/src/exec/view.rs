//! An execution as JSON for the API and the CLI.

use serde_json::{Value, json};

use crate::runbook::interp::StepRecord;
use crate::store::StoredExecution;

fn step_json(r: &StepRecord, action: &str) -> Value {
    let duration_ms = match (r.started_at, r.ended_at) {
        (Some(s), Some(e)) => Some(e.duration_since(s).as_millis()),
        _ => None,
    };
    json!({
        "name": r.name,
        "action": action,
        "status": r.status,
        "run": r.run,
        "attempt": r.attempt,
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "duration_ms": duration_ms,
        "inputs": r.inputs,
        "outputs": r.outputs,
        "failure": r.failure,
        "decisions": r.decisions.iter().map(|(a, ok)| json!({"approver": a, "approved": ok})).collect::<Vec<_>>(),
    })
}

/// `{ id, document, status, current, waiting_for, started_at, ended_at, failure, outputs,
/// parent, steps: [latest run of each step], history: [every step run that ended, in order] }`.
pub fn view(stored: &StoredExecution, history: &[StepRecord]) -> Value {
    let ex = &stored.execution;
    let action = |name: &str| {
        ex.document
            .step(name)
            .map_or(String::new(), |s| s.action.name().to_string())
    };
    let waiting_for = ex.current.as_deref().and_then(|c| {
        let r = ex.record(c)?;
        if r.status != crate::runbook::interp::Status::Waiting {
            return None;
        }
        let signals = match action(c).as_str() {
            "aws:pause" => vec!["Resume", "StopStep"],
            "aws:approve" => vec!["Approve", "Reject", "StopStep"],
            _ => vec!["StopStep"],
        };
        Some(json!({"step": c, "action": action(c), "signals": signals}))
    });
    json!({
        "id": ex.id,
        "document": stored.summary.document,
        "status": ex.status,
        "current": ex.current,
        "waiting_for": waiting_for,
        "created_at": stored.summary.created_at,
        "started_at": ex.started_at,
        "ended_at": ex.ended_at,
        "failure": ex.failure,
        "outputs": ex.outputs,
        "parent": stored.summary.parent,
        "steps": ex.steps.iter().map(|r| step_json(r, &action(&r.name))).collect::<Vec<_>>(),
        "history": history.iter().map(|r| step_json(r, &action(&r.name))).collect::<Vec<_>>(),
    })
}
