//! `tocsin engagement start|stop|show|list|escalate` and `tocsin page list|show|accept`: the
//! engagement API (`/v1/engagements`, `/v1/pages`, `/v1/contacts/{alias}/pages`) from the
//! terminal. Engagements run inside `tocsin serve` (its timers, its plugins), so these commands
//! always talk to a running server (`--server`, env `TOCSIN_SERVER`, default
//! http://127.0.0.1:7600); there is no data-directory mode. A refusal from the server is printed
//! with its kind, message and `{field, rule}` list, and the command exits 1.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::http::{ServerApi, ServerResource, print_json, s, seg, ts, when, with_query};

/// What `tocsin engagement` and `tocsin page` work on: engagements run inside `tocsin serve`.
#[derive(Debug, Clone)]
pub struct Engagements;

impl ServerResource for Engagements {
    const SERVER_HELP: &'static str =
        "The running engine's URL (engagements live in `tocsin serve`)";
    const WHY_A_SERVER: &'static str = "engagements run inside the server";
}

type ServerArgs = super::http::ServerArgs<Engagements>;

#[derive(Debug, Subcommand)]
pub enum EngagementCommand {
    /// StartEngagement: page a contact (PERSONAL), an escalation plan or an on-call schedule.
    Start {
        /// The contact's alias (or its ARN).
        contact: String,
        /// What the page is about (1-2048 characters).
        #[arg(long)]
        subject: String,
        /// The page's text (1-8192 characters).
        #[arg(long)]
        content: String,
        /// Who is paging (0-255 characters).
        #[arg(long, default_value = "tocsin")]
        sender: String,
        /// Subject for insecure channels (SMS).
        #[arg(long)]
        public_subject: Option<String>,
        /// Content for insecure channels (SMS).
        #[arg(long)]
        public_content: Option<String>,
        /// The incident this engagement belongs to (its timeline gets the events).
        #[arg(long)]
        incident: Option<String>,
        /// A token already used returns the engagement it started instead of paging again.
        #[arg(long)]
        idempotency_token: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// StopEngagement: no more stages, channels or re-sends.
    Stop {
        id: String,
        /// Why (kept on the engagement and the incident timeline).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One engagement: status, stage and round, its pages with their receipts in time order.
    Show {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Engagements, oldest first.
    List {
        /// Only the engagements of this incident.
        #[arg(long)]
        incident: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Start the next stage now instead of waiting for the current one to end.
    Escalate {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum PageCommand {
    /// Pages of one contact or of one engagement.
    #[command(group(clap::ArgGroup::new("of").required(true).args(["contact", "engagement"])))]
    List {
        /// Pages sent to this PERSONAL contact.
        #[arg(long)]
        contact: Option<String>,
        /// Pages of this engagement.
        #[arg(long)]
        engagement: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One page with its receipts in time order.
    Show {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// AcceptPage: acknowledge (READ) or confirm delivery (DELIVERED) with the page's code.
    Accept {
        id: String,
        /// The page's 6-digit accept code.
        #[arg(long)]
        code: String,
        #[arg(long = "type", value_enum, ignore_case = true, default_value_t = AcceptKind::Read)]
        accept_type: AcceptKind,
        /// A note kept on the READ receipt.
        #[arg(long)]
        note: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AcceptKind {
    Read,
    Delivered,
}

impl AcceptKind {
    fn as_str(self) -> &'static str {
        match self {
            AcceptKind::Read => "READ",
            AcceptKind::Delivered => "DELIVERED",
        }
    }
}

/// The receipts of a page, oldest first.
async fn receipts(api: &ServerApi, page: &str) -> anyhow::Result<Vec<Value>> {
    let v = api
        .get(&format!("/v1/pages/{}/receipts", seg(page)))
        .await?;
    let mut r = v["receipts"].as_array().cloned().unwrap_or_default();
    r.sort_by_key(|x| ts(&x["receiptTime"]));
    Ok(r)
}

pub async fn run_engagement(cmd: EngagementCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EngagementCommand::Start {
            contact,
            subject,
            content,
            sender,
            public_subject,
            public_content,
            incident,
            idempotency_token,
            server,
        } => {
            let api = server.connect().await?;
            let mut body = Map::new();
            body.insert("contactId".into(), json!(contact));
            body.insert("sender".into(), json!(sender));
            body.insert("subject".into(), json!(subject));
            body.insert("content".into(), json!(content));
            for (k, v) in [
                ("publicSubject", public_subject),
                ("publicContent", public_content),
                ("incidentId", incident),
                ("idempotencyToken", idempotency_token),
            ] {
                if let Some(v) = v {
                    body.insert(k.into(), json!(v));
                }
            }
            let e = api.post("/v1/engagements", Value::Object(body)).await?;
            if server.json() {
                print_json(&e)?;
            } else {
                print!("{}", render_started(&e));
            }
        }
        EngagementCommand::Stop { id, reason, server } => {
            let api = server.connect().await?;
            let body = match reason {
                Some(r) => json!({ "reason": r }),
                None => json!({}),
            };
            let e = api
                .post(&format!("/v1/engagements/{}/stop", seg(&id)), body)
                .await?;
            if server.json() {
                print_json(&e)?;
            } else {
                println!(
                    "engagement {} is {}{}",
                    s(&e["engagementId"]),
                    s(&e["status"]),
                    e["stopReason"]
                        .as_str()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            }
        }
        EngagementCommand::Show { id, server } => {
            let api = server.connect().await?;
            let e = api.get(&format!("/v1/engagements/{}", seg(&id))).await?;
            let mut pages = pages_of(
                &api.get(&format!("/v1/engagements/{}/pages", seg(&id)))
                    .await?,
            );
            let mut with_receipts = Vec::with_capacity(pages.len());
            for p in pages.drain(..) {
                let r = receipts(&api, s(&p["pageId"])).await?;
                with_receipts.push((p, r));
            }
            if server.json() {
                let pages: Vec<Value> = with_receipts
                    .into_iter()
                    .map(|(mut p, r)| {
                        p["receipts"] = Value::Array(r);
                        p
                    })
                    .collect();
                print_json(&json!({ "engagement": e, "pages": pages }))?;
            } else {
                print!("{}", render_engagement(&e, &with_receipts));
            }
        }
        EngagementCommand::List { incident, server } => {
            let api = server.connect().await?;
            let query: Vec<_> = incident.map(|i| ("incidentId", i)).into_iter().collect();
            let v = api.get(&with_query("/v1/engagements", &query)).await?;
            if server.json() {
                print_json(&v)?;
            } else {
                print!("{}", render_engagement_list(&v));
            }
        }
        EngagementCommand::Escalate { id, server } => {
            let api = server.connect().await?;
            let e = api
                .post(&format!("/v1/engagements/{}/escalate", seg(&id)), json!({}))
                .await?;
            if server.json() {
                print_json(&e)?;
            } else {
                println!(
                    "engagement {} escalated: {}, {}",
                    s(&e["engagementId"]),
                    s(&e["status"]),
                    stage_text(&e)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn run_page(cmd: PageCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        PageCommand::List {
            contact,
            engagement,
            server,
        } => {
            let api = server.connect().await?;
            let path = match (&contact, &engagement) {
                (Some(c), _) => format!("/v1/contacts/{}/pages", seg(c)),
                (None, Some(e)) => format!("/v1/engagements/{}/pages", seg(e)),
                (None, None) => bail!("give --contact ALIAS or --engagement ID"),
            };
            let v = api.get(&path).await?;
            if server.json() {
                print_json(&v)?;
            } else {
                let pages = pages_of(&v);
                let whose = match (&contact, &engagement) {
                    (Some(c), _) => format!("contact {c}"),
                    (None, e) => format!("engagement {}", e.as_deref().unwrap_or("?")),
                };
                print!("{}", render_page_list(&pages, &whose));
            }
        }
        PageCommand::Show { id, server } => {
            let api = server.connect().await?;
            let mut p = api.get(&format!("/v1/pages/{}", seg(&id))).await?;
            let r = receipts(&api, &id).await?;
            if server.json() {
                p["receipts"] = Value::Array(r);
                print_json(&p)?;
            } else {
                print!("{}", render_page(&p, &r));
            }
        }
        PageCommand::Accept {
            id,
            code,
            accept_type,
            note,
            server,
        } => {
            let api = server.connect().await?;
            let mut body = json!({ "acceptCode": code, "acceptType": accept_type.as_str() });
            if let Some(n) = note {
                body["note"] = json!(n);
            }
            let p = api
                .post(&format!("/v1/pages/{}/accept", seg(&id)), body)
                .await?;
            let e = api
                .get(&format!("/v1/engagements/{}", seg(s(&p["engagementId"]))))
                .await?;
            if server.json() {
                print_json(&json!({ "page": p, "engagement": e }))?;
            } else {
                let what = match accept_type {
                    AcceptKind::Read => format!("page {} is {}", s(&p["pageId"]), s(&p["status"])),
                    AcceptKind::Delivered => format!(
                        "page {}: delivery confirmed at {}",
                        s(&p["pageId"]),
                        when(&p["deliveryTime"])
                    ),
                };
                println!("{what}");
                println!(
                    "engagement {} is {}{}",
                    s(&e["engagementId"]),
                    s(&e["status"]),
                    e["acknowledgedBy"]
                        .as_str()
                        .map(|b| format!(" (by {b})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// text rendering

/// `+12.3s` after `start`.
fn since(v: &Value, start: Option<Timestamp>) -> String {
    match (ts(v), start) {
        (Some(t), Some(s)) => {
            let ms = t.duration_since(s).as_millis();
            format!("+{}.{}s", ms / 1000, (ms % 1000).abs() / 100)
        }
        _ => String::new(),
    }
}

/// `stage 2 of 3, round 1 of 1` (1-based).
fn stage_text(e: &Value) -> String {
    let stages = e["stages"].as_array().map_or(0, Vec::len);
    let stage = e["stage"].as_u64().unwrap_or(0) + 1;
    let round = e["round"].as_u64().unwrap_or(0) + 1;
    let rounds = e["repeat"].as_u64().unwrap_or(0) + 1;
    format!("stage {stage} of {stages}, round {round} of {rounds}")
}

fn pages_of(v: &Value) -> Vec<Value> {
    let mut pages = v["pages"].as_array().cloned().unwrap_or_default();
    // Page ids are `<engagement>-p<n>`: order by creation, then n (p10 after p9).
    pages.sort_by_key(|p| {
        let n = s(&p["pageId"])
            .rsplit_once("-p")
            .and_then(|(_, n)| n.parse::<u64>().ok())
            .unwrap_or(0);
        (ts(&p["createdTime"]), n)
    });
    pages
}

pub fn render_started(e: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "engagement {}", s(&e["engagementId"]));
    let _ = writeln!(out, "  arn      {}", s(&e["engagementArn"]));
    let _ = writeln!(
        out,
        "  contact  {}  status {}  {}  pages so far {}",
        s(&e["contactId"]),
        s(&e["status"]),
        stage_text(e),
        e["pages"].as_u64().unwrap_or(0)
    );
    for p in e["problems"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "  problem  {}", s(p));
    }
    out
}

fn target_text(t: &Value) -> String {
    let essential = if t["essential"].as_bool().unwrap_or(true) {
        ""
    } else {
        " (not essential)"
    };
    match t["kind"].as_str() {
        Some("contact") => format!("contact {}{essential}", s(&t["contact"])),
        Some("schedule") => format!("on call in {}{essential}", s(&t["schedule"])),
        Some("channel") => {
            let retry = t
                .get("retryIntervalSecs")
                .or_else(|| t.get("retry_interval_secs"))
                .and_then(Value::as_u64)
                .filter(|r| *r > 0)
                .map(|r| format!(", re-sent every {r}s"))
                .unwrap_or_default();
            format!(
                "channel {}/{}{retry}{essential}",
                s(&t["contact"]),
                s(&t["channel"])
            )
        }
        _ => t.to_string(),
    }
}

pub fn render_engagement(e: &Value, pages: &[(Value, Vec<Value>)]) -> String {
    let mut out = String::new();
    let start = ts(&e["startTime"]);
    let _ = writeln!(
        out,
        "engagement {}  {}",
        s(&e["engagementId"]),
        s(&e["status"])
    );
    let _ = writeln!(out, "  arn       {}", s(&e["engagementArn"]));
    let _ = writeln!(
        out,
        "  contact   {}  sender {}",
        s(&e["contactId"]),
        s(&e["sender"])
    );
    if let Some(i) = e["incidentId"].as_str() {
        let _ = writeln!(out, "  incident  {i}");
    }
    let _ = writeln!(out, "  subject   {}", s(&e["subject"]));
    let _ = writeln!(out, "  started   {}", when(&e["startTime"]));
    let _ = writeln!(out, "  progress  {}", stage_text(e));
    if let Some(by) = e["acknowledgedBy"].as_str() {
        let _ = writeln!(
            out,
            "  acknowledged by {by} at {} ({})",
            when(&e["acknowledgedTime"]),
            since(&e["acknowledgedTime"], start)
        );
    }
    if e["stopTime"].is_string() {
        let _ = writeln!(
            out,
            "  stopped   {} ({}){}",
            when(&e["stopTime"]),
            since(&e["stopTime"], start),
            e["stopReason"]
                .as_str()
                .map(|r| format!(": {r}"))
                .unwrap_or_default()
        );
    }
    for p in e["problems"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "  problem   {}", s(p));
    }
    let stages = e["stages"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(out, "stages:");
    for (i, st) in stages.iter().enumerate() {
        let targets: Vec<String> = st["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .map(target_text)
            .collect();
        let _ = writeln!(
            out,
            "  {}. {:>5}s  {}",
            i + 1,
            st["durationSecs"].as_u64().unwrap_or(0),
            targets.join(", ")
        );
    }
    let _ = writeln!(out, "pages:");
    if pages.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (p, receipts) in pages {
        write_page_line(&mut out, p, start);
        write_receipts(&mut out, receipts, start);
    }
    out
}

fn write_page_line(out: &mut String, p: &Value, start: Option<Timestamp>) {
    let _ = writeln!(
        out,
        "  {}  {}  {}  stage {} round {}{}  created {} ({})",
        s(&p["pageId"]),
        s(&p["contactId"]),
        s(&p["status"]),
        p["stage"].as_u64().unwrap_or(0) + 1,
        p["round"].as_u64().unwrap_or(0) + 1,
        if p["essential"].as_bool().unwrap_or(true) {
            ""
        } else {
            "  not essential"
        },
        when(&p["createdTime"]),
        since(&p["createdTime"], start)
    );
}

fn write_receipts(out: &mut String, receipts: &[Value], start: Option<Timestamp>) {
    for r in receipts {
        let channel = r["contactChannel"]
            .as_str()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "      {} {:>8}  {:<10}{channel} {}",
            when(&r["receiptTime"]),
            since(&r["receiptTime"], start),
            s(&r["receiptType"]),
            r["receiptInfo"].as_str().unwrap_or("")
        );
    }
}

pub fn render_engagement_list(v: &Value) -> String {
    let mut out = String::new();
    let list = v["engagements"].as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        let _ = writeln!(out, "no engagements");
        return out;
    }
    for e in list {
        let _ = writeln!(
            out,
            "{}  {:<12}  {:<20}  {:<26}  pages {:<3} {}  {}",
            s(&e["engagementId"]),
            s(&e["status"]),
            s(&e["contactId"]),
            stage_text(&e),
            e["pages"].as_u64().unwrap_or(0),
            when(&e["startTime"]),
            s(&e["subject"])
        );
    }
    out
}

pub fn render_page_list(pages: &[Value], whose: &str) -> String {
    let mut out = String::new();
    if pages.is_empty() {
        let _ = writeln!(out, "no pages for {whose}");
        return out;
    }
    for p in pages {
        let _ = writeln!(
            out,
            "{}  {:<16}  {:<12}  stage {} round {}  {}  {}",
            s(&p["pageId"]),
            s(&p["contactId"]),
            s(&p["status"]),
            p["stage"].as_u64().unwrap_or(0) + 1,
            p["round"].as_u64().unwrap_or(0) + 1,
            when(&p["createdTime"]),
            s(&p["subject"])
        );
    }
    out
}

pub fn render_page(p: &Value, receipts: &[Value]) -> String {
    let mut out = String::new();
    let start = ts(&p["createdTime"]);
    let _ = writeln!(out, "page {}  {}", s(&p["pageId"]), s(&p["status"]));
    let _ = writeln!(out, "  arn         {}", s(&p["pageArn"]));
    let _ = writeln!(
        out,
        "  engagement  {}  stage {} round {}{}",
        s(&p["engagementId"]),
        p["stage"].as_u64().unwrap_or(0) + 1,
        p["round"].as_u64().unwrap_or(0) + 1,
        if p["essential"].as_bool().unwrap_or(true) {
            "  essential"
        } else {
            "  not essential"
        }
    );
    let _ = writeln!(
        out,
        "  contact     {}  sender {}",
        s(&p["contactId"]),
        s(&p["sender"])
    );
    if let Some(i) = p["incidentId"].as_str() {
        let _ = writeln!(out, "  incident    {i}");
    }
    let _ = writeln!(out, "  subject     {}", s(&p["subject"]));
    let _ = writeln!(out, "  content     {}", s(&p["content"]));
    let _ = writeln!(out, "  created     {}", when(&p["createdTime"]));
    for (label, key) in [
        ("sent", "sentTime"),
        ("delivered", "deliveryTime"),
        ("read", "readTime"),
    ] {
        if p[key].is_string() {
            let _ = writeln!(
                out,
                "  {label:<11} {} ({})",
                when(&p[key]),
                since(&p[key], start)
            );
        }
    }
    if let Some(via) = p["acknowledgedVia"].as_str() {
        let _ = writeln!(out, "  acknowledged via {via}");
    }
    let channels = p["channels"].as_array().cloned().unwrap_or_default();
    let _ = writeln!(out, "channels:");
    if channels.is_empty() {
        let _ = writeln!(out, "  (none activated)");
    }
    for c in &channels {
        let _ = writeln!(
            out,
            "  {:<12} {:<6} {:<28} via {:<10} at +{}s",
            s(&c["name"]),
            s(&c["type"]),
            s(&c["deliveryAddress"]),
            s(&c["instance"]),
            c["offsetSecs"].as_u64().unwrap_or(0)
        );
    }
    if p["retryIntervalSecs"].as_u64().unwrap_or(0) > 0 {
        let _ = writeln!(
            out,
            "  re-sent every {}s until acknowledged or the stage ends",
            p["retryIntervalSecs"]
        );
    }
    let _ = writeln!(out, "receipts:");
    if receipts.is_empty() {
        let _ = writeln!(out, "  (none yet)");
    }
    write_receipts(&mut out, receipts, start);
    let _ = writeln!(
        out,
        "(the accept code is in `tocsin page show {} --json`)",
        s(&p["pageId"])
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_sort_by_creation_then_number() {
        let v = json!({"pages": [
            {"pageId": "e-p10", "createdTime": "2026-01-01T00:00:01Z"},
            {"pageId": "e-p9", "createdTime": "2026-01-01T00:00:01Z"},
            {"pageId": "e-p1", "createdTime": "2026-01-01T00:00:00Z"},
        ]});
        let ids: Vec<String> = pages_of(&v)
            .iter()
            .map(|p| s(&p["pageId"]).to_owned())
            .collect();
        assert_eq!(ids, ["e-p1", "e-p9", "e-p10"]);
    }

    #[test]
    fn receipts_show_offsets_from_the_start() {
        let start = ts(&json!("2026-01-01T00:00:00Z"));
        assert_eq!(since(&json!("2026-01-01T00:00:03.25Z"), start), "+3.2s");
    }
}
