//! ISO 8601 durations for `aws:sleep` (`PT10M`, `P1D`), capped at 7 days as in SSM.

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// The longest `aws:sleep`.
pub const MAX_SLEEP: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Parse an ISO 8601 duration into an absolute length (days are 24 hours).
pub fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    let t = s.trim();
    if !t.starts_with(['P', 'p']) {
        return Err(format!("`{s}` is not an ISO 8601 duration"));
    }
    let span: Span = t
        .parse()
        .map_err(|_| format!("`{s}` is not an ISO 8601 duration"))?;
    if span.get_years() != 0 || span.get_months() != 0 {
        return Err(format!(
            "`{s}` uses years or months, whose length varies; use days (P30D) or smaller units"
        ));
    }
    let d = span
        .to_duration(SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("`{s}` is not a usable duration"))?;
    if d.is_negative() {
        return Err(format!("`{s}` is negative"));
    }
    if d > MAX_SLEEP {
        return Err(format!(
            "`{s}` is longer than the 7-day maximum of aws:sleep"
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT10M"), Ok(SignedDuration::from_mins(10)));
        assert_eq!(
            parse_duration("P1DT1S"),
            Ok(SignedDuration::from_secs(86_401))
        );
        assert_eq!(parse_duration("PT0S"), Ok(SignedDuration::ZERO));
        assert!(
            parse_duration("P1M")
                .unwrap_err()
                .contains("years or months")
        );
        assert!(parse_duration("P8D").unwrap_err().contains("7-day"));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("-PT1S").is_err());
    }
}
