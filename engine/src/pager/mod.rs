//! The durable engagement runtime: runs the pure `engage` machine against redb and the plugin
//! host. Every decision is committed (state, receipts, timers, outbox) in one transaction before
//! any notification leaves; timers live on disk with an in-memory index of the near future; after
//! a restart overdue timers fire at once and unanswered notifications are re-sent with the same
//! idempotency key. Knows nothing of HTTP.

mod directory;
mod policy;
mod scheduler;

pub use policy::{PagingPolicy, load_policy};
pub use scheduler::take_lateness;

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::engage::link::{self, Purpose};
use crate::engage::rate::{self, Admission, Held};
use crate::engage::{
    Accept, Changes, EngageError, Engagement, Machine, Notification, Page, Receipt, ReceiptType,
    SendOutcome, StartRequest, TimelineEntry, Timer, TimerKind,
};
use crate::plugin::{CallContext, PluginHost};
use crate::store::{EngageTx, Store, StoreError};
use directory::TxDirectory;
use scheduler::TimerIndex;

#[derive(Debug, thiserror::Error)]
pub enum PagerError {
    #[error(transparent)]
    Engage(#[from] EngageError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Link(#[from] link::LinkError),
}

/// The engagement runtime; cheap to clone.
#[derive(Clone)]
pub struct Pager {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    plugins: Arc<PluginHost>,
    policy: PagingPolicy,
    link_key: Vec<u8>,
    timers: TimerIndex,
    rt: tokio::runtime::Handle,
}

/// StartEngagement as the API receives it.
#[derive(Debug, Clone)]
pub struct StartEngagement {
    pub contact_id: String,
    pub sender: String,
    pub subject: String,
    pub content: String,
    pub public_subject: Option<String>,
    pub public_content: Option<String>,
    pub incident_id: Option<String>,
    pub idempotency_token: Option<String>,
}

impl Pager {
    /// Start the runtime: index due timers, re-send the outbox, run the scheduler.
    pub fn start(
        store: Arc<Store>,
        plugins: Arc<PluginHost>,
        policy: PagingPolicy,
    ) -> Result<Pager, PagerError> {
        let link_key = store.engage_write(|tx| tx.link_key())?;
        let pager = Pager {
            inner: Arc::new(Inner {
                store,
                plugins,
                policy,
                link_key,
                timers: TimerIndex::default(),
                rt: tokio::runtime::Handle::current(),
            }),
        };
        let unanswered = pager.inner.store.outbox()?;
        if !unanswered.is_empty() {
            tracing::info!(
                count = unanswered.len(),
                "re-sending notifications not answered before the restart"
            );
        }
        for n in unanswered {
            pager.dispatch(n);
        }
        scheduler::spawn(pager.clone());
        Ok(pager)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Timers held in memory (the near-future index); the rest wait on disk.
    pub fn indexed_timers(&self) -> usize {
        self.inner.timers.len()
    }

    pub fn policy(&self) -> &PagingPolicy {
        &self.inner.policy
    }

    /// StartEngagement; an idempotency token already used returns the first engagement.
    pub async fn start_engagement(&self, req: StartEngagement) -> Result<Engagement, PagerError> {
        let me = self.clone();
        detached(async move {
            let starter = me.clone();
            let (eng, after) = me
                .inner
                .store
                .engage_write_grouped_async(move |tx| {
                    starter.start_in(tx, req.clone(), Timestamp::now())
                })
                .await?;
            me.run_after_commit(after);
            Ok(eng)
        })
        .await
    }

    /// Starts an engagement inside the caller's transaction (an incident opening pages in the
    /// transaction that creates it). Nothing leaves before that transaction commits: hand the
    /// returned [`AfterCommit`] to [`Pager::run_after_commit`] once it has.
    pub fn start_in(
        &self,
        tx: &EngageTx<'_>,
        req: StartEngagement,
        now: Timestamp,
    ) -> Result<(Engagement, AfterCommit), PagerError> {
        if let Some(token) = &req.idempotency_token
            && let Some(id) = tx.engagement_by_token(token)?
            && let Some(e) = tx.engagement(&id)?
        {
            return Ok((e, AfterCommit(Vec::new())));
        }
        let dir = TxDirectory::new(tx, &self.inner.policy);
        let changes = crate::engage::start(
            StartRequest {
                engagement_id: uuid::Uuid::now_v7().simple().to_string(),
                arn_prefix: self.inner.policy.arn_prefix.clone(),
                contact_id: req.contact_id,
                sender: req.sender,
                subject: req.subject,
                content: req.content,
                public_subject: req.public_subject,
                public_content: req.public_content,
                incident_id: req.incident_id,
                idempotency_token: req.idempotency_token,
            },
            &dir,
            now,
        )?;
        let eng = changes
            .engagement
            .clone()
            .expect("start sets the engagement");
        let sends = self.commit(tx, changes, now)?;
        tracing::info!(engagement = %eng.engagement_id, contact = %eng.contact_id, "engagement started");
        Ok((eng, AfterCommit(sends)))
    }

    /// Sends the notifications and arms the timers of a committed transaction.
    pub fn run_after_commit(&self, after: AfterCommit) {
        self.after_commit(after.0);
    }

    /// Run `f` on the machine of engagement `id` and commit what it changed.
    async fn on_engagement<T: Send + 'static>(
        &self,
        id: String,
        f: impl Fn(&mut Machine<'_>) -> Result<T, PagerError> + Send + 'static,
    ) -> Result<T, PagerError> {
        // Concurrent decisions (acks, stops, callbacks) share one commit.
        let me = self.clone();
        detached(async move {
            let decider = me.clone();
            let (value, sends) = me
                .inner
                .store
                .engage_write_grouped_async(move |tx| decider.apply(tx, &id, Timestamp::now(), &f))
                .await?;
            me.after_commit(sends);
            Ok(value)
        })
        .await
    }

    fn apply<T>(
        &self,
        tx: &EngageTx<'_>,
        id: &str,
        now: Timestamp,
        f: impl FnOnce(&mut Machine<'_>) -> Result<T, PagerError>,
    ) -> Result<(T, Vec<Sent>), PagerError> {
        let eng = tx.engagement(id)?.ok_or_else(|| EngageError::NotFound {
            what: "engagement",
            id: id.to_owned(),
        })?;
        let pages = tx.pages_of(id)?;
        let dir = TxDirectory::new(tx, &self.inner.policy);
        let mut m = Machine::new(eng, pages, &dir, now);
        let value = f(&mut m)?;
        let changes = m.finish();
        let sends = self.commit(tx, changes, now)?;
        Ok((value, sends))
    }

    pub async fn stop(&self, id: &str, reason: Option<String>) -> Result<Engagement, PagerError> {
        self.on_engagement(id.to_owned(), move |m| {
            m.stop(reason.clone());
            Ok(m.engagement().clone())
        })
        .await
    }

    pub async fn escalate(&self, id: &str) -> Result<Engagement, PagerError> {
        self.on_engagement(id.to_owned(), |m| {
            m.escalate()?;
            Ok(m.engagement().clone())
        })
        .await
    }

    /// AcceptPage (API, SMS reply, voice keypress, email link): idempotent.
    pub async fn accept(&self, accept: Accept) -> Result<Page, PagerError> {
        let eng = engagement_of_page(&accept.page_id).to_owned();
        self.on_engagement(eng, move |m| {
            m.accept(&accept)?;
            Ok(m.page(&accept.page_id)
                .cloned()
                .expect("accept checked the page"))
        })
        .await
    }

    /// A provider's report on a page (delivery status callback).
    pub async fn provider_status(
        &self,
        page: &str,
        channel: Option<String>,
        ty: ReceiptType,
        info: String,
    ) -> Result<(), PagerError> {
        let (eng, page) = (engagement_of_page(page).to_owned(), page.to_owned());
        self.on_engagement(eng, move |m| {
            m.provider_status(&page, channel.as_deref(), ty, info.clone());
            Ok(())
        })
        .await
    }

    // -----------------------------------------------------------------------------------------
    // links

    pub fn ack_link(&self, page: &str, now: Timestamp) -> String {
        let exp = now
            .checked_add(SignedDuration::from_mins(i64::from(
                self.inner.policy.ack_link_ttl_minutes,
            )))
            .unwrap_or(now);
        let token = link::sign(&self.inner.link_key, Purpose::Ack, page, exp);
        format!("{}/v1/ack/{token}", self.inner.policy.base_url())
    }

    pub fn callback_link(&self, page: &str, channel: &str, now: Timestamp) -> String {
        // Providers report for up to a day (Twilio retries callbacks for hours).
        let exp = now
            .checked_add(SignedDuration::from_hours(48))
            .unwrap_or(now);
        let token = link::sign(
            &self.inner.link_key,
            Purpose::Callback,
            &format!("{page}/{channel}"),
            exp,
        );
        format!("{}/v1/inbound/page/{token}", self.inner.policy.base_url())
    }

    /// The page (and channel, for callbacks) a token names.
    pub fn verify_link(&self, purpose: Purpose, token: &str) -> Result<String, PagerError> {
        Ok(link::verify(
            &self.inner.link_key,
            purpose,
            token,
            Timestamp::now(),
        )?)
    }

    // -----------------------------------------------------------------------------------------
    // committing and sending

    /// Write everything a decision changed; returns the notifications to send after the commit.
    fn commit(
        &self,
        tx: &EngageTx<'_>,
        ch: Changes,
        now: Timestamp,
    ) -> Result<Vec<Sent>, PagerError> {
        if let Some(e) = &ch.engagement {
            tx.put_engagement(e)?;
        }
        for p in &ch.pages {
            tx.put_page(p)?;
        }
        for r in &ch.receipts {
            tx.add_receipt(r)?;
        }
        for t in &ch.timeline {
            tx.add_timeline(t)?;
        }
        let mut timers = Vec::new();
        for t in ch.timers {
            if tx.add_timer(&t)? {
                timers.push(t);
            }
        }
        let mut sends = Vec::new();
        for n in ch.notifications {
            if n.attempt == 1
                && n.bundled.is_empty()
                && self.rate_limited(tx, &n, now, &mut timers)?
            {
                continue;
            }
            tx.put_outbox(&n)?;
            sends.push(Sent::Notify(n));
        }
        sends.extend(timers.into_iter().map(Sent::Timer));
        Ok(sends)
    }

    /// Applies the contact method's rate limit; true when the notification was held back.
    fn rate_limited(
        &self,
        tx: &EngageTx<'_>,
        n: &Notification,
        now: Timestamp,
        timers: &mut Vec<Timer>,
    ) -> Result<bool, PagerError> {
        let Some(limit) = self
            .inner
            .policy
            .rate_limits
            .get(n.channel.channel_type.as_str())
        else {
            return Ok(false);
        };
        let method = method_of(n);
        let mut state = tx.rate(&method)?;
        let code = tx
            .page(&n.page_id)?
            .map(|p| p.accept_code)
            .unwrap_or_default();
        let held = Held {
            page_id: n.page_id.clone(),
            subject: n.subject.clone(),
            accept_code: code,
            at: now,
        };
        match state.admit(now, limit, held) {
            Admission::Send => {
                tx.put_rate(&method, &state)?;
                Ok(false)
            }
            Admission::Hold {
                flush_at,
                new_timer,
            } => {
                let reason = format!(
                    "suppressed: {} {} exceeds the limit of {} per {} min; bundled into a summary due {flush_at}",
                    n.channel.channel_type,
                    n.channel.delivery_address,
                    limit.max,
                    limit.per_minutes
                );
                let receipt = Receipt {
                    page_id: n.page_id.clone(),
                    contact_channel: Some(n.channel.name.clone()),
                    receipt_type: ReceiptType::Suppressed,
                    receipt_info: Some(reason.clone()),
                    receipt_time: now,
                };
                tx.add_receipt(&receipt)?;
                if let Some(incident) = &n.incident_id {
                    tx.add_timeline(&TimelineEntry::auto(incident, now, "Page receipt", json!({"pageId": n.page_id, "channel": n.channel.name, "receiptType": "SUPPRESSED", "info": reason})))?;
                }
                tracing::warn!(page = %n.page_id, %method, "page held back by the rate limit");
                if new_timer {
                    let t = Timer {
                        due: flush_at,
                        id: format!("flush/{method}/{}", state.summaries + 1),
                        kind: TimerKind::Flush {
                            method: method.clone(),
                        },
                    };
                    if tx.add_timer(&t)? {
                        timers.push(t);
                    }
                }
                // Keep the channel of the first held page: the summary goes out through it.
                if state.held.len() == 1 {
                    tx.put_outbox_channel(&method, n)?;
                }
                tx.put_rate(&method, &state)?;
                Ok(true)
            }
        }
    }

    fn after_commit(&self, sends: Vec<Sent>) {
        for s in sends {
            match s {
                Sent::Notify(n) => self.dispatch(n),
                Sent::Timer(t) => self.inner.timers.offer(&t),
            }
        }
    }

    /// Fire due timers, each exactly once (taken from the table in the transaction that applies
    /// it), several per transaction so a burst costs one fsync; through the group commit.
    fn fire_batch(&self, ids: &[String]) -> Result<(), PagerError> {
        let (me, ids) = (self.clone(), ids.to_vec());
        let (sends, lateness) = self.inner.store.engage_write_grouped(move |tx| {
            let now = Timestamp::now();
            let (mut sends, mut lateness) = (Vec::new(), Vec::new());
            for id in &ids {
                sends.extend(me.fire(tx, id, now, &mut lateness)?);
            }
            Ok::<_, PagerError>((sends, lateness))
        })?;
        // Recorded once committed: a grouped closure may run twice.
        for d in lateness {
            scheduler::record_lateness(d);
        }
        self.after_commit(sends);
        Ok(())
    }

    fn fire(
        &self,
        tx: &EngageTx<'_>,
        id: &str,
        now: Timestamp,
        lateness: &mut Vec<SignedDuration>,
    ) -> Result<Vec<Sent>, PagerError> {
        let Some(timer) = tx.take_timer(id)? else {
            return Ok(Vec::new());
        };
        lateness.push(now.duration_since(timer.due));
        let eng = match &timer.kind {
            TimerKind::Flush { method } => return self.flush(tx, method, now),
            TimerKind::Stage { engagement, .. } => engagement.clone(),
            TimerKind::Channel { page, .. } | TimerKind::ChannelRetry { page, .. } => {
                engagement_of_page(page).to_owned()
            }
            TimerKind::Retry { notification } => notification.engagement_id.clone(),
        };
        match self.apply(tx, &eng, now, |m| {
            m.on_timer(&timer.kind);
            Ok(())
        }) {
            Ok(((), sends)) => Ok(sends),
            // The engagement is gone: the timer is simply consumed.
            Err(PagerError::Engage(EngageError::NotFound { .. })) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Send the summary of the pages a rate limit held back for `method`, if there is room.
    fn flush(
        &self,
        tx: &EngageTx<'_>,
        method: &str,
        now: Timestamp,
    ) -> Result<Vec<Sent>, PagerError> {
        let Some(limit) = self
            .inner
            .policy
            .rate_limits
            .get(method.split('/').next().unwrap_or(""))
        else {
            return Ok(Vec::new());
        };
        let mut state = tx.rate(method)?;
        match state.flush(now, limit) {
            Ok(held) if held.is_empty() => Ok(Vec::new()),
            Ok(held) => {
                let Some(template) = tx.outbox_channel(method)? else {
                    return Ok(Vec::new());
                };
                let (subject, message) = rate::summary_text(&held);
                let n = Notification {
                    key: format!("bundle/{method}#{}", state.summaries),
                    page_id: held[0].page_id.clone(),
                    engagement_id: template.engagement_id.clone(),
                    incident_id: template.incident_id.clone(),
                    channel: template.channel.clone(),
                    subject,
                    message,
                    attempt: 1,
                    bundled: held.iter().map(|h| h.page_id.clone()).collect(),
                };
                tx.put_rate(method, &state)?;
                tx.put_outbox(&n)?;
                Ok(vec![Sent::Notify(n)])
            }
            Err(at) => {
                let t = Timer {
                    due: at,
                    id: format!("flush/{method}/{}", state.summaries + 1),
                    kind: TimerKind::Flush {
                        method: method.to_owned(),
                    },
                };
                tx.add_timer(&t)?;
                tx.put_rate(method, &state)?;
                Ok(vec![Sent::Timer(t)])
            }
        }
    }

    /// Hand a committed notification to its plugin; record the outcome when it answers.
    fn dispatch(&self, n: Notification) {
        let me = self.clone();
        self.inner.rt.spawn(async move {
            let now = Timestamp::now();
            let page_id = n.page_id.clone();
            let code = if n.bundled.is_empty() {
                me.inner
                    .store
                    .engage_read(|tx| tx.page(&page_id))
                    .ok()
                    .flatten()
                    .map(|p| p.accept_code)
            } else {
                None
            };
            let mut input = json!({
                "recipient": n.channel.delivery_address,
                "subject": n.subject,
                "message": n.message,
            });
            if let Some(code) = code {
                input["accept_code"] = json!(code);
                input["accept_url"] = json!(me.ack_link(&n.page_id, now));
                input["callback_url"] = json!(me.callback_link(&n.page_id, &n.channel.name, now));
            }
            if let Some(i) = &n.incident_id {
                input["incident_arn"] = json!(i);
            }
            let ctx = CallContext {
                invocation_id: n.key.clone(),
                incident_arn: n.incident_id.clone(),
                attempt: n.attempt,
                ..CallContext::default()
            };
            let started = std::time::Instant::now();
            let outcome = match me
                .inner
                .plugins
                .invoke(&n.channel.instance, "notify", &input, ctx)
                .await
            {
                Ok(out) => SendOutcome::Sent {
                    provider: out["provider"]
                        .as_str()
                        .unwrap_or(&n.channel.instance)
                        .to_owned(),
                    provider_id: out["provider_id"].as_str().map(str::to_owned),
                    delivered: out["status"] == "DELIVERED",
                },
                Err(e) if e.is_retryable() => SendOutcome::Retryable {
                    message: e.to_string(),
                    retry_after: e
                        .retry_after()
                        .and_then(|d| SignedDuration::try_from(d).ok()),
                },
                Err(e) => SendOutcome::Failed {
                    message: e.to_string(),
                },
            };
            tracing::info!(key = %n.key, instance = %n.channel.instance, attempt = n.attempt, elapsed_ms = started.elapsed().as_millis() as u64, ok = matches!(outcome, SendOutcome::Sent { .. }), "notification sent");
            // Outcomes of concurrent sends share one commit (group commit).
            let recorder = me.clone();
            let result = me
                .inner
                .store
                .engage_write_grouped_async(move |tx| recorder.record(tx, &n, outcome.clone()))
                .await;
            match result {
                Ok(sends) => me.after_commit(sends),
                Err(e) => tracing::error!(error = %e, "recording a notification outcome failed"),
            }
        });
    }

    fn record(
        &self,
        tx: &EngageTx<'_>,
        n: &Notification,
        outcome: SendOutcome,
    ) -> Result<Vec<Sent>, PagerError> {
        // Already recorded (a re-send after a restart answered twice): nothing to do.
        if !tx.take_outbox(n)? {
            return Ok(Vec::new());
        }
        let now = Timestamp::now();
        if !n.bundled.is_empty() {
            let (ty, info) = match &outcome {
                SendOutcome::Sent { provider, .. } => (
                    ReceiptType::Sent,
                    format!(
                        "in a summary of {} held pages via {provider}",
                        n.bundled.len()
                    ),
                ),
                SendOutcome::Retryable { message, .. } | SendOutcome::Failed { message } => (
                    ReceiptType::Error,
                    format!("the summary of held pages failed: {message}"),
                ),
            };
            for page in &n.bundled {
                tx.add_receipt(&Receipt {
                    page_id: page.clone(),
                    contact_channel: Some(n.channel.name.clone()),
                    receipt_type: ty,
                    receipt_info: Some(info.clone()),
                    receipt_time: now,
                })?;
            }
            return Ok(Vec::new());
        }
        let (_, sends) = self.apply(tx, &n.engagement_id, now, |m| {
            m.sent(n, outcome);
            Ok(())
        })?;
        Ok(sends)
    }

    // -----------------------------------------------------------------------------------------
    // reads

    pub fn engagement(&self, id: &str) -> Result<Option<Engagement>, PagerError> {
        Ok(self.inner.store.engage_read(|tx| tx.engagement(id))?)
    }

    pub fn engagements(&self, incident: Option<&str>) -> Result<Vec<Engagement>, PagerError> {
        let mut all = self.inner.store.engage_read(|tx| tx.engagements())?;
        if let Some(i) = incident {
            all.retain(|e| e.incident_id.as_deref() == Some(i));
        }
        all.sort_by_key(|e| e.start_time);
        Ok(all)
    }

    pub fn pages_of_engagement(&self, id: &str) -> Result<Vec<Page>, PagerError> {
        Ok(self.inner.store.engage_read(|tx| tx.pages_of(id))?)
    }

    pub fn pages_of_contact(&self, alias: &str) -> Result<Vec<Page>, PagerError> {
        Ok(self
            .inner
            .store
            .engage_read(|tx| tx.pages_of_contact(alias))?)
    }

    pub fn page(&self, id: &str) -> Result<Option<Page>, PagerError> {
        Ok(self.inner.store.engage_read(|tx| tx.page(id))?)
    }

    pub fn receipts(&self, page: &str) -> Result<Vec<Receipt>, PagerError> {
        Ok(self.inner.store.engage_read(|tx| tx.receipts(page))?)
    }

    pub fn timeline(&self, incident: &str) -> Result<Vec<TimelineEntry>, PagerError> {
        Ok(self.inner.store.engage_read(|tx| tx.timeline(incident))?)
    }

    /// Open pages sent to a delivery address (an SMS reply's `From`), newest first.
    pub fn open_pages_for_address(&self, address: &str) -> Result<Vec<Page>, PagerError> {
        let store = &self.inner.store;
        Ok(store.engage_read(|tx| {
            let mut out = Vec::new();
            for c in tx.oncall().contacts()? {
                if c.channels.iter().any(|ch| ch.delivery_address == address) {
                    out.extend(
                        tx.pages_of_contact(&c.alias)?
                            .into_iter()
                            .filter(|p| p.is_open()),
                    );
                }
            }
            out.sort_by_key(|p| std::cmp::Reverse(p.created_time));
            Ok::<_, StoreError>(out)
        })?)
    }
}

/// What a committed transaction sends and schedules (see [`Pager::start_in`]).
#[must_use = "nothing is sent until it is handed to Pager::run_after_commit"]
#[derive(Default)]
pub struct AfterCommit(Vec<Sent>);

/// What to do after a commit.
enum Sent {
    Notify(Notification),
    Timer(Timer),
}

/// Runs `work` as a task of its own: once its commit is on disk, what it decided (notifications,
/// follow-ups) goes out even when the caller stops waiting — an HTTP client that hangs up drops
/// the handler's future, and with it anything not yet done.
pub(crate) async fn detached<T, E>(
    work: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
{
    tokio::spawn(work).await.unwrap_or_else(|e| {
        Err(E::from(StoreError::Io {
            op: "background task",
            message: e.to_string(),
        }))
    })
}

/// Page ids are `<engagement>-p<n>`.
pub fn engagement_of_page(page: &str) -> &str {
    page.rsplit_once("-p").map_or(page, |(e, _)| e)
}

fn method_of(n: &Notification) -> String {
    format!("{}/{}", n.channel.channel_type, n.channel.delivery_address)
}

/// How long the scheduler sleeps at most between looks at the index.
pub(crate) const MAX_SLEEP: Duration = Duration::from_secs(1);
