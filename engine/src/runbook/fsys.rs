//! The only IO in this module: reading runbook files and directories for validation.

use super::actions::KnownActions;
use super::diag::{Diagnostic, code};
use super::report::{FileReport, Report};
use super::source::SourceText;
use super::validate::validate_file;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Files larger than this are rejected without being read in full.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

const MAX_DIR_DEPTH: usize = 32;

/// Validate runbook files, and directories recursively (`.yaml`, `.yml`, `.json`), in a stable
/// (sorted) order. Unreadable paths are reported as diagnostics, never panics.
pub fn validate_paths(paths: &[PathBuf], known: &dyn KnownActions) -> Report {
    let mut report = Report::default();
    for path in paths {
        let mut files = Vec::new();
        if path.is_dir() {
            collect(path, 0, &mut files, &mut report);
            if files.is_empty() {
                report.files.push(note(
                    path,
                    Diagnostic::warning(
                        code::NO_FILES,
                        "no runbooks (.yaml, .yml, .json) in this directory",
                    ),
                ));
            }
        } else {
            files.push(path.clone());
        }
        for f in files {
            report.files.push(validate_path(&f, known));
        }
    }
    report
}

fn is_runbook(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}

/// Configuration documents (`kind: Plugin`, `kind: OnCallSchedule`, …) share directories with
/// runbooks; when walking a directory they are not runbooks and are skipped. A file named
/// explicitly is always validated.
fn is_config_document(p: &Path) -> bool {
    let mut head = Vec::new();
    let Ok(file) = std::fs::File::open(p) else {
        return false;
    };
    if file.take(64 * 1024).read_to_end(&mut head).is_err() {
        return false;
    }
    is_configuration_text(&String::from_utf8_lossy(&head))
}

/// A top-level `kind:` and no `schemaVersion`: an operator configuration document, not a runbook.
pub fn is_configuration_text(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("kind:"))
        && !text.lines().any(|l| l.starts_with("schemaVersion"))
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>, report: &mut Report) {
    if depth > MAX_DIR_DEPTH {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            report.files.push(note(
                dir,
                Diagnostic::error(code::IO, format!("cannot read directory: {e}")),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        // Do not follow symlinked directories (cycles).
        let is_link = std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
        if p.is_dir() && !is_link {
            collect(&p, depth + 1, out, report);
        } else if p.is_file() && is_runbook(&p) && !is_config_document(&p) {
            out.push(p);
        }
    }
}

fn validate_path(path: &Path, known: &dyn KnownActions) -> FileReport {
    let name = path.display().to_string();
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            return note(
                path,
                Diagnostic::error(code::IO, format!("cannot read file: {e}")),
            );
        }
    };
    let mut bytes = Vec::new();
    if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
        return note(
            path,
            Diagnostic::error(code::IO, format!("cannot read file: {e}")),
        );
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return note(
            path,
            Diagnostic::error(
                code::TOO_LARGE,
                format!("file is larger than {MAX_FILE_BYTES} bytes"),
            )
            .hint("split the runbook, or move large data out of it (pass it as a parameter)"),
        );
    }
    validate_file(&name, &bytes, known)
}

fn note(path: &Path, d: Diagnostic) -> FileReport {
    FileReport::new(
        path.display().to_string(),
        SourceText::new(String::new()),
        vec![d],
    )
}
