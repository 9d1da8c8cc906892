//! `tocsin apply -f DIR|FILE`: load `kind: Contact` and `kind: OnCallSchedule` documents. The
//! whole batch is validated, then committed in one transaction, or nothing is. Sent to the
//! running server when one answers (`--server`), else applied to `--data-dir` in this process.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::OutputFormat;
use super::oncall::{Backend, OncallTarget};
use crate::config::oncall_docs::{plugin_instance_names, read_yaml_files};
use crate::server::oncall::{ApplyReport, OncallApiError, apply_files};
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// A YAML file, or a directory of them (read recursively).
    #[arg(short = 'f', long = "filename")]
    path: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[command(flatten)]
    target: OncallTarget,
}

fn read(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    if path.is_dir() {
        Ok(read_yaml_files(path)?)
    } else {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(vec![(path.display().to_string(), text)])
    }
}

/// Applies the on-call documents of `serve --config DIR` at start-up.
pub fn apply_config_dir(
    store: &Store,
    plugin_instances: &[String],
    dir: &Path,
) -> anyhow::Result<()> {
    let files = read(dir)?;
    let types: Vec<&str> = plugin_instances.iter().map(String::as_str).collect();
    apply_files(store, &files, &types, Timestamp::now())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("applying the on-call documents of {}", dir.display()))?;
    Ok(())
}

pub async fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let files = read(&args.path)?;
    let backend = Backend::connect(&args.target).await?;
    let report: Result<ApplyReport, String> = match &backend {
        Backend::Http { .. } => {
            let body = json!({ "files": files.iter().map(|(p, t)| json!({"path": p, "text": t})).collect::<Vec<_>>() });
            match backend
                .request(reqwest::Method::POST, "/v1/apply", Some(body))
                .await?
            {
                Ok(v) => {
                    Ok(serde_json::from_value(v).context("reading the server's apply report")?)
                }
                Err(v) => Err(refusal(&v)),
            }
        }
        Backend::Local(store) => {
            let mut types = plugin_instance_names(&files);
            types.push("console".into());
            let types: Vec<&str> = types.iter().map(String::as_str).collect();
            match apply_files(store, &files, &types, Timestamp::now()) {
                Ok(r) => Ok(r),
                Err(OncallApiError::Docs(e)) => Err(e.to_string()),
                Err(e) => return Err(anyhow::anyhow!("{e}")),
            }
        }
    };
    match report {
        Ok(r) => {
            match args.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                OutputFormat::Text => print_report(&r, &args.path, &backend),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            eprintln!("error: {msg}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A refusal from the server as lines: the message, then every `file: document: field: rule`.
fn refusal(v: &Value) -> String {
    let mut out = v["message"]
        .as_str()
        .unwrap_or("the server refused the batch")
        .to_owned();
    if v["error"] == "invalid-documents" {
        // The message already lists every problem.
        return out;
    }
    for e in v["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  `{}`: {}",
            e["field"].as_str().unwrap_or("?"),
            e["rule"].as_str().unwrap_or("?")
        ));
    }
    out
}

fn print_report(r: &ApplyReport, path: &Path, backend: &Backend) {
    let list = |v: &[String]| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    println!("applied {} {}", path.display(), backend.describe());
    println!("  contacts created:  {}", list(&r.contacts_created));
    println!("  contacts updated:  {}", list(&r.contacts_updated));
    println!("  schedules created: {}", list(&r.schedules_created));
    println!("  schedules updated: {}", list(&r.schedules_updated));
    if r.skipped > 0 {
        println!(
            "  {} document(s) of other kinds skipped (Plugin documents are read by `serve --config`)",
            r.skipped
        );
    }
    for m in &r.misfits {
        println!(
            "  warning: override {} of rotation {} in {} no longer fits: {}",
            m["id"].as_str().unwrap_or("?"),
            m["rotation"].as_str().unwrap_or("?"),
            m["schedule"].as_str().unwrap_or("?"),
            m["problems"]
        );
    }
}
