//! One located finding about a runbook: severity, stable code, message, span, hint.

use super::source::Span;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A finding about one document. `span` is a byte range in that document's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `runbook::unknown-reference`.
    pub code: &'static str,
    pub message: String,
    pub span: Option<Span>,
    /// Short text shown under the highlighted source.
    pub label: Option<String>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: None,
            hint: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn at(mut self, span: Span) -> Self {
        self.span = Some(span);
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The stable diagnostic codes (documented in docs/RUNBOOKS.md).
pub mod code {
    pub const IO: &str = "runbook::io";
    pub const ENCODING: &str = "runbook::encoding";
    pub const TOO_LARGE: &str = "runbook::too-large";
    pub const YAML: &str = "runbook::yaml";
    pub const JSON: &str = "runbook::json";
    pub const LIMIT: &str = "runbook::limit";
    pub const SCHEMA: &str = "runbook::schema";
    pub const UNKNOWN_FIELD: &str = "runbook::unknown-field";
    pub const MISSING_FIELD: &str = "runbook::missing-field";
    pub const WRONG_TYPE: &str = "runbook::wrong-type";
    pub const SCHEMA_VERSION: &str = "runbook::schema-version";
    pub const UNKNOWN_ACTION: &str = "runbook::unknown-action";
    pub const UNSUPPORTED_ACTION: &str = "runbook::unsupported-action";
    pub const INVALID_INPUT: &str = "runbook::invalid-input";
    pub const IGNORED_INPUT: &str = "runbook::ignored-input";
    pub const TEMPLATE: &str = "runbook::template";
    pub const UNKNOWN_REFERENCE: &str = "runbook::unknown-reference";
    pub const FORWARD_REFERENCE: &str = "runbook::forward-reference";
    pub const SELF_REFERENCE: &str = "runbook::self-reference";
    pub const UNSUPPORTED_REFERENCE: &str = "runbook::unsupported-reference";
    pub const UNDEFINED_TARGET: &str = "runbook::undefined-target";
    pub const UNREACHABLE: &str = "runbook::unreachable-step";
    pub const CYCLE: &str = "runbook::cycle-without-exit";
    pub const DUPLICATE_STEP: &str = "runbook::duplicate-step";
    pub const TYPE_MISMATCH: &str = "runbook::type-mismatch";
    pub const PATTERN: &str = "runbook::allowed-pattern";
    pub const SELECTOR: &str = "runbook::selector";
    pub const NO_FILES: &str = "runbook::no-files";
}
