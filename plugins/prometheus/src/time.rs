//! Times and durations in Prometheus's formats, plus `now` and `now-<duration>` so a runbook can
//! ask for "the last hour" without computing timestamps (SSM templates have no date arithmetic).

use serde::Deserialize;
use tocsin_plugin_sdk::JsonSchema;

/// A point in time: an RFC 3339 timestamp (`2026-03-01T12:00:00Z`), Unix seconds (`1772366400`
/// or `1772366400.5`), `now`, or `now` plus or minus a Prometheus duration (`now-1h`,
/// `now-1h30m`). `now…` is resolved with the engine's clock; the others go to Prometheus as they
/// are, so Prometheus reports a malformed one verbatim.
#[derive(Deserialize, JsonSchema, Clone, Debug)]
#[serde(untagged)]
pub enum TimeInput {
    Unix(f64),
    Text(String),
}

/// The value Prometheus should receive for `time`, `start` or `end`.
pub fn resolve(time: &TimeInput, now_unix_ms: u64) -> Result<String, String> {
    let text = match time {
        TimeInput::Unix(secs) => return Ok(secs.to_string()),
        TimeInput::Text(text) => text.trim(),
    };
    let Some(rest) = text.strip_prefix("now") else {
        return Ok(text.to_owned());
    };
    let offset_ms = match rest.as_bytes().first() {
        None => 0,
        Some(b'-') => -duration_ms(&rest[1..])?,
        Some(b'+') => duration_ms(&rest[1..])?,
        Some(_) => {
            return Err(format!(
                "`{text}` is not a time: after `now` write `-` or `+` and a duration, e.g. `now-1h`"
            ));
        }
    };
    let at = i128::from(now_unix_ms) + offset_ms;
    Ok(unix_seconds(at))
}

/// Milliseconds as Unix seconds with millisecond precision (`1772366400.250`).
fn unix_seconds(ms: i128) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.abs();
    format!("{sign}{}.{:03}", ms / 1000, ms % 1000)
}

/// A Prometheus duration (`30s`, `5m`, `1h30m`, `2d`, `1w`, `1y`, `250ms`) in milliseconds.
pub fn duration_ms(text: &str) -> Result<i128, String> {
    let bad = || {
        format!(
            "`{text}` is not a duration: use digits and units ms, s, m, h, d, w, y (e.g. `1h30m`)"
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let mut total: i128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 15 {
            return Err(bad());
        }
        let amount: i128 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms: i128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(bad()),
        };
        rest = &rest[unit_len..];
        total += amount * unit_ms;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> TimeInput {
        TimeInput::Text(s.into())
    }

    #[test]
    fn now_and_offsets_resolve_against_the_clock() {
        let now = 1_772_366_400_250;
        assert_eq!(resolve(&text("now"), now).unwrap(), "1772366400.250");
        assert_eq!(resolve(&text("now-1h"), now).unwrap(), "1772362800.250");
        assert_eq!(resolve(&text("now-1h30m"), now).unwrap(), "1772361000.250");
        assert_eq!(resolve(&text("now+90s"), now).unwrap(), "1772366490.250");
        assert_eq!(
            resolve(&text(" now-250ms "), now).unwrap(),
            "1772366400.000"
        );
    }

    #[test]
    fn other_times_pass_through_for_prometheus_to_judge() {
        assert_eq!(
            resolve(&text("2026-03-01T12:00:00Z"), 0).unwrap(),
            "2026-03-01T12:00:00Z"
        );
        assert_eq!(resolve(&TimeInput::Unix(1.5), 0).unwrap(), "1.5");
        assert_eq!(resolve(&text("yesterday"), 0).unwrap(), "yesterday");
    }

    #[test]
    fn malformed_offsets_explain_the_format() {
        for bad in ["now-", "now-1", "now-h", "now-1x", "nowish", "now-1h-2m"] {
            let err = resolve(&text(bad), 0).unwrap_err();
            assert!(err.contains('`'), "{bad}: {err}");
        }
    }
}
