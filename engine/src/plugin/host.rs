//! `PluginHost`: one wasmtime `Engine` (epoch interruption), a linker with WASI + wasi:http +
//! the `host` imports, loaded plugins (precompiled, `InstancePre` cached) and configured
//! instances. Every invocation gets a fresh `Store` and instance.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;

use super::bindings::ActionPluginPre;
use super::bindings::tocsin::plugin::types as wit;
use super::cache::{CacheOutcome, CompileCache};
use super::grant::{Capabilities, list_or_none};
use super::redact::Redactor;
use super::sandbox::{CallShared, STDERR_CAPACITY, SandboxState};
use super::{
    ActionErrorKind, ActionSpec, CallContext, InstanceSpec, InvokeError, Limits, Manifest,
    PluginError, PluginSource, RequestedCapabilities, builtin,
};

/// Epoch tick; deadlines are checked at this granularity.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// How the host is set up.
#[derive(Debug, Clone, Default)]
pub struct HostOptions {
    /// Where precompiled components are cached; `None` compiles in memory each start.
    pub cache: Option<CompileCache>,
}

/// A loaded plugin: its manifest, compiled validators and pre-linked component.
struct LoadedPlugin {
    manifest: Manifest,
    source: PluginSource,
    pre: ActionPluginPre<SandboxState>,
    actions: BTreeMap<String, LoadedAction>,
    config_validator: jsonschema::Validator,
    cache: CacheOutcome,
}

struct LoadedAction {
    input: jsonschema::Validator,
    output: jsonschema::Validator,
}

/// A configured instance of a plugin.
struct Instance {
    name: Arc<str>,
    plugin: Arc<LoadedPlugin>,
    plugin_name: Arc<str>,
    config_json: Arc<str>,
    caps: Arc<Capabilities>,
    secrets: Arc<Vec<(String, String)>>,
    redactor: Arc<Redactor>,
    limits: Limits,
}

/// Summary of an instance for `plugin list`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InstanceInfo {
    pub name: String,
    pub plugin: String,
    pub version: String,
    pub source: String,
    pub actions: Vec<String>,
    pub granted_http: Vec<String>,
    pub granted_tcp: Vec<String>,
    pub granted_secrets: Vec<String>,
    pub limits: Limits,
    pub cache: String,
}

pub struct PluginHost {
    engine: Engine,
    linker: Linker<SandboxState>,
    options: HostOptions,
    plugins: BTreeMap<PluginSource, Arc<LoadedPlugin>>,
    instances: BTreeMap<String, Instance>,
    instance_specs: BTreeMap<String, InstanceSpec>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("instances", &self.instances.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PartialOrd for PluginSource {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PluginSource {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.to_string().cmp(&other.to_string())
    }
}

impl PluginHost {
    pub fn new(options: HostOptions) -> Result<Self, PluginError> {
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(1024 * 1024)
            .async_stack_size(4 * 1024 * 1024)
            .cranelift_opt_level(wasmtime::OptLevel::Speed)
            .allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(
                pooling_config(),
            ));
        let engine = Engine::new(&config).map_err(|e| PluginError::Engine(e.to_string()))?;
        spawn_epoch_ticker(&engine);

        let mut linker: Linker<SandboxState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| PluginError::Engine(e.to_string()))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| PluginError::Engine(e.to_string()))?;
        super::bindings::ActionPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)
            .map_err(|e| PluginError::Engine(e.to_string()))?;
        Ok(PluginHost {
            engine,
            linker,
            options,
            plugins: BTreeMap::new(),
            instances: BTreeMap::new(),
            instance_specs: BTreeMap::new(),
        })
    }

    /// Load (compile or fetch from the cache) a plugin, and read its manifest.
    pub async fn load(&mut self, source: &PluginSource) -> Result<Manifest, PluginError> {
        if let Some(p) = self.plugins.get(source) {
            return Ok(p.manifest.clone());
        }
        let bytes: std::borrow::Cow<'static, [u8]> = match source {
            PluginSource::Builtin(name) => builtin::builtin(name)
                .map(std::borrow::Cow::Borrowed)
                .ok_or_else(|| PluginError::UnknownBuiltin {
                name: name.clone(),
                known: builtin::BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            })?,
            PluginSource::Path(path) => {
                std::borrow::Cow::Owned(std::fs::read(path).map_err(|source| {
                    PluginError::Read {
                        path: path.clone(),
                        source,
                    }
                })?)
            }
        };
        let plugin = self.compile(source, &bytes).await?;
        let manifest = plugin.manifest.clone();
        self.plugins.insert(source.clone(), Arc::new(plugin));
        Ok(manifest)
    }

    async fn compile(
        &self,
        source: &PluginSource,
        bytes: &[u8],
    ) -> Result<LoadedPlugin, PluginError> {
        let source_desc = source.to_string();
        let engine = self.engine.clone();
        let cache = self.options.cache.clone();
        let owned = bytes.to_vec();
        // Compilation is CPU-bound and can take seconds for large components.
        let compiled = tokio::task::spawn_blocking(move || match &cache {
            Some(cache) => cache.load_or_compile(&engine, &owned),
            None => Component::new(&engine, &owned).map(|c| (c, CacheOutcome::Compiled)),
        })
        .await
        .map_err(|e| PluginError::Compile {
            source_desc: source_desc.clone(),
            message: e.to_string(),
        })?;
        let (component, cache_outcome) = compiled.map_err(|e| PluginError::Compile {
            source_desc: source_desc.clone(),
            message: format!("{e:#}"),
        })?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| PluginError::Link {
                source_desc: source_desc.clone(),
                message: format!("{e:#}"),
            })?;
        let pre = ActionPluginPre::new(pre).map_err(|e| PluginError::Link {
            source_desc: source_desc.clone(),
            message: format!("{e:#}"),
        })?;

        // describe() runs sandboxed like any call, with nothing granted.
        let shared = Arc::new(CallShared {
            plugin: Arc::from(source_desc.as_str()),
            instance: Arc::from("(describe)"),
            invocation_id: "describe".into(),
            caps: Arc::new(Capabilities::default()),
            redactor: Arc::new(Redactor::default()),
            denials: Default::default(),
        });
        let limits = Limits::default();
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let state = SandboxState::new(
            shared,
            &limits,
            Arc::from("{}"),
            Arc::new(Vec::new()),
            stderr.clone(),
        );
        let mut store = new_store(&self.engine, state, Instant::now() + limits.timeout);
        let described = tokio::time::timeout(limits.timeout, async {
            let bindings = pre.instantiate_async(&mut store).await?;
            bindings.call_describe(&mut store).await
        })
        .await;
        let raw = match described {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                return Err(PluginError::Describe {
                    source_desc,
                    message: trap_message(&e, &stderr),
                });
            }
            Err(_) => {
                return Err(PluginError::Describe {
                    source_desc,
                    message: format!("did not answer within {:?}", limits.timeout),
                });
            }
        };
        let manifest = parse_manifest(raw)?;
        let mut actions = BTreeMap::new();
        for a in &manifest.actions {
            let compile = |which: &str, schema: &serde_json::Value| {
                jsonschema::validator_for(schema).map_err(|e| PluginError::Manifest {
                    plugin: manifest.name.clone(),
                    message: format!(
                        "action `{}`: {which} schema is not a valid JSON Schema: {e}",
                        a.name
                    ),
                })
            };
            actions.insert(
                a.name.clone(),
                LoadedAction {
                    input: compile("input", &a.input_schema)?,
                    output: compile("output", &a.output_schema)?,
                },
            );
        }
        let config_validator = jsonschema::validator_for(&manifest.config_schema).map_err(|e| {
            PluginError::Manifest {
                plugin: manifest.name.clone(),
                message: format!("config schema is not a valid JSON Schema: {e}"),
            }
        })?;
        tracing::info!(plugin = %manifest.name, version = %manifest.version, source = %source_desc, cache = ?cache_outcome, actions = manifest.actions.len(), "plugin loaded");
        Ok(LoadedPlugin {
            manifest,
            source: source.clone(),
            pre,
            actions,
            config_validator,
            cache: cache_outcome,
        })
    }

    /// Configure an instance: load its plugin, intersect capabilities, check its config.
    pub async fn add_instance(&mut self, spec: InstanceSpec) -> Result<(), PluginError> {
        if self.instances.contains_key(&spec.name) {
            return Err(PluginError::DuplicateInstance(spec.name));
        }
        self.load(&spec.source).await?;
        let plugin = self
            .plugins
            .get(&spec.source)
            .cloned()
            .ok_or_else(|| PluginError::Engine("plugin vanished".into()))?;
        let caps = Capabilities::intersect(&spec.name, &plugin.manifest.requests, &spec.grant)?;
        let errors: Vec<String> = plugin
            .config_validator
            .iter_errors(&spec.config)
            .map(|e| format_schema_error(&e))
            .collect();
        if !errors.is_empty() {
            return Err(PluginError::Config {
                instance: spec.name.clone(),
                message: errors.join("; "),
            });
        }
        let limits = spec.limits;
        if limits.memory_bytes > Limits::MAX_MEMORY_BYTES
            || limits.timeout > Limits::MAX_TIMEOUT
            || limits.output_bytes > Limits::MAX_OUTPUT_BYTES
        {
            return Err(PluginError::Grant {
                instance: spec.name.clone(),
                field: "limits".into(),
                message: format!(
                    "over the engine's maxima (memory {} MB, timeout {:?}, output {} KB)",
                    Limits::MAX_MEMORY_BYTES / (1024 * 1024),
                    Limits::MAX_TIMEOUT,
                    Limits::MAX_OUTPUT_BYTES / 1024
                ),
            });
        }
        let secrets: Vec<(String, String)> = spec
            .secret_values
            .iter()
            .filter(|(n, _)| caps.allows_secret(n))
            .cloned()
            .collect();
        for name in caps.secret_names() {
            if !secrets.iter().any(|(n, _)| n == name) {
                tracing::warn!(instance = %spec.name, secret = %name, "granted secret has no value; set TOCSIN_SECRET_<NAME> or add it to the secrets file");
            }
        }
        let instance = Instance {
            name: Arc::from(spec.name.as_str()),
            plugin_name: Arc::from(plugin.manifest.name.as_str()),
            plugin,
            config_json: Arc::from(spec.config.to_string()),
            caps: Arc::new(caps),
            redactor: Arc::new(Redactor::new(secrets.clone())),
            secrets: Arc::new(secrets),
            limits,
        };
        self.instance_specs.insert(spec.name.clone(), spec.clone());
        self.instances.insert(spec.name, instance);
        Ok(())
    }

    pub fn instance_names(&self) -> Vec<String> {
        self.instances.keys().cloned().collect()
    }

    pub fn instances(&self) -> Vec<InstanceInfo> {
        self.instances
            .values()
            .map(|i| {
                let spec = &self.instance_specs[&*i.name];
                InstanceInfo {
                    name: i.name.to_string(),
                    plugin: i.plugin.manifest.name.clone(),
                    version: i.plugin.manifest.version.clone(),
                    source: i.plugin.source.to_string(),
                    actions: i
                        .plugin
                        .manifest
                        .actions
                        .iter()
                        .map(|a| a.name.clone())
                        .collect(),
                    granted_http: spec.grant.http.clone(),
                    granted_tcp: spec.grant.tcp.clone(),
                    granted_secrets: spec.grant.secrets.clone(),
                    limits: i.limits,
                    cache: format!("{:?}", i.plugin.cache).to_lowercase(),
                }
            })
            .collect()
    }

    /// The manifest of an instance's plugin.
    pub fn manifest(&self, instance: &str) -> Option<&Manifest> {
        self.instances.get(instance).map(|i| &i.plugin.manifest)
    }

    /// Every `instance:action` name with its input schema (for runbook validation).
    pub fn action_schemas(&self) -> BTreeMap<String, serde_json::Value> {
        let mut out = BTreeMap::new();
        for (name, i) in &self.instances {
            for a in &i.plugin.manifest.actions {
                out.insert(format!("{name}:{}", a.name), a.input_schema.clone());
            }
        }
        out
    }

    /// Run `action` of `instance` with `input` (JSON text) in a fresh sandbox.
    pub async fn invoke(
        &self,
        instance: &str,
        action: &str,
        input: &serde_json::Value,
        call: CallContext,
    ) -> Result<serde_json::Value, InvokeError> {
        let inst = self
            .instances
            .get(instance)
            .ok_or_else(|| InvokeError::UnknownInstance {
                name: instance.to_owned(),
                known: list_or_none(&self.instance_names()),
            })?;
        let name = || inst.name.to_string();
        let loaded = inst
            .plugin
            .actions
            .get(action)
            .ok_or_else(|| InvokeError::UnknownAction {
                instance: name(),
                action: action.to_owned(),
                known: inst
                    .plugin
                    .actions
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        let errors: Vec<String> = loaded
            .input
            .iter_errors(input)
            .take(10)
            .map(|e| format_schema_error(&e))
            .collect();
        if !errors.is_empty() {
            return Err(InvokeError::InvalidInput {
                instance: name(),
                action: action.to_owned(),
                errors,
            });
        }
        let input_text = input.to_string();

        let invocation_id = if call.invocation_id.is_empty() {
            uuid::Uuid::now_v7().to_string()
        } else {
            call.invocation_id
        };
        let started = Instant::now();
        let deadline = started + inst.limits.timeout;
        let shared = Arc::new(CallShared {
            plugin: inst.plugin_name.clone(),
            instance: inst.name.clone(),
            invocation_id: invocation_id.clone(),
            caps: inst.caps.clone(),
            redactor: inst.redactor.clone(),
            denials: Default::default(),
        });
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        let state = SandboxState::new(
            shared.clone(),
            &inst.limits,
            inst.config_json.clone(),
            inst.secrets.clone(),
            stderr.clone(),
        );
        let mut store = new_store(&self.engine, state, deadline);
        let ctx = wit::Context {
            invocation_id: invocation_id.clone(),
            instance: inst.name.to_string(),
            incident_arn: call.incident_arn,
            execution_id: call.execution_id,
            step: call.step,
            attempt: call.attempt.max(1),
            deadline_unix_ms: deadline_unix_ms(inst.limits.timeout),
        };
        let pre = &inst.plugin.pre;
        let outcome = tokio::time::timeout(inst.limits.timeout, async {
            let bindings = pre.instantiate_async(&mut store).await?;
            bindings
                .call_invoke(&mut store, &ctx, action, &input_text)
                .await
        })
        .await;

        let dropped = store.data().dropped_log_lines;
        if dropped > 0 {
            tracing::warn!(plugin = %inst.plugin_name, instance = %inst.name, %invocation_id, dropped, "plugin log lines over the per-call limit were dropped");
        }
        drop(store);
        let stderr_text = String::from_utf8_lossy(&stderr.contents()).into_owned();
        if !stderr_text.trim().is_empty() {
            tracing::warn!(plugin = %inst.plugin_name, instance = %inst.name, %invocation_id, stderr = %inst.redactor.redact(stderr_text.trim()), "plugin wrote to stderr");
        }
        let denials = shared.take_denials();
        let redact = |s: &str| inst.redactor.redact(s).into_owned();
        let result = match outcome {
            Err(_elapsed) => Err(InvokeError::Timeout {
                instance: name(),
                action: action.to_owned(),
                timeout: inst.limits.timeout,
            }),
            Ok(Err(trap)) => Err(classify_trap(
                &trap,
                inst,
                action,
                deadline,
                &stderr_text,
                &redact,
            )),
            Ok(Ok(Err(action_error))) => {
                let mut retry_after = None;
                let (kind, message) = match action_error {
                    wit::ActionError::InvalidInput(m) => (ActionErrorKind::InvalidInput, m),
                    wit::ActionError::Denied(m) => (ActionErrorKind::Denied, m),
                    wit::ActionError::Retryable(m) => (ActionErrorKind::Retryable, m),
                    wit::ActionError::RetryLater(r) => {
                        // A provider asking for hours is capped: the caller's own deadline rules.
                        retry_after =
                            Some(Duration::from_millis(r.after_ms.min(MAX_RETRY_AFTER_MS)));
                        (ActionErrorKind::Retryable, r.message)
                    }
                    wit::ActionError::Failed(m) => (ActionErrorKind::Failed, m),
                };
                // A denial the plugin recovered from (an optional secret) is not the error.
                if kind == ActionErrorKind::Denied && !denials.is_empty() {
                    // The host knows which capability was refused and how to grant it.
                    Err(InvokeError::Denied {
                        instance: name(),
                        action: action.to_owned(),
                        message: redact(&denials.join("; ")),
                    })
                } else {
                    Err(InvokeError::Action {
                        instance: name(),
                        action: action.to_owned(),
                        kind,
                        message: redact(&message),
                        retry_after,
                    })
                }
            }
            Ok(Ok(Ok(output))) => check_output(inst, loaded, action, &output, &redact),
        };
        tracing::debug!(plugin = %inst.plugin_name, instance = %inst.name, %action, %invocation_id, elapsed_us = started.elapsed().as_micros() as u64, ok = result.is_ok(), "plugin invocation");
        crate::metrics::plugin_call(
            &inst.name,
            action,
            result.is_ok(),
            started.elapsed().as_secs_f64(),
        );
        result
    }
}

/// The longest Retry-After the host honours (one hour).
const MAX_RETRY_AFTER_MS: u64 = 3_600_000;

fn check_output(
    inst: &Instance,
    loaded: &LoadedAction,
    action: &str,
    output: &str,
    redact: &dyn Fn(&str) -> String,
) -> Result<serde_json::Value, InvokeError> {
    let name = || inst.name.to_string();
    if output.len() > inst.limits.output_bytes {
        return Err(InvokeError::OutputTooLarge {
            instance: name(),
            action: action.to_owned(),
            size: output.len(),
            limit: inst.limits.output_bytes,
        });
    }
    let redacted = redact(output);
    let value: serde_json::Value =
        serde_json::from_str(&redacted).map_err(|e| InvokeError::InvalidOutput {
            instance: name(),
            action: action.to_owned(),
            errors: vec![format!("output is not JSON: {e}")],
        })?;
    let errors: Vec<String> = loaded
        .output
        .iter_errors(&value)
        .take(10)
        .map(|e| format_schema_error(&e))
        .collect();
    if !errors.is_empty() {
        return Err(InvokeError::InvalidOutput {
            instance: name(),
            action: action.to_owned(),
            errors,
        });
    }
    Ok(value)
}

fn classify_trap(
    trap: &wasmtime::Error,
    inst: &Instance,
    action: &str,
    deadline: Instant,
    stderr: &str,
    redact: &dyn Fn(&str) -> String,
) -> InvokeError {
    let instance = inst.name.to_string();
    let action = action.to_owned();
    if Instant::now() >= deadline {
        return InvokeError::Timeout {
            instance,
            action,
            timeout: inst.limits.timeout,
        };
    }
    let text = format!("{trap:#}");
    let is_memory = text.contains("memory minimum size")
        || text.contains("forcing trap when growing memory")
        || text.contains("memory.grow")
        || matches!(
            trap.downcast_ref::<wasmtime::Trap>(),
            Some(wasmtime::Trap::AllocationTooLarge)
        );
    if is_memory {
        return InvokeError::Memory {
            instance,
            action,
            limit_mb: inst.limits.memory_bytes / (1024 * 1024),
        };
    }
    let mut message = match trap.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => "stack overflow (call stack exhausted)".to_owned(),
        Some(wasmtime::Trap::UnreachableCodeReached) => {
            "trap: unreachable code reached (a panic or abort)".to_owned()
        }
        Some(t) => format!("trap: {t}"),
        None => trap.root_cause().to_string(),
    };
    let panic_line = stderr
        .lines()
        .find(|l| l.contains("panicked at"))
        .map(str::trim);
    if let Some(line) = panic_line {
        let detail: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.contains("panicked at"))
            .take(3)
            .collect();
        message = format!(
            "{message}; {}",
            if detail.is_empty() {
                line.to_owned()
            } else {
                detail.join(" ")
            }
        );
    }
    InvokeError::Trap {
        instance,
        action,
        message: redact(&message),
    }
}

fn trap_message(trap: &wasmtime::Error, stderr: &MemoryOutputPipe) -> String {
    let text = String::from_utf8_lossy(&stderr.contents()).into_owned();
    format!("{trap:#} {}", text.trim())
}

fn new_store(engine: &Engine, state: SandboxState, deadline: Instant) -> Store<SandboxState> {
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limits);
    store.set_epoch_deadline(1);
    // Every tick, yield to the executor (so a busy plugin cannot starve others on this worker)
    // or trap once the deadline has passed.
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Err(wasmtime::Error::msg("plugin call exceeded its deadline"))
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store
}

/// Concurrent plugin calls the pool has slots for; a call beyond this fails to instantiate
/// (and is reported as a trap of that call) rather than exhausting the machine.
pub const MAX_CONCURRENT_CALLS: u32 = 1000;

const KEEP_RESIDENT: usize = 2 * 1024 * 1024;

/// The pooling allocator: instance memories come from pre-reserved slots, so a call costs no
/// mmap/munmap of a fresh 4 GiB reservation (the dominant cost of on-demand instantiation).
fn pooling_config() -> wasmtime::PoolingAllocationConfig {
    let mut pool = wasmtime::PoolingAllocationConfig::default();
    pool.total_component_instances(MAX_CONCURRENT_CALLS)
        .total_core_instances(MAX_CONCURRENT_CALLS * 4)
        .total_memories(MAX_CONCURRENT_CALLS * 2)
        .total_tables(MAX_CONCURRENT_CALLS * 4)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .max_core_instances_per_component(64)
        .max_memory_size(Limits::MAX_MEMORY_BYTES)
        // Keep a little of each memory resident between calls: fewer page faults per call.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(16 * 1024)
        .async_stack_keep_resident(128 * 1024)
        // Linux ≥ 6.7: reset only the pages a call dirtied (memset), so they stay resident and
        // the next call takes no page faults on them; older kernels fall back to the above.
        .pagemap_scan(wasmtime::Enabled::Auto);
    pool
}

fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new()
        .name("tocsin-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match weak.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => break,
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the epoch ticker; plugin deadlines rely on the call timeout alone");
    }
}

fn deadline_unix_ms(timeout: Duration) -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    u64::try_from((now + timeout).as_millis()).unwrap_or(u64::MAX)
}

fn format_schema_error(e: &jsonschema::ValidationError<'_>) -> String {
    let path = e.instance_path().to_string();
    if path.is_empty() {
        format!("(root): {e}")
    } else {
        format!("{path}: {e}")
    }
}

fn parse_manifest(raw: wit::Manifest) -> Result<Manifest, PluginError> {
    let plugin = raw.name.clone();
    let bad = |message: String| PluginError::Manifest {
        plugin: plugin.clone(),
        message,
    };
    if raw.name.is_empty()
        || !raw
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad(format!(
            "name `{}` must be non-empty [A-Za-z0-9_-]",
            raw.name
        )));
    }
    let parse = |what: &str, text: &str| -> Result<serde_json::Value, PluginError> {
        serde_json::from_str(text).map_err(|e| bad(format!("{what} is not JSON: {e}")))
    };
    let mut actions = Vec::new();
    for a in raw.actions {
        if a.name.is_empty() || a.name.contains(':') || a.name.contains(char::is_whitespace) {
            return Err(bad(format!(
                "action name `{}` must be non-empty, without ':' or spaces",
                a.name
            )));
        }
        if actions.iter().any(|x: &ActionSpec| x.name == a.name) {
            return Err(bad(format!("action `{}` is declared twice", a.name)));
        }
        actions.push(ActionSpec {
            input_schema: parse(
                &format!("action `{}` input schema", a.name),
                &a.input_schema,
            )?,
            output_schema: parse(
                &format!("action `{}` output schema", a.name),
                &a.output_schema,
            )?,
            name: a.name,
            description: a.description,
        });
    }
    Ok(Manifest {
        config_schema: parse("config schema", &raw.config_schema)?,
        name: raw.name,
        version: raw.version,
        description: raw.description,
        actions,
        requests: RequestedCapabilities {
            http: raw.requests.http,
            tcp: raw.requests.tcp,
            secrets: raw.requests.secrets,
        },
    })
}
