//! What the `engagement`, `page` and `incident` commands share: a client bound to a running
//! server that turns its refusals into readable errors, path and query encoding, and the small
//! helpers that print the server's JSON as text.

use std::fmt::Write as _;
use std::marker::PhantomData;
use std::time::Duration;

use anyhow::{Context as _, bail};
use jiff::{Timestamp, Unit};
use serde_json::Value;

use super::OutputFormat;

/// What a command works on in the server. Each command names it in its `--server` help and in
/// the error when no server answers, so it is a type parameter of the flags they share.
pub trait ServerResource: Clone + std::fmt::Debug {
    /// The `--server` help.
    const SERVER_HELP: &'static str;
    /// Why there is no data-directory mode ("incidents live inside the server").
    const WHY_A_SERVER: &'static str;
}

/// The running server the command talks to, and how it prints.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs<R: ServerResource> {
    #[arg(long, env = "TOCSIN_SERVER", default_value = "http://127.0.0.1:7600", help = R::SERVER_HELP)]
    pub server: String,
    /// Print the server's JSON answer instead of text (same as `--format json`).
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    #[arg(skip)]
    resource: PhantomData<R>,
}

impl<R: ServerResource> ServerArgs<R> {
    pub fn json(&self) -> bool {
        self.json || self.format == OutputFormat::Json
    }

    pub async fn connect(&self) -> anyhow::Result<ServerApi> {
        let base = self.server.trim_end_matches('/').to_owned();
        match super::probe_server(&base, false, Duration::from_secs(30)).await? {
            Some((client, base)) => Ok(ServerApi { client, base }),
            None => bail!(
                "no tocsin server answers at {base}: {}, so start one with `tocsin serve` (or pass --server URL / set TOCSIN_SERVER to the one that runs)",
                R::WHY_A_SERVER
            ),
        }
    }
}

/// An HTTP client bound to a server that answered `/healthz`.
pub struct ServerApi {
    client: reqwest::Client,
    base: String,
}

impl ServerApi {
    /// The JSON of a 2xx answer (`null` when it has none); any other status is an error that
    /// reads as [`refusal`].
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.client.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {method} {url}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .with_context(|| format!("reading the answer of {method} {url}"))?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(v);
        }
        Err(anyhow::anyhow!(refusal(status, &v, &text)))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(reqwest::Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}

/// A refusal as lines: status and kind, the message, then every `field`: rule.
pub fn refusal(status: reqwest::StatusCode, v: &Value, text: &str) -> String {
    let kind = v["error"]
        .as_str()
        .map(|k| format!(" {k}"))
        .unwrap_or_default();
    let message = match v["message"].as_str() {
        Some(m) => m.to_owned(),
        None if text.trim().is_empty() => {
            status.canonical_reason().unwrap_or("no message").to_owned()
        }
        None => text.trim().chars().take(500).collect(),
    };
    let mut out = format!("the server refused ({}{kind}): {message}", status.as_u16());
    let errors: Vec<(&str, &str)> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or("?"),
                e["rule"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    // A single error the message already spells out is not repeated.
    if let [(field, rule)] = errors.as_slice()
        && message == format!("{field}: {rule}")
    {
        let _ = write!(out, " (field `{field}`)");
        return out;
    }
    for (field, rule) in errors {
        let _ = write!(out, "\n  `{field}`: {rule}");
    }
    out
}

/// A path segment, percent-encoded (ids are plain, but an ARN has `/` and `:` and typed text
/// may have anything).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `path?k=v&…` with the values form-encoded; `path` alone when there is no query.
pub fn with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_owned();
    }
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in query {
        q.append_pair(k, v);
    }
    format!("{path}?{}", q.finish())
}

/// The server's JSON, pretty-printed (`--json`).
pub fn print_json(v: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A string member as text; `?` when absent.
pub fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("?")
}

/// A timestamp member; `None` when absent or not one.
pub fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

/// An instant to the second, UTC; `-` when absent.
pub fn when(v: &Value) -> String {
    match ts(v) {
        Some(t) => t.round(Unit::Second).unwrap_or(t).to_string(),
        None => "-".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn refusals_name_status_kind_message_and_fields() {
        let v = json!({"error": "invalid-input", "message": "acceptCode: the accept code does not match page e-p1",
            "errors": [{"field": "acceptCode", "rule": "the accept code does not match page e-p1"}]});
        let text = refusal(reqwest::StatusCode::BAD_REQUEST, &v, "");
        assert_eq!(
            text,
            "the server refused (400 invalid-input): acceptCode: the accept code does not match page e-p1 (field `acceptCode`)"
        );
        let v = json!({"error": "invalid-documents", "message": "2 problems",
            "errors": [{"field": "a", "rule": "r1"}, {"field": "b", "rule": "r2"}]});
        let text = refusal(reqwest::StatusCode::BAD_REQUEST, &v, "");
        assert_eq!(
            text,
            "the server refused (400 invalid-documents): 2 problems\n  `a`: r1\n  `b`: r2"
        );
        let text = refusal(reqwest::StatusCode::NOT_FOUND, &Value::Null, "");
        assert_eq!(text, "the server refused (404): Not Found");
    }

    #[test]
    fn path_segments_and_queries_are_escaped() {
        assert_eq!(seg("abc-1_2.x"), "abc-1_2.x");
        assert_eq!(seg("a/b c"), "a%2Fb%20c");
        assert_eq!(seg("arn:a/b"), "arn%3Aa%2Fb");
        assert_eq!(
            with_query("/x", &[("eventType", "Page acknowledged".into())]),
            "/x?eventType=Page+acknowledged"
        );
        assert_eq!(with_query("/x", &[]), "/x");
    }

    #[test]
    fn instants_print_to_the_second() {
        assert_eq!(
            when(&json!("2026-01-01T00:00:03.25Z")),
            "2026-01-01T00:00:03Z"
        );
        assert_eq!(when(&Value::Null), "-");
    }
}
