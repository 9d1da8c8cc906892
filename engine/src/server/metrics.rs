//! `GET /metrics`: the process's Prometheus series (OpenMetrics text), with the queue-depth
//! gauges read from the store just before rendering.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{AppState, error};
use crate::metrics;
use crate::store::{Store, StoreError};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(scrape))
}

fn refresh_queues(store: &Store) -> Result<(), StoreError> {
    metrics::set_queue_depth("notifications", store.outbox()?.len() as u64);
    metrics::set_queue_depth("timers", store.timer_count()?);
    let actions = store.engage_read(|tx| tx.incident_actions())?;
    metrics::set_queue_depth("incident_actions", actions.len() as u64);
    Ok(())
}

async fn scrape(State(state): State<Arc<AppState>>) -> Response {
    let store = state.store.clone();
    match tokio::task::spawn_blocking(move || refresh_queues(&store)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "reading queue depths for /metrics failed"),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                &format!("worker task failed: {e}"),
            );
        }
    }
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        metrics::render(),
    )
        .into_response()
}
