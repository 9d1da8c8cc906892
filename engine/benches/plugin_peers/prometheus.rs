//! Per-call cost of the `prometheus` plugin against a real local Prometheus (Debian's
//! `/usr/bin/prometheus`, scraping itself): `query` of `up` through the sandbox, next to the same
//! POST /api/v1/query sent with reqwest from the bench, so the sandbox's share is visible.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::{Value, json};
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

struct Prometheus {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus() -> Option<Prometheus> {
    let bin = ["/usr/bin/prometheus", "prometheus"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())?;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!("global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n"),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let prom = Prometheus {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let up = client
            .get(format!("{}/api/v1/query?query=up", prom.base))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|v| v["data"]["result"][0]["value"][1] == "1");
        if up {
            return Some(prom);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

pub fn bench(c: &mut Criterion) {
    let Some(prom) = start_prometheus() else {
        eprintln!("prometheus bench skipped: no Prometheus (run `cargo xtask peers`)");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        let mut spec = InstanceSpec::new("prom", PluginSource::Builtin("prometheus".into()));
        spec.config = json!({"base_url": prom.base});
        spec.grant.http = vec![prom.base.clone()];
        host.add_instance(spec).await.unwrap();
        host
    });
    let input = json!({"query": "up{job=\"prometheus\"}"});
    let out = rt
        .block_on(host.invoke("prom", "query", &input, CallContext::default()))
        .unwrap();
    assert_eq!(out["value"], 1, "{out}");
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/query", prom.base);

    let mut group = c.benchmark_group("prometheus");
    group.sample_size(30);
    group.bench_function("plugin_query_up", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("prom", "query", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("direct_reqwest_query_up", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(&url)
                .form(&[("query", "up{job=\"prometheus\"}")])
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    });
    group.finish();
}
