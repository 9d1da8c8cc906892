//! Runbook executor benches: per-step overhead of built-in steps including the commit, and
//! 10,000 concurrent waiting executions (RSS held per waiting execution, measured in a fresh
//! child process against a baseline; time to resume all after a restart).
//! Results and the machine go in BENCHMARKS.md (`## Runbooks`).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use serde_json::Map;
use tocsin::exec::{Documents, Executor, StartRequest};
use tocsin::plugin::{HostOptions, InstanceSpec, PluginHost, PluginSource};
use tocsin::runbook::PluginActions;
use tocsin::runbook::interp::Signal;
use tocsin::store::Store;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn engine(dir: &Path) -> (Arc<Store>, Executor) {
    // The previous engine on this directory may still be releasing the database lock.
    let store = loop {
        match Store::open(&dir.join("tocsin.redb")) {
            Ok(s) => break Arc::new(s),
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    };
    let mut host = PluginHost::new(HostOptions::default()).unwrap();
    host.add_instance(InstanceSpec::new(
        "console",
        PluginSource::Builtin("console".into()),
    ))
    .await
    .unwrap();
    let docs = Documents::new(host.action_schemas().into_iter().collect::<PluginActions>());
    let exec = Executor::start(store.clone(), Arc::new(host), docs).unwrap();
    (store, exec)
}

fn inline(yaml: &str) -> StartRequest {
    StartRequest {
        content: Some(yaml.to_owned()),
        parameters: Map::new(),
        ..StartRequest::default()
    }
}

fn pauses(n: usize) -> String {
    let mut y = String::from("schemaVersion: '0.3'\nmainSteps:\n");
    for i in 0..n {
        y.push_str(&format!("  - {{ name: P{i}, action: 'aws:pause' }}\n"));
    }
    y
}

fn branches(n: usize) -> String {
    let mut y = String::from(
        "schemaVersion: '0.3'\nparameters:\n  X: { type: String, default: a }\nmainSteps:\n",
    );
    for i in 0..n {
        let next = if i + 1 == n {
            "End".to_string()
        } else {
            format!("B{}", i + 1)
        };
        y.push_str(&format!(
            "  - name: B{i}\n    action: aws:branch\n    inputs:\n      Choices:\n        - {{ NextStep: {next}, Variable: '{{{{ X }}}}', StringEquals: a }}\n      Default: {next}\n"
        ));
    }
    y.push_str("  - { name: End, action: 'aws:sleep', inputs: { Duration: PT0S } }\n");
    y
}

fn per_step(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (_store, exec) = rt.block_on(engine(dir.path()));
    let mut g = c.benchmark_group("runbook");
    // One aws:pause step completed by a Resume signal: transition + one durable commit each.
    const STEPS: usize = 50;
    let doc = pauses(STEPS);
    g.bench_function("pause_step_resume_with_commit", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut left = 0;
                let mut id = String::new();
                let t = Instant::now();
                for _ in 0..iters {
                    if left == 0 {
                        id = exec.start_execution(inline(&doc)).await.unwrap().id;
                        left = STEPS;
                    }
                    exec.signal(&id, Signal::Resume).await.unwrap();
                    left -= 1;
                }
                t.elapsed()
            })
        })
    });
    // An execution of 100 aws:branch steps (+ a zero sleep) run in one transition and one commit,
    // including start-up (render, parameter binding): divide by 101 for the per-step cost.
    let doc = branches(100);
    g.bench_function("start_and_run_101_instant_steps_with_commit", |b| {
        b.iter(|| rt.block_on(async { exec.start_execution(inline(&doc)).await.unwrap() }))
    });
    g.finish();
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

/// Each execution sleeps 2 s (overdue after the restart), then waits on a 1-hour timer: after
/// resuming, every execution is waiting with a pending timer in the engine's in-memory index.
const WAIT_DOC: &str = "schemaVersion: '0.3'\nmainSteps:\n  - { name: Nap, action: 'aws:sleep', inputs: { Duration: PT2S } }\n  - { name: Wait, action: 'aws:sleep', inputs: { Duration: PT1H } }\n";

/// Set in a child process of this bench: `resume`, `hold` or `baseline` (see [`child`]).
const CHILD_ENV: &str = "TOCSIN_BENCH_CHILD";
const CHILD_DIR_ENV: &str = "TOCSIN_BENCH_DIR";
const CHILD_TOTAL_ENV: &str = "TOCSIN_BENCH_TOTAL";
const CHILD_LAST_ENV: &str = "TOCSIN_BENCH_LAST";
/// Time a child lets the engine settle before reading its RSS.
const SETTLE: Duration = Duration::from_secs(1);

/// Child mode (a fresh process, so nothing of the parent's start-up peak is in its heap): open
/// the engine on the data directory and print one JSON line.
/// - `resume`: the executions' `Nap` timers are overdue; wait until every one has fired and its
///   transition is committed (every execution waiting at `Wait`), then read RSS.
/// - `hold`: every execution already waits at `Wait` (nothing overdue): engine up, timers
///   loaded, read RSS — the steady state of a restarted engine holding them.
/// - `baseline`: the same on an empty data directory.
fn child(mode: &str) {
    let dir = std::path::PathBuf::from(std::env::var(CHILD_DIR_ENV).unwrap());
    let total: usize = std::env::var(CHILD_TOTAL_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let rt = runtime();
    let t = Instant::now();
    let (store, exec) = rt.block_on(engine(&dir));
    let opened = t.elapsed();
    let mut resumed = Duration::ZERO;
    if mode == "resume" {
        // Timers fire in start order: poll the last-started execution (a point read; scanning
        // every timer each poll would compete with the engine for CPU and redb's page cache),
        // then check every timer.
        let last = std::env::var(CHILD_LAST_ENV).unwrap();
        loop {
            let at_wait = store
                .execution(&last)
                .unwrap()
                .is_some_and(|s| s.summary.current.as_deref() == Some("Wait"));
            if at_wait {
                let timers = store.pending_timers().unwrap();
                if timers.len() == total && timers.iter().all(|t| t.timer.step == "Wait") {
                    break;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        resumed = t.elapsed();
    }
    std::thread::sleep(SETTLE);
    let rss = rss_kib();
    if mode != "baseline" {
        let waiting = store
            .execution_summaries()
            .unwrap()
            .iter()
            .filter(|s| s.current.as_deref() == Some("Wait"))
            .count();
        assert_eq!(waiting, total, "every execution waits at `Wait`");
        assert_eq!(store.pending_timers().unwrap().len(), total);
    }
    println!(
        "{}",
        serde_json::json!({
            "rss_kib": rss,
            "opened_ms": opened.as_secs_f64() * 1e3,
            "resumed_ms": resumed.as_secs_f64() * 1e3,
        })
    );
    // Close the database cleanly (the executor thread holds the store until it stops), so the
    // next process does not pay redb's repair.
    exec.shutdown();
    drop(exec);
    while Arc::strong_count(&store) > 1 {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn run_child(mode: &str, dir: &Path, total: usize, last: &str) -> serde_json::Value {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, mode)
        .env(CHILD_LAST_ENV, last)
        .env(CHILD_DIR_ENV, dir)
        .env(CHILD_TOTAL_ENV, total.to_string())
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "bench child `{mode}` failed");
    let line = String::from_utf8_lossy(&out.stdout);
    let line = line.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("child `{mode}` printed {line:?}: {e}"))
}

/// 10,000 executions waiting on a timer. This process starts them all at once (start rate, and
/// the RSS growth of doing so: the transient peak of 10,000 queued starts, kept by the allocator
/// as free heap); then it stops, every `Nap` timer becomes overdue, and fresh child processes
/// measure the time to resume all and the RSS held per waiting execution against a baseline.
fn waiting_10k() {
    const N: usize = 10_000;
    const WARM: usize = 200;
    let total = N + WARM;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let (store, exec) = rt.block_on(engine(dir.path()));
    // Warm up allocator and caches.
    rt.block_on(async {
        for _ in 0..WARM {
            exec.start_execution(inline(WAIT_DOC)).await.unwrap();
        }
    });
    let before = rss_kib();
    let t = Instant::now();
    let ids = rt.block_on(async {
        let mut tasks = Vec::with_capacity(N);
        for _ in 0..N {
            let exec = exec.clone();
            tasks.push(tokio::spawn(async move {
                exec.start_execution(inline(WAIT_DOC)).await.unwrap()
            }));
        }
        let mut ids = Vec::with_capacity(N);
        for t in tasks {
            ids.push(t.await.unwrap().id);
        }
        ids
    });
    let started = t.elapsed();
    let after = rss_kib();
    let last = ids.into_iter().max().unwrap();
    let per = (after.saturating_sub(before) as f64 * 1024.0) / N as f64;
    println!(
        "runbook/waiting_10k: started {N} executions in {started:?} ({:.0}/s)",
        N as f64 / started.as_secs_f64()
    );
    println!(
        "runbook/waiting_10k: starting process RSS {before} KiB -> {after} KiB: {per:.0} bytes per started execution (transient start-up peak included)"
    );
    exec.shutdown();
    drop(exec);
    drop(store);
    std::thread::sleep(Duration::from_secs(3)); // every `Nap` timer is now overdue
    let empty = tempfile::tempdir().unwrap();
    let base = run_child("baseline", empty.path(), 0, &last);
    let resume = run_child("resume", dir.path(), total, &last);
    let hold = run_child("hold", dir.path(), total, &last);
    let kib = |v: &serde_json::Value| v["rss_kib"].as_u64().unwrap();
    let ms = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap();
    let per = |v: &serde_json::Value| (kib(v) as f64 - kib(&base) as f64) * 1024.0 / total as f64;
    println!(
        "runbook/resume_10k: fresh process, {total} executions with overdue timers: engine up in {:.0} ms, all resumed (timer fired + committed, each waiting at its next timer) in {:.0} ms",
        ms(&resume, "opened_ms"),
        ms(&resume, "resumed_ms")
    );
    println!(
        "runbook/waiting_10k: fresh process RSS: baseline (empty data dir) {} KiB; after resuming all {total} {} KiB = {:.0} bytes per waiting execution; restarted with all {total} waiting (engine up in {:.0} ms) {} KiB = {:.0} bytes per waiting execution",
        kib(&base),
        kib(&resume),
        per(&resume),
        ms(&hold, "opened_ms"),
        kib(&hold),
        per(&hold)
    );
}

criterion_group!(benches, per_step);

fn main() {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        child(&mode);
        return;
    }
    benches();
    if std::env::args().all(|a| a != "--skip-10k") {
        waiting_10k();
    }
    Criterion::default().configure_from_args().final_summary();
}
