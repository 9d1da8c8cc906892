//! Property tests: for any valid rotation, shifts never overlap, are contiguous where coverage is
//! continuous, and every instant maps to the members a naive, independent oracle computes
//! (walking every hand-off point from the rotation's start). Schedules are the union of rotations.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, ToSpan};
use proptest::prelude::*;

use super::*;

const ZONES: &[&str] = &[
    "America/Los_Angeles",
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "UTC",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Chatham",
];

fn handoff() -> impl Strategy<Value = HandOffTime> {
    // Bias toward 00:00-03:59, where DST changes happen.
    (
        prop_oneof![0u8..24, 0u8..4],
        prop_oneof![0u8..60, Just(0u8), Just(30u8)],
    )
        .prop_map(|(h, m)| HandOffTime::new(h, m))
}

fn day() -> impl Strategy<Value = DayOfWeek> {
    (0usize..7).prop_map(|i| DayOfWeek::ALL[i])
}

fn coverage()
-> impl Strategy<Value = Option<std::collections::BTreeMap<DayOfWeek, Vec<CoverageTime>>>> {
    let window = (handoff(), 30u32..=1440).prop_map(|(s, len)| {
        let e = (s.minutes() + len) % 1440;
        CoverageTime {
            start: s,
            end: HandOffTime::new((e / 60) as u8, (e % 60) as u8),
        }
    });
    prop_oneof![
        Just(None),
        proptest::collection::btree_map(day(), proptest::collection::vec(window, 1..=2), 1..=7)
            .prop_map(Some),
    ]
}

prop_compose! {
    fn rotation()(
        zone in 0..ZONES.len(),
        start_min in 0i64..(2 * 366 * 1440),
        start_sec in prop_oneof![Just(0i64), 0i64..60],
        kind in 0u8..3,
        daily in proptest::collection::vec(handoff(), 1..=3),
        weekly in proptest::collection::vec((day(), handoff()), 1..=3),
        monthly in proptest::collection::vec((1u8..=31, handoff()), 1..=3),
        members in 1usize..=5,
        on_calls in 1u32..=5,
        multiplier in prop_oneof![1u32..=3, 1u32..=100],
        shift_coverages in coverage(),
    ) -> Rotation {
        let mut daily = daily; daily.sort(); daily.dedup();
        let mut weekly = weekly; weekly.sort(); weekly.dedup();
        let mut monthly = monthly; monthly.sort(); monthly.dedup();
        let start = ts("2025-01-01T00:00:00Z")
            .checked_add(SignedDuration::from_secs(start_min * 60 + start_sec))
            .unwrap();
        Rotation {
            name: "r".into(),
            contacts: (0..members).map(|i| format!("c{i}")).collect(),
            start_time: start,
            time_zone_id: ZONES[zone].into(),
            recurrence: RecurrenceSettings {
                daily_settings: if kind == 0 { daily } else { vec![] },
                weekly_settings: if kind == 1 {
                    weekly.into_iter().map(|(d, t)| WeeklySetting { day_of_week: d, hand_off_time: t }).collect()
                } else { vec![] },
                monthly_settings: if kind == 2 {
                    monthly.into_iter().map(|(d, t)| MonthlySetting { day_of_month: d, hand_off_time: t }).collect()
                } else { vec![] },
                number_of_on_calls: on_calls.min(members as u32),
                // Long slots only for daily hand-offs, so the oracle's walk stays short.
                recurrence_multiplier: if kind == 0 { multiplier } else { multiplier.min(3) },
                shift_coverages,
            },
            tags: Default::default(),
        }
    }
}

fn valid_rotation() -> impl Strategy<Value = Rotation> {
    rotation().prop_filter("valid rotation", |r| validate_rotation(r).is_ok())
}

/// A window `[from, to)` near the rotation's start: from up to 10 days before it to 400 after.
fn window(r: &Rotation, off_min: i64, len_min: i64) -> (Timestamp, Timestamp) {
    let from = r
        .start_time
        .checked_add(SignedDuration::from_mins(off_min - 10 * 1440))
        .unwrap();
    let to = from
        .checked_add(SignedDuration::from_mins(len_min))
        .unwrap();
    (from, to)
}

// ---- The oracle: naive and independent of rotation.rs ------------------------------------

fn wall(tz: &TimeZone, d: Date, t: Time) -> Timestamp {
    tz.to_ambiguous_timestamp(d.to_datetime(t))
        .compatible()
        .unwrap()
}

fn hand_offs_on(r: &Rotation, d: Date) -> Vec<Time> {
    let rec = &r.recurrence;
    let mut v: Vec<Time> = rec
        .daily_settings
        .iter()
        .copied()
        .chain(
            rec.weekly_settings
                .iter()
                .filter(|w| w.day_of_week == DayOfWeek::from_jiff(d.weekday()))
                .map(|w| w.hand_off_time),
        )
        .chain(
            rec.monthly_settings
                .iter()
                .filter(|m| (m.day_of_month as i8).min(d.days_in_month()) == d.day())
                .map(|m| m.hand_off_time),
        )
        .map(|h| Time::new(h.hour_of_day as i8, h.minute_of_hour as i8, 0, 0).unwrap())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Who the rotation (without overrides) has on call at `t`, by walking every hand-off point.
fn oracle_members(r: &Rotation, t: Timestamp) -> Vec<String> {
    if t < r.start_time || !oracle_covered(r, t) {
        return vec![];
    }
    let tz = TimeZone::get(&r.time_zone_id).unwrap();
    let start_wall: DateTime = tz.to_datetime(r.start_time);
    let m = u64::from(r.recurrence.recurrence_multiplier);
    let (mut i, mut slot, mut running) = (0u64, 0u64, r.start_time);
    let mut d = start_wall.date();
    let end = tz.to_datetime(t).date().checked_add(3.days()).unwrap();
    'walk: while d <= end {
        for p in hand_offs_on(r, d) {
            if d == start_wall.date() && p <= start_wall.time() {
                continue;
            }
            i += 1;
            if i % m == 0 {
                let at = wall(&tz, d, p).max(running);
                running = at;
                if at > t {
                    break 'walk;
                }
                slot = i / m;
            }
        }
        d = d.tomorrow().unwrap();
    }
    let n = r.recurrence.number_of_on_calls as usize;
    let len = r.contacts.len();
    (0..n)
        .map(|j| r.contacts[(slot as usize * n + j) % len].clone())
        .collect()
}

fn oracle_covered(r: &Rotation, t: Timestamp) -> bool {
    let Some(cov) = &r.recurrence.shift_coverages else {
        return true;
    };
    let tz = TimeZone::get(&r.time_zone_id).unwrap();
    let today = tz.to_datetime(t).date();
    (-2..=1).any(|k| {
        let d = today.checked_add(k.days()).unwrap();
        cov.get(&DayOfWeek::from_jiff(d.weekday()))
            .into_iter()
            .flatten()
            .any(|w| {
                let st = Time::new(
                    w.start.hour_of_day as i8,
                    w.start.minute_of_hour as i8,
                    0,
                    0,
                )
                .unwrap();
                let ws = d.to_datetime(st);
                let we = ws.checked_add((w.wall_minutes() as i64).minutes()).unwrap();
                let (s, e) = (
                    tz.to_ambiguous_timestamp(ws).compatible().unwrap(),
                    tz.to_ambiguous_timestamp(we).compatible().unwrap(),
                );
                s <= t && t < e
            })
    })
}

fn sample(from: Timestamp, to: Timestamp, fracs: &[u32]) -> Vec<Timestamp> {
    let span = to.duration_since(from).as_secs();
    fracs
        .iter()
        .map(|f| {
            from.checked_add(SignedDuration::from_secs(span * i64::from(*f) / 10_000))
                .unwrap()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn shifts_are_ordered_disjoint_nonempty_and_inside_the_window(
        r in valid_rotation(), off in 0i64..(410 * 1440), len in 60i64..(45 * 1440),
    ) {
        let (from, to) = window(&r, off, len);
        let shifts = rotation_shifts(&r, &[], from, to).unwrap();
        for s in &shifts {
            prop_assert!(s.start_time < s.end_time, "{s:?}");
            prop_assert!(s.start_time >= from && s.end_time <= to, "{s:?}");
            prop_assert!(s.start_time >= r.start_time, "{s:?}");
            prop_assert_eq!(s.contacts.len(), r.recurrence.number_of_on_calls as usize);
        }
        for w in shifts.windows(2) {
            prop_assert!(w[0].end_time <= w[1].start_time, "overlap: {:?}", w);
        }
    }

    #[test]
    fn shifts_are_contiguous_where_coverage_is_continuous(
        r in valid_rotation(), off in 0i64..(410 * 1440), len in 60i64..(45 * 1440),
    ) {
        let (from, to) = window(&r, off, len);
        let shifts = rotation_shifts(&r, &[], from, to).unwrap();
        let begin = from.max(r.start_time);
        if r.recurrence.shift_coverages.is_none() {
            if begin < to {
                prop_assert_eq!(shifts.first().map(|s| s.start_time), Some(begin));
                prop_assert_eq!(shifts.last().map(|s| s.end_time), Some(to));
            }
            for w in shifts.windows(2) {
                prop_assert_eq!(w[0].end_time, w[1].start_time, "gap in 24/7 rotation");
            }
        } else {
            // Every hole between shifts is uncovered; every shift is covered.
            for w in shifts.windows(2) {
                if w[0].end_time < w[1].start_time {
                    let mid = w[0].end_time.checked_add(w[1].start_time.duration_since(w[0].end_time) / 2).unwrap();
                    prop_assert!(!oracle_covered(&r, w[0].end_time), "{:?}", w);
                    prop_assert!(!oracle_covered(&r, mid), "{:?}", w);
                }
            }
            for s in &shifts {
                prop_assert!(oracle_covered(&r, s.start_time), "{s:?}");
            }
        }
    }

    #[test]
    fn every_instant_maps_to_the_oracles_members(
        r in valid_rotation(), off in 0i64..(410 * 1440), len in 60i64..(45 * 1440),
        fracs in proptest::collection::vec(0u32..10_000, 6),
    ) {
        let (from, to) = window(&r, off, len);
        let shifts = rotation_shifts(&r, &[], from, to).unwrap();
        for t in sample(from, to, &fracs) {
            let expected = oracle_members(&r, t);
            let now = rotation_on_call(&r, &[], t).unwrap();
            prop_assert_eq!(&now.contacts, &expected, "at {}", t);
            let in_list = shifts.iter().find(|s| s.start_time <= t && t < s.end_time)
                .map(|s| s.contacts.clone()).unwrap_or_default();
            prop_assert_eq!(&in_list, &expected, "shift list at {}", t);
        }
    }

    #[test]
    fn overrides_replace_covered_time_and_latest_wins(
        r in valid_rotation(), off in 0i64..(60 * 1440), len in 60i64..(20 * 1440),
        ovs in proptest::collection::vec((0u32..10_000, 30i64..(3 * 1440), 0usize..5, 0i64..100), 0..=3),
        fracs in proptest::collection::vec(0u32..10_000, 6),
    ) {
        let (from, to) = window(&r, off, len);
        let overrides: Vec<RotationOverride> = ovs.iter().enumerate().map(|(i, (f, mins, who, created))| {
            let start = sample(from, to, &[*f])[0];
            RotationOverride {
                id: format!("o{i}"),
                rotation: r.name.clone(),
                new_contacts: vec![r.contacts[who % r.contacts.len()].clone()],
                start_time: start,
                end_time: start.checked_add(SignedDuration::from_mins(*mins)).unwrap(),
                create_time: ts("2024-01-01T00:00:00Z").checked_add(SignedDuration::from_secs(*created)).unwrap(),
            }
        }).collect();
        let shifts = rotation_shifts(&r, &overrides, from, to).unwrap();
        for w in shifts.windows(2) {
            prop_assert!(w[0].end_time <= w[1].start_time, "overlap: {:?}", w);
        }
        for t in sample(from, to, &fracs) {
            let regular = oracle_members(&r, t);
            let winner = overrides.iter()
                .filter(|o| o.start_time <= t && t < o.end_time)
                .max_by_key(|o| (o.create_time, o.id.clone()));
            let expected = match winner {
                Some(o) if !regular.is_empty() => o.new_contacts.clone(),
                _ => regular.clone(),
            };
            let now = rotation_on_call(&r, &overrides, t).unwrap();
            prop_assert_eq!(&now.contacts, &expected, "at {}", t);
            let s = shifts.iter().find(|s| s.start_time <= t && t < s.end_time);
            if let Some(s) = s {
                prop_assert_eq!(s.shift_type == ShiftType::Overridden, winner.is_some());
                if s.shift_type == ShiftType::Overridden {
                    prop_assert_eq!(&s.overridden_contacts, &regular);
                }
            }
        }
    }

    #[test]
    fn a_schedule_is_the_union_of_its_rotations(
        rs in proptest::collection::vec(valid_rotation(), 1..=3),
        off in 0i64..(60 * 1440), len in 60i64..(20 * 1440),
        fracs in proptest::collection::vec(0u32..10_000, 5),
    ) {
        let rotations: Vec<Rotation> = rs.into_iter().enumerate()
            .map(|(i, r)| Rotation { name: format!("r{i}"), ..r }).collect();
        let sched = schedule("s", rotations.clone());
        let (from, to) = window(&rotations[0], off, len);
        let report = coverage_report(&sched, &[], from, to).unwrap();
        for t in sample(from, to, &fracs) {
            let now = schedule_on_call(&sched, &[], t).unwrap();
            let mut expected: Vec<String> = Vec::new();
            let mut active = 0;
            for r in &rotations {
                let m = oracle_members(r, t);
                if !m.is_empty() { active += 1; }
                for c in m {
                    if !expected.contains(&c) { expected.push(c); }
                }
            }
            prop_assert_eq!(&now.contacts, &expected, "at {}", t);
            let in_gap = report.gaps.iter().any(|g| g.start_time <= t && t < g.end_time);
            prop_assert_eq!(in_gap, active == 0, "gap report at {}", t);
            let in_overlap = report.overlaps.iter().any(|o| o.start_time <= t && t < o.end_time);
            prop_assert_eq!(in_overlap, active > 1, "overlap report at {}", t);
        }
    }
}

// ---- Hostile input: anything at all gets a result or an error, never a panic --------------

prop_compose! {
    fn any_rotation()(
        zone in prop_oneof![Just("America/Los_Angeles".to_string()), Just("Pacific/Apia".to_string()), ".{0,12}"],
        start in prop_oneof![-377_705_116_800i64..=253_402_207_200, 0i64..2_000_000_000],
        h in prop_oneof![0u8..24, any::<u8>()],
        m in prop_oneof![0u8..60, any::<u8>()],
        dom in any::<u8>(),
        kind in 0u8..4,
        members in 0usize..35,
        on_calls in 0u32..40,
        multiplier in 0u32..120,
        cov in proptest::option::of(proptest::collection::btree_map(day(), proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>()), 0..3), 0..7)),
    ) -> Rotation {
        let t = HandOffTime::new(h, m);
        Rotation {
            name: "r".into(),
            contacts: (0..members).map(|i| format!("c{i}")).collect(),
            start_time: Timestamp::from_second(start).unwrap_or(Timestamp::UNIX_EPOCH),
            time_zone_id: zone,
            recurrence: RecurrenceSettings {
                daily_settings: if kind == 0 || kind == 3 { vec![t] } else { vec![] },
                weekly_settings: if kind == 1 { vec![WeeklySetting { day_of_week: DayOfWeek::Sun, hand_off_time: t }] } else { vec![] },
                monthly_settings: if kind == 2 { vec![MonthlySetting { day_of_month: dom, hand_off_time: t }] } else { vec![] },
                number_of_on_calls: on_calls,
                recurrence_multiplier: multiplier,
                shift_coverages: cov.map(|c| c.into_iter().map(|(d, v)| (d, v.into_iter().map(|(a, b, c, d)| CoverageTime {
                    start: HandOffTime::new(a % 30, b % 70), end: HandOffTime::new(c % 30, d % 70),
                }).collect())).collect()),
            },
            tags: Default::default(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_input_panics(
        r in any_rotation(),
        from in prop_oneof![-377_705_116_800i64..=253_402_207_200, 1_700_000_000i64..1_900_000_000],
        len in prop_oneof![-100i64..100, 0i64..(4000 * 86_400)],
    ) {
        let from = Timestamp::from_second(from).unwrap_or(Timestamp::UNIX_EPOCH);
        let to = from.checked_add(SignedDuration::from_secs(len)).unwrap_or(Timestamp::MAX);
        let _ = validate_rotation(&r);
        let _ = rotation_shifts(&r, &[], from, to);
        let _ = rotation_on_call(&r, &[], from);
        let _ = next_rotation_handoff(&r, &[], from);
        let s = schedule("s", vec![r.clone()]);
        let _ = coverage_report(&s, &[], from, to);
        let _ = ical::schedule_calendar(&s, &[], &[], from, to, from);
        let o = RotationOverride {
            id: "o".into(), rotation: "r".into(), new_contacts: r.contacts.iter().take(1).cloned().collect(),
            start_time: from, end_time: to, create_time: from,
        };
        let _ = validate_new_override(&r, &o, from);
        let _ = edit_rotation(&r, &r, std::slice::from_ref(&o), from);
    }
}
