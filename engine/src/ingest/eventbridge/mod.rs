//! EventBridge-style events (any JSON object with `source`, `detail-type` and `detail`): the
//! trigger of an event, and [`Pattern`]s with EventBridge event-pattern semantics to route events
//! to response plans.

mod pattern;

use std::collections::BTreeMap;

use serde_json::Value;

pub use pattern::Pattern;

use super::json::object;
use super::{IngestError, Result, Trigger, TriggerStatus, cloudwatch};

/// The trigger of any EventBridge-style event: source = the event's `source`; identity = its
/// `resources` (sorted, joined by ","), else its `id`; title = `detail-type`; resources = the
/// event's `resources` (as Incident Manager passes them to runbooks); always Firing.
pub fn event_trigger(event: &Value) -> Result<Trigger> {
    let o = object(event, "")?;
    let source = o.req_text("source")?;
    let detail_type = o.req_text("detail-type")?;
    let Some(detail) = o.get("detail") else {
        return Err(IngestError::malformed("detail", "is required"));
    };
    if !detail.is_object() {
        return Err(super::json::wrong_type("detail", "an object", detail));
    }
    let id = o.opt_text("id")?;
    let resources = o.string_list("resources")?;
    let mut sorted: Vec<&str> = resources
        .iter()
        .map(String::as_str)
        .filter(|r| !r.is_empty())
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let identity = if !sorted.is_empty() {
        sorted.join(",")
    } else if let Some(id) = id {
        id.to_owned()
    } else {
        return Err(IngestError::malformed(
            "id",
            "is required when resources is empty (it is the event's dedupe identity)",
        ));
    };
    let mut labels = BTreeMap::new();
    labels.insert("source".to_owned(), source.to_owned());
    labels.insert("detail-type".to_owned(), detail_type.to_owned());
    for key in ["account", "region"] {
        if let Some(v) = o.opt_text(key)? {
            labels.insert(key.to_owned(), v.to_owned());
        }
    }
    Ok(Trigger {
        source: source.to_owned(),
        identity,
        status: TriggerStatus::Firing,
        title: detail_type.to_owned(),
        summary: None,
        impact: None,
        resources,
        resource_arn: None,
        timestamp: o.opt_timestamp("time")?,
        labels,
        alerts: Vec::new(),
        raw: event.clone(),
    })
}

/// Whether `event` is an aws.cloudwatch "CloudWatch Alarm State Change".
pub fn is_alarm_state_change(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some(cloudwatch::SOURCE)
        && event.get("detail-type").and_then(Value::as_str) == Some("CloudWatch Alarm State Change")
}

/// The trigger of any event: CloudWatch alarm state changes through
/// [`cloudwatch::from_eventbridge`] (alarm ARN identity, OK resolves, `Ok(None)` for
/// INSUFFICIENT_DATA), everything else through [`event_trigger`].
pub fn trigger(event: &Value) -> Result<Option<Trigger>> {
    if is_alarm_state_change(event) {
        cloudwatch::from_eventbridge(event)
    } else {
        event_trigger(event).map(Some)
    }
}
