//! Queries: on call now, next hand-off, shift lists, previews, overrides, edits, copies.

use super::*;

fn weekly_team() -> Rotation {
    // Weekly, Monday 09:00 New York, two on call out of four, business hours only.
    let mut r = daily(
        "primary",
        "America/New_York",
        "2026-01-05T14:00:00Z",
        9,
        0,
        &["ana", "ben", "cy", "dee"],
    );
    r.recurrence.daily_settings.clear();
    r.recurrence.weekly_settings = vec![WeeklySetting {
        day_of_week: DayOfWeek::Mon,
        hand_off_time: hm(9, 0),
    }];
    r.recurrence.number_of_on_calls = 2;
    let window = CoverageTime {
        start: hm(9, 0),
        end: hm(17, 0),
    };
    r.recurrence.shift_coverages = Some(
        [
            DayOfWeek::Mon,
            DayOfWeek::Tue,
            DayOfWeek::Wed,
            DayOfWeek::Thu,
            DayOfWeek::Fri,
        ]
        .into_iter()
        .map(|d| (d, vec![window]))
        .collect(),
    );
    r
}

fn ov(
    id: &str,
    rotation: &str,
    who: &[&str],
    start: &str,
    end: &str,
    created: &str,
) -> RotationOverride {
    RotationOverride {
        id: id.into(),
        rotation: rotation.into(),
        new_contacts: who.iter().map(|s| s.to_string()).collect(),
        start_time: ts(start),
        end_time: ts(end),
        create_time: ts(created),
    }
}

#[test]
fn number_of_on_calls_takes_consecutive_contacts_round_robin() {
    let r = weekly_team();
    let at = |s: &str| rotation_on_call(&r, &[], ts(s)).unwrap().contacts;
    assert_eq!(at("2026-01-05T15:00:00Z"), ["ana", "ben"]); // Mon 10:00 EST, week 1
    assert_eq!(at("2026-01-12T15:00:00Z"), ["cy", "dee"]); // week 2
    assert_eq!(at("2026-01-19T15:00:00Z"), ["ana", "ben"]); // week 3
    assert!(at("2026-01-05T23:00:00Z").is_empty()); // 18:00: outside coverage
    assert!(at("2026-01-10T15:00:00Z").is_empty()); // Saturday
    assert!(at("2026-01-01T15:00:00Z").is_empty()); // before the start
}

#[test]
fn shifts_are_cut_by_coverage_and_typed() {
    let r = weekly_team();
    let shifts = rotation_shifts(
        &r,
        &[],
        ts("2026-01-05T00:00:00Z"),
        ts("2026-01-12T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(shifts.len(), 5);
    for s in &shifts {
        assert_eq!(hours(s), 8.0);
        assert_eq!(s.shift_type, ShiftType::Regular);
        assert_eq!(names(&s.contacts), ["ana", "ben"]);
    }
    let json = serde_json::to_value(&shifts[0]).unwrap();
    assert_eq!(json["type"], "REGULAR");
    assert_eq!(json["startTime"], "2026-01-05T14:00:00Z");
}

#[test]
fn multiplier_and_multiple_daily_handoffs() {
    // Hand-offs at 08:00 and 20:00 UTC, a shift is 2 hand-off periods → 24 hours from 08:00.
    let mut r = daily(
        "twice",
        "UTC",
        "2026-02-01T08:00:00Z",
        8,
        0,
        &["a", "b", "c"],
    );
    r.recurrence.daily_settings.push(hm(20, 0));
    r.recurrence.recurrence_multiplier = 2;
    let shifts = rotation_shifts(
        &r,
        &[],
        ts("2026-02-01T08:00:00Z"),
        ts("2026-02-04T08:00:00Z"),
    )
    .unwrap();
    let got: Vec<(String, f64)> = shifts
        .iter()
        .map(|s| (s.contacts[0].clone(), hours(s)))
        .collect();
    assert_eq!(
        got,
        [("a".into(), 24.0), ("b".into(), 24.0), ("c".into(), 24.0)]
    );
}

#[test]
fn first_shift_runs_from_start_to_first_handoff_point() {
    // Start Wednesday 12:00 UTC with Monday 09:00 hand-offs: the first shift is short.
    let mut r = daily("w", "UTC", "2026-01-07T12:00:00Z", 9, 0, &["a", "b"]);
    r.recurrence.daily_settings.clear();
    r.recurrence.weekly_settings = vec![WeeklySetting {
        day_of_week: DayOfWeek::Mon,
        hand_off_time: hm(9, 0),
    }];
    let s = rotation_shifts(
        &r,
        &[],
        ts("2026-01-01T00:00:00Z"),
        ts("2026-01-20T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(
        (s[0].start_time, s[0].end_time),
        (ts("2026-01-07T12:00:00Z"), ts("2026-01-12T09:00:00Z"))
    );
    assert_eq!(names(&s[0].contacts), ["a"]);
    assert_eq!(names(&s[1].contacts), ["b"]);
}

#[test]
fn monthly_day_31_means_the_last_day_of_short_months() {
    let mut r = daily("m", "UTC", "2026-01-31T09:00:00Z", 9, 0, &["a", "b"]);
    r.recurrence.daily_settings.clear();
    r.recurrence.monthly_settings = vec![MonthlySetting {
        day_of_month: 31,
        hand_off_time: hm(9, 0),
    }];
    let s = rotation_shifts(
        &r,
        &[],
        ts("2026-01-31T09:00:00Z"),
        ts("2026-05-01T00:00:00Z"),
    )
    .unwrap();
    let starts: Vec<String> = s.iter().map(|s| s.start_time.to_string()).collect();
    assert_eq!(
        starts,
        [
            "2026-01-31T09:00:00Z",
            "2026-02-28T09:00:00Z",
            "2026-03-31T09:00:00Z",
            "2026-04-30T09:00:00Z"
        ]
    );
}

#[test]
fn override_spanning_several_shifts_is_split_per_shift() {
    let r = weekly_team();
    // Thursday 12:00 EST to next Tuesday 12:00 EST, cy takes over.
    let o = ov(
        "o1",
        "primary",
        &["cy"],
        "2026-01-08T17:00:00Z",
        "2026-01-13T17:00:00Z",
        "2026-01-01T00:00:00Z",
    );
    let s = rotation_shifts(
        &r,
        &[o],
        ts("2026-01-05T00:00:00Z"),
        ts("2026-01-17T00:00:00Z"),
    )
    .unwrap();
    let over: Vec<&RotationShift> = s
        .iter()
        .filter(|s| s.shift_type == ShiftType::Overridden)
        .collect();
    // Thu afternoon, Fri, Mon, Tue morning.
    assert_eq!(over.len(), 4, "{over:?}");
    assert_eq!(names(&over[0].overridden_contacts), ["ana", "ben"]);
    assert_eq!(names(&over[3].overridden_contacts), ["cy", "dee"]);
    assert!(over.iter().all(|s| s.contacts == ["cy"]));
    assert_eq!(
        rotation_on_call(&r, &[], ts("2026-01-09T15:00:00Z"))
            .unwrap()
            .contacts,
        ["ana", "ben"]
    );
}

#[test]
fn latest_created_override_wins() {
    let r = daily("d", "UTC", "2026-01-01T00:00:00Z", 0, 0, &["a", "b", "c"]);
    let o1 = ov(
        "o1",
        "d",
        &["b"],
        "2026-01-02T00:00:00Z",
        "2026-01-02T12:00:00Z",
        "2026-01-01T02:00:00Z",
    );
    let o2 = ov(
        "o2",
        "d",
        &["c"],
        "2026-01-02T06:00:00Z",
        "2026-01-02T08:00:00Z",
        "2026-01-01T03:00:00Z",
    );
    let at = |s: &str| {
        rotation_on_call(&r, &[o1.clone(), o2.clone()], ts(s))
            .unwrap()
            .contacts
    };
    assert_eq!(at("2026-01-02T05:00:00Z"), ["b"]);
    assert_eq!(at("2026-01-02T07:00:00Z"), ["c"]);
    assert_eq!(at("2026-01-02T09:00:00Z"), ["b"]);
    assert_eq!(at("2026-01-02T13:00:00Z"), ["b"]); // regular: day 2 is b's anyway
    assert_eq!(at("2026-01-03T13:00:00Z"), ["c"]);
}

#[test]
fn validate_new_override_rules() {
    let r = weekly_team();
    let now = ts("2026-02-01T00:00:00Z");
    let good = ov(
        "o",
        "primary",
        &["dee"],
        "2026-02-02T15:00:00Z",
        "2026-02-02T16:00:00Z",
        "2026-02-01T00:00:00Z",
    );
    validate_new_override(&r, &good, now).unwrap();
    let check = |o: RotationOverride, field: &str| {
        let e = validate_new_override(&r, &o, now).unwrap_err();
        assert!(e.has_field(field), "{field}: {e}");
    };
    check(
        RotationOverride {
            end_time: ts("2026-02-02T15:20:00Z"),
            ..good.clone()
        },
        "endTime",
    );
    check(
        RotationOverride {
            end_time: ts("2026-02-02T14:00:00Z"),
            ..good.clone()
        },
        "endTime",
    );
    check(
        RotationOverride {
            new_contacts: vec!["zed".into()],
            ..good.clone()
        },
        "newContacts[0]",
    );
    check(
        RotationOverride {
            new_contacts: vec![],
            ..good.clone()
        },
        "newContacts",
    );
    check(
        RotationOverride {
            start_time: ts("2026-01-30T15:00:00Z"),
            ..good.clone()
        },
        "startTime",
    );
    check(
        RotationOverride {
            start_time: ts("2026-07-31T15:00:00Z"),
            end_time: ts("2026-08-03T15:00:00Z"),
            ..good.clone()
        },
        "endTime",
    );
    // A Saturday: the rotation has no shift there.
    check(
        RotationOverride {
            start_time: ts("2026-02-07T15:00:00Z"),
            end_time: ts("2026-02-07T18:00:00Z"),
            ..good.clone()
        },
        "startTime",
    );
    // Six months ahead is fine.
    validate_new_override(
        &r,
        &RotationOverride {
            start_time: ts("2026-07-31T13:00:00Z"),
            end_time: ts("2026-07-31T16:00:00Z"),
            ..good
        },
        now,
    )
    .unwrap();
}

#[test]
fn preview_of_an_unsaved_rotation_with_overrides() {
    let r = weekly_team();
    let p = PreviewOverride {
        new_members: vec!["dee".into()],
        start_time: ts("2026-01-06T14:00:00Z"),
        end_time: ts("2026-01-06T22:00:00Z"),
    };
    let s = preview_rotation_shifts(
        &r,
        std::slice::from_ref(&p),
        ts("2026-01-05T00:00:00Z"),
        ts("2026-01-08T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(s.len(), 3); // Mon, Tue, Wed
    assert_eq!(s[1].shift_type, ShiftType::Overridden);
    assert_eq!(s[2].shift_type, ShiftType::Regular);
    assert_eq!(names(&s[1].contacts), ["dee"]);
    let bad = PreviewOverride {
        new_members: vec!["zed".into()],
        ..p
    };
    let e = preview_rotation_shifts(
        &r,
        &[bad],
        ts("2026-01-05T00:00:00Z"),
        ts("2026-01-08T00:00:00Z"),
    )
    .unwrap_err();
    assert!(e.has_field("overrides[0].newMembers[0]"), "{e}");
}

#[test]
fn editing_a_rotation_keeps_overrides_and_reports_misfits() {
    let old = weekly_team();
    let mut new = old.clone();
    new.contacts.retain(|c| c != "dee");
    new.recurrence
        .shift_coverages
        .as_mut()
        .unwrap()
        .remove(&DayOfWeek::Fri);
    let now = ts("2026-02-01T00:00:00Z");
    let overrides = vec![
        ov(
            "fine",
            "primary",
            &["cy"],
            "2026-02-03T15:00:00Z",
            "2026-02-03T16:00:00Z",
            "2026-01-20T00:00:00Z",
        ),
        ov(
            "gone-member",
            "primary",
            &["dee"],
            "2026-02-03T15:00:00Z",
            "2026-02-03T16:00:00Z",
            "2026-01-20T00:00:00Z",
        ),
        ov(
            "friday",
            "primary",
            &["cy"],
            "2026-02-06T15:00:00Z",
            "2026-02-06T16:00:00Z",
            "2026-01-20T00:00:00Z",
        ),
        ov(
            "past",
            "primary",
            &["dee"],
            "2026-01-06T15:00:00Z",
            "2026-01-06T16:00:00Z",
            "2026-01-01T00:00:00Z",
        ),
        ov(
            "other",
            "secondary",
            &["dee"],
            "2026-02-03T15:00:00Z",
            "2026-02-03T16:00:00Z",
            "2026-01-20T00:00:00Z",
        ),
    ];
    let edit = edit_rotation(&old, &new, &overrides, now).unwrap();
    assert_eq!(edit.kept.len(), 4);
    let mis: Vec<&str> = edit.misfits.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(mis, ["gone-member", "friday"]);
    assert_eq!(edit.misfits[0].problems[0].field, "newContacts[0]");
    // Name and start date cannot change.
    let renamed = Rotation {
        name: "other".into(),
        ..new.clone()
    };
    assert!(
        edit_rotation(&old, &renamed, &overrides, now)
            .unwrap_err()
            .has_field("name")
    );
    let moved = Rotation {
        start_time: ts("2026-03-02T14:00:00Z"),
        ..new
    };
    assert!(
        edit_rotation(&old, &moved, &overrides, now)
            .unwrap_err()
            .has_field("startTime")
    );
}

#[test]
fn next_handoff_for_rotation_and_schedule() {
    let r = weekly_team();
    // Monday 10:00 EST → coverage ends at 17:00 EST (22:00Z).
    let h = next_rotation_handoff(&r, &[], ts("2026-01-05T15:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(h.at, ts("2026-01-05T22:00:00Z"));
    assert_eq!(h.before, ["ana", "ben"]);
    assert!(h.after.is_empty());
    // Friday evening → Monday 09:00 EST, the next pair.
    let h = next_rotation_handoff(&r, &[], ts("2026-01-09T23:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(h.at, ts("2026-01-12T14:00:00Z"));
    assert_eq!(h.after, ["cy", "dee"]);
    // A single contact on call around the clock never hands off.
    let solo = daily("solo", "UTC", "2026-01-01T00:00:00Z", 9, 0, &["a"]);
    assert_eq!(
        next_rotation_handoff(&solo, &[], ts("2026-01-05T00:00:00Z")).unwrap(),
        None
    );
    // Schedule: union of both rotations.
    let s = schedule("s", vec![r, solo]);
    let h = next_schedule_handoff(&s, &[], ts("2026-01-05T15:00:00Z"))
        .unwrap()
        .unwrap();
    assert_eq!(h.before, ["ana", "ben", "a"]);
    assert_eq!(h.after, ["a"]);
}

#[test]
fn schedule_shifts_are_sorted_and_labelled() {
    let s = schedule(
        "s",
        vec![
            daily("one", "UTC", "2026-01-01T00:00:00Z", 0, 0, &["a"]),
            daily("two", "UTC", "2026-01-01T12:00:00Z", 12, 0, &["b"]),
        ],
    );
    let shifts = schedule_shifts(
        &s,
        &[],
        ts("2026-01-02T00:00:00Z"),
        ts("2026-01-03T00:00:00Z"),
    )
    .unwrap();
    let got: Vec<(&str, String)> = shifts
        .iter()
        .map(|s| (s.rotation.as_str(), s.start_time.to_string()))
        .collect();
    assert_eq!(
        got,
        [
            ("one", "2026-01-02T00:00:00Z".to_string()),
            ("two", "2026-01-02T00:00:00Z".to_string()),
            ("two", "2026-01-02T12:00:00Z".to_string()),
        ]
    );
    let now = schedule_on_call(&s, &[], ts("2026-01-02T13:00:00Z")).unwrap();
    assert_eq!(now.contacts, ["a", "b"]);
}

#[test]
fn copy_schedule_needs_new_names_and_future_starts() {
    let s = schedule(
        "team",
        vec![
            daily("day", "UTC", "2026-01-01T00:00:00Z", 0, 0, &["a"]),
            daily("night", "UTC", "2026-01-01T12:00:00Z", 12, 0, &["b"]),
        ],
    );
    let now = ts("2026-06-01T00:00:00Z");
    let plan = vec![
        RotationCopy {
            from: "day".into(),
            name: "day 2".into(),
            start_time: ts("2026-06-02T00:00:00Z"),
        },
        RotationCopy {
            from: "night".into(),
            name: "night 2".into(),
            start_time: ts("2026-06-02T12:00:00Z"),
        },
    ];
    let c = copy_schedule(&s, "team-copy", Some("Team (copy)"), &plan, now).unwrap();
    assert_eq!(c.alias, "team-copy");
    assert_eq!(c.rotations[1].name, "night 2");
    assert_eq!(c.rotations[1].contacts, ["b"]);
    assert_eq!(c.rotations[1].start_time, ts("2026-06-02T12:00:00Z"));
    let e = copy_schedule(&s, "team", None, &plan[..1], now).unwrap_err();
    assert!(e.has_field("alias") && e.has_field("rotations"), "{e}");
    let past = vec![
        RotationCopy {
            start_time: ts("2026-05-01T00:00:00Z"),
            ..plan[0].clone()
        },
        plan[1].clone(),
    ];
    assert!(
        copy_schedule(&s, "x", None, &past, now)
            .unwrap_err()
            .has_field("rotations[0].startTime")
    );
}

#[test]
fn windows_are_bounded() {
    let r = daily("d", "UTC", "2026-01-01T00:00:00Z", 0, 0, &["a"]);
    let e = rotation_shifts(
        &r,
        &[],
        ts("2026-01-02T00:00:00Z"),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(e.has_field("endTime"), "{e}");
    let e = rotation_shifts(
        &r,
        &[],
        ts("2026-01-01T00:00:00Z"),
        ts("2030-01-01T00:00:00Z"),
    )
    .unwrap_err();
    assert!(e.has_field("endTime"), "{e}");
    let e = rotation_shifts(
        &r,
        &[],
        ts("1960-01-01T00:00:00Z"),
        ts("1960-01-02T00:00:00Z"),
    )
    .unwrap_err();
    assert!(e.has_field("startTime"), "{e}");
    // Extreme instants are rejected, not panicked on.
    let e = rotation_on_call(&r, &[], jiff::Timestamp::MAX).unwrap_err();
    assert!(e.has_field("at"), "{e}");
    let far = Rotation {
        start_time: ts("8999-12-31T00:00:00Z"),
        ..r
    };
    let s = rotation_shifts(
        &far,
        &[],
        ts("8999-12-30T00:00:00Z"),
        ts("8999-12-31T23:00:00Z"),
    )
    .unwrap();
    assert_eq!(s.len(), 1);
}
