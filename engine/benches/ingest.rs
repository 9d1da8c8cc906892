//! Alert-ingest bench (issue 6, item 11). A plain `main` that prints its results; they go in
//! BENCHMARKS.md (`## Incidents and alert ingestion`).
//!
//! Everything runs against real processes: the release `tocsin serve` binary and the Debian
//! `prometheus-alertmanager`, each a child process on a temporary data directory and free
//! loopback ports, killed at the end. One receiver inside this process (axum, its own runtime
//! thread) records when each page / webhook arrives.
//!
//! - `tocsin`: distinct Alertmanager v4 payloads (one alert, its own groupKey, so each opens an
//!   incident) posted to `POST /v1/alerts/alertmanager/bench` by an open-loop client at
//!   `TOCSIN_BENCH_RATE` alerts/s (500) for `TOCSIN_BENCH_SECS` s (10): a pacer issues one
//!   request every 2 ms without waiting for answers (a connection pool; as many connections as
//!   requests in flight). The response plan engages a PERSONAL contact whose SMS channel is
//!   routed to the `webhook` plugin, whose `notify_url` is the receiver. Per alert: ack = 202
//!   received − send (the incident is committed, fsynced, before the 202); end to end = page
//!   arrival at the receiver − send. A page is matched to its alert by its `incident_arn`, which
//!   the 202 named (`incidentRecordArn`).
//! - `alertmanager`: the same alerts (a distinct alertname each; `group_by: [alertname]`,
//!   `group_wait: 0s`, `group_interval: 1s`, clustering off) pushed to its API v2
//!   `POST /api/v2/alerts` at the same rate; end to end = webhook arrival − push. Alertmanager
//!   keeps its state in memory (snapshots to disk every 15 min): no fsync per alert.
//! - `dedupe`: one incident opened by a firing alert, then the same payload (same groupKey) posted
//!   by N closed-loop connections (`TOCSIN_BENCH_DUP_CONNS`, default 16 and 64) for
//!   `TOCSIN_BENCH_DUP_SECS` s (5) each: every 202 is a committed transaction (timeline event,
//!   trigger count). Afterwards the incident's `triggerCount` is checked against the 202s.
//!
//! Also printed: the cost of one 4 KiB write + fdatasync on the data directory's file system
//! (the floor of a durable commit), and the CPU time the tocsin process used per phase.
//!
//! `cargo build --release -p tocsin --bin tocsin` first, then
//! `cargo bench -p tocsin --bench ingest [-- tocsin|alertmanager|dedupe]` (no filter: all three).
//! `TOCSIN_BENCH_BIN` names another tocsin binary; `TOCSIN_ALERTMANAGER` another Alertmanager;
//! `TOCSIN_BENCH_DATA_DIR` where the temporary data directories go (default: the temp dir).

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

const PLAN: &str = "bench";

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The release binary, or a clear message on how to build it.
fn tocsin_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TOCSIN_BENCH_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let bin = target.join("release/tocsin");
    if !bin.exists() {
        eprintln!(
            "ingest bench: {} does not exist.\n\
             It measures the release server as a child process: build it first with\n\
             \n    cargo build --release -p tocsin --bin tocsin\n\n\
             (or point TOCSIN_BENCH_BIN at a tocsin binary).",
            bin.display()
        );
        std::process::exit(2);
    }
    bin
}

fn alertmanager_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TOCSIN_ALERTMANAGER") {
        return Some(PathBuf::from(p));
    }
    let fixed = PathBuf::from("/usr/bin/prometheus-alertmanager");
    if fixed.exists() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("prometheus-alertmanager"))
            .find(|p| p.exists())
    })
}

/// A temporary directory under `TOCSIN_BENCH_DATA_DIR` (default: the system's temp dir). Point
/// it at a tmpfs (`/dev/shm`) to see the engine without fsync cost — not durable, a diagnostic.
fn temp_dir() -> tempfile::TempDir {
    match std::env::var_os("TOCSIN_BENCH_DATA_DIR") {
        Some(d) => tempfile::tempdir_in(d).unwrap(),
        None => tempfile::tempdir().unwrap(),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// statistics

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(|a, b| a.partial_cmp(b).unwrap());
    format!(
        "n={} p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms.len(),
        pct(&ms, 50.0),
        pct(&ms, 90.0),
        pct(&ms, 99.0),
        pct(&ms, 99.9),
        ms.last().copied().unwrap_or(f64::NAN)
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// CPU time (user + system) of process `pid` so far, in ms.
fn cpu_ms(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let tick = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(14) + tick(15)) * 10.0
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// One 4 KiB overwrite in a preallocated 1 MiB file + fdatasync on `dir`'s file system, 300
/// times: the floor of a durable commit (redb overwrites pages of a preallocated file).
fn fsync_cost(dir: &Path) -> String {
    use std::os::unix::fs::FileExt as _;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&vec![0u8; 1 << 20]).unwrap();
    f.sync_all().unwrap();
    let block = vec![7u8; 4096];
    let mut samples = Vec::new();
    for i in 0..320u64 {
        let t = Instant::now();
        f.write_all_at(&block, (i % 256) * 4096).unwrap();
        f.sync_data().unwrap();
        if i >= 20 {
            samples.push(ms(t.elapsed()));
        }
    }
    let _ = std::fs::remove_file(&path);
    summary(samples)
}

// ---------------------------------------------------------------------------------------------
// the receiver

/// First arrival instant of each page / webhook, by the alert's name.
#[derive(Default)]
struct Arrivals {
    seen: Mutex<HashMap<String, Instant>>,
    total: AtomicU64,
}

impl Arrivals {
    fn note(&self, key: Option<String>, at: Instant) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Some(k) = key {
            self.seen.lock().unwrap().entry(k).or_insert(at);
        }
    }
    fn get(&self, key: &str) -> Option<Instant> {
        self.seen.lock().unwrap().get(key).copied()
    }
    fn count_of(&self, keys: &[String]) -> usize {
        let seen = self.seen.lock().unwrap();
        keys.iter().filter(|k| seen.contains_key(*k)).count()
    }
}

/// The receiver, on its own single-threaded runtime and thread so the client's work does not
/// delay the arrival stamps. `/page`: the webhook plugin's page, keyed by its `incident_arn`
/// (an SMS page carries only the public subject); `/am`: Alertmanager's webhook, keyed by
/// `groupLabels.alertname`.
fn start_receiver() -> (SocketAddr, Arc<Arrivals>) {
    let arrivals = Arc::new(Arrivals::default());
    let (tx, rx) = std::sync::mpsc::channel();
    let a = arrivals.clone();
    std::thread::Builder::new()
        .name("receiver".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let (pa, aa) = (a.clone(), a);
                let app = axum::Router::new()
                    .route(
                        "/page",
                        axum::routing::post(move |body: Bytes| {
                            let at = Instant::now();
                            let key = serde_json::from_slice::<Value>(&body)
                                .ok()
                                .and_then(|v| v["incident_arn"].as_str().map(str::to_owned));
                            pa.note(key, at);
                            async { "{}" }
                        }),
                    )
                    .route(
                        "/am",
                        axum::routing::post(move |body: Bytes| {
                            let at = Instant::now();
                            let key = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
                                v["groupLabels"]["alertname"].as_str().map(str::to_owned)
                            });
                            aa.note(key, at);
                            async { "{}" }
                        }),
                    );
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        })
        .unwrap();
    (rx.recv().unwrap(), arrivals)
}

// ---------------------------------------------------------------------------------------------
// child processes

struct Proc {
    child: tokio::process::Child,
    log: PathBuf,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }
    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn tocsin_config(dir: &Path, receiver: SocketAddr) {
    let url = format!("http://{receiver}");
    std::fs::write(
        dir.join("config.yaml"),
        format!(
            r#"kind: Plugin
name: hook
plugin: webhook
config: {{notify_url: '{url}/page'}}
allow: {{http: ['{url}']}}
---
kind: PagingPolicy
routes: {{SMS: hook, EMAIL: hook, VOICE: hook}}
rateLimits: {{}}
---
kind: Contact
alias: alice
type: PERSONAL
channels:
  - {{name: sms, type: SMS, deliveryAddress: "+15555550101", activationStatus: ACTIVATED}}
---
kind: ResponsePlan
name: {PLAN}
displayName: Ingest bench
incidentTemplate:
  title: Bench alert
  impact: 2
engagements: [alice]
"#
        ),
    )
    .unwrap();
}

async fn start_tocsin(bin: &Path, data: &Path, config: &Path) -> (Proc, String) {
    let log = data.join("serve.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let mut child = tokio::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.join("db"))
        .arg("--config")
        .arg(config)
        .env_remove("TOCSIN_CONFIG")
        .env_remove("TOCSIN_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::io::BufReader::new(stdout).read_line(&mut line),
    )
    .await;
    let proc = Proc { child, log };
    match (read, line.trim().strip_prefix("tocsin listening on ")) {
        (Ok(Ok(_)), Some(base)) => {
            let base = base.to_owned();
            (proc, base)
        }
        _ => panic!(
            "tocsin serve did not start (first line {line:?}); its log:\n{}",
            proc.log_tail()
        ),
    }
}

async fn start_alertmanager(bin: &Path, dir: &Path, receiver: SocketAddr) -> (Proc, String) {
    std::fs::write(
        dir.join("am.yml"),
        format!(
            "route:\n  receiver: bench\n  group_by: [alertname]\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: bench\n    webhook_configs:\n      - url: 'http://{receiver}/am'\n        send_resolved: false\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let log = dir.join("alertmanager.log");
    let log_file = std::fs::File::create(&log).unwrap();
    let child = tokio::process::Command::new(bin)
        .arg(format!("--config.file={}", dir.join("am.yml").display()))
        .arg(format!("--storage.path={}", dir.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        // No HA peers: no gossip to settle, no peer wait before notifying.
        .arg("--cluster.listen-address=")
        .stdout(std::process::Stdio::null())
        .stderr(log_file)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
    let proc = Proc { child, log };
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{base}/-/ready")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alertmanager did not become ready; its log:\n{}",
            proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (proc, base)
}

// ---------------------------------------------------------------------------------------------
// payloads

/// An Alertmanager v4 webhook body for one firing alert named `name` (shaped as the captured
/// Alertmanager 0.25 fixture); `name` is also its summary, hence the incident's title.
fn am_webhook(name: &str) -> Bytes {
    let now = jiff::Timestamp::now().to_string();
    let labels = json!({"alertname": name, "instance": "checkout-2b1c:8080", "service": "checkout", "severity": "critical"});
    let annotations =
        json!({"runbook_url": "https://runbooks.example/checkout-5xx", "summary": name});
    let body = json!({
        "receiver": "tocsin",
        "status": "firing",
        "alerts": [{
            "status": "firing",
            "labels": labels,
            "annotations": annotations,
            "startsAt": now,
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate",
            "fingerprint": "6c2d91d028909ef5"
        }],
        "groupLabels": {"alertname": name},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example:9093",
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"),
        "truncatedAlerts": 0
    });
    Bytes::from(serde_json::to_vec(&body).unwrap())
}

/// An API v2 push of one alert named `name`.
fn am_push(name: &str) -> Bytes {
    let body = json!([{
        "labels": {"alertname": name, "instance": "checkout-2b1c:8080", "service": "checkout", "severity": "critical"},
        "annotations": {"runbook_url": "https://runbooks.example/checkout-5xx", "summary": name},
        "startsAt": jiff::Timestamp::now().to_string(),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=rate"
    }]);
    Bytes::from(serde_json::to_vec(&body).unwrap())
}

// ---------------------------------------------------------------------------------------------
// clients

struct Sent {
    name: String,
    at: Instant,
    ack: Duration,
    status: u16,
    body: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// Open loop: request i is issued at start + i/rate whatever the earlier ones are doing.
async fn open_loop(url: &str, items: Vec<(String, Bytes)>, rate: u64) -> (Vec<Sent>, Vec<f64>) {
    let client = client();
    let period = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    let mut handles = Vec::with_capacity(items.len());
    let mut lag = Vec::with_capacity(items.len());
    for (i, (name, body)) in items.into_iter().enumerate() {
        let due = start + period * i as u32;
        tokio::time::sleep_until(due).await;
        lag.push(ms(
            tokio::time::Instant::now().saturating_duration_since(due)
        ));
        let (client, url) = (client.clone(), url.to_owned());
        handles.push(tokio::spawn(async move {
            let at = Instant::now();
            let r = client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await;
            let (status, body) = match r {
                Ok(r) => {
                    let s = r.status().as_u16();
                    (s, r.text().await.unwrap_or_default())
                }
                Err(e) => (0, e.to_string()),
            };
            Sent {
                name,
                at,
                ack: at.elapsed(),
                status,
                body,
            }
        }));
    }
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap());
    }
    (out, lag)
}

/// Waits until every key has arrived or `quiet` passed without a new arrival.
async fn await_arrivals(arrivals: &Arrivals, keys: &[String], quiet: Duration) {
    let mut last = (arrivals.count_of(keys), Instant::now());
    loop {
        let n = arrivals.count_of(keys);
        if n >= keys.len() {
            return;
        }
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > quiet {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

struct EndToEnd {
    label: String,
    accepted: usize,
    refused: Vec<String>,
    ack: Vec<f64>,
    e2e: Vec<f64>,
    missing: usize,
    lag: Vec<f64>,
    cpu_ms: f64,
    wall: Duration,
}

impl EndToEnd {
    fn print(self) {
        let n = self.accepted + self.refused.len();
        println!("{}:", self.label);
        println!(
            "  sent {n}, accepted {} ({} refused{}), pacer lag p99 {:.2} ms",
            self.accepted,
            self.refused.len(),
            self.refused
                .first()
                .map(|r| format!(", e.g. {r}"))
                .unwrap_or_default(),
            {
                let mut l = self.lag.clone();
                l.sort_by(|a, b| a.partial_cmp(b).unwrap());
                pct(&l, 99.0)
            }
        );
        println!("  ack (2xx received - send):        {}", summary(self.ack));
        println!("  end to end (arrival - send):      {}", summary(self.e2e));
        if self.missing > 0 {
            println!(
                "  NOT DELIVERED: {} accepted alerts never reached the receiver",
                self.missing
            );
        }
        println!(
            "  server CPU {:.0} ms over {:.1} s = {:.0} µs per alert ({:.0}% of one core)",
            self.cpu_ms,
            self.wall.as_secs_f64(),
            self.cpu_ms * 1e3 / n.max(1) as f64,
            self.cpu_ms / 10.0 / self.wall.as_secs_f64()
        );
    }
}

/// Sends the named payloads open-loop and matches each accepted one to its arrival.
async fn measure(
    label: String,
    url: &str,
    items: Vec<(String, Bytes)>,
    rate: u64,
    arrivals: &Arrivals,
    key_of: fn(&Sent) -> Option<String>,
    pid: u32,
) -> EndToEnd {
    let cpu0 = cpu_ms(pid);
    let t0 = Instant::now();
    let (sent, lag) = open_loop(url, items, rate).await;
    let ok: Vec<&Sent> = sent
        .iter()
        .filter(|s| (200..300).contains(&s.status))
        .collect();
    let keys: Vec<String> = ok.iter().filter_map(|s| key_of(s)).collect();
    await_arrivals(arrivals, &keys, Duration::from_secs(10)).await;
    let wall = t0.elapsed();
    let cpu = cpu_ms(pid) - cpu0;
    let mut e2e = Vec::new();
    let mut missing = 0;
    for s in &ok {
        match key_of(s).and_then(|k| arrivals.get(&k)) {
            Some(at) => e2e.push(ms(at.saturating_duration_since(s.at))),
            None => missing += 1,
        }
    }
    EndToEnd {
        label,
        accepted: ok.len(),
        refused: sent
            .iter()
            .filter(|s| !(200..300).contains(&s.status))
            .map(|s| {
                format!(
                    "{} {}",
                    s.status,
                    s.body.chars().take(200).collect::<String>()
                )
            })
            .collect(),
        ack: ok.iter().map(|s| ms(s.ack)).collect(),
        e2e,
        missing,
        lag,
        cpu_ms: cpu,
        wall,
    }
}

// ---------------------------------------------------------------------------------------------
// the three measurements

/// A tocsin page names its incident; the 202 named the incident the alert opened.
fn incident_of(s: &Sent) -> Option<String> {
    serde_json::from_str::<Value>(&s.body)
        .ok()?
        .get("incidentRecordArn")?
        .as_str()
        .map(str::to_owned)
}

/// Alertmanager's webhook names the group, i.e. the alert's name.
fn name_of(s: &Sent) -> Option<String> {
    Some(s.name.clone())
}

async fn tocsin_e2e(bin: &Path, receiver: SocketAddr, arrivals: &Arrivals, rate: u64, secs: u64) {
    let dir = temp_dir();
    println!(
        "fsync floor in {} (4 KiB overwrite + fdatasync): {}",
        dir.path().parent().unwrap_or(dir.path()).display(),
        fsync_cost(dir.path())
    );
    tocsin_config(dir.path(), receiver);
    let (proc, base) = start_tocsin(bin, dir.path(), dir.path()).await;
    let url = format!("{base}/v1/alerts/alertmanager/{PLAN}");
    // Warm-up: connections, the plugin's instance pool, redb's file.
    let warm: Vec<_> = (0..100)
        .map(|i| {
            let k = format!("bench_w_{i}");
            let b = am_webhook(&k);
            (k, b)
        })
        .collect();
    let w = measure(
        "warm-up".into(),
        &url,
        warm,
        100,
        arrivals,
        incident_of,
        proc.pid(),
    )
    .await;
    if w.missing > 0 {
        println!(
            "warm-up: {} of {} pages missing; the server log:\n{}",
            w.missing,
            w.accepted,
            proc.log_tail()
        );
    }
    let n = (rate * secs) as usize;
    let items: Vec<_> = (0..n)
        .map(|i| {
            let k = format!("bench_t_{i}");
            let b = am_webhook(&k);
            (k, b)
        })
        .collect();
    println!("load average before: {}", loadavg());
    let r = measure(
        format!("tocsin: {n} distinct alerts at {rate}/s (each opens an incident and pages)"),
        &url,
        items,
        rate,
        arrivals,
        incident_of,
        proc.pid(),
    )
    .await;
    let missing = r.missing;
    r.print();
    if missing > 0 {
        println!("the server log (tail):\n{}", proc.log_tail());
    }
    proc.stop().await;
    // The disk's flush cost changes with the other tenants' I/O: measured again after.
    println!("fsync floor after: {}", fsync_cost(dir.path()));
}

async fn alertmanager_e2e(
    bin: &Path,
    receiver: SocketAddr,
    arrivals: &Arrivals,
    rate: u64,
    secs: u64,
) {
    let dir = temp_dir();
    let (proc, base) = start_alertmanager(bin, dir.path(), receiver).await;
    let url = format!("{base}/api/v2/alerts");
    let warm: Vec<_> = (0..100)
        .map(|i| {
            let k = format!("bench_v_{i}");
            let b = am_push(&k);
            (k, b)
        })
        .collect();
    let _ = measure(
        "warm-up".into(),
        &url,
        warm,
        100,
        arrivals,
        name_of,
        proc.pid(),
    )
    .await;
    let n = (rate * secs) as usize;
    let items: Vec<_> = (0..n)
        .map(|i| {
            let k = format!("bench_a_{i}");
            let b = am_push(&k);
            (k, b)
        })
        .collect();
    println!("load average before: {}", loadavg());
    measure(
        format!("alertmanager: {n} distinct alerts at {rate}/s (API v2 push -> webhook)"),
        &url,
        items,
        rate,
        arrivals,
        name_of,
        proc.pid(),
    )
    .await
    .print();
    proc.stop().await;
}

async fn dedupe(bin: &Path, receiver: SocketAddr, arrivals: &Arrivals, secs: u64, conns: &[usize]) {
    let dir = temp_dir();
    tocsin_config(dir.path(), receiver);
    let (proc, base) = start_tocsin(bin, dir.path(), dir.path()).await;
    let url = format!("{base}/v1/alerts/alertmanager/{PLAN}");
    let body = am_webhook("bench_dup");
    let c = client();
    let first: Value = c
        .post(&url)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["outcome"], "CREATED", "{first}");
    let arn = first["incidentRecordArn"].as_str().unwrap().to_owned();
    await_arrivals(arrivals, std::slice::from_ref(&arn), Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the incident's follow-ups settle
    let mut total_ok = 0u64;
    for &n in conns {
        let client = client();
        let deadline = Instant::now() + Duration::from_secs(secs);
        let cpu0 = cpu_ms(proc.pid());
        let t0 = Instant::now();
        let mut workers = Vec::new();
        for _ in 0..n {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            workers.push(tokio::spawn(async move {
                let (mut ok, mut bad, mut lat) = (0u64, Vec::new(), Vec::new());
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await;
                    match r {
                        Ok(r) if r.status().as_u16() == 202 => {
                            let text = r.text().await.unwrap_or_default();
                            if text.contains("\"DEDUPLICATED\"") {
                                ok += 1;
                                lat.push(ms(t.elapsed()));
                            } else {
                                bad.push(text);
                            }
                        }
                        Ok(r) => bad.push(format!(
                            "{} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        )),
                        Err(e) => bad.push(e.to_string()),
                    }
                }
                (ok, bad, lat)
            }));
        }
        let (mut ok, mut bad, mut lat) = (0u64, Vec::new(), Vec::new());
        for w in workers {
            let (o, b, l) = w.await.unwrap();
            ok += o;
            bad.extend(b);
            lat.extend(l);
        }
        let wall = t0.elapsed();
        let cpu = cpu_ms(proc.pid()) - cpu0;
        total_ok += ok;
        println!("dedupe, {n} connections, closed loop for {secs} s:");
        println!(
            "  {ok} deduplicated (202) in {:.2} s = {:.0} alerts/s; {} failed{}",
            wall.as_secs_f64(),
            ok as f64 / wall.as_secs_f64(),
            bad.len(),
            bad.first()
                .map(|b| format!(", e.g. {}", b.chars().take(200).collect::<String>()))
                .unwrap_or_default()
        );
        println!("  per-request latency: {}", summary(lat));
        println!(
            "  server CPU {:.0} ms = {:.0} µs per alert ({:.0}% of one core)",
            cpu,
            cpu * 1e3 / ok.max(1) as f64,
            cpu / 10.0 / wall.as_secs_f64()
        );
    }
    let id = arn.rsplit('/').next().unwrap();
    let rec: Value = c
        .get(format!("{base}/v1/incidents/{id}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let count = rec["incidentRecord"]["triggerCount"].as_u64().unwrap_or(0);
    // The creating alert counts as the first trigger.
    println!(
        "  check: the incident's triggerCount is {count}; 1 + deduplicated 202s = {}{}",
        1 + total_ok,
        if count == 1 + total_ok {
            " (equal)"
        } else {
            " (MISMATCH)"
        }
    );
    proc.stop().await;
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let on = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let bin = tocsin_binary();
    let am = alertmanager_binary();
    let rate = env_num("TOCSIN_BENCH_RATE", 500).max(1);
    let secs = env_num("TOCSIN_BENCH_SECS", 10).max(1);
    let dup_secs = env_num("TOCSIN_BENCH_DUP_SECS", 5).max(1);
    let conns: Vec<usize> = std::env::var("TOCSIN_BENCH_DUP_CONNS")
        .unwrap_or_else(|_| "16,64".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "ingest bench: {} (modified {:?} ago), nproc {}, load average {}",
        bin.display(),
        std::fs::metadata(&bin)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .map(|d| Duration::from_secs(d.as_secs()))
            .unwrap_or_default(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let (receiver, arrivals) = start_receiver();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if on("tocsin") {
            tocsin_e2e(&bin, receiver, &arrivals, rate, secs).await;
        }
        if on("alertmanager") {
            match &am {
                Some(am) => alertmanager_e2e(am, receiver, &arrivals, rate, secs).await,
                None => println!(
                    "alertmanager: skipped (no prometheus-alertmanager; `apt-get install prometheus-alertmanager` or set TOCSIN_ALERTMANAGER)"
                ),
            }
        }
        if on("dedupe") {
            dedupe(&bin, receiver, &arrivals, dup_secs, &conns).await;
            let dir = temp_dir();
            println!("fsync floor after: {}", fsync_cost(dir.path()));
        }
    });
    println!("load average at the end: {}", loadavg());
}
