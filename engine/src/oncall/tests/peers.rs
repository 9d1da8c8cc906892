//! Our exports read by parsers we did not write: Python's `icalendar` and `vobject` (PyPI), and our
//! RFC 5545 wall-time resolution compared with Python's `zoneinfo` (fold=0).
//!
//! Python comes from `TOCSIN_PEER_PYTHON`, else `<workspace>/target/peers/venv/bin/python3` (made
//! by `cargo xtask test` from xtask/peers/requirements.txt). A missing python fails these tests.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::contacts::directory;
use super::exports::{people, team};
use super::*;

fn python() -> PathBuf {
    let path = match std::env::var_os("TOCSIN_PEER_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../target/peers/venv/bin/python3"
        )),
    };
    assert!(
        path.exists(),
        "peer python not found at {}: run `cargo xtask test` (it creates target/peers/venv from \
         xtask/peers/requirements.txt), or `python3 -m venv target/peers/venv && \
         target/peers/venv/bin/pip install icalendar vobject`, or set TOCSIN_PEER_PYTHON",
        path.display()
    );
    path
}

fn run_python(script: &str, stdin: &str) -> Value {
    let mut child = Command::new(python())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start peer python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write to python");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python printed JSON")
}

const READ_ICS: &str = r#"
import sys, json, icalendar, vobject
data = sys.stdin.buffer.read()
cal = icalendar.Calendar.from_ical(data)
errors = [str(e) for c in cal.walk() for e in getattr(c, "errors", [])]
events = [{
    "uid": str(ev["UID"]),
    "start": ev.decoded("DTSTART").isoformat(),
    "end": ev.decoded("DTEND").isoformat(),
    "stamp": ev.decoded("DTSTAMP").isoformat(),
    "summary": str(ev["SUMMARY"]),
    "description": str(ev["DESCRIPTION"]),
} for ev in cal.walk("VEVENT")]
v = vobject.readOne(data.decode("utf-8"))
vev = [{"uid": e.uid.value, "start": e.dtstart.value.isoformat(), "summary": e.summary.value}
       for e in v.contents.get("vevent", [])]
print(json.dumps({"calname": str(cal.get("X-WR-CALNAME")), "errors": errors,
                  "events": events, "vobject": vev}))
"#;

const READ_VCF: &str = r#"
import sys, json, vobject
card = vobject.readOne(sys.stdin.read())
c = card.contents
print(json.dumps({
    "version": card.version.value,
    "fn": card.fn.value,
    "nickname": card.nickname.value,
    "emails": [e.value for e in c.get("email", [])],
    "tels": [{"value": t.value, "type": t.params.get("TYPE", [])} for t in c.get("tel", [])],
    "plugin": [x.value for x in c.get("x-tocsin-channel", [])],
    "note": card.note.value,
}))
"#;

const RESOLVE: &str = r#"
import sys, json
from datetime import datetime, timezone
from zoneinfo import ZoneInfo
cases = json.load(sys.stdin)
print(json.dumps([datetime.fromisoformat(w).replace(tzinfo=ZoneInfo(z), fold=0)
                  .astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for z, w in cases]))
"#;

fn instant(v: &Value) -> Timestamp {
    v.as_str()
        .expect("string")
        .parse()
        .expect("RFC 3339 from python")
}

#[test]
fn icalendar_and_vobject_read_our_schedule_calendar() {
    let (s, o) = team();
    let (from, to) = (ts("2026-03-26T00:00:00Z"), ts("2026-04-02T00:00:00Z"));
    let now = ts("2026-03-21T10:00:00Z");
    let ics = ical::schedule_calendar(&s, &o, &people(), from, to, now).unwrap();
    let got = run_python(READ_ICS, &ics);
    assert_eq!(
        got["errors"],
        serde_json::json!([]),
        "icalendar parse errors"
    );
    // X-WR-CALNAME is an extension property: RFC 5545 makes it TEXT (so we escape it), while
    // `icalendar` hands unknown properties back raw. Unfolded, it is exactly our escaped text.
    assert_eq!(
        got["calname"],
        "On call: Payments\\, primary\\; on-call — a long display name that needs folding"
    );
    let shifts = schedule_shifts(&s, &o, from, to).unwrap();
    let events = got["events"].as_array().unwrap();
    assert_eq!(events.len(), shifts.len());
    for (ev, sh) in events.iter().zip(&shifts) {
        assert_eq!(instant(&ev["start"]), sh.start_time);
        assert_eq!(instant(&ev["end"]), sh.end_time);
        assert_eq!(instant(&ev["stamp"]), now);
        assert!(
            ev["summary"]
                .as_str()
                .unwrap()
                .ends_with(&format!("on call ({})", sh.rotation)),
            "{ev}"
        );
    }
    // Escapes come back as the original text.
    assert!(
        events
            .iter()
            .any(|e| e["summary"] == "Bob \\ Jr., ;B on call (day shift)"),
        "{events:#?}"
    );
    assert!(events.iter().any(|e| {
        e["description"]
            .as_str()
            .unwrap()
            .contains("\nOverride, replacing: Alice Ó Briain")
    }));
    // vobject agrees.
    let vev = got["vobject"].as_array().unwrap();
    assert_eq!(vev.len(), shifts.len());
    for (a, b) in vev.iter().zip(events) {
        assert_eq!(a["uid"], b["uid"]);
        assert_eq!(a["summary"], b["summary"]);
        assert_eq!(instant(&a["start"]), instant(&b["start"]));
    }
}

#[test]
fn icalendar_reads_our_contact_calendar() {
    let (s, o) = team();
    let ics = ical::contact_calendar(
        "alice",
        &[(&s, &o)],
        &people(),
        ts("2026-03-20T00:00:00Z"),
        ts("2026-04-20T00:00:00Z"),
        ts("2026-03-21T10:00:00Z"),
    )
    .unwrap();
    let got = run_python(READ_ICS, &ics);
    assert_eq!(got["errors"], serde_json::json!([]));
    assert_eq!(got["calname"], "On call: Alice Ó Briain");
    let events = got["events"].as_array().unwrap();
    assert!(events.len() >= 10, "{}", events.len());
    assert!(events.iter().all(|e| {
        e["summary"]
            .as_str()
            .unwrap()
            .starts_with("Alice Ó Briain on call")
    }));
}

#[test]
fn vobject_reads_our_vcard() {
    let c = &directory()[0];
    let got = run_python(READ_VCF, &vcard::contact_vcard(c));
    assert_eq!(got["version"], "4.0");
    assert_eq!(got["fn"], "Alice Ó Briain");
    assert_eq!(got["nickname"], "alice");
    assert_eq!(got["emails"], serde_json::json!(["alice@example.com"]));
    let tels = got["tels"].as_array().unwrap();
    assert_eq!(tels.len(), 2);
    assert_eq!(tels[0]["value"], "tel:+14155550100");
    assert_eq!(tels[1]["value"], "tel:+353861234567");
    assert_eq!(got["plugin"], serde_json::json!(["U012ABCDEF"]));
    let note = got["note"].as_str().unwrap();
    assert!(note.contains("mobile (SMS, not activated)\n"), "{note}");
    assert!(note.contains("after 10 min: phone"), "{note}");
    // Escaping survives a round trip.
    let mut odd = c.clone();
    odd.display_name = Some("Ann; Bee, Cee \\ Dee".into());
    let got = run_python(READ_VCF, &vcard::contact_vcard(&odd));
    assert_eq!(got["fn"], "Ann; Bee, Cee \\ Dee");
}

#[test]
fn wall_time_resolution_matches_python_zoneinfo() {
    let cases = [
        ("America/Los_Angeles", "2026-03-08T02:30:00"), // gap
        ("America/Los_Angeles", "2026-11-01T01:30:00"), // fold
        ("America/Los_Angeles", "2026-07-01T12:00:00"),
        ("Europe/Dublin", "2026-03-29T01:30:00"),
        ("Europe/Dublin", "2026-10-25T01:30:00"),
        ("Europe/Dublin", "2026-01-15T09:00:00"),
        ("Australia/Lord_Howe", "2026-10-04T02:15:00"),
        ("Australia/Lord_Howe", "2026-04-05T01:45:00"),
        ("Pacific/Apia", "2011-12-30T12:00:00"), // a whole skipped day
    ];
    let input = serde_json::to_string(&cases).unwrap();
    let got = run_python(RESOLVE, &input);
    for ((zone, wall), py) in cases.iter().zip(got.as_array().unwrap()) {
        let tz = TimeZone::get(zone).unwrap();
        let ours = resolve(&tz, wall.parse::<DateTime>().unwrap()).unwrap();
        assert_eq!(ours, instant(py), "{zone} {wall}");
    }
}
