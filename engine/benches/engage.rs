//! Engagement engine benches (issue 5, items 4 and 10). A plain `main` that prints its results;
//! they go in BENCHMARKS.md (`## Engagements`).
//!
//! - `pages`: pages dispatched per second — N engagements of a PERSONAL contact whose channel is
//!   the built-in `console` plugin, started at once through `Pager::start_engagement`, timed until
//!   every notification's outcome is recorded (the outbox is empty; every page then has a SENT
//!   receipt, checked afterwards). Rate limits are emptied so storm protection holds nothing back.
//! - `stage`: stage-transition latency — an escalation plan whose stage 1 lasts 1 s; from the stage
//!   timer's due time to the stage-2 page's SENT receipt. Idle (probes started 300 ms apart), then
//!   under load (1,000 engagements whose stage timers all fall due in the same second). Timer
//!   lateness (fire time − due time) from `tocsin::pager::take_lateness`.
//! - `restart`: 100,000 engagements waiting on a stage timer due in 30 min (seeded in batches with
//!   the public store API and the pure machine, the same writes `Pager` commits); then fresh child
//!   processes time `Store::open` + `Pager::start` and read the RSS growth against a child on an
//!   empty data directory.
//!
//! `cargo bench -p tocsin --bench engage [-- pages|stage|restart]` (no filter: all three).
//! `TOCSIN_BENCH_TIMERS` overrides the 100,000 of `restart`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tocsin::engage::{
    self, Changes, Directory, Machine, Notification, ReceiptType, SendOutcome, StartRequest,
};
use tocsin::oncall::{
    ActivationStatus, ChannelType, Contact, ContactChannel, ContactType, EscalationPlan, PlanStage,
    PlanTarget,
};
use tocsin::pager::{Pager, PagingPolicy, StartEngagement, take_lateness};
use tocsin::plugin::{HostOptions, InstanceSpec, PluginHost, PluginSource};
use tocsin::store::{EngageTx, Store, StoreError};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn host() -> Arc<PluginHost> {
    let mut host = PluginHost::new(HostOptions::default()).unwrap();
    host.add_instance(InstanceSpec::new(
        "console",
        PluginSource::Builtin("console".into()),
    ))
    .await
    .unwrap();
    Arc::new(host)
}

/// Default policy with the paging-storm limits removed.
fn policy() -> PagingPolicy {
    PagingPolicy {
        rate_limits: BTreeMap::new(),
        ..PagingPolicy::default()
    }
}

fn open(dir: &Path) -> Arc<Store> {
    Arc::new(Store::open(&dir.join("tocsin.redb")).unwrap())
}

/// A PERSONAL contact with one activated EMAIL channel, delivered by `console`.
fn person(alias: &str) -> Contact {
    Contact {
        alias: alias.into(),
        display_name: None,
        contact_type: ContactType::Personal,
        channels: vec![ContactChannel {
            name: "mail".into(),
            channel_type: ChannelType::Email,
            delivery_address: format!("{alias}@example.com"),
            activation_status: ActivationStatus::Activated,
            plugin: None,
        }],
        engagement_plan: None,
        tags: Default::default(),
    }
}

fn target(contact: &str) -> PlanTarget {
    PlanTarget {
        contact: Some(contact.into()),
        schedule: None,
        channel: None,
        retry_interval_in_minutes: 0,
        is_essential: true,
    }
}

/// Stage 1 pages `first` for `stage1_secs`, then stage 2 pages `second`.
fn two_stage_plan(alias: &str, stage1_secs: u32, first: &str, second: &str) -> EscalationPlan {
    EscalationPlan {
        alias: alias.into(),
        display_name: None,
        stages: vec![
            PlanStage {
                duration_in_minutes: 0,
                duration_seconds: Some(stage1_secs),
                targets: vec![target(first)],
            },
            PlanStage {
                duration_in_minutes: 0,
                duration_seconds: None,
                targets: vec![target(second)],
            },
        ],
        repeat: 0,
        tags: Default::default(),
    }
}

fn define(store: &Store, contacts: &[Contact], plans: &[EscalationPlan]) {
    store
        .oncall_write(|tx| {
            for c in contacts {
                tx.put_contact(c)?;
            }
            for p in plans {
                tx.put_plan(p)?;
            }
            Ok::<_, StoreError>(())
        })
        .unwrap();
}

fn start_req(contact: &str, n: usize) -> StartEngagement {
    StartEngagement {
        contact_id: contact.into(),
        sender: "bench".into(),
        subject: format!("bench page {n}"),
        content: "Something is on fire; please acknowledge.".into(),
        public_subject: None,
        public_content: None,
        incident_id: None,
        idempotency_token: None,
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process used so far, in ms.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // After the command: state is field 3, utime 14, stime 15 (clock ticks, 100 per second).
    let tick = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(14) + tick(15)) * 10.0
}

/// p-th percentile (nearest rank) of samples in ms.
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
        "n={} p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms.len(),
        pct(&ms, 50.0),
        pct(&ms, 90.0),
        pct(&ms, 99.0),
        ms.last().copied().unwrap_or(f64::NAN)
    )
}

fn lateness_ms() -> Vec<f64> {
    take_lateness()
        .into_iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect()
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// Waits until nothing is committed but unanswered (and, with `timers`, no timer is pending).
async fn drained(store: &Arc<Store>, timers: bool, poll: Duration) {
    loop {
        let s = store.clone();
        let done = blocking(move || {
            s.outbox().unwrap().is_empty() && (!timers || s.timer_count().unwrap() == 0)
        })
        .await;
        if done {
            return;
        }
        tokio::time::sleep(poll).await;
    }
}

/// When the SENT receipt of page `page` was recorded, if it was.
fn sent_at(store: &Store, page: &str) -> Option<Timestamp> {
    store
        .engage_read(|tx| tx.receipts(page))
        .unwrap()
        .into_iter()
        .find(|r| r.receipt_type == ReceiptType::Sent)
        .map(|r| r.receipt_time)
}

fn ms_between(from: Timestamp, to: Timestamp) -> f64 {
    to.duration_since(from).as_secs_f64() * 1e3
}

/// A stage timer's due instant as the engine stores it (unix ms, truncated).
fn due_ms(start: Timestamp, secs: i64) -> Timestamp {
    let due = start + SignedDuration::from_secs(secs);
    Timestamp::from_millisecond(due.as_millisecond()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// 1. pages dispatched per second

fn pages_per_second() {
    const N: usize = 2_000;
    const RUNS: usize = 2;
    const WARM: usize = 100;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let store = open(dir.path());
        define(&store, &[person("oncall")], &[]);
        let pager = Pager::start(store.clone(), host().await, policy()).unwrap();
        let storm = |n: usize| {
            let pager = pager.clone();
            async move {
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        let pager = pager.clone();
                        tokio::spawn(
                            async move { pager.start_engagement(start_req("oncall", i)).await },
                        )
                    })
                    .collect();
                let mut ids = Vec::with_capacity(n);
                for t in tasks {
                    ids.push(t.await.unwrap().unwrap().engagement_id);
                }
                ids
            }
        };
        storm(WARM).await;
        drained(&store, false, Duration::from_millis(20)).await;
        for run in 1..=RUNS {
            let t = Instant::now();
            let ids = storm(N).await;
            let started = t.elapsed();
            drained(&store, false, Duration::from_millis(20)).await;
            let all = t.elapsed();
            // Check (untimed): every page of the storm has a SENT receipt.
            let s = store.clone();
            let missing = blocking(move || {
                ids.iter()
                    .filter(|id| sent_at(&s, &format!("{id}-p1")).is_none())
                    .count()
            })
            .await;
            assert_eq!(missing, 0, "pages without a SENT receipt");
            println!(
                "engage/pages run {run}: {N} engagements (1 page each, console EMAIL): all started (committed) in {:.2} s ({:.0} starts/s); every page SENT-recorded after {:.2} s → {:.0} pages/s",
                started.as_secs_f64(),
                N as f64 / started.as_secs_f64(),
                all.as_secs_f64(),
                N as f64 / all.as_secs_f64()
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 2. stage-transition latency

fn stage_latency() {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    rt.block_on(async {
        let store = open(dir.path());
        // Plans load-1..load-40: stage 1 of d seconds, so an engagement started at `now` can pick
        // the plan that makes its stage timer fall due in a chosen second.
        let mut plans = vec![two_stage_plan("two-stage", 1, "alice", "bob")];
        plans.extend((1..=40).map(|d| two_stage_plan(&format!("load-{d}"), d, "carol", "dave")));
        define(
            &store,
            &[person("alice"), person("bob"), person("carol"), person("dave")],
            &plans,
        );
        let pager = Pager::start(store.clone(), host().await, policy()).unwrap();

        // What one durable commit costs here (every decision and every recorded outcome is one).
        let s = store.clone();
        let commit = blocking(move || {
            let c = person("calibration");
            let t = Instant::now();
            for _ in 0..200 {
                s.oncall_write(|tx| tx.put_contact(&c)).unwrap();
            }
            t.elapsed().as_secs_f64() * 1e3 / 200.0
        })
        .await;
        println!("engage/stage: one small durable redb commit: {commit:.2} ms (mean of 200)");

        // Idle: probes 300 ms apart, each polled (every 5 ms from its due time) until its
        // stage-2 page is SENT-recorded and visible.
        const PROBES: usize = 30;
        let _ = take_lateness();
        let mut pollers = Vec::new();
        for i in 0..PROBES {
            let eng = pager
                .start_engagement(start_req("two-stage", i))
                .await
                .unwrap();
            let due = due_ms(eng.start_time, 1);
            let s = store.clone();
            pollers.push(tokio::spawn(async move {
                let wait = due.duration_since(Timestamp::now());
                if wait.is_positive() {
                    tokio::time::sleep(wait.unsigned_abs()).await;
                }
                let page = format!("{}-p2", eng.engagement_id);
                loop {
                    let (s2, p) = (s.clone(), page.clone());
                    if let Some(at) = blocking(move || sent_at(&s2, &p)).await {
                        return (due, at, Timestamp::now());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        let (mut recorded, mut visible) = (Vec::new(), Vec::new());
        for p in pollers {
            let (due, at, seen) = p.await.unwrap();
            recorded.push(ms_between(due, at));
            visible.push(ms_between(due, seen));
        }
        let late = lateness_ms();
        println!("engage/stage idle: due → stage-2 SENT recorded: {}", summary(recorded));
        println!(
            "engage/stage idle: due → stage-2 SENT visible to a reader (5 ms polling): {}",
            summary(visible)
        );
        println!("engage/stage idle: timer lateness: {}", summary(late));
        drained(&store, true, Duration::from_millis(20)).await;

        // Under load: 1,000 engagements started one after another, each picking the plan that
        // makes its stage timer fall due in [T, T + 1 s); every one is a sample.
        const LOAD: usize = 1_000;
        let t0 = Timestamp::now();
        let target = Timestamp::from_second(t0.as_second() + 30).unwrap();
        let mut load = Vec::with_capacity(LOAD);
        let started = Instant::now();
        for i in 0..LOAD {
            let left = target.duration_since(Timestamp::now());
            let d = (left.as_millis() + 999) / 1000;
            assert!(
                (1..=40).contains(&d),
                "starting the load took too long ({:?})",
                started.elapsed()
            );
            let eng = pager
                .start_engagement(start_req(&format!("load-{d}"), i))
                .await
                .unwrap();
            load.push((eng.engagement_id, due_ms(eng.start_time, d as i64)));
        }
        let start_time = started.elapsed();
        drained(&store, false, Duration::from_millis(20)).await;
        let stage1_sent = started.elapsed();
        let (first, last) = (
            load.iter().map(|l| l.1).min().unwrap(),
            load.iter().map(|l| l.1).max().unwrap(),
        );
        println!(
            "engage/stage load: {LOAD} engagements started in {:.2} s, stage-1 pages all SENT after {:.2} s; stage timers due {} .. {} ({:.0} ms apart)",
            start_time.as_secs_f64(),
            stage1_sent.as_secs_f64(),
            first,
            last,
            ms_between(first, last)
        );
        let wait = (first - SignedDuration::from_millis(300)).duration_since(Timestamp::now());
        assert!(wait.is_positive(), "the stage-1 sends did not finish before the load second");
        tokio::time::sleep(wait.unsigned_abs()).await;
        let _ = take_lateness();
        drained(&store, true, Duration::from_millis(20)).await;
        let drained_at = Timestamp::now();
        let late = lateness_ms();
        let s = store.clone();
        let lat = blocking(move || {
            load.iter()
                .map(|(id, due)| {
                    let at = sent_at(&s, &format!("{id}-p2")).expect("stage-2 page SENT");
                    ms_between(*due, at)
                })
                .collect::<Vec<_>>()
        })
        .await;
        println!(
            "engage/stage load: due → stage-2 SENT recorded, all {LOAD}: {}",
            summary(lat)
        );
        println!("engage/stage load: timer lateness: {}", summary(late));
        println!(
            "engage/stage load: everything drained (timers fired, {LOAD} stage-2 pages SENT-recorded) {:.0} ms after the last due time",
            ms_between(last, drained_at)
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 3. restart with 100,000 pending timers

/// The on-call world of the seeding transaction (one plan, two people), cached.
struct SeedDir {
    contacts: Vec<Contact>,
    plan: EscalationPlan,
}

impl Directory for SeedDir {
    fn contact(&self, alias: &str) -> Option<Contact> {
        self.contacts.iter().find(|c| c.alias == alias).cloned()
    }
    fn plan(&self, alias: &str) -> Option<EscalationPlan> {
        (self.plan.alias == alias).then(|| self.plan.clone())
    }
    fn is_schedule(&self, _: &str) -> bool {
        false
    }
    fn on_call(&self, _: &str, _: Timestamp) -> Result<Vec<String>, String> {
        Err("no schedules in this bench".into())
    }
    fn route(&self, channel: &ContactChannel) -> String {
        channel.plugin_instance().to_owned()
    }
    fn accept_code(&self) -> String {
        format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000)
    }
}

/// The writes of `Pager::commit` (no rate limits), returning the notifications.
fn put_changes(tx: &EngageTx<'_>, ch: Changes) -> Result<Vec<Notification>, StoreError> {
    if let Some(e) = &ch.engagement {
        tx.put_engagement(e)?;
    }
    for p in &ch.pages {
        tx.put_page(p)?;
    }
    for r in &ch.receipts {
        tx.add_receipt(r)?;
    }
    for t in &ch.timeline {
        tx.add_timeline(t)?;
    }
    for t in &ch.timers {
        tx.add_timer(t)?;
    }
    Ok(ch.notifications)
}

/// `n` engagements of `plan`, each as it is after its start committed and its stage-1 page's
/// console send was recorded SENT: engagement, page, receipts, and one stage timer 30 min after
/// its start. Engagement `i` starts at `start_of(i)` (the engine's clock).
fn seed(store: &Store, dir: &SeedDir, n: usize, start_of: impl Fn(usize) -> Timestamp) {
    const BATCH: usize = 2_000;
    let mut done = 0;
    while done < n {
        let batch = BATCH.min(n - done);
        store
            .engage_write(|tx| {
                for i in done..done + batch {
                    let now = start_of(i);
                    let ch = engage::start(
                        StartRequest {
                            engagement_id: uuid::Uuid::now_v7().simple().to_string(),
                            arn_prefix: "arn:aws:ssm-contacts:local:000000000000".into(),
                            contact_id: dir.plan.alias.clone(),
                            sender: "bench".into(),
                            subject: "bench page".into(),
                            content: "Something is on fire; please acknowledge.".into(),
                            public_subject: None,
                            public_content: None,
                            incident_id: None,
                            idempotency_token: None,
                        },
                        dir,
                        now,
                    )
                    .unwrap();
                    let eng = ch.engagement.clone().unwrap();
                    let pages = ch.pages.clone();
                    let sends = put_changes(tx, ch)?;
                    let mut m = Machine::new(eng, pages, dir, now);
                    for s in &sends {
                        m.sent(
                            s,
                            SendOutcome::Sent {
                                provider: "console".into(),
                                provider_id: Some(s.key.clone()),
                                delivered: true,
                            },
                        );
                    }
                    put_changes(tx, m.finish())?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        done += batch;
    }
}

const CHILD_ENV: &str = "TOCSIN_BENCH_CHILD";
const CHILD_DIR_ENV: &str = "TOCSIN_BENCH_DIR";

/// Child process: plugin host up (as `serve` has it before the engine), RSS read, then
/// `Store::open` + `Pager::start` timed; after the scheduler's first ticks, RSS read again.
fn child() {
    let dir = PathBuf::from(std::env::var(CHILD_DIR_ENV).unwrap());
    let rt = runtime();
    let out = rt.block_on(async {
        let plugins = host().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = rss_kib();
        let t = Instant::now();
        let store = open(&dir);
        let opened = t.elapsed();
        let pager = Pager::start(store.clone(), plugins, policy()).unwrap();
        let started = t.elapsed();
        // What the scheduler's refill does on its first tick (the window's rows), timed alone.
        let s = store.clone();
        let (window, scan) = blocking(move || {
            let t = Instant::now();
            let rows = s
                .timers_due(Timestamp::now() + SignedDuration::from_secs(60), 10_000)
                .unwrap()
                .len();
            (rows, t.elapsed())
        })
        .await;
        let cpu = cpu_ms();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = rss_kib();
        let idle_cpu = cpu_ms() - cpu;
        // After the RSS reading (it fills redb's cache): one refill when the window holds more
        // than the index's cap (10,000 rows read and decoded).
        let s = store.clone();
        let (capped, capped_scan) = blocking(move || {
            let t = Instant::now();
            let rows = s
                .timers_due(Timestamp::now() + SignedDuration::from_hours(1), 10_000)
                .unwrap()
                .len();
            (rows, t.elapsed())
        })
        .await;
        let s = store.clone();
        let pending = blocking(move || s.timer_count().unwrap()).await;
        serde_json::json!({
            "before_kib": before,
            "after_kib": after,
            "open_ms": opened.as_secs_f64() * 1e3,
            "start_ms": started.as_secs_f64() * 1e3,
            "pending": pending,
            "indexed": pager.indexed_timers(),
            "window_rows": window,
            "window_scan_ms": scan.as_secs_f64() * 1e3,
            "idle_cpu_ms": idle_cpu,
            "capped_rows": capped,
            "capped_scan_ms": capped_scan.as_secs_f64() * 1e3,
        })
    });
    // Dropping the runtime ends the scheduler task, the last holder of the store: clean close.
    drop(rt);
    println!("{out}");
}

fn run_child(dir: &Path) -> serde_json::Value {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, "open")
        .env(CHILD_DIR_ENV, dir)
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "bench child failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("child printed {line:?}: {e}"))
}

fn restart() {
    let n: usize = std::env::var("TOCSIN_BENCH_TIMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed_dir = SeedDir {
        contacts: vec![person("erin"), person("frank")],
        plan: EscalationPlan {
            alias: "restart-plan".into(),
            display_name: None,
            stages: vec![
                PlanStage {
                    duration_in_minutes: 30,
                    duration_seconds: None,
                    targets: vec![target("erin")],
                },
                PlanStage {
                    duration_in_minutes: 0,
                    duration_seconds: None,
                    targets: vec![target("frank")],
                },
            ],
            repeat: 0,
            tags: Default::default(),
        },
    };
    let far = tempfile::tempdir().unwrap();
    let seeded = |dir: &Path, start_of: &dyn Fn(usize) -> Timestamp, what: &str| {
        let store = open(dir);
        define(
            &store,
            &seed_dir.contacts,
            std::slice::from_ref(&seed_dir.plan),
        );
        let t = Instant::now();
        seed(&store, &seed_dir, n, start_of);
        let took = t.elapsed();
        assert_eq!(store.timer_count().unwrap(), n as u64);
        assert!(store.outbox().unwrap().is_empty());
        drop(store); // closes the database cleanly
        let size = std::fs::metadata(dir.join("tocsin.redb")).map_or(0, |m| m.len());
        println!(
            "engage/restart: seeded {n} engagements waiting on a stage timer {what} in {:.1} s ({:.0}/s, 2,000 per transaction); file {:.0} MB ({:.1} KB per engagement)",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64(),
            size as f64 / 1e6,
            size as f64 / 1e3 / n as f64
        );
    };
    seeded(
        far.path(),
        &|_| Timestamp::now(),
        "due 30 min after its start",
    );
    let empty = tempfile::tempdir().unwrap();
    let kib = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap() as f64;
    let f = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    let report = |label: &str, base: &serde_json::Value, full: &serde_json::Value| {
        let grow_base = kib(base, "after_kib") - kib(base, "before_kib");
        let grow = kib(full, "after_kib") - kib(full, "before_kib");
        println!(
            "engage/restart {label}: empty data dir: open {:.1} ms, open+start {:.1} ms, RSS {} → {} KiB (+{:.1} MB), CPU while idle 1.5 s {:.0} ms",
            f(base, "open_ms"),
            f(base, "start_ms"),
            base["before_kib"],
            base["after_kib"],
            grow_base / 1024.0,
            f(base, "idle_cpu_ms"),
        );
        println!(
            "engage/restart {label}: {n} pending timers: open {:.1} ms, open+start {:.1} ms; RSS {} → {} KiB (+{:.1} MB; {:+.1} MB over the empty data dir); pending {}, indexed {}, CPU while idle 1.5 s {:.0} ms; first-tick window scan {} rows in {:.1} ms; a capped refill ({} rows) {:.1} ms",
            f(full, "open_ms"),
            f(full, "start_ms"),
            full["before_kib"],
            full["after_kib"],
            grow / 1024.0,
            (grow - grow_base) / 1024.0,
            full["pending"],
            full["indexed"],
            f(full, "idle_cpu_ms"),
            full["window_rows"],
            f(full, "window_scan_ms"),
            full["capped_rows"],
            f(full, "capped_scan_ms"),
        );
    };
    for round in 1..=2 {
        let base = run_child(empty.path());
        let full = run_child(far.path());
        report(&format!("round {round}"), &base, &full);
    }
    drop(far);
    // Worst case for memory: every timer due within the next minute when the engine starts (the
    // index fills to its cap). Timers due 45..95 s after seeding began, two per millisecond; the
    // child runs (and exits) before the first is due.
    let near = tempfile::tempdir().unwrap();
    let first_due = Timestamp::now() + SignedDuration::from_secs(45);
    let base_start = first_due - SignedDuration::from_mins(30);
    seeded(
        near.path(),
        &|i| base_start + SignedDuration::from_micros(500 * i as i64),
        "due 45–95 s after seeding began",
    );
    let left = first_due.duration_since(Timestamp::now());
    assert!(
        left > SignedDuration::from_secs(10),
        "seeding took too long for the near-future case"
    );
    let base = run_child(empty.path());
    let full = run_child(near.path());
    report("all due within the window", &base, &full);
}

fn main() {
    if std::env::var(CHILD_ENV).is_ok() {
        child();
        return;
    }
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let on = |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    if on("pages") {
        pages_per_second();
    }
    if on("stage") {
        stage_latency();
    }
    if on("restart") {
        restart();
    }
}
