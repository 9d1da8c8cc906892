//! A validation report over files: human rendering (miette) and JSON for CI.

use super::diag::{Diagnostic, Severity};
use super::source::{SourceText, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use serde_json::{Value, json};
use std::fmt;

/// Diagnostics for one file, with its source text for excerpts.
#[derive(Debug, Clone)]
pub struct FileReport {
    pub path: String,
    pub diagnostics: Vec<Diagnostic>,
    source: SourceText,
}

impl FileReport {
    pub(crate) fn new(path: String, source: SourceText, mut diagnostics: Vec<Diagnostic>) -> Self {
        for d in &mut diagnostics {
            if let Some(s) = d.span {
                d.span = Some(source.clamp_span(s));
            }
        }
        diagnostics.sort_by_key(|d| d.span.map_or(0, |s| s.start));
        FileReport {
            path,
            diagnostics,
            source,
        }
    }

    pub fn source(&self) -> &str {
        &self.source.text
    }

    /// 1-based line and column of a diagnostic's start.
    pub fn line_col(&self, d: &Diagnostic) -> Option<(usize, usize)> {
        d.span.map(|s| self.source.line_col(s.start))
    }
}

/// The result of validating one or more files.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub files: Vec<FileReport>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.diagnostics().any(|(_, d)| d.is_error())
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics().filter(|(_, d)| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics().filter(|(_, d)| !d.is_error()).count()
    }

    pub fn diagnostics(&self) -> impl Iterator<Item = (&FileReport, &Diagnostic)> {
        self.files
            .iter()
            .flat_map(|f| f.diagnostics.iter().map(move |d| (f, d)))
    }

    pub fn extend(&mut self, other: Report) {
        self.files.extend(other.files);
    }

    /// Human-readable, without colour (stable for logs and snapshots).
    pub fn render_human(&self) -> String {
        self.render_human_styled(false)
    }

    /// Human-readable; `color` adds ANSI styling for terminals.
    pub fn render_human_styled(&self, color: bool) -> String {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_context_lines(1);
        let mut out = String::new();
        for file in &self.files {
            let src = NamedSource::new(file.path.clone(), file.source.text.clone());
            for d in &file.diagnostics {
                // Excerpts of very long lines (minified JSON, hostile input) would flood the
                // output: such diagnostics print their location instead.
                let location = match d.span {
                    Some(sp) => {
                        let (line, col) = file.source.line_col(sp.start);
                        (file.source.line_text(line).len() > MAX_EXCERPT_LINE)
                            .then(|| format!("{}:{line}:{col}", file.path))
                    }
                    None => Some(file.path.clone()),
                };
                let view = MietteView {
                    d,
                    src: &src,
                    location,
                };
                if handler.render_report(&mut out, &view).is_err() {
                    out.push_str(&format!("{}: {}\n", file.path, d.message));
                }
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "{} in {} {}\n",
            self.summary(),
            self.files.len(),
            if self.files.len() == 1 {
                "file"
            } else {
                "files"
            }
        ));
        out
    }

    fn summary(&self) -> String {
        let (e, w) = (self.error_count(), self.warning_count());
        let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
        format!("{}, {}", plural(e, "error"), plural(w, "warning"))
    }

    /// Machine-readable form (`tocsin validate --format json`).
    pub fn to_json(&self) -> Value {
        let diagnostics: Vec<Value> = self
            .diagnostics()
            .map(|(f, d)| {
                let (start, end) = match d.span {
                    Some(Span { start, end }) => {
                        (Some(f.source.line_col(start)), Some(f.source.line_col(end)))
                    }
                    None => (None, None),
                };
                json!({
                    "file": f.path,
                    "line": start.map(|s| s.0),
                    "column": start.map(|s| s.1),
                    "end_line": end.map(|s| s.0),
                    "end_column": end.map(|s| s.1),
                    "severity": d.severity,
                    "code": d.code,
                    "message": d.message,
                    "label": d.label,
                    "hint": d.hint,
                    "excerpt": start.map(|s| f.source.line_text(s.0)),
                })
            })
            .collect();
        json!({
            "files": self.files.len(),
            "errors": self.error_count(),
            "warnings": self.warning_count(),
            "diagnostics": diagnostics,
        })
    }

    pub fn render_json(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_else(|_| "{}".to_string())
    }
}

/// Adapter from our diagnostic to miette's.
struct MietteView<'a> {
    d: &'a Diagnostic,
    src: &'a NamedSource<String>,
    /// Printed before the message when the source excerpt is not shown.
    location: Option<String>,
}

const MAX_EXCERPT_LINE: usize = 400;

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostic")
            .field("message", &self.d.message)
            .finish()
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            None => f.write_str(&self.d.message),
            Some(loc) => write!(f, "{loc}: {}", self.d.message),
        }
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .hint
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        if self.location.is_some() {
            return None;
        }
        self.d.span.map(|_| self.src as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.location.is_some() {
            return None;
        }
        let span = self.d.span?;
        let label = LabeledSpan::new_with_span(self.d.label.clone(), (span.start, span.len()));
        Some(Box::new(std::iter::once(label)))
    }
}
