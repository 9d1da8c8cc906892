//! iCalendar (RFC 5545) export of shifts: one VEVENT per shift, DTSTART/DTEND in UTC, CRLF line
//! endings, TEXT escaping and folding at 75 octets. Per schedule, or per contact across schedules.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::error::Result;
use super::model::{Contact, OnCallSchedule, RotationOverride, RotationShift, ShiftType};
use super::schedule::schedule_shifts;

/// The shifts of `schedule` in `[from, to)` as a calendar. `contacts` supplies display names
/// (aliases are used for contacts not found); `now` is the DTSTAMP.
pub fn schedule_calendar(
    schedule: &OnCallSchedule,
    overrides: &[RotationOverride],
    contacts: &[Contact],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Result<String> {
    let shifts = schedule_shifts(schedule, overrides, from, to)?;
    let title = format!(
        "On call: {}",
        schedule.display_name.as_deref().unwrap_or(&schedule.alias)
    );
    let items: Vec<(&OnCallSchedule, RotationShift)> =
        shifts.into_iter().map(|s| (schedule, s)).collect();
    Ok(render(&title, &items, contacts, now))
}

/// The shifts in `[from, to)` during which `alias` is on call, across `schedules` (each with its
/// overrides), as a calendar.
pub fn contact_calendar(
    alias: &str,
    schedules: &[(&OnCallSchedule, &[RotationOverride])],
    contacts: &[Contact],
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Result<String> {
    let mut items = Vec::new();
    for (schedule, overrides) in schedules {
        for s in schedule_shifts(schedule, overrides, from, to)? {
            if s.contacts.iter().any(|c| c == alias) {
                items.push((*schedule, s));
            }
        }
    }
    items.sort_by_key(|(_, s)| s.start_time);
    let name = contacts
        .iter()
        .find(|c| c.alias == alias)
        .map_or(alias, Contact::name);
    Ok(render(&format!("On call: {name}"), &items, contacts, now))
}

fn render(
    title: &str,
    items: &[(&OnCallSchedule, RotationShift)],
    contacts: &[Contact],
    now: Timestamp,
) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_line(&mut out, s);
    line("BEGIN:VCALENDAR");
    line("VERSION:2.0");
    line("PRODID:-//Tocsin//On-call//EN");
    line("CALSCALE:GREGORIAN");
    line("METHOD:PUBLISH");
    line(&format!("X-WR-CALNAME:{}", escape_text(title)));
    for (schedule, shift) in items {
        let (start, end) = (utc(shift.start_time), utc(shift.end_time));
        if start == end {
            continue; // shorter than the format's one-second resolution
        }
        let who = display_names(&shift.contacts, contacts);
        let summary = format!("{who} on call ({})", shift.rotation);
        let mut desc = format!(
            "Schedule: {}\nRotation: {}\nOn call: {who}",
            schedule.alias, shift.rotation
        );
        if shift.shift_type == ShiftType::Overridden {
            let _ = write!(
                desc,
                "\nOverride, replacing: {}",
                display_names(&shift.overridden_contacts, contacts)
            );
        }
        line("BEGIN:VEVENT");
        line(&format!(
            "UID:{}",
            uid(&schedule.alias, &shift.rotation, shift.start_time)
        ));
        line(&format!("DTSTAMP:{}", utc(now)));
        line(&format!("DTSTART:{start}"));
        line(&format!("DTEND:{end}"));
        line(&format!("SUMMARY:{}", escape_text(&summary)));
        line(&format!("DESCRIPTION:{}", escape_text(&desc)));
        line(&format!(
            "CATEGORIES:ON-CALL,{}",
            match shift.shift_type {
                ShiftType::Regular => "REGULAR",
                ShiftType::Overridden => "OVERRIDDEN",
            }
        ));
        line("TRANSP:TRANSPARENT");
        line("END:VEVENT");
    }
    line("END:VCALENDAR");
    out
}

fn display_names(aliases: &[String], contacts: &[Contact]) -> String {
    aliases
        .iter()
        .map(|a| {
            contacts
                .iter()
                .find(|c| &c.alias == a)
                .map_or(a.as_str(), Contact::name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `YYYYMMDDTHHMMSSZ` (UTC, whole seconds).
fn utc(t: Timestamp) -> String {
    let d = jiff::tz::TimeZone::UTC.to_datetime(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// A stable UID: the same shift start in the same rotation of the same schedule keeps its UID
/// across exports, so subscribed calendars update events instead of duplicating them.
fn uid(schedule: &str, rotation: &str, start: Timestamp) -> String {
    let key = format!("{schedule}\u{0}{rotation}\u{0}{}", start.as_second());
    format!("{:016x}@oncall.tocsin", fnv1a(key.as_bytes()))
}

pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// RFC 5545 §3.3.11 TEXT escaping (also RFC 6350 for vCard): `\` `;` `,` and newlines; other
/// control characters, which the formats forbid, are dropped.
pub(crate) fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded so no physical line exceeds 75 octets (excluding CRLF),
/// never splitting a UTF-8 character; continuation lines start with a space.
pub(crate) fn push_line(out: &mut String, line: &str) {
    let mut budget = 75;
    let mut used = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if used + n > budget {
            out.push_str("\r\n ");
            budget = 74;
            used = 0;
        }
        out.push(c);
        used += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
pub(crate) fn push_line_for_tests(out: &mut String, line: &str) {
    push_line(out, line);
}
