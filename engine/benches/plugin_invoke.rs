//! Plugin invocation cost (issue 2, item 8):
//! - one invocation of a small Rust plugin with ~1 KB JSON in and out on a fresh sandboxed
//!   instance (schema check, fresh Store + instance, call, output checks), against spawning a
//!   native process (`/bin/true`) in the same run;
//! - cold start: loading a plugin with and without the precompiled cache;
//! - the Python (componentize-py) plugin: size, load (compile / cached) and call cost.
//!
//! Besides criterion's estimates, prints p50/p99 over 5,000 sequential calls.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use tocsin::plugin::{
    CallContext, CompileCache, HostOptions, InstanceSpec, PluginHost, PluginSource, builtin,
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// ~1 KB of JSON: a message and a list of alert-like items.
fn kilobyte_input() -> serde_json::Value {
    let items: Vec<_> = (0..12)
        .map(|i| json!({"alertname": "HighErrorRate", "instance": format!("web-{i}:9100"), "severity": "page", "value": i as f64 * 1.5}))
        .collect();
    let v = json!({"message": "checkout error rate above 5% for 10 minutes", "items": items});
    assert!(
        (900..1400).contains(&v.to_string().len()),
        "input is {} bytes",
        v.to_string().len()
    );
    v
}

async fn testbed_host(cache: Option<CompileCache>) -> PluginHost {
    let mut host = PluginHost::new(HostOptions { cache }).unwrap();
    host.add_instance(InstanceSpec::new(
        "tb",
        PluginSource::Path(PathBuf::from(builtin::TESTBED_PATH)),
    ))
    .await
    .unwrap();
    host
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (p(0.50), p(0.99))
}

fn invoke_vs_spawn(c: &mut Criterion) {
    let rt = rt();
    let host = rt.block_on(testbed_host(None));
    let input = kilobyte_input();
    let out = rt
        .block_on(host.invoke("tb", "echo", &input, CallContext::default()))
        .unwrap();
    assert_eq!(out, input);

    let mut group = c.benchmark_group("invoke");
    group.bench_function("sandboxed_rust_echo_1kb", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("tb", "echo", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("spawn_bin_true", |b| {
        b.iter(|| std::process::Command::new("/bin/true").status().unwrap())
    });
    group.finish();

    let sandboxed: Vec<Duration> = (0..5000)
        .map(|_| {
            let t = Instant::now();
            rt.block_on(host.invoke("tb", "echo", &input, CallContext::default()))
                .unwrap();
            t.elapsed()
        })
        .collect();
    let spawned: Vec<Duration> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            std::process::Command::new("/bin/true").status().unwrap();
            t.elapsed()
        })
        .collect();
    let (s50, s99) = percentiles(sandboxed);
    let (p50, p99) = percentiles(spawned);
    println!("PERCENTILES sandboxed_rust_echo_1kb p50={s50:?} p99={s99:?}");
    println!("PERCENTILES spawn_bin_true p50={p50:?} p99={p99:?}");
    println!(
        "RATIO spawn/sandboxed at p50 = {:.1}x",
        p50.as_secs_f64() / s50.as_secs_f64()
    );
}

fn cold_start(c: &mut Criterion) {
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::new(dir.path());
    rt.block_on(testbed_host(Some(cache.clone()))); // fill the cache
    let mut group = c.benchmark_group("cold_start");
    group.sample_size(10);
    group.bench_function("load_testbed_compile", |b| {
        b.iter(|| rt.block_on(testbed_host(None)))
    });
    group.bench_function("load_testbed_cached", |b| {
        b.iter(|| rt.block_on(testbed_host(Some(cache.clone()))))
    });
    group.finish();
}

/// The Python component built by the test suite (or here, with the venv's componentize-py).
fn python_component() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()?
        .to_path_buf();
    let out = root.join("target/peers/python-plugin.wasm");
    if !out.exists() {
        let tool = root.join("target/peers/venv/bin/componentize-py");
        let t = Instant::now();
        let ok = std::process::Command::new(tool)
            .current_dir(root.join("tests/plugins/python"))
            .args([
                "-d",
                "../../../wit",
                "-w",
                "action-plugin",
                "componentize",
                "app",
                "-o",
            ])
            .arg(&out)
            .status()
            .ok()?
            .success();
        println!("PYTHON componentize-py build took {:?}", t.elapsed());
        if !ok {
            return None;
        }
    }
    Some(out)
}

fn python_plugin(c: &mut Criterion) {
    let Some(path) = python_component() else {
        println!(
            "PYTHON component unavailable (run `cargo xtask peers`); skipping its measurements"
        );
        return;
    };
    println!(
        "PYTHON component size {} bytes",
        std::fs::metadata(&path).unwrap().len()
    );
    let rt = rt();
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::new(dir.path());
    let load = |cache: Option<CompileCache>| {
        let path = path.clone();
        rt.block_on(async move {
            let mut host = PluginHost::new(HostOptions { cache }).unwrap();
            host.add_instance(InstanceSpec::new("py", PluginSource::Path(path)))
                .await
                .unwrap();
            host
        })
    };
    let t = Instant::now();
    let host = load(Some(cache.clone()));
    println!("PYTHON load with compile (cache miss) {:?}", t.elapsed());
    let t = Instant::now();
    load(Some(cache.clone()));
    println!("PYTHON load from cache {:?}", t.elapsed());
    let input = json!({"name": "Ada"});
    let mut group = c.benchmark_group("invoke");
    group.sample_size(20);
    group.bench_function("sandboxed_python_greet", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("py", "greet", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, invoke_vs_spawn, cold_start, python_plugin);
criterion_main!(benches);
