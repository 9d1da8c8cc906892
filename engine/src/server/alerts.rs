//! Alert ingestion: Alertmanager webhooks (v4), CloudWatch alarms through an SNS HTTP(S)
//! subscription (confirmation, signature verification, replay protection), EventBridge-style
//! events matched by event rules, and generic JSON webhooks with a mapping. Each accepted alert
//! is committed (incident, dedupe, timeline) before the 2xx.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::AppState;
use crate::incident::{ItemIdentifier, ItemType, ItemValue, RelatedItem, TriggerInfo};
use crate::ingest::{self, IngestError, Trigger, TriggerStatus, sns};
use crate::plugin::CallContext;
use crate::respond::{RespondError, StartIncident};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/alerts/alertmanager/{plan}", post(alertmanager))
        .route("/v1/alerts/sns/{plan}", post(sns_endpoint))
        .route("/v1/alerts/events", post(events))
        .route("/v1/alerts/webhook/{name}", post(webhook))
}

fn reply(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

fn refuse(e: IngestError) -> Response {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    reply(
        status,
        json!({"error": "invalid-alert", "kind": e.kind, "message": e.to_string(), "errors": e.errors}),
    )
}

fn respond_error(e: RespondError) -> Response {
    super::oncall::OncallApiError::from(e).into_response()
}

/// JSON bodies only (SNS sends text/plain, which its endpoint accepts): the refusal, if any.
fn require_json(headers: &HeaderMap) -> Result<(), Box<Response>> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") || ct.is_empty() {
        return Ok(());
    }
    Err(Box::new(reply(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        json!({"error": "unsupported-media-type", "message": format!("content-type {ct:?}: send application/json")}),
    )))
}

fn related(resources: &[String]) -> Vec<RelatedItem> {
    resources
        .iter()
        .filter(|r| r.starts_with("arn:"))
        .map(|arn| RelatedItem {
            identifier: ItemIdentifier {
                item_type: ItemType::InvolvedResource,
                value: ItemValue {
                    arn: Some(arn.clone()),
                    url: None,
                    metric_definition: None,
                    pager_duty_incident_detail: None,
                },
            },
            title: None,
            generated_id: None,
        })
        .collect()
}

fn trigger_info(t: &Trigger) -> TriggerInfo {
    TriggerInfo {
        source: t.source.clone(),
        timestamp: t.timestamp.unwrap_or_else(Timestamp::now),
        trigger_arn: t.resource_arn.clone(),
        raw_data: t.raw.clone(),
        identity: Some(t.identity.clone()),
    }
}

/// Open / deduplicate (firing) or note / auto-resolve (resolved).
async fn deliver(
    state: &AppState,
    plan: &str,
    t: Trigger,
    replay_key: Option<String>,
) -> Result<Value, RespondError> {
    match t.status {
        TriggerStatus::Firing => {
            let (outcome, rec) = state
                .responder
                .start_incident(StartIncident {
                    response_plan: plan.to_owned(),
                    title: None,
                    impact: t.impact,
                    related_items: related(&t.resources),
                    trigger: trigger_info(&t),
                    client_token: None,
                    created_by: t.source.clone(),
                    replay_key,
                })
                .await?;
            Ok(json!({"outcome": outcome, "incidentRecordArn": rec.arn}))
        }
        TriggerStatus::Resolved => {
            let rec = state
                .responder
                .trigger_resolved(plan, trigger_info(&t), replay_key)
                .await?;
            Ok(
                json!({"outcome": "RESOLVED_TRIGGER", "incidentRecordArn": rec.map(|r| r.arn), "incidentStatus": Value::Null}),
            )
        }
    }
}

async fn alertmanager(
    State(state): State<Arc<AppState>>,
    Path(plan): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = require_json(&headers) {
        return *r;
    }
    let t = match ingest::alertmanager::parse(&body) {
        Ok(t) => t,
        Err(e) => return refuse(e),
    };
    match deliver(&state, &plan, t, None).await {
        Ok(v) => reply(StatusCode::ACCEPTED, v),
        Err(e) => respond_error(e),
    }
}

async fn events(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = require_json(&headers) {
        return *r;
    }
    let event = match ingest::parse_json(&body) {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let matched: Vec<_> = state
        .intake
        .rules
        .iter()
        .filter(|r| r.pattern.matches(&event))
        .cloned()
        .collect();
    if matched.is_empty() {
        return reply(
            StatusCode::ACCEPTED,
            json!({"matchedRules": [], "results": [], "message": "no event rule matched; nothing was done"}),
        );
    }
    let t = match ingest::eventbridge::trigger(&event) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return reply(
                StatusCode::ACCEPTED,
                json!({"matchedRules": matched.iter().map(|r| &r.name).collect::<Vec<_>>(), "results": [], "message": "the event carries no actionable state (e.g. INSUFFICIENT_DATA)"}),
            );
        }
        Err(e) => return refuse(e),
    };
    let mut results = Vec::new();
    for rule in &matched {
        match deliver(&state, &rule.response_plan, t.clone(), None).await {
            Ok(v) => results.push(json!({"rule": rule.name, "result": v})),
            Err(e) => return respond_error(e),
        }
    }
    reply(
        StatusCode::ACCEPTED,
        json!({"matchedRules": matched.iter().map(|r| &r.name).collect::<Vec<_>>(), "results": results}),
    )
}

async fn webhook(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = require_json(&headers) {
        return *r;
    }
    let Some(m) = state.intake.mappings.get(&name).cloned() else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"error": "not-found", "message": format!("no alert mapping {name:?}; define it with a kind: AlertMapping document")}),
        );
    };
    let payload = match ingest::parse_json(&body) {
        Ok(v) => v,
        Err(e) => return refuse(e),
    };
    let t = match m.mapping.apply(&payload) {
        Ok(t) => t,
        Err(e) => return refuse(e),
    };
    match deliver(&state, &m.response_plan, t, None).await {
        Ok(v) => reply(StatusCode::ACCEPTED, v),
        Err(e) => respond_error(e),
    }
}

/// The certificate that signed an SNS message: pinned, or fetched through the confirm plugin.
async fn certificate(state: &AppState, url: &str) -> Result<Vec<u8>, IngestError> {
    if let Some(pem) = state.intake.pinned.get(url) {
        return Ok(pem.clone());
    }
    sns::cert_url_allowed(url, &state.intake.sns.certificate_hosts)?;
    let Some(instance) = &state.intake.sns.confirm_with else {
        return Err(IngestError::new(
            crate::ingest::IngestErrorKind::Untrusted,
            "SigningCertURL",
            "no certificate is pinned for it and no `sns.confirmWith` plugin instance may fetch it",
        ));
    };
    let out = state
        .plugins
        .invoke(
            instance,
            "call",
            &json!({"method": "GET", "url": url, "fail_on_status": true}),
            CallContext::default(),
        )
        .await
        .map_err(|e| {
            IngestError::new(
                crate::ingest::IngestErrorKind::Untrusted,
                "SigningCertURL",
                format!("fetching it failed: {e}"),
            )
        })?;
    Ok(out["body"].as_str().unwrap_or_default().as_bytes().to_vec())
}

async fn sns_endpoint(
    State(state): State<Arc<AppState>>,
    Path(plan): Path<String>,
    body: Bytes,
) -> Response {
    let msg = match sns::parse(&body) {
        Ok(m) => m,
        Err(e) => return refuse(e),
    };
    let max_age = SignedDuration::from_mins(i64::from(state.intake.sns.max_age_minutes));
    if let Err(e) = sns::check_age(&msg, Timestamp::now(), max_age) {
        return refuse(e);
    }
    if state.intake.verify_sns(state.dev) {
        let Some(sig) = msg.signature() else {
            return refuse(IngestError::new(
                crate::ingest::IngestErrorKind::Untrusted,
                "Signature",
                "is missing; signatures are verified (set sns.verifySignatures: false only in development)",
            ));
        };
        let pem = match certificate(&state, &sig.signing_cert_url).await {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        if let Err(e) = sns::verify_message(&msg, &pem) {
            return refuse(e);
        }
    }
    match &msg {
        sns::SnsMessage::SubscriptionConfirmation {
            subscribe_url,
            topic_arn,
            ..
        } => confirm(&state, subscribe_url, topic_arn).await,
        sns::SnsMessage::UnsubscribeConfirmation { topic_arn, .. } => {
            tracing::warn!(%topic_arn, "SNS says the subscription was removed");
            reply(
                StatusCode::OK,
                json!({"outcome": "UNSUBSCRIBED", "topicArn": topic_arn}),
            )
        }
        sns::SnsMessage::Notification { .. } => {
            let t = match ingest::cloudwatch::from_sns(&msg) {
                Ok(Some(t)) => t,
                Ok(None) => {
                    return reply(
                        StatusCode::ACCEPTED,
                        json!({"outcome": "IGNORED", "message": "the alarm state carries no action (INSUFFICIENT_DATA)"}),
                    );
                }
                Err(e) => return refuse(e),
            };
            let key = format!("sns/{}", msg.message_id());
            match deliver(&state, &plan, t, Some(key)).await {
                Ok(v) => reply(StatusCode::ACCEPTED, v),
                Err(e) => respond_error(e),
            }
        }
    }
}

/// Confirms a subscription by calling its SubscribeURL through the configured plugin instance
/// (whose grant is the allow-list of hosts it may call).
async fn confirm(state: &AppState, subscribe_url: &str, topic_arn: &str) -> Response {
    let Some(instance) = &state.intake.sns.confirm_with else {
        return reply(
            StatusCode::FORBIDDEN,
            json!({"error": "confirmation-disabled", "message": format!("subscription to {topic_arn} not confirmed: set sns.confirmWith in kind: AlertIntake to a webhook instance allowed to reach the SubscribeURL host")}),
        );
    };
    let is_confirm = url::Url::parse(subscribe_url).is_ok_and(|u| {
        u.query_pairs()
            .any(|(k, v)| k == "Action" && v == "ConfirmSubscription")
    });
    if !is_confirm {
        return refuse(IngestError::new(
            crate::ingest::IngestErrorKind::Untrusted,
            "SubscribeURL",
            "must be a ConfirmSubscription call (Action=ConfirmSubscription)",
        ));
    }
    match state
        .plugins
        .invoke(
            instance,
            "call",
            &json!({"method": "GET", "url": subscribe_url, "fail_on_status": true}),
            CallContext::default(),
        )
        .await
    {
        Ok(out)
            if out["status"]
                .as_u64()
                .is_some_and(|s| (200..300).contains(&s)) =>
        {
            tracing::info!(%topic_arn, "SNS subscription confirmed");
            reply(
                StatusCode::OK,
                json!({"outcome": "CONFIRMED", "topicArn": topic_arn}),
            )
        }
        Ok(out) => reply(
            StatusCode::BAD_GATEWAY,
            json!({"error": "confirmation-failed", "message": format!("SubscribeURL answered {}", out["status"])}),
        ),
        Err(e) => reply(
            StatusCode::FORBIDDEN,
            json!({"error": "confirmation-denied", "message": e.to_string()}),
        ),
    }
}
