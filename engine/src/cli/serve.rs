//! `tocsin serve`: open the data directory, load and precompile plugins, serve HTTP.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;

use crate::server::{AppState, serve};
use crate::store::Store;

use super::ConfigArgs;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on. Loopback by default; expose it deliberately.
    #[arg(long, env = "TOCSIN_LISTEN", default_value = "127.0.0.1:7600")]
    listen: SocketAddr,
    #[command(flatten)]
    config: ConfigArgs,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    if !args.listen.ip().is_loopback() {
        tracing::warn!(listen = %args.listen, "listening on a non-loopback address: put authentication and TLS in front");
    }
    std::fs::create_dir_all(&args.config.data_dir)
        .with_context(|| format!("creating the data directory {}", args.config.data_dir.display()))?;
    let store = Store::open(&args.config.data_dir.join("tocsin.redb"))?;
    let plugins = super::plugin::build_host(&args.config, true)
        .await?
        .context("the plugin host did not start")?;
    tracing::info!(instances = ?plugins.instance_names(), data_dir = %args.config.data_dir.display(), "engine ready");
    serve(Arc::new(AppState { plugins, store }), args.listen).await?;
    Ok(ExitCode::SUCCESS)
}
