//! The incident runtime: a trigger (alert, event, API call) meets its response plan and opens an
//! incident, or is absorbed by the open incident with the same dedupe string. The record, its
//! timeline events and its follow-ups (engage, start the runbook, notify integrations) are
//! committed in one transaction; the follow-ups then run, each idempotent, and are removed when
//! done, so a crash re-runs exactly the unfinished ones. Knows nothing of HTTP.

use std::sync::Arc;

use jiff::Timestamp;
use serde_json::json;

use crate::engage::TimelineEntry;
use crate::exec::{ExecError, Executor, StartRequest};
use crate::incident::{
    self, IncidentRecord, IncidentUpdate, NewIncident, RelatedItem, ResponsePlan, TriggerInfo,
};
use crate::oncall::OncallError;
use crate::pager::{AfterCommit, Pager, PagerError, StartEngagement, detached};
use crate::plugin::{CallContext, PluginHost};
use crate::store::{EngageTx, IncidentAction, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    #[error("no {what} {name:?}")]
    NotFound { what: &'static str, name: String },
    #[error("{0}")]
    Invalid(#[from] OncallError),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pager(#[from] PagerError),
}

/// StartIncident (API) or an ingested trigger.
#[derive(Debug, Clone)]
pub struct StartIncident {
    pub response_plan: String,
    pub title: Option<String>,
    pub impact: Option<u8>,
    pub related_items: Vec<RelatedItem>,
    pub trigger: TriggerInfo,
    pub client_token: Option<String>,
    pub created_by: String,
    /// A delivery id (SNS MessageId) that must not be processed twice; recorded in the same
    /// transaction as the incident.
    pub replay_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Outcome {
    Created,
    /// An open incident with the same dedupe string absorbed the trigger.
    Deduplicated,
    /// The client token was used before: the first incident.
    Existing,
}

#[derive(Clone)]
pub struct Responder {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    pager: Pager,
    executor: Executor,
    plugins: Arc<PluginHost>,
    /// `arn:aws:ssm-incidents::<account>`
    arn_prefix: String,
    /// `arn:aws:ssm:<region>:<account>`
    ssm_prefix: String,
}

impl Responder {
    /// Starts the runtime and re-runs follow-ups a crash interrupted.
    pub fn start(
        store: Arc<Store>,
        pager: Pager,
        executor: Executor,
        plugins: Arc<PluginHost>,
    ) -> Result<Responder, RespondError> {
        let account = pager
            .policy()
            .arn_prefix
            .rsplit(':')
            .next()
            .unwrap_or("000000000000")
            .to_owned();
        let region = pager
            .policy()
            .arn_prefix
            .split(':')
            .nth(3)
            .unwrap_or("local")
            .to_owned();
        let r = Responder {
            inner: Arc::new(Inner {
                store,
                pager,
                executor,
                plugins,
                arn_prefix: format!("arn:aws:ssm-incidents::{account}"),
                ssm_prefix: format!("arn:aws:ssm:{region}:{account}"),
            }),
        };
        let indexed = r
            .inner
            .store
            .engage_write(|tx| tx.backfill_incident_index())?;
        if indexed > 0 {
            tracing::info!(count = indexed, "indexed stored incidents by creation time");
        }
        let pending = r.inner.store.engage_read(|tx| tx.incident_actions())?;
        if !pending.is_empty() {
            tracing::info!(
                count = pending.len(),
                "re-running incident follow-ups interrupted by a restart"
            );
        }
        for (key, action) in pending {
            r.run(key, action);
        }
        Ok(r)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// StartIncident / an alert: create, deduplicate, or return the client token's incident.
    pub async fn start_incident(
        &self,
        req: StartIncident,
    ) -> Result<(Outcome, IncidentRecord), RespondError> {
        let me = self.clone();
        detached(async move { me.start_incident_now(req).await }).await
    }

    async fn start_incident_now(
        &self,
        req: StartIncident,
    ) -> Result<(Outcome, IncidentRecord), RespondError> {
        let r = self.clone();
        let (outcome, record, (pages, actions)) = self
            .inner
            .store
            .engage_write_grouped_async(move |tx| {
                let req = req.clone();
                if let Some(key) = &req.replay_key
                    && !tx.first_sight(key, Timestamp::now())?
                {
                    return Err(RespondError::Conflict(format!(
                        "message {key} was already processed (a replay); nothing was changed"
                    )));
                }
                if let Some(token) = &req.client_token
                    && let Some(arn) = tx.incident_by_token(token)?
                    && let Some(rec) = tx.incident(&arn)?
                {
                    return Ok((Outcome::Existing, rec, Default::default()));
                }
                let plan = tx.response_plan(&req.response_plan)?.ok_or_else(|| {
                    RespondError::NotFound {
                        what: "response plan",
                        name: req.response_plan.clone(),
                    }
                })?;
                let now = Timestamp::now();
                let dedupe = incident::dedupe_string(&plan, &req.trigger).unwrap_or_default();
                if let Some(arn) = tx.open_incident_by_dedupe(&dedupe)?
                    && let Some(mut rec) = tx.incident(&arn)?
                {
                    incident::check_related(&req.related_items)?;
                    let events = incident::absorb(&mut rec, &req.trigger, req.related_items, now);
                    tx.put_incident(&rec)?;
                    for e in &events {
                        tx.add_timeline(e)?;
                    }
                    if let Some(token) = &req.client_token {
                        tx.put_incident_token(token, &rec.arn)?;
                    }
                    return Ok((Outcome::Deduplicated, rec, Default::default()));
                }
                let id = uuid::Uuid::now_v7().simple().to_string();
                let (rec, events) = incident::open(
                    &plan,
                    NewIncident {
                        id,
                        arn_prefix: r.inner.arn_prefix.clone(),
                        title: req.title,
                        impact: req.impact,
                        related_items: req.related_items,
                        trigger: req.trigger,
                        created_by: req.created_by,
                    },
                    now,
                )?;
                let mut rec = rec;
                for e in &events {
                    tx.add_timeline(e)?;
                }
                // Pages are decided in the incident's own transaction: one commit, and
                // nothing leaves before the incident is on disk.
                let mut pages = Vec::new();
                for contact in &plan.engagements {
                    pages.push(r.engage_in(tx, &mut rec, contact, now)?);
                }
                tx.add_incident(&rec)?;
                if let Some(token) = &req.client_token {
                    tx.put_incident_token(token, &rec.arn)?;
                }
                let actions = follow_ups(&plan, &rec);
                for (k, a) in &actions {
                    tx.push_incident_action(k, a)?;
                }
                Ok((Outcome::Created, rec, (pages, actions)))
            })
            .await?;
        if outcome == Outcome::Created {
            tracing::info!(incident = %record.arn, plan = %record.response_plan, "incident created");
            crate::metrics::incident_created(
                &record.response_plan,
                record.impact,
                &record.incident_record_source.source,
            );
        }
        for after in pages {
            self.inner.pager.run_after_commit(after);
        }
        for (k, a) in actions {
            self.run(k, a);
        }
        Ok((outcome, record))
    }

    /// The alert source says the trigger resolved: a timeline event on the open incident
    /// holding its dedupe string, and a resolve when the plan says `autoResolve`.
    pub async fn trigger_resolved(
        &self,
        plan: &str,
        trigger: TriggerInfo,
        replay_key: Option<String>,
    ) -> Result<Option<IncidentRecord>, RespondError> {
        let (me, plan) = (self.clone(), plan.to_owned());
        detached(async move { me.trigger_resolved_now(plan, trigger, replay_key).await }).await
    }

    async fn trigger_resolved_now(
        &self,
        plan: String,
        trigger: TriggerInfo,
        replay_key: Option<String>,
    ) -> Result<Option<IncidentRecord>, RespondError> {
        let r = self.clone();
        let (rec, actions) = self
            .inner
            .store
            .engage_write_grouped_async(move |tx| {
                    if let Some(key) = &replay_key
                        && !tx.first_sight(key, Timestamp::now())?
                    {
                        return Err(RespondError::Conflict(format!(
                            "message {key} was already processed (a replay); nothing was changed"
                        )));
                    }
                    let Some(p) = tx.response_plan(&plan)? else {
                        return Err(RespondError::NotFound {
                            what: "response plan",
                            name: plan.clone(),
                        });
                    };
                    let dedupe = incident::dedupe_string(&p, &trigger).unwrap_or_default();
                    let Some(arn) = tx.open_incident_by_dedupe(&dedupe)? else {
                        return Ok((None, Vec::new()));
                    };
                    let Some(mut rec) = tx.incident(&arn)? else {
                        return Ok((None, Vec::new()));
                    };
                    let now = Timestamp::now();
                    tx.add_timeline(&TimelineEntry::auto(
                        &arn,
                        trigger.timestamp,
                        "Alert resolved",
                        json!({"source": trigger.source, "rawData": trigger.raw_data, "autoResolve": p.auto_resolve}),
                    ))?;
                    let mut actions = Vec::new();
                    if p.auto_resolve {
                        actions = r.resolve_in(tx, &p, &mut rec, &trigger.source, now)?;
                    }
                    Ok((Some(rec), actions))
                })
            .await?;
        if let Some(rec) = &rec
            && !actions.is_empty()
        {
            count_resolved(rec);
        }
        for (k, a) in actions {
            self.run(k, a);
        }
        Ok(rec)
    }

    /// Resolves `rec` in `tx` (the caller checked it is open): timeline, and the follow-ups
    /// (stop engagements, chat, integrations), returned to run after the commit.
    fn resolve_in(
        &self,
        tx: &EngageTx<'_>,
        plan: &ResponsePlan,
        rec: &mut IncidentRecord,
        by: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, IncidentAction)>, RespondError> {
        let events = incident::resolve(rec, by, now);
        tx.put_incident(rec)?;
        for e in &events {
            tx.add_timeline(e)?;
        }
        let mut actions = vec![(
            format!("{}\u{1f}stop", rec.arn),
            IncidentAction::StopEngagements {
                incident: rec.arn.clone(),
            },
        )];
        if let Some(instance) = rec.chat_channel.as_ref().and_then(|c| c.plugin.clone()) {
            actions.push((
                format!("{}\u{1f}chat-resolved", rec.arn),
                IncidentAction::Chat {
                    incident: rec.arn.clone(),
                    instance,
                    event: "resolved".into(),
                },
            ));
        }
        for (i, _) in plan.integrations.iter().enumerate() {
            actions.push((
                format!("{}\u{1f}int{i}-resolve", rec.arn),
                IncidentAction::Integration {
                    incident: rec.arn.clone(),
                    index: i,
                    event: "resolve".into(),
                },
            ));
        }
        for (k, a) in &actions {
            tx.push_incident_action(k, a)?;
        }
        Ok(actions)
    }

    /// UpdateIncidentRecord; resolving stops the incident's engagements.
    pub async fn update(
        &self,
        arn: &str,
        u: IncidentUpdate,
        by: String,
    ) -> Result<IncidentRecord, RespondError> {
        let (me, arn) = (self.clone(), arn.to_owned());
        detached(async move { me.update_now(arn, u, by).await }).await
    }

    async fn update_now(
        &self,
        arn: String,
        u: IncidentUpdate,
        by: String,
    ) -> Result<IncidentRecord, RespondError> {
        let r = self.clone();
        let (rec, actions) = self
            .inner
            .store
            .engage_write_grouped_async(move |tx| {
                let mut rec = load(tx, &arn)?;
                let now = Timestamp::now();
                let resolving =
                    u.status == Some(incident::IncidentStatus::Resolved) && rec.is_open();
                if resolving {
                    let plan = tx.response_plan(&rec.response_plan)?;
                    let rest = IncidentUpdate {
                        status: None,
                        ..u.clone()
                    };
                    let events = incident::update(&mut rec, &rest, &by, now)?;
                    for e in &events {
                        tx.add_timeline(e)?;
                    }
                    let plan = plan.unwrap_or_else(|| placeholder_plan(&rec));
                    let actions = r.resolve_in(tx, &plan, &mut rec, &by, now)?;
                    return Ok((rec, actions));
                }
                let events = incident::update(&mut rec, &u, &by, now)?;
                tx.put_incident(&rec)?;
                for e in &events {
                    tx.add_timeline(e)?;
                }
                Ok::<_, RespondError>((rec, Vec::new()))
            })
            .await?;
        if !actions.is_empty() {
            count_resolved(&rec);
        }
        for (k, a) in actions {
            self.run(k, a);
        }
        Ok(rec)
    }

    /// Runs `f` on a stored record in one transaction (related items, timeline edits, delete),
    /// through the group commit: `f` may run twice.
    pub async fn with_record<T: Send + 'static>(
        &self,
        arn: &str,
        f: impl Fn(&EngageTx<'_>, &mut IncidentRecord) -> Result<T, RespondError> + Send + 'static,
    ) -> Result<T, RespondError> {
        let arn = arn.to_owned();
        self.inner
            .store
            .engage_write_grouped_async(move |tx| {
                let mut rec = load(tx, &arn)?;
                f(tx, &mut rec)
            })
            .await
    }

    /// Runs `f` in one write transaction through the group commit (`f` may run twice).
    pub async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&EngageTx<'_>) -> Result<T, RespondError> + Send + 'static,
    ) -> Result<T, RespondError> {
        self.inner.store.engage_write_grouped_async(f).await
    }

    pub fn read<T>(
        &self,
        f: impl FnOnce(&EngageTx<'_>) -> Result<T, RespondError>,
    ) -> Result<T, RespondError> {
        self.inner.store.engage_read(f)
    }

    /// A page of the incident was acknowledged: the first one sets the time to first
    /// acknowledgement.
    pub async fn page_acknowledged(&self, arn: &str, at: Timestamp) -> Result<(), RespondError> {
        let arn = arn.to_owned();
        let first = self
            .inner
            .store
            .engage_write_grouped_async(move |tx| {
                let Some(mut rec) = tx.incident(&arn)? else {
                    return Ok::<_, RespondError>(None);
                };
                if rec.first_acknowledged_time.is_some() {
                    return Ok(None);
                }
                rec.first_acknowledged_time = Some(at);
                tx.put_incident(&rec)?;
                Ok(Some(rec))
            })
            .await?;
        // Counted after the commit: a grouped closure may run twice.
        if let Some(rec) = first {
            let secs = at.duration_since(rec.creation_time).as_secs_f64();
            tracing::info!(incident = %rec.arn, seconds = secs, "first acknowledgement");
            crate::metrics::first_acknowledgement(
                &rec.response_plan,
                rec.impact,
                &rec.incident_record_source.source,
                secs,
            );
        }
        Ok(())
    }

    /// Starts the engagement of one of the plan's contacts in `tx` and notes it on the record
    /// (the caller writes the record). A contact that cannot be engaged (deleted, no channel)
    /// leaves a timeline event instead of failing the incident; storage errors fail it.
    fn engage_in(
        &self,
        tx: &EngageTx<'_>,
        rec: &mut IncidentRecord,
        contact: &str,
        now: Timestamp,
    ) -> Result<AfterCommit, RespondError> {
        let token = format!(
            "inc-{}",
            hex::encode(&sha2_256(&format!("{}|{contact}", rec.arn))[..16])
        );
        let req = StartEngagement {
            contact_id: contact.rsplit('/').next().unwrap_or(contact).to_owned(),
            sender: "tocsin".into(),
            subject: format!("[impact {}] {}", rec.impact, rec.title),
            content: format!(
                "{}\n{}",
                rec.summary.clone().unwrap_or_else(|| rec.title.clone()),
                rec.arn
            ),
            public_subject: Some(format!("Incident, impact {}", rec.impact)),
            public_content: Some(format!("{} ({})", rec.title, rec.id())),
            incident_id: Some(rec.arn.clone()),
            idempotency_token: Some(token),
        };
        match self.inner.pager.start_in(tx, req, now) {
            Ok((eng, after)) => {
                if !rec.engagements.contains(&eng.engagement_id) {
                    rec.engagements.push(eng.engagement_id);
                }
                Ok(after)
            }
            Err(PagerError::Store(e)) => Err(e.into()),
            Err(e) => {
                tracing::warn!(incident = %rec.arn, %contact, error = %e, "engagement not started");
                tx.add_timeline(&TimelineEntry::auto(
                    &rec.arn,
                    now,
                    "Follow-up failed",
                    json!({"action": format!("engage-{contact}"), "error": e.to_string()}),
                ))?;
                Ok(AfterCommit::default())
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // follow-ups

    fn run(&self, key: String, action: IncidentAction) {
        let me = self.clone();
        tokio::spawn(async move {
            let result = me.perform(&action).await;
            let done = match &result {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(%key, error = %e, "incident follow-up failed");
                    // Permanent problems are recorded on the timeline and not retried.
                    true
                }
            };
            if done {
                let k = key.clone();
                let error = result.err().map(|e| e.to_string());
                let incident = incident_of(&action).to_owned();
                let r = me
                    .inner
                    .store
                    .engage_write_grouped_async(move |tx| {
                        let pending = tx.take_incident_action(&k)?;
                        // Not pending any more: the incident was deleted meanwhile.
                        if let Some(message) = error.as_ref().filter(|_| pending) {
                            tx.add_timeline(&TimelineEntry::auto(
                                &incident,
                                Timestamp::now(),
                                "Follow-up failed",
                                json!({"action": k.split('\u{1f}').nth(1), "error": message}),
                            ))?;
                        }
                        Ok::<_, RespondError>(())
                    })
                    .await;
                if let Err(e) = r {
                    tracing::error!(error = %e, "recording an incident follow-up failed");
                }
            }
        });
    }

    async fn perform(&self, action: &IncidentAction) -> Result<(), RespondError> {
        match action {
            IncidentAction::Engage { incident, contact } => {
                // Stored by an older version (engagements now start in the incident's own
                // transaction); idempotent by the engagement's token.
                let (contact, me) = (contact.clone(), self.clone());
                let after = self
                    .with_record(incident, move |tx, rec| {
                        let after = me.engage_in(tx, rec, &contact, Timestamp::now())?;
                        tx.put_incident(rec)?;
                        Ok(after)
                    })
                    .await?;
                self.inner.pager.run_after_commit(after);
                Ok(())
            }
            IncidentAction::Runbook { incident, index } => {
                let rec = self.read(|tx| load(tx, incident))?;
                let plan = self
                    .read(|tx| Ok(tx.response_plan(&rec.response_plan)?))?
                    .ok_or_else(|| RespondError::NotFound {
                        what: "response plan",
                        name: rec.response_plan.clone(),
                    })?;
                let Some(action) = plan.actions.get(*index) else {
                    return Ok(());
                };
                let a = &action.ssm_automation;
                let exec_id = format!(
                    "{}-{}",
                    &hex::encode(sha2_256(&format!("{incident}|{index}")))[..24],
                    index
                );
                let mut ctx = serde_json::Map::new();
                ctx.insert("INCIDENT_RECORD_ARN".into(), json!(rec.arn));
                ctx.insert("TITLE".into(), json!(rec.title));
                ctx.insert("IMPACT".into(), json!(rec.impact));
                ctx.insert(
                    "INVOLVED_RESOURCES".into(),
                    json!(incident::involved_resources(&rec)),
                );
                let started = self
                    .inner
                    .executor
                    .start_execution(StartRequest {
                        document: Some(a.document_name.clone()),
                        parameters: incident::runbook_parameters(a, &rec),
                        incident: ctx,
                        execution_id: Some(exec_id),
                        ..StartRequest::default()
                    })
                    .await;
                let exec = match started {
                    Ok(s) => s,
                    Err(e) => {
                        return Err(RespondError::Conflict(format!(
                            "runbook {} did not start: {}",
                            a.document_name,
                            exec_error(&e)
                        )));
                    }
                };
                let arn = format!("{}:automation-execution/{}", self.inner.ssm_prefix, exec.id);
                let doc = a.document_name.clone();
                self.with_record(incident, move |tx, rec| {
                    if !rec.automation_executions.iter().any(|x| x.ssm_execution_arn == arn) {
                        rec.automation_executions
                            .push(incident::AutomationExecution {
                                ssm_execution_arn: arn.clone(),
                            });
                        tx.put_incident(rec)?;
                        tx.add_timeline(&TimelineEntry::auto(
                            &rec.arn,
                            Timestamp::now(),
                            "Runbook started",
                            json!({"document": doc, "executionId": exec.id, "ssmExecutionArn": arn}),
                        ))?;
                    }
                    Ok(())
                })
                .await
            }
            IncidentAction::StopEngagements { incident } => {
                let rec = self.read(|tx| load(tx, incident))?;
                for id in &rec.engagements {
                    self.inner
                        .pager
                        .stop(id, Some("incident resolved".into()))
                        .await?;
                }
                Ok(())
            }
            IncidentAction::Chat {
                incident,
                instance,
                event,
            } => {
                let rec = self.read(|tx| load(tx, incident))?;
                let subject = match event.as_str() {
                    "resolved" => format!("Resolved: {}", rec.title),
                    _ => format!("Incident (impact {}): {}", rec.impact, rec.title),
                };
                let input = json!({
                    "recipient": "",
                    "subject": subject,
                    "message": format!("{}\n{}", rec.summary.clone().unwrap_or_default(), rec.arn),
                    "incident_arn": rec.arn,
                });
                let ctx = CallContext {
                    invocation_id: format!("{}/chat/{event}", rec.arn),
                    incident_arn: Some(rec.arn.clone()),
                    ..CallContext::default()
                };
                self.inner
                    .plugins
                    .invoke(instance, "notify", &input, ctx)
                    .await
                    .map_err(|e| RespondError::Conflict(format!("chat {event}: {e}")))?;
                Ok(())
            }
            IncidentAction::Integration {
                incident,
                index,
                event,
            } => {
                let rec = self.read(|tx| load(tx, incident))?;
                let plan = self.read(|tx| Ok(tx.response_plan(&rec.response_plan)?))?;
                let Some(cfg) = plan.and_then(|p| p.integrations.get(*index).cloned()) else {
                    return Ok(());
                };
                let pd = cfg.pager_duty_configuration;
                let instance = pd.plugin.clone().unwrap_or_else(|| "pagerduty".into());
                let input = json!({
                    "event_action": event,
                    "dedup_key": rec.arn,
                    "incident_arn": rec.arn,
                    "summary": rec.title,
                    "impact": rec.impact,
                    "source": "tocsin",
                    "custom_details": {"incidentArn": rec.arn, "responsePlan": rec.response_plan, "summary": rec.summary},
                });
                let ctx = CallContext {
                    invocation_id: format!("{}/pagerduty/{event}", rec.arn),
                    incident_arn: Some(rec.arn.clone()),
                    ..CallContext::default()
                };
                self.inner
                    .plugins
                    .invoke(&instance, "event", &input, ctx)
                    .await
                    .map_err(|e| RespondError::Conflict(format!("PagerDuty {event}: {e}")))?;
                Ok(())
            }
        }
    }
}

/// The resolve counter and the time-to-resolve histogram, once the resolve is on disk.
fn count_resolved(rec: &IncidentRecord) {
    let at = rec.resolved_time.unwrap_or(rec.last_modified_time);
    crate::metrics::incident_resolved(
        &rec.response_plan,
        rec.impact,
        &rec.incident_record_source.source,
        at.duration_since(rec.creation_time).as_secs_f64(),
    );
}

fn exec_error(e: &ExecError) -> String {
    e.to_string()
}

fn load(tx: &EngageTx<'_>, arn: &str) -> Result<IncidentRecord, RespondError> {
    tx.incident(arn)?.ok_or_else(|| RespondError::NotFound {
        what: "incident record",
        name: arn.to_owned(),
    })
}

fn incident_of(a: &IncidentAction) -> &str {
    match a {
        IncidentAction::Engage { incident, .. }
        | IncidentAction::Runbook { incident, .. }
        | IncidentAction::StopEngagements { incident }
        | IncidentAction::Chat { incident, .. }
        | IncidentAction::Integration { incident, .. } => incident,
    }
}

/// A record whose plan was deleted still resolves (no integrations).
fn placeholder_plan(rec: &IncidentRecord) -> ResponsePlan {
    ResponsePlan {
        name: rec.response_plan.clone(),
        display_name: None,
        incident_template: incident::IncidentTemplate {
            title: rec.title.clone(),
            impact: rec.impact,
            summary: None,
            dedupe_string: None,
            incident_tags: Default::default(),
            notification_targets: Vec::new(),
        },
        chat_channel: None,
        engagements: Vec::new(),
        actions: Vec::new(),
        integrations: Vec::new(),
        auto_resolve: false,
        tags: Default::default(),
    }
}

/// The follow-ups of a new incident (its engagements start in its own transaction), keyed
/// `<arn>\u{1f}<what>`.
fn follow_ups(plan: &ResponsePlan, rec: &IncidentRecord) -> Vec<(String, IncidentAction)> {
    let mut out = Vec::new();
    for (i, _) in plan.actions.iter().enumerate() {
        out.push((
            format!("{}\u{1f}runbook-{i}", rec.arn),
            IncidentAction::Runbook {
                incident: rec.arn.clone(),
                index: i,
            },
        ));
    }
    if let Some(instance) = plan.chat_channel.as_ref().and_then(|c| c.plugin.clone()) {
        out.push((
            format!("{}\u{1f}chat-created", rec.arn),
            IncidentAction::Chat {
                incident: rec.arn.clone(),
                instance,
                event: "created".into(),
            },
        ));
    }
    for (i, _) in plan.integrations.iter().enumerate() {
        out.push((
            format!("{}\u{1f}int{i}-trigger", rec.arn),
            IncidentAction::Integration {
                incident: rec.arn.clone(),
                index: i,
                event: "trigger".into(),
            },
        ));
    }
    out
}

fn sha2_256(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}
