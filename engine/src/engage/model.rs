//! Engagements, pages, receipts, notifications and timers: the `ssm-contacts` Engagement / Page /
//! Receipt shapes in camelCase, plus the state the escalation machine needs.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::oncall::ChannelType;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EngagementStatus {
    /// Stages are still running (or pages are still waiting for an acknowledgement).
    Active,
    /// An essential target acknowledged: no further stages.
    Acknowledged,
    /// Every stage (and repeat) ran and nobody essential acknowledged.
    Exhausted,
    /// StopEngagement (or the incident was resolved).
    Stopped,
}

/// One stage as it was when the engagement started (later plan edits do not change it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageSnapshot {
    pub duration_secs: u32,
    pub targets: Vec<TargetSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum TargetSnapshot {
    Contact {
        contact: String,
        essential: bool,
    },
    Schedule {
        schedule: String,
        essential: bool,
    },
    Channel {
        contact: String,
        channel: String,
        retry_interval_secs: u32,
        essential: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Engagement {
    pub engagement_id: String,
    pub engagement_arn: String,
    /// The engaged contact: PERSONAL, ESCALATION or ONCALL_SCHEDULE alias.
    pub contact_id: String,
    pub contact_arn: String,
    pub sender: String,
    pub subject: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_token: Option<String>,
    pub start_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    pub status: EngagementStatus,
    pub stages: Vec<StageSnapshot>,
    /// Runs of the whole plan after the first (0–5).
    pub repeat: u8,
    /// 0 for the first run of the plan, 1 for the first repeat, ...
    pub round: u8,
    /// Index of the stage running now (or last run).
    pub stage: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_time: Option<Timestamp>,
    /// Pages created so far (page ids are `<engagement>-p<n>`).
    pub pages: u32,
    /// Targets that could not be paged (empty schedule, missing contact), with when.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Engagement {
    pub fn is_active(&self) -> bool {
        self.status == EngagementStatus::Active
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PageStatus {
    /// Channels are being engaged; waiting for an acknowledgement.
    Open,
    Acknowledged,
    /// The engagement stopped, or every channel of the page has been tried and its stage ended.
    Stopped,
}

/// One channel a page engages, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageChannel {
    pub name: String,
    #[serde(rename = "type")]
    pub channel_type: ChannelType,
    pub delivery_address: String,
    /// Plugin instance that delivers it.
    pub instance: String,
    /// Seconds after the page starts.
    pub offset_secs: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub page_id: String,
    pub page_arn: String,
    pub engagement_id: String,
    pub engagement_arn: String,
    /// The PERSONAL contact paged.
    pub contact_id: String,
    pub contact_arn: String,
    pub sender: String,
    pub subject: String,
    pub content: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    pub essential: bool,
    pub round: u8,
    pub stage: usize,
    /// The 6-digit code that acknowledges this page (AcceptPage, SMS reply, voice).
    pub accept_code: String,
    pub created_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_time: Option<Timestamp>,
    pub status: PageStatus,
    pub channels: Vec<PageChannel>,
    /// Channel targets: re-send every N seconds until acknowledged or the stage ends (0: once).
    #[serde(default)]
    pub retry_interval_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_via: Option<String>,
}

impl Page {
    pub fn is_open(&self) -> bool {
        self.status == PageStatus::Open
    }
}

/// AWS `ReceiptType`, plus SUPPRESSED (held back by a paging-storm rate limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReceiptType {
    Sent,
    Delivered,
    Read,
    Error,
    Stop,
    Suppressed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub page_id: String,
    /// The contact channel (name) the receipt is about, when it is about one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_channel: Option<String>,
    pub receipt_type: ReceiptType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_info: Option<String>,
    pub receipt_time: Timestamp,
}

/// A notification to hand to a plugin: committed (in the outbox) with the state change that
/// decided it, sent after the commit, removed when its outcome is recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Idempotency key, stable across retries and restarts: `<page>/<channel>#<n>`.
    pub key: String,
    pub page_id: String,
    pub engagement_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<String>,
    pub channel: PageChannel,
    pub subject: String,
    pub message: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// A summary of pages held back by a rate limit: their ids (empty for a page's own send).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bundled: Vec<String>,
}

/// A durable timer: what to do, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum TimerKind {
    /// Start stage `stage` of run `round` (or finish the engagement when past the last stage).
    Stage {
        engagement: String,
        round: u8,
        stage: usize,
    },
    /// Engage channel `index` of a page.
    Channel { page: String, index: usize },
    /// Re-send a channel target's page (the `n`-th resend).
    ChannelRetry { page: String, n: u32 },
    /// Retry a notification whose plugin call failed transiently.
    Retry { notification: Box<Notification> },
    /// Send the summary of the pages a rate limit held back for one contact method.
    Flush { method: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timer {
    pub due: Timestamp,
    /// Unique and deterministic: the same decision always names the same timer.
    pub id: String,
    pub kind: TimerKind,
}

/// An incident timeline event produced by an engagement (written only when the engagement
/// belongs to an incident).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimelineEntry {
    /// The incident record ARN.
    pub incident_id: String,
    pub event_time: Timestamp,
    pub event_type: String,
    pub event_data: serde_json::Value,
    /// Assigned by the store when written (a sequence number, unique per database).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_updated_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_references: Vec<serde_json::Value>,
    /// Created through the API (CreateTimelineEvent): only these can be updated or deleted.
    #[serde(default)]
    pub custom: bool,
}

impl TimelineEntry {
    /// An automatic event.
    pub fn auto(incident: &str, at: Timestamp, event_type: &str, data: serde_json::Value) -> Self {
        TimelineEntry {
            incident_id: incident.to_owned(),
            event_time: at,
            event_type: event_type.to_owned(),
            event_data: data,
            event_id: String::new(),
            event_updated_time: None,
            event_references: Vec::new(),
            custom: false,
        }
    }
}
