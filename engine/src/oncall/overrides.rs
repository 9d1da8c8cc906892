//! Overrides: absolute-instant replacements of whoever a rotation has on call. Applying them to
//! shifts, validating a new one, previews of unsaved rotations, and edits that keep overrides.

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp, ToSpan};

use super::error::{Errors, FieldError, OncallError, Result};
use super::model::{PreviewOverride, Rotation, RotationOverride, RotationShift, ShiftType};
use super::rotation::Compiled;
use super::validate::{MAX_ROTATION_CONTACTS, MIN_WINDOW_MINUTES, check_instant};

/// How far ahead of `now` an override may end (seed: "no more than six months in the future").
pub const MAX_OVERRIDE_MONTHS: i64 = 6;

/// Shifts of `rotation` in `[from, to)`, overrides applied (AWS ListRotationShifts). Overrides of
/// other rotations (by `rotation` name) are ignored. Shifts are clipped to the window.
pub fn rotation_shifts(
    rotation: &Rotation,
    overrides: &[RotationOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<RotationShift>> {
    let compiled = Compiled::new(rotation)?;
    shifts_of(&compiled, overrides, from, to)
}

pub(crate) fn shifts_of(
    compiled: &Compiled<'_>,
    overrides: &[RotationOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<RotationShift>> {
    let regular = compiled.regular_shifts(from, to)?;
    let mut mine: Vec<&RotationOverride> = overrides
        .iter()
        .filter(|o| o.rotation == compiled.rotation.name && o.start_time < to && o.end_time > from)
        .collect();
    // Priority ascending: the last one covering an instant wins.
    mine.sort_by(|a, b| (a.create_time, &a.id).cmp(&(b.create_time, &b.id)));
    Ok(apply(regular, &mine))
}

/// Cuts each regular shift at override boundaries; the winning override's contacts replace the
/// regular ones (type OVERRIDDEN, `overriddenContacts` = the replaced ones).
fn apply(regular: Vec<RotationShift>, by_priority: &[&RotationOverride]) -> Vec<RotationShift> {
    if by_priority.is_empty() {
        return regular;
    }
    let mut out = Vec::with_capacity(regular.len());
    for shift in regular {
        let mut cuts = vec![shift.start_time, shift.end_time];
        for o in by_priority {
            for t in [o.start_time, o.end_time] {
                if t > shift.start_time && t < shift.end_time {
                    cuts.push(t);
                }
            }
        }
        cuts.sort();
        cuts.dedup();
        let first = out.len();
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            let winner = by_priority
                .iter()
                .rev()
                .find(|o| o.start_time <= a && a < o.end_time);
            let piece = match winner {
                Some(o) => RotationShift {
                    rotation: shift.rotation.clone(),
                    contacts: o.new_contacts.clone(),
                    start_time: a,
                    end_time: b,
                    shift_type: ShiftType::Overridden,
                    overridden_contacts: shift.contacts.clone(),
                },
                None => RotationShift {
                    start_time: a,
                    end_time: b,
                    ..shift.clone()
                },
            };
            // Merge with the previous piece of the same shift when nothing changes.
            let len = out.len();
            match out.last_mut() {
                Some(prev) if len > first && same_assignment(prev, &piece) => {
                    prev.end_time = b;
                }
                _ => out.push(piece),
            }
        }
    }
    out
}

fn same_assignment(a: &RotationShift, b: &RotationShift) -> bool {
    a.shift_type == b.shift_type
        && a.contacts == b.contacts
        && a.overridden_contacts == b.overridden_contacts
        && a.end_time == b.start_time
}

/// Shifts of an unsaved rotation with unsaved overrides (AWS ListPreviewRotationShifts). The
/// rotation's `name` is used only to label the shifts. Later overrides win over earlier ones.
pub fn preview_rotation_shifts(
    rotation: &Rotation,
    overrides: &[PreviewOverride],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<RotationShift>> {
    let compiled = Compiled::new(rotation)?;
    let mut errs = Errors::default();
    let members: BTreeSet<&str> = rotation.contacts.iter().map(String::as_str).collect();
    let mut full = Vec::with_capacity(overrides.len());
    for (i, o) in overrides.iter().enumerate() {
        let f = format!("overrides[{i}]");
        check_members(
            &mut errs,
            &format!("{f}.newMembers"),
            &o.new_members,
            &members,
        );
        check_interval(&mut errs, &f, o.start_time, o.end_time);
        full.push(RotationOverride {
            id: format!("preview-{i:04}"),
            rotation: rotation.name.clone(),
            new_contacts: o.new_members.clone(),
            start_time: o.start_time,
            end_time: o.end_time,
            create_time: Timestamp::UNIX_EPOCH,
        });
    }
    errs.finish()?;
    shifts_of(&compiled, &full, from, to)
}

fn check_members(errs: &mut Errors, field: &str, new: &[String], members: &BTreeSet<&str>) {
    if new.is_empty() {
        errs.push(field, "must name at least one contact");
    }
    if new.len() > MAX_ROTATION_CONTACTS {
        errs.push(field, "at most 30 contacts");
    }
    let mut seen = BTreeSet::new();
    for (i, c) in new.iter().enumerate() {
        if !members.contains(c.as_str()) {
            errs.push(
                format!("{field}[{i}]"),
                format!(
                    "{c:?} is not a contact of this rotation: overrides may only use its contacts"
                ),
            );
        }
        if !seen.insert(c.as_str()) {
            errs.push(format!("{field}[{i}]"), format!("{c:?} is listed twice"));
        }
    }
}

fn check_interval(errs: &mut Errors, prefix: &str, start: Timestamp, end: Timestamp) {
    let f = |n: &str| {
        if prefix.is_empty() {
            n.to_owned()
        } else {
            format!("{prefix}.{n}")
        }
    };
    check_instant(errs, &f("startTime"), start);
    check_instant(errs, &f("endTime"), end);
    if end <= start {
        errs.push(f("endTime"), "must be after startTime");
    } else if end.duration_since(start) < SignedDuration::from_mins(i64::from(MIN_WINDOW_MINUTES)) {
        errs.push(f("endTime"), "an override must last at least 30 minutes");
    }
}

/// Validates a new override of `rotation` at `now`: at least 30 minutes; starts no earlier than
/// `now`; ends no later than 6 calendar months after `now` (in the rotation's zone); only the
/// rotation's contacts; and it must overlap at least one shift of the rotation.
pub fn validate_new_override(
    rotation: &Rotation,
    over: &RotationOverride,
    now: Timestamp,
) -> Result<()> {
    let compiled = Compiled::new(rotation)?;
    let mut errs = Errors::default();
    if over.id.is_empty() || over.id.len() > 2048 || over.id.chars().any(char::is_control) {
        errs.push("id", "must be 1-2048 characters without control characters");
    }
    if over.rotation != rotation.name {
        errs.push(
            "rotation",
            format!(
                "names rotation {:?}, not {:?}",
                over.rotation, rotation.name
            ),
        );
    }
    let members: BTreeSet<&str> = rotation.contacts.iter().map(String::as_str).collect();
    check_members(&mut errs, "newContacts", &over.new_contacts, &members);
    let before = errs.len();
    check_interval(&mut errs, "", over.start_time, over.end_time);
    if errs.len() == before {
        if over.start_time < now {
            errs.push("startTime", "an override cannot start in the past");
        }
        let horizon = now
            .to_zoned(compiled.tz.clone())
            .checked_add(MAX_OVERRIDE_MONTHS.months())
            .map(|z| z.timestamp());
        match horizon {
            Ok(h) if over.end_time <= h => {}
            _ => errs.push(
                "endTime",
                "an override must end no more than 6 months after now",
            ),
        }
    }
    let mut errs = errs.into_vec();
    if errs.is_empty() && !overlaps_a_shift(&compiled, over)? {
        errs.push(FieldError::new(
            "startTime",
            "the rotation has no shift between startTime and endTime",
        ));
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(OncallError { errors: errs })
    }
}

fn overlaps_a_shift(compiled: &Compiled<'_>, over: &RotationOverride) -> Result<bool> {
    // Long overrides are checked in windows so one query never exceeds the window limit.
    let mut from = over.start_time;
    while from < over.end_time {
        let to = from
            .checked_add(SignedDuration::from_hours(24 * 365))
            .map_err(|_| OncallError::one("endTime", "out of range"))?
            .min(over.end_time);
        if !compiled.regular_shifts(from, to)?.is_empty() {
            return Ok(true);
        }
        from = to;
    }
    Ok(false)
}

/// One kept override that no longer fits an edited rotation, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OverrideMisfit {
    pub id: String,
    pub problems: Vec<FieldError>,
}

/// The outcome of editing a rotation: every override is kept (they still apply where they can);
/// `misfits` lists the ones that no longer fit the new configuration.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationEdit {
    pub kept: Vec<RotationOverride>,
    pub misfits: Vec<OverrideMisfit>,
}

/// Edits a rotation (seed: name and start date cannot change; copy the schedule instead).
/// Overrides of this rotation are kept; those naming a contact no longer in the rotation, or no
/// longer overlapping any shift, are reported. Overrides that ended before `now` are not judged.
pub fn edit_rotation(
    old: &Rotation,
    new: &Rotation,
    overrides: &[RotationOverride],
    now: Timestamp,
) -> Result<RotationEdit> {
    let compiled = Compiled::new(new)?;
    let mut errs = Errors::default();
    if old.name != new.name {
        errs.push(
            "name",
            "a rotation's name cannot change: copy the schedule instead",
        );
    }
    if old.start_time != new.start_time {
        errs.push(
            "startTime",
            "a rotation's start time cannot change: copy the schedule instead",
        );
    }
    errs.finish()?;
    let members: BTreeSet<&str> = new.contacts.iter().map(String::as_str).collect();
    let mut kept = Vec::new();
    let mut misfits = Vec::new();
    for o in overrides.iter().filter(|o| o.rotation == old.name) {
        kept.push(o.clone());
        if o.end_time <= now {
            continue;
        }
        let mut problems = Vec::new();
        for (i, c) in o.new_contacts.iter().enumerate() {
            if !members.contains(c.as_str()) {
                problems.push(FieldError::new(
                    format!("newContacts[{i}]"),
                    format!("{c:?} is no longer a contact of this rotation"),
                ));
            }
        }
        if o.end_time > o.start_time && !overlaps_a_shift(&compiled, o)? {
            problems.push(FieldError::new(
                "startTime",
                "the edited rotation has no shift between startTime and endTime",
            ));
        }
        if !problems.is_empty() {
            misfits.push(OverrideMisfit {
                id: o.id.clone(),
                problems,
            });
        }
    }
    Ok(RotationEdit { kept, misfits })
}
