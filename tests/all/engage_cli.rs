//! `tocsin engagement …` and `tocsin page …` through the real binary against a real `tocsin serve`
//! on the real clock: a two-stage `kind: EscalationPlan` (stage durations in seconds), pages
//! delivered by the console plugin, a wrong and a right accept code, a control engagement whose
//! second stage does page, escalate, stop, and the refusals (unknown contact, no server).

use std::time::{Duration, Instant};

use jiff::Timestamp;
use serde_json::Value;

use crate::oncall_support::*;

/// Stage 1 lasts this long: every CLI call up to the accept must fit in it.
const STAGE1_SECS: i64 = 8;

fn config_dir() -> tempfile::TempDir {
    let person = |alias: &str| {
        format!(
            "kind: Contact\nalias: {alias}\ndisplayName: {alias} responder\ntype: PERSONAL\nchannels:\n  - {{name: desk, type: EMAIL, deliveryAddress: {alias}@example.com, activationStatus: ACTIVATED}}\nengagementPlan:\n  stages:\n    - {{channel: desk, minutesAfterStart: 0}}\n"
        )
    };
    let plan = format!(
        "kind: EscalationPlan\nalias: sre-escalation\ndisplayName: SRE escalation\nstages:\n  - durationSeconds: {STAGE1_SECS}\n    targets: [{{contact: dana}}]\n  - durationSeconds: 2\n    targets: [{{contact: eli}}]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("people.yaml"),
        [person("dana"), person("eli")].join("---\n"),
    )
    .unwrap();
    std::fs::write(dir.path().join("plan.yaml"), plan).unwrap();
    dir
}

/// Runs `tocsin ARGS… --server BASE`; panics unless it succeeds.
fn ok(base: &str, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--server", base]);
    let out = tocsin(&all);
    assert!(
        out.status.success(),
        "tocsin {args:?} failed:\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn ok_json(base: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = ok(base, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("tocsin {args:?}: {e}: {text}"))
}

/// Calls `f` every 200 ms until it gives `Some` or `limit` has passed.
fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn pages(base: &str, engagement: &str) -> Vec<Value> {
    ok_json(base, &["page", "list", "--engagement", engagement])["pages"]
        .as_array()
        .unwrap()
        .clone()
}

fn ts(v: &Value) -> Timestamp {
    v.as_str()
        .unwrap_or_else(|| panic!("not an instant: {v}"))
        .parse()
        .unwrap()
}

/// The receipt lines of a human `show` (indented six spaces) have non-decreasing instants.
fn assert_receipts_in_time_order(text: &str) -> usize {
    let times: Vec<Timestamp> = text
        .lines()
        .filter(|l| l.starts_with("      "))
        .map(|l| l.split_whitespace().next().unwrap().parse().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] <= w[1]),
        "receipts out of order:\n{text}"
    );
    times.len()
}

#[test]
fn engagements_from_the_cli_page_accept_escalate_and_stop() {
    let data = tempfile::tempdir().unwrap();
    let config = config_dir();
    let server = start(data.path(), Some(config.path()));
    let base = server.base.as_str();

    // A: the engagement that will be acknowledged in stage 1.
    let a = ok_json(
        base,
        &[
            "engagement",
            "start",
            "sre-escalation",
            "--subject",
            "db down",
            "--content",
            "primary is not answering",
            "--incident",
            "inc-42",
        ],
    );
    let a_id = a["engagementId"].as_str().unwrap().to_owned();
    let a_start = ts(&a["startTime"]);
    assert_eq!(a["status"], "ACTIVE", "{a}");
    assert!(
        a["engagementArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":engagement/sre-escalation/{a_id}")),
        "{a}"
    );

    // B: the control, never acknowledged: its stage 2 must page eli.
    let text = ok(
        base,
        &[
            "engagement",
            "start",
            "sre-escalation",
            "--subject",
            "disk full",
            "--content",
            "/var at 99%",
            "--sender",
            "ops-bot",
        ],
    );
    let first = text.lines().next().unwrap_or_default();
    let b_id = first
        .strip_prefix("engagement ")
        .unwrap_or_else(|| panic!("no id line: {text}"))
        .trim()
        .to_owned();
    assert!(text.contains("  arn      arn:"), "{text}");
    assert!(
        text.contains("sre-escalation") && text.contains("ACTIVE"),
        "{text}"
    );

    // list (by engagement and by contact) and show name A's page to dana.
    let text = ok(base, &["page", "list", "--engagement", &a_id]);
    let page_id = format!("{a_id}-p1");
    assert!(
        text.contains(&page_id) && text.contains("dana") && text.contains("OPEN"),
        "{text}"
    );
    let text = ok(base, &["page", "list", "--contact", "dana"]);
    assert!(
        text.contains(&page_id) && text.contains(&format!("{b_id}-p1")),
        "{text}"
    );
    let text = ok(base, &["engagement", "show", &a_id]);
    assert!(
        text.contains(&format!("engagement {a_id}  ACTIVE")),
        "{text}"
    );
    assert!(text.contains("stage 1 of 2, round 1 of 1"), "{text}");
    assert!(
        text.contains(&page_id) && text.contains("dana  OPEN"),
        "{text}"
    );
    assert!(text.contains("incident  inc-42"), "{text}");

    // The code from `page show --json`; a wrong one is refused naming acceptCode.
    let page = ok_json(base, &["page", "show", &page_id]);
    let code = page["acceptCode"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6, "{page}");
    assert!(page["receipts"].is_array(), "{page}");
    let wrong = if code == "123456" { "654321" } else { "123456" };
    let out = tocsin(&[
        "page", "accept", &page_id, "--code", wrong, "--server", base,
    ]);
    assert!(!out.status.success(), "a wrong code was accepted");
    let err = stderr(&out);
    assert!(
        err.contains("400 invalid-input") && err.contains("`acceptCode`"),
        "{err}"
    );

    // The right code acknowledges the page and, dana being essential, the engagement.
    let text = ok(
        base,
        &[
            "page", "accept", &page_id, "--code", &code, "--note", "on it",
        ],
    );
    assert!(
        text.contains(&format!("page {page_id} is ACKNOWLEDGED")),
        "{text}"
    );
    assert!(text.contains("is ACKNOWLEDGED (by dana)"), "{text}");
    let e = ok_json(base, &["engagement", "show", &a_id]);
    let acked = ts(&e["engagement"]["acknowledgedTime"]);
    assert!(
        acked.duration_since(a_start).as_secs() < STAGE1_SECS,
        "the accept came {} after the start, too late for this test to prove anything: the machine is too slow for stage 1 of {STAGE1_SECS} s",
        acked.duration_since(a_start)
    );
    assert_eq!(e["engagement"]["status"], "ACKNOWLEDGED", "{e}");

    // The control's stage 2 pages eli once its stage 1 is over: timers do fire.
    let b_pages = poll(Duration::from_secs(STAGE1_SECS as u64 + 30), || {
        let p = pages(base, &b_id);
        (p.len() >= 2).then_some(p)
    })
    .unwrap_or_else(|| panic!("stage 2 of the control never paged:\n{}", server.log_text()));
    assert_eq!(b_pages[1]["contactId"], "eli", "{b_pages:?}");
    assert_eq!(b_pages[1]["stage"], 1, "{b_pages:?}");

    // A started before B, so its stage-2 time has passed too; watch a little longer, then assert
    // that stage 2 never paged for the acknowledged engagement.
    let later = poll(Duration::from_secs(2), || {
        let p = pages(base, &a_id);
        (p.len() > 1).then_some(p)
    });
    assert!(
        later.is_none(),
        "stage 2 paged after the acknowledgement: {later:?}"
    );
    assert!(Timestamp::now().duration_since(a_start).as_secs() > STAGE1_SECS);
    let a_pages = pages(base, &a_id);
    assert_eq!(a_pages.len(), 1, "{a_pages:?}");
    assert_eq!(a_pages[0]["status"], "ACKNOWLEDGED");
    let text = ok(base, &["page", "list", "--contact", "eli"]);
    assert!(!text.contains(&a_id), "eli was paged for {a_id}: {text}");

    // show: the acknowledgement and the receipts (sent, delivered by console, read) in time order.
    let text = poll(Duration::from_secs(30), || {
        let t = ok(base, &["engagement", "show", &a_id]);
        t.contains("DELIVERED").then_some(t)
    })
    .expect("the console plugin's delivery receipt");
    assert!(
        text.contains(&format!("engagement {a_id}  ACKNOWLEDGED")),
        "{text}"
    );
    assert!(text.contains("acknowledged by dana"), "{text}");
    assert!(text.contains("acknowledged via api: on it"), "{text}");
    assert!(assert_receipts_in_time_order(&text) >= 3, "{text}");
    let text = ok(base, &["page", "show", &page_id]);
    assert!(text.contains("READ") && text.contains("desk"), "{text}");
    assert!(
        !text.contains(&code),
        "the human view shows the accept code: {text}"
    );
    assert_receipts_in_time_order(&text);

    // list: both engagements; --incident filters.
    let text = ok(base, &["engagement", "list"]);
    assert!(text.contains(&a_id) && text.contains(&b_id), "{text}");
    let text = ok(base, &["engagement", "list", "--incident", "inc-42"]);
    assert!(text.contains(&a_id) && !text.contains(&b_id), "{text}");

    // stop: the control stops with its reason and its open pages stop.
    let text = ok(
        base,
        &["engagement", "stop", &b_id, "--reason", "fixed by hand"],
    );
    assert!(text.contains("STOPPED (fixed by hand)"), "{text}");
    let b_pages = pages(base, &b_id);
    assert!(b_pages.iter().all(|p| p["status"] != "OPEN"), "{b_pages:?}");
    let text = ok(base, &["engagement", "show", &b_id]);
    assert!(
        text.contains("stopped") && text.contains("fixed by hand"),
        "{text}"
    );
    // Stopping a stopped engagement changes nothing; escalating it is refused.
    ok(base, &["engagement", "stop", &b_id]);
    let out = tocsin(&["engagement", "escalate", &b_id, "--server", base]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("409 conflict"), "{}", stderr(&out));

    // escalate: stage 2 at once, without waiting for stage 1 to end.
    let c = ok_json(
        base,
        &[
            "engagement",
            "start",
            "sre-escalation",
            "--subject",
            "s",
            "--content",
            "c",
        ],
    );
    let c_id = c["engagementId"].as_str().unwrap();
    let text = ok(base, &["engagement", "escalate", c_id]);
    assert!(text.contains("stage 2 of 2"), "{text}");
    let c_pages = pages(base, c_id);
    assert_eq!(c_pages.len(), 2, "{c_pages:?}");
    assert_eq!(c_pages[1]["contactId"], "eli");
    ok(base, &["engagement", "stop", c_id]);

    // An idempotency token used twice returns the first engagement.
    let args = [
        "engagement",
        "start",
        "dana",
        "--subject",
        "s",
        "--content",
        "c",
        "--idempotency-token",
        "tok-1",
    ];
    let d1 = ok_json(base, &args);
    let d2 = ok_json(base, &args);
    assert_eq!(d1["engagementId"], d2["engagementId"]);
    ok(
        base,
        &["engagement", "stop", d1["engagementId"].as_str().unwrap()],
    );

    // Refusals: an unknown contact, an unknown page, a field out of bounds.
    let out = tocsin(&[
        "engagement",
        "start",
        "nobody",
        "--subject",
        "s",
        "--content",
        "c",
        "--server",
        base,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("404 not-found") && err.contains("no contact \"nobody\""),
        "{err}"
    );
    let out = tocsin(&["page", "show", "nope-p1", "--server", base]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("404"), "{}", stderr(&out));
    let out = tocsin(&[
        "engagement",
        "start",
        "dana",
        "--subject",
        "",
        "--content",
        "c",
        "--server",
        base,
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("`subject`"), "{}", stderr(&out));
}

#[test]
fn without_a_server_the_commands_say_how_to_start_one() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    for args in [
        vec!["engagement", "list"],
        vec!["page", "list", "--contact", "dana"],
        vec!["page", "accept", "x-p1", "--code", "123456"],
    ] {
        let mut all = args.clone();
        all.extend(["--server", &url]);
        let out = tocsin(&all);
        assert!(!out.status.success(), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("no tocsin server answers at {url}"))
                && err.contains("tocsin serve")
                && err.contains("--server"),
            "{args:?}: {err}"
        );
    }
    // page list needs one of --contact / --engagement.
    let out = tocsin(&["page", "list", "--server", &url]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--contact"), "{}", stderr(&out));
}
