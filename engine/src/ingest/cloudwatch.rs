//! CloudWatch alarms, from an SNS notification's Message or an EventBridge "CloudWatch Alarm State
//! Change" event: identity = the alarm ARN; ALARM fires, OK resolves, INSUFFICIENT_DATA is ignored.
//! Involved resources come from the metrics' dimensions, as ARNs of the resource types Incident
//! Manager extracts (DynamoDB tables, indexes, streams; EC2 instances, images; Lambda functions,
//! versions, aliases; RDS instances, clusters; S3 buckets).

use std::collections::BTreeMap;

use serde_json::Value;

use super::json::{Obj, object, wrong_type};
use super::sns::SnsMessage;
use super::{IngestError, Result, Trigger, TriggerStatus};

/// The trigger source of every CloudWatch alarm trigger.
pub const SOURCE: &str = "aws.cloudwatch";

/// The parts of an ARN `arn:partition:service:region:account:resource`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

/// Splits an ARN; `None` unless it has the six colon-separated parts with a non-empty partition,
/// service and resource.
pub fn parse_arn(s: &str) -> Option<Arn<'_>> {
    let mut it = s.splitn(6, ':');
    let (arn, partition, service, region, account, resource) = (
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    );
    (arn == "arn" && !partition.is_empty() && !service.is_empty() && !resource.is_empty())
        .then_some(Arn {
            partition,
            service,
            region,
            account,
            resource,
        })
}

/// Where an alarm lives, for building resource ARNs.
struct Place<'a> {
    partition: &'a str,
    region: &'a str,
    account: &'a str,
}

/// The trigger of a CloudWatch alarm notification: `message` is the SNS Notification's Message
/// parsed as JSON. `Ok(None)` for INSUFFICIENT_DATA (not an incident: ignore it). Title =
/// AlarmName; summary = AlarmDescription, else NewStateReason; resources from
/// `Trigger.Dimensions` (single metric) and `Trigger.Metrics[].MetricStat.Metric` (several).
pub fn alarm_trigger(message: &Value) -> Result<Option<Trigger>> {
    let o = object(message, "")?;
    let name = o.req_text("AlarmName")?;
    let (alarm_arn, arn) = alarm_arn(&o, "AlarmArn")?;
    let state = o.req_text("NewStateValue")?;
    let Some(status) = state_status(state, "NewStateValue")? else {
        return Ok(None);
    };
    let description = o.opt_text("AlarmDescription")?;
    let reason = o.opt_text("NewStateReason")?;
    let account = if arn.account.is_empty() {
        o.opt_text("AWSAccountId")?.unwrap_or_default()
    } else {
        arn.account
    };
    let place = Place {
        partition: arn.partition,
        region: arn.region,
        account,
    };

    let mut resources = Vec::new();
    if let Some(t) = o.opt_obj("Trigger")? {
        if let Some(dims) = t.opt_array("Dimensions")? {
            let ns = t.opt_str("Namespace")?.unwrap_or_default();
            let dims = dimension_list(dims, &t.field("Dimensions"))?;
            add_resources(&mut resources, &place, ns, &dims);
        }
        if let Some(metrics) = t.opt_array("Metrics")? {
            for (i, m) in metrics.iter().enumerate() {
                let mpath = format!("{}[{i}]", t.field("Metrics"));
                let m = object(m, mpath)?;
                let Some(stat) = m.opt_obj("MetricStat")? else {
                    continue; // a math expression: no dimensions of its own
                };
                let Some(metric) = stat.opt_obj("Metric")? else {
                    continue;
                };
                let ns = metric.opt_str("Namespace")?.unwrap_or_default();
                if let Some(dims) = metric.opt_array("Dimensions")? {
                    let dims = dimension_list(dims, &metric.field("Dimensions"))?;
                    add_resources(&mut resources, &place, ns, &dims);
                }
            }
        }
    }

    let mut labels = BTreeMap::new();
    labels.insert("alarmName".to_owned(), name.to_owned());
    labels.insert("state".to_owned(), state.to_owned());
    if let Some(old) = o.opt_text("OldStateValue")? {
        labels.insert("previousState".to_owned(), old.to_owned());
    }
    if !place.region.is_empty() {
        labels.insert("region".to_owned(), place.region.to_owned());
    }
    if !place.account.is_empty() {
        labels.insert("account".to_owned(), place.account.to_owned());
    }

    Ok(Some(Trigger {
        source: SOURCE.to_owned(),
        identity: alarm_arn.to_owned(),
        status,
        title: name.to_owned(),
        summary: description.or(reason).map(str::to_owned),
        impact: None,
        resources,
        resource_arn: Some(alarm_arn.to_owned()),
        timestamp: o.opt_timestamp("StateChangeTime")?,
        labels,
        alerts: Vec::new(),
        raw: message.clone(),
    }))
}

/// [`alarm_trigger`] for an SNS Notification whose Message is a CloudWatch alarm (a JSON string);
/// field paths in errors start with `Message`.
pub fn from_sns(msg: &SnsMessage) -> Result<Option<Trigger>> {
    let SnsMessage::Notification { message, .. } = msg else {
        return Err(IngestError::unsupported(
            "Type",
            format!(
                "must be Notification to carry an alarm (found {})",
                msg.kind()
            ),
        ));
    };
    let parsed: Value = serde_json::from_str(message).map_err(|e| {
        IngestError::malformed(
            "Message",
            format!("must be a CloudWatch alarm as JSON ({e})"),
        )
    })?;
    alarm_trigger(&parsed).map_err(|e| e.under("Message"))
}

/// The trigger of an EventBridge "CloudWatch Alarm State Change" event: identity = the alarm ARN
/// (from `resources`); `detail.state.value` ALARM fires, OK resolves, INSUFFICIENT_DATA is
/// `Ok(None)`; resources from `detail.configuration.metrics[].metricStat.metric.dimensions`.
pub fn from_eventbridge(event: &Value) -> Result<Option<Trigger>> {
    let o = object(event, "")?;
    let source = o.req_text("source")?;
    let detail_type = o.req_text("detail-type")?;
    if source != SOURCE || detail_type != "CloudWatch Alarm State Change" {
        return Err(IngestError::unsupported(
            "detail-type",
            format!(
                "must be an aws.cloudwatch \"CloudWatch Alarm State Change\" event (found \
                 {source:?} / {detail_type:?})"
            ),
        ));
    }
    let resources_json = o.string_list("resources")?;
    let (alarm_arn, arn) = resources_json
        .iter()
        .find_map(|r| {
            parse_arn(r)
                .filter(|a| a.service == "cloudwatch")
                .map(|a| (r, a))
        })
        .ok_or_else(|| {
            IngestError::malformed(
                "resources",
                "must contain the alarm's ARN (arn:…:cloudwatch:…)",
            )
        })?;
    let d = o.req_obj("detail")?;
    let name = d.req_text("alarmName")?;
    let state = d.req_obj("state")?;
    let value = state.req_text("value")?;
    let Some(status) = state_status(value, &state.field("value"))? else {
        return Ok(None);
    };
    let region = o.opt_text("region")?.unwrap_or(arn.region);
    let account = o.opt_text("account")?.unwrap_or(arn.account);
    let place = Place {
        partition: arn.partition,
        region,
        account,
    };

    let mut description = None;
    let mut resources = Vec::new();
    if let Some(c) = d.opt_obj("configuration")? {
        description = c.opt_text("description")?;
        for (i, m) in c
            .opt_array("metrics")?
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let m = object(m, format!("{}[{i}]", c.field("metrics")))?;
            let Some(stat) = m.opt_obj("metricStat")? else {
                continue;
            };
            let Some(metric) = stat.opt_obj("metric")? else {
                continue;
            };
            let ns = metric.opt_str("namespace")?.unwrap_or_default();
            let dims: Vec<(String, String)> =
                metric.string_map("dimensions")?.into_iter().collect();
            add_resources(&mut resources, &place, ns, &dims);
        }
    }

    let mut labels = BTreeMap::new();
    labels.insert("alarmName".to_owned(), name.to_owned());
    labels.insert("state".to_owned(), value.to_owned());
    if let Some(prev) = d.opt_obj("previousState")?
        && let Some(v) = prev.opt_text("value")?
    {
        labels.insert("previousState".to_owned(), v.to_owned());
    }
    if !region.is_empty() {
        labels.insert("region".to_owned(), region.to_owned());
    }
    if !account.is_empty() {
        labels.insert("account".to_owned(), account.to_owned());
    }
    let timestamp = match state.opt_timestamp("timestamp")? {
        Some(t) => Some(t),
        None => o.opt_timestamp("time")?,
    };

    Ok(Some(Trigger {
        source: SOURCE.to_owned(),
        identity: alarm_arn.clone(),
        status,
        title: name.to_owned(),
        summary: description.or(state.opt_text("reason")?).map(str::to_owned),
        impact: None,
        resources,
        resource_arn: Some(alarm_arn.clone()),
        timestamp,
        labels,
        alerts: Vec::new(),
        raw: event.clone(),
    }))
}

fn alarm_arn<'a>(o: &Obj<'a>, key: &str) -> Result<(&'a str, Arn<'a>)> {
    let s = o.req_text(key)?;
    match parse_arn(s) {
        Some(arn) => Ok((s, arn)),
        None => Err(IngestError::malformed(
            o.field(key),
            format!(
                "must be an alarm ARN arn:partition:cloudwatch:region:account:alarm:name (found {s:?})"
            ),
        )),
    }
}

/// ALARM → Firing, OK → Resolved, INSUFFICIENT_DATA → None.
fn state_status(state: &str, field: &str) -> Result<Option<TriggerStatus>> {
    match state {
        "ALARM" => Ok(Some(TriggerStatus::Firing)),
        "OK" => Ok(Some(TriggerStatus::Resolved)),
        "INSUFFICIENT_DATA" => Ok(None),
        other => Err(IngestError::malformed(
            field,
            format!("must be ALARM, OK or INSUFFICIENT_DATA (found {other:?})"),
        )),
    }
}

/// SNS-style dimensions `[{"name": …, "value": …}]` as (name, value) pairs.
fn dimension_list(dims: &[Value], path: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(dims.len());
    for (i, d) in dims.iter().enumerate() {
        let dpath = format!("{path}[{i}]");
        let d = object(d, dpath)?;
        let name = d.req_str("name")?;
        let value = match d.get("value") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => return Err(wrong_type(&d.field("value"), "a string", other)),
            None => return Err(IngestError::malformed(d.field("value"), "is required")),
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// Appends the ARNs derivable from one metric's namespace and dimensions (no duplicates).
fn add_resources(
    out: &mut Vec<String>,
    at: &Place<'_>,
    namespace: &str,
    dims: &[(String, String)],
) {
    for arn in dimension_arns(at.partition, at.region, at.account, namespace, dims) {
        if !out.contains(&arn) {
            out.push(arn);
        }
    }
}

/// The ARNs of the resources a metric's dimensions name, for the resource types Incident Manager
/// extracts from alarms. Dimensions of other namespaces or types yield nothing.
pub fn dimension_arns(
    partition: &str,
    region: &str,
    account: &str,
    namespace: &str,
    dims: &[(String, String)],
) -> Vec<String> {
    let get = |k: &str| {
        dims.iter()
            .find(|(n, v)| n == k && !v.trim().is_empty())
            .map(|(_, v)| v.as_str())
    };
    let p = partition;
    let mut out = Vec::new();
    match namespace {
        // CWAgent publishes host metrics with the EC2 InstanceId / ImageId dimensions.
        "AWS/EC2" | "CWAgent" => {
            if let Some(id) = get("InstanceId") {
                out.push(format!("arn:{p}:ec2:{region}:{account}:instance/{id}"));
            }
            if let Some(id) = get("ImageId") {
                out.push(format!("arn:{p}:ec2:{region}::image/{id}"));
            }
        }
        "AWS/DynamoDB" => {
            if let Some(table) = get("TableName") {
                let t = format!("arn:{p}:dynamodb:{region}:{account}:table/{table}");
                if let Some(index) = get("GlobalSecondaryIndexName") {
                    out.push(format!("{t}/index/{index}"));
                }
                if let Some(label) = get("StreamLabel") {
                    out.push(format!("{t}/stream/{label}"));
                }
                out.push(t);
            }
        }
        "AWS/Lambda" => {
            if let Some(f) = get("FunctionName") {
                let base = format!("arn:{p}:lambda:{region}:{account}:function:{f}");
                // `Resource` is "name:alias" or "name:version"; `ExecutedVersion` a version.
                if let Some(q) = get("Resource").and_then(|r| r.strip_prefix(f)?.strip_prefix(':'))
                {
                    out.push(format!("{base}:{q}"));
                } else if let Some(v) = get("ExecutedVersion") {
                    out.push(format!("{base}:{v}"));
                }
                out.push(base);
            }
        }
        "AWS/RDS" => {
            if let Some(id) = get("DBInstanceIdentifier") {
                out.push(format!("arn:{p}:rds:{region}:{account}:db:{id}"));
            }
            if let Some(id) = get("DBClusterIdentifier") {
                out.push(format!("arn:{p}:rds:{region}:{account}:cluster:{id}"));
            }
        }
        "AWS/S3" => {
            if let Some(bucket) = get("BucketName") {
                out.push(format!("arn:{p}:s3:::{bucket}"));
            }
        }
        _ => {}
    }
    out
}
