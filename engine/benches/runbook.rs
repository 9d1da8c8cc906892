//! Runbook executor benches: per-step overhead of built-in steps including the commit, and
//! 10,000 concurrent waiting executions (RSS per execution, time to resume all after a restart).
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

/// 10,000 executions waiting on a timer (aws:sleep PT2S, then an aws:pause): RSS per waiting
/// execution; then stop, let every timer become overdue, restart and time until all have resumed
/// (each timer fired, its transition committed, every execution waiting at the pause).
fn waiting_10k() {
    const N: usize = 10_000;
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let doc = "schemaVersion: '0.3'\nmainSteps:\n  - { name: Nap, action: 'aws:sleep', inputs: { Duration: PT2S } }\n  - { name: Hold, action: 'aws:pause' }\n";
    let (store, exec) = rt.block_on(engine(dir.path()));
    // Warm up allocator and caches.
    rt.block_on(async {
        for _ in 0..200 {
            exec.start_execution(inline(doc)).await.unwrap();
        }
    });
    let before = rss_kib();
    let t = Instant::now();
    rt.block_on(async {
        let mut tasks = Vec::with_capacity(N);
        for _ in 0..N {
            let exec = exec.clone();
            tasks.push(tokio::spawn(async move {
                exec.start_execution(inline(doc)).await.unwrap()
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let started = t.elapsed();
    let after = rss_kib();
    let per = (after.saturating_sub(before) as f64 * 1024.0) / N as f64;
    println!(
        "runbook/waiting_10k: started {N} executions in {started:?} ({:.0}/s)",
        N as f64 / started.as_secs_f64()
    );
    println!(
        "runbook/waiting_10k: RSS {before} KiB -> {after} KiB: {per:.0} bytes per waiting execution"
    );
    exec.shutdown();
    drop(exec);
    drop(store);
    std::thread::sleep(Duration::from_secs(3)); // every timer is now overdue
    let total = N + 200;
    let t = Instant::now();
    let (store, exec) = rt.block_on(engine(dir.path()));
    let opened = t.elapsed();
    loop {
        if store.pending_timers().unwrap().is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let resumed = t.elapsed();
    let waiting = store
        .execution_summaries()
        .unwrap()
        .iter()
        .filter(|s| s.current.as_deref() == Some("Hold"))
        .count();
    assert_eq!(waiting, total, "every execution resumed to its pause");
    println!(
        "runbook/resume_10k: {total} executions with overdue timers: engine up in {opened:?}, all resumed (timer fired + committed) in {resumed:?}"
    );
    exec.shutdown();
}

criterion_group!(benches, per_step);

fn main() {
    benches();
    if std::env::args().all(|a| a != "--skip-10k") {
        waiting_10k();
    }
    Criterion::default().configure_from_args().final_summary();
}
