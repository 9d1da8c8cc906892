//! The serializable state of one execution.

use super::super::model::Document;
use super::super::template::Vars;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Execution and step statuses, as in SSM Automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Pending,
    InProgress,
    Waiting,
    Success,
    TimedOut,
    Cancelling,
    Cancelled,
    Failed,
}

impl Status {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Status::Success | Status::TimedOut | Status::Cancelled | Status::Failed
        )
    }
}

/// The latest run of one step (a step that runs again, in a loop or after StartStep, is reset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub name: String,
    pub status: Status,
    /// 1-based attempt of the current run.
    pub attempt: u32,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub outputs: Map<String, Value>,
    pub failure: Option<String>,
    /// The inputs as rendered for this run.
    pub inputs: Option<Value>,
    /// aws:approve decisions: (approver, approved).
    pub decisions: Vec<(String, bool)>,
}

/// The state of an `aws:loop` that is running.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoopFrame {
    pub step: String,
    /// 1-based iteration being run.
    pub iteration: u32,
    /// For-each items (None for a do-while loop).
    pub items: Option<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    pub id: String,
    pub document: Document,
    pub status: Status,
    pub vars: Vars,
    pub steps: Vec<StepRecord>,
    /// The step running now, if any.
    pub current: Option<String>,
    pub loops: Vec<LoopFrame>,
    /// A critical step failed but the run continued (onFailure Continue): the end is Failed.
    pub critical_failure: bool,
    /// Cancel was requested: an onCancel step may still run, the end is Cancelled.
    pub cancel_requested: bool,
    pub outputs: Map<String, Value>,
    pub failure: Option<String>,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
}

impl Execution {
    /// A Pending execution. `vars` holds the parameters (already checked and defaulted by the
    /// caller), incident context and globals; [`super::start`] adds `automation:EXECUTION_ID`.
    pub fn new(id: impl Into<String>, document: Document, vars: Vars) -> Self {
        Execution {
            id: id.into(),
            document,
            status: Status::Pending,
            vars,
            steps: Vec::new(),
            current: None,
            loops: Vec::new(),
            critical_failure: false,
            cancel_requested: false,
            outputs: Map::new(),
            failure: None,
            started_at: None,
            ended_at: None,
        }
    }

    pub fn record(&self, step: &str) -> Option<&StepRecord> {
        self.steps.iter().find(|r| r.name == step)
    }

    pub(crate) fn record_mut(&mut self, step: &str) -> &mut StepRecord {
        if let Some(i) = self.steps.iter().position(|r| r.name == step) {
            return &mut self.steps[i];
        }
        self.steps.push(StepRecord {
            name: step.to_string(),
            status: Status::Pending,
            attempt: 0,
            started_at: None,
            ended_at: None,
            outputs: Map::new(),
            failure: None,
            inputs: None,
            decisions: Vec::new(),
        });
        let last = self.steps.len() - 1;
        &mut self.steps[last]
    }
}

impl Execution {
    /// Is `step` the running step at `attempt`? Timers and plugin calls of a run that is no
    /// longer live are stale: the interpreter ignores them and the shell may drop them.
    pub fn is_live(&self, step: &str, attempt: u32) -> bool {
        self.current.as_deref() == Some(step)
            && self.record(step).is_some_and(|r| {
                r.attempt == attempt && matches!(r.status, Status::InProgress | Status::Waiting)
            })
    }
}
