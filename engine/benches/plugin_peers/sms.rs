//! Per-call cost of the `sms` plugin against its local peers: a Twilio stand-in on loopback
//! (answers 201 with Twilio's message document) and a real moto server for Amazon SNS. Each
//! `notify` through the sandbox sits next to the same request sent with reqwest from the bench,
//! so the sandbox's share is visible.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use serde_json::{Value, json};
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

pub const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
pub const TO: &str = "+14155550100";
const FROM: &str = "+15017122661";

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A Twilio stand-in on loopback answering every POST with a created `sid` (what the plugin
/// reads); returns its base URL.
pub fn twilio_stand_in(rt: &tokio::runtime::Runtime, sid: &'static str) -> String {
    rt.block_on(async move {
        let app = axum::Router::new().fallback(move |_body: String| async move {
            let doc = json!({"sid": sid, "status": "queued", "num_segments": "1"});
            (
                axum::http::StatusCode::CREATED,
                [("content-type", "application/json")],
                doc.to_string(),
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        format!("http://127.0.0.1:{}", addr.port())
    })
}

/// A `name` instance of the built-in `plugin` talking to Twilio at `base`.
pub fn twilio_instance(name: &str, plugin: &str, base: &str, config: Value) -> InstanceSpec {
    let mut spec = InstanceSpec::new(name, PluginSource::Builtin(plugin.into()));
    spec.config = config;
    spec.grant.http = vec![base.to_owned()];
    spec.grant.secrets = vec!["TWILIO_AUTH_TOKEN".into()];
    spec.secret_values = vec![("TWILIO_AUTH_TOKEN".into(), "bench-token".into())];
    spec
}

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

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let twilio = twilio_stand_in(&rt, "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    let moto = start_moto();
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        host.add_instance(twilio_instance(
            "sms",
            "sms",
            &twilio,
            json!({"twilio": {"account_sid": ACCOUNT, "from": FROM, "api_base": twilio}}),
        ))
        .await
        .unwrap();
        if let Some(moto) = &moto {
            let mut spec = InstanceSpec::new("sms-sns", PluginSource::Builtin("sms".into()));
            spec.config = json!({"provider": "sns", "sns": {"region": "us-east-1", "endpoint_url": moto.url}});
            spec.grant.http = vec![moto.url.clone()];
            spec.grant.secrets = vec!["AWS_ACCESS_KEY_ID".into(), "AWS_SECRET_ACCESS_KEY".into()];
            spec.secret_values = vec![
                ("AWS_ACCESS_KEY_ID".into(), "AKIAIOSFODNN7EXAMPLE".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "bench-secret".into()),
            ];
            host.add_instance(spec).await.unwrap();
        }
        host
    });
    let input = json!({
        "recipient": TO,
        "message": "Checkout error rate 7% (SLO 1%) since 14:02 UTC",
        "accept_code": "482913",
        "callback_url": "https://tocsin.example.com/v1/inbound/sms?page=p-1"
    });
    let ctx = || CallContext {
        invocation_id: "bench/page/1".into(),
        attempt: 1,
        ..Default::default()
    };
    let out = rt
        .block_on(host.invoke("sms", "notify", &input, ctx()))
        .unwrap();
    assert_eq!(out["provider_id"], "SM1f0e8ae6ade43cb3c0ce4525424e404f");
    let client = reqwest::Client::new();
    let messages = format!("{twilio}/2010-04-01/Accounts/{ACCOUNT}/Messages.json");
    let form = [
        ("To", TO),
        ("From", FROM),
        (
            "Body",
            "Checkout error rate 7% (SLO 1%) since 14:02 UTC\nReply 482913 to acknowledge",
        ),
        (
            "StatusCallback",
            "https://tocsin.example.com/v1/inbound/sms?page=p-1",
        ),
    ];

    let mut group = c.benchmark_group("sms");
    group.sample_size(30);
    group.bench_function("twilio_notify_through_plugin", |b| {
        b.to_async(&rt)
            .iter(|| async { host.invoke("sms", "notify", &input, ctx()).await.unwrap() })
    });
    group.bench_function("twilio_direct_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(&messages)
                .basic_auth(ACCOUNT, Some("bench-token"))
                .header("i-twilio-idempotency-token", "bench/page/1")
                .form(&form)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    });
    if let Some(moto) = &moto {
        // Unsigned: moto does not check signatures, so this is moto's own round trip.
        let publish = [
            ("Action", "Publish"),
            ("Version", "2010-03-31"),
            ("PhoneNumber", TO),
            ("Message", form[2].1),
        ];
        group.sample_size(20);
        group.bench_function("sns_notify_through_plugin", |b| {
            b.to_async(&rt).iter(|| async {
                host.invoke("sms-sns", "notify", &input, ctx())
                    .await
                    .unwrap()
            })
        });
        group.bench_function("sns_direct_reqwest_publish", |b| {
            b.to_async(&rt).iter(|| async {
                let resp = client
                    .post(format!("{}/", moto.url))
                    .form(&publish)
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_success());
                resp.text().await.unwrap()
            })
        });
    } else {
        eprintln!("sms: SNS bench skipped: no moto_server (run `cargo xtask peers`)");
    }
    group.finish();
}
