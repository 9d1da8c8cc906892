//! Per-call cost of the `ec2` plugin against a real moto server: `wait` for a state the instance
//! is already in (one signed DescribeInstanceStatus) and `describe` (DescribeInstances +
//! DescribeInstanceStatus) through the sandbox, next to the same DescribeInstanceStatus sent
//! with reqwest from the bench, so the sandbox's share (instantiation, SigV4, XML) is visible.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::json;
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_moto() -> Option<Moto> {
    let bin = std::env::var_os("TOCSIN_PEER_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/peers/venv/bin")
        })
        .join("moto_server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::blocking::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if client
            .get(format!("{}/moto-api/data.json", moto.url))
            .send()
            .is_ok()
        {
            return Some(moto);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

/// moto (authentication off, its default) reads the service and region from the credential
/// scope of the Authorization header and checks nothing else.
const SCOPE_ONLY_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0";

fn ec2_query(client: &reqwest::blocking::Client, url: &str, form: &str) -> String {
    client
        .post(format!("{url}/"))
        .header("authorization", SCOPE_ONLY_AUTH)
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(form.to_owned())
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .expect("moto answers")
}

pub fn bench(c: &mut Criterion) {
    let Some(moto) = start_moto() else {
        eprintln!("ec2 bench skipped: moto_server is not installed (cargo xtask test installs it)");
        return;
    };
    let blocking = reqwest::blocking::Client::new();
    let launched = ec2_query(
        &blocking,
        &moto.url,
        "Action=RunInstances&Version=2016-11-15&ImageId=ami-12c6146b&MinCount=1&MaxCount=1&InstanceType=t3.micro",
    );
    let instance = launched
        .split("<instanceId>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("RunInstances returns an instance id")
        .to_owned();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        let mut spec = InstanceSpec::new("ec2", PluginSource::Builtin("ec2".into()));
        spec.config = json!({"region": "us-east-1", "endpoint_url": moto.url});
        spec.grant.http = vec![moto.url.clone()];
        spec.grant.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
        spec.secret_values = vec![
            ("AWS_ACCESS_KEY_ID".into(), "AKIAIOSFODNN7EXAMPLE".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "bench-secret".into()),
        ];
        host.add_instance(spec).await.unwrap();
        host
    });
    let ctx = || CallContext {
        invocation_id: "bench/verify/1".into(),
        attempt: 1,
        ..Default::default()
    };
    let wait = json!({"instance_ids": instance, "state": "running"});
    let describe = json!({"instance_ids": instance});
    let out = rt
        .block_on(host.invoke("ec2", "wait", &wait, ctx()))
        .unwrap();
    assert_eq!(out["polls"], 1, "{out}");
    let out = rt
        .block_on(host.invoke("ec2", "describe", &describe, ctx()))
        .unwrap();
    assert_eq!(out["all_running"], true, "{out}");

    let client = reqwest::Client::new();
    let status_form = format!(
        "Action=DescribeInstanceStatus&Version=2016-11-15&InstanceId.1={instance}&IncludeAllInstances=true"
    );
    let mut group = c.benchmark_group("plugin_peers/ec2");
    group.sample_size(20);
    group.bench_function("wait running (1 DescribeInstanceStatus) via plugin", |b| {
        b.to_async(&rt)
            .iter(|| async { host.invoke("ec2", "wait", &wait, ctx()).await.unwrap() })
    });
    group.bench_function("describe (2 calls) via plugin", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("ec2", "describe", &describe, ctx())
                .await
                .unwrap()
        })
    });
    group.bench_function("DescribeInstanceStatus with reqwest (peer only)", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(format!("{}/", moto.url))
                .header("authorization", SCOPE_ONLY_AUTH)
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )
                .body(status_form.clone())
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        })
    });
    group.finish();
}
