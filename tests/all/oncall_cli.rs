//! `tocsin apply` and `tocsin oncall now|next|shifts` through the real binary, against a running
//! server and against a data directory; the iCalendar feed and vCard fetched over HTTP and read
//! by Python's `icalendar` and `vobject`.

use serde_json::Value;

use crate::oncall_support::*;

#[test]
fn apply_and_oncall_commands_on_a_data_directory_and_on_a_server() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let d = data.path().to_str().unwrap();
    let c = config.path().to_str().unwrap();

    // No server: --local applies to the data directory.
    let out = tocsin(&["apply", "-f", c, "--local", "--data-dir", d]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("schedules created: follow-the-sun"), "{text}");
    assert!(text.contains("aoife"), "{text}");

    // A bad batch names file, document, field and rule, exits 1, and writes nothing.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(
        bad.path().join("people.yaml"),
        people().replace("alias: ana", "alias: anna"),
    )
    .unwrap();
    std::fs::write(
        bad.path().join("x.yaml"),
        "kind: Contact\nalias: zoe\ntype: PERSONAL\nchannels: [{name: m, type: SMS, deliveryAddress: '12'}]\n",
    )
    .unwrap();
    let out = tocsin(&[
        "apply",
        "-f",
        bad.path().to_str().unwrap(),
        "--local",
        "--data-dir",
        d,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("x.yaml: document 1: `channels[0].deliveryAddress`: SMS number must be E.164"),
        "{err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");

    let out = tocsin(&[
        "oncall",
        "now",
        "--schedule",
        "follow-the-sun",
        "--at",
        "2026-03-12T19:30:00Z",
        "--tz",
        "Europe/Dublin",
        "--local",
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("On call for follow-the-sun at 2026-03-12 19:30 GMT"),
        "{text}"
    );
    assert!(
        text.contains("dublin") && text.contains("los-angeles"),
        "{text}"
    );
    let out = tocsin(&[
        "oncall",
        "now",
        "--schedule",
        "follow-the-sun",
        "--at",
        "2026-03-12T19:30:00Z",
        "--format",
        "json",
        "--local",
        "--data-dir",
        d,
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["contacts"].as_array().unwrap().len(), 2, "{v}");
    assert!(
        !v["contacts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "anna"),
        "the bad batch was not applied"
    );

    // A wall time in the spring-forward gap is read as RFC 5545 does: 02:30 on 2026-03-08 in
    // Los Angeles is 03:30 PDT (10:30Z). LA's coverage 12:00-00:00 ended at 00:00 PST = 08:00Z.
    let out = tocsin(&[
        "oncall",
        "next",
        "--schedule",
        "follow-the-sun",
        "--at",
        "2026-03-08T02:30",
        "--tz",
        "America/Los_Angeles",
        "--format",
        "json",
        "--local",
        "--data-dir",
        d,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["after"], "2026-03-08T10:30:00Z", "{v}");
    // Dublin (08:00-20:00 GMT) is on call then; the next change is LA joining at 12:00 PDT = 19:00Z.
    assert_eq!(v["handOff"]["at"], "2026-03-08T19:00:00Z", "{v}");

    // Now the same through a running server (it holds the redb lock).
    let server = start(data.path(), None);
    let out = tocsin(&[
        "oncall",
        "shifts",
        "--schedule",
        "follow-the-sun",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-16",
        "--tz",
        "America/Los_Angeles",
        "--server",
        &server.base,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let view = stdout(&out);
    // Two weeks, one column per day, LA's coverage at the same wall-clock hours on both sides of
    // the change; Dublin's 08:00 moves from 00:00 PST to 01:00 PDT in Los Angeles time.
    assert!(
        view.contains("Mon 03-02") && view.contains("Sun 03-08") && view.contains("Sun 03-15"),
        "{view}"
    );
    assert_eq!(
        view.lines().filter(|l| l.starts_with("Mon ")).count(),
        2,
        "{view}"
    );
    assert!(view.contains("12:00-24:00"), "{view}");
    assert!(view.contains("00:00-12:00"), "{view}");
    assert!(view.contains("01:00-13:00"), "{view}");
    let header = view.lines().find(|l| l.starts_with("Mon 03-02")).unwrap();
    assert_eq!(header.split(" | ").count(), 7, "{header}");
    // The server answers `next`, and errors are named.
    let out = tocsin(&[
        "oncall",
        "next",
        "--schedule",
        "follow-the-sun",
        "--at",
        "2026-03-12T06:00:00Z",
        "--tz",
        "UTC",
        "--server",
        &server.base,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Next hand-off for follow-the-sun: 2026-03-12 07:00 UTC"),
        "{}",
        stdout(&out)
    );
    let out = tocsin(&[
        "oncall",
        "now",
        "--schedule",
        "nope",
        "--server",
        &server.base,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no on-call schedule \"nope\""),
        "{}",
        stderr(&out)
    );
    let out = tocsin(&[
        "oncall",
        "now",
        "--schedule",
        "follow-the-sun",
        "--tz",
        "Mars/Base",
        "--server",
        &server.base,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("--tz \"Mars/Base\""),
        "{}",
        stderr(&out)
    );

    // apply through the server: re-applying the same directory updates, and is idempotent.
    let out = tocsin(&["apply", "-f", c, "--server", &server.base]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("schedules updated: follow-the-sun"),
        "{}",
        stdout(&out)
    );
    let out = tocsin(&[
        "apply",
        "-f",
        bad.path().to_str().unwrap(),
        "--server",
        &server.base,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("`channels[0].deliveryAddress`"),
        "{}",
        stderr(&out)
    );
}

const READ_ICS: &str = r#"
import sys, json, icalendar
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())
events = [{"uid": str(e["UID"]), "start": e.decoded("DTSTART").isoformat(),
           "end": e.decoded("DTEND").isoformat(), "summary": str(e["SUMMARY"])}
          for e in cal.walk("VEVENT")]
print(json.dumps({"name": str(cal.get("X-WR-CALNAME")), "events": events}))
"#;

const READ_VCF: &str = r#"
import sys, json, vobject
card = vobject.readOne(sys.stdin.read())
print(json.dumps({"fn": card.fn.value, "tel": [t.value for t in card.contents.get("tel", [])],
                  "email": [e.value for e in card.contents.get("email", [])]}))
"#;

fn iso_z(s: &str) -> String {
    // Python prints 2026-03-07T20:00:00+00:00; the API prints 2026-03-07T20:00:00Z.
    s.replace("+00:00", "Z")
}

#[test]
fn icalendar_feeds_and_vcards_over_http_are_read_by_python() {
    let data = tempfile::tempdir().unwrap();
    let config = follow_the_sun_dir();
    let server = start(data.path(), Some(config.path()));
    let window = "from=2026-03-07T00:00:00Z&to=2026-03-10T00:00:00Z";

    let (status, ct, ics) = server.get_text(&format!(
        "/v1/schedules/follow-the-sun/calendar.ics?{window}"
    ));
    assert_eq!(status, 200, "{ics}");
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let cal = run_python(READ_ICS, &ics);
    let (_, shifts) = server.get(&format!("/v1/schedules/follow-the-sun/shifts?{window}"));
    let shifts = shifts["shifts"].as_array().unwrap();
    let events = cal["events"].as_array().unwrap();
    assert_eq!(events.len(), shifts.len(), "{cal}");
    for (e, s) in events.iter().zip(shifts) {
        assert_eq!(
            iso_z(e["start"].as_str().unwrap()),
            s["startTime"].as_str().unwrap(),
            "{e} vs {s}"
        );
        assert_eq!(
            iso_z(e["end"].as_str().unwrap()),
            s["endTime"].as_str().unwrap(),
            "{e} vs {s}"
        );
    }
    // The LA shift after the US change starts at 12:00 PDT = 19:00Z in the calendar too.
    assert!(
        events
            .iter()
            .any(|e| e["start"] == "2026-03-08T19:00:00+00:00"),
        "{cal}"
    );
    assert!(
        cal["name"].as_str().unwrap().contains("Follow the sun"),
        "{cal}"
    );

    // Per contact: only Aoife's shifts, named with her display name.
    let (status, ct, ics) = server.get_text(&format!("/v1/contacts/aoife/calendar.ics?{window}"));
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/calendar"), "{ct}");
    let cal = run_python(READ_ICS, &ics);
    let mine = cal["events"].as_array().unwrap();
    assert!(!mine.is_empty(), "{cal}");
    assert!(mine.len() < events.len());
    assert!(
        mine.iter()
            .all(|e| e["summary"].as_str().unwrap().contains("Aoife")),
        "{cal}"
    );

    let (status, ct, vcf) = server.get_text("/v1/contacts/aoife/vcard");
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/vcard"), "{ct}");
    let card = run_python(READ_VCF, &vcf);
    assert_eq!(card["fn"], "Aoife Ní Bhriain");
    assert!(
        card["tel"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().contains("+353861234567")),
        "{card}"
    );
    assert_eq!(card["email"][0], "aoife@example.com");
}
