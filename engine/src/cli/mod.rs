//! The `tocsin` subcommands: `serve`, `plugin list|describe|invoke`, `validate`, `run`, `exec`,
//! `apply`, `oncall`, `engagement`, `page`, `incident`.

mod apply;
mod engage;
mod exec;
mod http;
mod incident;
mod oncall;
mod plugin;
mod run;
mod serve;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Incident-response engine: YAML runbooks and escalations, every side effect a sandboxed WebAssembly plugin"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TOCSIN_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

/// Where configuration comes from; shared by the commands that load plugins.
#[derive(Debug, Clone, clap::Args)]
pub struct ConfigArgs {
    /// Directory of YAML configuration documents (`kind: Plugin`, …).
    #[arg(long, env = "TOCSIN_CONFIG")]
    pub config: Option<PathBuf>,
    /// YAML file mapping secret names to values (else `TOCSIN_SECRET_<NAME>` variables).
    #[arg(long, env = "TOCSIN_SECRETS_FILE")]
    pub secrets_file: Option<PathBuf>,
    /// Directory of the engine's data (the redb file, the plugin compile cache).
    #[arg(long, env = "TOCSIN_DATA_DIR", default_value = "./tocsin-data")]
    pub data_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the engine: HTTP API on loopback, plugins loaded and precompiled.
    Serve(serve::ServeArgs),
    /// Inspect and try plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Check runbooks (files or directories) and report located diagnostics.
    Validate(validate::ValidateArgs),
    /// Run a runbook and print a line per step (uses a running server, else --data-dir).
    Run(run::RunArgs),
    /// List, show, signal and cancel runbook executions.
    #[command(subcommand)]
    Exec(exec::ExecCommand),
    /// Load contacts and on-call schedules (kind: Contact, kind: OnCallSchedule) from YAML.
    Apply(apply::ApplyArgs),
    /// Who is on call, the next hand-off, and shifts as a week view.
    #[command(subcommand)]
    Oncall(oncall::OncallCommand),
    /// Start, stop, show, list and escalate engagements (needs a running `tocsin serve`).
    #[command(subcommand)]
    Engagement(engage::EngagementCommand),
    /// List and show pages, and acknowledge one with its code (needs a running `tocsin serve`).
    #[command(subcommand)]
    Page(engage::PageCommand),
    /// Start, list, show, update, resolve and annotate incidents (needs a running `tocsin serve`).
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Plugin(cmd) => plugin::run(cmd).await,
            Command::Validate(args) => validate::run(args).await,
            Command::Run(args) => run::run(args).await,
            Command::Exec(cmd) => exec::run(cmd).await,
            Command::Apply(args) => apply::run(args).await,
            Command::Oncall(cmd) => oncall::run(cmd).await,
            Command::Engagement(cmd) => engage::run_engagement(cmd).await,
            Command::Page(cmd) => engage::run_page(cmd).await,
            Command::Incident(cmd) => incident::run(cmd).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TOCSIN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,wasmtime=warn,cranelift=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// The server at `base` with an HTTP client (request timeout `timeout`) when its `/healthz`
/// answers, unless `local` asks for the data directory. State-changing commands go through a
/// running server because redb holds an exclusive lock on the data directory while it runs.
pub(crate) async fn probe_server(
    base: &str,
    local: bool,
    timeout: std::time::Duration,
) -> anyhow::Result<Option<(reqwest::Client, String)>> {
    use anyhow::Context as _;
    if local {
        return Ok(None);
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .context("building the HTTP client")?;
    let probe = client
        .get(format!("{base}/healthz"))
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await;
    match probe {
        Ok(r) if r.status().is_success() => return Ok(Some((client, base.to_owned()))),
        Ok(r) => {
            tracing::debug!(server = %base, status = %r.status(), "server answered /healthz with an error; using the data directory")
        }
        Err(e) => {
            tracing::debug!(server = %base, error = %e, "no server answers; using the data directory")
        }
    }
    Ok(None)
}
