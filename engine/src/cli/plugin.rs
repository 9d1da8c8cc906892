//! `tocsin plugin list | describe | invoke`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use crate::config::{SecretStore, load_config_dir};
use crate::plugin::{
    CallContext, CompileCache, HostOptions, InstanceSpec, PluginHost, PluginSource, builtin,
};

use super::{ConfigArgs, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Configured plugin instances and the built-in plugins.
    List {
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Actions, schemas and requested capabilities of an instance, a built-in or a .wasm file.
    Describe {
        /// Instance name, built-in plugin name, or path to a .wasm component.
        name: String,
        #[command(flatten)]
        config: ConfigArgs,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Run one action (for plugin authors). Prints the output JSON; exit 1 on error.
    Invoke {
        /// Instance name, built-in plugin name, or path to a .wasm component.
        name: String,
        action: String,
        /// Input document (JSON).
        #[arg(long, default_value = "{}")]
        input: String,
        /// Grant an HTTP origin to an ad-hoc instance (built-in or .wasm), e.g. https://example.com.
        #[arg(long = "allow-http")]
        allow_http: Vec<String>,
        /// Grant a TCP host:port to an ad-hoc instance.
        #[arg(long = "allow-tcp")]
        allow_tcp: Vec<String>,
        /// Grant a secret (its value from TOCSIN_SECRET_<NAME> or --secrets-file) to an ad-hoc instance.
        #[arg(long = "secret")]
        secrets: Vec<String>,
        /// Instance configuration for an ad-hoc instance (JSON).
        #[arg(long = "plugin-config")]
        plugin_config: Option<String>,
        #[command(flatten)]
        config: ConfigArgs,
    },
}

/// Name of the instance every fresh install has: the console notification channel.
pub const DEFAULT_CONSOLE_INSTANCE: &str = "console";

/// The host with the configured instances (plus the default `console` instance).
pub async fn build_host(cfg: &ConfigArgs, use_cache: bool) -> anyhow::Result<Option<PluginHost>> {
    let host = build_host_with(cfg, use_cache, None).await?;
    Ok(Some(host))
}

async fn build_host_with(
    cfg: &ConfigArgs,
    use_cache: bool,
    extra: Option<InstanceSpec>,
) -> anyhow::Result<PluginHost> {
    let secrets = load_secrets(cfg)?;
    let mut specs = match &cfg.config {
        Some(dir) => load_config_dir(dir, &secrets)?,
        None => Vec::new(),
    };
    if !specs.iter().any(|s| s.name == DEFAULT_CONSOLE_INSTANCE) {
        specs.push(InstanceSpec::new(
            DEFAULT_CONSOLE_INSTANCE,
            PluginSource::Builtin("console".into()),
        ));
    }
    specs.extend(extra);
    let cache = (use_cache || cfg.data_dir.exists())
        .then(|| CompileCache::new(cfg.data_dir.join("plugin-cache")));
    let mut host = PluginHost::new(HostOptions { cache })?;
    for spec in specs {
        let name = spec.name.clone();
        host.add_instance(spec)
            .await
            .with_context(|| format!("configuring plugin instance `{name}`"))?;
    }
    Ok(host)
}

pub fn load_secrets(cfg: &ConfigArgs) -> anyhow::Result<SecretStore> {
    Ok(match &cfg.secrets_file {
        Some(path) => SecretStore::from_file(path)?,
        None => SecretStore::default(),
    })
}

/// `NAME` as an instance: a configured one, else an ad-hoc instance of a built-in or a .wasm.
fn ad_hoc_source(name: &str) -> Option<PluginSource> {
    if name.ends_with(".wasm") || name.contains('/') {
        Some(PluginSource::Path(PathBuf::from(name)))
    } else if builtin::builtin(name).is_some() {
        Some(PluginSource::Builtin(name.to_owned()))
    } else {
        None
    }
}

pub async fn run(cmd: PluginCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PluginCommand::List { config, format } => {
            let host = build_host_with(&config, false, None).await?;
            let instances = host.instances();
            match format {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "instances": instances,
                        "builtins": builtin::BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
                    }))?
                ),
                OutputFormat::Text => {
                    println!(
                        "{:<16} {:<12} {:<9} {:<28} GRANTS",
                        "INSTANCE", "PLUGIN", "VERSION", "ACTIONS"
                    );
                    for i in &instances {
                        let mut grants = Vec::new();
                        grants.extend(i.granted_http.iter().map(|h| format!("http {h}")));
                        grants.extend(i.granted_tcp.iter().map(|t| format!("tcp {t}")));
                        grants.extend(i.granted_secrets.iter().map(|s| format!("secret {s}")));
                        println!(
                            "{:<16} {:<12} {:<9} {:<28} {}",
                            i.name,
                            i.plugin,
                            i.version,
                            i.actions.join(","),
                            if grants.is_empty() {
                                "-".to_owned()
                            } else {
                                grants.join(", ")
                            }
                        );
                    }
                    println!();
                    println!(
                        "built-in plugins: {}",
                        builtin::BUILTIN
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Describe {
            name,
            config,
            format,
        } => {
            let mut host = build_host_with(&config, false, None).await?;
            let manifest = match host.manifest(&name) {
                Some(m) => m.clone(),
                None => {
                    let source = ad_hoc_source(&name).with_context(|| {
                        format!("`{name}` is neither a configured instance ({}) nor a built-in plugin nor a .wasm path", host.instance_names().join(", "))
                    })?;
                    host.load(&source).await?
                }
            };
            match format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&manifest)?),
                OutputFormat::Text => {
                    println!(
                        "{} {} — {}",
                        manifest.name, manifest.version, manifest.description
                    );
                    println!(
                        "requests: http [{}]  tcp [{}]  secrets [{}]",
                        manifest.requests.http.join(", "),
                        manifest.requests.tcp.join(", "),
                        manifest.requests.secrets.join(", ")
                    );
                    println!("config schema: {}", manifest.config_schema);
                    for a in &manifest.actions {
                        println!();
                        println!("action {} — {}", a.name, a.description);
                        println!("  input:  {}", a.input_schema);
                        println!("  output: {}", a.output_schema);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PluginCommand::Invoke {
            name,
            action,
            input,
            allow_http,
            allow_tcp,
            secrets,
            plugin_config,
            config,
        } => {
            let input: serde_json::Value = serde_json::from_str(&input)
                .with_context(|| format!("--input is not JSON: {input}"))?;
            let probe = build_host_with(&config, false, None).await?;
            let (host, instance) = if probe.manifest(&name).is_some() {
                (probe, name.clone())
            } else {
                let source = ad_hoc_source(&name).with_context(|| {
                    format!("`{name}` is neither a configured instance ({}) nor a built-in plugin nor a .wasm path", probe.instance_names().join(", "))
                })?;
                let store = load_secrets(&config)?;
                let mut spec = InstanceSpec::new("adhoc", source);
                spec.grant.http = allow_http;
                spec.grant.tcp = allow_tcp;
                spec.secret_values = secrets
                    .iter()
                    .filter_map(|n| store.get(n).map(|v| (n.clone(), v)))
                    .collect();
                spec.grant.secrets = secrets;
                if let Some(c) = plugin_config {
                    spec.config =
                        serde_json::from_str(&c).with_context(|| "--plugin-config is not JSON")?;
                }
                (
                    build_host_with(&config, false, Some(spec)).await?,
                    "adhoc".to_owned(),
                )
            };
            match host
                .invoke(&instance, &action, &input, CallContext::default())
                .await
            {
                Ok(output) => {
                    println!("{}", serde_json::to_string_pretty(&output)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error ({}): {e}", e.kind());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
