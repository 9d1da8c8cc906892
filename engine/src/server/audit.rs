//! The audit middleware and `GET /v1/audit`. Every request gets a request id (the incoming
//! `x-request-id` when valid, else a UUIDv7), echoed in the answer. Mutating calls on `/v1/…`
//! (see [`crate::audit::is_audited`]) leave a record after the handler answered: time, who,
//! method, path, resource, source address, request id, status.
//!
//! The record is committed before the answer leaves, through the store's group commit (it
//! shares the transaction and fsync of concurrent writes), so an answered call is audited on
//! disk; configuration changes are committed with the change itself (`apply_docs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, HttpBody as _};
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use tracing::Instrument as _;

use super::{AppState, error};
use crate::audit::{
    self, ACTOR_HEADER, AuditKind, AuditQuery, AuditRecord, DEFAULT_LIMIT, MAX_LIMIT,
    REQUEST_ID_HEADER,
};
use crate::store::Store;

/// Largest answer read to find the resource a creating call made.
const MAX_PEEK: u64 = 64 * 1024;

/// Where audit records go (cheap to clone).
#[derive(Clone)]
pub struct AuditLog {
    store: Arc<Store>,
}

impl AuditLog {
    pub fn new(store: Arc<Store>) -> AuditLog {
        AuditLog { store }
    }

    /// Commits the record; a failure is logged with the whole record (the call's own effect
    /// is already committed and its answer stands).
    async fn record(&self, r: AuditRecord) {
        let records: Arc<[AuditRecord]> = Arc::new([r]);
        if let Err(e) = self.store.append_audit(records.clone()).await {
            tracing::error!(error = %e, record = %serde_json::json!(records[0]), "audit record not stored");
        }
    }
}

/// Request ids for every request; an audit record for every mutating `/v1/…` call.
pub async fn middleware(mut req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| audit::valid_request_id(v))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    let header_value = HeaderValue::from_str(&request_id).ok();
    if let Some(v) = &header_value {
        req.headers_mut().insert(REQUEST_ID_HEADER, v.clone());
    }
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    let log = req.extensions().get::<AuditLog>().cloned();
    let pending = match log {
        Some(log) if audit::is_audited(&method, &path) => {
            let actor = req
                .headers()
                .get(ACTOR_HEADER)
                .and_then(|v| v.to_str().ok());
            let who = audit::who(&path, actor);
            let source = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string());
            Some((log, who, source, Timestamp::now(), Instant::now()))
        }
        _ => None,
    };
    let span = tracing::info_span!("request", request_id = %request_id);
    let mut resp = next.run(req).instrument(span).await;
    if let Some(v) = header_value {
        resp.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    let Some((log, who, source, time, started)) = pending else {
        return resp;
    };
    let duration_ms = started.elapsed().as_secs_f64() * 1e3;
    let mut resource = audit::resource_of_path(&path);
    if resource.is_none() && resp.status().is_success() {
        resource = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(audit::resource_of_path);
        if resource.is_none() {
            let (found, answer) = resource_of_answer(resp).await;
            resp = answer;
            resource = found;
        }
    }
    log.record(AuditRecord {
        id: String::new(),
        time,
        kind: AuditKind::ApiCall,
        who,
        method,
        path: audit::redact_path(&path),
        resource,
        source_address: source,
        request_id: Some(request_id),
        status: Some(resp.status().as_u16()),
        duration_ms: Some(duration_ms),
        documents: Vec::new(),
        what: None,
    })
    .await;
    resp
}

/// Reads a small JSON answer for the resource it names, and gives the answer back whole.
async fn resource_of_answer(resp: Response) -> (Option<String>, Response) {
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let small = resp
        .body()
        .size_hint()
        .upper()
        .is_some_and(|n| n <= MAX_PEEK);
    if !json || !small {
        return (None, resp);
    }
    let (parts, body) = resp.into_parts();
    match axum::body::to_bytes(body, MAX_PEEK as usize).await {
        Ok(bytes) => {
            let found = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| audit::resource_of_answer(&v));
            (found, Response::from_parts(parts, Body::from(bytes)))
        }
        Err(e) => {
            tracing::warn!(error = %e, "reading an answer for the audit log failed");
            (
                None,
                error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the answer could not be read",
                ),
            )
        }
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/v1/audit", get(query))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Params {
    since: Option<String>,
    until: Option<String>,
    resource: Option<String>,
    limit: Option<String>,
    next_token: Option<String>,
}

fn bad(message: String) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid-query", &message)
}

fn time(field: &str, v: Option<String>) -> Result<Option<Timestamp>, String> {
    v.map(|s| {
        s.parse::<Timestamp>().map_err(|e| {
            format!("`{field}` must be an RFC 3339 time such as 2026-01-02T15:04:05Z: {e}")
        })
    })
    .transpose()
}

fn parse(p: Params) -> Result<AuditQuery, String> {
    let since = time("since", p.since)?;
    let until = time("until", p.until)?;
    if let (Some(s), Some(u)) = (since, until)
        && s > u
    {
        return Err(format!("`since` ({s}) is after `until` ({u})"));
    }
    let limit = match p.limit.as_deref().map(str::parse::<usize>) {
        None => DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=MAX_LIMIT).contains(&n) => n,
        _ => {
            return Err(format!(
                "`limit` must be a whole number from 1 to {MAX_LIMIT}"
            ));
        }
    };
    Ok(AuditQuery {
        since,
        until,
        resource: p.resource.filter(|r| !r.is_empty()),
        before: p.next_token.filter(|t| !t.is_empty()),
        limit,
    })
}

async fn query(
    State(state): State<Arc<AppState>>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match params
        .map_err(|e| e.body_text())
        .and_then(|Query(p)| parse(p))
    {
        Ok(q) => q,
        Err(message) => return bad(message),
    };
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || store.audit_range(&q)).await {
        Ok(Ok(page)) => Json(page).into_response(),
        Ok(Err(e)) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            &e.to_string(),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            &format!("worker task failed: {e}"),
        ),
    }
}
