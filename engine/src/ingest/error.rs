//! The error of every fallible function in `ingest`: what kind of rejection it is (so the server
//! can pick the status code) and one or more field errors, each naming the field and the rule.

use std::fmt;

pub use crate::oncall::FieldError;

/// Why an input was rejected; [`IngestError::http_status`] maps it to a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum IngestErrorKind {
    /// Not what the source sends: not JSON, a required field missing, a wrong type (400).
    Malformed,
    /// Well formed but not supported: another Alertmanager version, an unknown SNS message type or
    /// signature version, an event that is not of the expected kind (422).
    Unsupported,
    /// Authenticity not established: signature mismatch, certificate URL not allowed, unreadable
    /// certificate, a message too old (possible replay) (403).
    Untrusted,
    /// Operator configuration (a mapping, an event pattern) is invalid (400 where it is applied).
    Config,
}

/// One or more [`FieldError`]s of one [`IngestErrorKind`]; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
pub struct IngestError {
    pub kind: IngestErrorKind,
    pub errors: Vec<FieldError>,
}

pub type Result<T, E = IngestError> = std::result::Result<T, E>;

impl IngestError {
    /// One field error of `kind`.
    pub fn new(kind: IngestErrorKind, field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            kind,
            errors: vec![FieldError::new(field, rule)],
        }
    }

    /// One Malformed field error.
    pub fn malformed(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Malformed, field, rule)
    }

    /// One Unsupported field error.
    pub fn unsupported(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Unsupported, field, rule)
    }

    /// One Untrusted field error.
    pub fn untrusted(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Untrusted, field, rule)
    }

    /// One Config field error.
    pub fn config(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::new(IngestErrorKind::Config, field, rule)
    }

    /// The HTTP status the server should answer with: 400, 422 or 403.
    pub fn http_status(&self) -> u16 {
        match self.kind {
            IngestErrorKind::Malformed | IngestErrorKind::Config => 400,
            IngestErrorKind::Unsupported => 422,
            IngestErrorKind::Untrusted => 403,
        }
    }

    /// True when some error is about `field` (exact path match).
    pub fn has_field(&self, field: &str) -> bool {
        self.errors.iter().any(|e| e.field == field)
    }

    /// The same error with every field path under `prefix` (e.g. `Message`).
    pub fn under(mut self, prefix: &str) -> Self {
        for e in &mut self.errors {
            e.field = join(prefix, &e.field);
        }
        self
    }
}

/// `a.b`, or just one side when the other is empty; `a` + `[0]` stays `a[0]`.
pub(crate) fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else if field.is_empty() {
        prefix.to_owned()
    } else if field.starts_with('[') {
        format!("{prefix}{field}")
    } else {
        format!("{prefix}.{field}")
    }
}

impl fmt::Display for IngestError {
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
