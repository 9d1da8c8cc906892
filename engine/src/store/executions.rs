//! Runbook executions: their state, step history, pending timers, the plugin-call outbox and
//! stored documents. A transition's new state and its effects are written in one transaction.
//!
//! Tables (keys are text so they stay expressible in SQL):
//! - `executions`: id → the interpreter's `Execution` (JSON)
//! - `execution_summaries`: id → [`ExecSummary`] (JSON; listing reads only these)
//! - `execution_steps`: `<id>/<seq:010>` → a finished step run (`StepRecord`, JSON)
//! - `execution_timers`: `<id>/<step>/<attempt>/<kind>` → [`TimerJob`] (JSON)
//! - `execution_outbox`: `<id>/<step>/<attempt>` (the idempotency key) → [`CallJob`] (JSON)
//! - `runbook_documents`: name → document source text

use jiff::Timestamp;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Store, StoreError, io};
use crate::runbook::interp::{Execution, Status, StepRecord, Timer};

const EXECUTIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("executions");
const SUMMARIES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_summaries");
const STEPS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_steps");
const TIMERS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_timers");
const OUTBOX: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_outbox");
const DOCUMENTS: TableDefinition<'_, &str, &str> = TableDefinition::new("runbook_documents");

/// The parent of a child execution (`aws:executeAutomation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub execution_id: String,
    pub step: String,
}

/// What listing an execution shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecSummary {
    pub id: String,
    /// The document's name (file stem, stored name, or `inline`).
    pub document: String,
    pub status: Status,
    pub current: Option<String>,
    pub created_at: Timestamp,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentLink>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// A timer to fire `timer` of execution `execution_id` at `at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimerJob {
    pub execution_id: String,
    pub at: Timestamp,
    pub timer: Timer,
}

impl TimerJob {
    fn key(&self) -> String {
        format!(
            "{}/{}/{}/{:?}",
            self.execution_id, self.timer.step, self.timer.attempt, self.timer.kind
        )
    }
}

/// A plugin call to make (the outbox). Stays until its result is committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallJob {
    pub execution_id: String,
    pub instance: String,
    pub action: String,
    pub input: Value,
    /// `<execution>/<step>/<attempt>`: the key of the outbox row and the plugin's invocation id.
    pub idempotency_key: String,
    pub step: String,
    pub attempt: u32,
    pub deadline: Option<Timestamp>,
    /// How many times the call was sent (more than 1 after a restart while it was in flight).
    pub deliveries: u32,
}

/// One execution's part of a commit.
#[derive(Debug, Clone)]
pub struct ExecWrite {
    pub summary: ExecSummary,
    pub execution: Execution,
    pub new_timers: Vec<TimerJob>,
    pub new_calls: Vec<CallJob>,
    /// The call whose result this commit applies (`step`, `attempt`): removed from the outbox.
    pub done_call: Option<(String, u32)>,
    /// Step runs that ended in this commit, appended to the history.
    pub ended_steps: Vec<StepRecord>,
}

/// An execution as stored.
#[derive(Debug, Clone)]
pub struct StoredExecution {
    pub summary: ExecSummary,
    pub execution: Execution,
}

fn prefix_range(id: &str) -> (String, String) {
    // '0' is the character after '/'.
    (format!("{id}/"), format!("{id}0"))
}

fn encode<T: Serialize>(v: &T, what: &'static str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(v).map_err(|e| io(what)(e.to_string()))
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], what: &'static str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| io(what)(format!("undecodable row: {e}")))
}

impl Store {
    /// Write every execution's new state, its new timers and calls, drop the timers and calls
    /// that are no longer live, append ended steps — and store named documents — in ONE
    /// transaction.
    pub fn commit_executions(
        &self,
        writes: &[ExecWrite],
        documents: &[(String, String)],
    ) -> Result<(), StoreError> {
        let e = |op: &'static str| move |err: String| io(op)(err);
        let tx = self
            .db
            .begin_write()
            .map_err(|x| e("begin")(x.to_string()))?;
        {
            let mut execs = tx
                .open_table(EXECUTIONS)
                .map_err(|x| e("open executions")(x.to_string()))?;
            let mut sums = tx
                .open_table(SUMMARIES)
                .map_err(|x| e("open summaries")(x.to_string()))?;
            let mut steps = tx
                .open_table(STEPS)
                .map_err(|x| e("open steps")(x.to_string()))?;
            let mut timers = tx
                .open_table(TIMERS)
                .map_err(|x| e("open timers")(x.to_string()))?;
            let mut outbox = tx
                .open_table(OUTBOX)
                .map_err(|x| e("open outbox")(x.to_string()))?;
            for w in writes {
                let id = w.execution.id.as_str();
                execs
                    .insert(id, encode(&w.execution, "encode execution")?.as_slice())
                    .map_err(|x| e("write execution")(x.to_string()))?;
                sums.insert(id, encode(&w.summary, "encode summary")?.as_slice())
                    .map_err(|x| e("write summary")(x.to_string()))?;
                let (lo, hi) = prefix_range(id);
                if !w.ended_steps.is_empty() {
                    let seq = match steps
                        .range(lo.as_str()..hi.as_str())
                        .map_err(|x| e("read steps")(x.to_string()))?
                        .next_back()
                    {
                        Some(last) => {
                            let (k, _) = last.map_err(|x| e("read steps")(x.to_string()))?;
                            k.value()
                                .rsplit('/')
                                .next()
                                .and_then(|s| s.parse::<u64>().ok())
                                .unwrap_or(0)
                                + 1
                        }
                        None => 0,
                    };
                    for (i, r) in w.ended_steps.iter().enumerate() {
                        let key = format!("{id}/{:010}", seq + i as u64);
                        steps
                            .insert(key.as_str(), encode(r, "encode step")?.as_slice())
                            .map_err(|x| e("write step")(x.to_string()))?;
                    }
                }
                for t in &w.new_timers {
                    timers
                        .insert(t.key().as_str(), encode(t, "encode timer")?.as_slice())
                        .map_err(|x| e("write timer")(x.to_string()))?;
                }
                for c in &w.new_calls {
                    outbox
                        .insert(
                            c.idempotency_key.as_str(),
                            encode(c, "encode call")?.as_slice(),
                        )
                        .map_err(|x| e("write call")(x.to_string()))?;
                }
                let ex = &w.execution;
                timers
                    .retain_in(lo.as_str()..hi.as_str(), |_, v| {
                        serde_json::from_slice::<TimerJob>(v)
                            .is_ok_and(|t| ex.is_live(&t.timer.step, t.timer.attempt))
                    })
                    .map_err(|x| e("prune timers")(x.to_string()))?;
                let done = w.done_call.as_ref();
                outbox
                    .retain_in(lo.as_str()..hi.as_str(), |_, v| {
                        serde_json::from_slice::<CallJob>(v).is_ok_and(|c| {
                            ex.is_live(&c.step, c.attempt)
                                && done.is_none_or(|(s, a)| !(*s == c.step && *a == c.attempt))
                        })
                    })
                    .map_err(|x| e("prune outbox")(x.to_string()))?;
            }
            if !documents.is_empty() {
                let mut docs = tx
                    .open_table(DOCUMENTS)
                    .map_err(|x| e("open documents")(x.to_string()))?;
                for (name, text) in documents {
                    docs.insert(name.as_str(), text.as_str())
                        .map_err(|x| e("write document")(x.to_string()))?;
                }
            }
        }
        tx.commit().map_err(|x| e("commit")(x.to_string()))
    }

    /// Count one more delivery of each of these outbox calls (after a restart).
    pub fn redeliver_calls(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        let tx = self
            .db
            .begin_write()
            .map_err(|x| io("begin")(x.to_string()))?;
        {
            let mut outbox = tx
                .open_table(OUTBOX)
                .map_err(|x| io("open outbox")(x.to_string()))?;
            for k in keys {
                let job = match outbox
                    .get(k.as_str())
                    .map_err(|x| io("read call")(x.to_string()))?
                {
                    Some(v) => decode::<CallJob>(v.value(), "decode call")?,
                    None => continue,
                };
                let mut job = job;
                job.deliveries += 1;
                outbox
                    .insert(k.as_str(), encode(&job, "encode call")?.as_slice())
                    .map_err(|x| io("write call")(x.to_string()))?;
            }
        }
        tx.commit().map_err(|x| io("commit")(x.to_string()))
    }

    pub fn execution(&self, id: &str) -> Result<Option<StoredExecution>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|x| io("begin read")(x.to_string()))?;
        let execs = match tx.open_table(EXECUTIONS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(x) => return Err(io("open executions")(x.to_string())),
        };
        let sums = tx
            .open_table(SUMMARIES)
            .map_err(|x| io("open summaries")(x.to_string()))?;
        let Some(ex) = execs
            .get(id)
            .map_err(|x| io("read execution")(x.to_string()))?
        else {
            return Ok(None);
        };
        let execution: Execution = decode(ex.value(), "decode execution")?;
        let summary = match sums
            .get(id)
            .map_err(|x| io("read summary")(x.to_string()))?
        {
            Some(s) => decode(s.value(), "decode summary")?,
            None => {
                return Err(io("read summary")(format!(
                    "execution {id} has no summary row"
                )));
            }
        };
        Ok(Some(StoredExecution { summary, execution }))
    }

    /// Every execution's summary, by id.
    pub fn execution_summaries(&self) -> Result<Vec<ExecSummary>, StoreError> {
        self.scan(SUMMARIES, "summaries", None)
    }

    /// The step runs that ended, oldest first.
    pub fn step_history(&self, id: &str) -> Result<Vec<StepRecord>, StoreError> {
        self.scan(STEPS, "steps", Some(id))
    }

    pub fn pending_timers(&self) -> Result<Vec<TimerJob>, StoreError> {
        self.scan(TIMERS, "timers", None)
    }

    pub fn pending_calls(&self) -> Result<Vec<CallJob>, StoreError> {
        self.scan(OUTBOX, "outbox", None)
    }

    /// A stored runbook document's source.
    pub fn document(&self, name: &str) -> Result<Option<String>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|x| io("begin read")(x.to_string()))?;
        let docs = match tx.open_table(DOCUMENTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(x) => return Err(io("open documents")(x.to_string())),
        };
        let v = docs
            .get(name)
            .map_err(|x| io("read document")(x.to_string()))?;
        Ok(v.map(|v| v.value().to_string()))
    }

    fn scan<T: for<'de> Deserialize<'de>>(
        &self,
        table: TableDefinition<'_, &str, &[u8]>,
        what: &'static str,
        prefix: Option<&str>,
    ) -> Result<Vec<T>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|x| io("begin read")(x.to_string()))?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(x) => return Err(io("open table")(format!("{what}: {x}"))),
        };
        let mut out = Vec::new();
        let mut push = |item: Result<
            (redb::AccessGuard<'_, &str>, redb::AccessGuard<'_, &[u8]>),
            redb::StorageError,
        >| {
            let (_, v) = item.map_err(|x| io("scan")(format!("{what}: {x}")))?;
            out.push(decode(v.value(), "decode row")?);
            Ok::<(), StoreError>(())
        };
        match prefix {
            Some(id) => {
                let (lo, hi) = prefix_range(id);
                for item in t
                    .range(lo.as_str()..hi.as_str())
                    .map_err(|x| io("scan")(x.to_string()))?
                {
                    push(item)?;
                }
            }
            None => {
                for item in t.iter().map_err(|x| io("scan")(x.to_string()))? {
                    push(item)?;
                }
            }
        }
        Ok(out)
    }
}
