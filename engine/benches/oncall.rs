//! On-call hot paths (issue 4, item 9):
//! - all shifts of an 8-rotation schedule over one year (zones on three continents, daily /
//!   weekly / monthly hand-offs, coverage windows, overrides);
//! - who-is-on-call lookups for that schedule at spread-out instants (lookups per second =
//!   1 / time per lookup);
//! - the same lookup with the schedule's shifts for the year precomputed (a sorted search).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::{SignedDuration, Timestamp};
use tocsin::oncall::{
    CoverageTime, DayOfWeek, HandOffTime, MonthlySetting, OnCallSchedule, RecurrenceSettings,
    Rotation, RotationOverride, WeeklySetting, schedule_on_call, schedule_shifts,
};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hm(h: u8, m: u8) -> HandOffTime {
    HandOffTime::new(h, m)
}

fn people(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn rotation(name: &str, zone: &str, rec: RecurrenceSettings, n: usize) -> Rotation {
    Rotation {
        name: name.into(),
        contacts: people(name, n),
        start_time: ts("2026-01-01T00:00:00Z"),
        time_zone_id: zone.into(),
        recurrence: rec,
        tags: Default::default(),
    }
}

fn daily(times: Vec<HandOffTime>, cover: Option<(HandOffTime, HandOffTime)>) -> RecurrenceSettings {
    RecurrenceSettings {
        daily_settings: times,
        weekly_settings: vec![],
        monthly_settings: vec![],
        number_of_on_calls: 1,
        recurrence_multiplier: 1,
        shift_coverages: cover.map(|(start, end)| {
            DayOfWeek::ALL
                .iter()
                .map(|d| (*d, vec![CoverageTime { start, end }]))
                .collect()
        }),
    }
}

/// Eight rotations: follow-the-sun (Dublin, Los Angeles, Sydney), a weekly primary and
/// secondary in New York (two on call), a monthly manager rotation in Berlin, a daily
/// business-hours rotation in Kolkata and a 3-day rotation on Lord Howe Island.
fn eight_rotation_schedule() -> OnCallSchedule {
    let weekly = |n: u32| RecurrenceSettings {
        daily_settings: vec![],
        weekly_settings: vec![WeeklySetting {
            day_of_week: DayOfWeek::Mon,
            hand_off_time: hm(9, 0),
        }],
        monthly_settings: vec![],
        number_of_on_calls: n,
        recurrence_multiplier: 1,
        shift_coverages: None,
    };
    let mut three_day = daily(vec![hm(8, 30)], None);
    three_day.recurrence_multiplier = 3;
    OnCallSchedule {
        alias: "bench".into(),
        display_name: None,
        rotations: vec![
            rotation(
                "dublin",
                "Europe/Dublin",
                daily(vec![hm(8, 0)], Some((hm(8, 0), hm(16, 0)))),
                6,
            ),
            rotation(
                "los-angeles",
                "America/Los_Angeles",
                daily(vec![hm(8, 0)], Some((hm(8, 0), hm(16, 0)))),
                6,
            ),
            rotation(
                "sydney",
                "Australia/Sydney",
                daily(vec![hm(8, 0)], Some((hm(8, 0), hm(16, 0)))),
                6,
            ),
            rotation("ny-primary", "America/New_York", weekly(1), 10),
            rotation("ny-secondary", "America/New_York", weekly(2), 10),
            rotation(
                "managers",
                "Europe/Berlin",
                RecurrenceSettings {
                    daily_settings: vec![],
                    weekly_settings: vec![],
                    monthly_settings: vec![MonthlySetting {
                        day_of_month: 31,
                        hand_off_time: hm(10, 0),
                    }],
                    number_of_on_calls: 1,
                    recurrence_multiplier: 1,
                    shift_coverages: None,
                },
                4,
            ),
            rotation(
                "kolkata",
                "Asia/Kolkata",
                daily(vec![hm(9, 30), hm(18, 0)], Some((hm(9, 30), hm(18, 30)))),
                8,
            ),
            rotation("lord-howe", "Australia/Lord_Howe", three_day, 5),
        ],
        tags: Default::default(),
    }
}

/// One 4-hour override per week on the New York primary rotation.
fn overrides() -> Vec<RotationOverride> {
    (0..52)
        .map(|w| {
            let start = ts("2026-01-05T15:00:00Z") + SignedDuration::from_hours(24 * 7 * w);
            RotationOverride {
                id: format!("o{w:03}"),
                rotation: "ny-primary".into(),
                new_contacts: vec![format!("ny-primary{}", w % 10)],
                start_time: start,
                end_time: start + SignedDuration::from_hours(4),
                create_time: ts("2026-01-01T00:00:00Z"),
            }
        })
        .collect()
}

fn shifts_for_a_year(c: &mut Criterion) {
    let s = eight_rotation_schedule();
    let o = overrides();
    let (from, to) = (ts("2026-01-01T00:00:00Z"), ts("2027-01-01T00:00:00Z"));
    let n = schedule_shifts(&s, &o, from, to).unwrap().len();
    println!("8-rotation schedule, one year: {n} shifts");
    let mut group = c.benchmark_group("oncall_shifts");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("8_rotations_1_year", |b| {
        b.iter(|| schedule_shifts(black_box(&s), black_box(&o), from, to).unwrap())
    });
    group.finish();
}

fn who_is_on_call(c: &mut Criterion) {
    let s = eight_rotation_schedule();
    let o = overrides();
    // 1,000 instants spread over the year (every ~8.76 h, so they fall at varied times of day).
    let instants: Vec<Timestamp> = (0..1000)
        .map(|i| ts("2026-01-01T00:00:00Z") + SignedDuration::from_secs(31_536 * i))
        .collect();
    let mut group = c.benchmark_group("oncall_lookup");
    group.throughput(Throughput::Elements(instants.len() as u64));
    group.bench_function("schedule_on_call_8_rotations_x1000", |b| {
        b.iter(|| {
            for t in &instants {
                black_box(schedule_on_call(black_box(&s), &o, *t).unwrap());
            }
        })
    });
    // Precomputed: the year's shifts once, then a binary search per lookup.
    let shifts = schedule_shifts(
        &s,
        &o,
        ts("2026-01-01T00:00:00Z"),
        ts("2027-01-01T00:00:00Z"),
    )
    .unwrap();
    group.bench_function("precomputed_year_search_x1000", |b| {
        b.iter(|| {
            for t in &instants {
                let i = shifts.partition_point(|sh| sh.start_time <= *t);
                let on = shifts[..i]
                    .iter()
                    .rev()
                    .take(64)
                    .filter(|sh| sh.end_time > *t)
                    .count();
                black_box(on);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, shifts_for_a_year, who_is_on_call);
criterion_main!(benches);
