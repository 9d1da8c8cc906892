//! The durable executor: feeds events to the pure interpreter ([`crate::runbook::interp`]),
//! commits each transition's state and effects in one store transaction, then performs the
//! effects (plugin calls, timers, child executions) and feeds their results back. Knows nothing of
//! HTTP.
//!
//! One actor thread applies every event in order (transitions are cheap; commits are serialized
//! by the store anyway). Plugin calls run as tokio tasks; one timer task holds an in-memory index
//! of pending timers (nothing else about a waiting execution stays in memory). On start, every
//! pending timer is loaded (overdue ones fire at once) and every call left in the outbox is sent
//! again with its original idempotency key and attempt.

mod documents;
mod view;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use jiff::Timestamp;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::plugin::{CallContext, PluginHost};
use crate::runbook::interp::{
    Effect, Event, Execution, PluginOutcome, Signal, Status, Timer, transition,
};
use crate::runbook::{Document, ParamError, Vars, bind_parameters};
use crate::store::{CallJob, ExecSummary, ExecWrite, ParentLink, Store, StoreError, TimerJob};

pub use documents::Documents;
pub use view::view;

/// What went wrong with an executor request.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(
        "no runbook document `{name}` (known: {known}); add it to the runbooks directory (`tocsin serve --runbooks DIR`) or post it inline with `content` and `name`"
    )]
    UnknownDocument { name: String, known: String },
    #[error("the runbook document `{name}` has errors; run `tocsin validate` on it:\n{report}")]
    InvalidDocument {
        name: String,
        report: String,
        diagnostics: Value,
    },
    #[error(transparent)]
    Parameter(#[from] ParamError),
    #[error("no execution `{id}`; list executions with `tocsin exec list`")]
    NotFound { id: String },
    #[error("`{field}`: {message}")]
    BadRequest {
        field: &'static str,
        message: String,
    },
    #[error("the signal {signal} changed nothing: {why}")]
    SignalIgnored { signal: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the executor has stopped (see the log for why); restart tocsin")]
    Stopped,
}

/// A request to start an execution: a document by name, or inline source.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Name of a known document (runbooks directory or stored).
    #[serde(default)]
    pub document: Option<String>,
    /// Inline document source (YAML or JSON).
    #[serde(default)]
    pub content: Option<String>,
    /// With `content`: store the document under this name (children can then use it).
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    /// Incident context: `TITLE`, `INCIDENT_RECORD_ARN`, … as `{{ incident:NAME }}`.
    #[serde(default)]
    pub incident: Map<String, Value>,
    /// A caller-chosen id: starting again with the same id returns the first execution
    /// (a response plan restarted after a crash must not run its runbook twice).
    #[serde(skip)]
    pub execution_id: Option<String>,
}

/// Build a [`Signal`] from its name and arguments (HTTP and CLI share this).
pub fn parse_signal(
    name: &str,
    step: Option<String>,
    approver: Option<String>,
    comment: Option<String>,
) -> Result<Signal, ExecError> {
    let need_approver = |approver: Option<String>| {
        approver
            .filter(|a| !a.is_empty())
            .ok_or(ExecError::BadRequest {
                field: "approver",
                message: format!("{name} needs the approver's name"),
            })
    };
    Ok(match name {
        "Resume" => Signal::Resume,
        "Approve" => Signal::Approve {
            approver: need_approver(approver)?,
        },
        "Reject" => Signal::Reject {
            approver: need_approver(approver)?,
            comment,
        },
        "StartStep" => Signal::StartStep(step.filter(|s| !s.is_empty()).ok_or(
            ExecError::BadRequest {
                field: "step",
                message: "StartStep needs the name of the step to re-run from".into(),
            },
        )?),
        "StopStep" => Signal::StopStep,
        other => {
            return Err(ExecError::BadRequest {
                field: "signal",
                message: format!(
                    "unknown signal `{other}`; use Resume, Approve, Reject, StartStep or StopStep"
                ),
            });
        }
    })
}

type Reply = oneshot::Sender<Result<ExecSummary, ExecError>>;

enum Msg {
    Start {
        execution: Box<Execution>,
        document: String,
        store_document: Option<(String, String)>,
        reply: Reply,
    },
    Event {
        id: String,
        event: Event,
        reply: Option<Reply>,
    },
    /// Finish the messages before this one, then stop (timers stop too).
    Stop,
}

/// The executor handle (cheap to clone).
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    docs: Arc<Documents>,
    tx: mpsc::UnboundedSender<Msg>,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").finish_non_exhaustive()
    }
}

impl Executor {
    /// Start the executor and resume every unfinished execution in `store`. Call inside a tokio
    /// runtime.
    pub fn start(
        store: Arc<Store>,
        plugins: Arc<PluginHost>,
        docs: Documents,
    ) -> Result<Executor, ExecError> {
        let docs = Arc::new(docs);
        let (tx, rx) = mpsc::unbounded_channel();
        let (timer_tx, timer_rx) = mpsc::unbounded_channel();
        let rt = tokio::runtime::Handle::current();
        rt.spawn(timer_service(timer_rx, tx.clone()));
        let actor = Actor {
            store: store.clone(),
            docs: docs.clone(),
            plugins,
            tx: tx.clone(),
            timers: timer_tx,
            rt,
        };
        // Resume: timers (overdue ones fire at once) and calls that were in flight.
        let timers = store.pending_timers()?;
        let calls = store.pending_calls()?;
        let keys: Vec<String> = calls.iter().map(|c| c.idempotency_key.clone()).collect();
        store.redeliver_calls(&keys)?;
        tracing::info!(
            timers = timers.len(),
            calls = calls.len(),
            "executor resuming pending work"
        );
        for t in timers {
            let _ = actor.timers.send(t);
        }
        for mut c in calls {
            c.deliveries += 1;
            tracing::info!(execution = %c.execution_id, step = %c.step, attempt = c.attempt, key = %c.idempotency_key, deliveries = c.deliveries, "re-sending a plugin call that was in flight");
            actor.call(c);
        }
        std::thread::Builder::new()
            .name("tocsin-exec".into())
            .spawn(move || actor.run(rx))
            .map_err(|e| ExecError::BadRequest {
                field: "executor",
                message: format!("cannot start the executor thread: {e}"),
            })?;
        Ok(Executor {
            inner: Arc::new(Inner { store, docs, tx }),
        })
    }

    /// Stop applying events (pending ones are finished first); state stays in the store and
    /// resumes on the next [`Executor::start`].
    pub fn shutdown(&self) {
        let _ = self.inner.tx.send(Msg::Stop);
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn documents(&self) -> &Documents {
        &self.inner.docs
    }

    /// Validate the request, bind parameters and start the execution; returns after the first
    /// transition is committed.
    pub async fn start_execution(&self, req: StartRequest) -> Result<ExecSummary, ExecError> {
        let (name, doc, store_document) = match (&req.document, &req.content) {
            (_, Some(text)) => {
                let name = req
                    .name
                    .clone()
                    .or(req.document.clone())
                    .unwrap_or_else(|| "inline".into());
                let doc = self.inner.docs.check(&name, text)?;
                let store = req.name.clone().map(|n| (n, text.clone()));
                (name, doc, store)
            }
            (Some(name), None) => {
                let doc = self.inner.docs.resolve(name, &self.inner.store)?;
                (name.clone(), doc, None)
            }
            (None, None) => {
                return Err(ExecError::BadRequest {
                    field: "document",
                    message: "give `document` (a known document's name) or `content` (the document inline)".into(),
                });
            }
        };
        let now = Timestamp::now();
        if let Some(id) = &req.execution_id
            && let Some(existing) = self.inner.store.execution(id)?
        {
            return Ok(existing.summary);
        }
        let id = req
            .execution_id
            .clone()
            .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
        let mut vars = Vars::new(now, &id);
        bind_parameters(&doc, &req.parameters, &mut vars)?;
        for (k, v) in &req.incident {
            vars.set_incident(k, v.clone());
        }
        let execution = Box::new(Execution::new(id, doc, vars));
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Start {
                execution,
                document: name,
                store_document,
                reply,
            })
            .map_err(|_| ExecError::Stopped)?;
        rx.await.map_err(|_| ExecError::Stopped)?
    }

    /// Send a signal; returns after its transition is committed.
    pub async fn signal(&self, id: &str, signal: Signal) -> Result<ExecSummary, ExecError> {
        self.event(id, Event::Signal(signal)).await
    }

    pub async fn cancel(&self, id: &str) -> Result<ExecSummary, ExecError> {
        self.event(id, Event::Cancel).await
    }

    async fn event(&self, id: &str, event: Event) -> Result<ExecSummary, ExecError> {
        let (reply, rx) = oneshot::channel();
        self.inner
            .tx
            .send(Msg::Event {
                id: id.to_string(),
                event,
                reply: Some(reply),
            })
            .map_err(|_| ExecError::Stopped)?;
        rx.await.map_err(|_| ExecError::Stopped)?
    }

    pub fn list(&self) -> Result<Vec<ExecSummary>, ExecError> {
        Ok(self.inner.store.execution_summaries()?)
    }

    /// The execution as JSON for APIs (see [`view`]).
    pub fn get(&self, id: &str) -> Result<Value, ExecError> {
        let stored = self
            .inner
            .store
            .execution(id)?
            .ok_or_else(|| ExecError::NotFound { id: id.into() })?;
        let history = self.inner.store.step_history(id)?;
        Ok(view(&stored, &history))
    }
}

/// The single writer.
struct Actor {
    store: Arc<Store>,
    docs: Arc<Documents>,
    plugins: Arc<PluginHost>,
    tx: mpsc::UnboundedSender<Msg>,
    timers: mpsc::UnboundedSender<TimerJob>,
    rt: tokio::runtime::Handle,
}

/// Executions touched by one commit, and events still to apply.
#[derive(Default)]
struct Batch {
    writes: Vec<ExecWrite>,
    queue: VecDeque<(String, Event)>,
}

impl Batch {
    fn find(&self, id: &str) -> Option<usize> {
        self.writes.iter().position(|w| w.execution.id == id)
    }
}

/// Events applied in one commit at most (children finishing into parents, …).
const MAX_EVENTS_PER_COMMIT: usize = 1_000;

/// Messages applied together in one commit at most (group commit: one fsync for many events).
const MAX_MSGS_PER_COMMIT: usize = 256;

/// Who waits for the outcome of one message of a group commit.
struct Pending {
    id: String,
    reply: Option<Reply>,
    error: Option<ExecError>,
}

impl Actor {
    fn run(self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        while let Some(first) = rx.blocking_recv() {
            let mut stop = matches!(first, Msg::Stop);
            let mut msgs = vec![first];
            while !stop && msgs.len() < MAX_MSGS_PER_COMMIT {
                match rx.try_recv() {
                    Ok(m) => {
                        stop = matches!(m, Msg::Stop);
                        msgs.push(m);
                    }
                    Err(_) => break,
                }
            }
            self.group(msgs);
            if stop {
                tracing::info!("executor stopped");
                return;
            }
        }
    }

    /// Apply the messages' events, commit them in one transaction, then perform the effects that
    /// are still live and answer.
    fn group(&self, msgs: Vec<Msg>) {
        let now = Timestamp::now();
        let mut batch = Batch::default();
        let mut documents = Vec::new();
        let mut pending = Vec::new();
        for msg in msgs {
            let (id, event, reply, check) = match msg {
                Msg::Start {
                    execution,
                    document,
                    store_document,
                    reply,
                } => {
                    let id = execution.id.clone();
                    batch.writes.push(new_write(*execution, document, None));
                    documents.extend(store_document);
                    (id, Event::Start, Some(reply), false)
                }
                Msg::Event { id, event, reply } => {
                    let check = reply.is_some() && matches!(event, Event::Signal(_));
                    (id, event, reply, check)
                }
                Msg::Stop => continue,
            };
            batch.queue.push_back((id.clone(), event));
            let error = self.drain(&mut batch, now, &id, check).err();
            batch.queue.clear();
            pending.push(Pending { id, reply, error });
        }
        let committed = self.store.commit_executions(&batch.writes, &documents);
        match &committed {
            Ok(()) => {
                for w in &batch.writes {
                    for t in &w.new_timers {
                        if w.execution
                            .is_live(&t.timer.step, t.timer.run, t.timer.attempt)
                        {
                            let _ = self.timers.send(t.clone());
                        }
                    }
                    for c in &w.new_calls {
                        if w.execution.is_live(&c.step, c.run, c.attempt) {
                            self.call(c.clone());
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, executions = batch.writes.len(), "cannot commit; the events are applied again after a restart")
            }
        }
        for p in pending {
            let result = match (&committed, p.error) {
                (_, Some(e)) => Err(e),
                (Err(e), None) => Err(ExecError::Store(StoreError::Io {
                    op: "commit",
                    message: e.to_string(),
                })),
                (Ok(()), None) => batch
                    .find(&p.id)
                    .map(|i| batch.writes[i].summary.clone())
                    .ok_or(ExecError::NotFound { id: p.id.clone() }),
            };
            match p.reply {
                Some(r) => {
                    let _ = r.send(result);
                }
                None => {
                    if let Err(e) = result {
                        tracing::warn!(execution = %p.id, error = %e, "an event was not applied");
                    }
                }
            }
        }
    }

    /// Apply the queued events (and the events they cause: children starting and finishing).
    fn drain(
        &self,
        batch: &mut Batch,
        now: Timestamp,
        id: &str,
        check_signal: bool,
    ) -> Result<(), ExecError> {
        let mut unchanged_signal = None;
        let mut applied = 0;
        while let Some((eid, event)) = batch.queue.pop_front() {
            applied += 1;
            if applied > MAX_EVENTS_PER_COMMIT {
                tracing::error!(execution = %eid, "too many chained events in one commit; the rest are dropped");
                break;
            }
            let idx = match batch.find(&eid) {
                Some(i) => i,
                None => match self.store.execution(&eid)? {
                    Some(s) => {
                        batch.writes.push(ExecWrite {
                            summary: s.summary,
                            execution: s.execution,
                            new_timers: Vec::new(),
                            new_calls: Vec::new(),
                            done_call: None,
                            ended_steps: Vec::new(),
                        });
                        batch.writes.len() - 1
                    }
                    None if eid == id => return Err(ExecError::NotFound { id: eid }),
                    None => {
                        tracing::warn!(execution = %eid, "an event for an unknown execution was dropped");
                        continue;
                    }
                },
            };
            let signal_name = match &event {
                Event::Signal(s) if check_signal && eid == id => Some(signal_label(s)),
                _ => None,
            };
            let w = &mut batch.writes[idx];
            if let Event::PluginResult {
                step, run, attempt, ..
            } = &event
            {
                w.done_call = Some((step.clone(), *run, *attempt));
            }
            let before = w.execution.clone();
            let (after, effects) = transition(before.clone(), event, now);
            if let Some(name) = signal_name
                && after == before
                && effects.is_empty()
            {
                unchanged_signal = Some((name, why_ignored(&before)));
            }
            w.execution = after;
            refresh_summary(w);
            let parent = w.summary.parent.clone();
            for effect in effects {
                let w = &mut batch.writes[idx];
                match effect {
                    Effect::CallPlugin {
                        instance,
                        action,
                        input,
                        idempotency_key,
                        step,
                        run,
                        attempt,
                        deadline,
                    } => w.new_calls.push(CallJob {
                        execution_id: eid.clone(),
                        instance,
                        action,
                        input,
                        idempotency_key,
                        step,
                        run,
                        attempt,
                        deadline,
                        deliveries: 1,
                    }),
                    Effect::StartTimer { at, timer } => w.new_timers.push(TimerJob {
                        execution_id: eid.clone(),
                        at,
                        timer,
                    }),
                    Effect::StartChild {
                        step,
                        run,
                        document_name,
                        document_version: _,
                        parameters,
                    } => match self.child(&eid, &step, run, &document_name, &parameters, now) {
                        Ok(child) => {
                            let cid = child.execution.id.clone();
                            tracing::info!(execution = %eid, step = %step, child = %cid, document = %document_name, "starting a child execution");
                            batch.writes.push(child);
                            batch.queue.push_back((cid, Event::Start));
                        }
                        Err(e) => {
                            tracing::warn!(execution = %eid, step = %step, document = %document_name, error = %e, "cannot start the child execution");
                            let mut outputs = Map::new();
                            outputs.insert("Error".into(), Value::from(e.to_string()));
                            batch.queue.push_back((
                                eid.clone(),
                                Event::ChildFinished {
                                    step,
                                    run,
                                    execution_id: String::new(),
                                    status: Status::Failed,
                                    outputs,
                                },
                            ));
                        }
                    },
                    Effect::StepEnded(record) => w.ended_steps.push(record),
                    Effect::Finished { status, outputs } => {
                        tracing::info!(execution = %eid, status = ?status, "execution finished");
                        if let Some(p) = &parent {
                            batch.queue.push_back((
                                p.execution_id.clone(),
                                Event::ChildFinished {
                                    step: p.step.clone(),
                                    run: p.run,
                                    execution_id: eid.clone(),
                                    status,
                                    outputs,
                                },
                            ));
                        }
                    }
                }
            }
        }
        if let Some((signal, why)) = unchanged_signal {
            return Err(ExecError::SignalIgnored { signal, why });
        }
        Ok(())
    }

    fn child(
        &self,
        parent: &str,
        step: &str,
        run: u32,
        name: &str,
        parameters: &Map<String, Value>,
        now: Timestamp,
    ) -> Result<ExecWrite, ExecError> {
        let doc: Document = self.docs.resolve(name, &self.store)?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut vars = Vars::new(now, &id);
        bind_parameters(&doc, parameters, &mut vars)?;
        Ok(new_write(
            Execution::new(id, doc, vars),
            name.to_string(),
            Some(ParentLink {
                execution_id: parent.to_string(),
                step: step.to_string(),
                run,
            }),
        ))
    }

    /// Send a plugin call; its result comes back as an event.
    fn call(&self, job: CallJob) {
        let plugins = self.plugins.clone();
        let tx = self.tx.clone();
        self.rt.spawn(async move {
            let ctx = CallContext {
                invocation_id: job.idempotency_key.clone(),
                incident_arn: None,
                execution_id: Some(job.execution_id.clone()),
                step: Some(job.step.clone()),
                attempt: job.attempt,
            };
            tracing::debug!(execution = %job.execution_id, step = %job.step, attempt = job.attempt, key = %job.idempotency_key, "plugin call");
            let outcome = match plugins.invoke(&job.instance, &job.action, &job.input, ctx).await {
                Ok(v) => PluginOutcome::Ok(v),
                Err(e) if e.is_retryable() => match e.retry_after() {
                    Some(after) => PluginOutcome::RetryLater {
                        message: e.to_string(),
                        after_ms: after.as_millis() as u64,
                    },
                    None => PluginOutcome::Retryable(e.to_string()),
                },
                Err(e) => PluginOutcome::Failed(e.to_string()),
            };
            let _ = tx.send(Msg::Event {
                id: job.execution_id,
                event: Event::PluginResult {
                    step: job.step,
                    run: job.run,
                    attempt: job.attempt,
                    outcome,
                },
                reply: None,
            });
        });
    }
}

fn new_write(execution: Execution, document: String, parent: Option<ParentLink>) -> ExecWrite {
    let mut w = ExecWrite {
        summary: ExecSummary {
            id: execution.id.clone(),
            document,
            status: execution.status,
            current: None,
            created_at: Timestamp::now(),
            started_at: None,
            ended_at: None,
            parent,
            failure: None,
        },
        execution,
        new_timers: Vec::new(),
        new_calls: Vec::new(),
        done_call: None,
        ended_steps: Vec::new(),
    };
    refresh_summary(&mut w);
    w
}

fn refresh_summary(w: &mut ExecWrite) {
    let ex = &w.execution;
    w.summary.status = ex.status;
    w.summary.current = ex.current.clone();
    w.summary.started_at = ex.started_at;
    w.summary.ended_at = ex.ended_at;
    w.summary.failure = ex.failure.clone();
}

fn signal_label(s: &Signal) -> String {
    match s {
        Signal::Resume => "Resume".into(),
        Signal::Approve { .. } => "Approve".into(),
        Signal::Reject { .. } => "Reject".into(),
        Signal::StartStep(step) => format!("StartStep {step}"),
        Signal::StopStep => "StopStep".into(),
    }
}

fn why_ignored(ex: &Execution) -> String {
    if ex.status.is_final() {
        return format!(
            "the execution ended {:?}; only StartStep (with a main step's name) re-runs it",
            ex.status
        );
    }
    match ex
        .current
        .as_deref()
        .and_then(|c| ex.record(c).map(|r| (c, r)))
    {
        Some((c, r)) => {
            let action = ex
                .document
                .step(c)
                .map_or("?".to_string(), |s| s.action.name().to_string());
            format!(
                "the current step `{c}` ({action}) is {:?}; Resume continues an aws:pause, Approve/Reject answer an aws:approve (by a listed approver), StartStep needs a main step's name",
                r.status
            )
        }
        None => "no step is running".into(),
    }
}

/// The in-memory timer index: fires each timer at its time (overdue ones at once).
async fn timer_service(mut rx: mpsc::UnboundedReceiver<TimerJob>, tx: mpsc::UnboundedSender<Msg>) {
    let mut index: BTreeMap<(Timestamp, u64), (String, Timer)> = BTreeMap::new();
    let mut seq = 0u64;
    loop {
        let next = index.first_key_value().map(|(k, _)| k.0);
        let wait = next.map(|at| {
            let d = at.duration_since(Timestamp::now());
            std::time::Duration::try_from(d).unwrap_or(std::time::Duration::ZERO)
        });
        tokio::select! {
            job = rx.recv() => match job {
                Some(j) => {
                    seq += 1;
                    index.insert((j.at, seq), (j.execution_id, j.timer));
                }
                None => return,
            },
            _ = tokio::time::sleep(wait.unwrap_or(std::time::Duration::from_secs(3600))), if wait.is_some() => {
                let now = Timestamp::now();
                while let Some(entry) = index.first_entry() {
                    if entry.key().0 > now {
                        break;
                    }
                    let (id, timer) = entry.remove();
                    if tx.send(Msg::Event { id, event: Event::TimerFired(timer), reply: None }).is_err() {
                        return;
                    }
                }
            }
        }
    }
}
