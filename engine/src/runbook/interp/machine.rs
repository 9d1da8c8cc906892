//! The transition function. Never panics, never reads the clock: `now` is a parameter.

use super::super::branch;
use super::super::duration::parse_duration;
use super::super::model::{Action, Document, OnCancel, OnFailure, ParamType, Step};
use super::super::template::render;
use super::event::{Effect, Event, PluginOutcome, Signal, Timer, TimerKind};
use super::state::{Execution, LoopFrame, Status, idempotency_key};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

/// Steps entered in one transition without waiting on anything; beyond this the run is failed
/// (a branch cycle whose exit never triggers).
const MAX_INSTANT_STEPS: usize = 10_000;

/// aws:approve waits this long when the step has no timeoutSeconds.
const APPROVE_TIMEOUT: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Delay before retry `attempt + 1` of a retryable failure: 2 s, 4 s, 8 s … capped at 5 min.
pub fn backoff(attempt: u32) -> SignedDuration {
    let exp = attempt.saturating_sub(1).min(16);
    SignedDuration::from_secs((2i64 << exp).min(300))
}

/// Start a Pending execution.
pub fn start(ex: Execution, now: Timestamp) -> (Execution, Vec<Effect>) {
    transition(ex, Event::Start, now)
}

/// Apply one event.
pub fn transition(ex: Execution, event: Event, now: Timestamp) -> (Execution, Vec<Effect>) {
    let mut m = Machine {
        ex,
        now,
        fx: Vec::new(),
        next: None,
    };
    m.handle(event);
    m.drive();
    (m.ex, m.fx)
}

struct Machine {
    ex: Execution,
    now: Timestamp,
    fx: Vec<Effect>,
    /// The step to enter next (iterative, so instant steps never recurse).
    next: Option<String>,
}

/// A step and where it sits.
struct Loc {
    step: Step,
    parent: Option<String>,
    next: Option<String>,
}

fn locate(doc: &Document, name: &str) -> Option<Loc> {
    fn walk(seq: &[Step], parent: Option<&str>, name: &str) -> Option<Loc> {
        for (i, s) in seq.iter().enumerate() {
            if s.name == name {
                return Some(Loc {
                    step: s.clone(),
                    parent: parent.map(str::to_string),
                    next: seq.get(i + 1).map(|n| n.name.clone()),
                });
            }
            if let Action::Loop(l) = &s.action
                && let Some(found) = walk(&l.steps, Some(&s.name), name)
            {
                return Some(found);
            }
        }
        None
    }
    walk(&doc.main_steps, None, name)
}

fn after(now: Timestamp, d: SignedDuration) -> Timestamp {
    now.checked_add(d).unwrap_or(Timestamp::MAX)
}

impl Machine {
    fn handle(&mut self, event: Event) {
        let finished = self.ex.status.is_final();
        match event {
            Event::Start if self.ex.status == Status::Pending => {
                self.ex.status = Status::InProgress;
                self.ex.started_at = Some(self.now);
                let id = self.ex.id.clone();
                self.ex.vars.set("automation:EXECUTION_ID", Value::from(id));
                match self.ex.document.main_steps.first() {
                    Some(s) => self.next = Some(s.name.clone()),
                    None => self.finish(Status::Success, None),
                }
            }
            Event::Signal(Signal::StartStep(name)) => self.start_step(&name),
            _ if finished => {}
            Event::Start => {}
            Event::PluginResult {
                step,
                run,
                attempt,
                outcome,
            } => {
                if self.ex.is_live(&step, run, attempt) {
                    self.plugin_result(&step, attempt, outcome);
                }
            }
            Event::TimerFired(t) => {
                if self.ex.is_live(&t.step, t.run, t.attempt) {
                    self.timer(&t);
                }
            }
            Event::ChildFinished {
                step,
                run,
                execution_id,
                status,
                outputs,
            } => {
                let attempt = self.ex.record(&step).map_or(0, |r| r.attempt);
                if self.ex.is_live(&step, run, attempt) {
                    let mut out = Map::new();
                    out.insert("ExecutionId".into(), Value::from(execution_id));
                    out.insert("Status".into(), json!(status));
                    out.insert("Output".into(), Value::Object(outputs));
                    if status == Status::Success {
                        self.complete(&step, out, None);
                    } else {
                        self.ex.record_mut(&step).outputs = out;
                        self.fail(
                            &step,
                            format!("the child runbook ended {status:?}"),
                            Status::Failed,
                        );
                    }
                }
            }
            Event::Signal(signal) => self.signal(signal),
            Event::Cancel => self.cancel(),
        }
    }

    /// The current run of `step` (0 if it never ran).
    fn run_of(&self, step: &str) -> u32 {
        self.ex.record(step).map_or(0, |r| r.run)
    }

    fn drive(&mut self) {
        let mut entered = 0;
        while let Some(name) = self.next.take() {
            entered += 1;
            if entered > MAX_INSTANT_STEPS {
                self.finish(
                    Status::Failed,
                    Some(format!(
                        "more than {MAX_INSTANT_STEPS} steps ran without waiting; the runbook loops"
                    )),
                );
                return;
            }
            self.enter(&name);
        }
    }

    fn enter(&mut self, name: &str) {
        let Some(loc) = locate(&self.ex.document, name) else {
            self.finish(
                Status::Failed,
                Some(format!("step `{name}` does not exist")),
            );
            return;
        };
        let now = self.now;
        let rec = self.ex.record_mut(name);
        rec.status = Status::InProgress;
        rec.run = rec.run.saturating_add(1);
        rec.attempt = 1;
        rec.started_at = Some(now);
        rec.ended_at = None;
        rec.outputs = Map::new();
        rec.failure = None;
        rec.inputs = None;
        rec.decisions.clear();
        self.ex.current = Some(name.to_string());
        self.ex.status = if self.ex.cancel_requested {
            Status::Cancelling
        } else {
            Status::InProgress
        };
        self.ex.vars.set_now(now);
        let step = loc.step;
        // Conditions are evaluated lazily (a loop's condition reads outputs of its body).
        let mut raw = step.inputs.clone();
        match &step.action {
            Action::Branch(_) => {
                raw.remove("Choices");
            }
            Action::Loop(_) => {
                raw.remove("LoopCondition");
            }
            _ => {}
        }
        let inputs = match render(&Value::Object(raw), &self.ex.vars) {
            Ok(v) => v,
            Err(e) => return self.fail(name, format!("cannot render inputs: {e}"), Status::Failed),
        };
        self.ex.record_mut(name).inputs = Some(inputs.clone());
        let timeout = step.timeout_seconds.map(|s| {
            after(
                now,
                SignedDuration::from_secs(i64::try_from(s).unwrap_or(i64::MAX)),
            )
        });
        match &step.action {
            Action::Pause => {
                self.wait(name);
                self.timeout_timer(name, 1, timeout);
            }
            Action::Approve => {
                self.wait(name);
                self.timeout_timer(
                    name,
                    1,
                    Some(timeout.unwrap_or(after(now, APPROVE_TIMEOUT))),
                );
            }
            Action::Sleep => match sleep_until(&inputs, now) {
                Ok(at) if at <= now => self.complete(name, Map::new(), None),
                Ok(at) => self.fx.push(Effect::StartTimer {
                    at,
                    timer: timer(name, self.run_of(name), 1, TimerKind::Sleep),
                }),
                Err(e) => self.fail(name, e, Status::Failed),
            },
            Action::Branch(b) => match branch::choose(b, &self.ex.vars) {
                Ok(Some(target)) => self.complete(name, Map::new(), Some(target)),
                Ok(None) => self.fail(
                    name,
                    "no choice matched and there is no Default".into(),
                    Status::Failed,
                ),
                Err(e) => self.fail(
                    name,
                    format!("cannot evaluate the choices: {e}"),
                    Status::Failed,
                ),
            },
            Action::ExecuteAutomation => {
                let Some(document_name) = inputs.get("DocumentName").and_then(Value::as_str) else {
                    return self.fail(
                        name,
                        "`DocumentName` must be a string".into(),
                        Status::Failed,
                    );
                };
                self.fx.push(Effect::StartChild {
                    step: name.to_string(),
                    run: self.run_of(name),
                    document_name: document_name.to_string(),
                    document_version: inputs
                        .get("DocumentVersion")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    parameters: inputs
                        .get("RuntimeParameters")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                });
                self.timeout_timer(name, 1, timeout);
            }
            Action::Loop(l) => {
                let items = match &l.over {
                    super::super::model::LoopOver::Iterators(_) => match inputs.get("Iterators") {
                        Some(Value::Array(items)) => {
                            let max = usize::try_from(l.max_iterations).unwrap_or(100);
                            Some(items.iter().take(max).cloned().collect::<Vec<_>>())
                        }
                        other => {
                            let got = other.map_or("nothing".to_string(), Value::to_string);
                            return self.fail(
                                name,
                                format!("`Iterators` must be a list, got {got}"),
                                Status::Failed,
                            );
                        }
                    },
                    super::super::model::LoopOver::Condition(_) => None,
                };
                if items.as_ref().is_some_and(Vec::is_empty) {
                    let mut out = Map::new();
                    out.insert("CurrentIteration".into(), Value::from(0));
                    return self.complete(name, out, None);
                }
                self.ex.loops.push(LoopFrame {
                    step: name.to_string(),
                    iteration: 1,
                    items,
                });
                self.begin_iteration(name);
            }
            Action::Plugin(full) => {
                let (instance, action) = full.split_once(':').unwrap_or((full.as_str(), ""));
                self.fx.push(Effect::CallPlugin {
                    instance: instance.to_string(),
                    action: action.to_string(),
                    input: inputs,
                    idempotency_key: idempotency_key(&self.ex.id, name, self.run_of(name), 1),
                    step: name.to_string(),
                    run: self.run_of(name),
                    attempt: 1,
                    deadline: timeout,
                });
                self.timeout_timer(name, 1, timeout);
            }
        }
    }

    fn wait(&mut self, name: &str) {
        self.ex.record_mut(name).status = Status::Waiting;
        if !self.ex.cancel_requested {
            self.ex.status = Status::Waiting;
        }
    }

    fn timeout_timer(&mut self, name: &str, attempt: u32, at: Option<Timestamp>) {
        if let Some(at) = at {
            self.fx.push(Effect::StartTimer {
                at,
                timer: timer(name, self.run_of(name), attempt, TimerKind::Timeout),
            });
        }
    }

    fn begin_iteration(&mut self, loop_name: &str) {
        let Some(frame) = self.ex.loops.last().cloned() else {
            return;
        };
        self.ex
            .vars
            .set_output(loop_name, "CurrentIteration", Value::from(frame.iteration));
        if let Some(items) = &frame.items {
            let i = usize::try_from(frame.iteration)
                .unwrap_or(1)
                .saturating_sub(1);
            let v = items.get(i).cloned().unwrap_or(Value::Null);
            self.ex
                .vars
                .set_output(loop_name, "CurrentIteratorValue", v);
        }
        let first = locate(&self.ex.document, loop_name).and_then(|l| match l.step.action {
            Action::Loop(l) => l.steps.first().map(|s| s.name.clone()),
            _ => None,
        });
        match first {
            Some(f) => self.next = Some(f),
            None => self.fail(loop_name, "aws:loop has no steps".into(), Status::Failed),
        }
    }

    fn end_iteration(&mut self, loop_name: &str) {
        let Some(loc) = locate(&self.ex.document, loop_name) else {
            return;
        };
        let Action::Loop(l) = &loc.step.action else {
            return;
        };
        let Some(frame) = self.ex.loops.last_mut() else {
            return;
        };
        let done = frame.iteration;
        let more = match &frame.items {
            Some(items) => (done as usize) < items.len() && done < l.max_iterations,
            None => match &l.over {
                super::super::model::LoopOver::Condition(c) => {
                    match branch::evaluate(c, &self.ex.vars) {
                        Ok(again) => again && done < l.max_iterations,
                        Err(e) => {
                            self.ex.loops.pop();
                            return self.fail(
                                loop_name,
                                format!("cannot evaluate LoopCondition: {e}"),
                                Status::Failed,
                            );
                        }
                    }
                }
                super::super::model::LoopOver::Iterators(_) => false,
            },
        };
        if more {
            if let Some(frame) = self.ex.loops.last_mut() {
                frame.iteration += 1;
            }
            self.begin_iteration(loop_name);
        } else {
            self.ex.loops.pop();
            let mut out = Map::new();
            out.insert("CurrentIteration".into(), Value::from(done));
            self.complete(loop_name, out, None);
        }
    }

    fn plugin_result(&mut self, step: &str, attempt: u32, outcome: PluginOutcome) {
        let Some(loc) = locate(&self.ex.document, step) else {
            return;
        };
        match outcome {
            PluginOutcome::Ok(result) => match extract_outputs(&loc.step, &result) {
                Ok(out) => self.complete(step, out, None),
                Err(e) => self.fail(step, e, Status::Failed),
            },
            PluginOutcome::Retryable(msg) if attempt < loc.step.max_attempts => {
                self.retry(step, attempt, msg, backoff(attempt));
            }
            PluginOutcome::RetryLater { message, after_ms } if attempt < loc.step.max_attempts => {
                let asked = SignedDuration::from_millis(after_ms.min(i64::MAX as u64) as i64);
                self.retry(step, attempt, message, backoff(attempt).max(asked));
            }
            PluginOutcome::Retryable(msg) | PluginOutcome::RetryLater { message: msg, .. } => self
                .fail(
                    step,
                    format!("{msg} (gave up after {attempt} attempts)"),
                    Status::Failed,
                ),
            PluginOutcome::Failed(msg) => self.fail(step, msg, Status::Failed),
        }
    }

    fn retry(&mut self, step: &str, attempt: u32, failure: String, wait: SignedDuration) {
        self.ex.record_mut(step).failure = Some(failure);
        self.fx.push(Effect::StartTimer {
            at: after(self.now, wait),
            timer: timer(step, self.run_of(step), attempt, TimerKind::Retry),
        });
    }

    fn timer(&mut self, t: &Timer) {
        match t.kind {
            TimerKind::Sleep => self.complete(&t.step, Map::new(), None),
            TimerKind::Timeout => {
                let secs = locate(&self.ex.document, &t.step)
                    .and_then(|l| l.step.timeout_seconds)
                    .map_or("7 days".to_string(), |s| format!("{s} s"));
                self.fail(&t.step, format!("timed out after {secs}"), Status::TimedOut);
            }
            TimerKind::Retry => {
                let Some(loc) = locate(&self.ex.document, &t.step) else {
                    return;
                };
                let Action::Plugin(full) = &loc.step.action else {
                    return;
                };
                let attempt = t.attempt + 1;
                let rec = self.ex.record_mut(&t.step);
                rec.attempt = attempt;
                let input = rec.inputs.clone().unwrap_or(Value::Null);
                let deadline = loc.step.timeout_seconds.map(|s| {
                    after(
                        self.now,
                        SignedDuration::from_secs(i64::try_from(s).unwrap_or(i64::MAX)),
                    )
                });
                let (instance, action) = full.split_once(':').unwrap_or((full.as_str(), ""));
                self.fx.push(Effect::CallPlugin {
                    instance: instance.to_string(),
                    action: action.to_string(),
                    input,
                    idempotency_key: idempotency_key(&self.ex.id, &t.step, t.run, attempt),
                    step: t.step.clone(),
                    run: t.run,
                    attempt,
                    deadline,
                });
                self.timeout_timer(&t.step, attempt, deadline);
            }
        }
    }

    fn signal(&mut self, signal: Signal) {
        let Some(current) = self.ex.current.clone() else {
            return;
        };
        let Some(loc) = locate(&self.ex.document, &current) else {
            return;
        };
        let waiting = self
            .ex
            .record(&current)
            .is_some_and(|r| r.status == Status::Waiting);
        match (signal, &loc.step.action) {
            (Signal::Resume, Action::Pause) if waiting => self.complete(&current, Map::new(), None),
            (Signal::Approve { approver }, Action::Approve) if waiting => {
                let rec = self.ex.record_mut(&current);
                if !may_approve(rec.inputs.as_ref(), &approver) {
                    return;
                }
                rec.decisions.retain(|(a, _)| *a != approver);
                rec.decisions.push((approver, true));
                let approvals = rec.decisions.iter().filter(|(_, ok)| *ok).count() as u64;
                let needed = rec
                    .inputs
                    .as_ref()
                    .and_then(|i| i.get("MinRequiredApprovals"))
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                if approvals >= needed {
                    let out = approval_outputs("Approved", &rec.decisions);
                    self.complete(&current, out, None);
                }
            }
            (Signal::Reject { approver, comment }, Action::Approve) if waiting => {
                let rec = self.ex.record_mut(&current);
                if !may_approve(rec.inputs.as_ref(), &approver) {
                    return;
                }
                rec.decisions.push((approver.clone(), false));
                rec.outputs = approval_outputs("Rejected", &rec.decisions);
                let why = comment.map_or(String::new(), |c| format!(": {c}"));
                self.fail(
                    &current,
                    format!("rejected by {approver}{why}"),
                    Status::Failed,
                );
            }
            (Signal::StopStep, _) => {
                self.end_cancelled(&current);
                match &loc.step.on_cancel {
                    OnCancel::Step(t) => self.next = Some(t.clone()),
                    OnCancel::Abort => self.finish(
                        Status::Cancelled,
                        Some(format!("step `{current}` was stopped")),
                    ),
                }
            }
            _ => {}
        }
    }

    fn start_step(&mut self, name: &str) {
        let Some(loc) = locate(&self.ex.document, name) else {
            return;
        };
        if loc.parent.is_some() {
            return; // only mainSteps: a loop body restarts with its loop
        }
        if let Some(current) = self.ex.current.clone() {
            self.end_cancelled(&current);
        }
        self.ex.loops.clear();
        self.ex.failure = None;
        self.ex.ended_at = None;
        self.ex.cancel_requested = false;
        self.ex.critical_failure = false;
        self.ex.status = Status::InProgress;
        self.next = Some(name.to_string());
    }

    fn cancel(&mut self) {
        self.ex.cancel_requested = true;
        self.ex.status = Status::Cancelling;
        let Some(current) = self.ex.current.clone() else {
            return self.finish(Status::Cancelled, None);
        };
        self.end_cancelled(&current);
        let on_cancel = locate(&self.ex.document, &current).map(|l| l.step.on_cancel);
        match on_cancel {
            Some(OnCancel::Step(t)) => {
                self.ex.loops.clear();
                self.next = Some(t);
            }
            _ => self.finish(Status::Cancelled, None),
        }
    }

    fn end_cancelled(&mut self, name: &str) {
        let now = self.now;
        let rec = self.ex.record_mut(name);
        rec.status = Status::Cancelled;
        rec.ended_at = Some(now);
        let ended = rec.clone();
        self.fx.push(Effect::StepEnded(ended));
        self.ex.current = None;
    }

    fn complete(&mut self, name: &str, outputs: Map<String, Value>, target: Option<String>) {
        for (k, v) in &outputs {
            self.ex.vars.set_output(name, k, v.clone());
        }
        let now = self.now;
        let rec = self.ex.record_mut(name);
        rec.status = Status::Success;
        rec.ended_at = Some(now);
        rec.outputs = outputs;
        let ended = rec.clone();
        self.fx.push(Effect::StepEnded(ended));
        if self.ex.current.as_deref() == Some(name) {
            self.ex.current = None;
        }
        self.advance(name, target);
    }

    fn advance(&mut self, name: &str, target: Option<String>) {
        let Some(loc) = locate(&self.ex.document, name) else {
            return;
        };
        if let Some(t) = target {
            self.next = Some(t);
        } else if loc.step.is_end {
            self.finish(Status::Success, None);
        } else if let Some(t) = &loc.step.next_step {
            self.next = Some(t.clone());
        } else if let Some(n) = loc.next {
            self.next = Some(n);
        } else if let Some(parent) = loc.parent {
            self.end_iteration(&parent);
        } else {
            self.finish(Status::Success, None);
        }
    }

    fn fail(&mut self, name: &str, msg: String, status: Status) {
        let now = self.now;
        let rec = self.ex.record_mut(name);
        rec.status = status;
        rec.ended_at = Some(now);
        rec.failure = Some(msg.clone());
        let ended = rec.clone();
        self.fx.push(Effect::StepEnded(ended));
        if self.ex.current.as_deref() == Some(name) {
            self.ex.current = None;
        }
        let Some(loc) = locate(&self.ex.document, name) else {
            return;
        };
        match &loc.step.on_failure {
            OnFailure::Continue => {
                if loc.step.is_critical {
                    self.ex.critical_failure = true;
                }
                self.advance(name, None);
            }
            OnFailure::Step(t) => self.next = Some(t.clone()),
            OnFailure::Abort => match loc.parent {
                Some(parent) => {
                    self.ex.loops.pop();
                    self.ex.current = Some(parent.clone());
                    self.fail(
                        &parent,
                        format!("step `{name}` failed: {msg}"),
                        Status::Failed,
                    );
                }
                None => self.finish(status, Some(format!("step `{name}`: {msg}"))),
            },
        }
    }

    fn finish(&mut self, status: Status, failure: Option<String>) {
        let status = match status {
            Status::Success if self.ex.cancel_requested => Status::Cancelled,
            Status::Success if self.ex.critical_failure => Status::Failed,
            other => other,
        };
        self.next = None;
        self.ex.status = status;
        self.ex.ended_at = Some(self.now);
        self.ex.current = None;
        self.ex.loops.clear();
        if failure.is_some() {
            self.ex.failure = failure;
        }
        let mut outputs = Map::new();
        for o in &self.ex.document.outputs {
            if let Some(v) = self.ex.vars.get(o) {
                outputs.insert(o.clone(), v.clone());
            }
        }
        self.ex.outputs = outputs.clone();
        self.fx.push(Effect::Finished { status, outputs });
    }
}

fn timer(step: &str, run: u32, attempt: u32, kind: TimerKind) -> Timer {
    Timer {
        step: step.to_string(),
        run,
        attempt,
        kind,
    }
}

fn may_approve(inputs: Option<&Value>, approver: &str) -> bool {
    match inputs
        .and_then(|i| i.get("Approvers"))
        .and_then(Value::as_array)
    {
        Some(list) if !list.is_empty() => list.iter().any(|a| a.as_str() == Some(approver)),
        _ => true,
    }
}

fn approval_outputs(status: &str, decisions: &[(String, bool)]) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("ApprovalStatus".into(), Value::from(status));
    out.insert(
        "ApproverDecisions".into(),
        Value::Array(
            decisions
                .iter()
                .map(|(a, ok)| json!({"Approver": a, "Decision": if *ok { "Approve" } else { "Reject" }}))
                .collect(),
        ),
    );
    out
}

fn sleep_until(inputs: &Value, now: Timestamp) -> Result<Timestamp, String> {
    if let Some(d) = inputs.get("Duration") {
        let s = d.as_str().ok_or("`Duration` must be a string")?;
        return Ok(after(now, parse_duration(s)?));
    }
    if let Some(t) = inputs.get("Timestamp") {
        let s = t.as_str().ok_or("`Timestamp` must be a string")?;
        return s
            .parse::<Timestamp>()
            .map_err(|_| format!("`{s}` is not an ISO 8601 timestamp"));
    }
    Err("aws:sleep needs `Duration` or `Timestamp`".into())
}

/// Apply the step's output Selectors to a plugin result.
fn extract_outputs(step: &Step, result: &Value) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    out.insert("Output".into(), result.clone());
    for o in &step.outputs {
        let path = serde_json_path::JsonPath::parse(&o.selector)
            .map_err(|e| format!("output `{}`: invalid Selector: {e}", o.name))?;
        let found = path.query(result).first().cloned().ok_or_else(|| {
            format!(
                "output `{}`: Selector `{}` matched nothing",
                o.name, o.selector
            )
        })?;
        let v = coerce(o.ty, found)
            .map_err(|got| format!("output `{}` should be a {}, got {got}", o.name, o.ty.name()))?;
        out.insert(o.name.clone(), v);
    }
    Ok(out)
}

fn coerce(ty: ParamType, v: Value) -> Result<Value, String> {
    let ok = match (ty, &v) {
        (ParamType::String, Value::String(_)) => return Ok(v),
        (ParamType::String, Value::Number(_) | Value::Bool(_)) => {
            return Ok(Value::String(v.to_string()));
        }
        (ParamType::Integer, Value::String(s)) => {
            return s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| v.to_string());
        }
        (ParamType::Boolean, Value::String(s)) if s == "true" || s == "false" => {
            return Ok(Value::Bool(s == "true"));
        }
        _ => ty.admits(&v),
    };
    if ok { Ok(v) } else { Err(v.to_string()) }
}
