//! `tocsin exec list | show ID | signal ID SIGNAL [STEP] | cancel ID`.
//!
//! While `tocsin serve` runs, it holds the data directory's database lock, so these commands talk
//! to the server over HTTP (`--server`, default http://127.0.0.1:7600). Only when no server
//! answers do they open `--data-dir` themselves and run the engine in this process (`--local`
//! forces that); a signal sent that way drives the execution on until it ends or waits again.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::exec::{Executor, StartRequest, parse_signal};

use super::{ConfigArgs, OutputFormat};

/// Where executions live: a running server, or the data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The running engine's URL; when it does not answer, the data directory is used.
    #[arg(long, env = "TOCSIN_SERVER", default_value = "http://127.0.0.1:7600")]
    pub server: String,
    /// Do not look for a server: open --data-dir in this process.
    #[arg(long)]
    pub local: bool,
    /// Runbooks directory for child documents (local mode).
    #[arg(long, env = "TOCSIN_RUNBOOKS")]
    pub runbooks: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExecCommand {
    /// Executions, newest last.
    List {
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// One execution with its steps.
    Show {
        id: String,
        #[command(flatten)]
        target: Target,
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Signal an execution: Resume, Approve, Reject, StartStep STEP, StopStep.
    Signal {
        id: String,
        signal: String,
        /// The step to re-run from (StartStep).
        step: Option<String>,
        /// Who approves or rejects (Approve, Reject).
        #[arg(long, env = "USER")]
        approver: Option<String>,
        /// Why (Reject).
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Cancel an execution (a step's onCancel still runs).
    Cancel {
        id: String,
        #[command(flatten)]
        target: Target,
    },
}

/// A server over HTTP, or the engine in this process.
pub enum Backend {
    Http {
        client: reqwest::Client,
        base: String,
    },
    Local(Executor),
}

impl Backend {
    /// The server when it answers `/healthz`, else the data directory.
    pub async fn connect(target: &Target) -> anyhow::Result<Backend> {
        let base = target.server.trim_end_matches('/').to_string();
        if let Some((client, base)) =
            super::probe_server(&base, target.local, Duration::from_secs(30)).await?
        {
            return Ok(Backend::Http { client, base });
        }
        let (_, _, executor) = super::run::start_engine(&target.config, target.runbooks.as_deref())
            .await
            .with_context(|| {
                format!(
                    "no server answered at {base} and the data directory {} could not be used",
                    target.config.data_dir.display()
                )
            })?;
        Ok(Backend::Local(executor))
    }

    pub fn is_local(&self) -> bool {
        matches!(self, Backend::Local(_))
    }

    async fn http(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let Backend::Http { client, base } = self else {
            bail!("not connected to a server")
        };
        let mut req = client.request(method, format!("{base}{path}"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("calling {base}{path}"))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = v["message"].as_str().unwrap_or("no message").to_string();
            let field = v["field"]
                .as_str()
                .map(|f| format!(" (field `{f}`)"))
                .unwrap_or_default();
            bail!("the server refused: {status}{field}: {msg}");
        }
        Ok(v)
    }

    pub async fn start(&self, req: StartRequest, body: Value) -> anyhow::Result<Value> {
        match self {
            Backend::Http { .. } => {
                self.http(reqwest::Method::POST, "/v1/executions", Some(body))
                    .await
            }
            Backend::Local(x) => {
                let s = x.start_execution(req).await?;
                Ok(x.get(&s.id)?)
            }
        }
    }

    pub async fn get(&self, id: &str) -> anyhow::Result<Value> {
        match self {
            Backend::Http { .. } => {
                self.http(reqwest::Method::GET, &format!("/v1/executions/{id}"), None)
                    .await
            }
            Backend::Local(x) => Ok(x.get(id)?),
        }
    }

    async fn list(&self) -> anyhow::Result<Value> {
        match self {
            Backend::Http { .. } => {
                self.http(reqwest::Method::GET, "/v1/executions", None)
                    .await
            }
            Backend::Local(x) => Ok(json!({ "executions": x.list()? })),
        }
    }
}

pub async fn run(cmd: ExecCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ExecCommand::List { target, format } => {
            let b = Backend::connect(&target).await?;
            let v = b.list().await?;
            if format == OutputFormat::Json {
                println!("{v}");
                return Ok(ExitCode::SUCCESS);
            }
            let items = v["executions"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("no executions");
            }
            for e in items {
                println!(
                    "{}  {:<10}  {:<28}  {}",
                    e["id"].as_str().unwrap_or("?"),
                    e["status"].as_str().unwrap_or("?"),
                    e["document"].as_str().unwrap_or("?"),
                    e["current"].as_str().unwrap_or("")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ExecCommand::Show { id, target, format } => {
            let b = Backend::connect(&target).await?;
            let v = b.get(&id).await?;
            match format {
                OutputFormat::Json => println!("{v}"),
                OutputFormat::Text => print_show(&v),
            }
            Ok(ExitCode::SUCCESS)
        }
        ExecCommand::Signal {
            id,
            signal,
            step,
            approver,
            comment,
            target,
        } => {
            let sig = parse_signal(&signal, step.clone(), approver.clone(), comment.clone())?;
            let b = Backend::connect(&target).await?;
            match &b {
                Backend::Http { .. } => {
                    let body = json!({ "signal": signal, "step": step, "approver": approver, "comment": comment });
                    let v = b
                        .http(
                            reqwest::Method::POST,
                            &format!("/v1/executions/{id}/signal"),
                            Some(body),
                        )
                        .await?;
                    println!(
                        "{id}: {signal} accepted; now {}",
                        v["status"].as_str().unwrap_or("?")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Backend::Local(x) => {
                    let before = x.get(&id)?;
                    x.signal(&id, sig).await?;
                    println!("{id}: {signal} accepted");
                    follow(&b, &id, history_len(&before)).await
                }
            }
        }
        ExecCommand::Cancel { id, target } => {
            let b = Backend::connect(&target).await?;
            match &b {
                Backend::Http { .. } => {
                    let v = b
                        .http(
                            reqwest::Method::POST,
                            &format!("/v1/executions/{id}/cancel"),
                            None,
                        )
                        .await?;
                    println!(
                        "{id}: cancel accepted; now {}",
                        v["status"].as_str().unwrap_or("?")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Backend::Local(x) => {
                    let before = x.get(&id)?;
                    x.cancel(&id).await?;
                    println!("{id}: cancel accepted");
                    follow(&b, &id, history_len(&before)).await
                }
            }
        }
    }
}

fn history_len(v: &Value) -> usize {
    v["history"].as_array().map_or(0, Vec::len)
}

fn print_show(v: &Value) {
    println!(
        "execution {}  document {}  status {}",
        v["id"].as_str().unwrap_or("?"),
        v["document"].as_str().unwrap_or("?"),
        v["status"].as_str().unwrap_or("?")
    );
    if let Some(f) = v["failure"].as_str() {
        println!("failure: {f}");
    }
    for s in v["steps"].as_array().cloned().unwrap_or_default() {
        print_step(&s);
    }
    if let Some(w) = v["waiting_for"].as_object() {
        println!(
            "waiting at `{}` for {}",
            w["step"].as_str().unwrap_or("?"),
            w["signals"]
        );
    }
    if v["outputs"].as_object().is_some_and(|o| !o.is_empty()) {
        println!("outputs: {}", v["outputs"]);
    }
}

/// One progress line: status, step, action, duration, failure.
pub fn print_step(s: &Value) {
    let status = s["status"].as_str().unwrap_or("?");
    let mark = match status {
        "Success" => "✓",
        "Failed" | "TimedOut" => "✗",
        "Cancelled" => "⊘",
        _ => "…",
    };
    let dur = s["duration_ms"]
        .as_u64()
        .map_or(String::new(), |ms| format!("{ms} ms"));
    let attempt = s["attempt"]
        .as_u64()
        .filter(|a| *a > 1)
        .map_or(String::new(), |a| format!(" (attempt {a})"));
    let failure = s["failure"]
        .as_str()
        .map_or(String::new(), |f| format!("  {f}"));
    println!(
        "  {mark} {:<24} {:<10} {:<22} {:>9}{attempt}{failure}",
        s["name"].as_str().unwrap_or("?"),
        status,
        s["action"].as_str().unwrap_or(""),
        dur
    );
}

/// Print steps as they end until the execution ends (exit 0 on Success, 1 otherwise) or, in local
/// mode, waits for a signal (exit 2, with how to send it).
pub async fn follow(b: &Backend, id: &str, mut printed: usize) -> anyhow::Result<ExitCode> {
    let mut announced_wait: Option<String> = None;
    loop {
        let v = b.get(id).await?;
        let history = v["history"].as_array().cloned().unwrap_or_default();
        for s in history.iter().skip(printed) {
            print_step(s);
        }
        printed = printed.max(history.len());
        let status = v["status"].as_str().unwrap_or("?");
        if matches!(status, "Success" | "Failed" | "TimedOut" | "Cancelled") {
            let failure = v["failure"]
                .as_str()
                .map_or(String::new(), |f| format!(": {f}"));
            println!("execution {id} {status}{failure}");
            if v["outputs"].as_object().is_some_and(|o| !o.is_empty()) {
                println!("outputs: {}", v["outputs"]);
            }
            return Ok(if status == "Success" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        if let Some(w) = v["waiting_for"].as_object() {
            let step = w["step"].as_str().unwrap_or("?").to_string();
            if announced_wait.as_deref() != Some(step.as_str()) {
                let signals: Vec<&str> = w["signals"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let first = signals.first().copied().unwrap_or("Resume");
                println!(
                    "  … {step:<24} Waiting    {:<22} signal: tocsin exec signal {id} {first}",
                    w["action"].as_str().unwrap_or("")
                );
                announced_wait = Some(step);
                if b.is_local() {
                    println!(
                        "execution {id} is waiting for a signal ({}); its state is saved in the data directory",
                        signals.join(", ")
                    );
                    return Ok(ExitCode::from(2));
                }
            }
        } else {
            announced_wait = None;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}
