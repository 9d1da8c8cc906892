//! Validation of rotations and schedules (contacts: `contact.rs`; overrides: `overrides.rs`).
//! Every function collects all problems, each naming the field (camelCase path) and the rule.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::error::{Errors, Result};
use super::model::{OnCallSchedule, RecurrenceSettings, Rotation, Tags};

/// Contacts per rotation (AWS quota, seed: "up to 30").
pub const MAX_ROTATION_CONTACTS: usize = 30;
/// Rotations per schedule (seed: "up to eight").
pub const MAX_SCHEDULE_ROTATIONS: usize = 8;
/// Shortest coverage window and override, in minutes.
pub const MIN_WINDOW_MINUTES: u32 = 30;
/// Entries per daily/weekly/monthly settings list (our bound; AWS documents none).
pub const MAX_SETTINGS: usize = 24;
/// Coverage windows per weekday (30-minute minimum makes 48 the most that can fit).
pub const MAX_WINDOWS_PER_DAY: usize = 48;
/// Tags per resource (AWS quota).
pub const MAX_TAGS: usize = 50;

/// Earliest instant accepted anywhere (start times, query bounds): 1970-01-01T00:00:00Z.
pub const MIN_INSTANT: Timestamp = Timestamp::UNIX_EPOCH;
/// Instants must be before 9000-01-01T00:00:00Z, which keeps all internal arithmetic in range.
pub fn max_instant() -> Timestamp {
    // 9000-01-01T00:00:00Z
    Timestamp::from_second(221_845_392_000).unwrap_or(Timestamp::MAX)
}

pub(crate) fn check_instant(errs: &mut Errors, field: &str, t: Timestamp) {
    if t < MIN_INSTANT || t >= max_instant() {
        errs.push(
            field,
            "must be between 1970-01-01T00:00:00Z and 9000-01-01T00:00:00Z",
        );
    }
}

/// `^[a-z0-9_-]+$`, 1–255 characters.
pub(crate) fn check_alias(errs: &mut Errors, field: &str, alias: &str) {
    if alias.is_empty() || alias.len() > 255 {
        errs.push(field, "must be 1-255 characters");
    } else if !alias
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        errs.push(field, "must match ^[a-z0-9_-]+$");
    }
}

/// 1–255 characters (0 allowed when `optional`), no control characters.
pub(crate) fn check_text(errs: &mut Errors, field: &str, s: &str, optional: bool) {
    let n = s.chars().count();
    if (!optional && n == 0) || n > 255 {
        errs.push(
            field,
            if optional {
                "must be at most 255 characters"
            } else {
                "must be 1-255 characters"
            },
        );
    } else if s.chars().any(char::is_control) {
        errs.push(field, "must not contain control characters");
    }
}

/// AWS tag rules: ≤ 50 tags; key 1–128 of `[A-Za-z0-9_+=/\-\\]`, not starting with `aws:`;
/// value 1–256 of letters, digits, spaces and `_ . : / = + - @`.
pub(crate) fn check_tags(errs: &mut Errors, field: &str, tags: &Tags) {
    if tags.len() > MAX_TAGS {
        errs.push(field, "at most 50 tags");
    }
    for (k, v) in tags {
        let kf = format!("{field}.{}", k.escape_debug());
        if k.is_empty() || k.chars().count() > 128 {
            errs.push(&kf, "tag key must be 1-128 characters");
        } else if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=/-\\".contains(c))
        {
            errs.push(&kf, "tag key must match ^[\\\\/a-zA-Z0-9_+=-]+$");
        }
        if v.is_empty() || v.chars().count() > 256 {
            errs.push(&kf, "tag value must be 1-256 characters");
        } else if !v.chars().all(|c| {
            c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
        }) {
            errs.push(
                &kf,
                "tag value may hold letters, digits, spaces and _ . : / = + - @",
            );
        }
    }
}

/// Resolves an IANA zone name through jiff's tzdb.
pub fn time_zone(field: &str, id: &str) -> Result<TimeZone> {
    let mut errs = Errors::default();
    if id.is_empty() || id.len() > 255 {
        errs.push(field, "must be an IANA time zone name (1-255 characters)");
        errs.finish()?;
    }
    TimeZone::get(id).map_err(|_| {
        super::error::OncallError::one(
            field,
            format!("unknown time zone {id:?}: must be an IANA name such as America/Los_Angeles"),
        )
    })
}

/// Validates a rotation on its own (contacts are aliases; whether they exist is the caller's
/// concern, see [`check_rotation_contacts`]).
pub fn validate_rotation(rotation: &Rotation) -> Result<()> {
    let mut errs = Errors::default();
    check_rotation_into(&mut errs, "", rotation);
    errs.finish()
}

/// Every alias in the rotation must be a known PERSONAL contact.
pub fn check_rotation_contacts(
    rotation: &Rotation,
    is_personal_contact: impl Fn(&str) -> bool,
) -> Result<()> {
    let mut errs = Errors::default();
    for (i, c) in rotation.contacts.iter().enumerate() {
        if !is_personal_contact(c) {
            errs.push(
                format!("contacts[{i}]"),
                format!("{c:?} is not a PERSONAL contact"),
            );
        }
    }
    errs.finish()
}

pub(crate) fn check_rotation_into(errs: &mut Errors, prefix: &str, r: &Rotation) {
    let f = |name: &str| format!("{prefix}{name}");
    if r.name.is_empty() || r.name.chars().count() > 255 {
        errs.push(f("name"), "must be 1-255 characters");
    } else if !r
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || c == ' ')
    {
        errs.push(f("name"), "must match ^[a-zA-Z0-9_ .-]+$");
    }
    if r.contacts.is_empty() {
        errs.push(f("contacts"), "must list at least one contact");
    } else if r.contacts.len() > MAX_ROTATION_CONTACTS {
        errs.push(
            f("contacts"),
            format!(
                "at most {MAX_ROTATION_CONTACTS} contacts (got {})",
                r.contacts.len()
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, c) in r.contacts.iter().enumerate() {
        check_alias(errs, &f(&format!("contacts[{i}]")), c);
        if !seen.insert(c.as_str()) {
            errs.push(
                f(&format!("contacts[{i}]")),
                format!("{c:?} is listed twice"),
            );
        }
    }
    check_instant(errs, &f("startTime"), r.start_time);
    if let Err(e) = time_zone(&f("timeZoneId"), &r.time_zone_id) {
        errs.extend(e);
    }
    check_recurrence(errs, &f("recurrence."), &r.recurrence, r.contacts.len());
    check_tags(errs, &f("tags"), &r.tags);
}

fn check_recurrence(errs: &mut Errors, prefix: &str, rec: &RecurrenceSettings, contacts: usize) {
    let f = |name: &str| format!("{prefix}{name}");
    let kinds = [
        !rec.daily_settings.is_empty(),
        !rec.weekly_settings.is_empty(),
        !rec.monthly_settings.is_empty(),
    ];
    match kinds.iter().filter(|k| **k).count() {
        0 => errs.push(
            f("dailySettings"),
            "exactly one of dailySettings, weeklySettings, monthlySettings must be given",
        ),
        1 => {}
        _ => errs.push(
            f("dailySettings"),
            "only one of dailySettings, weeklySettings, monthlySettings may be given",
        ),
    }
    if rec.daily_settings.len() > MAX_SETTINGS {
        errs.push(f("dailySettings"), "at most 24 hand-off times");
    }
    if rec.weekly_settings.len() > MAX_SETTINGS {
        errs.push(f("weeklySettings"), "at most 24 hand-off times");
    }
    if rec.monthly_settings.len() > MAX_SETTINGS {
        errs.push(f("monthlySettings"), "at most 24 hand-off times");
    }
    let mut seen = BTreeSet::new();
    for (i, t) in rec.daily_settings.iter().enumerate() {
        let field = f(&format!("dailySettings[{i}]"));
        if !t.is_valid() {
            errs.push(&field, "hourOfDay must be 0-23 and minuteOfHour 0-59");
        } else if !seen.insert(*t) {
            errs.push(&field, format!("hand-off time {t} is listed twice"));
        }
    }
    let mut seen = BTreeSet::new();
    for (i, w) in rec.weekly_settings.iter().enumerate() {
        let field = f(&format!("weeklySettings[{i}].handOffTime"));
        if !w.hand_off_time.is_valid() {
            errs.push(&field, "hourOfDay must be 0-23 and minuteOfHour 0-59");
        } else if !seen.insert((w.day_of_week, w.hand_off_time)) {
            errs.push(&field, "this day and hand-off time are listed twice");
        }
    }
    let mut seen = BTreeSet::new();
    for (i, m) in rec.monthly_settings.iter().enumerate() {
        if !(1..=31).contains(&m.day_of_month) {
            errs.push(
                f(&format!("monthlySettings[{i}].dayOfMonth")),
                "must be 1-31",
            );
        }
        let field = f(&format!("monthlySettings[{i}].handOffTime"));
        if !m.hand_off_time.is_valid() {
            errs.push(&field, "hourOfDay must be 0-23 and minuteOfHour 0-59");
        } else if !seen.insert((m.day_of_month, m.hand_off_time)) {
            errs.push(&field, "this day and hand-off time are listed twice");
        }
    }
    if rec.number_of_on_calls < 1 {
        errs.push(f("numberOfOnCalls"), "must be at least 1");
    } else if contacts > 0 && rec.number_of_on_calls as usize > contacts {
        errs.push(
            f("numberOfOnCalls"),
            format!("must not exceed the number of contacts ({contacts})"),
        );
    }
    if !(1..=100).contains(&rec.recurrence_multiplier) {
        errs.push(f("recurrenceMultiplier"), "must be 1-100");
    }
    if let Some(cov) = &rec.shift_coverages {
        if cov.values().all(Vec::is_empty) {
            errs.push(
                f("shiftCoverages"),
                "when given, must cover at least one day (omit it for around-the-clock coverage)",
            );
        }
        // Windows as [start, end) minute ranges on the weekly circle (10080 minutes).
        let mut spans: Vec<(u32, u32, String)> = Vec::new();
        for (day, windows) in cov {
            if windows.len() > MAX_WINDOWS_PER_DAY {
                errs.push(
                    f(&format!("shiftCoverages.{}", day.as_str())),
                    "at most 48 windows",
                );
            }
            for (i, w) in windows.iter().enumerate() {
                let field = f(&format!("shiftCoverages.{}[{i}]", day.as_str()));
                if !w.start.is_valid() || !w.end.is_valid() {
                    errs.push(&field, "start and end must be valid HH:MM times");
                    continue;
                }
                let len = w.wall_minutes();
                if len < MIN_WINDOW_MINUTES {
                    errs.push(
                        &field,
                        format!("coverage window is {len} minutes: must be at least 30 minutes"),
                    );
                    continue;
                }
                let start = day.index() as u32 * 1440 + w.start.minutes();
                spans.push((start, start + len, field));
            }
        }
        spans.sort();
        // Overlap on the weekly circle: compare each window with the next, and the last
        // (possibly wrapping past Sunday midnight) with the first.
        for (i, (_, e1, f1)) in spans.iter().enumerate() {
            for (s2, _, f2) in spans.iter().skip(i + 1) {
                if s2 < e1 {
                    errs.push(f2.clone(), format!("overlaps coverage window {f1}"));
                }
            }
            if *e1 > 10080 {
                for (s2, _, f2) in spans.iter().take(i) {
                    if *s2 < e1 - 10080 {
                        errs.push(f1.clone(), format!("overlaps coverage window {f2}"));
                    }
                }
            }
        }
    }
}

/// Validates a schedule: alias, ≤ 8 rotations with unique names, each rotation valid.
pub fn validate_schedule(schedule: &OnCallSchedule) -> Result<()> {
    let mut errs = Errors::default();
    check_alias(&mut errs, "alias", &schedule.alias);
    if let Some(d) = &schedule.display_name {
        check_text(&mut errs, "displayName", d, true);
    }
    if schedule.rotations.is_empty() {
        errs.push("rotations", "must hold at least one rotation");
    } else if schedule.rotations.len() > MAX_SCHEDULE_ROTATIONS {
        errs.push(
            "rotations",
            format!("at most 8 rotations (got {})", schedule.rotations.len()),
        );
    }
    let mut seen = BTreeSet::new();
    for (i, r) in schedule.rotations.iter().enumerate() {
        check_rotation_into(&mut errs, &format!("rotations[{i}]."), r);
        if !seen.insert(r.name.as_str()) {
            errs.push(
                format!("rotations[{i}].name"),
                format!("rotation name {:?} is used twice in this schedule", r.name),
            );
        }
    }
    check_tags(&mut errs, "tags", &schedule.tags);
    errs.finish()
}
