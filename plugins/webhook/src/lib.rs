//! `webhook`: one HTTP request per call. 5xx, 429 and timeouts are retryable; other non-2xx
//! statuses are returned (the runbook decides) unless `fail_on_status` is set.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tocsin_plugin_sdk::http::{Request, send};
use tocsin_plugin_sdk::{Action, ActionError, Context, JsonSchema, Plugin, PluginInfo, StringMap};

struct Webhook;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Call {
    /// HTTP method; POST when absent.
    #[serde(default)]
    method: Option<String>,
    /// Absolute http(s) URL; its origin must be granted to the instance.
    url: String,
    /// Request headers.
    #[serde(default)]
    headers: StringMap,
    /// Body as text.
    #[serde(default)]
    body: Option<String>,
    /// Body as JSON (sets content-type: application/json unless given).
    #[serde(default)]
    json: Option<serde_json::Value>,
    /// Timeout in milliseconds for connect / first byte / between bytes (default 10000).
    #[serde(default)]
    timeout_ms: Option<u32>,
    /// Fail (permanently) on a 4xx status instead of returning it.
    #[serde(default)]
    fail_on_status: bool,
}

#[derive(Serialize, JsonSchema)]
struct Reply {
    status: u16,
    headers: StringMap,
    /// The body as text (invalid UTF-8 replaced).
    body: String,
    /// The body parsed as JSON, when it is JSON.
    json: Option<serde_json::Value>,
}

impl Plugin for Webhook {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "webhook",
            env!("CARGO_PKG_VERSION"),
            "Calls an HTTP endpoint",
        )
        .http(&["*"])
        .config::<Config>()
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new(
                "call",
                "Send one HTTP request and return the response",
                call,
            ),
            Action::new(
                "notify",
                "Deliver a page as JSON to the instance's `notify_url` (a generic notification channel)",
                notify,
            ),
        ]
    }
}

fn call(ctx: &Context, input: Call) -> Result<Reply, ActionError> {
    if input.body.is_some() && input.json.is_some() {
        return Err(ActionError::InvalidInput(
            "give either `body` or `json`, not both".into(),
        ));
    }
    let mut req = Request::new(input.method.as_deref().unwrap_or("POST"), &input.url);
    req.headers = input.headers.into_iter().collect();
    let has = |req: &Request, name: &str| {
        req.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    if !has(&req, "idempotency-key") {
        req.headers
            .push(("idempotency-key".into(), ctx.invocation_id.clone()));
    }
    if let Some(json) = input.json {
        if !has(&req, "content-type") {
            req.headers
                .push(("content-type".into(), "application/json".into()));
        }
        req.body = json.to_string().into_bytes();
    } else if let Some(body) = input.body {
        req.body = body.into_bytes();
    }
    req.timeout = Duration::from_millis(u64::from(input.timeout_ms.unwrap_or(10_000)));

    let resp = send(&req)?;
    let body = String::from_utf8_lossy(&resp.body).into_owned();
    if resp.is_retryable() {
        return Err(ActionError::Retryable(format!(
            "{} answered {}: {}",
            input.url,
            resp.status,
            excerpt(&body)
        )));
    }
    if input.fail_on_status && resp.status >= 400 {
        return Err(ActionError::Failed(format!(
            "{} answered {}: {}",
            input.url,
            resp.status,
            excerpt(&body)
        )));
    }
    let json = serde_json::from_str(&body).ok();
    Ok(Reply {
        status: resp.status,
        headers: resp.headers,
        body,
        json,
    })
}

#[derive(Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Where `notify` posts pages (its origin must be granted too).
    #[serde(default)]
    notify_url: Option<String>,
}

/// The notification contract every channel plugin accepts.
#[derive(Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// The channel's delivery address.
    recipient: String,
    #[serde(default)]
    subject: Option<String>,
    message: String,
    /// The page's 6-digit accept code.
    #[serde(default)]
    accept_code: Option<String>,
    /// A signed link that acknowledges the page.
    #[serde(default)]
    accept_url: Option<String>,
    /// Where delivery reports (and replies) for this page go.
    #[serde(default)]
    callback_url: Option<String>,
    #[serde(default)]
    incident_arn: Option<String>,
}

#[derive(Serialize, JsonSchema)]
struct Notified {
    provider: String,
    provider_id: Option<String>,
    /// SENT: the receiver accepted it (2xx).
    status: String,
    detail: Option<String>,
}

fn notify(ctx: &Context, input: Notify) -> Result<Notified, ActionError> {
    let config: Config = tocsin_plugin_sdk::config()?;
    let Some(url) = config.notify_url else {
        return Err(ActionError::Failed(
            "this webhook instance has no `notify_url` in its config; set one to use it as a notification channel".into(),
        ));
    };
    let mut req = Request::new("POST", &url);
    req.headers = vec![
        ("content-type".into(), "application/json".into()),
        ("idempotency-key".into(), ctx.invocation_id.clone()),
    ];
    let mut body = serde_json::to_value(&input)
        .map_err(|e| ActionError::Failed(format!("encoding the page failed: {e}")))?;
    body["idempotency_key"] = serde_json::Value::String(ctx.invocation_id.clone());
    body["attempt"] = serde_json::Value::from(ctx.attempt);
    req.body = body.to_string().into_bytes();
    let resp = send(&req)?.check(
        &format!("notify receiver {url}"),
        tocsin_plugin_sdk::now_unix_ms(),
    )?;
    Ok(Notified {
        provider: "webhook".into(),
        provider_id: resp.header("x-request-id").map(str::to_owned),
        status: "SENT".into(),
        detail: Some(format!("HTTP {}", resp.status)),
    })
}

fn excerpt(body: &str) -> &str {
    let end = body.char_indices().nth(200).map_or(body.len(), |(i, _)| i);
    &body[..end]
}

tocsin_plugin_sdk::export_plugin!(Webhook);
