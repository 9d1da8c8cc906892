//! One call to the Prometheus HTTP API: the request (method, form parameters, authentication)
//! and the answer's envelope, whose errors are reported verbatim.

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;
use tocsin_plugin_sdk::http::{Request, Response, send};
use tocsin_plugin_sdk::{ActionError, RetryLater, now_unix_ms, secret};

use crate::config::{Config, HttpMethod};
use crate::result::Data;

/// Secret holding the basic-authentication password (with `username` in the configuration).
pub const PASSWORD_SECRET: &str = "PROMETHEUS_PASSWORD";
/// Secret holding the bearer token (with `bearer_token: true` in the configuration).
pub const TOKEN_SECRET: &str = "PROMETHEUS_TOKEN";

/// Prometheus's answer format (https://prometheus.io/docs/prometheus/latest/querying/api/#format-overview).
#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    warnings: Vec<String>,
}

/// Call `endpoint` (`query` or `query_range`) with form parameters; the successful `data` and
/// the warnings, or the error mapped to retryable / invalid input / failed.
pub fn call(
    config: &Config,
    endpoint: &str,
    params: &[(&str, String)],
    deadline_unix_ms: u64,
) -> Result<(Data, Vec<String>), ActionError> {
    let url = format!(
        "{}/api/v1/{endpoint}",
        config.base_url.trim_end_matches('/')
    );
    let form = {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            s.append_pair(k, v);
        }
        s.finish()
    };
    let mut req = match config.method.unwrap_or_default() {
        HttpMethod::Post => {
            let mut req = Request::new("POST", &url);
            req.headers.push((
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
            req.body = form.into_bytes();
            req
        }
        HttpMethod::Get => Request::new("GET", &format!("{url}?{form}")),
    };
    req.headers
        .push(("accept".into(), "application/json".into()));
    req.headers.push((
        "user-agent".into(),
        concat!("tocsin-prometheus/", env!("CARGO_PKG_VERSION")).into(),
    ));
    for (name, value) in &config.headers {
        req.headers.push((name.clone(), value.clone()));
    }
    if let Some(auth) = authorization(config)? {
        req.headers.push(("authorization".into(), auth));
    }
    req.timeout = http_timeout(config, deadline_unix_ms)?;
    req.max_response_bytes = config.max_response_kb.unwrap_or(4096) as usize * 1024;
    answer(send(&req)?)
}

/// `Basic` from `username` + the password secret, or `Bearer` from the token secret.
fn authorization(config: &Config) -> Result<Option<String>, ActionError> {
    if let Some(user) = &config.username {
        let password = secret(PASSWORD_SECRET)?;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return Ok(Some(format!("Basic {token}")));
    }
    if config.bearer_token {
        return Ok(Some(format!("Bearer {}", secret(TOKEN_SECRET)?)));
    }
    Ok(None)
}

/// The configured timeout (default 30 s), cut so the plugin reports a clean retryable timeout
/// before the host abandons the call at its deadline.
fn http_timeout(config: &Config, deadline_unix_ms: u64) -> Result<Duration, ActionError> {
    let configured = u64::from(config.timeout_ms.unwrap_or(30_000));
    let left = deadline_unix_ms
        .saturating_sub(now_unix_ms())
        .saturating_sub(250);
    if left == 0 {
        return Err(ActionError::Retryable(
            "no time left before the call's deadline to ask Prometheus".into(),
        ));
    }
    Ok(Duration::from_millis(configured.min(left)))
}

/// Prometheus's `errorType` → how Tocsin treats it. Prometheus's `error` text is kept verbatim.
fn answer(resp: Response) -> Result<(Data, Vec<String>), ActionError> {
    let envelope: Option<Envelope> = serde_json::from_slice(&resp.body).ok();
    let Some(envelope) = envelope else {
        // Not the API's format: a proxy, a load balancer or the wrong URL answered.
        let resp = resp.check("Prometheus", now_unix_ms())?;
        return Err(ActionError::Failed(format!(
            "Prometheus answered HTTP {} with a body that is not the Prometheus API format (is `base_url` right?): {}",
            resp.status,
            excerpt(&resp.text())
        )));
    };
    if envelope.status == "success"
        && let Some(data) = envelope.data
    {
        return Ok((data, envelope.warnings));
    }
    let error_type = envelope.error_type.unwrap_or_else(|| "unknown".into());
    let message = format!(
        "Prometheus answered HTTP {} {error_type}: {}",
        resp.status,
        envelope.error.unwrap_or_default()
    );
    Err(match error_type.as_str() {
        // The query itself is wrong (syntax, types, matching): retrying will not help.
        "bad_data" | "execution" | "not_found" | "not_acceptable" => {
            ActionError::InvalidInput(message)
        }
        "timeout" | "canceled" | "unavailable" | "internal" => retry(&resp, message),
        _ if resp.is_retryable() => retry(&resp, message),
        _ => ActionError::Failed(message),
    })
}

fn retry(resp: &Response, message: String) -> ActionError {
    match resp.retry_after_ms(now_unix_ms()) {
        Some(after_ms) => ActionError::RetryLater(RetryLater { message, after_ms }),
        None => ActionError::Retryable(message),
    }
}

fn excerpt(body: &str) -> &str {
    let body = body.trim();
    let end = body.char_indices().nth(300).map_or(body.len(), |(i, _)| i);
    &body[..end]
}
