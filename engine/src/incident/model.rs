//! Response plans, incident records, related items and timeline events: the `ssm-incidents`
//! shapes with their own (lowerCamel) member names, so AWS-shaped JSON reads as-is.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IncidentTemplate {
    pub title: String,
    /// 1 (critical) … 5 (no impact).
    pub impact: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_string: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub incident_tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_targets: Vec<serde_json::Value>,
}

/// AWS `ChatChannel`; ours names a plugin instance that posts to the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChatChannel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chatbot_sns: Vec<String>,
}

/// AWS `DynamicSsmParameterValue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DynamicVariable {
    IncidentRecordArn,
    InvolvedResources,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DynamicValue {
    pub variable: DynamicVariable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsmAutomation {
    pub document_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_version: Option<String>,
    /// Static parameters: name → list of strings (as AWS).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Vec<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dynamic_parameters: BTreeMap<String, DynamicValue>,
    /// Accepted for AWS compatibility; Tocsin runs the runbook itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanAction {
    pub ssm_automation: SsmAutomation,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PagerDutyConfiguration {
    pub name: String,
    pub pager_duty_incident_configuration: serde_json::Value,
    /// AWS names a Secrets Manager secret; ours names the `pagerduty` plugin instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Integration {
    pub pager_duty_configuration: PagerDutyConfiguration,
}

/// `kind: ResponsePlan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResponsePlan {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub incident_template: IncidentTemplate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_channel: Option<ChatChannel>,
    /// Contacts, escalation plans or on-call schedules (aliases or ARNs) engaged on creation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub engagements: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<PlanAction>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<Integration>,
    /// Beyond AWS: resolve the incident when its alert source reports resolved.
    #[serde(default)]
    pub auto_resolve: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncidentStatus {
    Open,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRecordSource {
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomationExecution {
    pub ssm_execution_arn: String,
}

/// AWS `ItemIdentifier`: a type and one value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemIdentifier {
    #[serde(rename = "type")]
    pub item_type: ItemType,
    pub value: ItemValue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ItemType {
    Analysis,
    Incident,
    Metric,
    Parent,
    Attachment,
    Other,
    Automation,
    InvolvedResource,
    Task,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ItemValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_definition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pager_duty_incident_detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelatedItem {
    pub identifier: ItemIdentifier,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_id: Option<String>,
}

/// AWS `IncidentRecord` plus the plan it came from and what it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IncidentRecord {
    pub arn: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub status: IncidentStatus,
    pub impact: u8,
    pub creation_time: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_time: Option<Timestamp>,
    pub last_modified_time: Timestamp,
    pub last_modified_by: String,
    pub dedupe_string: String,
    pub incident_record_source: IncidentRecordSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_channel: Option<ChatChannel>,
    #[serde(default)]
    pub notification_targets: Vec<serde_json::Value>,
    #[serde(default)]
    pub automation_executions: Vec<AutomationExecution>,
    pub response_plan: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub incident_tags: BTreeMap<String, String>,
    #[serde(default)]
    pub related_items: Vec<RelatedItem>,
    /// Engagement ids started for this incident.
    #[serde(default)]
    pub engagements: Vec<String>,
    /// Triggers absorbed by deduplication (the first one created the incident).
    #[serde(default)]
    pub trigger_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_acknowledged_time: Option<Timestamp>,
}

impl IncidentRecord {
    pub fn is_open(&self) -> bool {
        self.status == IncidentStatus::Open
    }

    /// The incident's id (last segment of the ARN).
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

/// AWS `EventReference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_item_id: Option<String>,
}
