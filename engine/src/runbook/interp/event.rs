//! What comes into the interpreter (events) and what it asks the shell to do (effects).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Start,
    /// The result of a [`Effect::CallPlugin`]; stale results (other step, run or attempt) are
    /// ignored.
    PluginResult {
        step: String,
        #[serde(default)]
        run: u32,
        attempt: u32,
        outcome: PluginOutcome,
    },
    TimerFired(Timer),
    /// A child runbook started by [`Effect::StartChild`] ended.
    ChildFinished {
        step: String,
        /// The run of `step` that started the child; a child of an older run is ignored.
        #[serde(default)]
        run: u32,
        execution_id: String,
        status: super::Status,
        outputs: Map<String, Value>,
    },
    Signal(Signal),
    Cancel,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PluginOutcome {
    Ok(Value),
    /// Transient (timeout, 429, 5xx): retried with backoff up to maxAttempts.
    Retryable(String),
    /// Transient, and the provider said when to come back (Retry-After, in milliseconds): the
    /// retry waits at least that long, longer if the backoff says so.
    RetryLater {
        message: String,
        after_ms: u64,
    },
    /// Permanent (invalid input, denied, failed): not retried.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Signal {
    /// Continue an aws:pause step.
    Resume,
    Approve {
        approver: String,
    },
    Reject {
        approver: String,
        comment: Option<String>,
    },
    /// Re-run from the named step (e.g. after a failed step).
    StartStep(String),
    /// Stop the current step: it ends Cancelled and its onCancel applies.
    StopStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimerKind {
    /// The step's timeoutSeconds (or aws:approve's 7-day default) elapsed.
    Timeout,
    /// Time to retry a plugin call.
    Retry,
    /// An aws:sleep ends.
    Sleep,
}

/// A timer names the step try (run and attempt) it belongs to; a timer of an older try is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub step: String,
    #[serde(default)]
    pub run: u32,
    pub attempt: u32,
    pub kind: TimerKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Effect {
    CallPlugin {
        /// Plugin instance (`sms` of `sms:send`).
        instance: String,
        action: String,
        input: Value,
        /// `<execution>/<step>#<run>/<attempt>` ([`super::idempotency_key`]): new for each entry
        /// into the step, the same for re-deliveries of one attempt.
        idempotency_key: String,
        step: String,
        run: u32,
        attempt: u32,
        deadline: Option<Timestamp>,
    },
    StartTimer {
        at: Timestamp,
        timer: Timer,
    },
    StartChild {
        step: String,
        run: u32,
        document_name: String,
        document_version: Option<String>,
        parameters: Map<String, Value>,
    },
    /// A run of a step ended (Success, Failed, TimedOut or Cancelled): append it to the step
    /// history. Every run is reported, also when the step is entered again in the same transition
    /// (a loop iteration, a branch cycle).
    StepEnded(super::StepRecord),
    /// The execution ended.
    Finished {
        status: super::Status,
        outputs: Map<String, Value>,
    },
}
