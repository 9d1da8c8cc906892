//! `tocsin incident start|list|show|update|resolve|note|timeline`: the incident API
//! (`/v1/incidents…`) from the terminal. Incidents live inside `tocsin serve` (their engagements,
//! runbooks and timers run there), so these commands always talk to a running server
//! (`--server`, env `TOCSIN_SERVER`, default http://127.0.0.1:7600). `--json` prints the server's
//! JSON instead of text. A refusal is printed with its kind, message and `{field, rule}` list,
//! and the command exits 1.

use std::fmt::Write as _;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Map, Value, json};

use super::http::{ServerApi, ServerResource, print_json, s, seg, ts, when, with_query};

/// How many timeline events `show` prints.
const SHOW_EVENTS: usize = 10;

/// What `tocsin incident` works on: incidents live inside `tocsin serve`.
#[derive(Debug, Clone)]
pub struct Incidents;

impl ServerResource for Incidents {
    const SERVER_HELP: &'static str = "The running engine's URL (incidents live in `tocsin serve`)";
    const WHY_A_SERVER: &'static str = "incidents live inside the server";
}

type ServerArgs = super::http::ServerArgs<Incidents>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Open,
    Resolved,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Open => "OPEN",
            Status::Resolved => "RESOLVED",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// StartIncident from a response plan: engages its responders, starts its runbook; prints the
    /// incident's ARN.
    Start {
        /// The response plan (its name or ARN).
        plan: String,
        /// Title instead of the plan's.
        #[arg(long)]
        title: Option<String>,
        /// Impact instead of the plan's: 1 critical, 2 high, 3 medium, 4 low, 5 none.
        #[arg(long)]
        impact: Option<u8>,
        /// An involved resource (ARN), passed to the runbook as INVOLVED_RESOURCES; repeatable.
        #[arg(long = "related-resource", value_name = "ARN")]
        related_resources: Vec<String>,
        /// A token already used answers the incident it started instead of opening another.
        #[arg(long)]
        client_token: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Incidents, newest first: id, status, impact, title, created, plan.
    List {
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<Status>,
        /// Only this impact (1-5).
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        impact: Option<u8>,
        /// Only incidents of this response plan.
        #[arg(long)]
        plan: Option<String>,
        /// At most this many (default: all, page after page).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// Items asked per request (the server's maximum is 100).
        #[arg(long, hide = true, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
        page_size: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One incident: the record, its engagements, its runbook executions and its latest events.
    Show {
        /// The incident's id (the ARN's last segment) or its ARN.
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// UpdateIncidentRecord: title, summary and/or impact (each change is a timeline event).
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["title", "summary", "impact"])))]
    Update {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        summary: Option<String>,
        /// 1 critical, 2 high, 3 medium, 4 low, 5 none.
        #[arg(long)]
        impact: Option<u8>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Resolve: stops the incident's engagements and records the time to resolve.
    Resolve {
        id: String,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Add a note to the incident's timeline.
    Note {
        id: String,
        /// The note (1-12000 characters).
        text: String,
        /// Who writes it (default: $USER).
        #[arg(long)]
        author: Option<String>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// The incident's timeline: time, event type, what happened.
    Timeline {
        id: String,
        /// Only events of this type ("Note", "Page acknowledged", …).
        #[arg(long = "type", value_name = "TYPE")]
        event_type: Option<String>,
        /// Newest first.
        #[arg(long)]
        desc: bool,
        /// At most this many events (default: all).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        limit: Option<u64>,
        /// Events asked per request (the server's maximum is 100).
        #[arg(long, hide = true, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=100))]
        page_size: u64,
        #[command(flatten)]
        server: ServerArgs,
    },
}

/// Every item of a paged list (`nextToken`), up to `limit`, `page` per request.
async fn all_pages(
    api: &ServerApi,
    path: &str,
    mut query: Vec<(&'static str, String)>,
    key: &str,
    limit: Option<u64>,
    page: u64,
) -> anyhow::Result<Vec<Value>> {
    let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let page = usize::try_from(page).unwrap_or(100).clamp(1, 100);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let want = (limit - out.len()).min(page);
        query.retain(|(k, _)| !matches!(*k, "maxResults" | "nextToken"));
        query.push(("maxResults", want.to_string()));
        if let Some(t) = token.take() {
            query.push(("nextToken", t));
        }
        let v = api.get(&with_query(path, &query)).await?;
        out.extend(v[key].as_array().cloned().unwrap_or_default());
        token = v["nextToken"].as_str().map(str::to_owned);
        if token.is_none() || out.len() >= limit {
            out.truncate(limit);
            return Ok(out);
        }
    }
}

fn incident_path(id: &str, rest: &str) -> String {
    format!("/v1/incidents/{}{rest}", seg(id.trim()))
}

pub async fn run(cmd: IncidentCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        IncidentCommand::Start {
            plan,
            title,
            impact,
            related_resources,
            client_token,
            server,
        } => {
            let api = server.connect().await?;
            let mut body = Map::new();
            body.insert("responsePlan".into(), json!(plan));
            if let Some(t) = title {
                body.insert("title".into(), json!(t));
            }
            if let Some(i) = impact {
                body.insert("impact".into(), json!(i));
            }
            if let Some(t) = client_token {
                body.insert("clientToken".into(), json!(t));
            }
            if !related_resources.is_empty() {
                let items: Vec<Value> = related_resources
                    .iter()
                    .map(|arn| {
                        json!({"identifier": {"type": "INVOLVED_RESOURCE", "value": {"arn": arn}}})
                    })
                    .collect();
                body.insert("relatedItems".into(), Value::Array(items));
            }
            let v = api.post("/v1/incidents", Value::Object(body)).await?;
            if server.json() {
                print_json(&v)?;
            } else {
                println!("{}", s(&v["incidentRecordArn"]));
                match v["outcome"].as_str() {
                    Some("EXISTING") => {
                        eprintln!(
                            "(the client token was used before: this is the incident it started)"
                        )
                    }
                    Some("DEDUPLICATED") => eprintln!(
                        "(an open incident with the same dedupe string absorbed this one: see its timeline)"
                    ),
                    _ => {}
                }
            }
        }
        IncidentCommand::List {
            status,
            impact,
            plan,
            limit,
            page_size,
            server,
        } => {
            let api = server.connect().await?;
            let mut query = Vec::new();
            if let Some(st) = status {
                query.push(("status", st.as_str().to_owned()));
            }
            if let Some(i) = impact {
                query.push(("impact", i.to_string()));
            }
            if let Some(p) = plan {
                query.push(("responsePlan", p));
            }
            let all = all_pages(
                &api,
                "/v1/incidents",
                query,
                "incidentRecordSummaries",
                limit,
                page_size,
            )
            .await?;
            if server.json() {
                print_json(&json!({ "incidentRecordSummaries": all }))?;
            } else {
                print!("{}", render_list(&all));
            }
        }
        IncidentCommand::Show { id, server } => {
            let api = server.connect().await?;
            let rec = api.get(&incident_path(&id, "")).await?["incidentRecord"].take();
            let mut engagements = Vec::new();
            for e in rec["engagements"].as_array().into_iter().flatten() {
                engagements.push(api.get(&format!("/v1/engagements/{}", seg(s(e)))).await?);
            }
            let mut executions = Vec::new();
            for x in rec["automationExecutions"].as_array().into_iter().flatten() {
                let arn = s(&x["ssmExecutionArn"]);
                let exec_id = arn.rsplit('/').next().unwrap_or(arn);
                executions.push(api.get(&format!("/v1/executions/{}", seg(exec_id))).await?);
            }
            let q = [
                ("sortOrder", "DESCENDING".to_owned()),
                ("maxResults", SHOW_EVENTS.to_string()),
            ];
            let mut events = api
                .get(&with_query(&incident_path(&id, "/timeline"), &q))
                .await?["eventSummaries"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            events.reverse();
            if server.json() {
                print_json(&json!({
                    "incidentRecord": rec,
                    "engagements": engagements,
                    "executions": executions,
                    "timeline": events,
                }))?;
            } else {
                print!(
                    "{}",
                    render_incident(&rec, &engagements, &executions, &events)
                );
            }
        }
        IncidentCommand::Update {
            id,
            title,
            summary,
            impact,
            server,
        } => {
            let api = server.connect().await?;
            let mut body = Map::new();
            if let Some(t) = title {
                body.insert("title".into(), json!(t));
            }
            if let Some(t) = summary {
                body.insert("summary".into(), json!(t));
            }
            if let Some(i) = impact {
                body.insert("impact".into(), json!(i));
            }
            let v = api
                .post(&incident_path(&id, "/update"), Value::Object(body))
                .await?;
            if server.json() {
                print_json(&v)?;
            } else {
                let r = &v["incidentRecord"];
                println!(
                    "incident {} updated: {}, impact {}, {:?}",
                    short_id(s(&r["arn"])),
                    s(&r["status"]),
                    impact_text(&r["impact"]),
                    s(&r["title"])
                );
            }
        }
        IncidentCommand::Resolve { id, server } => {
            let api = server.connect().await?;
            let v = api.post(&incident_path(&id, "/resolve"), json!({})).await?;
            if server.json() {
                print_json(&v)?;
            } else {
                let r = &v["incidentRecord"];
                let open_for = match (ts(&r["creationTime"]), ts(&r["resolvedTime"])) {
                    (Some(a), Some(b)) => format!(" after {}", human(b.duration_since(a))),
                    _ => String::new(),
                };
                println!(
                    "incident {} is {} at {}{open_for}",
                    short_id(s(&r["arn"])),
                    s(&r["status"]),
                    when(&r["resolvedTime"])
                );
            }
        }
        IncidentCommand::Note {
            id,
            text,
            author,
            server,
        } => {
            let api = server.connect().await?;
            let author = author.or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()));
            let mut body = json!({ "content": text });
            if let Some(a) = author {
                body["author"] = json!(a);
            }
            let v = api.post(&incident_path(&id, "/notes"), body).await?;
            if server.json() {
                print_json(&v)?;
            } else {
                println!("note {} added to incident {}", s(&v["eventId"]), id.trim());
            }
        }
        IncidentCommand::Timeline {
            id,
            event_type,
            desc,
            limit,
            page_size,
            server,
        } => {
            let api = server.connect().await?;
            let mut query = vec![(
                "sortOrder",
                if desc { "DESCENDING" } else { "ASCENDING" }.to_owned(),
            )];
            if let Some(t) = event_type {
                query.push(("eventType", t));
            }
            let events = all_pages(
                &api,
                &incident_path(&id, "/timeline"),
                query,
                "eventSummaries",
                limit,
                page_size,
            )
            .await?;
            if server.json() {
                print_json(&json!({ "eventSummaries": events }))?;
            } else if events.is_empty() {
                println!("no timeline events");
            } else {
                print!("{}", render_timeline(&events));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---------------------------------------------------------------------------------------------
// text rendering

/// `45s`, `3m12s`, `2h05m`, `3d04h`.
fn human(d: jiff::SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86_400 => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d{:02}h", secs / 86_400, secs % 86_400 / 3600),
    }
}

/// The incident id: the ARN's last segment.
fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// `2 (high)`.
fn impact_text(v: &Value) -> String {
    let name = match v.as_u64() {
        Some(1) => "critical",
        Some(2) => "high",
        Some(3) => "medium",
        Some(4) => "low",
        Some(5) => "none",
        _ => return v.to_string(),
    };
    format!("{v} ({name})")
}

/// At most `n` characters, on one line.
fn clip(text: &str, n: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= n {
        return one;
    }
    let mut out: String = one.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Rows padded to their columns' widths (the last column is not padded).
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|x| x.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                let pad = widths[c] - cell.chars().count();
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

pub fn render_list(items: &[Value]) -> String {
    if items.is_empty() {
        return "no incidents\n".to_owned();
    }
    let mut rows = vec![
        ["ID", "STATUS", "IMPACT", "TITLE", "CREATED", "PLAN"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for i in items {
        rows.push(vec![
            short_id(s(&i["arn"])).to_owned(),
            s(&i["status"]).to_owned(),
            i["impact"].to_string(),
            clip(s(&i["title"]), 48),
            when(&i["creationTime"]),
            s(&i["responsePlan"]).to_owned(),
        ]);
    }
    table(&rows)
}

pub fn render_timeline(events: &[Value]) -> String {
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                when(&e["eventTime"]),
                s(&e["eventType"]).to_owned(),
                clip(&event_summary(s(&e["eventType"]), &e["eventData"]), 120),
            ]
        })
        .collect();
    table(&rows)
}

/// One line saying what an event's data says.
pub fn event_summary(event_type: &str, d: &Value) -> String {
    let f = |k: &str| -> String {
        match &d[k] {
            Value::String(x) => x.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let opt = |k: &str, fmt: &dyn Fn(String) -> String| -> String {
        let v = f(k);
        if v.is_empty() { String::new() } else { fmt(v) }
    };
    let by = opt("by", &|b| format!(" by {b}"));
    match event_type {
        "Incident created" => format!(
            "{:?}, impact {}, plan {}{}",
            f("title"),
            impact_text(&d["impact"]),
            f("responsePlan"),
            opt("createdBy", &|b| format!(", by {b}"))
        ),
        "Incident triggered" | "Alert resolved" => format!(
            "from {}{}{}",
            f("source"),
            opt("triggerArn", &|a| format!(" ({a})")),
            if d["autoResolve"] == json!(true) {
                ", auto-resolve"
            } else {
                ""
            }
        ),
        "Trigger deduplicated" => format!(
            "from {}{}, trigger #{}",
            f("source"),
            opt("triggerArn", &|a| format!(" ({a})")),
            f("triggerCount")
        ),
        "Note" => match f("author") {
            a if a.is_empty() => f("content"),
            a => format!("{a}: {}", f("content")),
        },
        "Title changed" => format!("{:?} → {:?}{by}", f("from"), f("to")),
        "Impact changed" => format!(
            "{} → {}{by}",
            impact_text(&d["from"]),
            impact_text(&d["to"])
        ),
        "Status changed" => format!(
            "{} → {}{by}{}",
            f("from"),
            f("to"),
            d["timeToResolveSeconds"]
                .as_f64()
                .and_then(|t| jiff::SignedDuration::try_from_secs_f64(t).ok())
                .map(|t| format!(", resolved after {}", human(t)))
                .unwrap_or_default()
        ),
        "Engagement started" => format!(
            "{} → {}: {}",
            f("engagementId"),
            f("contactId"),
            f("subject")
        ),
        "Page created" => format!(
            "{} to {} (stage {}, round {})",
            f("pageId"),
            f("contactId"),
            d["stage"].as_u64().unwrap_or(0) + 1,
            d["round"].as_u64().unwrap_or(0) + 1
        ),
        "Page acknowledged" => format!(
            "{} by {}{}",
            f("pageId"),
            f("contactId"),
            opt("via", &|v| format!(" via {v}"))
        ),
        "Page receipt" => format!(
            "{} {}{}{}",
            f("pageId"),
            f("receiptType"),
            opt("channel", &|c| format!(" [{c}]")),
            opt("info", &|i| format!(": {i}"))
        ),
        "Engagement acknowledged" => format!(
            "{} by {}{}",
            f("engagementId"),
            f("by"),
            opt("via", &|v| format!(" via {v}"))
        ),
        "Engagement stopped" => format!(
            "{}{}",
            f("engagementId"),
            opt("reason", &|r| format!(": {r}"))
        ),
        "Engagement escalated" => format!(
            "{} to stage {}",
            f("engagementId"),
            d["toStage"].as_u64().unwrap_or(0) + 1
        ),
        "Runbook started" => format!("{} (execution {})", f("document"), f("executionId")),
        "Related item added" | "Related item removed" => {
            let ident = &d["identifier"];
            let value = ident["value"]
                .as_object()
                .and_then(|m| m.values().next())
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .unwrap_or_default();
            format!(
                "{} {value}{}",
                s(&ident["type"]),
                opt("title", &|t| format!(" ({t})"))
            )
        }
        _ => generic_summary(d),
    }
}

/// `k=v, …` of an object's scalar members; a string as itself.
fn generic_summary(d: &Value) -> String {
    match d {
        Value::String(x) => x.clone(),
        Value::Null => String::new(),
        Value::Object(m) => m
            .iter()
            .filter(|(k, _)| k.as_str() != "rawData")
            .filter_map(|(k, v)| match v {
                Value::String(x) => Some(format!("{k}={x}")),
                Value::Number(_) | Value::Bool(_) => Some(format!("{k}={v}")),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

pub fn render_incident(
    r: &Value,
    engagements: &[Value],
    executions: &[Value],
    events: &[Value],
) -> String {
    let mut out = String::new();
    let created = ts(&r["creationTime"]);
    let after = |k: &str| match (ts(&r[k]), created) {
        (Some(t), Some(c)) => format!(" (after {})", human(t.duration_since(c))),
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "incident {}  {}  impact {}",
        short_id(s(&r["arn"])),
        s(&r["status"]),
        impact_text(&r["impact"])
    );
    let _ = writeln!(out, "  title      {}", s(&r["title"]));
    if let Some(sm) = r["summary"].as_str() {
        let _ = writeln!(out, "  summary    {}", clip(sm, 200));
    }
    let _ = writeln!(out, "  arn        {}", s(&r["arn"]));
    let _ = writeln!(out, "  plan       {}", s(&r["responsePlan"]));
    let src = &r["incidentRecordSource"];
    let _ = writeln!(
        out,
        "  created    {} by {} (source {}{})",
        when(&r["creationTime"]),
        s(&src["createdBy"]),
        s(&src["source"]),
        src["resourceArn"]
            .as_str()
            .map(|a| format!(", {a}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        out,
        "  modified   {} by {}",
        when(&r["lastModifiedTime"]),
        s(&r["lastModifiedBy"])
    );
    if r["firstAcknowledgedTime"].is_string() {
        let _ = writeln!(
            out,
            "  first ack  {}{}",
            when(&r["firstAcknowledgedTime"]),
            after("firstAcknowledgedTime")
        );
    }
    if r["resolvedTime"].is_string() {
        let _ = writeln!(
            out,
            "  resolved   {}{}",
            when(&r["resolvedTime"]),
            after("resolvedTime")
        );
    }
    if let Some(d) = r["dedupeString"].as_str().filter(|d| !d.is_empty()) {
        let _ = writeln!(out, "  dedupe     {d}");
    }
    let triggers = r["triggerCount"].as_u64().unwrap_or(0);
    if triggers > 1 {
        let _ = writeln!(
            out,
            "  triggers   {triggers} ({} deduplicated into it)",
            triggers - 1
        );
    }
    let items = r["relatedItems"].as_array().cloned().unwrap_or_default();
    if !items.is_empty() {
        let _ = writeln!(out, "related items:");
        for i in &items {
            let d = json!({"identifier": i["identifier"], "title": i["title"]});
            let _ = writeln!(out, "  {}", event_summary("Related item added", &d));
        }
    }
    let _ = writeln!(out, "engagements:");
    if engagements.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for e in engagements {
        let stages = e["stages"].as_array().map_or(0, Vec::len);
        let _ = writeln!(
            out,
            "  {}  {:<12}  {:<16}  stage {} of {}  pages {}{}",
            s(&e["engagementId"]),
            s(&e["status"]),
            s(&e["contactId"]),
            e["stage"].as_u64().unwrap_or(0) + 1,
            stages,
            e["pages"].as_u64().unwrap_or(0),
            e["acknowledgedBy"]
                .as_str()
                .map(|b| format!("  acknowledged by {b}"))
                .unwrap_or_default()
        );
    }
    let _ = writeln!(out, "runbooks:");
    if executions.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for x in executions {
        let waiting = match &x["waiting_for"] {
            Value::Object(w) => format!(
                "  waiting at {} ({})",
                w.get("step").and_then(Value::as_str).unwrap_or("?"),
                w.get("signals")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {}  {:<12}  {}{waiting}",
            s(&x["id"]),
            s(&x["status"]),
            s(&x["document"])
        );
    }
    let _ = writeln!(out, "timeline (latest {}):", events.len());
    if events.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for line in render_timeline(events).lines() {
        let _ = writeln!(out, "  {line}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_lines_say_what_happened() {
        assert_eq!(
            event_summary(
                "Incident created",
                &json!({"title": "DB down", "impact": 2, "responsePlan": "db-outage", "createdBy": "api"})
            ),
            "\"DB down\", impact 2 (high), plan db-outage, by api"
        );
        assert_eq!(
            event_summary(
                "Note",
                &json!({"content": "rolled back", "author": "alice"})
            ),
            "alice: rolled back"
        );
        assert_eq!(
            event_summary("Impact changed", &json!({"from": 2, "to": 3, "by": "api"})),
            "2 (high) → 3 (medium) by api"
        );
        assert_eq!(
            event_summary(
                "Status changed",
                &json!({"from": "OPEN", "to": "RESOLVED", "by": "api", "timeToResolveSeconds": 192.4})
            ),
            "OPEN → RESOLVED by api, resolved after 3m12s"
        );
        assert_eq!(
            event_summary(
                "Related item added",
                &json!({"identifier": {"type": "INVOLVED_RESOURCE", "value": {"arn": "arn:x"}}, "title": null})
            ),
            "INVOLVED_RESOURCE arn:x"
        );
        // Unknown (custom) events: their scalar members, or the string itself.
        assert_eq!(
            event_summary(
                "Deploy",
                &json!({"service": "api", "rev": 42, "nested": {}})
            ),
            "rev=42, service=api"
        );
        assert_eq!(event_summary("Custom", &json!("free text")), "free text");
    }

    #[test]
    fn lists_are_aligned_tables() {
        let text = render_list(&[
            json!({"arn": "arn:aws:ssm-incidents::1:incident-record/p/abc", "status": "OPEN", "impact": 2,
                   "title": "a\nb", "creationTime": "2026-01-01T00:00:00.4Z", "responsePlan": "p"}),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("ID   STATUS  IMPACT  TITLE  CREATED"),
            "{text}"
        );
        assert_eq!(
            lines[1],
            "abc  OPEN    2       a b    2026-01-01T00:00:00Z  p"
        );
        assert_eq!(render_list(&[]), "no incidents\n");
    }

    #[test]
    fn durations_and_clipping() {
        assert_eq!(human(jiff::SignedDuration::from_secs(45)), "45s");
        assert_eq!(human(jiff::SignedDuration::from_secs(7500)), "2h05m");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
