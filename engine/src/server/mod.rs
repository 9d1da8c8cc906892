//! The HTTP server: routes, error mapping and the listener. Binds to loopback unless told
//! otherwise. Knows nothing of redb or wasmtime types (it calls `store/` and `plugin/`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::plugin::{CallContext, InvokeError, PluginHost};
use crate::store::Store;

mod alerts;
mod audit;
mod engagements;
mod executions;
mod incidents;
mod metrics;
pub mod oncall;
mod openapi;

/// What the handlers share.
pub struct AppState {
    pub plugins: Arc<PluginHost>,
    pub store: Arc<Store>,
    /// Runbook executions (shares `plugins` and `store`).
    pub executor: crate::exec::Executor,
    /// Engagements and pages (shares `plugins` and `store`).
    pub pager: crate::pager::Pager,
    /// Incidents and response plans (drives `pager` and `executor`).
    pub responder: crate::respond::Responder,
    /// Alert intake: SNS settings, event rules, generic mappings (read at start).
    pub intake: crate::config::intake::Intake,
    /// `serve --dev`: SNS signatures are not required unless the config says so.
    pub dev: bool,
}

/// Largest request body accepted (bytes).
const MAX_BODY: usize = 1024 * 1024;

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/plugins", get(list_plugins))
        .route("/v1/plugins/{instance}", get(describe_plugin))
        .route(
            "/v1/plugins/{instance}/actions/{action}",
            post(invoke_action),
        )
        .merge(executions::routes())
        .merge(oncall::routes())
        .merge(engagements::routes())
        .merge(incidents::routes())
        .merge(openapi::routes())
        .merge(alerts::routes())
        .merge(audit::routes())
        .merge(metrics::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // Request ids and the audit log (outermost: they see every answer, 413s included).
        .layer(axum::middleware::from_fn(audit::middleware))
        .layer(axum::Extension(audit::AuditLog::new(state.store.clone())))
        .with_state(state)
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.schema_version() {
        Ok(v) => Json(serde_json::json!({
            "status": "ok",
            "version": env!("CARGO_PKG_VERSION"),
            "schema_version": v,
            "plugin_instances": state.plugins.instance_names(),
        }))
        .into_response(),
        Err(e) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            &e.to_string(),
        ),
    }
}

async fn list_plugins(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "instances": state.plugins.instances() }))
}

async fn describe_plugin(
    State(state): State<Arc<AppState>>,
    Path(instance): Path<String>,
) -> Response {
    match state.plugins.manifest(&instance) {
        Some(m) => Json(m).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "unknown-instance",
            &format!("no plugin instance `{instance}`"),
        ),
    }
}

async fn invoke_action(
    State(state): State<Arc<AppState>>,
    Path((instance, action)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    let input: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid-json",
                &format!("request body is not JSON: {e}"),
            );
        }
    };
    match state
        .plugins
        .invoke(&instance, &action, &input, CallContext::default())
        .await
    {
        Ok(output) => Json(serde_json::json!({ "output": output })).into_response(),
        Err(e) => {
            let status = match &e {
                InvokeError::UnknownInstance { .. } | InvokeError::UnknownAction { .. } => {
                    StatusCode::NOT_FOUND
                }
                InvokeError::InvalidInput { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                InvokeError::Denied { .. } => StatusCode::FORBIDDEN,
                InvokeError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
                _ => StatusCode::BAD_GATEWAY,
            };
            error(status, e.kind(), &e.to_string())
        }
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({ "error": kind, "message": message })),
    )
        .into_response()
}

/// Serve until ctrl-c / SIGTERM. Prints the bound address on stdout (tests start on port 0).
pub async fn serve(state: Arc<AppState>, listen: SocketAddr) -> std::io::Result<()> {
    serve_on(state, tokio::net::TcpListener::bind(listen).await?).await
}

/// Serve on a listener already bound (so the public URL can name the real port first).
pub async fn serve_on(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    println!("tocsin listening on http://{local}");
    tracing::info!(%local, "listening");
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}
