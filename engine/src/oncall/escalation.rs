//! Escalation plans (ESCALATION contacts, `kind: EscalationPlan`): stages with a duration, each
//! engaging contacts, on-call schedules or single channels. Mirrors the `ssm-contacts` Plan /
//! Stage / Target shapes, plus `repeat` (run the whole plan again when nobody acknowledged).

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::error::{Errors, Result};
use super::model::Tags;
use super::validate::{check_alias, check_tags, check_text};

/// Stages per plan (our bound; AWS does not publish one).
pub const MAX_PLAN_STAGES: usize = 20;
/// Targets per stage.
pub const MAX_STAGE_TARGETS: usize = 50;
/// AWS `DurationInMinutes` is 0–30.
pub const MAX_STAGE_DURATION_MINUTES: u32 = 30;
/// Beyond AWS: how many times the whole plan runs again when nobody acknowledges.
pub const MAX_PLAN_REPEATS: u8 = 5;
/// AWS `RetryIntervalInMinutes` is 0–60.
pub const MAX_RETRY_INTERVAL_MINUTES: u32 = 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EscalationPlan {
    pub alias: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub stages: Vec<PlanStage>,
    /// 0–5: how many more times the whole plan runs if nobody essential acknowledged.
    #[serde(default)]
    pub repeat: u8,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanStage {
    /// AWS `DurationInMinutes` (0–30): how long this stage runs before the next one starts.
    #[serde(default)]
    pub duration_in_minutes: u32,
    /// Beyond AWS: a duration in seconds (0–1800) instead of minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
    pub targets: Vec<PlanTarget>,
}

impl PlanStage {
    pub fn duration_secs(&self) -> u32 {
        self.duration_seconds
            .unwrap_or(self.duration_in_minutes.saturating_mul(60))
    }
}

/// One target of a stage: exactly one of `contact`, `schedule` or `channel`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanTarget {
    /// A PERSONAL contact, engaged through its own engagement plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    /// An on-call schedule: whoever is on call when the stage starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// A single channel of a contact: `"<contact>/<channel name>"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Channel targets: re-send every N minutes (0–60) until acknowledged or the stage ends.
    #[serde(default)]
    pub retry_interval_in_minutes: u32,
    /// AWS `IsEssential`: this target's acknowledgement stops the plan's progression.
    #[serde(default = "yes")]
    pub is_essential: bool,
}

fn yes() -> bool {
    true
}

/// What a target engages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetRef<'a> {
    Contact(&'a str),
    Schedule(&'a str),
    Channel { contact: &'a str, channel: &'a str },
}

impl PlanTarget {
    /// The target, when exactly one kind is given (validation guarantees it for stored plans).
    pub fn target(&self) -> Option<TargetRef<'_>> {
        match (&self.contact, &self.schedule, &self.channel) {
            (Some(c), None, None) => Some(TargetRef::Contact(c)),
            (None, Some(s), None) => Some(TargetRef::Schedule(s)),
            (None, None, Some(ch)) => {
                let (contact, channel) = ch.split_once('/')?;
                Some(TargetRef::Channel { contact, channel })
            }
            _ => None,
        }
    }
}

/// Checks a plan on its own (that referenced contacts exist is checked against the store).
pub fn validate_escalation_plan(plan: &EscalationPlan) -> Result<()> {
    let mut errs = Errors::default();
    check_alias(&mut errs, "alias", &plan.alias);
    if let Some(d) = &plan.display_name {
        check_text(&mut errs, "displayName", d, true);
    }
    check_tags(&mut errs, "tags", &plan.tags);
    if plan.repeat > MAX_PLAN_REPEATS {
        errs.push("repeat", format!("must be 0-{MAX_PLAN_REPEATS}"));
    }
    if plan.stages.is_empty() {
        errs.push("stages", "must hold at least one stage");
    }
    if plan.stages.len() > MAX_PLAN_STAGES {
        errs.push("stages", format!("at most {MAX_PLAN_STAGES} stages"));
    }
    for (i, stage) in plan.stages.iter().enumerate() {
        let f = format!("stages[{i}]");
        if stage.duration_in_minutes > MAX_STAGE_DURATION_MINUTES {
            errs.push(
                format!("{f}.durationInMinutes"),
                format!("must be 0-{MAX_STAGE_DURATION_MINUTES}"),
            );
        }
        match stage.duration_seconds {
            Some(_) if stage.duration_in_minutes != 0 => errs.push(
                format!("{f}.durationSeconds"),
                "give either durationInMinutes or durationSeconds, not both",
            ),
            Some(s) if s > MAX_STAGE_DURATION_MINUTES * 60 => errs.push(
                format!("{f}.durationSeconds"),
                format!("must be 0-{}", MAX_STAGE_DURATION_MINUTES * 60),
            ),
            _ => {}
        }
        if stage.targets.is_empty() {
            errs.push(format!("{f}.targets"), "must hold at least one target");
        }
        if stage.targets.len() > MAX_STAGE_TARGETS {
            errs.push(
                format!("{f}.targets"),
                format!("at most {MAX_STAGE_TARGETS} targets"),
            );
        }
        let mut seen = BTreeSet::new();
        for (j, t) in stage.targets.iter().enumerate() {
            let tf = format!("{f}.targets[{j}]");
            let given = [&t.contact, &t.schedule, &t.channel]
                .iter()
                .filter(|x| x.is_some())
                .count();
            if given != 1 {
                errs.push(
                    tf.clone(),
                    "give exactly one of contact, schedule or channel",
                );
                continue;
            }
            if let Some(ch) = &t.channel
                && t.target().is_none()
            {
                errs.push(
                    format!("{tf}.channel"),
                    format!("{ch:?} is not `<contact alias>/<channel name>`"),
                );
            }
            if t.channel.is_none() && t.retry_interval_in_minutes != 0 {
                errs.push(
                    format!("{tf}.retryIntervalInMinutes"),
                    "applies to channel targets only",
                );
            }
            if t.retry_interval_in_minutes > MAX_RETRY_INTERVAL_MINUTES {
                errs.push(
                    format!("{tf}.retryIntervalInMinutes"),
                    format!("must be 0-{MAX_RETRY_INTERVAL_MINUTES}"),
                );
            }
            if let Some(name) = t.contact.as_ref().or(t.schedule.as_ref()) {
                check_alias(&mut errs, &tf, name);
                if name == &plan.alias {
                    errs.push(tf.clone(), "a plan cannot target itself");
                }
            }
            if !seen.insert(format!("{:?}", t.target())) {
                errs.push(tf, "the same target is listed twice in this stage");
            }
        }
    }
    errs.finish()
}
