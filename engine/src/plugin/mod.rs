//! The WebAssembly plugin host: loading and precompiling components, capabilities, limits and
//! sandboxed invocation. Owns every wasmtime type; knows nothing of incidents, runbooks or storage.

mod bindings;
pub mod builtin;
pub mod cache;
pub mod grant;
mod host;
mod redact;
mod sandbox;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

pub use cache::{CacheOutcome, CompileCache};
pub use grant::Grant;
pub use host::{HostOptions, PluginHost};
pub use redact::Redactor;

/// What a plugin says about itself (`describe`).
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub name: String,
    pub version: String,
    pub description: String,
    pub actions: Vec<ActionSpec>,
    pub config_schema: serde_json::Value,
    pub requests: RequestedCapabilities,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    pub output_schema: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestedCapabilities {
    pub http: Vec<String>,
    pub tcp: Vec<String>,
    pub secrets: Vec<String>,
}

/// Per-call resource limits of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub memory_bytes: usize,
    pub timeout: Duration,
    pub output_bytes: usize,
    pub log_lines: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            output_bytes: 1024 * 1024,
            log_lines: 1000,
        }
    }
}

impl Limits {
    /// Upper bounds an operator may configure.
    pub const MAX_MEMORY_BYTES: usize = 1024 * 1024 * 1024;
    pub const MAX_TIMEOUT: Duration = Duration::from_secs(15 * 60);
    pub const MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Embedded in the binary (`plugin: console`).
    Builtin(String),
    /// A `.wasm` component file (`path: ./my-plugin.wasm`).
    Path(PathBuf),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin(n) => write!(f, "built-in plugin `{n}`"),
            PluginSource::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// An operator-configured instance of a plugin (a `kind: Plugin` document, resolved).
#[derive(Debug, Clone)]
pub struct InstanceSpec {
    pub name: String,
    pub source: PluginSource,
    pub config: serde_json::Value,
    pub grant: Grant,
    /// Values of the granted secrets that are set (name, value).
    pub secret_values: Vec<(String, String)>,
    pub limits: Limits,
}

impl InstanceSpec {
    /// An instance with nothing granted and default limits.
    pub fn new(name: &str, source: PluginSource) -> Self {
        InstanceSpec {
            name: name.to_owned(),
            source,
            config: serde_json::json!({}),
            grant: Grant::default(),
            secret_values: Vec::new(),
            limits: Limits::default(),
        }
    }
}

/// Why a call is made: ids for idempotency and tracing.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// Stable across retries of one attempt; generated when empty.
    pub invocation_id: String,
    pub incident_arn: Option<String>,
    pub execution_id: Option<String>,
    pub step: Option<String>,
    pub attempt: u32,
}

/// Loading plugins and configuring instances.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    #[error("cannot read plugin component {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{source_desc} is not a valid WebAssembly component for Tocsin: {message}")]
    Compile {
        source_desc: String,
        message: String,
    },
    #[error(
        "{source_desc} does not implement the tocsin:plugin/action-plugin@0.1.0 world: {message}"
    )]
    Link {
        source_desc: String,
        message: String,
    },
    #[error("plugin {source_desc} failed to describe itself: {message}")]
    Describe {
        source_desc: String,
        message: String,
    },
    #[error("plugin `{plugin}` manifest is invalid: {message}")]
    Manifest { plugin: String, message: String },
    #[error(
        "there is no built-in plugin `{name}` (built-ins: {known}); use `path:` for a .wasm file"
    )]
    UnknownBuiltin { name: String, known: String },
    #[error("plugin instance `{instance}`: `{field}`: {message}")]
    Grant {
        instance: String,
        field: String,
        message: String,
    },
    #[error(
        "plugin instance `{instance}`: config does not match the plugin's config schema: {message}"
    )]
    Config { instance: String, message: String },
    #[error("plugin instance `{0}` is defined twice; instance names must be unique")]
    DuplicateInstance(String),
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// The kinds of failure a plugin reports itself (the WIT `action-error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionErrorKind {
    InvalidInput,
    Denied,
    Retryable,
    Failed,
}

/// One call failed. Every variant names the instance and action; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error(
        "no plugin instance `{name}` (configured: {known}); define it with a kind: Plugin document"
    )]
    UnknownInstance { name: String, known: String },
    #[error("plugin instance `{instance}` has no action `{action}` (actions: {known})")]
    UnknownAction {
        instance: String,
        action: String,
        known: String,
    },
    #[error("input of `{instance}:{action}` is invalid: {}", .errors.join("; "))]
    InvalidInput {
        instance: String,
        action: String,
        errors: Vec<String>,
    },
    #[error("`{instance}:{action}` was denied: {message}")]
    Denied {
        instance: String,
        action: String,
        message: String,
    },
    #[error("`{instance}:{action}` failed ({kind:?}): {message}")]
    Action {
        instance: String,
        action: String,
        kind: ActionErrorKind,
        message: String,
        /// The provider's Retry-After, when the plugin passed it on.
        retry_after: Option<Duration>,
    },
    #[error(
        "`{instance}:{action}` did not finish within its deadline of {timeout:?}; raise `limits.timeout_ms` if the action needs longer"
    )]
    Timeout {
        instance: String,
        action: String,
        timeout: Duration,
    },
    #[error(
        "`{instance}:{action}` exceeded its memory limit of {limit_mb} MB; raise `limits.memory_mb` if the action needs more"
    )]
    Memory {
        instance: String,
        action: String,
        limit_mb: usize,
    },
    #[error("`{instance}:{action}` crashed: {message}")]
    Trap {
        instance: String,
        action: String,
        message: String,
    },
    #[error(
        "`{instance}:{action}` returned {size} bytes, over its output limit of {limit} bytes; raise `limits.output_kb` if needed"
    )]
    OutputTooLarge {
        instance: String,
        action: String,
        size: usize,
        limit: usize,
    },
    #[error("`{instance}:{action}` returned output that does not match its own output schema: {}", .errors.join("; "))]
    InvalidOutput {
        instance: String,
        action: String,
        errors: Vec<String>,
    },
}

impl InvokeError {
    /// Whether retrying the same call may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            InvokeError::Timeout { .. }
                | InvokeError::Action {
                    kind: ActionErrorKind::Retryable,
                    ..
                }
        )
    }

    /// How long the provider asked us to wait before retrying (HTTP Retry-After), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            InvokeError::Action { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short machine-readable kind, for APIs and receipts.
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::UnknownInstance { .. } => "unknown-instance",
            InvokeError::UnknownAction { .. } => "unknown-action",
            InvokeError::InvalidInput { .. } => "invalid-input",
            InvokeError::Denied { .. } => "denied",
            InvokeError::Action {
                kind: ActionErrorKind::InvalidInput,
                ..
            } => "invalid-input",
            InvokeError::Action {
                kind: ActionErrorKind::Denied,
                ..
            } => "denied",
            InvokeError::Action {
                kind: ActionErrorKind::Retryable,
                ..
            } => "retryable",
            InvokeError::Action {
                kind: ActionErrorKind::Failed,
                ..
            } => "failed",
            InvokeError::Timeout { .. } => "timeout",
            InvokeError::Memory { .. } => "memory-limit",
            InvokeError::Trap { .. } => "trap",
            InvokeError::OutputTooLarge { .. } => "output-too-large",
            InvokeError::InvalidOutput { .. } => "invalid-output",
        }
    }
}
