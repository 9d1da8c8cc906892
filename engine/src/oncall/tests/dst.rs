//! The DST rules of docs/ONCALL.md, pinned in America/Los_Angeles, Europe/Dublin,
//! Australia/Lord_Howe and the seed's follow-the-sun schedule (Los Angeles + Dublin).

use jiff::civil::date;
use jiff::tz::TimeZone;

use super::*;

fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).expect("zone in tzdb")
}

fn at(zone_name: &str, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Timestamp {
    resolve(&zone(zone_name), date(y, mo, d).at(h, mi, 0, 0)).expect("resolvable")
}

fn shift_at(shifts: &[RotationShift], t: Timestamp) -> &RotationShift {
    shifts
        .iter()
        .find(|s| s.start_time <= t && t < s.end_time)
        .expect("a shift at t")
}

// ---- RFC 5545 resolution of wall times ---------------------------------------------------

#[test]
fn la_gap_time_reads_with_offset_before_the_gap() {
    // 2026-03-08 02:30 does not exist in Los Angeles: read with PST (-08) → 10:30Z = 03:30 PDT.
    let t = at("America/Los_Angeles", 2026, 3, 8, 2, 30);
    assert_eq!(t, ts("2026-03-08T10:30:00Z"));
    let z = t.to_zoned(zone("America/Los_Angeles"));
    assert_eq!((z.hour(), z.minute()), (3, 30));
    assert_eq!(z.offset().seconds(), -7 * 3600);
}

#[test]
fn la_repeated_time_is_first_occurrence() {
    // 2026-11-01 01:30 happens twice (PDT then PST): the first, 08:30Z.
    assert_eq!(
        at("America/Los_Angeles", 2026, 11, 1, 1, 30),
        ts("2026-11-01T08:30:00Z")
    );
}

#[test]
fn dublin_negative_dst_gap_and_fold() {
    // tzdb models Ireland with IST as standard time and a negative save in winter; the wall
    // clock still reads GMT (+00) in winter and IST (+01) in summer.
    let z = zone("Europe/Dublin");
    assert_eq!(
        ts("2026-01-15T12:00:00Z")
            .to_zoned(z.clone())
            .offset()
            .seconds(),
        0
    );
    assert_eq!(
        ts("2026-07-15T12:00:00Z")
            .to_zoned(z.clone())
            .offset()
            .seconds(),
        3600
    );
    // 2026-03-29 01:30 is in the gap (01:00 GMT → 02:00 IST): offset before (+00) → 01:30Z.
    assert_eq!(
        at("Europe/Dublin", 2026, 3, 29, 1, 30),
        ts("2026-03-29T01:30:00Z")
    );
    // 2026-10-25 01:30 happens twice (IST then GMT): the first, 00:30Z.
    assert_eq!(
        at("Europe/Dublin", 2026, 10, 25, 1, 30),
        ts("2026-10-25T00:30:00Z")
    );
}

#[test]
fn lord_howe_half_hour_gap_and_fold() {
    // 2026-10-04 02:00 +10:30 → 02:30 +11. 02:15 is in the gap: read with +10:30 → 15:45Z.
    let t = at("Australia/Lord_Howe", 2026, 10, 4, 2, 15);
    assert_eq!(t, ts("2026-10-03T15:45:00Z"));
    let z = t.to_zoned(zone("Australia/Lord_Howe"));
    assert_eq!((z.hour(), z.minute()), (2, 45));
    // 2026-04-05 02:00 +11 → 01:30 +10:30: 01:45 happens twice; the first is +11 → 14:45Z.
    assert_eq!(
        at("Australia/Lord_Howe", 2026, 4, 5, 1, 45),
        ts("2026-04-04T14:45:00Z")
    );
}

// ---- Hand-offs at wall times that are in a gap or repeated -------------------------------

#[test]
fn la_handoff_in_gap_happens_at_0330_pdt() {
    let r = daily(
        "gap",
        "America/Los_Angeles",
        "2026-03-01T10:30:00Z",
        2,
        30,
        &["a", "b"],
    );
    let shifts = rotation_shifts(
        &r,
        &[],
        ts("2026-03-06T00:00:00Z"),
        ts("2026-03-11T00:00:00Z"),
    )
    .unwrap();
    let starts: Vec<Timestamp> = shifts.iter().map(|s| s.start_time).collect();
    assert!(starts.contains(&ts("2026-03-07T10:30:00Z")), "{starts:?}");
    assert!(
        starts.contains(&ts("2026-03-08T10:30:00Z")),
        "02:30 → 03:30 PDT: {starts:?}"
    );
    assert!(
        starts.contains(&ts("2026-03-09T09:30:00Z")),
        "02:30 PDT: {starts:?}"
    );
    // The shift starting at the gap hand-off runs to 02:30 PDT the next day: 23 hours.
    assert_eq!(hours(shift_at(&shifts, ts("2026-03-08T12:00:00Z"))), 23.0);
}

#[test]
fn la_handoff_in_fold_happens_at_first_occurrence() {
    let r = daily(
        "fold",
        "America/Los_Angeles",
        "2026-10-25T08:30:00Z",
        1,
        30,
        &["a", "b"],
    );
    let shifts = rotation_shifts(
        &r,
        &[],
        ts("2026-10-30T00:00:00Z"),
        ts("2026-11-03T00:00:00Z"),
    )
    .unwrap();
    let starts: Vec<Timestamp> = shifts.iter().map(|s| s.start_time).collect();
    assert!(
        starts.contains(&ts("2026-11-01T08:30:00Z")),
        "first 01:30: {starts:?}"
    );
    assert!(
        !starts.contains(&ts("2026-11-01T09:30:00Z")),
        "not the second 01:30: {starts:?}"
    );
    // 01:30 PDT on Nov 1 to 01:30 PST on Nov 2: 25 hours.
    assert_eq!(hours(shift_at(&shifts, ts("2026-11-01T12:00:00Z"))), 25.0);
}

// ---- "1 day" lasts 23 or 25 hours --------------------------------------------------------

#[test]
fn la_one_day_shift_is_23_then_25_hours() {
    let r = daily(
        "la",
        "America/Los_Angeles",
        "2026-01-01T17:00:00Z",
        9,
        0,
        &["a", "b", "c"],
    );
    let spring = rotation_shifts(
        &r,
        &[],
        ts("2026-03-06T00:00:00Z"),
        ts("2026-03-11T00:00:00Z"),
    )
    .unwrap();
    let s = shift_at(&spring, ts("2026-03-08T12:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-03-07T17:00:00Z"), ts("2026-03-08T16:00:00Z"))
    );
    assert_eq!(hours(s), 23.0);
    let fall = rotation_shifts(
        &r,
        &[],
        ts("2026-10-30T00:00:00Z"),
        ts("2026-11-04T00:00:00Z"),
    )
    .unwrap();
    let s = shift_at(&fall, ts("2026-11-01T12:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-10-31T16:00:00Z"), ts("2026-11-01T17:00:00Z"))
    );
    assert_eq!(hours(s), 25.0);
    // The whole (unclipped) shifts around them are 24 hours.
    let whole: Vec<f64> = spring[1..spring.len() - 1].iter().map(hours).collect();
    assert_eq!(whole, [24.0, 23.0, 24.0, 24.0]);
}

#[test]
fn la_weekly_shift_across_spring_forward_is_167_hours() {
    let mut r = daily(
        "wk",
        "America/Los_Angeles",
        "2026-03-02T17:00:00Z",
        9,
        0,
        &["a", "b"],
    );
    r.recurrence.daily_settings.clear();
    r.recurrence.weekly_settings = vec![WeeklySetting {
        day_of_week: DayOfWeek::Mon,
        hand_off_time: hm(9, 0),
    }];
    let shifts = rotation_shifts(
        &r,
        &[],
        ts("2026-03-02T17:00:00Z"),
        ts("2026-03-23T16:00:00Z"),
    )
    .unwrap();
    let h: Vec<f64> = shifts.iter().map(hours).collect();
    assert_eq!(h, vec![167.0, 168.0, 168.0], "{shifts:?}");
    assert_eq!(names(&shifts[0].contacts), ["a"]);
    assert_eq!(names(&shifts[1].contacts), ["b"]);
    assert_eq!(names(&shifts[2].contacts), ["a"]);
}

#[test]
fn dublin_one_day_shift_is_23_then_25_hours() {
    let r = daily(
        "ie",
        "Europe/Dublin",
        "2026-01-01T09:00:00Z",
        9,
        0,
        &["a", "b"],
    );
    let spring = rotation_shifts(
        &r,
        &[],
        ts("2026-03-27T00:00:00Z"),
        ts("2026-04-01T00:00:00Z"),
    )
    .unwrap();
    let s = shift_at(&spring, ts("2026-03-29T03:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-03-28T09:00:00Z"), ts("2026-03-29T08:00:00Z"))
    );
    assert_eq!(hours(s), 23.0);
    let fall = rotation_shifts(
        &r,
        &[],
        ts("2026-10-23T00:00:00Z"),
        ts("2026-10-28T00:00:00Z"),
    )
    .unwrap();
    let s = shift_at(&fall, ts("2026-10-25T03:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-10-24T08:00:00Z"), ts("2026-10-25T09:00:00Z"))
    );
    assert_eq!(hours(s), 25.0);
}

#[test]
fn lord_howe_one_day_shift_is_23_5_then_24_5_hours() {
    let r = daily(
        "lh",
        "Australia/Lord_Howe",
        "2026-01-01T00:00:00Z",
        9,
        0,
        &["a", "b"],
    );
    let spring = rotation_shifts(
        &r,
        &[],
        ts("2026-10-01T00:00:00Z"),
        ts("2026-10-07T00:00:00Z"),
    )
    .unwrap();
    // 2026-10-03 09:00 +10:30 (22:30Z Oct 2) → 2026-10-04 09:00 +11 (22:00Z Oct 3).
    let s = shift_at(&spring, ts("2026-10-03T12:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-10-02T22:30:00Z"), ts("2026-10-03T22:00:00Z"))
    );
    assert_eq!(hours(s), 23.5);
    let fall = rotation_shifts(
        &r,
        &[],
        ts("2026-04-02T00:00:00Z"),
        ts("2026-04-07T00:00:00Z"),
    )
    .unwrap();
    // 2026-04-04 09:00 +11 (22:00Z Apr 3) → 2026-04-05 09:00 +10:30 (22:30Z Apr 4).
    let s = shift_at(&fall, ts("2026-04-04T12:00:00Z"));
    assert_eq!(
        (s.start_time, s.end_time),
        (ts("2026-04-03T22:00:00Z"), ts("2026-04-04T22:30:00Z"))
    );
    assert_eq!(hours(s), 24.5);
}

#[test]
fn coverage_window_in_gap_is_shortened_and_window_across_fold_lengthened() {
    // LA, covered 01:00-04:00 every day: 2 real hours on spring-forward day, 4 on fall-back day.
    let mut r = daily(
        "cov",
        "America/Los_Angeles",
        "2026-01-01T08:00:00Z",
        0,
        0,
        &["a"],
    );
    r.recurrence.shift_coverages = every_day(hm(1, 0), hm(4, 0));
    let spring = rotation_shifts(
        &r,
        &[],
        ts("2026-03-08T00:00:00Z"),
        ts("2026-03-09T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(spring.len(), 1);
    assert_eq!(
        (spring[0].start_time, spring[0].end_time),
        (ts("2026-03-08T09:00:00Z"), ts("2026-03-08T11:00:00Z"))
    );
    let fall = rotation_shifts(
        &r,
        &[],
        ts("2026-11-01T00:00:00Z"),
        ts("2026-11-02T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(fall.len(), 1);
    assert_eq!(
        (fall[0].start_time, fall[0].end_time),
        (ts("2026-11-01T08:00:00Z"), ts("2026-11-01T12:00:00Z"))
    );
}

#[test]
fn overrides_are_absolute_instants() {
    // A 2-hour override across the LA fall-back stays 2 real hours; wall clock plays no part.
    let r = daily(
        "ov",
        "America/Los_Angeles",
        "2026-10-01T16:00:00Z",
        9,
        0,
        &["a", "b"],
    );
    let o = RotationOverride {
        id: "o1".into(),
        rotation: "ov".into(),
        new_contacts: vec!["b".into()],
        start_time: ts("2026-11-01T08:00:00Z"),
        end_time: ts("2026-11-01T10:00:00Z"),
        create_time: ts("2026-10-01T00:00:00Z"),
    };
    let shifts = rotation_shifts(
        &r,
        &[o],
        ts("2026-11-01T00:00:00Z"),
        ts("2026-11-01T23:00:00Z"),
    )
    .unwrap();
    let ov: Vec<&RotationShift> = shifts
        .iter()
        .filter(|s| s.shift_type == ShiftType::Overridden)
        .collect();
    assert_eq!(ov.len(), 1);
    assert_eq!(hours(ov[0]), 2.0);
    assert_eq!(
        (ov[0].start_time, ov[0].end_time),
        (ts("2026-11-01T08:00:00Z"), ts("2026-11-01T10:00:00Z"))
    );
}

// ---- The seed's follow-the-sun example ---------------------------------------------------

/// Dublin covers 08:00-20:00 Dublin time, Los Angeles 12:00-00:00 Los Angeles time: seamless when
/// both zones are on standard time or both on summer time (8 hours apart), a one-hour gap and a
/// one-hour overlap each day while only Los Angeles is on summer time (7 hours apart).
fn follow_the_sun() -> OnCallSchedule {
    let mut ie = daily(
        "dublin",
        "Europe/Dublin",
        "2026-01-01T08:00:00Z",
        8,
        0,
        &["aoife", "ciaran"],
    );
    ie.recurrence.shift_coverages = every_day(hm(8, 0), hm(20, 0));
    let mut la = daily(
        "los-angeles",
        "America/Los_Angeles",
        "2026-01-01T20:00:00Z",
        12,
        0,
        &["ana", "ben"],
    );
    la.recurrence.shift_coverages = every_day(hm(12, 0), hm(0, 0));
    schedule("follow-the-sun", vec![ie, la])
}

#[test]
fn follow_the_sun_is_seamless_in_winter_and_summer() {
    let s = follow_the_sun();
    for (from, to) in [
        ("2026-01-10T00:00:00Z", "2026-01-24T00:00:00Z"),
        ("2026-07-01T00:00:00Z", "2026-07-15T00:00:00Z"),
    ] {
        let rep = coverage_report(&s, &[], ts(from), ts(to)).unwrap();
        assert!(rep.gaps.is_empty(), "{from}: {:?}", rep.gaps);
        assert!(rep.overlaps.is_empty(), "{from}: {:?}", rep.overlaps);
    }
}

#[test]
fn follow_the_sun_has_daily_hour_gap_and_overlap_between_the_two_dst_changes() {
    let s = follow_the_sun();
    // 2026-03-08 (US) to 2026-03-29 (EU): LA is UTC-7, Dublin UTC+0.
    let rep = coverage_report(
        &s,
        &[],
        ts("2026-03-10T00:00:00Z"),
        ts("2026-03-17T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(rep.gaps.len(), 7, "{:?}", rep.gaps);
    for g in &rep.gaps {
        // LA ends at 00:00 PDT = 07:00Z, Dublin starts at 08:00 GMT = 08:00Z.
        assert_eq!(g.end_time.duration_since(g.start_time).as_hours(), 1);
        assert_eq!(g.start_time.to_zoned(TimeZone::UTC).hour(), 7);
    }
    assert_eq!(rep.overlaps.len(), 7, "{:?}", rep.overlaps);
    for o in &rep.overlaps {
        // LA starts at 12:00 PDT = 19:00Z, Dublin ends at 20:00 GMT = 20:00Z.
        assert_eq!(o.start_time.to_zoned(TimeZone::UTC).hour(), 19);
        assert_eq!(o.end_time.duration_since(o.start_time).as_hours(), 1);
        assert_eq!(o.rotations, ["dublin", "los-angeles"]);
    }
    // Same between 2026-10-25 (EU) and 2026-11-01 (US).
    let rep = coverage_report(
        &s,
        &[],
        ts("2026-10-26T00:00:00Z"),
        ts("2026-10-31T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(rep.gaps.len(), 5, "{:?}", rep.gaps);
    assert_eq!(rep.total_gap().as_hours(), 5);
}

#[test]
fn follow_the_sun_on_call_at_instants() {
    let s = follow_the_sun();
    // 2026-03-12T07:30Z: LA ended at 07:00Z (PDT), Dublin starts 08:00Z → nobody.
    let now = schedule_on_call(&s, &[], ts("2026-03-12T07:30:00Z")).unwrap();
    assert!(now.contacts.is_empty(), "{now:?}");
    // 19:30Z: both.
    let now = schedule_on_call(&s, &[], ts("2026-03-12T19:30:00Z")).unwrap();
    assert_eq!(now.contacts.len(), 2, "{now:?}");
    // January 07:30Z: LA (until 08:00Z) only.
    let now = schedule_on_call(&s, &[], ts("2026-01-12T07:30:00Z")).unwrap();
    assert_eq!(now.rotations[0].contacts.len(), 0);
    assert_eq!(now.rotations[1].contacts.len(), 1);
}

#[test]
fn coverage_window_resolving_backwards_in_a_gap_covers_nothing_that_day() {
    // 02:30-03:00 on 2026-03-08 in Los Angeles resolves to 10:30Z-10:00Z: empty.
    let mut r = daily(
        "g",
        "America/Los_Angeles",
        "2026-03-01T08:00:00Z",
        0,
        0,
        &["a"],
    );
    r.recurrence.shift_coverages = every_day(hm(2, 30), hm(3, 0));
    let s = rotation_shifts(
        &r,
        &[],
        ts("2026-03-07T00:00:00Z"),
        ts("2026-03-10T00:00:00Z"),
    )
    .unwrap();
    let days: Vec<String> = s.iter().map(|s| s.start_time.to_string()).collect();
    assert_eq!(days, ["2026-03-07T10:30:00Z", "2026-03-09T09:30:00Z"]);
}

#[test]
fn handoffs_that_resolve_out_of_order_in_a_gap_never_overlap() {
    // Hand-offs at 02:30 and 03:00: on 2026-03-08 they resolve to 10:30Z and 10:00Z. The second
    // takes the later instant, the slot between them is empty and skipped.
    let mut r = daily(
        "g",
        "America/Los_Angeles",
        "2026-03-01T08:00:00Z",
        2,
        30,
        &["a", "b", "c"],
    );
    r.recurrence.daily_settings.push(hm(3, 0));
    let s = rotation_shifts(
        &r,
        &[],
        ts("2026-03-07T00:00:00Z"),
        ts("2026-03-10T00:00:00Z"),
    )
    .unwrap();
    for w in s.windows(2) {
        assert_eq!(w[0].end_time, w[1].start_time, "{w:?}");
    }
    let on_8th: Vec<&RotationShift> = s
        .iter()
        .filter(|s| {
            s.start_time >= ts("2026-03-08T09:00:00Z") && s.start_time < ts("2026-03-08T12:00:00Z")
        })
        .collect();
    assert_eq!(on_8th.len(), 1, "{on_8th:?}");
    assert_eq!(on_8th[0].start_time, ts("2026-03-08T10:30:00Z"));
}
