//! Tests of the `prometheus` plugin against a real Prometheus (Debian's `/usr/bin/prometheus`,
//! installed by `cargo xtask test`), started by each test on a free port with a scrape of
//! itself and of a port where nothing listens (so `up` has a 1 and a 0), plus recording peers
//! for what a healthy Prometheus never does (auth headers, 503 with Retry-After, a proxy's 403).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tocsin::plugin::{InstanceSpec, InvokeError, PluginSource};

use crate::helpers::*;
use crate::runbook_exec::{Server, step};

/// A Prometheus child process; killed on drop.
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

fn prometheus_bin() -> PathBuf {
    let debian = PathBuf::from("/usr/bin/prometheus");
    if debian.exists() {
        return debian;
    }
    // Elsewhere: whatever `prometheus` is on PATH.
    PathBuf::from("prometheus")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Prometheus {
    /// Start Prometheus scraping itself (job `prometheus`, up = 1) and a closed port (job
    /// `down`, up = 0), with a recording rule `job:error_ratio:5m` for the example runbook;
    /// return once both `up` series have a sample.
    fn start() -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let closed = free_port();
        std::fs::write(
            dir.path().join("rules.yml"),
            "groups:\n  - name: ratios\n    interval: 1s\n    rules:\n      - record: job:error_ratio:5m\n        expr: label_replace(vector(0.01), \"job\", \"checkout\", \"\", \"\")\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("prometheus.yml"),
            format!(
                "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\nrule_files: [rules.yml]\nscrape_configs:\n  - job_name: prometheus\n    static_configs: [{{ targets: ['127.0.0.1:{port}'] }}]\n  - job_name: down\n    scrape_timeout: 500ms\n    static_configs: [{{ targets: ['127.0.0.1:{closed}'] }}]\n"
            ),
        )
        .unwrap();
        let child = Command::new(prometheus_bin())
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
            .expect("start /usr/bin/prometheus (run `cargo xtask peers` to install it)");
        let prom = Prometheus {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        };
        prom.wait_for_samples();
        prom
    }

    fn wait_for_samples(&self) {
        let client = reqwest::blocking::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = client
                .get(format!("{}/api/v1/query", self.base))
                .query(&[("query", "count(up) + count(job:error_ratio:5m)")])
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["data"]["result"][0]["value"][1] == "3");
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus at {} did not scrape within a minute",
                self.base
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Prometheus's own answer to a query, to compare the plugin's error text with.
    async fn raw(&self, query: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", query)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

async fn start_prometheus() -> Prometheus {
    tokio::task::spawn_blocking(Prometheus::start)
        .await
        .unwrap()
}

fn instance(base: &str, config: Value) -> InstanceSpec {
    let mut s = spec("prom", PluginSource::Builtin("prometheus".into()));
    let mut config = config;
    config["base_url"] = json!(base);
    s.config = config;
    s.grant.http = vec![base.trim_end_matches('/').to_owned()];
    s
}

fn origin(addr: std::net::SocketAddr) -> String {
    format!("http://{addr}")
}

#[tokio::test]
async fn instant_and_range_queries_return_typed_samples() {
    let prom = start_prometheus().await;
    let get = {
        let mut s = instance(&prom.base, json!({"method": "GET"}));
        s.name = "prom_get".into();
        s
    };
    let host = host_with(vec![instance(&prom.base, json!({})), get]).await;

    let mut first_sample_at = 0.0_f64;
    for name in ["prom", "prom_get"] {
        let out = invoke(
            &host,
            name,
            "query",
            json!({"query": "up{job=\"prometheus\"}"}),
        )
        .await
        .unwrap();
        assert_eq!(out["result_type"], "vector", "{name}: {out}");
        assert_eq!(out["value"], 1, "{out}");
        assert_eq!(out["count"], 1);
        let sample = &out["samples"][0];
        assert_eq!(sample["labels"]["__name__"], "up");
        assert_eq!(sample["labels"]["job"], "prometheus");
        assert!(sample["timestamp"].as_f64().unwrap() > 1.6e9, "{sample}");
        first_sample_at = sample["timestamp"].as_f64().unwrap();
    }

    // The down target's `up` is 0; a selector matching nothing is an empty vector.
    let out = invoke(&host, "prom", "query", json!({"query": "up{job=\"down\"}"}))
        .await
        .unwrap();
    assert_eq!(out["value"], 0, "{out}");
    let out = invoke(&host, "prom", "query", json!({"query": "up{job=\"nope\"}"}))
        .await
        .unwrap();
    assert_eq!(
        (out["count"].clone(), out["value"].clone()),
        (json!(0), Value::Null)
    );

    // Scalars, fractions, and the values JSON has no number for, at a chosen time. `now-1s` only
    // sees a sample scraped more than a second ago: wait until the first one is that old.
    while std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        < first_sample_at + 1.5
    {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let out = invoke(
        &host,
        "prom",
        "query",
        json!({"query": "scalar(up{job=\"prometheus\"}) / 4", "time": "now-1s", "timeout": "5s"}),
    )
    .await
    .unwrap();
    assert_eq!(out["result_type"], "scalar", "{out}");
    assert_eq!(out["value"], 0.25);
    assert_eq!(out["samples"][0]["labels"], json!({}));
    let out = invoke(
        &host,
        "prom",
        "query",
        json!({"query": "vector(1) / 0 or label_replace(vector(0) / 0, \"kind\", \"nan\", \"\", \"\") or label_replace(-vector(1) / 0, \"kind\", \"neg\", \"\", \"\")"}),
    )
    .await
    .unwrap();
    let mut values: Vec<String> = out["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap().to_owned())
        .collect();
    values.sort();
    assert_eq!(values, ["+Inf", "-Inf", "NaN"], "{out}");
    let out = invoke(&host, "prom", "query", json!({"query": "\"tocsin\""}))
        .await
        .unwrap();
    assert_eq!(
        (out["result_type"].as_str(), out["string"].as_str()),
        (Some("string"), Some("tocsin"))
    );

    // A range over the last 30 s: one series with a point per second it was scraped.
    let out = invoke(
        &host,
        "prom",
        "query_range",
        json!({"query": "up", "start": "now-30s", "end": "now", "step": "1s"}),
    )
    .await
    .unwrap();
    assert_eq!(out["result_type"], "matrix", "{out}");
    assert_eq!(out["count"], 2, "two jobs: {out}");
    for series in out["series"].as_array().unwrap() {
        let points = series["points"].as_array().unwrap();
        assert!(!points.is_empty(), "{series}");
        let want = if series["labels"]["job"] == "prometheus" {
            1
        } else {
            0
        };
        assert!(points.iter().all(|p| p["value"] == want), "{series}");
        let times: Vec<f64> = points
            .iter()
            .map(|p| p["timestamp"].as_f64().unwrap())
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] < w[1]),
            "oldest first: {times:?}"
        );
    }
    // A numeric step and an absent end (now) work too.
    let out = invoke(
        &host,
        "prom_get",
        "query_range",
        json!({"query": "up{job=\"prometheus\"}", "start": "now-10s", "step": 2}),
    )
    .await
    .unwrap();
    assert_eq!(out["value"], 1, "{out}");
}

#[tokio::test]
async fn prometheus_errors_are_reported_verbatim_and_classified() {
    let prom = start_prometheus().await;
    let host = host_with(vec![instance(&prom.base, json!({}))]).await;

    // A PromQL syntax error is Prometheus's bad_data: invalid input, its text kept exactly.
    let raw = prom.raw("sum(rate(up[5m])").await;
    assert_eq!(raw["errorType"], "bad_data", "{raw}");
    let prometheus_says = raw["error"].as_str().unwrap();
    let err = invoke(&host, "prom", "query", json!({"query": "sum(rate(up[5m])"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(!err.is_retryable());
    assert!(
        err.to_string().contains(prometheus_says),
        "{err} vs {prometheus_says}"
    );
    assert!(err.to_string().contains("bad_data"), "{err}");

    // A range whose end precedes its start, and a time that is no time, are Prometheus's too.
    let err = invoke(
        &host,
        "prom",
        "query_range",
        json!({"query": "up", "start": "now", "end": "now-1h", "step": "1s"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-input", "{err}");
    assert!(
        err.to_string()
            .contains("end timestamp must not be before start time"),
        "{err}"
    );
    let err = invoke(
        &host,
        "prom",
        "query",
        json!({"query": "up", "time": "yesterday"}),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("yesterday"), "{err}");
    // A relative time the plugin cannot read is refused before any request.
    let err = invoke(
        &host,
        "prom",
        "query",
        json!({"query": "up", "time": "now-1x"}),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-input");
    assert!(err.to_string().contains("`time`"), "{err}");
}

#[tokio::test]
async fn basic_auth_bearer_tokens_and_extra_headers_are_sent() {
    let reply = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let (addr, seen) = recording_peer(move |_| (200, vec![], reply.into())).await;
    let mut basic = instance(
        &origin(addr),
        json!({"username": "tocsin", "headers": {"X-Scope-OrgID": "team-a"}}),
    );
    basic.grant.secrets = vec!["PROMETHEUS_PASSWORD".into()];
    basic.secret_values = vec![("PROMETHEUS_PASSWORD".into(), "s3cret-pw".into())];
    let mut bearer = instance(
        &origin(addr),
        json!({"bearer_token": true, "method": "GET"}),
    );
    bearer.name = "bearer".into();
    bearer.grant.secrets = vec!["PROMETHEUS_TOKEN".into()];
    bearer.secret_values = vec![("PROMETHEUS_TOKEN".into(), "tok-abc".into())];
    let host = host_with(vec![basic, bearer]).await;

    invoke(
        &host,
        "prom",
        "query",
        json!({"query": "up{job=\"a b\"}", "time": 1700000000}),
    )
    .await
    .unwrap();
    invoke(
        &host,
        "bearer",
        "query_range",
        json!({"query": "up", "start": 1, "end": 2, "step": "1s"}),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].uri, "/api/v1/query");
    assert_eq!(
        seen[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    // base64("tocsin:s3cret-pw")
    assert_eq!(
        seen[0].header("authorization"),
        Some("Basic dG9jc2luOnMzY3JldC1wdw==")
    );
    assert_eq!(seen[0].header("x-scope-orgid"), Some("team-a"));
    assert_eq!(
        seen[0].body,
        "query=up%7Bjob%3D%22a+b%22%7D&time=1700000000"
    );
    assert_eq!(seen[1].method, "GET");
    assert_eq!(
        seen[1].uri,
        "/api/v1/query_range?query=up&start=1&end=2&step=1s"
    );
    assert_eq!(seen[1].header("authorization"), Some("Bearer tok-abc"));
}

#[tokio::test]
async fn unavailable_and_rate_limited_are_retryable_and_a_proxy_refusal_is_not() {
    let (addr, _) = recording_peer(|req| {
        if req.body.contains("busy") {
            (
                503,
                vec![("retry-after", "7".into())],
                r#"{"status":"error","errorType":"unavailable","error":"too many queries in flight"}"#.into(),
            )
        } else if req.body.contains("slow") {
            (
                503,
                vec![],
                r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#.into(),
            )
        } else if req.body.contains("limited") {
            (429, vec![("retry-after", "3".into())], "rate limited".into())
        } else {
            (403, vec![], "Forbidden: not on the list".into())
        }
    })
    .await;
    let host = host_with(vec![instance(&origin(addr), json!({}))]).await;
    let err = invoke(&host, "prom", "query", json!({"query": "busy"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert!(
        err.to_string()
            .contains("unavailable: too many queries in flight"),
        "{err}"
    );
    let err = invoke(&host, "prom", "query", json!({"query": "slow"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), None);
    assert!(
        err.to_string()
            .contains("query timed out in expression evaluation"),
        "{err}"
    );
    let err = invoke(&host, "prom", "query", json!({"query": "limited"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    let err = invoke(&host, "prom", "query", json!({"query": "up"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "failed", "{err}");
    assert!(
        err.to_string().contains("Forbidden: not on the list"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_grant_or_secret_is_denied_naming_what_to_add() {
    let (addr, seen) = recording_peer(|_| (200, vec![], "{}".into())).await;
    let mut ungranted = instance(&origin(addr), json!({}));
    ungranted.grant.http = vec!["https://prometheus.example.com".into()];
    let mut no_secret = instance(&origin(addr), json!({"username": "tocsin"}));
    no_secret.name = "no_secret".into();
    let host = host_with(vec![ungranted, no_secret]).await;

    let err = invoke(&host, "prom", "query", json!({"query": "up"}))
        .await
        .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(
        message.contains(&origin(addr)) && message.contains("allow.http"),
        "{message}"
    );

    let err = invoke(&host, "no_secret", "query", json!({"query": "up"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "denied", "{err}");
    assert!(
        err.to_string().contains("PROMETHEUS_PASSWORD") && err.to_string().contains("secrets:"),
        "{err}"
    );
    assert!(seen.lock().unwrap().is_empty(), "nothing was sent");
}

/// A runbook through the real binary: query `up` for a job, branch on the value.
const BRANCHING: &str = r#"schemaVersion: '0.3'
parameters:
  Job: { type: String }
outputs: [Check.Up]
mainSteps:
  - name: Check
    action: prom:query
    inputs:
      query: 'up{job="{{ Job }}"}'
    outputs:
      - { Name: Up, Selector: $.value, Type: Integer }
  - name: Decide
    action: aws:branch
    inputs:
      Choices:
        - { NextStep: Healthy, Variable: '{{ Check.Up }}', NumericEquals: 1 }
      Default: Down
  - name: Healthy
    action: console:notify
    isEnd: true
    inputs: { message: '{{ Job }} is up' }
  - name: Down
    action: console:notify
    isEnd: true
    inputs: { message: '{{ Job }} is down' }
"#;

fn ran(v: &Value, name: &str) -> bool {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == name)
}

#[test]
fn a_runbook_branches_on_a_queried_value_and_the_example_runbook_runs() {
    let prom = Prometheus::start();
    let config = tempfile::tempdir().unwrap();
    std::fs::write(
        config.path().join("plugins.yaml"),
        format!(
            "kind: Plugin\nname: prom\nplugin: prometheus\nconfig: {{ base_url: '{0}' }}\nallow: {{ http: ['{0}'] }}\n---\nkind: Plugin\nname: prometheus\nplugin: prometheus\nconfig: {{ base_url: '{0}' }}\nallow: {{ http: ['{0}'] }}\n---\nkind: Plugin\nname: ops\nplugin: webhook\nallow: {{ http: ['http://127.0.0.1:9'] }}\n",
            prom.base
        ),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(
        data.path(),
        Some(config.path()),
        Some(&workspace().join("runbooks")),
    );

    let up = server.start_inline(BRANCHING, json!({"Job": "prometheus"}));
    let down = server.start_inline(BRANCHING, json!({"Job": "down"}));
    let v = server.wait_status(&up, "Success");
    assert_eq!(v["outputs"]["Check.Up"], 1, "{v}");
    assert!(ran(&v, "Healthy") && !ran(&v, "Down"), "{v}");
    assert_eq!(
        step(&v, "Check")["outputs"]["Output"]["samples"][0]["labels"]["job"],
        "prometheus"
    );
    let v = server.wait_status(&down, "Success");
    assert_eq!(v["outputs"]["Check.Up"], 0, "{v}");
    assert!(ran(&v, "Down") && !ran(&v, "Healthy"), "{v}");

    // The shipped example: checkout's error ratio (0.01, a recording rule) is under 0.05.
    let (s, v) = server.post(
        "/v1/executions",
        json!({"document": "remediate-high-error-rate", "parameters": {"Service": "checkout"}}),
    );
    assert_eq!(s, 201, "{v}");
    let v = server.wait_status(v["id"].as_str().unwrap(), "Success");
    assert_eq!(v["outputs"]["QueryErrorRatio.Ratio"], "0.01", "{v}");
    assert!(ran(&v, "Healthy") && !ran(&v, "Restart"), "{v}");
}
