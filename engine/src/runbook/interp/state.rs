//! The serializable state of one execution.

use std::sync::Arc;

use super::super::model::Document;
use super::super::template::Vars;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

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
    /// 1-based count of the times this step was entered in this execution (a loop iteration, a
    /// StartStep re-run, a branch cycle each enter it again). With `attempt` it names one try of
    /// the step: see [`idempotency_key`].
    #[serde(default)]
    pub run: u32,
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
    /// The document being run, shared by the executions of one document. Not part of the
    /// serialized state: the store keeps each document once, under [`Execution::document_hash`],
    /// and puts it back when it loads the execution.
    #[serde(skip, default = "empty_document")]
    pub document: Arc<Document>,
    /// SHA-256 (hex) of the document's JSON encoding; see [`document_hash`].
    #[serde(default)]
    pub document_hash: String,
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
    pub fn new(id: impl Into<String>, document: impl Into<Arc<Document>>, vars: Vars) -> Self {
        let document = document.into();
        Execution {
            id: id.into(),
            document_hash: document_hash(&document),
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
            run: 0,
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
    /// Is `step` the running step, in this run and at this attempt? Timers, plugin results and
    /// child results of a try that is no longer live are stale: the interpreter ignores them and
    /// the shell may drop them.
    pub fn is_live(&self, step: &str, run: u32, attempt: u32) -> bool {
        self.current.as_deref() == Some(step)
            && self.record(step).is_some_and(|r| {
                r.run == run
                    && r.attempt == attempt
                    && matches!(r.status, Status::InProgress | Status::Waiting)
            })
    }
}

/// The idempotency key of one try of a plugin step: `<execution>/<step>#<run>/<attempt>`. Unique
/// per entry into the step (each loop iteration, StartStep re-run or branch cycle has its own
/// `run`), the same for every delivery of one attempt (a call re-sent after a restart).
pub fn idempotency_key(execution: &str, step: &str, run: u32, attempt: u32) -> String {
    format!("{execution}/{step}#{run}/{attempt}")
}

/// SHA-256 (hex) of the document's JSON encoding: executions of one document share it in the
/// store.
pub fn document_hash(doc: &Document) -> String {
    // Plain data with string keys always serializes; the Debug form is only a distinct fallback.
    let bytes = serde_json::to_vec(doc).unwrap_or_else(|_| format!("{doc:?}").into_bytes());
    hex::encode(Sha256::digest(bytes))
}

/// The placeholder of a deserialized [`Execution`] until the store puts its document back.
fn empty_document() -> Arc<Document> {
    Arc::new(Document {
        schema_version: String::new(),
        description: None,
        assume_role: None,
        parameters: Vec::new(),
        main_steps: Vec::new(),
        outputs: Vec::new(),
    })
}
