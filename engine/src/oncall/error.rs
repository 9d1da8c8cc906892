//! Errors of the on-call core: every rejection names the field and the rule it broke.

use std::fmt;

/// One broken rule on one field, e.g. `recurrence.shiftCoverages.MON[0]`: "coverage window is
/// shorter than 30 minutes". Field paths use the serde (camelCase) names of this module's types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{field}: {rule}")]
pub struct FieldError {
    /// Path to the offending field, in the serialized (camelCase) names.
    pub field: String,
    /// The rule that was broken, as a sentence fragment a human can act on.
    pub rule: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            rule: rule.into(),
        }
    }
}

/// The error of every fallible function in `oncall`: one or more [`FieldError`]s, never empty.
/// Validation collects every problem it finds rather than stopping at the first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct OncallError {
    pub errors: Vec<FieldError>,
}

impl OncallError {
    pub fn one(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            errors: vec![FieldError::new(field, rule)],
        }
    }

    /// True when some error is about `field` (exact path match).
    pub fn has_field(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }
}

impl fmt::Display for OncallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<FieldError> for OncallError {
    fn from(e: FieldError) -> Self {
        Self { errors: vec![e] }
    }
}

pub type Result<T, E = OncallError> = std::result::Result<T, E>;

/// Collects field errors during validation.
#[derive(Debug, Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn push(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.0.push(FieldError::new(field, rule));
    }

    pub(crate) fn extend(&mut self, other: OncallError) {
        self.0.extend(other.errors);
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    pub(crate) fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(OncallError { errors: self.0 })
        }
    }
}
