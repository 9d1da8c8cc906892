//! iCalendar and vCard output: structure, CRLF, escaping, folding, stable UIDs.

use super::contacts::directory;
use super::*;

pub(super) fn team() -> (OnCallSchedule, Vec<RotationOverride>) {
    let mut day = daily(
        "day shift",
        "Europe/Dublin",
        "2026-03-20T08:00:00Z",
        8,
        0,
        &["alice", "bob"],
    );
    day.recurrence.shift_coverages = every_day(hm(8, 0), hm(20, 0));
    let night = daily(
        "night",
        "America/Los_Angeles",
        "2026-03-20T19:00:00Z",
        12,
        0,
        &["carol"],
    );
    let mut s = schedule("payments-oncall", vec![day, night]);
    s.display_name =
        Some("Payments, primary; on-call — a long display name that needs folding".into());
    let o = RotationOverride {
        id: "o1".into(),
        rotation: s.rotations[0].name.clone(),
        new_contacts: vec!["bob".into()],
        start_time: ts("2026-03-28T08:00:00Z"),
        end_time: ts("2026-03-29T12:00:00Z"),
        create_time: ts("2026-03-01T00:00:00Z"),
    };
    (s, vec![o])
}

/// The directory plus a contact whose display name needs escaping.
pub(super) fn people() -> Vec<Contact> {
    let mut v = directory();
    v.push(Contact {
        alias: "bob".into(),
        display_name: Some("Bob \\ Jr., ;B".into()),
        contact_type: ContactType::Personal,
        channels: vec![],
        engagement_plan: None,
        tags: Default::default(),
    });
    v
}

/// Logical lines after RFC 5545 unfolding (CRLF followed by one space or tab is removed).
pub(super) fn unfold(text: &str) -> Vec<String> {
    text.replace("\r\n ", "")
        .replace("\r\n\t", "")
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

fn check_physical_lines(text: &str) {
    assert!(text.ends_with("\r\n"));
    assert!(!text.replace("\r\n", "").contains('\n'), "bare LF");
    assert!(!text.replace("\r\n", "").contains('\r'), "bare CR");
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "line of {} octets: {line:?}", line.len());
    }
}

#[test]
fn schedule_calendar_structure() {
    let (s, o) = team();
    let now = ts("2026-03-21T10:00:00Z");
    let ics = ical::schedule_calendar(
        &s,
        &o,
        &people(),
        ts("2026-03-27T00:00:00Z"),
        ts("2026-03-30T00:00:00Z"),
        now,
    )
    .unwrap();
    check_physical_lines(&ics);
    let lines = unfold(&ics);
    assert_eq!(lines[0], "BEGIN:VCALENDAR");
    assert!(lines.contains(&"VERSION:2.0".to_string()));
    assert!(lines.iter().any(|l| l.starts_with("PRODID:")));
    let shifts = schedule_shifts(
        &s,
        &o,
        ts("2026-03-27T00:00:00Z"),
        ts("2026-03-30T00:00:00Z"),
    )
    .unwrap();
    let events = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
    assert_eq!(events, shifts.len());
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("DTSTAMP:20260321T100000Z"))
            .count(),
        events
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("DTSTART:"))
            .all(|l| l.len() == 24 && l.ends_with('Z'))
    );
    // TEXT escaping of `,` `;` `\\` (names from the directory and the schedule).
    assert!(
        lines
            .iter()
            .any(|l| l == "SUMMARY:Bob \\\\ Jr.\\, \\;B on call (day shift)"),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("X-WR-CALNAME:On call: Payments\\, primary\\; on-call"))
    );
    // Overridden shifts say so.
    assert!(lines.iter().any(|l| l == "CATEGORIES:ON-CALL,OVERRIDDEN"));
    assert!(
        lines.iter().any(|l| l.starts_with("DESCRIPTION:")
            && l.contains("\\nOverride\\, replacing: Alice Ó Briain"))
    );
    // Display names come from the directory, aliases otherwise.
    assert!(lines.iter().any(|l| l.starts_with("SUMMARY:carol on call")));
}

#[test]
fn uids_are_stable_across_windows() {
    let (s, o) = team();
    let now = ts("2026-03-21T10:00:00Z");
    let uids = |from: &str, to: &str| -> Vec<String> {
        let ics = ical::schedule_calendar(&s, &o, &[], ts(from), ts(to), now).unwrap();
        unfold(&ics)
            .into_iter()
            .filter(|l| l.starts_with("UID:"))
            .collect()
    };
    let a = uids("2026-03-21T00:00:00Z", "2026-03-25T00:00:00Z");
    let b = uids("2026-03-22T00:00:00Z", "2026-03-26T00:00:00Z");
    let common = a.iter().filter(|u| b.contains(u)).count();
    assert!(common >= 4, "{a:?} {b:?}");
    let mut all = a.clone();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), a.len(), "UIDs are unique");
}

#[test]
fn contact_calendar_only_has_that_contacts_shifts() {
    let (s, o) = team();
    let ics = ical::contact_calendar(
        "bob",
        &[(&s, &o)],
        &directory(),
        ts("2026-03-27T00:00:00Z"),
        ts("2026-03-31T00:00:00Z"),
        ts("2026-03-21T10:00:00Z"),
    )
    .unwrap();
    check_physical_lines(&ics);
    let lines = unfold(&ics);
    assert!(lines.contains(&"X-WR-CALNAME:On call: bob".to_string()));
    let summaries: Vec<&String> = lines.iter().filter(|l| l.starts_with("SUMMARY:")).collect();
    assert!(!summaries.is_empty());
    assert!(
        summaries
            .iter()
            .all(|l| l.starts_with("SUMMARY:bob on call")),
        "{summaries:?}"
    );
}

#[test]
fn folding_never_splits_utf8_and_stays_within_75_octets() {
    let mut out = String::new();
    let long = format!("SUMMARY:{}", "é€😀a".repeat(40));
    ical::push_line_for_tests(&mut out, &long);
    check_physical_lines(&out);
    assert_eq!(unfold(&out)[0], long);
}

#[test]
fn vcard_structure() {
    let c = &directory()[0];
    let v = vcard::contact_vcard(c);
    check_physical_lines(&v);
    let lines = unfold(&v);
    assert_eq!(lines[0], "BEGIN:VCARD");
    assert_eq!(lines[1], "VERSION:4.0");
    assert!(lines.contains(&"FN:Alice Ó Briain".to_string()));
    assert!(lines.contains(&"NICKNAME:alice".to_string()));
    assert!(lines.contains(&"EMAIL;PREF=1:alice@example.com".to_string()));
    assert!(lines.contains(&"TEL;VALUE=uri;TYPE=text,cell;PREF=2:tel:+14155550100".to_string()));
    assert!(lines.contains(&"TEL;VALUE=uri;TYPE=voice;PREF=3:tel:+353861234567".to_string()));
    assert!(lines.contains(&"X-TOCSIN-CHANNEL;TYPE=\"slack-dm\";PREF=4:U012ABCDEF".to_string()));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("NOTE:") && l.contains("after 5 min: mobile"))
    );
    assert_eq!(lines[lines.len() - 2], "END:VCARD");
}
