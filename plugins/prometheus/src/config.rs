//! The instance configuration (`config:` of the operator's `kind: Plugin` document).

use serde::Deserialize;
use tocsin_plugin_sdk::{JsonSchema, StringMap};

/// Where Prometheus is and how to reach it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Prometheus's base URL, e.g. `http://prometheus.internal:9090`; a path prefix
    /// (`https://example.com/prometheus`) is kept. Its origin must be granted in `allow.http`.
    pub base_url: String,
    /// Basic-authentication user name; the password is the secret `PROMETHEUS_PASSWORD`.
    #[serde(default)]
    pub username: Option<String>,
    /// Send `Authorization: Bearer <token>` with the token from the secret `PROMETHEUS_TOKEN`.
    #[serde(default)]
    pub bearer_token: bool,
    /// HTTP method of the API calls: `POST` (default; form-encoded, no URL length limit) or
    /// `GET` (for proxies that only let GET through).
    #[serde(default)]
    pub method: Option<HttpMethod>,
    /// Extra request headers that are not secret, e.g. `X-Scope-OrgID` for Mimir or Cortex.
    #[serde(default)]
    pub headers: StringMap,
    /// HTTP timeout in milliseconds (default 30000); never beyond the call's own deadline.
    #[serde(default)]
    pub timeout_ms: Option<u32>,
    /// Largest answer read, in KiB (default 4096); range queries over many series are large.
    #[serde(default)]
    pub max_response_kb: Option<u32>,
}

#[derive(Deserialize, JsonSchema, Clone, Copy, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    #[default]
    Post,
}
