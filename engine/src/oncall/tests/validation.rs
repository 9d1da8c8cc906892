//! Bad input gets an error naming the field and the rule (issue 4's list and more), never a panic.

use super::*;

fn base() -> Rotation {
    daily(
        "primary",
        "America/Los_Angeles",
        "2026-01-01T17:00:00Z",
        9,
        0,
        &["a", "b"],
    )
}

fn err(r: &Rotation) -> OncallError {
    validate_rotation(r).expect_err("should be invalid")
}

#[test]
fn a_valid_rotation_passes() {
    validate_rotation(&base()).unwrap();
}

#[test]
fn unknown_zone() {
    let e = err(&Rotation {
        time_zone_id: "Mars/Olympus_Mons".into(),
        ..base()
    });
    assert!(e.has_field("timeZoneId"), "{e}");
    assert!(e.to_string().contains("unknown time zone"), "{e}");
}

#[test]
fn twenty_minute_coverage() {
    let mut r = base();
    r.recurrence.shift_coverages = every_day(hm(9, 0), hm(9, 20));
    let e = err(&r);
    assert!(e.has_field("recurrence.shiftCoverages.MON[0]"), "{e}");
    assert!(e.to_string().contains("at least 30 minutes"), "{e}");
}

#[test]
fn thirty_one_contacts() {
    let names: Vec<String> = (0..31).map(|i| format!("c{i}")).collect();
    let r = Rotation {
        contacts: names,
        ..base()
    };
    let e = err(&r);
    assert!(e.has_field("contacts"), "{e}");
    assert!(e.to_string().contains("at most 30"), "{e}");
    let ok: Vec<String> = (0..30).map(|i| format!("c{i}")).collect();
    validate_rotation(&Rotation {
        contacts: ok,
        ..base()
    })
    .unwrap();
}

#[test]
fn recurrence_rules() {
    let mut r = base();
    r.recurrence.recurrence_multiplier = 101;
    r.recurrence.number_of_on_calls = 3;
    r.recurrence.daily_settings = vec![hm(24, 0), hm(9, 0), hm(9, 0)];
    let e = err(&r);
    for f in [
        "recurrence.recurrenceMultiplier",
        "recurrence.numberOfOnCalls",
        "recurrence.dailySettings[0]",
        "recurrence.dailySettings[2]",
    ] {
        assert!(e.has_field(f), "{f}: {e}");
    }
    let mut r = base();
    r.recurrence.daily_settings.clear();
    assert!(err(&r).has_field("recurrence.dailySettings"));
    let mut r = base();
    r.recurrence.weekly_settings = vec![WeeklySetting {
        day_of_week: DayOfWeek::Mon,
        hand_off_time: hm(9, 0),
    }];
    assert!(err(&r).to_string().contains("only one of"));
    let mut r = base();
    r.recurrence.daily_settings.clear();
    r.recurrence.monthly_settings = vec![MonthlySetting {
        day_of_month: 0,
        hand_off_time: hm(9, 0),
    }];
    assert!(err(&r).has_field("recurrence.monthlySettings[0].dayOfMonth"));
}

#[test]
fn coverage_overlaps_and_24_hours() {
    // 24-hour coverage: start == end.
    let mut r = base();
    r.recurrence.shift_coverages = Some(
        [(
            DayOfWeek::Mon,
            vec![CoverageTime {
                start: hm(11, 0),
                end: hm(11, 0),
            }],
        )]
        .into(),
    );
    validate_rotation(&r).unwrap();
    let s = rotation_shifts(
        &r,
        &[],
        ts("2026-01-05T00:00:00Z"),
        ts("2026-01-07T00:00:00Z"),
    )
    .unwrap();
    // Monday 11:00 to Tuesday 11:00, cut by the daily 09:00 hand-off.
    assert_eq!(s.iter().map(hours).collect::<Vec<_>>(), [22.0, 2.0]);
    assert_eq!(s[0].end_time, s[1].start_time);
    // Two windows overlapping on one day.
    r.recurrence.shift_coverages = Some(
        [(
            DayOfWeek::Tue,
            vec![
                CoverageTime {
                    start: hm(9, 0),
                    end: hm(12, 0),
                },
                CoverageTime {
                    start: hm(11, 0),
                    end: hm(13, 0),
                },
            ],
        )]
        .into(),
    );
    assert!(err(&r).has_field("recurrence.shiftCoverages.TUE[1]"));
    // Sunday night into Monday morning overlapping Monday's window (wraps the week).
    r.recurrence.shift_coverages = Some(
        [
            (
                DayOfWeek::Sun,
                vec![CoverageTime {
                    start: hm(22, 0),
                    end: hm(6, 0),
                }],
            ),
            (
                DayOfWeek::Mon,
                vec![CoverageTime {
                    start: hm(5, 0),
                    end: hm(9, 0),
                }],
            ),
        ]
        .into(),
    );
    let e = err(&r);
    assert!(e.to_string().contains("overlaps"), "{e}");
    // Touching is fine.
    r.recurrence.shift_coverages = Some(
        [
            (
                DayOfWeek::Sun,
                vec![CoverageTime {
                    start: hm(22, 0),
                    end: hm(6, 0),
                }],
            ),
            (
                DayOfWeek::Mon,
                vec![CoverageTime {
                    start: hm(6, 0),
                    end: hm(9, 0),
                }],
            ),
        ]
        .into(),
    );
    validate_rotation(&r).unwrap();
    r.recurrence.shift_coverages = Some(Default::default());
    assert!(err(&r).has_field("recurrence.shiftCoverages"));
}

#[test]
fn names_aliases_and_instants() {
    let r = Rotation {
        name: "bad/name".into(),
        contacts: vec!["Upper".into(), "a".into(), "a".into()],
        start_time: ts("1969-12-31T00:00:00Z"),
        ..base()
    };
    let e = err(&r);
    for f in ["name", "contacts[0]", "contacts[2]", "startTime"] {
        assert!(e.has_field(f), "{f}: {e}");
    }
    assert!(e.errors.len() >= 4);
}

#[test]
fn schedule_rules() {
    let rotations: Vec<Rotation> = (0..9)
        .map(|i| Rotation {
            name: format!("r{i}"),
            ..base()
        })
        .collect();
    let e = validate_schedule(&schedule("s", rotations)).unwrap_err();
    assert!(
        e.has_field("rotations") && e.to_string().contains("at most 8"),
        "{e}"
    );
    let e = validate_schedule(&schedule("S!", vec![base(), base()])).unwrap_err();
    assert!(
        e.has_field("alias") && e.has_field("rotations[1].name"),
        "{e}"
    );
    let e = validate_schedule(&schedule(
        "s",
        vec![Rotation {
            time_zone_id: "Nowhere".into(),
            ..base()
        }],
    ))
    .unwrap_err();
    assert!(e.has_field("rotations[0].timeZoneId"), "{e}");
    assert!(
        validate_schedule(&schedule("s", vec![]))
            .unwrap_err()
            .has_field("rotations")
    );
}

#[test]
fn rotation_contacts_must_be_personal_contacts() {
    let r = base();
    let e = check_rotation_contacts(&r, |c| c == "a").unwrap_err();
    assert!(e.has_field("contacts[1]"), "{e}");
}

#[test]
fn serde_round_trip_and_authoring_forms() {
    let json = serde_json::json!({
        "name": "primary",
        "contacts": ["a", "b"],
        "startTime": "2026-01-01T17:00:00Z",
        "timeZoneId": "America/Los_Angeles",
        "recurrence": {
            "weeklySettings": [{"dayOfWeek": "MON", "handOffTime": "09:00"}],
            "numberOfOnCalls": 1,
            "recurrenceMultiplier": 1,
            "shiftCoverages": {"MON": [{"start": "09:00", "end": {"HourOfDay": 17, "MinuteOfHour": 0}}]}
        }
    });
    let r: Rotation = serde_json::from_value(json).unwrap();
    validate_rotation(&r).unwrap();
    let back = serde_json::to_value(&r).unwrap();
    assert_eq!(
        back["recurrence"]["shiftCoverages"]["MON"][0]["end"],
        "17:00"
    );
    let again: Rotation = serde_json::from_value(back).unwrap();
    assert_eq!(again, r);
    // Unknown fields and malformed times are rejected by serde.
    let bad = serde_json::json!({"hourOfDay": 9, "minuteOfHour": 0, "second": 1});
    assert!(serde_json::from_value::<HandOffTime>(bad).is_err());
    let e = serde_json::from_value::<HandOffTime>(serde_json::json!("25:00")).unwrap_err();
    assert!(e.to_string().contains("HH:MM"), "{e}");
    assert!(serde_json::from_value::<HandOffTime>(serde_json::json!("9:00")).is_err());
    // Errors serialize with field and rule.
    let e = validate_rotation(&Rotation {
        contacts: vec![],
        ..r
    })
    .unwrap_err();
    let v = serde_json::to_value(&e).unwrap();
    assert_eq!(v["errors"][0]["field"], "contacts");
}
