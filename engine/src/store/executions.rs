//! Runbook executions: their state, step history, pending timers, the plugin-call outbox and
//! stored documents. A transition's new state and its effects are written in one transaction.
//!
//! Tables (keys are text so they stay expressible in SQL):
//! - `executions`: id → the interpreter's `Execution` (JSON) without its document, which it names
//!   by content hash (`document_hash`)
//! - `runbook_document_blobs`: SHA-256 of a parsed document → the document (JSON), stored once for
//!   every execution of it
//! - `execution_summaries`: id → [`ExecSummary`] (JSON; listing reads only these)
//! - `execution_steps`: `<id>/<seq:010>` → a finished step run (`StepRecord`, JSON)
//! - `execution_timers`: `<id>/<step>#<run>/<attempt>/<kind>` → [`TimerJob`] (JSON)
//! - `execution_outbox`: `<id>/<step>#<run>/<attempt>` (the idempotency key) → [`CallJob`] (JSON)
//!
//! Rows written before documents were stored apart (the `Execution` with its `document` inline)
//! still load.
//! - `runbook_documents`: name → document source text

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Store, StoreError, io};
use crate::runbook::Document;
use crate::runbook::interp::{Execution, Status, StepRecord, Timer, document_hash};

const EXECUTIONS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("executions");
const SUMMARIES: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_summaries");
const STEPS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_steps");
const TIMERS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_timers");
const OUTBOX: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("execution_outbox");
const DOCUMENTS: TableDefinition<'_, &str, &str> = TableDefinition::new("runbook_documents");
const DOC_BLOBS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("runbook_document_blobs");

/// Documents cached at most; beyond, the cache starts over (documents are few and small).
const DOC_CACHE_MAX: usize = 256;

/// Parsed documents by content hash, shared by the executions loaded from the store. Holds only
/// documents that are committed.
#[derive(Debug, Default)]
pub(super) struct DocCache(Mutex<HashMap<String, Arc<Document>>>);

impl DocCache {
    fn get(&self, hash: &str) -> Option<Arc<Document>> {
        self.0.lock().ok()?.get(hash).cloned()
    }

    fn put(&self, hash: &str, doc: &Arc<Document>) {
        if let Ok(mut m) = self.0.lock() {
            if m.len() >= DOC_CACHE_MAX && !m.contains_key(hash) {
                m.clear();
            }
            m.insert(hash.to_string(), doc.clone());
        }
    }
}

/// The document of a row written with it inline (before documents were stored apart).
#[derive(Deserialize)]
struct InlineDocument {
    document: Document,
}

/// The parent of a child execution (`aws:executeAutomation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    pub execution_id: String,
    pub step: String,
    /// The run of `step` that started the child.
    #[serde(default)]
    pub run: u32,
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
            "{}/{}#{}/{}/{:?}",
            self.execution_id, self.timer.step, self.timer.run, self.timer.attempt, self.timer.kind
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
    /// `<execution>/<step>#<run>/<attempt>`: the key of the outbox row and the plugin's
    /// invocation id.
    pub idempotency_key: String,
    pub step: String,
    #[serde(default)]
    pub run: u32,
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
    /// The call whose result this commit applies (`step`, `run`, `attempt`): removed from the
    /// outbox.
    pub done_call: Option<(String, u32, u32)>,
    /// Step runs that ended in this commit, appended to the history.
    pub ended_steps: Vec<StepRecord>,
}

/// Runbook progress on the timeline of the incident that started it (same transaction): each
/// step run that ended, and the end of the execution.
fn incident_timeline(tx: &redb::WriteTransaction, writes: &[ExecWrite]) -> Result<(), StoreError> {
    use crate::engage::TimelineEntry;
    use serde_json::json;
    let view = super::EngageTx {
        tx: super::oncall::OncallTx {
            inner: super::oncall::Inner::Write(tx),
        },
    };
    for w in writes {
        let Some(arn) = w
            .execution
            .vars
            .get("incident:INCIDENT_RECORD_ARN")
            .and_then(|v| v.as_str())
        else {
            continue;
        };
        for r in &w.ended_steps {
            view.add_timeline(&TimelineEntry::auto(
                arn,
                r.ended_at.unwrap_or_else(Timestamp::now),
                "Runbook step finished",
                json!({"executionId": w.execution.id, "step": r.name, "status": r.status, "startedAt": r.started_at, "failure": r.failure}),
            ))?;
        }
        if w.execution.status.is_final() {
            let already = view.timeline(arn)?.iter().any(|e| {
                e.event_type == "Runbook finished"
                    && e.event_data["executionId"] == w.execution.id.as_str()
            });
            if !already {
                view.add_timeline(&TimelineEntry::auto(
                    arn,
                    w.execution.ended_at.unwrap_or_else(Timestamp::now),
                    "Runbook finished",
                    json!({"executionId": w.execution.id, "status": w.execution.status, "failure": w.execution.failure}),
                ))?;
            }
        }
    }
    Ok(())
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
            let mut blobs = tx
                .open_table(DOC_BLOBS)
                .map_err(|x| e("open document blobs")(x.to_string()))?;
            let mut seen = BTreeSet::new();
            for w in writes {
                let hash = w.execution.document_hash.as_str();
                if !seen.insert(hash) || self.exec_docs.get(hash).is_some() {
                    continue;
                }
                let stored = blobs
                    .get(hash)
                    .map_err(|x| e("read document blob")(x.to_string()))?
                    .is_some();
                if !stored {
                    blobs
                        .insert(
                            hash,
                            encode(&*w.execution.document, "encode document")?.as_slice(),
                        )
                        .map_err(|x| e("write document blob")(x.to_string()))?;
                }
            }
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
                            .is_ok_and(|t| ex.is_live(&t.timer.step, t.timer.run, t.timer.attempt))
                    })
                    .map_err(|x| e("prune timers")(x.to_string()))?;
                let done = w.done_call.as_ref();
                outbox
                    .retain_in(lo.as_str()..hi.as_str(), |_, v| {
                        serde_json::from_slice::<CallJob>(v).is_ok_and(|c| {
                            ex.is_live(&c.step, c.run, c.attempt)
                                && done.is_none_or(|(s, r, a)| {
                                    !(*s == c.step && *r == c.run && *a == c.attempt)
                                })
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
        incident_timeline(&tx, writes)?;
        tx.commit().map_err(|x| e("commit")(x.to_string()))?;
        for w in writes {
            let ex = &w.execution;
            if self.exec_docs.get(&ex.document_hash).is_none() {
                self.exec_docs.put(&ex.document_hash, &ex.document);
            }
        }
        Ok(())
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
        let mut execution: Execution = decode(ex.value(), "decode execution")?;
        if execution.document_hash.is_empty() {
            let inline: InlineDocument = decode(ex.value(), "decode execution document")?;
            execution.document_hash = document_hash(&inline.document);
            execution.document = Arc::new(inline.document);
        } else {
            execution.document = self.execution_document(&tx, &execution.document_hash)?;
        }
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

    /// A stored document by content hash: from the cache, else the blobs table.
    fn execution_document(
        &self,
        tx: &redb::ReadTransaction,
        hash: &str,
    ) -> Result<Arc<Document>, StoreError> {
        if let Some(d) = self.exec_docs.get(hash) {
            return Ok(d);
        }
        let blobs = tx
            .open_table(DOC_BLOBS)
            .map_err(|x| io("open document blobs")(x.to_string()))?;
        let row = blobs
            .get(hash)
            .map_err(|x| io("read document blob")(x.to_string()))?
            .ok_or_else(|| io("read document blob")(format!("no document with hash {hash}")))?;
        let doc: Arc<Document> = Arc::new(decode(row.value(), "decode document")?);
        self.exec_docs.put(hash, &doc);
        Ok(doc)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::interp::{Event, transition};
    use crate::runbook::{Vars, parse_document};

    fn write(ex: Execution) -> ExecWrite {
        ExecWrite {
            summary: ExecSummary {
                id: ex.id.clone(),
                document: "doc".into(),
                status: ex.status,
                current: ex.current.clone(),
                created_at: Timestamp::UNIX_EPOCH,
                started_at: None,
                ended_at: None,
                parent: None,
                failure: None,
            },
            execution: ex,
            new_timers: Vec::new(),
            new_calls: Vec::new(),
            done_call: None,
            ended_steps: Vec::new(),
        }
    }

    fn pausing(id: &str) -> Execution {
        let doc = parse_document(
            "schemaVersion: '0.3'\nmainSteps:\n  - { name: Hold, action: 'aws:pause' }\n",
        )
        .ok()
        .unwrap();
        let ex = Execution::new(id, doc, Vars::default());
        transition(ex, Event::Start, Timestamp::UNIX_EPOCH).0
    }

    /// Equal but for source spans, which are not stored.
    fn same(a: &Execution, b: &Execution) {
        let json = |e: &Execution| {
            (
                serde_json::to_value(e).unwrap(),
                serde_json::to_value(&*e.document).unwrap(),
            )
        };
        assert_eq!(json(a), json(b));
    }

    fn rows(store: &Store, table: TableDefinition<'_, &str, &[u8]>) -> usize {
        let tx = store.db.begin_read().unwrap();
        let t = tx.open_table(table).unwrap();
        t.iter().unwrap().count()
    }

    #[test]
    fn executions_of_one_document_store_it_once_and_load_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.redb");
        let (a, b) = (pausing("a"), pausing("b"));
        assert_eq!(a.document_hash, b.document_hash);
        {
            let store = Store::open(&path).unwrap();
            store.commit_executions(&[write(a.clone())], &[]).unwrap();
            store.commit_executions(&[write(b)], &[]).unwrap();
            assert_eq!(rows(&store, DOC_BLOBS), 1);
            let tx = store.db.begin_read().unwrap();
            let t = tx.open_table(EXECUTIONS).unwrap();
            let row = t.get("a").unwrap().unwrap();
            let text = String::from_utf8_lossy(row.value()).into_owned();
            assert!(
                !text.contains("mainSteps"),
                "the row embeds the document: {text}"
            );
        }
        // A fresh store (empty cache) reads the document from its blob.
        let store = Store::open(&path).unwrap();
        let back = store.execution("a").unwrap().unwrap().execution;
        same(&back, &a);
    }

    #[test]
    fn rows_with_the_document_inline_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.redb")).unwrap();
        let ex = pausing("old");
        let mut legacy = serde_json::to_value(&ex).unwrap();
        let obj = legacy.as_object_mut().unwrap();
        obj.remove("document_hash");
        obj.insert(
            "document".into(),
            serde_json::to_value(&*ex.document).unwrap(),
        );
        store.commit_executions(&[write(ex.clone())], &[]).unwrap();
        {
            let tx = store.db.begin_write().unwrap();
            {
                let mut t = tx.open_table(EXECUTIONS).unwrap();
                t.insert("old", serde_json::to_vec(&legacy).unwrap().as_slice())
                    .unwrap();
            }
            tx.commit().unwrap();
        }
        let back = store.execution("old").unwrap().unwrap().execution;
        same(&back, &ex);
    }
}
