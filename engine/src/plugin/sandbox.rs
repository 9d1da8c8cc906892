//! The per-invocation store data: WASI with nothing granted by default, the HTTP gate, the
//! memory limiter and the `host` imports (log, config, secret).

use std::sync::{Arc, Mutex};

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::bindings::tocsin::plugin::{host, types};
use super::grant::Capabilities;
use super::redact::Redactor;
use super::{Limits, grant};

/// Everything a call shares with its sandbox, and what the host learns from it afterwards.
#[derive(Debug)]
pub(super) struct CallShared {
    pub plugin: Arc<str>,
    pub instance: Arc<str>,
    pub invocation_id: String,
    pub caps: Arc<Capabilities>,
    pub redactor: Arc<Redactor>,
    /// Capability denials during the call, each naming the capability and how to grant it.
    pub denials: Mutex<Vec<String>>,
}

impl CallShared {
    pub fn deny(&self, message: String) {
        tracing::warn!(plugin = %self.plugin, instance = %self.instance, invocation_id = %self.invocation_id, denial = %message, "plugin capability denied");
        if let Ok(mut d) = self.denials.lock() {
            d.push(message);
        }
    }

    pub fn take_denials(&self) -> Vec<String> {
        self.denials
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default()
    }
}

pub(super) struct SandboxState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    gate: HttpGate,
    pub limits: StoreLimits,
    pub shared: Arc<CallShared>,
    config_json: Arc<str>,
    secrets: Arc<Vec<(String, String)>>,
    log_lines: u32,
    max_log_lines: u32,
    pub dropped_log_lines: u32,
}

/// Bytes of guest stderr kept per call (panic messages land there).
pub(super) const STDERR_CAPACITY: usize = 16 * 1024;

impl SandboxState {
    pub fn new(
        shared: Arc<CallShared>,
        limits: &Limits,
        config_json: Arc<str>,
        secrets: Arc<Vec<(String, String)>>,
        stderr: MemoryOutputPipe,
    ) -> Self {
        let mut wasi = WasiCtxBuilder::new();
        // No preopens, no environment, no arguments, no stdin: the builder's defaults. Stdout
        // is discarded; stderr is kept (bounded) so a panic's message reaches the error.
        wasi.stderr(stderr);
        if shared.caps.has_tcp() {
            let check_shared = shared.clone();
            wasi.allow_tcp(true)
                .allow_ip_name_lookup(true)
                .socket_addr_check(move |addr, use_| {
                    let shared = check_shared.clone();
                    Box::pin(async move { tcp_allowed(&shared, addr, use_).await })
                });
        } else {
            let check_shared = shared.clone();
            // TCP stays off; a connect attempt still reaches this check first in some paths.
            wasi.allow_tcp(false)
                .allow_udp(false)
                .allow_ip_name_lookup(false)
                .socket_addr_check(move |addr, _| {
                    let shared = check_shared.clone();
                    Box::pin(async move {
                        shared.deny(tcp_denial(&shared, addr));
                        false
                    })
                });
        }
        let limits_built = StoreLimitsBuilder::new()
            .memory_size(limits.memory_bytes)
            .instances(32)
            .tables(64)
            .memories(16)
            .table_elements(1_000_000)
            .trap_on_grow_failure(true)
            .build();
        SandboxState {
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            table: ResourceTable::new(),
            gate: HttpGate {
                shared: shared.clone(),
            },
            limits: limits_built,
            shared,
            config_json,
            secrets,
            log_lines: 0,
            max_log_lines: limits.log_lines,
            dropped_log_lines: 0,
        }
    }
}

async fn tcp_allowed(
    shared: &CallShared,
    addr: std::net::SocketAddr,
    use_: wasmtime_wasi::sockets::SocketAddrUse,
) -> bool {
    use wasmtime_wasi::sockets::SocketAddrUse;
    match use_ {
        SocketAddrUse::TcpConnect => {
            if shared.caps.allows_tcp(addr).await {
                true
            } else {
                shared.deny(tcp_denial(shared, addr));
                false
            }
        }
        // connect() binds implicitly to the wildcard address; nothing else may bind.
        SocketAddrUse::TcpBind => addr.ip().is_unspecified() && addr.port() == 0,
        _ => {
            shared.deny(format!(
                "plugin `{}` (instance `{}`) tried to listen or use UDP at {addr}; plugins may only open outgoing TCP connections",
                shared.plugin, shared.instance
            ));
            false
        }
    }
}

fn tcp_denial(shared: &CallShared, addr: std::net::SocketAddr) -> String {
    format!(
        "plugin `{}` (instance `{}`) was denied a TCP connection to {addr}: not granted; to allow it add `{addr}` (or its host name and port) to `allow.tcp` in the instance's kind: Plugin document",
        shared.plugin, shared.instance
    )
}

impl WasiView for SandboxState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for SandboxState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.gate,
        }
    }
}

/// Lets an outgoing request through only when its origin is requested and granted.
struct HttpGate {
    shared: Arc<CallShared>,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<wasmtime_wasi_http::WasiBody>,
                Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpGate {
    fn send_request(
        &mut self,
        request: http::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> SendFuture {
        let _ = fut;
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let host = uri.host().unwrap_or("").to_owned();
        let port = uri
            .port_u16()
            .unwrap_or_else(|| grant::default_port(&scheme));
        if !self.shared.caps.allows_http(&scheme, &host, port) {
            let origin = format!("{scheme}://{host}:{port}");
            self.shared.deny(format!(
                "plugin `{}` (instance `{}`) was denied HTTP access to {origin}: not granted; to allow it add `{origin}` (wildcards like `{scheme}://*.example.com` work) to `allow.http` in the instance's kind: Plugin document",
                self.shared.plugin, self.shared.instance
            ));
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        tracing::debug!(plugin = %self.shared.plugin, instance = %self.shared.instance, invocation_id = %self.shared.invocation_id, %scheme, %host, port, "plugin HTTP request");
        Box::new(async move {
            use http_body_util::BodyExt;
            let (res, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                res.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

impl types::Host for SandboxState {}

/// Longest log line kept from a plugin; longer ones are cut.
const MAX_LOG_LINE: usize = 4096;

impl host::Host for SandboxState {
    fn log(&mut self, level: host::Level, message: String) {
        if self.log_lines >= self.max_log_lines {
            self.dropped_log_lines = self.dropped_log_lines.saturating_add(1);
            return;
        }
        self.log_lines += 1;
        let mut message = self.shared.redactor.redact(&message).into_owned();
        if message.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("…[truncated]");
        }
        let s = &self.shared;
        match level {
            host::Level::Trace => {
                tracing::trace!(plugin = %s.plugin, instance = %s.instance, invocation_id = %s.invocation_id, "{message}")
            }
            host::Level::Debug => {
                tracing::debug!(plugin = %s.plugin, instance = %s.instance, invocation_id = %s.invocation_id, "{message}")
            }
            host::Level::Info => {
                tracing::info!(plugin = %s.plugin, instance = %s.instance, invocation_id = %s.invocation_id, "{message}")
            }
            host::Level::Warn => {
                tracing::warn!(plugin = %s.plugin, instance = %s.instance, invocation_id = %s.invocation_id, "{message}")
            }
            host::Level::Error => {
                tracing::error!(plugin = %s.plugin, instance = %s.instance, invocation_id = %s.invocation_id, "{message}")
            }
        }
    }

    fn config(&mut self) -> String {
        self.config_json.to_string()
    }

    fn secret(&mut self, name: String) -> Option<String> {
        if !self.shared.caps.allows_secret(&name) {
            self.shared.deny(format!(
                "plugin `{}` (instance `{}`) was denied secret `{name}`: not granted; to allow it add `{name}` to `secrets:` in the instance's kind: Plugin document",
                self.shared.plugin, self.shared.instance
            ));
            return None;
        }
        self.secrets
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}
