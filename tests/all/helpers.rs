//! Shared test helpers: hosts with the testbed plugin, tiny HTTP peers, the binary.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tocsin::plugin::{
    CallContext, HostOptions, InstanceSpec, InvokeError, Limits, PluginHost, PluginSource, builtin,
};

pub fn testbed() -> PluginSource {
    PluginSource::Path(PathBuf::from(builtin::TESTBED_PATH))
}

pub fn spec(name: &str, source: PluginSource) -> InstanceSpec {
    InstanceSpec::new(name, source)
}

pub fn limits(timeout_ms: u64, memory_mb: usize) -> Limits {
    Limits {
        timeout: Duration::from_millis(timeout_ms),
        memory_bytes: memory_mb * 1024 * 1024,
        ..Limits::default()
    }
}

pub async fn host_with(specs: Vec<InstanceSpec>) -> PluginHost {
    let mut host = PluginHost::new(HostOptions::default()).expect("engine");
    for s in specs {
        host.add_instance(s).await.expect("instance");
    }
    host
}

pub async fn invoke(
    host: &PluginHost,
    instance: &str,
    action: &str,
    input: serde_json::Value,
) -> Result<serde_json::Value, InvokeError> {
    host.invoke(instance, action, &input, CallContext::default())
        .await
}

/// A one-route HTTP server on loopback; returns its address. The handler gets the method, the
/// headers and the body and returns (status, body, delay before answering).
pub async fn http_peer<F>(handler: F) -> SocketAddr
where
    F: Fn(axum::http::Method, axum::http::HeaderMap, String) -> (u16, String, Duration)
        + Send
        + Sync
        + Clone
        + 'static,
{
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method, headers: axum::http::HeaderMap, body: String| {
            let handler = handler.clone();
            async move {
                let (status, body, delay) = handler(method, headers, body);
                tokio::time::sleep(delay).await;
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
                    .into_response()
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    addr
}

/// A TCP server that accepts connections and never answers.
pub async fn silent_peer() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((sock, _)) = listener.accept().await {
            held.push(sock);
        }
    });
    addr
}

pub fn tocsin_bin() -> &'static str {
    env!("CARGO_BIN_EXE_tocsin")
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The test venv's bin directory (made by `cargo xtask test`).
pub fn peer_bin() -> PathBuf {
    match std::env::var_os("TOCSIN_PEER_BIN") {
        Some(p) => PathBuf::from(p),
        None => workspace().join("target/peers/venv/bin"),
    }
}

/// One request received by a [`recording_peer`].
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, e.g. `/2010-04-01/Accounts/AC1/Messages.json?x=1`.
    pub uri: String,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a [`recording_peer`] answers: status, headers, body.
pub type Reply = (u16, Vec<(&'static str, String)>, String);

/// An HTTP server on loopback standing in for a provider that cannot run here (Twilio,
/// PagerDuty, Slack…): it records every request and answers with `handler(&request)`, so a
/// test can check the documented request contract and reply as the provider does.
pub async fn recording_peer<F>(
    handler: F,
) -> (SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<Seen>>>)
where
    F: Fn(&Seen) -> Reply + Send + Sync + 'static,
{
    use axum::response::IntoResponse;
    use std::sync::{Arc, Mutex};
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let handler = Arc::new(handler);
    let log = seen.clone();
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method,
              uri: axum::http::Uri,
              headers: axum::http::HeaderMap,
              body: String| {
            let (handler, log) = (handler.clone(), log.clone());
            async move {
                let request = Seen {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                    body,
                };
                let (status, reply_headers, body) = handler(&request);
                log.lock().unwrap().push(request);
                let mut response =
                    (axum::http::StatusCode::from_u16(status).unwrap(), body).into_response();
                for (name, value) in reply_headers {
                    response
                        .headers_mut()
                        .insert(name, axum::http::HeaderValue::from_str(&value).unwrap());
                }
                response
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (addr, seen)
}

/// Polls `f` until it gives `Some` (every 25 ms; panics after a generous minute: a hang, not a
/// timing assertion).
pub fn wait_until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting for {what}");
}
