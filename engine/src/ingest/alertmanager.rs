//! Alertmanager webhook payloads (version "4"): one notification = one alert group = one trigger,
//! deduplicated by `groupKey`; the per-alert state rides along in [`Trigger::alerts`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{Obj, object, wrong_type};
use super::{AlertState, IngestError, Result, Trigger, TriggerStatus, parse_json};

/// The trigger source of every Alertmanager trigger.
pub const SOURCE: &str = "alertmanager";

/// Labels whose values name an involved resource, in the order they are collected. Values are kept
/// as sent (`checkout-2b1c:8080`); any other label whose value is an ARN is a resource too.
pub const RESOURCE_LABELS: &[&str] = &[
    "resource_arn",
    "arn",
    "resource",
    "instance",
    "pod",
    "node",
    "host",
    "hostname",
    "container",
];

/// Alertmanager's "no end time" (Go's zero `time.Time`): the alert still fires.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Parses an Alertmanager webhook body (payload version "4") into a trigger: identity = groupKey;
/// status from the group's `status`; title = commonAnnotations.summary, else the alertname;
/// summary = commonAnnotations.description; labels = commonLabels; impact from an `impact` label
/// of 1..5 (ignored otherwise); resources from [`RESOURCE_LABELS`] of every alert.
pub fn parse(body: &[u8]) -> Result<Trigger> {
    let raw = parse_json(body)?;
    from_value(raw)
}

/// [`parse`] for a body already parsed as JSON.
pub fn from_value(raw: Value) -> Result<Trigger> {
    let root = object(&raw, "")?;
    match root.get("version") {
        None => {
            return Err(IngestError::malformed(
                "version",
                "is required (Alertmanager webhook payloads carry version \"4\")",
            ));
        }
        Some(Value::String(v)) if v == "4" => {}
        Some(Value::String(v)) => {
            return Err(IngestError::unsupported(
                "version",
                format!("webhook payload version {v:?} is not supported; only \"4\" is"),
            ));
        }
        Some(other) => return Err(wrong_type("version", "the string \"4\"", other)),
    }
    let group_key = root.req_text("groupKey")?;
    let status = status(root.req_str("status")?, "status")?;
    let alerts_json = root.req_array("alerts")?;
    if alerts_json.is_empty() {
        return Err(IngestError::malformed(
            "alerts",
            "must list at least one alert",
        ));
    }
    let mut alerts = Vec::with_capacity(alerts_json.len());
    for (i, a) in alerts_json.iter().enumerate() {
        let path = format!("alerts[{i}]");
        alerts.push(alert(&object(a, path)?)?);
    }
    let common_labels = root.string_map("commonLabels")?;
    let common_annotations = root.string_map("commonAnnotations")?;
    let group_labels = root.string_map("groupLabels")?;
    root.opt_str("receiver")?;
    root.opt_str("externalURL")?;

    let title = nonempty(common_annotations.get("summary"))
        .or_else(|| nonempty(common_labels.get("alertname")))
        .or_else(|| nonempty(group_labels.get("alertname")))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("Alertmanager alert group {group_key}"));
    let summary = nonempty(common_annotations.get("description")).map(str::to_owned);
    let impact = common_labels
        .get("impact")
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|n| (1..=5).contains(n));

    let mut resources: Vec<String> = Vec::new();
    for a in &alerts {
        for r in &a.resources {
            if !resources.contains(r) {
                resources.push(r.clone());
            }
        }
    }
    let timestamp = match status {
        TriggerStatus::Firing => alerts
            .iter()
            .filter(|a| a.status == TriggerStatus::Firing)
            .filter_map(|a| a.starts_at)
            .min(),
        TriggerStatus::Resolved => alerts.iter().filter_map(|a| a.ends_at).max(),
    };

    Ok(Trigger {
        source: SOURCE.to_owned(),
        identity: group_key.to_owned(),
        status,
        title,
        summary,
        impact,
        resources,
        resource_arn: None,
        timestamp,
        labels: common_labels,
        alerts,
        raw,
    })
}

fn nonempty(s: Option<&String>) -> Option<&str> {
    s.map(String::as_str).filter(|s| !s.trim().is_empty())
}

fn status(s: &str, field: &str) -> Result<TriggerStatus> {
    match s {
        "firing" => Ok(TriggerStatus::Firing),
        "resolved" => Ok(TriggerStatus::Resolved),
        other => Err(IngestError::malformed(
            field,
            format!("must be \"firing\" or \"resolved\" (found {other:?})"),
        )),
    }
}

fn alert(a: &Obj<'_>) -> Result<AlertState> {
    let status = status(a.req_str("status")?, &a.field("status"))?;
    let labels = a.string_map("labels")?;
    let annotations = a.string_map("annotations")?;
    let starts_at = a.opt_timestamp("startsAt")?;
    let ends_at = match a.opt_text("endsAt")? {
        None | Some(ZERO_TIME) => None,
        Some(_) => a.opt_timestamp("endsAt")?,
    };
    let fingerprint = a.opt_text("fingerprint")?.map(str::to_owned);
    a.opt_str("generatorURL")?;
    Ok(AlertState {
        fingerprint,
        status,
        resources: resources(&labels),
        labels,
        annotations,
        starts_at,
        ends_at,
    })
}

/// The involved resources named by an alert's labels: [`RESOURCE_LABELS`] in order, then any
/// other label whose value is an ARN.
pub fn resources(labels: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &str| {
        let v = v.trim();
        if !v.is_empty() && !out.iter().any(|o| o == v) {
            out.push(v.to_owned());
        }
    };
    for key in RESOURCE_LABELS {
        if let Some(v) = labels.get(*key) {
            push(v);
        }
    }
    for (k, v) in labels {
        if !RESOURCE_LABELS.contains(&k.as_str()) && v.starts_with("arn:") {
            push(v);
        }
    }
    out
}
