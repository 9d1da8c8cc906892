//! Per-call cost of the `pagerduty` plugin against a local stand-in answering as the Events API
//! does (202 `{status, message, dedup_key}`): an `event` trigger through the sandbox, next to
//! the same POST sent with reqwest from the bench, so the sandbox's share is visible.

use std::net::SocketAddr;

use criterion::Criterion;
use serde_json::json;
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

/// A loopback HTTP server answering every request with `status` and `body`.
pub(crate) fn local_peer(
    rt: &tokio::runtime::Runtime,
    status: u16,
    body: &'static str,
) -> SocketAddr {
    rt.block_on(async move {
        // The handler reads the request body, as a real provider does: a server that answers
        // before reading it can close the stream under the client's body write.
        let app = axum::Router::new().fallback(move |_request: axum::body::Bytes| async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        addr
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let addr = local_peer(
        &rt,
        202,
        r#"{"status":"success","message":"Event processed","dedup_key":"arn:aws:ssm-incidents::1:incident-record/p/1"}"#,
    );
    let base = format!("http://{addr}");
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        let mut spec = InstanceSpec::new("pd", PluginSource::Builtin("pagerduty".into()));
        spec.config = json!({"events_base": base, "api_base": base});
        spec.grant.http = vec![base.clone()];
        spec.grant.secrets = vec!["PAGERDUTY_ROUTING_KEY".into()];
        spec.secret_values = vec![(
            "PAGERDUTY_ROUTING_KEY".into(),
            "e93facc04764012d7bfb002500d5d1a6".into(),
        )];
        host.add_instance(spec).await.unwrap();
        host
    });
    let input = json!({"event_action": "trigger", "summary": "db-1 is down", "impact": 2,
                       "incident_arn": "arn:aws:ssm-incidents::1:incident-record/p/1",
                       "custom_details": {"runbook": "restart-db"}});
    let out = rt
        .block_on(host.invoke("pd", "event", &input, CallContext::default()))
        .unwrap();
    assert_eq!(out["status"], "success", "{out}");
    // The request the plugin sends, for the direct round trip.
    let event = json!({"routing_key": "e93facc04764012d7bfb002500d5d1a6", "event_action": "trigger",
                       "dedup_key": "arn:aws:ssm-incidents::1:incident-record/p/1",
                       "payload": {"summary": "db-1 is down", "source": "tocsin", "severity": "error",
                                   "custom_details": {"runbook": "restart-db", "incident_arn": "arn:aws:ssm-incidents::1:incident-record/p/1"}},
                       "client": "Tocsin"});
    let client = reqwest::Client::new();
    let url = format!("{base}/v2/enqueue");

    let mut group = c.benchmark_group("pagerduty");
    group.sample_size(30);
    group.bench_function("plugin_event_trigger", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("pd", "event", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("direct_reqwest_event_trigger", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(&url)
                .json(&event)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        })
    });
    group.finish();
}
