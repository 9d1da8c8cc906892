//! Outgoing HTTP over `wasi:http/outgoing-handler`, for plugins that call web APIs.
//!
//! The host lets a request through only when its origin is granted to the plugin instance;
//! otherwise the call fails with [`ActionError::Denied`].

use std::time::Duration;

use wasi::http::outgoing_handler;
use wasi::http::types::{
    ErrorCode, Fields, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasi::io::streams::StreamError;

use crate::{ActionError, RetryLater, StringMap};

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Connect, first-byte and between-bytes timeout.
    pub timeout: Duration,
    /// Responses with a longer body fail with [`ActionError::Failed`].
    pub max_response_bytes: usize,
}

impl Request {
    pub fn new(method: &str, url: &str) -> Self {
        Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: Duration::from_secs(10),
            max_response_bytes: 1024 * 1024,
        }
    }
}

/// A response received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: StringMap,
    pub body: Vec<u8>,
}

impl Response {
    /// 429 and 5xx are transient by HTTP's own rules.
    pub fn is_retryable(&self) -> bool {
        self.status == 429 || self.status >= 500
    }

    /// A header's value (names compare case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `Retry-After` in milliseconds: delta-seconds, or an HTTP date relative to `now_unix_ms`.
    pub fn retry_after_ms(&self, now_unix_ms: u64) -> Option<u64> {
        let value = self.header("retry-after")?.trim();
        if let Ok(secs) = value.parse::<u64>() {
            return Some(secs.saturating_mul(1000));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis() as u64;
        Some(at_ms.saturating_sub(now_unix_ms))
    }

    /// The usual mapping of a provider's answer: 2xx is `Ok(self)`; 429 and 5xx are retryable
    /// (honouring Retry-After); 400/404/409/422 are invalid input; 401/403 are failed (the
    /// credentials are wrong, retrying will not help). `what` names the call, e.g.
    /// "Twilio Messages API"; the provider's own message (`detail` of the body) is kept.
    pub fn check(self, what: &str, now_unix_ms: u64) -> Result<Response, ActionError> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let mut body = self.text();
        if body.len() > 2000 {
            let mut cut = 2000;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        let message = format!("{what} answered HTTP {}: {}", self.status, body.trim());
        Err(if self.is_retryable() {
            match self.retry_after_ms(now_unix_ms) {
                Some(after_ms) => ActionError::RetryLater(RetryLater { message, after_ms }),
                None => ActionError::Retryable(message),
            }
        } else if matches!(self.status, 400 | 404 | 409 | 413 | 422) {
            ActionError::InvalidInput(message)
        } else {
            ActionError::Failed(message)
        })
    }
}

/// Send a request and read the whole response.
pub fn send(req: &Request) -> Result<Response, ActionError> {
    let url = url::Url::parse(&req.url).map_err(|e| {
        ActionError::InvalidInput(format!("url `{}` is not a valid URL: {e}", req.url))
    })?;
    let scheme = match url.scheme() {
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        other => {
            return Err(ActionError::InvalidInput(format!(
                "url `{}`: scheme `{other}` is not supported (use http or https)",
                req.url
            )));
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| ActionError::InvalidInput(format!("url `{}` has no host", req.url)))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut path = url.path().to_owned();
    if let Some(q) = url.query() {
        path.push('?');
        path.push_str(q);
    }

    let entries: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_bytes().to_vec()))
        .collect();
    let headers = Fields::from_list(&entries).map_err(|e| {
        ActionError::InvalidInput(format!("headers are not valid HTTP headers: {e:?}"))
    })?;
    let request = OutgoingRequest::new(headers);
    request
        .set_method(&parse_method(&req.method)?)
        .map_err(|()| ActionError::InvalidInput(format!("method `{}` is not valid", req.method)))?;
    request
        .set_scheme(Some(&scheme))
        .map_err(|()| invalid_url(req))?;
    request
        .set_authority(Some(&authority))
        .map_err(|()| invalid_url(req))?;
    request
        .set_path_with_query(Some(&path))
        .map_err(|()| invalid_url(req))?;

    let options = RequestOptions::new();
    let nanos = u64::try_from(req.timeout.as_nanos()).unwrap_or(u64::MAX);
    // A host may not support a timeout; the host's own per-call deadline still applies.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));

    let body = request
        .body()
        .map_err(|()| ActionError::Failed("request body already taken".into()))?;
    let pending =
        outgoing_handler::handle(request, Some(options)).map_err(|e| map_error(&req.url, e))?;
    // A failed body write means the request ended early: the host denied it, or the server
    // answered before reading the body. That outcome says more than the write error.
    let written = write_body(body, &req.body);

    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(resp))) => resp,
        Some(Ok(Err(e))) => return Err(map_error(&req.url, e)),
        Some(Err(())) | None => {
            written?;
            return Err(ActionError::Failed("response already taken".into()));
        }
    };
    let status = response.status();
    let mut headers = StringMap::new();
    for (name, value) in response.headers().entries() {
        let value = String::from_utf8_lossy(&value).into_owned();
        headers
            .entry(name)
            .and_modify(|v: &mut String| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let incoming = response
        .consume()
        .map_err(|()| ActionError::Failed("response body already taken".into()))?;
    let stream = incoming
        .stream()
        .map_err(|()| ActionError::Failed("response body already taken".into()))?;
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => {
                body.extend_from_slice(&chunk);
                if body.len() > req.max_response_bytes {
                    return Err(ActionError::Failed(format!(
                        "response body from {} is larger than {} bytes",
                        req.url, req.max_response_bytes
                    )));
                }
            }
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => {
                return Err(ActionError::Retryable(format!(
                    "reading the response from {} failed: {}",
                    req.url,
                    e.to_debug_string()
                )));
            }
        }
    }
    drop(stream);
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn write_body(body: OutgoingBody, bytes: &[u8]) -> Result<(), ActionError> {
    {
        let out = body
            .write()
            .map_err(|()| ActionError::Failed("request body stream unavailable".into()))?;
        for chunk in bytes.chunks(4096) {
            out.blocking_write_and_flush(chunk).map_err(|e| {
                ActionError::Retryable(format!("sending the request body failed: {e:?}"))
            })?;
        }
    }
    OutgoingBody::finish(body, None)
        .map_err(|e| ActionError::Failed(format!("finishing the request body failed: {e:?}")))
}

fn parse_method(method: &str) -> Result<Method, ActionError> {
    Ok(match method.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "PATCH" => Method::Patch,
        "OPTIONS" => Method::Options,
        other if !other.is_empty() && other.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Method::Other(other.to_owned())
        }
        _ => {
            return Err(ActionError::InvalidInput(format!(
                "method `{method}` is not an HTTP method"
            )));
        }
    })
}

fn invalid_url(req: &Request) -> ActionError {
    ActionError::InvalidInput(format!("url `{}` cannot be sent over HTTP", req.url))
}

/// Timeouts and connection failures are transient; a refused grant is `Denied`.
fn map_error(url: &str, e: ErrorCode) -> ActionError {
    match e {
        ErrorCode::HttpRequestDenied => ActionError::Denied(format!(
            "the host denied the request to {url}: its origin is not granted to this plugin instance"
        )),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout
        | ErrorCode::ConnectionRefused
        | ErrorCode::ConnectionTerminated
        | ErrorCode::ConnectionLimitReached
        | ErrorCode::DnsTimeout
        | ErrorCode::DestinationUnavailable => {
            ActionError::Retryable(format!("request to {url} failed: {e:?}"))
        }
        other => ActionError::Failed(format!("request to {url} failed: {other:?}")),
    }
}
