//! One test per interpreter path: feed events, assert state and effects.

use super::super::{Vars, parse_document};
use super::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

fn t0() -> Timestamp {
    "2024-05-01T12:00:00Z".parse().unwrap()
}

fn at(secs: i64) -> Timestamp {
    t0().checked_add(SignedDuration::from_secs(secs)).unwrap()
}

fn exec(yaml: &str, params: Value) -> Execution {
    let doc = parse_document(yaml).ok().expect("valid runbook");
    let mut vars = Vars::default();
    for (k, v) in params.as_object().cloned().unwrap_or_default() {
        vars.set_param(&k, v);
    }
    Execution::new("exec-1", doc, vars)
}

/// Apply `event`; the effects without [`Effect::StepEnded`] (see `step_runs_that_end_are_reported`).
fn run(ex: Execution, event: Event, now: Timestamp) -> (Execution, Vec<Effect>) {
    let (ex, fx) = transition(ex, event, now);
    (ex, actions(fx))
}

/// Start; the effects without [`Effect::StepEnded`].
fn start(ex: Execution, now: Timestamp) -> (Execution, Vec<Effect>) {
    let (ex, fx) = super::start(ex, now);
    (ex, actions(fx))
}

fn actions(fx: Vec<Effect>) -> Vec<Effect> {
    fx.into_iter()
        .filter(|e| !matches!(e, Effect::StepEnded(_)))
        .collect()
}

/// The result of the try `run`/`attempt` of `step`.
fn ok(step: &str, run: u32, attempt: u32, v: Value) -> Event {
    Event::PluginResult {
        step: step.into(),
        run,
        attempt,
        outcome: PluginOutcome::Ok(v),
    }
}

fn calls(fx: &[Effect]) -> Vec<(String, Value, String)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::CallPlugin {
                step,
                input,
                idempotency_key,
                ..
            } => Some((step.clone(), input.clone(), idempotency_key.clone())),
            _ => None,
        })
        .collect()
}

fn finished(fx: &[Effect]) -> Option<Status> {
    fx.iter().find_map(|e| match e {
        Effect::Finished { status, .. } => Some(*status),
        _ => None,
    })
}

const HEAD: &str = "schemaVersion: '0.3'\n";

#[test]
fn plugin_steps_render_inputs_and_collect_outputs() {
    let y = format!(
        "{HEAD}parameters:\n  Host: {{ type: String }}\noutputs: [Look.Ip]\nmainSteps:\n  - name: Look\n    action: dns:resolve\n    timeoutSeconds: 30\n    inputs: {{ name: '{{{{ Host }}}}', id: '{{{{ automation:EXECUTION_ID }}}}' }}\n    outputs: [{{ Name: Ip, Selector: '$.answers[0]', Type: String }}]\n  - name: Tell\n    action: console:notify\n    inputs: {{ message: 'ip {{{{ Look.Ip }}}}' }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({"Host": "db"})), t0());
    assert_eq!(ex.status, Status::InProgress);
    assert_eq!(
        fx,
        vec![
            Effect::CallPlugin {
                instance: "dns".into(),
                action: "resolve".into(),
                input: json!({"name": "db", "id": "exec-1"}),
                idempotency_key: "exec-1/Look#1/1".into(),
                step: "Look".into(),
                run: 1,
                attempt: 1,
                deadline: Some(at(30)),
            },
            Effect::StartTimer {
                at: at(30),
                timer: Timer {
                    step: "Look".into(),
                    run: 1,
                    attempt: 1,
                    kind: TimerKind::Timeout
                }
            },
        ]
    );
    let (ex, fx) = run(
        ex,
        ok("Look", 1, 1, json!({"answers": ["10.0.0.1"]})),
        at(1),
    );
    assert_eq!(calls(&fx)[0].1, json!({"message": "ip 10.0.0.1"}));
    let (ex, fx) = run(ex, ok("Tell", 1, 1, json!({"delivered": true})), at(2));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(
        ex.outputs,
        json!({"Look.Ip": "10.0.0.1"}).as_object().cloned().unwrap()
    );
    let rec = ex.record("Look").unwrap();
    assert_eq!(
        (rec.status, rec.started_at, rec.ended_at),
        (Status::Success, Some(t0()), Some(at(1)))
    );
}

#[test]
fn retryable_failures_back_off_then_succeed() {
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Call, action: 'ops:call', maxAttempts: 3 }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let retry = |step: &str, attempt| Event::PluginResult {
        step: step.into(),
        run: 1,
        attempt,
        outcome: PluginOutcome::Retryable("503".into()),
    };
    let (ex, fx) = run(ex, retry("Call", 1), at(1));
    let timer1 = Timer {
        step: "Call".into(),
        run: 1,
        attempt: 1,
        kind: TimerKind::Retry,
    };
    assert_eq!(
        fx,
        vec![Effect::StartTimer {
            at: at(3),
            timer: timer1.clone()
        }]
    );
    let (ex, fx) = run(ex, Event::TimerFired(timer1), at(3));
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#1/2");
    // A late result of attempt 1 is ignored.
    let (ex, fx) = run(ex, ok("Call", 1, 1, json!({})), at(4));
    assert!(fx.is_empty());
    let (ex, fx) = run(ex, retry("Call", 2), at(5));
    assert!(matches!(&fx[0], Effect::StartTimer { at: t, .. } if *t == at(9)));
    let (ex, fx) = run(
        ex,
        Event::TimerFired(Timer {
            step: "Call".into(),
            run: 1,
            attempt: 2,
            kind: TimerKind::Retry,
        }),
        at(9),
    );
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#1/3");
    let (ex, fx) = run(ex, ok("Call", 1, 3, json!({"fine": true})), at(10));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(ex.record("Call").unwrap().attempt, 3);
    assert_eq!(backoff(1), SignedDuration::from_secs(2));
    assert_eq!(backoff(30), SignedDuration::from_secs(300));
}

#[test]
fn retries_are_bounded_and_permanent_errors_are_not_retried() {
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Call, action: 'ops:call', maxAttempts: 1 }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(
        ex,
        Event::PluginResult {
            step: "Call".into(),
            run: 1,
            attempt: 1,
            outcome: PluginOutcome::Retryable("429".into()),
        },
        at(1),
    );
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert!(ex.failure.unwrap().contains("gave up after 1 attempts"));
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Call, action: 'ops:call', maxAttempts: 5 }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(
        ex,
        Event::PluginResult {
            step: "Call".into(),
            run: 1,
            attempt: 1,
            outcome: PluginOutcome::Failed("bad input".into()),
        },
        at(1),
    );
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert_eq!(
        ex.record("Call").unwrap().failure.as_deref(),
        Some("bad input")
    );
}

#[test]
fn timeouts_end_the_step_timed_out() {
    let y =
        format!("{HEAD}mainSteps:\n  - {{ name: Call, action: 'ops:call', timeoutSeconds: 5 }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(
        ex,
        Event::TimerFired(Timer {
            step: "Call".into(),
            run: 1,
            attempt: 1,
            kind: TimerKind::Timeout,
        }),
        at(5),
    );
    assert_eq!(finished(&fx), Some(Status::TimedOut));
    assert_eq!(ex.record("Call").unwrap().status, Status::TimedOut);
    let (ex2, fx) = run(ex.clone(), ok("Call", 1, 1, json!({})), at(6));
    assert!(fx.is_empty());
    assert_eq!(ex2, ex);
}

#[test]
fn on_failure_continue_and_step() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: A, action: 'x:y', onFailure: Continue, isCritical: false }}\n  - {{ name: B, action: 'x:y', onFailure: 'step:D' }}\n  - {{ name: C, action: 'x:y' }}\n  - {{ name: D, action: 'x:y' }}\n"
    );
    let fail = |s: &str| Event::PluginResult {
        step: s.into(),
        run: 1,
        attempt: 1,
        outcome: PluginOutcome::Failed("no".into()),
    };
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, fail("A"), at(1));
    assert_eq!(calls(&fx)[0].0, "B");
    let (ex, fx) = run(ex, fail("B"), at(2));
    assert_eq!(calls(&fx)[0].0, "D");
    let (ex, fx) = run(ex, ok("D", 1, 1, json!({})), at(3));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(ex.record("C"), None);
    // A critical step that fails with Continue makes the end Failed.
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: A, action: 'x:y', onFailure: Continue }}\n  - {{ name: B, action: aws:pause }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, _) = run(ex, fail("A"), at(1));
    let (_, fx) = run(ex, Event::Signal(Signal::Resume), at(2));
    assert_eq!(finished(&fx), Some(Status::Failed));
}

#[test]
fn branches_route() {
    let y = format!(
        "{HEAD}parameters:\n  Sev: {{ type: Integer }}\nmainSteps:\n  - name: Route\n    action: aws:branch\n    inputs:\n      Choices:\n        - {{ NextStep: Page, Variable: '{{{{ Sev }}}}', NumericLesserOrEquals: 2 }}\n      Default: Log\n  - {{ name: Page, action: 'pager:page', isEnd: true }}\n  - {{ name: Log, action: 'console:notify', isEnd: true }}\n"
    );
    let (_, fx) = start(exec(&y, json!({"Sev": 1})), t0());
    assert_eq!(calls(&fx)[0].0, "Page");
    let (ex, fx) = start(exec(&y, json!({"Sev": 4})), t0());
    assert_eq!(calls(&fx)[0].0, "Log");
    assert_eq!(ex.record("Route").unwrap().status, Status::Success);
    // No match and no Default fails the step.
    let y2 = y.replace("      Default: Log\n", "");
    let (ex, fx) = start(exec(&y2, json!({"Sev": 4})), t0());
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert!(ex.failure.unwrap().contains("no choice matched"));
}

#[test]
fn for_each_loops_iterate() {
    let y = format!(
        "{HEAD}parameters:\n  Hosts: {{ type: StringList }}\nmainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: '{{{{ Hosts }}}}'\n      Steps:\n        - {{ name: Ping, action: 'net:ping', inputs: {{ host: '{{{{ Each.CurrentIteratorValue }}}}', n: '{{{{ Each.CurrentIteration }}}}' }} }}\n  - {{ name: Done, action: aws:pause }}\n"
    );
    let (mut ex, fx) = start(exec(&y, json!({"Hosts": ["a", "b", "c"]})), t0());
    let mut seen = vec![calls(&fx)[0].1.clone()];
    let mut keys = vec![calls(&fx)[0].2.clone()];
    for iteration in 1..3 {
        let (e, fx) = run(ex, ok("Ping", iteration, 1, json!({})), at(1));
        ex = e;
        seen.push(calls(&fx)[0].1.clone());
        keys.push(calls(&fx)[0].2.clone());
    }
    // Each iteration enters Ping again: a new run, so a new idempotency key.
    assert_eq!(
        keys,
        ["exec-1/Ping#1/1", "exec-1/Ping#2/1", "exec-1/Ping#3/1"]
    );
    assert_eq!(
        seen,
        vec![
            json!({"host": "a", "n": 1}),
            json!({"host": "b", "n": 2}),
            json!({"host": "c", "n": 3})
        ]
    );
    // A late duplicate of the first iteration's result is stale.
    let (ex2, fx) = run(ex.clone(), ok("Ping", 1, 1, json!({})), at(2));
    assert!(fx.is_empty());
    assert_eq!(ex2, ex);
    let (ex, fx) = run(ex, ok("Ping", 3, 1, json!({})), at(2));
    assert!(fx.is_empty());
    assert_eq!(ex.status, Status::Waiting);
    assert_eq!(ex.current.as_deref(), Some("Done"));
    assert_eq!(
        ex.record("Each").unwrap().outputs,
        json!({"CurrentIteration": 3}).as_object().cloned().unwrap()
    );
    // An empty list skips the body.
    let (ex, _) = start(exec(&y, json!({"Hosts": []})), t0());
    assert_eq!(ex.current.as_deref(), Some("Done"));
}

#[test]
fn do_while_loops_stop_on_condition_or_max() {
    let y = format!(
        "{HEAD}mainSteps:\n  - name: Poll\n    action: aws:loop\n    inputs:\n      MaxIterations: 3\n      LoopCondition: {{ Variable: '{{{{ Check.Healthy }}}}', BooleanEquals: false }}\n      Steps:\n        - name: Check\n          action: 'http:get'\n          outputs: [{{ Name: Healthy, Selector: $.ok, Type: Boolean }}]\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, ok("Check", 1, 1, json!({"ok": false})), at(1));
    assert_eq!(calls(&fx).len(), 1, "{fx:?} {ex:#?}");
    assert_eq!(calls(&fx)[0].2, "exec-1/Check#2/1");
    let (_, fx) = run(ex.clone(), ok("Check", 2, 1, json!({"ok": true})), at(2));
    assert_eq!(finished(&fx), Some(Status::Success));
    let (ex, _) = run(ex, ok("Check", 2, 1, json!({"ok": false})), at(2));
    let (ex, fx) = run(ex, ok("Check", 3, 1, json!({"ok": false})), at(3));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(ex.record("Poll").unwrap().outputs["CurrentIteration"], 3);
    // A failing body step fails the loop (and the run).
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(
        ex,
        Event::PluginResult {
            step: "Check".into(),
            run: 1,
            attempt: 1,
            outcome: PluginOutcome::Failed("down".into()),
        },
        at(1),
    );
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert_eq!(ex.record("Poll").unwrap().status, Status::Failed);
}

#[test]
fn sleep_waits_for_its_timer() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: Nap, action: aws:sleep, inputs: {{ Duration: PT5M }} }}\n  - {{ name: Until, action: aws:sleep, inputs: {{ Timestamp: '2000-01-01T00:00:00Z' }} }}\n  - {{ name: After, action: 'x:y' }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    let timer = Timer {
        step: "Nap".into(),
        run: 1,
        attempt: 1,
        kind: TimerKind::Sleep,
    };
    assert_eq!(
        fx,
        vec![Effect::StartTimer {
            at: at(300),
            timer: timer.clone()
        }]
    );
    // A timestamp in the past completes at once.
    let (_, fx) = run(ex, Event::TimerFired(timer), at(300));
    assert_eq!(calls(&fx)[0].0, "After");
}

#[test]
fn pause_waits_for_resume() {
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Triage, action: aws:pause }}\n");
    let (ex, fx) = start(exec(&y, json!({})), t0());
    assert!(fx.is_empty());
    assert_eq!(
        (ex.status, ex.record("Triage").unwrap().status),
        (Status::Waiting, Status::Waiting)
    );
    let (ex, fx) = run(
        ex,
        Event::Signal(Signal::Approve {
            approver: "x".into(),
        }),
        at(1),
    );
    assert!(fx.is_empty());
    let (ex, fx) = run(ex, Event::Signal(Signal::Resume), at(2));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(ex.status, Status::Success);
}

#[test]
fn approvals_count_listed_approvers_and_reject_fails() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: Ask, action: aws:approve, inputs: {{ Approvers: [ann, bob], MinRequiredApprovals: 2 }} }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    assert!(
        matches!(&fx[0], Effect::StartTimer { at: t, timer } if *t == at(7 * 86400) && timer.kind == TimerKind::Timeout)
    );
    let approve = |a: &str| Event::Signal(Signal::Approve { approver: a.into() });
    let (ex, fx) = run(ex, approve("ann"), at(1));
    assert!(fx.is_empty());
    let (ex, fx) = run(ex, approve("mallory"), at(2));
    assert!(fx.is_empty());
    let (done, fx) = run(ex.clone(), approve("bob"), at(3));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(
        done.record("Ask").unwrap().outputs["ApprovalStatus"],
        "Approved"
    );
    let (ex, fx) = run(
        ex,
        Event::Signal(Signal::Reject {
            approver: "bob".into(),
            comment: Some("not yet".into()),
        }),
        at(3),
    );
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert_eq!(
        ex.record("Ask").unwrap().failure.as_deref(),
        Some("rejected by bob: not yet")
    );
    assert_eq!(
        ex.record("Ask").unwrap().outputs["ApprovalStatus"],
        "Rejected"
    );
}

#[test]
fn cancel_honours_on_cancel() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: Work, action: aws:pause, onCancel: 'step:Cleanup' }}\n  - {{ name: Other, action: aws:pause }}\n  - {{ name: Cleanup, action: 'x:y', isEnd: true }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, Event::Cancel, at(1));
    assert_eq!(calls(&fx)[0].0, "Cleanup");
    assert_eq!(ex.status, Status::Cancelling);
    assert_eq!(ex.record("Work").unwrap().status, Status::Cancelled);
    let (ex, fx) = run(ex, ok("Cleanup", 1, 1, json!({})), at(2));
    assert_eq!(finished(&fx), Some(Status::Cancelled));
    assert_eq!(ex.status, Status::Cancelled);
    // Without onCancel the run ends Cancelled at once; later events change nothing.
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Work, action: aws:pause }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, Event::Cancel, at(1));
    assert_eq!(finished(&fx), Some(Status::Cancelled));
    let (_, fx) = run(ex, Event::Signal(Signal::Resume), at(2));
    assert!(fx.is_empty());
}

#[test]
fn stop_step_cancels_the_current_step() {
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Work, action: 'x:y' }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, Event::Signal(Signal::StopStep), at(1));
    assert_eq!(finished(&fx), Some(Status::Cancelled));
    assert_eq!(ex.record("Work").unwrap().status, Status::Cancelled);
}

#[test]
fn start_step_reruns_after_a_failure() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: A, action: 'x:y' }}\n  - {{ name: B, action: 'x:y' }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, _) = run(ex, ok("A", 1, 1, json!({})), at(1));
    let (ex, fx) = run(
        ex,
        Event::PluginResult {
            step: "B".into(),
            run: 1,
            attempt: 1,
            outcome: PluginOutcome::Failed("x".into()),
        },
        at(2),
    );
    assert_eq!(finished(&fx), Some(Status::Failed));
    let (ex, fx) = run(ex, Event::Signal(Signal::StartStep("B".into())), at(100));
    assert_eq!(ex.status, Status::InProgress);
    // The re-run is a new run of B: a new key, which a provider does not dedupe away.
    assert_eq!(calls(&fx)[0].2, "exec-1/B#2/1");
    assert_eq!(ex.record("B").unwrap().run, 2);
    let (ex, fx) = run(ex, ok("B", 2, 1, json!({})), at(101));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(ex.failure, None);
}

#[test]
fn child_runbooks() {
    let y = format!(
        "{HEAD}mainSteps:\n  - name: Child\n    action: aws:executeAutomation\n    inputs: {{ DocumentName: restart, DocumentVersion: '2', RuntimeParameters: {{ Id: '{{{{ automation:EXECUTION_ID }}}}' }} }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    assert_eq!(
        fx,
        vec![Effect::StartChild {
            step: "Child".into(),
            run: 1,
            document_name: "restart".into(),
            document_version: Some("2".into()),
            parameters: json!({"Id": "exec-1"}).as_object().cloned().unwrap(),
        }]
    );
    let mut outputs = Map::new();
    outputs.insert("Restarted.Ok".into(), json!(true));
    let (ex, fx) = run(
        ex,
        Event::ChildFinished {
            step: "Child".into(),
            run: 1,
            execution_id: "child-1".into(),
            status: Status::Success,
            outputs,
        },
        at(5),
    );
    assert_eq!(finished(&fx), Some(Status::Success));
    let out = &ex.record("Child").unwrap().outputs;
    assert_eq!(
        (out["ExecutionId"].clone(), out["Status"].clone()),
        (json!("child-1"), json!("Success"))
    );
}

#[test]
fn runaway_instant_loops_fail_instead_of_recursing() {
    let y = format!(
        "{HEAD}mainSteps:\n  - name: A\n    action: aws:branch\n    inputs: {{ Choices: [{{ NextStep: B, Variable: x, StringEquals: x }}], Default: C }}\n  - name: B\n    action: aws:branch\n    inputs: {{ Choices: [{{ NextStep: A, Variable: x, StringEquals: x }}], Default: C }}\n  - {{ name: C, action: aws:pause }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert!(ex.failure.unwrap().contains("without waiting"));
}

#[test]
fn render_and_output_errors_fail_the_step() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: A, action: 'x:y', outputs: [{{ Name: N, Selector: $.n, Type: Integer }}] }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, ok("A", 1, 1, json!({"n": "seven"})), at(1));
    assert_eq!(finished(&fx), Some(Status::Failed));
    assert!(ex.failure.unwrap().contains("should be a Integer"));
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, _) = run(ex, ok("A", 1, 1, json!({})), at(1));
    assert!(ex.failure.unwrap().contains("matched nothing"));
}

#[test]
fn state_round_trips_through_serde() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: Ask, action: aws:approve, inputs: {{ Approvers: [ann] }} }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let text = serde_json::to_string(&ex).unwrap();
    // The document is not part of the state: it is named by its hash (the store keeps it once).
    assert!(!text.contains("mainSteps"), "{text}");
    let mut back: Execution = serde_json::from_str(&text).unwrap();
    assert_eq!(back.document_hash, document_hash(&ex.document));
    assert_eq!(back.document_hash.len(), 64);
    back.document = ex.document.clone();
    // Source spans are not stored; everything else is.
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&ex).unwrap()
    );
    let (_, fx) = run(
        back,
        Event::Signal(Signal::Approve {
            approver: "ann".into(),
        }),
        at(1),
    );
    assert_eq!(finished(&fx), Some(Status::Success));
}

#[test]
fn timers_and_results_of_an_earlier_run_of_a_step_are_stale() {
    // A step in a loop with a timeout: iteration 1's timeout timer must not time out iteration 2,
    // and iteration 1's late result must not complete it.
    let y = format!(
        "{HEAD}mainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: [a, b]\n      Steps:\n        - {{ name: Call, action: 'x:y', timeoutSeconds: 60 }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    let first_timeout = fx
        .iter()
        .find_map(|e| match e {
            Effect::StartTimer { timer, .. } => Some(timer.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!((first_timeout.run, first_timeout.attempt), (1, 1));
    let (ex, fx) = run(ex, ok("Call", 1, 1, json!({})), at(1));
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#2/1");
    let (ex2, fx) = run(ex.clone(), Event::TimerFired(first_timeout), at(61));
    assert!(fx.is_empty(), "{fx:?}");
    assert_eq!(ex2, ex);
    assert!(ex.is_live("Call", 2, 1) && !ex.is_live("Call", 1, 1));
    let (_, fx) = run(ex, ok("Call", 2, 1, json!({})), at(2));
    assert_eq!(finished(&fx), Some(Status::Success));
}

#[test]
fn a_branch_cycle_enters_a_step_again_with_a_new_key_and_retries_keep_the_run() {
    let y = format!(
        "{HEAD}parameters:\n  Want: {{ type: Integer, default: 2 }}\nmainSteps:\n  - {{ name: Call, action: 'x:y', maxAttempts: 2 }}\n  - name: Again\n    action: aws:branch\n    inputs:\n      Choices:\n        - {{ NextStep: Call, Variable: '{{{{ Call.Output }}}}', StringEquals: more }}\n      Default: Done\n  - {{ name: Done, action: aws:pause }}\n"
    );
    let (ex, fx) = start(exec(&y, json!({})), t0());
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#1/1");
    let (ex, fx) = run(ex, ok("Call", 1, 1, json!("more")), at(1));
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#2/1");
    let (ex, fx) = run(
        ex,
        Event::PluginResult {
            step: "Call".into(),
            run: 2,
            attempt: 1,
            outcome: PluginOutcome::Retryable("503".into()),
        },
        at(2),
    );
    let Effect::StartTimer { timer, .. } = &fx[0] else {
        panic!("{fx:?}")
    };
    assert_eq!((timer.run, timer.attempt), (2, 1));
    let (ex, fx) = run(ex, Event::TimerFired(timer.clone()), at(4));
    // A retry is the same run, next attempt.
    assert_eq!(calls(&fx)[0].2, "exec-1/Call#2/2");
    let (ex, _) = run(ex, ok("Call", 2, 2, json!("enough")), at(5));
    assert_eq!(ex.current.as_deref(), Some("Done"));
    let rec = ex.record("Call").unwrap();
    assert_eq!((rec.run, rec.attempt), (2, 2));
}

#[test]
fn a_child_of_an_earlier_run_does_not_complete_the_step() {
    let y = format!(
        "{HEAD}mainSteps:\n  - {{ name: Child, action: aws:executeAutomation, inputs: {{ DocumentName: restart }} }}\n"
    );
    let (ex, _) = start(exec(&y, json!({})), t0());
    let (ex, fx) = run(ex, Event::Signal(Signal::StartStep("Child".into())), at(1));
    assert!(
        matches!(&fx[0], Effect::StartChild { run: 2, .. }),
        "{fx:?}"
    );
    let done = |run| Event::ChildFinished {
        step: "Child".into(),
        run,
        execution_id: format!("child-{run}"),
        status: Status::Success,
        outputs: Map::new(),
    };
    let (ex, fx) = run(ex, done(1), at(2));
    assert!(fx.is_empty());
    let (ex, fx) = run(ex, done(2), at(3));
    assert_eq!(finished(&fx), Some(Status::Success));
    assert_eq!(
        ex.record("Child").unwrap().outputs["ExecutionId"],
        "child-2"
    );
}

#[test]
fn step_runs_that_end_are_reported_also_when_re_entered_in_the_same_transition() {
    let y = format!(
        "{HEAD}mainSteps:\n  - name: Each\n    action: aws:loop\n    inputs:\n      Iterators: [a, b, c]\n      Steps:\n        - {{ name: Nap, action: aws:sleep, inputs: {{ Duration: PT0S }} }}\n  - {{ name: Hold, action: aws:pause }}\n"
    );
    let (ex, fx) = super::start(exec(&y, json!({})), t0());
    let ended: Vec<(String, u32, Status)> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::StepEnded(r) => Some((r.name.clone(), r.run, r.status)),
            _ => None,
        })
        .collect();
    let nap = |run| ("Nap".to_string(), run, Status::Success);
    assert_eq!(
        ended,
        [nap(1), nap(2), nap(3), ("Each".into(), 1, Status::Success)]
    );
    let (_, fx) = transition(ex, Event::Signal(Signal::StopStep), at(1));
    assert!(
        matches!(&fx[0], Effect::StepEnded(r) if r.name == "Hold" && r.status == Status::Cancelled),
        "{fx:?}"
    );
}

#[test]
fn a_providers_retry_after_delays_the_retry_beyond_the_backoff() {
    let y = format!("{HEAD}mainSteps:\n  - {{ name: Call, action: 'ops:call', maxAttempts: 3 }}\n");
    let (ex, _) = start(exec(&y, json!({})), t0());
    let later = |after_ms| Event::PluginResult {
        step: "Call".into(),
        run: 1,
        attempt: 1,
        outcome: PluginOutcome::RetryLater {
            message: "429 slow down".into(),
            after_ms,
        },
    };
    // Retry-After 30 s beats the 2 s backoff of attempt 1.
    let (_, fx) = run(ex.clone(), later(30_000), at(1));
    assert!(matches!(&fx[0], Effect::StartTimer { at: t, .. } if *t == at(31)));
    // A shorter Retry-After does not shorten the backoff.
    let (_, fx) = run(ex, later(500), at(1));
    assert!(matches!(&fx[0], Effect::StartTimer { at: t, .. } if *t == at(3)));
}
