//! Per-call cost of the `voice` plugin against a Twilio stand-in on loopback (answers 201 with a
//! call `sid`): `notify` through the sandbox, TwiML built and escaped inside it, next to the same
//! Calls API request sent with reqwest from the bench.

use criterion::Criterion;
use serde_json::{Value, json};
use tocsin::plugin::{CallContext, HostOptions, PluginHost};

use crate::sms::{ACCOUNT, TO, runtime, twilio_instance, twilio_stand_in};

const FROM: &str = "+15017122661";

pub fn bench(c: &mut Criterion) {
    let rt = runtime();
    let twilio = twilio_stand_in(&rt, "CAe03b7cd806070d1f32bdb7f1046a41c0");
    let host = rt.block_on(async {
        let mut host = PluginHost::new(HostOptions::default()).unwrap();
        host.add_instance(twilio_instance(
            "voice",
            "voice",
            &twilio,
            json!({"account_sid": ACCOUNT, "from": FROM, "api_base": twilio}),
        ))
        .await
        .unwrap();
        host
    });
    let callback = "https://tocsin.example.com/v1/inbound/voice?page=p-1&sig=abc";
    let input = json!({
        "recipient": TO,
        "subject": "Checkout degraded",
        "message": "Checkout error rate 7% (SLO 1%) since 14:02 UTC & rising",
        "callback_url": callback
    });
    let ctx = || CallContext {
        invocation_id: "bench/page/1".into(),
        attempt: 1,
        ..Default::default()
    };
    let out = rt
        .block_on(host.invoke("voice", "notify", &input, ctx()))
        .unwrap();
    assert_eq!(out["provider_id"], "CAe03b7cd806070d1f32bdb7f1046a41c0");

    // The TwiML the plugin sends for this page, prebuilt: the direct request does no work of
    // its own beyond the HTTP round trip.
    let gather = format!(
        r#"<Gather input="dtmf" numDigits="1" timeout="5" action="{}" method="POST">"#,
        callback.replace('&', "&amp;")
    );
    let speech = "Checkout degraded. Checkout error rate 7% (SLO 1%) since 14:02 UTC &amp; rising. Press 1 to acknowledge.";
    let twiml = format!(
        "<Response>{gather}<Say>{speech}</Say></Gather>{gather}<Say>Again. {speech}</Say></Gather><Say>No key was pressed. Goodbye.</Say></Response>"
    );
    let form = [
        ("To", TO),
        ("From", FROM),
        ("Twiml", twiml.as_str()),
        ("StatusCallback", callback),
        ("StatusCallbackMethod", "POST"),
    ];
    let client = reqwest::Client::new();
    let calls = format!("{twilio}/2010-04-01/Accounts/{ACCOUNT}/Calls.json");

    let mut group = c.benchmark_group("voice");
    group.sample_size(30);
    group.bench_function("twilio_notify_through_plugin", |b| {
        b.to_async(&rt)
            .iter(|| async { host.invoke("voice", "notify", &input, ctx()).await.unwrap() })
    });
    group.bench_function("twilio_direct_reqwest", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .post(&calls)
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
    group.finish();
}
