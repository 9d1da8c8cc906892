//! Tests of the on-call core. `dst`: the time rules of docs/ONCALL.md, pinned per zone;
//! `props`: property tests; `peers`: exports checked by Python's `icalendar` and `vobject`.

mod contacts;
mod dst;
mod exports;
mod peers;
mod props;
mod queries;
mod validation;

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::*;

pub(super) fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

pub(super) fn hm(h: u8, m: u8) -> HandOffTime {
    HandOffTime::new(h, m)
}

/// A daily rotation of `contacts`, one on call, hand-off at `h:m` wall time, 24/7 coverage.
pub(super) fn daily(
    name: &str,
    zone: &str,
    start: &str,
    h: u8,
    m: u8,
    contacts: &[&str],
) -> Rotation {
    Rotation {
        name: name.to_owned(),
        contacts: contacts.iter().map(|c| c.to_string()).collect(),
        start_time: ts(start),
        time_zone_id: zone.to_owned(),
        recurrence: RecurrenceSettings {
            daily_settings: vec![hm(h, m)],
            weekly_settings: vec![],
            monthly_settings: vec![],
            number_of_on_calls: 1,
            recurrence_multiplier: 1,
            shift_coverages: None,
        },
        tags: BTreeMap::new(),
    }
}

/// Every day covered by one window `start`..`end` (wall time).
pub(super) fn every_day(
    start: HandOffTime,
    end: HandOffTime,
) -> Option<BTreeMap<DayOfWeek, Vec<CoverageTime>>> {
    Some(
        DayOfWeek::ALL
            .iter()
            .map(|d| (*d, vec![CoverageTime { start, end }]))
            .collect(),
    )
}

pub(super) fn schedule(alias: &str, rotations: Vec<Rotation>) -> OnCallSchedule {
    OnCallSchedule {
        alias: alias.to_owned(),
        display_name: None,
        rotations,
        tags: BTreeMap::new(),
    }
}

pub(super) fn hours(s: &RotationShift) -> f64 {
    s.end_time.duration_since(s.start_time).as_secs_f64() / 3600.0
}

pub(super) fn names(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}
