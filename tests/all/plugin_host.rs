//! The plugin host with first-party plugins: schemas, grants, HTTP, secrets, the compile cache.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tocsin::plugin::{
    CacheOutcome, CompileCache, HostOptions, InvokeError, PluginError, PluginHost, PluginSource,
};

use crate::helpers::*;

fn builtin(name: &str) -> PluginSource {
    PluginSource::Builtin(name.into())
}

#[tokio::test]
async fn console_notify_writes_and_reports_delivery() {
    let host = host_with(vec![spec("console", builtin("console"))]).await;
    let out = invoke(
        &host,
        "console",
        "notify",
        json!({"message": "disk full on db-1", "recipient": "alice"}),
    )
    .await
    .unwrap();
    assert_eq!(out["delivered"], true);
    assert!(!out["id"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn input_is_checked_against_the_action_schema_before_the_call() {
    let host = host_with(vec![spec("console", builtin("console"))]).await;
    let err = invoke(&host, "console", "notify", json!({"recipient": 5}))
        .await
        .unwrap_err();
    let InvokeError::InvalidInput { errors, .. } = &err else {
        panic!("{err}")
    };
    let text = errors.join("\n");
    assert!(text.contains("message"), "names the missing field: {text}");
    assert!(
        text.contains("/recipient"),
        "names the mistyped field: {text}"
    );
    assert_eq!(err.kind(), "invalid-input");
}

#[tokio::test]
async fn unknown_instances_and_actions_list_what_exists() {
    let host = host_with(vec![spec("console", builtin("console"))]).await;
    let err = invoke(&host, "sms", "send", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("configured: console"), "{err}");
    let err = invoke(&host, "console", "shout", json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("actions: notify"), "{err}");
}

#[tokio::test]
async fn webhook_sends_the_request_and_returns_the_response() {
    /// (method, x-team header, idempotency-key header, body) of each request the peer saw.
    type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;
    let seen: Seen = Arc::default();
    let seen2 = seen.clone();
    let addr = http_peer(move |method, headers, body| {
        let h = |n: &str| {
            headers
                .get(n)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        seen2
            .lock()
            .unwrap()
            .push((method.to_string(), h("x-team"), h("idempotency-key"), body));
        (201, r#"{"accepted":true}"#.into(), Duration::ZERO)
    })
    .await;
    let mut s = spec("hooks", builtin("webhook"));
    s.grant.http = vec![format!("http://127.0.0.1:{}", addr.port())];
    let host = host_with(vec![s]).await;
    let out = host
        .invoke(
            "hooks",
            "call",
            &json!({"method": "PUT", "url": format!("http://127.0.0.1:{}/incidents/7?x=1", addr.port()),
                    "headers": {"X-Team": "sre"}, "json": {"title": "db down"}}),
            tocsin::plugin::CallContext { invocation_id: "exec-1/notify/1".into(), attempt: 1, ..Default::default() },
        )
        .await
        .unwrap();
    assert_eq!(out["status"], 201);
    assert_eq!(out["json"]["accepted"], true);
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "PUT");
    assert_eq!(seen[0].1, "sre");
    assert_eq!(
        seen[0].2, "exec-1/notify/1",
        "the invocation id is the idempotency key"
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&seen[0].3).unwrap(),
        json!({"title": "db down"})
    );
}

#[tokio::test]
async fn webhook_maps_5xx_429_and_timeouts_to_retryable() {
    let addr = http_peer(|_, headers, _| {
        let code: u16 = headers
            .get("x-answer")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        let delay = if code == 200 {
            Duration::from_secs(5)
        } else {
            Duration::ZERO
        };
        (code, "{}".into(), delay)
    })
    .await;
    let mut s = spec("hooks", builtin("webhook"));
    s.grant.http = vec!["http://127.0.0.1:*".into()];
    let host = host_with(vec![s]).await;
    let url = format!("http://127.0.0.1:{}/", addr.port());
    for code in ["503", "429", "500"] {
        let err = invoke(
            &host,
            "hooks",
            "call",
            json!({"url": url, "headers": {"x-answer": code}}),
        )
        .await
        .unwrap_err();
        assert!(err.is_retryable(), "{code}: {err}");
        assert!(err.to_string().contains(code), "{err}");
    }
    let out = invoke(
        &host,
        "hooks",
        "call",
        json!({"url": url, "headers": {"x-answer": "404"}}),
    )
    .await
    .unwrap();
    assert_eq!(
        out["status"], 404,
        "4xx is returned for the runbook to decide"
    );
    let err = invoke(
        &host,
        "hooks",
        "call",
        json!({"url": url, "headers": {"x-answer": "404"}, "fail_on_status": true}),
    )
    .await
    .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    // The peer waits 5 s before answering 200; a 300 ms timeout is a retryable failure.
    let err = invoke(
        &host,
        "hooks",
        "call",
        json!({"url": url, "headers": {"x-answer": "200"}, "timeout_ms": 300}),
    )
    .await
    .unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[tokio::test]
async fn an_origin_outside_the_grant_is_denied_with_how_to_grant_it() {
    let addr = http_peer(|_, _, _| (200, "{}".into(), Duration::ZERO)).await;
    let mut s = spec("hooks", builtin("webhook"));
    s.grant.http = vec!["https://*.example.com".into()];
    let host = host_with(vec![s]).await;
    let err = invoke(
        &host,
        "hooks",
        "call",
        json!({"url": format!("http://127.0.0.1:{}/", addr.port())}),
    )
    .await
    .unwrap_err();
    let InvokeError::Denied { message, .. } = &err else {
        panic!("{err}")
    };
    assert!(message.contains("plugin `webhook`"), "{message}");
    assert!(message.contains("instance `hooks`"), "{message}");
    assert!(
        message.contains(&format!("http://127.0.0.1:{}", addr.port())),
        "{message}"
    );
    assert!(message.contains("allow.http"), "{message}");
}

#[tokio::test]
async fn a_grant_the_manifest_never_requested_is_refused() {
    let mut s = spec("console", builtin("console"));
    s.grant.http = vec!["https://example.com".into()];
    let mut host = PluginHost::new(HostOptions::default()).unwrap();
    let err = host.add_instance(s).await.unwrap_err();
    assert!(
        matches!(&err, PluginError::Grant { field, .. } if field == "allow.http"),
        "{err}"
    );

    let mut s = spec("tb", testbed());
    s.grant.secrets = vec!["password".into()];
    let err = host.add_instance(s).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("does not request secret `password`"),
        "{err}"
    );
}

#[tokio::test]
async fn secrets_reach_only_granted_instances_and_never_leave_in_outputs() {
    let mut granted = spec("granted", testbed());
    granted.grant.secrets = vec!["token".into()];
    granted.secret_values = vec![("token".into(), "tok-123456789".into())];
    let mut ungranted = spec("ungranted", testbed());
    ungranted.secret_values = vec![("token".into(), "tok-123456789".into())];
    let host = host_with(vec![granted, ungranted]).await;

    let out = invoke(&host, "granted", "secret", json!({"target": "token"}))
        .await
        .unwrap();
    assert_eq!(out["text"], "13 bytes");

    let err = invoke(&host, "ungranted", "secret", json!({"target": "token"}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Denied { .. }), "{err}");
    assert!(err.to_string().contains("secrets:"), "{err}");

    // A plugin that echoes a secret back gets it redacted on the way out.
    let out = invoke(
        &host,
        "granted",
        "echo",
        json!({"message": "the token is tok-123456789"}),
    )
    .await
    .unwrap();
    assert_eq!(out["message"], "the token is [REDACTED:token]");
}

#[tokio::test]
async fn the_compile_cache_hits_and_rebuilds_corrupt_or_foreign_entries() {
    let dir = tempfile::tempdir().unwrap();
    let cache = CompileCache::new(dir.path());
    let outcome = |host: &PluginHost| host.instances()[0].cache.clone();

    let mut host = PluginHost::new(HostOptions {
        cache: Some(cache.clone()),
    })
    .unwrap();
    host.add_instance(spec("console", builtin("console")))
        .await
        .unwrap();
    assert_eq!(
        outcome(&host),
        format!("{:?}", CacheOutcome::Miss).to_lowercase()
    );

    let mut host = PluginHost::new(HostOptions {
        cache: Some(cache.clone()),
    })
    .unwrap();
    host.add_instance(spec("console", builtin("console")))
        .await
        .unwrap();
    assert_eq!(outcome(&host), "hit");
    invoke(&host, "console", "notify", json!({"message": "from cache"}))
        .await
        .unwrap();

    let entries: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];

    // Flip one byte in the middle of the compiled code.
    let mut bytes = std::fs::read(entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(entry, &bytes).unwrap();
    let mut host = PluginHost::new(HostOptions {
        cache: Some(cache.clone()),
    })
    .unwrap();
    host.add_instance(spec("console", builtin("console")))
        .await
        .unwrap();
    assert_eq!(outcome(&host), "rebuilt");
    invoke(
        &host,
        "console",
        "notify",
        json!({"message": "after rebuild"}),
    )
    .await
    .unwrap();

    // A foreign file with a valid envelope (digest matches) but not this engine's artifact.
    let payload = b"\x7fELF not a wasmtime artifact at all".to_vec();
    let mut foreign = b"TOCSINC1".to_vec();
    use sha2::Digest;
    foreign.extend_from_slice(&sha2::Sha256::digest(&payload));
    foreign.extend_from_slice(&payload);
    std::fs::write(entry, &foreign).unwrap();
    let mut host = PluginHost::new(HostOptions {
        cache: Some(cache.clone()),
    })
    .unwrap();
    host.add_instance(spec("console", builtin("console")))
        .await
        .unwrap();
    assert_eq!(outcome(&host), "rebuilt");

    // And the rebuilt entry is good again.
    let mut host = PluginHost::new(HostOptions { cache: Some(cache) }).unwrap();
    host.add_instance(spec("console", builtin("console")))
        .await
        .unwrap();
    assert_eq!(outcome(&host), "hit");
}

#[tokio::test]
async fn a_file_that_is_not_a_component_is_a_clear_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.wasm");
    std::fs::write(&path, b"definitely not wasm").unwrap();
    let mut host = PluginHost::new(HostOptions::default()).unwrap();
    let err = host
        .add_instance(spec("junk", PluginSource::Path(path.clone())))
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Compile { .. }), "{err}");
    assert!(err.to_string().contains("junk.wasm"), "{err}");

    let err = host
        .add_instance(spec(
            "nope",
            PluginSource::Path(dir.path().join("missing.wasm")),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, PluginError::Read { .. }), "{err}");
}
