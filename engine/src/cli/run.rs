//! `tocsin run FILE -p Name=Value …`: start a runbook and print a line per step as it ends.
//! Uses the running server when one answers (`--server`), else runs the engine in this process on
//! `--data-dir`. Exit status: 0 Success, 1 Failed/TimedOut/Cancelled, 2 waiting for a signal
//! (local mode; continue with `tocsin exec signal`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{Map, Value, json};

use crate::exec::{Documents, Executor, StartRequest};
use crate::plugin::PluginHost;
use crate::runbook::PluginActions;
use crate::store::Store;

use super::exec::{Backend, Target, follow};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The runbook (YAML or JSON). Its directory is searched for child runbooks.
    file: PathBuf,
    /// A parameter, `Name=Value` (repeatable; a StringList as `a,b` or JSON).
    #[arg(short = 'p', long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Print the execution id and return once it is started.
    #[arg(long)]
    detach: bool,
    #[command(flatten)]
    target: Target,
}

/// Open the store, the plugin host and the executor (which resumes unfinished executions).
pub async fn start_engine(
    config: &super::ConfigArgs,
    runbooks: Option<&Path>,
) -> anyhow::Result<(Arc<Store>, Arc<PluginHost>, Executor)> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let store = Arc::new(Store::open(&config.data_dir.join("tocsin.redb"))?);
    let plugins = Arc::new(
        super::plugin::build_host(config, true)
            .await?
            .context("the plugin host did not start")?,
    );
    let mut docs = Documents::new(
        plugins
            .action_schemas()
            .into_iter()
            .collect::<PluginActions>(),
    );
    if let Some(dir) = runbooks {
        let n = docs
            .load_dir(dir)
            .with_context(|| format!("reading the runbooks directory {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), documents = n, "runbooks loaded");
    }
    let executor =
        Executor::start(store.clone(), plugins.clone(), docs).context("starting the executor")?;
    Ok((store, plugins, executor))
}

pub async fn run(mut args: RunArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("reading the runbook {}", args.file.display()))?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("{} is not UTF-8", args.file.display()))?;
    let name = args
        .file
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("runbook")
        .to_string();
    let mut parameters = Map::new();
    for p in &args.parameters {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("parameter `{p}` is not NAME=VALUE (e.g. -p Service=api)"))?;
        parameters.insert(k.trim().to_string(), Value::from(v));
    }
    if args.target.runbooks.is_none() {
        args.target.runbooks = args.file.parent().map(|p| {
            if p.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                p.to_path_buf()
            }
        });
    }
    let backend = Backend::connect(&args.target).await?;
    let body = json!({ "content": text, "document": name, "parameters": parameters });
    let req = StartRequest {
        document: Some(name.clone()),
        content: Some(text),
        parameters,
        ..StartRequest::default()
    };
    let v = backend.start(req, body).await?;
    let id = v["id"].as_str().unwrap_or("?").to_string();
    let where_ = match &backend {
        Backend::Http { base, .. } => format!("on {base}"),
        Backend::Local(_) => format!("locally on {}", args.target.config.data_dir.display()),
    };
    println!("execution {id} of `{name}` started {where_}");
    if args.detach {
        println!("follow it with: tocsin exec show {id}");
        return Ok(ExitCode::SUCCESS);
    }
    follow(&backend, &id, 0).await
}
