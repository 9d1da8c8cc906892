//! Per-call cost of the `chat` plugin against a local stand-in for a Slack incoming webhook
//! (200 `ok`): `notify` through the sandbox, next to the same POST sent with reqwest from the
//! bench, so the sandbox's share is visible.

use criterion::Criterion;
use serde_json::json;
use tocsin::plugin::{CallContext, HostOptions, InstanceSpec, PluginHost, PluginSource};

use crate::pagerduty::{local_peer, runtime};

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let addr = local_peer(&rt, 200, "ok");
    let url = format!("http://{addr}/services/T0ACME/B0PAGES/qJ8d0Zf2u1xW7yKpLm3nR5sT");
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        let mut spec = InstanceSpec::new("slack", PluginSource::Builtin("chat".into()));
        spec.config = json!({"provider": "slack"});
        spec.grant.http = vec![format!("http://{addr}")];
        spec.grant.secrets = vec!["CHAT_WEBHOOK_URL".into()];
        spec.secret_values = vec![("CHAT_WEBHOOK_URL".into(), url.clone())];
        host.add_instance(spec).await.unwrap();
        host
    });
    let input = json!({"recipient": "", "subject": "SEV2: checkout error rate 12%",
                       "message": "5xx > 5% for 10 min on checkout",
                       "accept_url": "https://tocsin.example.com/ack/6e1a8c3b?sig=c2ln",
                       "incident_arn": "arn:aws:ssm-incidents::1:incident-record/p/1"});
    let out = rt
        .block_on(host.invoke("slack", "notify", &input, CallContext::default()))
        .unwrap();
    assert_eq!(out["detail"], "ok", "{out}");
    // The body the plugin sends, for the direct round trip.
    let body = json!({"text": "SEV2: checkout error rate 12%: 5xx &gt; 5% for 10 min on checkout",
                      "blocks": [
                          {"type": "header", "text": {"type": "plain_text", "text": "SEV2: checkout error rate 12%", "emoji": true}},
                          {"type": "section", "text": {"type": "mrkdwn", "text": "5xx &gt; 5% for 10 min on checkout"}},
                          {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Acknowledge"},
                                                            "url": "https://tocsin.example.com/ack/6e1a8c3b?sig=c2ln", "style": "primary", "action_id": "tocsin_acknowledge"}]},
                          {"type": "context", "elements": [{"type": "mrkdwn", "text": "Incident `arn:aws:ssm-incidents::1:incident-record/p/1`"}]}]});
    let client = reqwest::Client::new();

    let mut group = c.benchmark_group("chat");
    group.sample_size(30);
    group.bench_function("plugin_notify_slack", |b| {
        b.to_async(&rt).iter(|| async {
            host.invoke("slack", "notify", &input, CallContext::default())
                .await
                .unwrap()
        })
    });
    group.bench_function("direct_reqwest_post_slack", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(&url)
                .json(&body)
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
