//! `tocsin oncall now|next|shifts --schedule ALIAS`: who is on call, the next hand-off, and the
//! shifts of a window as a terminal week view (one column per day). Like the other client
//! commands it asks the running server (`--server`, default http://127.0.0.1:7600) because
//! `serve` holds the redb lock; when no server answers it opens `--data-dir` read-only itself.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::Value;

use super::{ConfigArgs, OutputFormat};
use crate::server::oncall::{query_next_handoff, query_on_call, query_shifts};
use crate::store::Store;

/// Where on-call state lives: a running server, or the data directory.
#[derive(Debug, Clone, clap::Args)]
pub struct OncallTarget {
    /// The running engine's URL; when it does not answer, the data directory is used.
    #[arg(long, env = "TOCSIN_SERVER", default_value = "http://127.0.0.1:7600")]
    pub server: String,
    /// Do not look for a server: open --data-dir in this process.
    #[arg(long)]
    pub local: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// A running server over HTTP, or the store opened in this process.
pub enum Backend {
    Http {
        client: reqwest::Client,
        base: String,
    },
    Local(Store),
}

impl Backend {
    /// The server when it answers `/healthz`, else the data directory.
    pub async fn connect(target: &OncallTarget) -> anyhow::Result<Backend> {
        let base = target.server.trim_end_matches('/').to_owned();
        if let Some((client, base)) =
            super::probe_server(&base, target.local, Duration::from_secs(60)).await?
        {
            return Ok(Backend::Http { client, base });
        }
        let path = target.config.data_dir.join("tocsin.redb");
        let store = Store::open(&path).with_context(|| {
            format!(
                "no server answered at {base} and the data directory {} could not be used",
                target.config.data_dir.display()
            )
        })?;
        Ok(Backend::Local(store))
    }

    pub fn describe(&self) -> String {
        match self {
            Backend::Http { base, .. } => format!("on {base}"),
            Backend::Local(store) => format!("to {}", store.path().display()),
        }
    }

    /// `Ok(body)` for a 2xx answer, `Err(body)` for a refusal; transport failures are errors.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Result<Value, Value>> {
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
        Ok(if status.is_success() { Ok(v) } else { Err(v) })
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        match self.request(reqwest::Method::GET, path, None).await? {
            Ok(v) => Ok(v),
            Err(v) => {
                let mut msg = v["message"].as_str().unwrap_or("no message").to_owned();
                for e in v["errors"].as_array().into_iter().flatten() {
                    let _ = write!(
                        msg,
                        "\n  `{}`: {}",
                        e["field"].as_str().unwrap_or("?"),
                        e["rule"].as_str().unwrap_or("?")
                    );
                }
                bail!("the server refused: {msg}")
            }
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct QueryArgs {
    /// The on-call schedule's alias.
    #[arg(long)]
    schedule: String,
    /// Zone for reading and showing times (IANA name); default: this machine's zone.
    #[arg(long)]
    tz: Option<String>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    #[command(flatten)]
    target: OncallTarget,
}

#[derive(Debug, Subcommand)]
pub enum OncallCommand {
    /// Who is on call now, or at --at.
    Now {
        /// An instant (RFC 3339, e.g. 2026-03-08T10:00:00Z) or a wall time in --tz (2026-03-08T02:30).
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        query: QueryArgs,
    },
    /// The next hand-off after now, or after --at.
    Next {
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        query: QueryArgs,
    },
    /// Shifts in [--from, --to) as a week view (default: this week and the next).
    Shifts {
        /// Start: an instant, a wall time or a date in --tz (default: this Monday 00:00).
        #[arg(long)]
        from: Option<String>,
        /// End (exclusive; default: two weeks after --from).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        query: QueryArgs,
    },
}

fn zone(tz: Option<&str>) -> anyhow::Result<TimeZone> {
    match tz {
        Some(name) => TimeZone::get(name).with_context(|| {
            format!("--tz {name:?} is not an IANA time zone name (e.g. America/Los_Angeles, Europe/Dublin)")
        }),
        None => Ok(TimeZone::system()),
    }
}

/// An RFC 3339 instant, else a civil date-time or date read in `tz` (RFC 5545 resolution).
fn parse_instant(flag: &str, s: &str, tz: &TimeZone) -> anyhow::Result<Timestamp> {
    if s == "now" {
        return Ok(Timestamp::now());
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let dt = s
        .parse::<DateTime>()
        .or_else(|_| s.parse::<Date>().map(|d| d.to_datetime(jiff::civil::Time::midnight())))
        .with_context(|| {
            format!("{flag} {s:?} is not an instant (2026-03-08T10:00:00Z), a wall time (2026-03-08T02:30) or a date (2026-03-08)")
        })?;
    crate::oncall::resolve(tz, dt).map_err(|e| anyhow::anyhow!("{flag}: {e}"))
}

fn show(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned(tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn query_string(pairs: &[(&str, Timestamp)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.to_string().replace('+', "%2B")))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn run(cmd: OncallCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        OncallCommand::Now { at, query } => {
            let tz = zone(query.tz.as_deref())?;
            let at = match at {
                Some(s) => parse_instant("--at", &s, &tz)?,
                None => Timestamp::now(),
            };
            let backend = Backend::connect(&query.target).await?;
            let v = match &backend {
                Backend::Http { .. } => {
                    backend
                        .get(&format!(
                            "/v1/schedules/{}/oncall?{}",
                            query.schedule,
                            query_string(&[("at", at)])
                        ))
                        .await?
                }
                Backend::Local(store) => {
                    query_on_call(store, &query.schedule, at).map_err(|e| anyhow::anyhow!("{e}"))?
                }
            };
            match query.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                OutputFormat::Text => print!("{}", render_now(&v, &tz)),
            }
        }
        OncallCommand::Next { at, query } => {
            let tz = zone(query.tz.as_deref())?;
            let at = match at {
                Some(s) => parse_instant("--at", &s, &tz)?,
                None => Timestamp::now(),
            };
            let backend = Backend::connect(&query.target).await?;
            let v = match &backend {
                Backend::Http { .. } => {
                    backend
                        .get(&format!(
                            "/v1/schedules/{}/next-handoff?{}",
                            query.schedule,
                            query_string(&[("at", at)])
                        ))
                        .await?
                }
                Backend::Local(store) => query_next_handoff(store, &query.schedule, at)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            match query.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                OutputFormat::Text => print!("{}", render_next(&v, &tz, at)),
            }
        }
        OncallCommand::Shifts { from, to, query } => {
            let tz = zone(query.tz.as_deref())?;
            let from = match from {
                Some(s) => parse_instant("--from", &s, &tz)?,
                None => {
                    let today = Timestamp::now().to_zoned(tz.clone()).date();
                    let monday = today
                        .checked_sub((i64::from(today.weekday().to_monday_zero_offset())).days())
                        .unwrap_or(today);
                    crate::oncall::resolve(&tz, monday.to_datetime(jiff::civil::Time::midnight()))
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                }
            };
            let to = match to {
                Some(s) => parse_instant("--to", &s, &tz)?,
                None => from
                    .to_zoned(tz.clone())
                    .checked_add(14.days())?
                    .timestamp(),
            };
            let backend = Backend::connect(&query.target).await?;
            let v = match &backend {
                Backend::Http { .. } => {
                    backend
                        .get(&format!(
                            "/v1/schedules/{}/shifts?{}",
                            query.schedule,
                            query_string(&[("from", from), ("to", to)])
                        ))
                        .await?
                }
                Backend::Local(store) => query_shifts(store, &query.schedule, from, to)
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            };
            match query.format {
                OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                OutputFormat::Text => print!("{}", render_week_view(&v, &tz)?),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn names(v: &Value) -> String {
    let list: Vec<&str> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if list.is_empty() {
        "nobody".to_owned()
    } else {
        list.join(", ")
    }
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str()?.parse().ok()
}

/// `oncall now` as text.
pub fn render_now(v: &Value, tz: &TimeZone) -> String {
    let mut out = String::new();
    let at = ts(&v["at"]).map(|t| show(t, tz)).unwrap_or_default();
    let sched = v["schedule"].as_str().unwrap_or("?");
    let _ = writeln!(
        out,
        "On call for {sched} at {at}: {}",
        names(&v["contacts"])
    );
    for r in v["rotations"].as_array().into_iter().flatten() {
        let kind = r["shiftType"]
            .as_str()
            .map(|k| format!(" ({k})"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {:<20} {}{kind}",
            r["rotation"].as_str().unwrap_or("?"),
            names(&r["contacts"])
        );
    }
    out
}

/// `oncall next` as text.
pub fn render_next(v: &Value, tz: &TimeZone, after: Timestamp) -> String {
    let sched = v["schedule"].as_str().unwrap_or("?");
    let h = &v["handOff"];
    match ts(&h["at"]) {
        None => format!("No hand-off for {sched} in the next 1100 days.\n"),
        Some(at) => {
            let d = at.duration_since(after);
            format!(
                "Next hand-off for {sched}: {} (in {}h {:02}m): {} -> {}\n",
                show(at, tz),
                d.as_hours(),
                (d.as_mins() % 60).abs(),
                names(&h["before"]),
                names(&h["after"])
            )
        }
    }
}

const COL: usize = 16;

fn fit(s: &str) -> String {
    let mut t: String = s.chars().take(COL).collect();
    while t.chars().count() < COL {
        t.push(' ');
    }
    t
}

/// The shifts of a `…/shifts` answer as weeks of seven day columns in `tz`. Each shift piece of
/// a day takes two lines: its wall-clock hours, then who (`*` = overridden).
pub fn render_week_view(v: &Value, tz: &TimeZone) -> anyhow::Result<String> {
    let from = ts(&v["startTime"]).context("the answer has no startTime")?;
    let to = ts(&v["endTime"]).context("the answer has no endTime")?;
    let shifts: Vec<(Timestamp, Timestamp, String, bool)> = v["shifts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let who = names(&s["contacts"]);
            Some((
                ts(&s["startTime"])?,
                ts(&s["endTime"])?,
                who,
                s["type"] == "OVERRIDDEN",
            ))
        })
        .collect();
    let mut out = String::new();
    let sched = v["schedule"].as_str().unwrap_or("?");
    let _ = writeln!(
        out,
        "Shifts of {sched} from {} to {} ({})",
        show(from, tz),
        show(to, tz),
        tz.iana_name().unwrap_or("local time")
    );
    let first = from.to_zoned(tz.clone()).date();
    let last = to
        .checked_sub(SignedDuration::from_nanos(1))?
        .to_zoned(tz.clone())
        .date();
    let mut monday =
        first.checked_sub(i64::from(first.weekday().to_monday_zero_offset()).days())?;
    while monday <= last {
        let mut columns: Vec<Vec<String>> = Vec::with_capacity(7);
        let mut header = Vec::with_capacity(7);
        for d in 0..7 {
            let day = monday.checked_add(d.days())?;
            header.push(fit(&day.strftime("%a %m-%d").to_string()));
            let start = day_start(tz, day)?;
            let end = day_start(tz, day.tomorrow()?)?;
            let mut lines = Vec::new();
            if day < first || day > last {
                columns.push(lines);
                continue;
            }
            for (s, e, who, over) in &shifts {
                let (a, b) = ((*s).max(start).max(from), (*e).min(end).min(to));
                if a >= b {
                    continue;
                }
                let hhmm = |t: Timestamp, is_end: bool| {
                    if is_end && t == end {
                        "24:00".to_owned()
                    } else {
                        t.to_zoned(tz.clone()).strftime("%H:%M").to_string()
                    }
                };
                lines.push(fit(&format!("{}-{}", hhmm(a, false), hhmm(b, true))));
                lines.push(fit(&format!(" {who}{}", if *over { "*" } else { "" })));
            }
            if lines.is_empty() {
                lines.push(fit("-"));
            }
            columns.push(lines);
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "{}", header.join(" | ").trim_end());
        let _ = writeln!(out, "{}", vec!["-".repeat(COL); 7].join("-+-"));
        let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
        for i in 0..rows {
            let row: Vec<String> = columns
                .iter()
                .map(|c| c.get(i).cloned().unwrap_or_else(|| fit("")))
                .collect();
            let _ = writeln!(out, "{}", row.join(" | ").trim_end());
        }
        monday = monday.checked_add(7.days())?;
    }
    let _ = writeln!(
        out,
        "\n* overridden; times in {}",
        tz.iana_name().unwrap_or("local time")
    );
    Ok(out)
}

fn day_start(tz: &TimeZone, d: Date) -> anyhow::Result<Timestamp> {
    Ok(d.to_zoned(tz.clone())?.timestamp())
}
