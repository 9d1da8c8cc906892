//! Events API v2: `POST {events_base}/v2/enqueue` with a trigger, acknowledge or resolve event
//! (https://developer.pagerduty.com/docs/events-api-v2/overview/).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tocsin_plugin_sdk::http::{Request, send};
use tocsin_plugin_sdk::{ActionError, Context, JsonSchema, now_unix_ms, secret};

use crate::config::Config;

/// Secret holding the integration's routing key (a service's Events API v2 integration key).
pub const ROUTING_KEY_SECRET: &str = "PAGERDUTY_ROUTING_KEY";

/// PagerDuty's limits on an event.
const MAX_SUMMARY_CHARS: usize = 1024;
const MAX_DEDUP_KEY_CHARS: usize = 255;

#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum EventAction {
    /// Open an alert (or add to the open one with the same dedup key).
    Trigger,
    /// Stop escalating the alert with this dedup key.
    Acknowledge,
    /// Close the alert with this dedup key.
    Resolve,
}

#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    /// Incident Manager's impact (1 = critical … 5 = no impact) as a PagerDuty severity.
    pub fn from_impact(impact: u8) -> Severity {
        match impact {
            0 | 1 => Severity::Critical,
            2 => Severity::Error,
            3 => Severity::Warning,
            _ => Severity::Info,
        }
    }
}

/// A link shown on the PagerDuty alert.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// The URL.
    pub href: String,
    /// The link's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// An image shown on the PagerDuty alert (e.g. a graph).
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// The image's URL (HTTPS).
    pub src: String,
    /// Where clicking the image leads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    /// Alternative text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// One Events API v2 event.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// `trigger`, `acknowledge` or `resolve`.
    pub event_action: EventAction,
    /// Identifies the alert across trigger / acknowledge / resolve. Default: the incident ARN
    /// (`incident_arn`, else the calling incident's), so one Tocsin incident is one PagerDuty
    /// alert; for a trigger outside an incident, the invocation id. At most 255 characters.
    #[serde(default)]
    pub dedup_key: Option<String>,
    /// The Tocsin incident this event is about; the default dedup key, and added to
    /// `custom_details.incident_arn`.
    #[serde(default)]
    pub incident_arn: Option<String>,
    /// Trigger: the alert's title (required; cut to PagerDuty's 1024 characters).
    #[serde(default)]
    pub summary: Option<String>,
    /// Trigger: the affected system (host name, service); default the instance's `config.source`
    /// or `tocsin`.
    #[serde(default)]
    pub source: Option<String>,
    /// Trigger: `critical`, `error`, `warning` or `info`. Overrides `impact`.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Trigger: the incident's impact, 1 (critical) to 5 (no impact), mapped to a severity:
    /// 1 critical, 2 error, 3 warning, 4 and 5 info. A trigger needs `severity` or `impact`.
    #[serde(default)]
    #[schemars(range(min = 1, max = 5))]
    pub impact: Option<u8>,
    /// Trigger: when the problem was detected (ISO 8601); PagerDuty's receive time when absent.
    #[serde(default)]
    pub timestamp: Option<String>,
    /// Trigger: the part of the source that is broken (e.g. `mysql`).
    #[serde(default)]
    pub component: Option<String>,
    /// Trigger: a logical grouping of components (e.g. `prod-datapipe`).
    #[serde(default)]
    pub group: Option<String>,
    /// Trigger: the class or type of the event (e.g. `ping failure`).
    #[serde(default)]
    pub class: Option<String>,
    /// Trigger: free-form details shown on the alert (an object, or any JSON value).
    #[serde(default)]
    pub custom_details: Option<Value>,
    /// Trigger: links shown on the alert.
    #[serde(default)]
    pub links: Vec<Link>,
    /// Trigger: images shown on the alert.
    #[serde(default)]
    pub images: Vec<Image>,
    /// A URL back to the incident in Tocsin, shown as the alert's client link.
    #[serde(default)]
    pub client_url: Option<String>,
}

/// PagerDuty's answer to an accepted event (HTTP 202).
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct EventAccepted {
    /// `success`.
    pub status: String,
    /// PagerDuty's message, e.g. `Event processed`.
    pub message: String,
    /// The alert's dedup key: keep it to acknowledge or resolve the alert later.
    pub dedup_key: String,
}

/// Send the event; PagerDuty processes it asynchronously after the 202.
pub fn send_event(
    ctx: &Context,
    config: &Config,
    input: EventInput,
) -> Result<EventAccepted, ActionError> {
    let dedup_key = dedup_key(ctx, &input)?;
    let routing_key = secret(ROUTING_KEY_SECRET)?;
    let body = event_body(ctx, config, input, &routing_key, &dedup_key)?;
    let mut req = Request::new("POST", &format!("{}/v2/enqueue", config.events_base()));
    req.headers
        .push(("content-type".into(), "application/json".into()));
    req.body = body.to_string().into_bytes();
    let resp = send(&req)?.check("PagerDuty Events API", now_unix_ms())?;
    // A 2xx whose body is not the documented one still means "accepted".
    Ok(
        serde_json::from_slice(&resp.body).unwrap_or_else(|_| EventAccepted {
            status: "success".into(),
            message: resp.text(),
            dedup_key,
        }),
    )
}

fn dedup_key(ctx: &Context, input: &EventInput) -> Result<String, ActionError> {
    let key = input
        .dedup_key
        .clone()
        .or_else(|| input.incident_arn.clone())
        .or_else(|| ctx.incident_arn.clone())
        .filter(|k| !k.is_empty());
    let key = match (key, input.event_action) {
        (Some(key), _) => key,
        // A stand-alone trigger: retries of this call dedupe into one alert.
        (None, EventAction::Trigger) => ctx.invocation_id.clone(),
        (None, _) => {
            return Err(ActionError::InvalidInput(
                "acknowledge and resolve need the alert's `dedup_key` (or an `incident_arn`)"
                    .into(),
            ));
        }
    };
    if key.chars().count() > MAX_DEDUP_KEY_CHARS {
        return Err(ActionError::InvalidInput(format!(
            "dedup_key is {} characters; PagerDuty allows at most {MAX_DEDUP_KEY_CHARS}: pass a shorter `dedup_key`",
            key.chars().count()
        )));
    }
    Ok(key)
}

/// The documented event object.
fn event_body(
    ctx: &Context,
    config: &Config,
    input: EventInput,
    routing_key: &str,
    dedup_key: &str,
) -> Result<Value, ActionError> {
    let mut body = json!({
        "routing_key": routing_key,
        "event_action": input.event_action,
        "dedup_key": dedup_key,
    });
    if input.event_action != EventAction::Trigger {
        return Ok(body);
    }
    let summary = input
        .summary
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ActionError::InvalidInput("a trigger needs a `summary`".into()))?;
    let severity = input
        .severity
        .or(input.impact.map(Severity::from_impact))
        .ok_or_else(|| {
            ActionError::InvalidInput("a trigger needs a `severity` or an `impact` (1-5)".into())
        })?;
    let mut payload = json!({
        "summary": truncate(&summary, MAX_SUMMARY_CHARS),
        "source": input.source.or_else(|| config.source.clone()).unwrap_or_else(|| "tocsin".into()),
        "severity": severity,
    });
    for (name, value) in [
        ("timestamp", input.timestamp),
        ("component", input.component),
        ("group", input.group),
        ("class", input.class),
    ] {
        if let Some(v) = value {
            payload[name] = Value::String(v);
        }
    }
    let arn = input.incident_arn.or_else(|| ctx.incident_arn.clone());
    let details = match (input.custom_details, arn) {
        (Some(Value::Object(mut map)), Some(arn)) => {
            map.entry("incident_arn").or_insert(Value::String(arn));
            Some(Value::Object(map))
        }
        (None, Some(arn)) => Some(Value::Object(Map::from_iter([(
            "incident_arn".to_owned(),
            Value::String(arn),
        )]))),
        (details, _) => details,
    };
    if let Some(details) = details {
        payload["custom_details"] = details;
    }
    body["payload"] = payload;
    body["client"] = json!("Tocsin");
    if let Some(url) = input.client_url {
        body["client_url"] = Value::String(url);
    }
    if !input.links.is_empty() {
        body["links"] = json!(input.links);
    }
    if !input.images.is_empty() {
        body["images"] = json!(input.images);
    }
    Ok(body)
}

/// At most `max` characters, ending with `…` when cut: a page goes out even when its title is long.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impact_maps_to_severity() {
        let got: Vec<Severity> = (1..=5).map(Severity::from_impact).collect();
        assert_eq!(
            got,
            [
                Severity::Critical,
                Severity::Error,
                Severity::Warning,
                Severity::Info,
                Severity::Info
            ]
        );
    }

    #[test]
    fn long_summaries_are_cut_to_the_limit() {
        let long = "é".repeat(2000);
        let cut = truncate(&long, MAX_SUMMARY_CHARS);
        assert_eq!(cut.chars().count(), MAX_SUMMARY_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("short", 10), "short");
    }
}
