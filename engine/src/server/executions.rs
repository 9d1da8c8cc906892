//! Runbook executions over HTTP: start, list, get, signal, cancel. A 2xx means the transition is
//! committed; bad input is a 4xx JSON error naming the field.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::exec::{ExecError, StartRequest, parse_signal};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/executions", post(start).get(list))
        .route("/v1/executions/{id}", get(show))
        .route("/v1/executions/{id}/signal", post(signal))
        .route("/v1/executions/{id}/cancel", post(cancel))
}

fn exec_error(e: &ExecError) -> Response {
    let (status, kind, field) = match e {
        ExecError::UnknownDocument { .. } => (
            StatusCode::NOT_FOUND,
            "unknown-document",
            Some("document".to_string()),
        ),
        ExecError::InvalidDocument { .. } => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-document",
            Some("content".to_string()),
        ),
        ExecError::Parameter(p) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-parameter",
            Some(format!("parameters.{}", p.parameter())),
        ),
        ExecError::NotFound { .. } => (StatusCode::NOT_FOUND, "unknown-execution", None),
        ExecError::BadRequest { field, .. } => (
            StatusCode::BAD_REQUEST,
            "bad-request",
            Some((*field).to_string()),
        ),
        ExecError::SignalIgnored { .. } => (
            StatusCode::CONFLICT,
            "signal-ignored",
            Some("signal".to_string()),
        ),
        ExecError::Store(_) | ExecError::Stopped => {
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable", None)
        }
    };
    let mut body = json!({ "error": kind, "message": e.to_string() });
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    if let ExecError::InvalidDocument { diagnostics, .. } = e {
        body["diagnostics"] = diagnostics.clone();
    }
    (status, Json(body)).into_response()
}

fn bad_json(e: impl std::fmt::Display) -> Response {
    exec_error(&ExecError::BadRequest {
        field: "body",
        message: format!("not the expected JSON: {e}"),
    })
}

async fn start(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let req: StartRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad_json(e),
    };
    match state.executor.start_execution(req).await {
        Ok(summary) => {
            let view = state
                .executor
                .get(&summary.id)
                .unwrap_or_else(|_| json!(summary));
            (
                StatusCode::CREATED,
                [("location", format!("/v1/executions/{}", summary.id))],
                Json(view),
            )
                .into_response()
        }
        Err(e) => exec_error(&e),
    }
}

async fn list(State(state): State<Arc<AppState>>) -> Response {
    match state.executor.list() {
        Ok(items) => Json(json!({ "executions": items })).into_response(),
        Err(e) => exec_error(&e),
    }
}

async fn show(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.executor.get(&id) {
        Ok(v) => Json(v).into_response(),
        Err(e) => exec_error(&e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SignalBody {
    signal: String,
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    approver: Option<String>,
    #[serde(default)]
    comment: Option<String>,
}

async fn signal(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let b: SignalBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_json(e),
    };
    let sig = match parse_signal(&b.signal, b.step, b.approver, b.comment) {
        Ok(s) => s,
        Err(e) => return exec_error(&e),
    };
    match state.executor.signal(&id, sig).await {
        Ok(_) => after_write(&state, &id),
        Err(e) => exec_error(&e),
    }
}

async fn cancel(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> Response {
    match state.executor.cancel(&id).await {
        Ok(_) => after_write(&state, &id),
        Err(e) => exec_error(&e),
    }
}

fn after_write(state: &AppState, id: &str) -> Response {
    match state.executor.get(id) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(e) => exec_error(&e),
    }
}
