//! Hostile plugins: each misbehaviour fails only its own call, with a clear error, within its
//! deadline, while well-behaved calls running at the same time keep succeeding.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tocsin::plugin::{InvokeError, PluginHost};

use crate::helpers::*;

/// Slack over a call's deadline for the host to notice and unwind; generous because CI
/// machines are shared. This checks that the call ends, not how fast the engine is.
const UNWIND_SLACK: Duration = Duration::from_secs(3);

async fn hostile_host(silent_http_port: u16, open_tcp_port: u16) -> PluginHost {
    let mut hostile = spec("hostile", testbed());
    hostile.limits = limits(1500, 64);
    // HTTP to the silent peer is granted: the never-returning call must still end.
    hostile.grant.http = vec![format!("http://127.0.0.1:{silent_http_port}")];
    hostile.grant.tcp = vec![format!("127.0.0.1:{open_tcp_port}")];
    let mut roomy = spec("roomy", testbed());
    roomy.limits = limits(20_000, 512);
    roomy.limits.output_bytes = 1024 * 1024;
    let good = spec("good", testbed());
    host_with(vec![hostile, roomy, good]).await
}

/// Runs well-behaved echo calls in a loop until stopped; counts successes, panics on failure.
fn spawn_bystanders(
    host: Arc<PluginHost>,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..4)
        .map(|i| {
            let (host, stop, ok) = (host.clone(), stop.clone(), ok.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let msg = format!("bystander {i}");
                    let out = invoke(&host, "good", "echo", json!({"message": msg})).await;
                    assert_eq!(out.expect("a well-behaved call failed")["message"], msg);
                    ok.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_behaviour_fails_only_its_own_call() {
    let silent = silent_peer().await;
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = open.local_addr().unwrap().port();
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let not_granted_port = closed.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            tokio::select! {
                Ok((s, _)) = open.accept() => held.push(s),
                Ok((s, _)) = closed.accept() => held.push(s),
            }
        }
    });
    let host = Arc::new(hostile_host(silent.port(), open_port).await);
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let bystanders = spawn_bystanders(host.clone(), stop.clone(), ok.clone());
    let deadline = Duration::from_millis(1500);

    let timed = |started: Instant, what: &str| {
        let took = started.elapsed();
        assert!(
            took < deadline + UNWIND_SLACK,
            "{what} took {took:?}, past its deadline"
        );
    };

    // Infinite loop: interrupted at the deadline.
    let t = Instant::now();
    let err = invoke(&host, "hostile", "spin", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Timeout { .. }), "spin: {err}");
    assert!(err.to_string().contains("limits.timeout_ms"), "{err}");
    timed(t, "spin");

    // Memory bomb: stopped at the memory cap.
    let t = Instant::now();
    let err = invoke(&host, "hostile", "memory-bomb", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InvokeError::Memory { limit_mb: 64, .. }),
        "memory-bomb: {err}"
    );
    timed(t, "memory-bomb");

    // Stack overflow: a trap, not a crash of the host.
    let err = invoke(&host, "hostile", "stack-overflow", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InvokeError::Trap { .. }),
        "stack-overflow: {err}"
    );
    assert!(err.to_string().contains("stack overflow"), "{err}");
    // Large frames overflow the guest's in-memory stack first: still only this call's trap.
    let err = invoke(&host, "hostile", "shadow-stack-overflow", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InvokeError::Trap { .. }),
        "shadow-stack-overflow: {err}"
    );
    assert!(
        err.to_string().contains("out of bounds memory access"),
        "{err}"
    );

    // Panic: a trap whose message carries the guest's panic text.
    let err = invoke(&host, "hostile", "panic", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Trap { .. }), "panic: {err}");
    assert!(err.to_string().contains("panics on purpose"), "{err}");

    // 100 MB output: over the 64 MB memory cap it cannot even be built...
    let err = invoke(&host, "hostile", "huge-output", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InvokeError::Memory { .. }),
        "huge-output (64 MB): {err}"
    );
    // ...and with room to build it, the output cap refuses it.
    let err = invoke(&host, "roomy", "huge-output", json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, InvokeError::OutputTooLarge { limit: 1048576, .. }),
        "huge-output (512 MB): {err}"
    );

    // Forbidden HTTP host.
    let err = invoke(
        &host,
        "hostile",
        "http-get",
        json!({"target": "http://169.254.169.254/latest/meta-data/"}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, InvokeError::Denied { .. }),
        "forbidden host: {err}"
    );
    assert!(err.to_string().contains("allow.http"), "{err}");

    // Never-returning HTTP call (granted origin, the peer never answers): ends at the deadline.
    let t = Instant::now();
    let err = invoke(
        &host,
        "hostile",
        "http-get",
        json!({"target": format!("http://127.0.0.1:{}/", silent.port())}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, InvokeError::Timeout { .. }),
        "never-returning HTTP: {err}"
    );
    timed(t, "never-returning HTTP");

    // The host filesystem does not exist for a plugin.
    let err = invoke(
        &host,
        "hostile",
        "read-file",
        json!({"target": "/etc/passwd"}),
    )
    .await
    .unwrap_err();
    assert!(!err.to_string().contains("root:"), "{err}");
    assert!(err.to_string().contains("/etc/passwd"), "{err}");

    // No environment variables and no arguments.
    std::env::var("PATH").expect("the test process has a PATH");
    let out = invoke(&host, "hostile", "read-env", json!({}))
        .await
        .unwrap();
    assert_eq!(out["text"], "vars=[] args=[]");

    // A socket to a non-granted address is refused and named.
    let err = invoke(
        &host,
        "hostile",
        "tcp-connect",
        json!({"target": format!("127.0.0.1:{not_granted_port}")}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, InvokeError::Denied { .. }),
        "tcp to a non-granted port: {err}"
    );
    assert!(err.to_string().contains("allow.tcp"), "{err}");
    // ...while the granted one connects (the grant works; the denial is not blanket).
    let out = invoke(
        &host,
        "hostile",
        "tcp-connect",
        json!({"target": format!("127.0.0.1:{open_port}")}),
    )
    .await
    .unwrap();
    assert_eq!(out["text"], format!("connected to 127.0.0.1:{open_port}"));
    // An instance with no TCP grant at all cannot connect anywhere.
    let err = invoke(
        &host,
        "good",
        "tcp-connect",
        json!({"target": format!("127.0.0.1:{open_port}")}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, InvokeError::Denied { .. } | InvokeError::Action { .. }),
        "{err}"
    );

    // A log flood is capped and does not fail the call.
    let out = invoke(&host, "roomy", "log-flood", json!({}))
        .await
        .unwrap();
    assert_eq!(out["text"], "done");

    stop.store(true, Ordering::Relaxed);
    for b in bystanders {
        b.await
            .expect("a bystander call failed while hostile calls ran");
    }
    assert!(ok.load(Ordering::Relaxed) > 0, "bystanders made progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spinning_plugins_all_end_at_their_deadlines() {
    let mut s = spec("spinner", testbed());
    s.limits = limits(800, 64);
    let host = Arc::new(host_with(vec![s, spec("good", testbed())]).await);
    let t = Instant::now();
    let spinners: Vec<_> = (0..6)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move { invoke(&host, "spinner", "spin", json!({})).await })
        })
        .collect();
    // While six loops spin on two workers, a well-behaved call still completes.
    let out = invoke(&host, "good", "echo", json!({"message": "still here"}))
        .await
        .unwrap();
    assert_eq!(out["message"], "still here");
    for s in spinners {
        let err = s.await.unwrap().unwrap_err();
        assert!(matches!(err, InvokeError::Timeout { .. }), "{err}");
    }
    assert!(
        t.elapsed() < Duration::from_millis(800) + UNWIND_SLACK,
        "took {:?}",
        t.elapsed()
    );
}
