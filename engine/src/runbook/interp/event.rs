//! What comes into the interpreter (events) and what it asks the shell to do (effects).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    Start,
    /// The result of a [`Effect::CallPlugin`]; stale results (other step or attempt) are ignored.
    PluginResult {
        step: String,
        attempt: u32,
        outcome: PluginOutcome,
    },
    TimerFired(Timer),
    /// A child runbook started by [`Effect::StartChild`] ended.
    ChildFinished {
        step: String,
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

/// A timer names the step run it belongs to; a timer for an older run is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timer {
    pub step: String,
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
        /// `<execution>/<step>/<attempt>`: the same for re-deliveries of one attempt.
        idempotency_key: String,
        step: String,
        attempt: u32,
        deadline: Option<Timestamp>,
    },
    StartTimer {
        at: Timestamp,
        timer: Timer,
    },
    StartChild {
        step: String,
        document_name: String,
        document_version: Option<String>,
        parameters: Map<String, Value>,
    },
    /// The execution ended.
    Finished {
        status: super::Status,
        outputs: Map<String, Value>,
    },
}
