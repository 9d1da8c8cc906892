//! `tocsin serve`: open the data directory, load and precompile plugins, serve HTTP.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::server::{AppState, serve_on};

use super::ConfigArgs;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default; expose it deliberately.
    #[arg(long, env = "TOCSIN_LISTEN", default_value = "127.0.0.1:7600")]
    listen: SocketAddr,
    /// Directory of runbooks executions can name (file stem = document name).
    #[arg(long, env = "TOCSIN_RUNBOOKS")]
    runbooks: Option<std::path::PathBuf>,
    /// Base URL responders and providers use to reach this engine (acknowledge links, delivery
    /// callbacks); overrides `publicUrl` of the kind: PagingPolicy document.
    #[arg(long, env = "TOCSIN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Development mode: SNS messages need no signature unless kind: AlertIntake asks for it.
    #[arg(long)]
    dev: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address: put authentication and TLS in front");
    }
    std::fs::create_dir_all(&args.config.data_dir).with_context(|| {
        format!(
            "creating the data directory {}",
            args.config.data_dir.display()
        )
    })?;
    let (store, plugins, executor) =
        super::run::start_engine(&args.config, args.runbooks.as_deref()).await?;
    if let Some(dir) = &args.config.config {
        super::apply::apply_config_dir(&store, &plugins.instance_names(), dir)?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let listening = format!("http://{}", listener.local_addr()?);
    let policy = crate::pager::load_policy(
        args.config.config.as_deref(),
        args.public_url.as_deref(),
        &listening,
    )?;
    let pager = crate::pager::Pager::start(store.clone(), plugins.clone(), policy)
        .context("starting the engagement runtime")?;
    let responder = crate::respond::Responder::start(
        store.clone(),
        pager.clone(),
        executor.clone(),
        plugins.clone(),
    )
    .context("starting the incident runtime")?;
    let intake = crate::config::intake::load_intake(args.config.config.as_deref())?;
    if !intake.verify_sns(args.dev) {
        tracing::warn!("SNS signatures are not verified (development mode)");
    }
    tracing::info!(instances = ?plugins.instance_names(), data_dir = %args.config.data_dir.display(), "engine ready");
    serve_on(
        Arc::new(AppState {
            plugins,
            store,
            executor,
            pager,
            responder,
            intake,
            dev: args.dev,
        }),
        listener,
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}
