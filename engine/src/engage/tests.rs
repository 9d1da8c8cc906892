//! The escalation machine driven by an explicit clock.

use std::cell::Cell;

use jiff::{SignedDuration, Timestamp};

use super::link::{self, LinkError, Purpose};
use super::rate::{Admission, Held, MethodState, RateLimit};
use super::*;
use crate::oncall::{
    ActivationStatus, ChannelType, Contact, ContactChannel, ContactType, EngagementPlan,
    EngagementStage, EscalationPlan, PlanStage, PlanTarget,
};

struct World {
    contacts: Vec<Contact>,
    plans: Vec<EscalationPlan>,
    /// (schedule, switch time, before, after)
    schedule: Option<(&'static str, Timestamp, &'static str, &'static str)>,
    codes: Cell<u32>,
}

impl Directory for World {
    fn contact(&self, alias: &str) -> Option<Contact> {
        self.contacts.iter().find(|c| c.alias == alias).cloned()
    }
    fn plan(&self, alias: &str) -> Option<EscalationPlan> {
        self.plans.iter().find(|p| p.alias == alias).cloned()
    }
    fn is_schedule(&self, alias: &str) -> bool {
        self.schedule.is_some_and(|s| s.0 == alias)
    }
    fn on_call(&self, schedule: &str, at: Timestamp) -> Result<Vec<String>, String> {
        match self.schedule {
            Some((name, switch, before, after)) if name == schedule => {
                Ok(vec![if at < switch { before } else { after }.to_owned()])
            }
            _ => Err("no such schedule".into()),
        }
    }
    fn route(&self, channel: &ContactChannel) -> String {
        channel.channel_type.as_str().to_lowercase()
    }
    fn accept_code(&self) -> String {
        self.codes.set(self.codes.get() + 1);
        format!("{:06}", 100_000 + self.codes.get())
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn person(alias: &str, stages: &[(&str, u32)]) -> Contact {
    let channel = |name: &str, ty: ChannelType, addr: &str| ContactChannel {
        name: name.into(),
        channel_type: ty,
        delivery_address: addr.into(),
        activation_status: ActivationStatus::Activated,
        plugin: None,
    };
    Contact {
        alias: alias.into(),
        display_name: None,
        contact_type: ContactType::Personal,
        channels: vec![
            channel("sms", ChannelType::Sms, "+15550100"),
            channel("voice", ChannelType::Voice, "+15550100"),
            channel("mail", ChannelType::Email, "x@example.com"),
        ],
        engagement_plan: Some(EngagementPlan {
            stages: stages
                .iter()
                .map(|(c, secs)| EngagementStage {
                    channel: (*c).into(),
                    minutes_after_start: 0,
                    seconds_after_start: Some(*secs),
                })
                .collect(),
        }),
        tags: Default::default(),
    }
}

fn target(contact: &str, essential: bool) -> PlanTarget {
    PlanTarget {
        contact: Some(contact.into()),
        schedule: None,
        channel: None,
        retry_interval_in_minutes: 0,
        is_essential: essential,
    }
}

fn stage(minutes: u32, targets: Vec<PlanTarget>) -> PlanStage {
    PlanStage {
        duration_in_minutes: minutes,
        duration_seconds: None,
        targets,
    }
}

fn world(plan: Vec<PlanStage>, repeat: u8) -> World {
    World {
        contacts: vec![
            person("alice", &[("sms", 0), ("voice", 120)]),
            person("bob", &[("mail", 0)]),
        ],
        plans: vec![EscalationPlan {
            alias: "sre".into(),
            display_name: None,
            stages: plan,
            repeat,
            tags: Default::default(),
        }],
        schedule: None,
        codes: Cell::new(0),
    }
}

fn request(contact: &str) -> StartRequest {
    StartRequest {
        engagement_id: "e1".into(),
        arn_prefix: "arn:aws:ssm-contacts:us-east-1:111122223333".into(),
        contact_id: contact.into(),
        sender: "tocsin".into(),
        subject: "DB down".into(),
        content: "primary is down".into(),
        public_subject: Some("Incident".into()),
        public_content: Some("see console".into()),
        incident_id: Some("arn:inc/1".into()),
        idempotency_token: None,
    }
}

/// State carried between steps, as the store would.
struct Run<'w> {
    dir: &'w World,
    eng: Engagement,
    pages: Vec<Page>,
    timers: Vec<Timer>,
    sent: Vec<(Timestamp, String)>,
    receipts: Vec<Receipt>,
}

impl<'w> Run<'w> {
    fn start(dir: &'w World, contact: &str, now: Timestamp) -> Run<'w> {
        let ch = start(request(contact), dir, now).unwrap();
        let mut run = Run {
            dir,
            eng: ch.engagement.clone().unwrap(),
            pages: vec![],
            timers: vec![],
            sent: vec![],
            receipts: vec![],
        };
        run.absorb(ch, now);
        run
    }

    fn absorb(&mut self, ch: Changes, now: Timestamp) {
        self.eng = ch.engagement.unwrap();
        for p in ch.pages {
            self.pages.retain(|q| q.page_id != p.page_id);
            self.pages.push(p);
        }
        self.timers.extend(ch.timers);
        self.receipts.extend(ch.receipts);
        for n in ch.notifications {
            self.sent.push((now, n.key.clone()));
        }
    }

    fn with(&mut self, now: Timestamp, f: impl FnOnce(&mut Machine<'_>)) {
        let mut m = Machine::new(self.eng.clone(), self.pages.clone(), self.dir, now);
        f(&mut m);
        let ch = m.finish();
        self.absorb(ch, now);
    }

    /// Fire every timer due up to `until`, in order, like the scheduler does.
    fn advance(&mut self, until: Timestamp) {
        loop {
            self.timers.sort_by_key(|t| (t.due, t.id.clone()));
            let Some(pos) = self.timers.iter().position(|t| t.due <= until) else {
                return;
            };
            let timer = self.timers.remove(pos);
            self.with(timer.due, |m| m.on_timer(&timer.kind));
        }
    }

    fn keys(&self) -> Vec<&str> {
        self.sent.iter().map(|(_, k)| k.as_str()).collect()
    }

    fn page_of(&self, contact: &str) -> &Page {
        self.pages
            .iter()
            .rev()
            .find(|p| p.contact_id == contact)
            .unwrap()
    }
}

#[test]
fn stages_run_in_order_each_person_following_their_engagement_plan() {
    let w = world(
        vec![
            stage(5, vec![target("alice", true)]),
            stage(5, vec![target("bob", true)]),
        ],
        0,
    );
    let mut run = Run::start(&w, "sre", t(0));
    assert_eq!(run.keys(), ["e1-p1/sms#1"]);
    run.advance(t(119));
    assert_eq!(run.keys(), ["e1-p1/sms#1"]);
    run.advance(t(120));
    assert_eq!(run.keys(), ["e1-p1/sms#1", "e1-p1/voice#1"]);
    run.advance(t(300));
    assert_eq!(run.keys(), ["e1-p1/sms#1", "e1-p1/voice#1", "e1-p2/mail#1"]);
    assert_eq!(run.sent[2].0, t(300), "stage 2 starts when stage 1 ends");
    run.advance(t(10_000));
    assert_eq!(run.eng.status, EngagementStatus::Exhausted);
    assert_eq!(run.keys().len(), 3, "nothing is sent twice");
    // SMS gets the public subject/content (the insecure channel), as AWS does.
    let first = start(request("sre"), &w, t(0)).unwrap().notifications;
    assert_eq!(first[0].subject, "Incident");
    assert_eq!(first[0].message, "see console");
}

#[test]
fn an_essential_acknowledgement_stops_the_plan_and_a_wrong_code_is_refused() {
    let w = world(
        vec![
            stage(5, vec![target("alice", true)]),
            stage(5, vec![target("bob", true)]),
        ],
        2,
    );
    let mut run = Run::start(&w, "sre", t(0));
    let page = run.page_of("alice").clone();
    let mut refused = None;
    run.with(t(30), |m| {
        refused = m
            .accept(&Accept {
                page_id: page.page_id.clone(),
                accept_type: AcceptType::Read,
                code: Some("000000".into()),
                via: "api".into(),
                note: None,
            })
            .err()
    });
    assert!(matches!(
        refused,
        Some(EngageError::Invalid {
            field: "acceptCode",
            ..
        })
    ));
    let accept = Accept {
        page_id: page.page_id.clone(),
        accept_type: AcceptType::Read,
        code: Some(page.accept_code.clone()),
        via: "sms".into(),
        note: None,
    };
    run.with(t(60), |m| m.accept(&accept).unwrap());
    assert_eq!(run.eng.status, EngagementStatus::Acknowledged);
    assert_eq!(run.eng.acknowledged_by.as_deref(), Some("alice"));
    // Idempotent: a second acknowledgement adds no receipt.
    let before = run.receipts.len();
    run.with(t(61), |m| m.accept(&accept).unwrap());
    assert_eq!(run.receipts.len(), before);
    run.advance(t(10_000));
    assert_eq!(
        run.keys(),
        ["e1-p1/sms#1"],
        "no voice call, no stage 2, no repeat"
    );
    assert!(
        run.receipts
            .iter()
            .any(|r| r.receipt_type == ReceiptType::Read)
    );
}

#[test]
fn a_non_essential_acknowledgement_is_recorded_but_the_plan_goes_on() {
    let w = world(
        vec![
            stage(5, vec![target("bob", false)]),
            stage(5, vec![target("alice", true)]),
        ],
        0,
    );
    let mut run = Run::start(&w, "sre", t(0));
    let page = run.page_of("bob").clone();
    run.with(t(10), |m| {
        m.accept(&Accept {
            page_id: page.page_id.clone(),
            accept_type: AcceptType::Read,
            code: Some(page.accept_code.clone()),
            via: "api".into(),
            note: Some("looking".into()),
        })
        .unwrap()
    });
    assert_eq!(run.eng.status, EngagementStatus::Active);
    run.advance(t(300));
    assert_eq!(run.keys(), ["e1-p1/mail#1", "e1-p2/sms#1"]);
}

#[test]
fn the_plan_repeats_when_nobody_acknowledges() {
    let w = world(vec![stage(1, vec![target("bob", true)])], 2);
    let mut run = Run::start(&w, "sre", t(0));
    run.advance(t(10_000));
    assert_eq!(run.keys(), ["e1-p1/mail#1", "e1-p2/mail#1", "e1-p3/mail#1"]);
    assert_eq!(
        run.sent.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
        [t(0), t(60), t(120)]
    );
    assert_eq!(run.eng.status, EngagementStatus::Exhausted);
    assert_eq!(
        run.pages.iter().map(|p| p.round).collect::<Vec<_>>(),
        [0, 1, 2]
    );
}

#[test]
fn stop_ends_every_page_and_later_timers_change_nothing() {
    let w = world(
        vec![
            stage(5, vec![target("alice", true)]),
            stage(5, vec![target("bob", true)]),
        ],
        0,
    );
    let mut run = Run::start(&w, "sre", t(0));
    run.with(t(10), |m| m.stop(Some("resolved".into())));
    run.advance(t(10_000));
    assert_eq!(run.keys(), ["e1-p1/sms#1"]);
    assert_eq!(run.eng.status, EngagementStatus::Stopped);
    assert!(run.pages.iter().all(|p| p.status == PageStatus::Stopped));
}

#[test]
fn escalate_starts_the_next_stage_now_and_the_old_timer_does_not_double_it() {
    let w = world(
        vec![
            stage(5, vec![target("alice", true)]),
            stage(5, vec![target("bob", true)]),
        ],
        0,
    );
    let mut run = Run::start(&w, "sre", t(0));
    run.with(t(30), |m| m.escalate().unwrap());
    assert_eq!(run.keys(), ["e1-p1/sms#1", "e1-p2/mail#1"]);
    run.advance(t(10_000));
    // Alice's voice call still happens (her page is open); bob is paged once.
    assert_eq!(run.keys(), ["e1-p1/sms#1", "e1-p2/mail#1", "e1-p1/voice#1"]);
}

#[test]
fn schedules_resolve_to_whoever_is_on_call_when_the_stage_starts() {
    let mut w = world(
        vec![
            stage(5, vec![target("bob", true)]),
            stage(
                5,
                vec![PlanTarget {
                    contact: None,
                    schedule: Some("primary".into()),
                    channel: None,
                    retry_interval_in_minutes: 0,
                    is_essential: true,
                }],
            ),
        ],
        0,
    );
    // Hand-off from bob to alice at minute 2: the stage starts at minute 5.
    w.schedule = Some(("primary", t(120), "bob", "alice"));
    let mut run = Run::start(&w, "sre", t(0));
    run.advance(t(300));
    assert_eq!(run.page_of("alice").stage, 1);
}

#[test]
fn retryable_failures_retry_with_backoff_and_are_shown_in_receipts() {
    let w = world(vec![stage(5, vec![target("bob", true)])], 0);
    let mut run = Run::start(&w, "sre", t(0));
    let n = start(request("sre"), &w, t(0)).unwrap().notifications[0].clone();
    run.with(t(1), |m| {
        m.sent(
            &n,
            SendOutcome::Retryable {
                message: "503".into(),
                retry_after: Some(SignedDuration::from_secs(30)),
            },
        )
    });
    let retry = run
        .timers
        .iter()
        .find(|t| t.id.starts_with("retry/"))
        .unwrap();
    assert_eq!(retry.due, t(31), "Retry-After 30 s beats the 5 s backoff");
    assert!(run.receipts.iter().any(|r| {
        r.receipt_type == ReceiptType::Error
            && r.receipt_info
                .as_deref()
                .unwrap()
                .contains("retrying in 30 s")
    }));
    run.advance(t(31));
    assert_eq!(
        run.keys(),
        ["e1-p1/mail#1", "e1-p1/mail#1"],
        "same key on retry"
    );
    // The last attempt gives up and says so.
    let mut last = n.clone();
    last.attempt = MAX_SEND_ATTEMPTS;
    run.with(t(40), |m| {
        m.sent(
            &last,
            SendOutcome::Failed {
                message: "nope".into(),
            },
        )
    });
    assert!(
        run.receipts
            .last()
            .unwrap()
            .receipt_info
            .as_deref()
            .unwrap()
            .contains("giving up")
    );
}

#[test]
fn plans_are_validated_with_the_field_named() {
    let mut plan = EscalationPlan {
        alias: "sre".into(),
        display_name: None,
        stages: vec![stage(31, vec![target("sre", true)])],
        repeat: 6,
        tags: Default::default(),
    };
    let e = crate::oncall::validate_escalation_plan(&plan).unwrap_err();
    assert!(e.has_field("repeat"));
    assert!(e.has_field("stages[0].durationInMinutes"));
    assert!(e.has_field("stages[0].targets[0]"));
    plan.stages[0].targets[0].contact = None;
    let e = crate::oncall::validate_escalation_plan(&plan).unwrap_err();
    assert!(
        e.to_string()
            .contains("exactly one of contact, schedule or channel")
    );
}

#[test]
fn rate_limits_hold_pages_back_and_bundle_them_into_one_summary() {
    let limit = RateLimit {
        max: 5,
        per_minutes: 15,
    };
    let mut state = MethodState::default();
    let held = |i: i64| Held {
        page_id: format!("p{i}"),
        subject: format!("alert {i}"),
        accept_code: "123456".into(),
        at: t(i),
    };
    for i in 0..5 {
        assert_eq!(state.admit(t(i * 10), &limit, held(i)), Admission::Send);
    }
    let Admission::Hold {
        flush_at,
        new_timer,
    } = state.admit(t(60), &limit, held(5))
    else {
        panic!("the sixth SMS in 15 minutes is held");
    };
    assert_eq!(
        flush_at,
        t(15 * 60),
        "when the first send leaves the window"
    );
    assert!(new_timer);
    assert!(matches!(
        state.admit(t(70), &limit, held(6)),
        Admission::Hold {
            new_timer: false,
            ..
        }
    ));
    assert!(state.flush(t(100), &limit).is_err(), "no room yet");
    let out = state.flush(t(15 * 60), &limit).unwrap();
    assert_eq!(out.len(), 2);
    let (subject, body) = rate::summary_text(&out);
    assert!(subject.starts_with("2 pages held back"));
    assert!(body.contains("alert 5") && body.contains("alert 6"));
}

#[test]
fn links_are_signed_single_purpose_and_expire() {
    let key = b"k".repeat(32);
    let token = link::sign(&key, Purpose::Ack, "e1-p1", t(3600));
    assert_eq!(
        link::verify(&key, Purpose::Ack, &token, t(0)).unwrap(),
        "e1-p1"
    );
    assert_eq!(
        link::verify(&key, Purpose::Callback, &token, t(0)),
        Err(LinkError::WrongPurpose)
    );
    assert!(matches!(
        link::verify(&key, Purpose::Ack, &token, t(3601)),
        Err(LinkError::Expired(_))
    ));
    assert_eq!(
        link::verify(b"other", Purpose::Ack, &token, t(0)),
        Err(LinkError::BadSignature)
    );
    let forged = token.replace(token.split('.').next().unwrap(), "ZXZpbA");
    assert!(link::verify(&key, Purpose::Ack, &forged, t(0)).is_err());
    assert_eq!(
        link::verify(&key, Purpose::Ack, "garbage", t(0)),
        Err(LinkError::Malformed)
    );
}

#[test]
fn engaging_a_person_directly_ends_with_their_acknowledgement() {
    let w = world(vec![stage(5, vec![target("bob", true)])], 0);
    let mut run = Run::start(&w, "alice", t(0));
    // One zero-length stage: no more stages, but the page is still open.
    assert_eq!(run.eng.status, EngagementStatus::Exhausted);
    let page = run.page_of("alice").clone();
    run.with(t(30), |m| {
        m.accept(&Accept {
            page_id: page.page_id.clone(),
            accept_type: AcceptType::Read,
            code: Some(page.accept_code.clone()),
            via: "api".into(),
            note: None,
        })
        .unwrap()
    });
    assert_eq!(run.eng.status, EngagementStatus::Acknowledged);
}
