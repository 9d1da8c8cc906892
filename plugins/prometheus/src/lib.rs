//! `prometheus`: PromQL instant and range queries over the Prometheus HTTP API
//! (`/api/v1/query`, `/api/v1/query_range`), returning typed samples and a `value` to branch on.
//! Prometheus's own errors (`errorType`, `error`) are reported verbatim.

mod client;
mod config;
mod result;
mod time;

use serde::Deserialize;
use tocsin_plugin_sdk::{
    Action, ActionError, Context, JsonSchema, Plugin, PluginInfo, config, now_unix_ms,
};

use crate::config::Config;
use crate::result::QueryResult;
use crate::time::{TimeInput, resolve};

struct Prometheus;

/// An instant query: the expression evaluated at one point in time.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Query {
    /// The PromQL expression, e.g. `sum(rate(http_requests_total{code=~"5.."}[5m]))`.
    query: String,
    /// Evaluation time; Prometheus's current time when absent.
    #[serde(default)]
    time: Option<TimeInput>,
    /// Evaluation timeout Prometheus applies to the query, a duration such as `10s` (capped by
    /// Prometheus's `-query.timeout`).
    #[serde(default)]
    timeout: Option<String>,
}

/// A range query: the expression evaluated at every `step` from `start` to `end`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QueryRange {
    /// The PromQL expression.
    query: String,
    /// First evaluation time, e.g. `now-1h`.
    start: TimeInput,
    /// Last evaluation time; `now` when absent.
    #[serde(default)]
    end: Option<TimeInput>,
    /// Resolution: a duration (`30s`, `1m`) or a number of seconds.
    step: Step,
    /// Evaluation timeout Prometheus applies to the query, a duration such as `10s`.
    #[serde(default)]
    timeout: Option<String>,
}

/// A duration (`30s`, `1m`) or a number of seconds, passed to Prometheus as it is.
#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum Step {
    Seconds(f64),
    Duration(String),
}

impl Plugin for Prometheus {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "prometheus",
            env!("CARGO_PKG_VERSION"),
            "Runs PromQL instant and range queries against a Prometheus server and returns typed samples",
        )
        .config::<Config>()
        // The operator names their Prometheus in `allow.http`; no origin is known in advance.
        .http(&["*"])
        .secrets(&[client::PASSWORD_SECRET, client::TOKEN_SECRET])
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new(
                "query",
                "Evaluate a PromQL expression at one instant (GET/POST /api/v1/query)",
                query,
            ),
            Action::new(
                "query_range",
                "Evaluate a PromQL expression over a time range (GET/POST /api/v1/query_range)",
                query_range,
            ),
        ]
    }
}

fn query(ctx: &Context, input: Query) -> Result<QueryResult, ActionError> {
    let config: Config = config()?;
    let now = now_unix_ms();
    let mut params = vec![("query", input.query)];
    if let Some(t) = &input.time {
        params.push(("time", time_param("time", t, now)?));
    }
    if let Some(timeout) = input.timeout {
        params.push(("timeout", timeout));
    }
    run(&config, "query", &params, ctx)
}

fn query_range(ctx: &Context, input: QueryRange) -> Result<QueryResult, ActionError> {
    let config: Config = config()?;
    let now = now_unix_ms();
    let end = input.end.unwrap_or_else(|| TimeInput::Text("now".into()));
    let step = match input.step {
        Step::Seconds(s) => s.to_string(),
        Step::Duration(d) => d,
    };
    let mut params = vec![
        ("query", input.query),
        ("start", time_param("start", &input.start, now)?),
        ("end", time_param("end", &end, now)?),
        ("step", step),
    ];
    if let Some(timeout) = input.timeout {
        params.push(("timeout", timeout));
    }
    run(&config, "query_range", &params, ctx)
}

fn time_param(field: &str, t: &TimeInput, now: u64) -> Result<String, ActionError> {
    resolve(t, now).map_err(|e| ActionError::InvalidInput(format!("`{field}`: {e}")))
}

fn run(
    config: &Config,
    endpoint: &str,
    params: &[(&str, String)],
    ctx: &Context,
) -> Result<QueryResult, ActionError> {
    let (data, warnings) = client::call(config, endpoint, params, ctx.deadline_unix_ms)?;
    result::typed(data, warnings).map_err(|e| {
        ActionError::Failed(format!("Prometheus answered in an unexpected format: {e}"))
    })
}

tocsin_plugin_sdk::export_plugin!(Prometheus);
