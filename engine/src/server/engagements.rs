//! Engagement routes: StartEngagement / StopEngagement / DescribeEngagement / ListEngagements,
//! pages by engagement and by contact, receipts, AcceptPage, the signed acknowledge link, provider
//! callbacks (delivery status, voice keypress) and SMS replies (code, ack, escalate, resolve).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use super::oncall::{ApiResult, OncallApiError, body};
use crate::engage::link::Purpose;
use crate::engage::{Accept, AcceptType, EngageError, ReceiptType};
use crate::oncall::FieldError;
use crate::pager::{PagerError, StartEngagement, engagement_of_page};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/engagements", post(start).get(list))
        .route("/v1/engagements/{id}", get(describe))
        .route("/v1/engagements/{id}/stop", post(stop))
        .route("/v1/engagements/{id}/escalate", post(escalate))
        .route("/v1/engagements/{id}/pages", get(pages_of_engagement))
        .route("/v1/contacts/{alias}/pages", get(pages_of_contact))
        .route("/v1/pages/{id}", get(describe_page))
        .route("/v1/pages/{id}/receipts", get(receipts))
        .route("/v1/pages/{id}/accept", post(accept))
        .route("/v1/ack/{token}", get(ack_form).post(ack_link))
        .route("/v1/inbound/page/{token}", post(provider_callback))
        .route("/v1/timeline", get(timeline))
}

impl From<PagerError> for OncallApiError {
    fn from(e: PagerError) -> Self {
        match e {
            PagerError::Engage(EngageError::NotFound { what, id }) => OncallApiError::NotFound {
                what,
                name: id,
                list: match what {
                    "contact" => "/v1/contacts",
                    "page" => "/v1/contacts/{alias}/pages",
                    _ => "/v1/engagements",
                },
            },
            PagerError::Engage(EngageError::Invalid { field, message }) => {
                OncallApiError::invalid(field, message)
            }
            PagerError::Engage(EngageError::Conflict(m)) => OncallApiError::conflict("status", m),
            PagerError::Store(s) => OncallApiError::Store(s),
            PagerError::Link(l) => OncallApiError::invalid("token", l.to_string()),
        }
    }
}

/// AcceptPage from any channel, then the incident learns of its first acknowledgement.
async fn accept_page(state: &AppState, a: Accept) -> Result<crate::engage::Page, PagerError> {
    let page = state.pager.accept(a).await?;
    if let (Some(incident), Some(at)) = (&page.incident_id, page.read_time)
        && let Err(e) = state.responder.page_acknowledged(incident, at).await
    {
        tracing::warn!(error = %e, %incident, "recording the first acknowledgement failed");
    }
    Ok(page)
}

fn ok<T: serde::Serialize>(status: StatusCode, v: &T) -> Response {
    (status, Json(json!(v))).into_response()
}

/// A field over its AWS length bound.
fn check_len(field: &'static str, v: &str, min: usize, max: usize) -> Result<(), OncallApiError> {
    let n = v.chars().count();
    if n < min || n > max {
        return Err(OncallApiError::invalid(
            field,
            format!("must be {min}-{max} characters (got {n})"),
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartBody {
    contact_id: String,
    sender: String,
    subject: String,
    content: String,
    #[serde(default)]
    public_subject: Option<String>,
    #[serde(default)]
    public_content: Option<String>,
    #[serde(default)]
    incident_id: Option<String>,
    #[serde(default)]
    idempotency_token: Option<String>,
}

async fn start(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let b: StartBody = body(&bytes)?;
    check_len("contactId", &b.contact_id, 1, 2048)?;
    check_len("sender", &b.sender, 0, 255)?;
    check_len("subject", &b.subject, 1, 2048)?;
    check_len("content", &b.content, 1, 8192)?;
    if let Some(s) = &b.public_subject {
        check_len("publicSubject", s, 1, 2048)?;
    }
    if let Some(s) = &b.public_content {
        check_len("publicContent", s, 1, 8192)?;
    }
    if let Some(s) = &b.incident_id {
        check_len("incidentId", s, 0, 1024)?;
    }
    if let Some(t) = &b.idempotency_token {
        check_len("idempotencyToken", t, 1, 2048)?;
    }
    let eng = state
        .pager
        .start_engagement(StartEngagement {
            // Accept an ARN as AWS clients send one: the alias is its last segment.
            contact_id: b
                .contact_id
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
            sender: b.sender,
            subject: b.subject,
            content: b.content,
            public_subject: b.public_subject,
            public_content: b.public_content,
            incident_id: b.incident_id,
            idempotency_token: b.idempotency_token,
        })
        .await?;
    Ok(ok(StatusCode::CREATED, &eng))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    incident_id: Option<String>,
}

async fn list(State(state): State<Arc<AppState>>, Query(q): Query<ListQuery>) -> ApiResult {
    let all = state.pager.engagements(q.incident_id.as_deref())?;
    Ok(ok(StatusCode::OK, &json!({ "engagements": all })))
}

async fn describe(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    match state.pager.engagement(&id)? {
        Some(e) => Ok(ok(StatusCode::OK, &e)),
        None => Err(PagerError::from(EngageError::NotFound {
            what: "engagement",
            id,
        })
        .into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StopBody {
    #[serde(default)]
    reason: Option<String>,
}

async fn stop(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: StopBody = if bytes.is_empty() {
        StopBody::default()
    } else {
        body(&bytes)?
    };
    let e = state.pager.stop(&id, b.reason).await?;
    Ok(ok(StatusCode::OK, &e))
}

async fn escalate(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let e = state.pager.escalate(&id).await?;
    Ok(ok(StatusCode::OK, &e))
}

async fn pages_of_engagement(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> ApiResult {
    if state.pager.engagement(&id)?.is_none() {
        return Err(PagerError::from(EngageError::NotFound {
            what: "engagement",
            id,
        })
        .into());
    }
    Ok(ok(
        StatusCode::OK,
        &json!({ "pages": state.pager.pages_of_engagement(&id)? }),
    ))
}

async fn pages_of_contact(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
) -> ApiResult {
    Ok(ok(
        StatusCode::OK,
        &json!({ "pages": state.pager.pages_of_contact(&alias)? }),
    ))
}

async fn describe_page(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    match state.pager.page(&id)? {
        Some(p) => Ok(ok(StatusCode::OK, &p)),
        None => Err(PagerError::from(EngageError::NotFound { what: "page", id }).into()),
    }
}

async fn receipts(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    if state.pager.page(&id)?.is_none() {
        return Err(PagerError::from(EngageError::NotFound { what: "page", id }).into());
    }
    Ok(ok(
        StatusCode::OK,
        &json!({ "receipts": state.pager.receipts(&id)? }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AcceptBody {
    accept_code: String,
    accept_type: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    contact_channel_id: Option<String>,
    /// IGNORE or ENFORCE (default).
    #[serde(default)]
    accept_code_validation: Option<String>,
}

async fn accept(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: AcceptBody = body(&bytes)?;
    let accept_type = match b.accept_type.as_str() {
        "READ" => AcceptType::Read,
        "DELIVERED" => AcceptType::Delivered,
        other => {
            return Err(OncallApiError::invalid(
                "acceptType",
                format!("{other:?} is not READ or DELIVERED"),
            ));
        }
    };
    let enforce = match b.accept_code_validation.as_deref() {
        None | Some("ENFORCE") => true,
        Some("IGNORE") => false,
        Some(other) => {
            return Err(OncallApiError::invalid(
                "acceptCodeValidation",
                format!("{other:?} is not IGNORE or ENFORCE"),
            ));
        }
    };
    if let Some(n) = &b.note {
        check_len("note", n, 0, 2048)?;
    }
    let via = match &b.contact_channel_id {
        Some(ch) => format!("api ({ch})"),
        None => "api".into(),
    };
    let page = accept_page(
        &state,
        Accept {
            page_id: id,
            accept_type,
            code: enforce.then_some(b.accept_code),
            via,
            note: b.note,
        },
    )
    .await?;
    Ok(ok(StatusCode::OK, &page))
}

fn html(status: StatusCode, title: &str, text: &str, form: Option<&str>) -> Response {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let form = form
        .map(|action| {
            format!(
                "<form method=\"post\" action=\"{}\"><button type=\"submit\">Acknowledge</button></form>",
                esc(action)
            )
        })
        .unwrap_or_default();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{x}</p>{form}</body></html>",
        t = esc(title),
        x = esc(text)
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page,
    )
        .into_response()
}

/// GET shows a button: mail scanners follow links, and following one must not acknowledge.
async fn ack_form(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    match state.pager.verify_link(Purpose::Ack, &token) {
        Ok(page) => match state.pager.page(&page) {
            Ok(Some(p)) => html(
                StatusCode::OK,
                &format!("Acknowledge: {}", p.subject),
                &p.content,
                Some(&format!("/v1/ack/{token}")),
            ),
            _ => html(
                StatusCode::NOT_FOUND,
                "Unknown page",
                "This page no longer exists.",
                None,
            ),
        },
        Err(e) => html(
            StatusCode::FORBIDDEN,
            "Link not valid",
            &e.to_string(),
            None,
        ),
    }
}

async fn ack_link(State(state): State<Arc<AppState>>, Path(token): Path<String>) -> Response {
    let page = match state.pager.verify_link(Purpose::Ack, &token) {
        Ok(p) => p,
        Err(e) => {
            return html(
                StatusCode::FORBIDDEN,
                "Link not valid",
                &e.to_string(),
                None,
            );
        }
    };
    let result = accept_page(
        &state,
        Accept {
            page_id: page,
            accept_type: AcceptType::Read,
            code: None,
            via: "email-link".into(),
            note: None,
        },
    )
    .await;
    match result {
        Ok(p) => html(
            StatusCode::OK,
            "Acknowledged",
            &format!(
                "Page {} ({}) is acknowledged. Thank you.",
                p.page_id, p.subject
            ),
            None,
        ),
        Err(e) => html(
            StatusCode::BAD_REQUEST,
            "Not acknowledged",
            &e.to_string(),
            None,
        ),
    }
}

/// Twilio (and similar) callbacks for one page: delivery status (`MessageStatus` /
/// `CallStatus`) and voice keypresses (`Digits`; 1 acknowledges). Answers TwiML for voice.
async fn provider_callback(
    State(state): State<Arc<AppState>>,
    Path(token): Path<String>,
    bytes: Bytes,
) -> Response {
    let named = match state.pager.verify_link(Purpose::Callback, &token) {
        Ok(n) => n,
        Err(e) => {
            return (
                StatusCode::FORBIDDEN,
                Json(json!({"error": "invalid-link", "message": e.to_string()})),
            )
                .into_response();
        }
    };
    let (page, channel) = named.rsplit_once('/').unwrap_or((named.as_str(), ""));
    let (page, channel) = (page.to_owned(), channel.to_owned());
    let form: HashMap<String, String> = if bytes.first() == Some(&b'{') {
        serde_json::from_slice::<HashMap<String, serde_json::Value>>(&bytes)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.as_str().map(str::to_owned).unwrap_or(v.to_string())))
            .collect()
    } else {
        url::form_urlencoded::parse(&bytes).into_owned().collect()
    };
    if let Some(digits) = form.get("Digits") {
        let twiml = |say: &str| {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/xml")],
                format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{say}</Say></Response>"),
            )
                .into_response()
        };
        if digits.trim() != "1" {
            return twiml("Not acknowledged. Goodbye.");
        }
        let r = accept_page(
            &state,
            Accept {
                page_id: page,
                accept_type: AcceptType::Read,
                code: None,
                via: format!("voice ({channel})"),
                note: None,
            },
        )
        .await;
        return match r {
            Ok(_) => twiml("Acknowledged. Thank you. Goodbye."),
            Err(e) => {
                tracing::warn!(error = %e, "voice acknowledgement failed");
                twiml("Sorry, the acknowledgement failed. Goodbye.")
            }
        };
    }
    let status = form
        .get("MessageStatus")
        .or_else(|| form.get("CallStatus"))
        .or_else(|| form.get("status"))
        .cloned()
        .unwrap_or_default();
    let ty = match status.as_str() {
        "delivered" | "completed" | "answered" | "read" => ReceiptType::Delivered,
        "sent" | "queued" | "accepted" | "sending" | "ringing" | "initiated" | "in-progress" => {
            ReceiptType::Sent
        }
        "failed" | "undelivered" | "busy" | "no-answer" | "canceled" => ReceiptType::Error,
        "" => {
            return (StatusCode::BAD_REQUEST, Json(json!({"error": "invalid-input", "message": "expected Digits, MessageStatus or CallStatus"})))
                .into_response();
        }
        _ => ReceiptType::Sent,
    };
    let mut info = format!("provider status {status}");
    for k in ["MessageSid", "CallSid", "ErrorCode", "ErrorMessage"] {
        if let Some(v) = form.get(k) {
            info.push_str(&format!(", {k} {v}"));
        }
    }
    match state
        .pager
        .provider_status(&page, Some(channel), ty, info)
        .await
    {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => OncallApiError::from(e).into_response(),
    }
}

/// An SMS (or other channel) reply that is not STOP/START: a 6-digit code acknowledges that
/// page; `ack` the newest open page to that number; `escalate` its engagement's next stage now;
/// `resolve` stops its engagement.
pub(super) async fn reply(state: &Arc<AppState>, from: &str, text: &str) -> ApiResult {
    let pages = state.pager.open_pages_for_address(from.trim())?;
    let word = text.trim().to_ascii_lowercase();
    let newest = pages.first().cloned();
    let not_found = || OncallApiError::NotFound {
        what: "open page for",
        name: from.to_owned(),
        list: "/v1/engagements",
    };
    let done = |action: &str, page: &str| {
        Ok(ok(
            StatusCode::OK,
            &json!({ "keyword": null, "action": action, "pageId": page, "changed": [] }),
        ))
    };
    if word.len() == 6 && word.bytes().all(|b| b.is_ascii_digit()) {
        let Some(p) = pages.iter().find(|p| p.accept_code == word) else {
            return Err(OncallApiError::invalid(
                "body",
                format!("no open page for {from} has the code {word}"),
            ));
        };
        accept_page(
            state,
            Accept {
                page_id: p.page_id.clone(),
                accept_type: AcceptType::Read,
                code: Some(word.clone()),
                via: "sms".into(),
                note: None,
            },
        )
        .await?;
        return done("acknowledged", &p.page_id);
    }
    let p = newest.ok_or_else(not_found)?;
    match word.as_str() {
        "ack" | "a" | "acknowledge" => {
            accept_page(
                state,
                Accept {
                    page_id: p.page_id.clone(),
                    accept_type: AcceptType::Read,
                    code: None,
                    via: "sms".into(),
                    note: None,
                },
            )
            .await?;
            done("acknowledged", &p.page_id)
        }
        "escalate" | "e" => {
            state.pager.escalate(engagement_of_page(&p.page_id)).await?;
            done("escalated", &p.page_id)
        }
        "resolve" | "r" => {
            state
                .pager
                .stop(
                    engagement_of_page(&p.page_id),
                    Some(format!("resolved by {} via SMS", p.contact_id)),
                )
                .await?;
            done("resolved", &p.page_id)
        }
        _ => Err(OncallApiError::BadJson(FieldError::new(
            "body",
            "not understood: reply the 6-digit code, ACK, ESCALATE, RESOLVE, STOP or START",
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimelineQuery {
    incident_id: String,
}

async fn timeline(State(state): State<Arc<AppState>>, Query(q): Query<TimelineQuery>) -> ApiResult {
    Ok(ok(
        StatusCode::OK,
        &json!({ "events": state.pager.timeline(&q.incident_id)? }),
    ))
}
