//! Queries over rotations and schedules: who is on call at an instant, the next hand-off, shift
//! lists, coverage gaps/overlaps, and copying a schedule. A schedule is the union of its rotations.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use super::error::{Errors, OncallError, Result};
use super::model::{OnCallSchedule, Rotation, RotationOverride, RotationShift, ShiftType};
use super::overrides::shifts_of;
use super::rotation::{Compiled, MAX_WINDOW_DAYS, check_window};
use super::validate::{check_alias, check_instant, check_text, validate_schedule};

/// Who one rotation has on call at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationOnCall {
    pub rotation: String,
    /// Empty when the rotation has no coverage at that instant.
    pub contacts: Vec<String>,
    /// REGULAR or OVERRIDDEN; `None` when nobody is on call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift_type: Option<ShiftType>,
}

/// Who a schedule has on call at an instant: per rotation, and the union (first-seen order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnCall {
    pub at: Timestamp,
    pub contacts: Vec<String>,
    pub rotations: Vec<RotationOnCall>,
}

/// The next instant after a given one at which the set of on-call contacts changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HandOff {
    pub at: Timestamp,
    pub before: Vec<String>,
    pub after: Vec<String>,
}

/// An interval of a coverage report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interval {
    pub start_time: Timestamp,
    pub end_time: Timestamp,
}

/// Where two or more rotations are on call at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Overlap {
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub rotations: Vec<String>,
}

/// Gaps (nobody on call) and overlaps (several rotations on call) of a schedule over a window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CoverageReport {
    pub start_time: Timestamp,
    pub end_time: Timestamp,
    pub gaps: Vec<Interval>,
    pub overlaps: Vec<Overlap>,
}

impl CoverageReport {
    pub fn total_gap(&self) -> SignedDuration {
        self.gaps
            .iter()
            .map(|g| g.end_time.duration_since(g.start_time))
            .sum()
    }
}

/// Who `rotation` has on call at `at`, overrides applied.
pub fn rotation_on_call(
    rotation: &Rotation,
    overrides: &[RotationOverride],
    at: Timestamp,
) -> Result<RotationOnCall> {
    let compiled = Compiled::new(rotation)?;
    on_call_of(&compiled, overrides, at)
}

fn on_call_of(
    compiled: &Compiled<'_>,
    overrides: &[RotationOverride],
    at: Timestamp,
) -> Result<RotationOnCall> {
    let next = at
        .checked_add(SignedDuration::from_nanos(1))
        .map_err(|_| OncallError::one("at", "out of range"))?;
    let shifts = shifts_of(compiled, overrides, at, next).map_err(|e| rename(e, "at"))?;
    let found = shifts
        .into_iter()
        .find(|s| s.start_time <= at && at < s.end_time);
    Ok(RotationOnCall {
        rotation: compiled.rotation.name.clone(),
        shift_type: found.as_ref().map(|s| s.shift_type),
        contacts: found.map(|s| s.contacts).unwrap_or_default(),
    })
}

fn rename(mut e: OncallError, field: &str) -> OncallError {
    for fe in &mut e.errors {
        if fe.field == "startTime" || fe.field == "endTime" {
            fe.field = field.to_owned();
        }
    }
    e
}

/// Who `schedule` has on call at `at`: the union of its rotations, overrides applied.
pub fn schedule_on_call(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    at: Timestamp,
) -> Result<OnCall> {
    validate_schedule(schedule)?;
    let mut rotations = Vec::with_capacity(schedule.rotations.len());
    for r in &schedule.rotations {
        rotations.push(on_call_of(&Compiled::validated(r)?, overrides, at)?);
    }
    let contacts = union_contacts(rotations.iter().map(|r| r.contacts.as_slice()));
    Ok(OnCall {
        at,
        contacts,
        rotations,
    })
}

fn union_contacts<'a>(lists: impl Iterator<Item = &'a [String]>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for list in lists {
        for c in list {
            if seen.insert(c.as_str()) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// All shifts of `schedule` in `[from, to)`, overrides applied, sorted by start then rotation order.
pub fn schedule_shifts(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<RotationShift>> {
    let per = per_rotation(schedule, overrides, from, to)?;
    let mut all: Vec<(usize, RotationShift)> = per
        .into_iter()
        .enumerate()
        .flat_map(|(i, v)| v.into_iter().map(move |s| (i, s)))
        .collect();
    all.sort_by_key(|(i, s)| (s.start_time, *i));
    Ok(all.into_iter().map(|(_, s)| s).collect())
}

fn per_rotation(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Vec<RotationShift>>> {
    validate_schedule(schedule)?;
    check_window(from, to)?;
    schedule
        .rotations
        .iter()
        .map(|r| shifts_of(&Compiled::validated(r)?, overrides, from, to))
        .collect()
}

/// An elementary interval of the union timeline: which rotations' shifts are in force.
struct Segment<'a> {
    start: Timestamp,
    end: Timestamp,
    active: Vec<Option<&'a RotationShift>>,
}

/// Sweeps per-rotation shift lists (each sorted and disjoint) into elementary segments
/// covering `[from, to)`.
fn timeline(per: &[Vec<RotationShift>], from: Timestamp, to: Timestamp) -> Vec<Segment<'_>> {
    let mut cuts: Vec<Timestamp> = vec![from, to];
    for v in per {
        for s in v {
            cuts.push(s.start_time);
            cuts.push(s.end_time);
        }
    }
    cuts.retain(|t| *t >= from && *t <= to);
    cuts.sort();
    cuts.dedup();
    let mut idx = vec![0usize; per.len()];
    let mut out = Vec::with_capacity(cuts.len());
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let mut active = Vec::with_capacity(per.len());
        for (r, shifts) in per.iter().enumerate() {
            while idx[r] < shifts.len() && shifts[idx[r]].end_time <= a {
                idx[r] += 1;
            }
            active.push(
                shifts
                    .get(idx[r])
                    .filter(|s| s.start_time <= a && a < s.end_time),
            );
        }
        out.push(Segment {
            start: a,
            end: b,
            active,
        });
    }
    out
}

fn segment_contacts(seg: &Segment<'_>) -> Vec<String> {
    union_contacts(seg.active.iter().flatten().map(|s| s.contacts.as_slice()))
}

/// Gaps and overlaps of `schedule` in `[from, to)`, overrides applied. Before a rotation's start
/// time it covers nothing, so a gap there is reported too.
pub fn coverage_report(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<CoverageReport> {
    let per = per_rotation(schedule, overrides, from, to)?;
    let mut gaps: Vec<Interval> = Vec::new();
    let mut overlaps: Vec<Overlap> = Vec::new();
    for seg in timeline(&per, from, to) {
        let on: Vec<String> = seg
            .active
            .iter()
            .zip(&schedule.rotations)
            .filter(|(a, _)| a.is_some())
            .map(|(_, r)| r.name.clone())
            .collect();
        if on.is_empty() {
            match gaps.last_mut() {
                Some(g) if g.end_time == seg.start => g.end_time = seg.end,
                _ => gaps.push(Interval {
                    start_time: seg.start,
                    end_time: seg.end,
                }),
            }
        } else if on.len() > 1 {
            match overlaps.last_mut() {
                Some(o) if o.end_time == seg.start && o.rotations == on => o.end_time = seg.end,
                _ => overlaps.push(Overlap {
                    start_time: seg.start,
                    end_time: seg.end,
                    rotations: on,
                }),
            }
        }
    }
    Ok(CoverageReport {
        start_time: from,
        end_time: to,
        gaps,
        overlaps,
    })
}

/// Search horizons for the next hand-off, in days from `after`.
const HANDOFF_HORIZONS: [i64; 4] = [8, 40, 400, MAX_WINDOW_DAYS];

/// The next instant after `after` at which the set of contacts `schedule` has on call changes
/// (someone hands off, or coverage starts or stops). `None` if nothing changes within
/// 1100 days.
pub fn next_schedule_handoff(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    after: Timestamp,
) -> Result<Option<HandOff>> {
    validate_schedule(schedule)?;
    let mut errs = Errors::default();
    check_instant(&mut errs, "at", after);
    errs.finish()?;
    for days in HANDOFF_HORIZONS {
        let to = after
            .checked_add(SignedDuration::from_hours(24 * days))
            .map_err(|_| OncallError::one("at", "out of range"))?
            .min(
                super::validate::max_instant()
                    .checked_sub(SignedDuration::from_secs(1))
                    .unwrap_or(after),
            );
        if to <= after {
            return Ok(None);
        }
        let per = per_rotation(schedule, overrides, after, to)?;
        let segments = timeline(&per, after, to);
        let mut prev: Option<Vec<String>> = None;
        for seg in &segments {
            let now = segment_contacts(seg);
            if let Some(p) = &prev
                && *p != now
            {
                return Ok(Some(HandOff {
                    at: seg.start,
                    before: p.clone(),
                    after: now,
                }));
            }
            prev = Some(now);
        }
    }
    Ok(None)
}

/// [`next_schedule_handoff`] for one rotation.
pub fn next_rotation_handoff(
    rotation: &Rotation,
    overrides: &[RotationOverride],
    after: Timestamp,
) -> Result<Option<HandOff>> {
    super::validate::validate_rotation(rotation)?;
    let schedule = OnCallSchedule {
        alias: "rotation".to_owned(),
        display_name: None,
        rotations: vec![rotation.clone()],
        tags: Default::default(),
    };
    next_schedule_handoff(&schedule, overrides, after)
}

/// One rotation of a schedule copy: the source rotation's name, its new name and start time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotationCopy {
    pub from: String,
    pub name: String,
    pub start_time: Timestamp,
}

/// Copies a schedule under a new alias (seed: "you must specify new start dates for each
/// rotation. Copied schedules don't support rotations with start dates in the past"). Every source
/// rotation must be listed once. Overrides are not copied.
pub fn copy_schedule(
    source: &OnCallSchedule,
    alias: &str,
    display_name: Option<&str>,
    rotations: &[RotationCopy],
    now: Timestamp,
) -> Result<OnCallSchedule> {
    let mut errs = Errors::default();
    check_alias(&mut errs, "alias", alias);
    if alias == source.alias {
        errs.push("alias", "a copy needs a new alias");
    }
    if let Some(d) = display_name {
        check_text(&mut errs, "displayName", d, true);
    }
    let mut copied = Vec::with_capacity(rotations.len());
    let mut used = BTreeSet::new();
    for (i, rc) in rotations.iter().enumerate() {
        match source.rotations.iter().find(|r| r.name == rc.from) {
            None => errs.push(
                format!("rotations[{i}].from"),
                format!("the schedule has no rotation named {:?}", rc.from),
            ),
            Some(r) => {
                if !used.insert(rc.from.as_str()) {
                    errs.push(
                        format!("rotations[{i}].from"),
                        "this rotation is copied twice",
                    );
                }
                if rc.start_time < now {
                    errs.push(
                        format!("rotations[{i}].startTime"),
                        "a copied rotation cannot start in the past",
                    );
                }
                copied.push(Rotation {
                    name: rc.name.clone(),
                    start_time: rc.start_time,
                    ..r.clone()
                });
            }
        }
    }
    for r in &source.rotations {
        if !used.contains(r.name.as_str()) {
            errs.push(
                "rotations",
                format!("rotation {:?} needs a new name and start time", r.name),
            );
        }
    }
    errs.finish()?;
    let copy = OnCallSchedule {
        alias: alias.to_owned(),
        display_name: display_name.map(str::to_owned),
        rotations: copied,
        tags: source.tags.clone(),
    };
    validate_schedule(&copy)?;
    Ok(copy)
}
