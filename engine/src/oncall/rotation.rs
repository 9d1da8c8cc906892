//! Rotation math: hand-off points, slots (who holds the rotation), coverage windows and the
//! regular shifts they make. All wall-clock values are resolved in the rotation's IANA zone with
//! RFC 5545 rules (jiff `Disambiguation::Compatible`): a time in a gap is read with the offset
//! before the gap, a repeated time is its first occurrence. See docs/ONCALL.md.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::{Disambiguation, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan};

use super::error::{OncallError, Result};
use super::model::{DayOfWeek, HandOffTime, Rotation, RotationShift, ShiftType};
use super::validate::{check_instant, validate_rotation};

/// Longest window a shift query may span.
pub const MAX_WINDOW_DAYS: i64 = 1100;

/// Days of look-back before a window: more than any tzdb gap (the largest, Pacific/Apia in
/// 2011, skipped a whole day), so that hand-off points are resolved in order.
const SEED_DAYS: i64 = 3;

fn range_err(field: &str) -> OncallError {
    OncallError::one(field, "date arithmetic left the supported range")
}

/// Checks a query window `[from, to)`.
pub(crate) fn check_window(from: Timestamp, to: Timestamp) -> Result<()> {
    let mut errs = super::error::Errors::default();
    check_instant(&mut errs, "startTime", from);
    check_instant(&mut errs, "endTime", to);
    errs.finish()?;
    if to <= from {
        return Err(OncallError::one("endTime", "must be after startTime"));
    }
    if to.duration_since(from) > SignedDuration::from_hours(24 * MAX_WINDOW_DAYS) {
        return Err(OncallError::one(
            "endTime",
            format!("a window may span at most {MAX_WINDOW_DAYS} days"),
        ));
    }
    Ok(())
}

/// Resolves a wall-clock date-time in `tz` the RFC 5545 way.
pub fn resolve(tz: &TimeZone, dt: DateTime) -> Result<Timestamp> {
    tz.to_ambiguous_timestamp(dt)
        .disambiguate(Disambiguation::Compatible)
        .map_err(|_| range_err("startTime"))
}

fn time(t: HandOffTime) -> Time {
    Time::constant(t.hour_of_day as i8, t.minute_of_hour as i8, 0, 0)
}

fn add_days(d: Date, n: i64) -> Result<Date> {
    d.checked_add(n.days()).map_err(|_| range_err("startTime"))
}

fn days_between(a: Date, b: Date) -> Result<i64> {
    Ok(i64::from(
        a.until(b).map_err(|_| range_err("startTime"))?.get_days(),
    ))
}

enum Recurrence {
    /// Sorted distinct times.
    Daily(Vec<Time>),
    /// Per weekday (Monday = 0): sorted distinct times.
    Weekly([Vec<Time>; 7]),
    /// (day of month 1..=31, time); a day past a month's end means its last day.
    Monthly(Vec<(i8, Time)>),
}

/// A coverage window: wall start on its day and wall length in minutes.
type Window = (Time, i64);

/// A validated rotation, ready for queries.
pub struct Compiled<'a> {
    pub(crate) rotation: &'a Rotation,
    pub(crate) tz: TimeZone,
    start: Timestamp,
    start_wall: DateTime,
    multiplier: u64,
    on_calls: usize,
    recurrence: Recurrence,
    coverage: Option<[Vec<Window>; 7]>,
}

/// One holder of the rotation: slot `index` runs `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub index: u64,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl<'a> Compiled<'a> {
    /// Validates and prepares a rotation.
    pub fn new(rotation: &'a Rotation) -> Result<Self> {
        validate_rotation(rotation)?;
        Self::validated(rotation)
    }

    /// Prepares a rotation already validated (e.g. as part of its schedule).
    pub(crate) fn validated(rotation: &'a Rotation) -> Result<Self> {
        let tz = super::validate::time_zone("timeZoneId", &rotation.time_zone_id)?;
        let rec = &rotation.recurrence;
        let recurrence = if !rec.daily_settings.is_empty() {
            let mut v: Vec<Time> = rec.daily_settings.iter().map(|t| time(*t)).collect();
            v.sort();
            v.dedup();
            Recurrence::Daily(v)
        } else if !rec.weekly_settings.is_empty() {
            let mut w: [Vec<Time>; 7] = Default::default();
            for s in &rec.weekly_settings {
                w[s.day_of_week.index()].push(time(s.hand_off_time));
            }
            for v in &mut w {
                v.sort();
                v.dedup();
            }
            Recurrence::Weekly(w)
        } else {
            Recurrence::Monthly(
                rec.monthly_settings
                    .iter()
                    .map(|m| (m.day_of_month as i8, time(m.hand_off_time)))
                    .collect(),
            )
        };
        let coverage = rec.shift_coverages.as_ref().map(|map| {
            let mut c: [Vec<Window>; 7] = Default::default();
            for (day, windows) in map {
                for w in windows {
                    c[day.index()].push((time(w.start), i64::from(w.wall_minutes())));
                }
            }
            c
        });
        Ok(Self {
            rotation,
            start_wall: tz.to_datetime(rotation.start_time),
            tz,
            start: rotation.start_time,
            multiplier: u64::from(rec.recurrence_multiplier),
            on_calls: rec.number_of_on_calls as usize,
            recurrence,
            coverage,
        })
    }

    /// The contacts holding slot `k`: `numberOfOnCalls` consecutive contacts, continuing
    /// round-robin from where slot `k-1` stopped.
    pub fn members(&self, k: u64) -> Vec<String> {
        let c = &self.rotation.contacts;
        let len = c.len() as u64;
        let first = (k % len) * (self.on_calls as u64 % len) % len;
        (0..self.on_calls as u64)
            .map(|j| c[((first + j) % len) as usize].clone())
            .collect()
    }

    /// Hand-off wall times on `date`, sorted and distinct.
    fn handoffs_on(&self, date: Date) -> Vec<Time> {
        match &self.recurrence {
            Recurrence::Daily(v) => v.clone(),
            Recurrence::Weekly(w) => w[DayOfWeek::from_jiff(date.weekday()).index()].clone(),
            Recurrence::Monthly(m) => {
                let last = date.days_in_month();
                let mut v: Vec<Time> = m
                    .iter()
                    .filter(|(d, _)| (*d).min(last) == date.day())
                    .map(|(_, t)| *t)
                    .collect();
                v.sort();
                v.dedup();
                v
            }
        }
    }

    /// Hand-off points on the whole days `[a, b)` (wall dates).
    fn count_full_days(&self, a: Date, b: Date) -> Result<u64> {
        if b <= a {
            return Ok(0);
        }
        let days = days_between(a, b)?;
        Ok(match &self.recurrence {
            Recurrence::Daily(v) => days as u64 * v.len() as u64,
            Recurrence::Weekly(w) => {
                let per_week: u64 = w.iter().map(|v| v.len() as u64).sum();
                let mut n = (days / 7) as u64 * per_week;
                let mut d = add_days(a, days / 7 * 7)?;
                while d < b {
                    n += self.handoffs_on(d).len() as u64;
                    d = add_days(d, 1)?;
                }
                n
            }
            Recurrence::Monthly(_) => {
                let mut n = 0u64;
                let mut month = a.first_of_month();
                while month < b {
                    let mut points: Vec<(i8, Time)> = match &self.recurrence {
                        Recurrence::Monthly(m) => m
                            .iter()
                            .map(|(d, t)| ((*d).min(month.days_in_month()), *t))
                            .collect(),
                        _ => Vec::new(),
                    };
                    points.sort();
                    points.dedup();
                    for (d, _) in points {
                        let date = month
                            .with()
                            .day(d)
                            .build()
                            .map_err(|_| range_err("startTime"))?;
                        if date >= a && date < b {
                            n += 1;
                        }
                    }
                    month = month
                        .checked_add(1.month())
                        .map_err(|_| range_err("startTime"))?;
                }
                n
            }
        })
    }

    /// Hand-off points strictly after the rotation start and before wall date `seed` (00:00).
    fn count_before(&self, seed: Date) -> Result<u64> {
        let sd = self.start_wall.date();
        if seed <= sd {
            return Ok(0);
        }
        let first_day = self
            .handoffs_on(sd)
            .iter()
            .filter(|t| **t > self.start_wall.time())
            .count() as u64;
        Ok(first_day + self.count_full_days(add_days(sd, 1)?, seed)?)
    }

    /// Slots overlapping `[from, to)`, clipped to it. A slot begins at every
    /// `recurrenceMultiplier`-th hand-off point after the start; slot 0 begins at the start.
    pub(crate) fn slots(&self, from: Timestamp, to: Timestamp) -> Result<Vec<Slot>> {
        let from = from.max(self.start);
        if to <= from {
            return Ok(Vec::new());
        }
        let start_date = self.start_wall.date();
        let from_date = self.tz.to_datetime(from).date();
        let seed = add_days(from_date, -SEED_DAYS)?.max(start_date);
        let (mut i, mut slot_start) = if seed == start_date {
            (0u64, self.start)
        } else {
            let at = resolve(&self.tz, seed.to_datetime(Time::midnight()))?.max(self.start);
            (self.count_before(seed)?, at)
        };
        let mut running = slot_start;
        let mut index = i / self.multiplier;
        let last_date = add_days(self.tz.to_datetime(to).date(), SEED_DAYS)?;
        let mut out = Vec::new();
        let mut push = |index: u64, s: Timestamp, e: Timestamp| {
            let (s, e) = (s.max(from), e.min(to));
            if s < e {
                out.push(Slot {
                    index,
                    start: s,
                    end: e,
                });
            }
        };
        let mut d = seed;
        'days: while d <= last_date {
            for p in self.handoffs_on(d) {
                if d == start_date && p <= self.start_wall.time() {
                    continue;
                }
                i += 1;
                if i % self.multiplier == 0 {
                    let t = resolve(&self.tz, d.to_datetime(p))?.max(running);
                    running = t;
                    push(index, slot_start, t);
                    index = i / self.multiplier;
                    slot_start = t;
                    if slot_start >= to {
                        break 'days;
                    }
                }
            }
            d = add_days(d, 1)?;
        }
        push(index, slot_start, to);
        Ok(out)
    }

    /// Covered intervals within `[from, to)`, sorted, disjoint and not touching.
    pub(crate) fn coverage(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, Timestamp)>> {
        let Some(cov) = &self.coverage else {
            return Ok(if from < to {
                vec![(from, to)]
            } else {
                Vec::new()
            });
        };
        let first = add_days(self.tz.to_datetime(from).date(), -2)?;
        let last = add_days(self.tz.to_datetime(to).date(), 1)?;
        let mut raw = Vec::new();
        let mut d = first;
        while d <= last {
            for (st, minutes) in &cov[DayOfWeek::from_jiff(d.weekday()).index()] {
                let ws = d.to_datetime(*st);
                let we = ws
                    .checked_add(minutes.minutes())
                    .map_err(|_| range_err("endTime"))?;
                let (s, e) = (resolve(&self.tz, ws)?, resolve(&self.tz, we)?);
                // A window wholly inside a spring-forward gap can resolve to nothing.
                if s < e {
                    raw.push((s.max(from), e.min(to)));
                }
            }
            d = add_days(d, 1)?;
        }
        raw.retain(|(s, e)| s < e);
        Ok(union(raw))
    }

    /// Regular shifts (before overrides) in `[from, to)`: slots cut by coverage.
    pub(crate) fn regular_shifts(
        &self,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<RotationShift>> {
        check_window(from, to)?;
        let slots = self.slots(from, to)?;
        let cover = self.coverage(from, to)?;
        let mut out = Vec::new();
        let mut j = 0;
        for slot in slots {
            while j < cover.len() && cover[j].1 <= slot.start {
                j += 1;
            }
            let mut k = j;
            while k < cover.len() && cover[k].0 < slot.end {
                let (s, e) = (cover[k].0.max(slot.start), cover[k].1.min(slot.end));
                if s < e {
                    out.push(RotationShift {
                        rotation: self.rotation.name.clone(),
                        contacts: self.members(slot.index),
                        start_time: s,
                        end_time: e,
                        shift_type: ShiftType::Regular,
                        overridden_contacts: Vec::new(),
                    });
                }
                k += 1;
            }
        }
        Ok(out)
    }
}

/// Union of intervals: sorted, merged when overlapping or touching.
pub(crate) fn union(mut v: Vec<(Timestamp, Timestamp)>) -> Vec<(Timestamp, Timestamp)> {
    v.sort();
    let mut out: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(v.len());
    for (s, e) in v {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}
