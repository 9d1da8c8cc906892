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
