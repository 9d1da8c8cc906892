//! The escalation machine: from an engagement, its pages and one event to the changes to commit
//! (state, receipts, timers, notifications, timeline). Pure: `now` and the directory come in.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::model::*;
use super::{Directory, EngageError};
use crate::oncall::{ChannelType, Contact, ContactType, TargetRef, is_engageable};

/// Tries per notification (the first plus retries) when the plugin says "retryable".
pub const MAX_SEND_ATTEMPTS: u32 = 4;

/// StartEngagement, after the API checked its fields.
#[derive(Debug, Clone)]
pub struct StartRequest {
    pub engagement_id: String,
    /// e.g. `arn:aws:ssm-contacts:us-east-1:123456789012`
    pub arn_prefix: String,
    pub contact_id: String,
    pub sender: String,
    pub subject: String,
    pub content: String,
    pub public_subject: Option<String>,
    pub public_content: Option<String>,
    pub incident_id: Option<String>,
    pub idempotency_token: Option<String>,
}

/// What an event changed; the caller commits all of it in one transaction.
#[derive(Debug, Default)]
pub struct Changes {
    pub engagement: Option<Engagement>,
    pub pages: Vec<Page>,
    pub receipts: Vec<Receipt>,
    pub timers: Vec<Timer>,
    pub notifications: Vec<Notification>,
    pub timeline: Vec<TimelineEntry>,
}

/// How AcceptPage acknowledges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptType {
    Delivered,
    Read,
}

#[derive(Debug, Clone)]
pub struct Accept {
    pub page_id: String,
    pub accept_type: AcceptType,
    /// The code given; `None` when the channel itself proves possession (a signed link).
    pub code: Option<String>,
    /// Where it came from, for receipts and the timeline: "api", "email-link", "sms", "voice".
    pub via: String,
    pub note: Option<String>,
}

/// The result of a plugin call for a notification.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    Sent {
        provider: String,
        provider_id: Option<String>,
        delivered: bool,
    },
    Retryable {
        message: String,
        retry_after: Option<SignedDuration>,
    },
    Failed {
        message: String,
    },
}

/// A machine over one engagement and its pages.
pub struct Machine<'a> {
    eng: Engagement,
    pages: BTreeMap<String, Page>,
    dir: &'a dyn Directory,
    now: Timestamp,
    out: Changes,
    touched: std::collections::BTreeSet<String>,
}

/// Start an engagement: snapshot the plan and run its first stage.
pub fn start(
    req: StartRequest,
    dir: &dyn Directory,
    now: Timestamp,
) -> Result<Changes, EngageError> {
    let (_, stages, repeat) = plan_of(&req.contact_id, dir)?;
    let eng = Engagement {
        engagement_arn: format!(
            "{}:engagement/{}/{}",
            req.arn_prefix, req.contact_id, req.engagement_id
        ),
        contact_arn: format!("{}:contact/{}", req.arn_prefix, req.contact_id),
        engagement_id: req.engagement_id,
        contact_id: req.contact_id,
        sender: req.sender,
        subject: req.subject,
        content: req.content,
        public_subject: req.public_subject,
        public_content: req.public_content,
        incident_id: req.incident_id,
        idempotency_token: req.idempotency_token,
        start_time: now,
        stop_time: None,
        stop_reason: None,
        status: EngagementStatus::Active,
        stages,
        repeat,
        round: 0,
        stage: 0,
        acknowledged_by: None,
        acknowledged_time: None,
        pages: 0,
        problems: Vec::new(),
    };
    let mut m = Machine::new(eng, Vec::new(), dir, now);
    m.timeline(
        "Engagement started",
        json!({"engagementId": m.eng.engagement_id, "contactId": m.eng.contact_id, "sender": m.eng.sender, "subject": m.eng.subject}),
    );
    m.start_stage(0, 0);
    Ok(m.finish())
}

/// The stages (snapshot) an engagement of `contact` runs, and how often it repeats.
fn plan_of(
    contact: &str,
    dir: &dyn Directory,
) -> Result<(ContactType, Vec<StageSnapshot>, u8), EngageError> {
    if let Some(plan) = dir.plan(contact) {
        let stages = plan
            .stages
            .iter()
            .map(|s| StageSnapshot {
                duration_secs: s.duration_secs(),
                targets: s
                    .targets
                    .iter()
                    .filter_map(|t| {
                        Some(match t.target()? {
                            TargetRef::Contact(c) => TargetSnapshot::Contact {
                                contact: c.to_owned(),
                                essential: t.is_essential,
                            },
                            TargetRef::Schedule(s) => TargetSnapshot::Schedule {
                                schedule: s.to_owned(),
                                essential: t.is_essential,
                            },
                            TargetRef::Channel { contact, channel } => TargetSnapshot::Channel {
                                contact: contact.to_owned(),
                                channel: channel.to_owned(),
                                retry_interval_secs: t.retry_interval_in_minutes * 60,
                                essential: t.is_essential,
                            },
                        })
                    })
                    .collect(),
            })
            .collect();
        return Ok((ContactType::Escalation, stages, plan.repeat));
    }
    if dir.is_schedule(contact) {
        let stage = StageSnapshot {
            duration_secs: 0,
            targets: vec![TargetSnapshot::Schedule {
                schedule: contact.to_owned(),
                essential: true,
            }],
        };
        return Ok((ContactType::OncallSchedule, vec![stage], 0));
    }
    match dir.contact(contact) {
        Some(c) if c.contact_type == ContactType::Personal => {
            let stage = StageSnapshot {
                duration_secs: 0,
                targets: vec![TargetSnapshot::Contact {
                    contact: contact.to_owned(),
                    essential: true,
                }],
            };
            Ok((ContactType::Personal, vec![stage], 0))
        }
        Some(_) => Err(EngageError::Invalid {
            field: "contactId",
            message: format!(
                "{contact:?} is an ESCALATION contact without a plan; define it with a kind: EscalationPlan document"
            ),
        }),
        None => Err(EngageError::NotFound {
            what: "contact",
            id: contact.to_owned(),
        }),
    }
}

impl<'a> Machine<'a> {
    pub fn new(
        eng: Engagement,
        pages: Vec<Page>,
        dir: &'a dyn Directory,
        now: Timestamp,
    ) -> Machine<'a> {
        Machine {
            eng,
            pages: pages.into_iter().map(|p| (p.page_id.clone(), p)).collect(),
            dir,
            now,
            out: Changes::default(),
            touched: Default::default(),
        }
    }

    /// The changes, with the engagement and every page that changed.
    pub fn finish(mut self) -> Changes {
        for id in &self.touched {
            if let Some(p) = self.pages.get(id) {
                self.out.pages.push(p.clone());
            }
        }
        self.out.engagement = Some(self.eng);
        self.out
    }

    pub fn engagement(&self) -> &Engagement {
        &self.eng
    }

    pub fn page(&self, id: &str) -> Option<&Page> {
        self.pages.get(id)
    }

    fn timeline(&mut self, event_type: &str, data: serde_json::Value) {
        if let Some(incident) = &self.eng.incident_id {
            self.out
                .timeline
                .push(TimelineEntry::auto(incident, self.now, event_type, data));
        }
    }

    fn receipt(&mut self, page: &str, channel: Option<&str>, ty: ReceiptType, info: String) {
        let r = Receipt {
            page_id: page.to_owned(),
            contact_channel: channel.map(str::to_owned),
            receipt_type: ty,
            receipt_info: Some(info),
            receipt_time: self.now,
        };
        self.timeline(
            "Page receipt",
            json!({"pageId": r.page_id, "channel": r.contact_channel, "receiptType": r.receipt_type, "info": r.receipt_info}),
        );
        self.out.receipts.push(r);
    }

    fn timer(&mut self, after_secs: u32, id: String, kind: TimerKind) {
        self.out.timers.push(Timer {
            due: after(self.now, SignedDuration::from_secs(i64::from(after_secs))),
            id,
            kind,
        });
    }

    // -----------------------------------------------------------------------------------------
    // stages

    /// Run stage `stage` of round `round`; `stage == stages.len()` is the end of a round.
    fn start_stage(&mut self, round: u8, stage: usize) {
        // Zero-length stages run back to back; the bound stops a plan of only zero stages.
        let (mut round, mut stage) = (round, stage);
        for _ in 0..=(self.eng.stages.len() * (usize::from(self.eng.repeat) + 1)) {
            if stage >= self.eng.stages.len() {
                if round < self.eng.repeat {
                    round += 1;
                    stage = 0;
                    self.timeline(
                        "Escalation plan repeated",
                        json!({"engagementId": self.eng.engagement_id, "round": round}),
                    );
                } else {
                    self.eng.status = EngagementStatus::Exhausted;
                    self.timeline(
                        "Escalation plan exhausted",
                        json!({"engagementId": self.eng.engagement_id, "rounds": round + 1}),
                    );
                    return;
                }
            }
            self.eng.round = round;
            self.eng.stage = stage;
            let snapshot = self.eng.stages[stage].clone();
            self.engage_stage(&snapshot);
            if snapshot.duration_secs > 0 {
                let id = format!("stage/{}/{round}/{}", self.eng.engagement_id, stage + 1);
                self.timer(
                    snapshot.duration_secs,
                    id,
                    TimerKind::Stage {
                        engagement: self.eng.engagement_id.clone(),
                        round,
                        stage: stage + 1,
                    },
                );
                return;
            }
            stage += 1;
        }
    }

    fn engage_stage(&mut self, stage: &StageSnapshot) {
        // One page per person per stage, essential if any target naming them is.
        let mut people: Vec<Engaged> = Vec::new();
        for t in &stage.targets {
            match t {
                TargetSnapshot::Contact { contact, essential } => {
                    merge(&mut people, contact, *essential, None)
                }
                TargetSnapshot::Schedule {
                    schedule,
                    essential,
                } => match self.dir.on_call(schedule, self.now) {
                    Ok(list) if list.is_empty() => self.problem(format!(
                        "schedule {schedule:?} has nobody on call at {}",
                        self.now
                    )),
                    Ok(list) => {
                        for c in list {
                            merge(&mut people, &c, *essential, None)
                        }
                    }
                    Err(e) => self.problem(format!("schedule {schedule:?}: {e}")),
                },
                TargetSnapshot::Channel {
                    contact,
                    channel,
                    retry_interval_secs,
                    essential,
                } => people.push((
                    contact.clone(),
                    *essential,
                    Some((channel.clone(), *retry_interval_secs)),
                )),
            }
        }
        for (contact, essential, channel) in people {
            match self.dir.contact(&contact) {
                Some(c) if c.contact_type == ContactType::Personal => {
                    self.create_page(&c, essential, channel)
                }
                Some(_) => self.problem(format!(
                    "{contact:?} is not a PERSONAL contact; escalation plans cannot nest"
                )),
                None => self.problem(format!("contact {contact:?} does not exist")),
            }
        }
    }

    /// Something that kept a target from being paged: on the timeline and in the log.
    fn problem(&mut self, message: String) {
        self.timeline(
            "Engagement problem",
            json!({"engagementId": self.eng.engagement_id, "message": message}),
        );
        // Bounded: a schedule that stays empty across many repeats must not grow the record.
        if self.eng.problems.len() < 50 {
            self.eng.problems.push(format!("{}: {message}", self.now));
        }
    }

    fn create_page(&mut self, c: &Contact, essential: bool, only: Option<(String, u32)>) {
        self.eng.pages += 1;
        let page_id = format!("{}-p{}", self.eng.engagement_id, self.eng.pages);
        let prefix = self
            .eng
            .engagement_arn
            .split(":engagement/")
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut channels = Vec::new();
        let mut skipped = Vec::new();
        let mut retry_interval_secs = 0;
        let wanted: Vec<(String, u32)> = match (&only, &c.engagement_plan) {
            (Some((ch, retry)), _) => {
                retry_interval_secs = *retry;
                vec![(ch.clone(), 0)]
            }
            (None, Some(plan)) if !plan.stages.is_empty() => plan
                .stages
                .iter()
                .map(|s| (s.channel.clone(), s.offset_seconds()))
                .collect(),
            // No engagement plan: every activated channel at once.
            (None, _) => c.channels.iter().map(|ch| (ch.name.clone(), 0)).collect(),
        };
        for (name, offset) in wanted {
            match c.channel(&name) {
                Some(ch) if is_engageable(ch) => channels.push(PageChannel {
                    name: ch.name.clone(),
                    channel_type: ch.channel_type.clone(),
                    delivery_address: ch.delivery_address.clone(),
                    instance: self.dir.route(ch),
                    offset_secs: offset,
                }),
                Some(_) => skipped.push(format!("{name} (not activated)")),
                None => skipped.push(format!("{name} (no such channel)")),
            }
        }
        let page = Page {
            page_arn: format!("{prefix}:page/{}/{page_id}", c.alias),
            page_id: page_id.clone(),
            engagement_id: self.eng.engagement_id.clone(),
            engagement_arn: self.eng.engagement_arn.clone(),
            contact_id: c.alias.clone(),
            contact_arn: format!("{prefix}:contact/{}", c.alias),
            sender: self.eng.sender.clone(),
            subject: self.eng.subject.clone(),
            content: self.eng.content.clone(),
            public_subject: self.eng.public_subject.clone(),
            public_content: self.eng.public_content.clone(),
            incident_id: self.eng.incident_id.clone(),
            essential,
            round: self.eng.round,
            stage: self.eng.stage,
            accept_code: self.dir.accept_code(),
            created_time: self.now,
            sent_time: None,
            delivery_time: None,
            read_time: None,
            status: PageStatus::Open,
            channels,
            retry_interval_secs,
            acknowledged_via: None,
        };
        self.timeline(
            "Page created",
            json!({"pageId": page_id, "contactId": c.alias, "essential": essential, "stage": page.stage, "round": page.round}),
        );
        self.pages.insert(page_id.clone(), page);
        self.touched.insert(page_id.clone());
        for s in skipped {
            self.receipt(
                &page_id,
                None,
                ReceiptType::Error,
                format!("channel skipped: {s}"),
            );
        }
        let page = self.pages[&page_id].clone();
        if page.channels.is_empty() {
            self.receipt(
                &page_id,
                None,
                ReceiptType::Error,
                format!("{} has no activated channel to engage", c.alias),
            );
        }
        for (index, ch) in page.channels.iter().enumerate() {
            if ch.offset_secs == 0 {
                self.notify(&page, index, 1);
            } else {
                self.timer(
                    ch.offset_secs,
                    format!("channel/{page_id}/{index}"),
                    TimerKind::Channel {
                        page: page_id.clone(),
                        index,
                    },
                );
            }
        }
        if page.retry_interval_secs > 0 {
            self.timer(
                page.retry_interval_secs,
                format!("chretry/{page_id}/1"),
                TimerKind::ChannelRetry {
                    page: page_id.clone(),
                    n: 1,
                },
            );
        }
    }

    /// Queue the `n`-th send of channel `index` of a page.
    fn notify(&mut self, page: &Page, index: usize, n: u32) {
        let ch = page.channels[index].clone();
        // SMS is the insecure channel: AWS sends it the public subject/content when given.
        let (subject, content) = if ch.channel_type == ChannelType::Sms {
            (
                page.public_subject.clone().unwrap_or(page.subject.clone()),
                page.public_content.clone().unwrap_or(page.content.clone()),
            )
        } else {
            (page.subject.clone(), page.content.clone())
        };
        self.out.notifications.push(Notification {
            key: format!("{}/{}#{n}", page.page_id, ch.name),
            page_id: page.page_id.clone(),
            engagement_id: page.engagement_id.clone(),
            incident_id: page.incident_id.clone(),
            channel: ch,
            subject,
            message: content,
            attempt: 1,
            bundled: Vec::new(),
        });
    }

    // -----------------------------------------------------------------------------------------
    // events

    /// A timer of this engagement fired. Stale timers (the state moved on) change nothing.
    pub fn on_timer(&mut self, kind: &TimerKind) {
        match kind {
            TimerKind::Stage { round, stage, .. } => {
                let expected = self.eng.round == *round && self.eng.stage + 1 == *stage;
                if self.eng.is_active() && expected {
                    self.start_stage(*round, *stage);
                }
            }
            TimerKind::Channel { page, index } => {
                if let Some(p) = self.live_page(page)
                    && *index < p.channels.len()
                {
                    self.notify(&p, *index, 1);
                }
            }
            TimerKind::ChannelRetry { page, n } => {
                let Some(p) = self.live_page(page) else {
                    return;
                };
                let same_stage =
                    self.eng.is_active() && self.eng.round == p.round && self.eng.stage == p.stage;
                if same_stage && !p.channels.is_empty() {
                    self.notify(&p, 0, n + 1);
                    self.timer(
                        p.retry_interval_secs,
                        format!("chretry/{page}/{}", n + 1),
                        TimerKind::ChannelRetry {
                            page: page.clone(),
                            n: n + 1,
                        },
                    );
                }
            }
            TimerKind::Retry { notification } => {
                if self.live_page(&notification.page_id).is_some() {
                    self.out.notifications.push((**notification).clone());
                }
            }
            TimerKind::Flush { .. } => {}
        }
    }

    /// An open page of an engagement that has not been stopped.
    fn live_page(&self, id: &str) -> Option<Page> {
        let p = self.pages.get(id)?;
        (p.is_open() && self.eng.status != EngagementStatus::Stopped).then(|| p.clone())
    }

    /// AcceptPage. Idempotent: accepting an acknowledged page again changes nothing.
    pub fn accept(&mut self, a: &Accept) -> Result<(), EngageError> {
        let Some(page) = self.pages.get(&a.page_id).cloned() else {
            return Err(EngageError::NotFound {
                what: "page",
                id: a.page_id.clone(),
            });
        };
        if let Some(code) = &a.code
            && code.trim() != page.accept_code
        {
            return Err(EngageError::Invalid {
                field: "acceptCode",
                message: format!("the accept code does not match page {}", page.page_id),
            });
        }
        let p = self.pages.get_mut(&a.page_id).expect("checked above");
        match a.accept_type {
            AcceptType::Delivered => {
                if p.delivery_time.is_some() {
                    return Ok(());
                }
                p.delivery_time = Some(self.now);
                self.touched.insert(a.page_id.clone());
                self.receipt(
                    &a.page_id,
                    None,
                    ReceiptType::Delivered,
                    format!("confirmed delivered via {}", a.via),
                );
            }
            AcceptType::Read => {
                if p.status == PageStatus::Acknowledged {
                    return Ok(());
                }
                p.read_time = Some(self.now);
                p.status = PageStatus::Acknowledged;
                p.acknowledged_via = Some(a.via.clone());
                self.touched.insert(a.page_id.clone());
                let note = a.note.clone().map(|n| format!(": {n}")).unwrap_or_default();
                self.receipt(
                    &a.page_id,
                    None,
                    ReceiptType::Read,
                    format!("acknowledged via {}{note}", a.via),
                );
                self.timeline(
                    "Page acknowledged",
                    json!({"pageId": page.page_id, "contactId": page.contact_id, "via": a.via, "essential": page.essential}),
                );
                // An exhausted plan (or a direct engagement, whose single stage ends at once)
                // still ends with the first essential acknowledgement.
                let waiting = matches!(
                    self.eng.status,
                    EngagementStatus::Active | EngagementStatus::Exhausted
                );
                if page.essential && waiting {
                    self.eng.status = EngagementStatus::Acknowledged;
                    self.eng.acknowledged_by = Some(page.contact_id.clone());
                    self.eng.acknowledged_time = Some(self.now);
                    self.timeline(
                        "Engagement acknowledged",
                        json!({"engagementId": self.eng.engagement_id, "by": page.contact_id, "via": a.via}),
                    );
                }
            }
        }
        Ok(())
    }

    /// StopEngagement: no more stages, channels or resends for any page.
    pub fn stop(&mut self, reason: Option<String>) {
        if self.eng.status == EngagementStatus::Stopped {
            return;
        }
        self.eng.status = EngagementStatus::Stopped;
        self.eng.stop_time = Some(self.now);
        self.eng.stop_reason = reason.clone();
        let open: Vec<String> = self
            .pages
            .values()
            .filter(|p| p.is_open())
            .map(|p| p.page_id.clone())
            .collect();
        for id in open {
            if let Some(p) = self.pages.get_mut(&id) {
                p.status = PageStatus::Stopped;
            }
            self.touched.insert(id);
        }
        self.timeline(
            "Engagement stopped",
            json!({"engagementId": self.eng.engagement_id, "reason": reason}),
        );
    }

    /// Escalate now (an SMS "escalate" reply): start the next stage without waiting.
    pub fn escalate(&mut self) -> Result<(), EngageError> {
        if !self.eng.is_active() {
            return Err(EngageError::Conflict(format!(
                "engagement {} is {:?}; only an active engagement escalates",
                self.eng.engagement_id, self.eng.status
            )));
        }
        let (round, stage) = (self.eng.round, self.eng.stage + 1);
        self.timeline(
            "Engagement escalated",
            json!({"engagementId": self.eng.engagement_id, "toStage": stage}),
        );
        self.start_stage(round, stage);
        Ok(())
    }

    /// The outcome of a plugin call for notification `n`.
    pub fn sent(&mut self, n: &Notification, outcome: SendOutcome) {
        let channel = Some(n.channel.name.as_str());
        match outcome {
            SendOutcome::Sent {
                provider,
                provider_id,
                delivered,
            } => {
                if let Some(p) = self.pages.get_mut(&n.page_id) {
                    p.sent_time.get_or_insert(self.now);
                    if delivered {
                        p.delivery_time.get_or_insert(self.now);
                    }
                    self.touched.insert(n.page_id.clone());
                }
                let id = provider_id.map(|i| format!(" id {i}")).unwrap_or_default();
                let info = format!(
                    "{} via {} ({provider}{id}), attempt {}",
                    n.channel.channel_type, n.channel.instance, n.attempt
                );
                self.receipt(&n.page_id, channel, ReceiptType::Sent, info.clone());
                if delivered {
                    self.receipt(&n.page_id, channel, ReceiptType::Delivered, info);
                }
            }
            SendOutcome::Retryable {
                message,
                retry_after,
            } if n.attempt < MAX_SEND_ATTEMPTS && self.live_page(&n.page_id).is_some() => {
                let wait = backoff(n.attempt).max(retry_after.unwrap_or_default());
                let secs = wait.as_secs().max(1) as u32;
                self.receipt(
                    &n.page_id,
                    channel,
                    ReceiptType::Error,
                    format!(
                        "attempt {} failed, retrying in {secs} s: {message}",
                        n.attempt
                    ),
                );
                let mut next = n.clone();
                next.attempt += 1;
                self.timer(
                    secs,
                    format!("retry/{}/{}", n.key, next.attempt),
                    TimerKind::Retry {
                        notification: Box::new(next),
                    },
                );
            }
            SendOutcome::Retryable { message, .. } | SendOutcome::Failed { message } => {
                self.receipt(
                    &n.page_id,
                    channel,
                    ReceiptType::Error,
                    format!("attempt {} failed, giving up: {message}", n.attempt),
                );
            }
        }
    }

    /// A status reported by the provider (delivery callback, a STOP reply).
    pub fn provider_status(
        &mut self,
        page: &str,
        channel: Option<&str>,
        ty: ReceiptType,
        info: String,
    ) {
        if let Some(p) = self.pages.get_mut(page) {
            match ty {
                ReceiptType::Delivered => {
                    p.delivery_time.get_or_insert(self.now);
                }
                ReceiptType::Sent => {
                    p.sent_time.get_or_insert(self.now);
                }
                _ => {}
            }
            self.touched.insert(page.to_owned());
        }
        self.receipt(page, channel, ty, info);
    }
}

/// A person a stage engages: alias, essential, and the single channel (name, retry interval)
/// when the target was a channel.
type Engaged = (String, bool, Option<(String, u32)>);

/// Wait before retry `attempt` + 1 of a notification: 5 s, 10 s, 20 s…
pub fn backoff(attempt: u32) -> SignedDuration {
    SignedDuration::from_secs(5 << attempt.saturating_sub(1).min(6))
}

fn after(now: Timestamp, d: SignedDuration) -> Timestamp {
    now.checked_add(d).unwrap_or(now)
}

fn merge(
    people: &mut Vec<Engaged>,
    contact: &str,
    essential: bool,
    channel: Option<(String, u32)>,
) {
    match people
        .iter_mut()
        .find(|(c, _, ch)| c == contact && ch.is_none())
    {
        Some(existing) => existing.1 |= essential,
        None => people.push((contact.to_owned(), essential, channel)),
    }
}
