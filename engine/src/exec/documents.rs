//! The runbook documents executions can name: a runbooks directory (name = file stem), plus
//! documents stored with a name when posted inline. Every document is validated before it runs.

use std::collections::BTreeMap;
use std::path::Path;

use crate::runbook::{Document, PluginActions, parse_document, validate_source};
use crate::store::Store;

use super::ExecError;

#[derive(Debug, Default)]
pub struct Documents {
    known: PluginActions,
    by_name: BTreeMap<String, Document>,
}

impl Documents {
    /// No directory; `known` are the plugin actions (`instance:action` → input schema).
    pub fn new(known: PluginActions) -> Self {
        Documents {
            known,
            by_name: BTreeMap::new(),
        }
    }

    /// Load every `.yaml`, `.yml` and `.json` file in `dir` (not recursive). A document with
    /// errors is skipped with a warning naming it; returns how many were loaded.
    pub fn load_dir(&mut self, dir: &Path) -> Result<usize, std::io::Error> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.path());
        let mut n = 0;
        for e in entries {
            let path = e.path();
            let ext = path.extension().and_then(|x| x.to_str()).unwrap_or("");
            if !matches!(ext, "yaml" | "yml" | "json") || !path.is_file() {
                continue;
            }
            let Some(name) = path
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_string)
            else {
                continue;
            };
            let text = match std::fs::read(&path) {
                Ok(b) => b,
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "cannot read runbook; skipped");
                    continue;
                }
            };
            let text = String::from_utf8_lossy(&text).into_owned();
            if crate::runbook::is_configuration_text(&text) {
                continue; // a `kind: …` document sharing the directory
            }
            match self.check(&path.display().to_string(), &text) {
                Ok(doc) => {
                    self.by_name.insert(name, doc);
                    n += 1;
                }
                Err(err) => {
                    tracing::warn!(path = %path.display(), error = %err, "runbook has errors; skipped")
                }
            }
        }
        Ok(n)
    }

    /// Add a checked document under `name`.
    pub fn insert(&mut self, name: &str, text: &str) -> Result<(), ExecError> {
        let doc = self.check(name, text)?;
        self.by_name.insert(name.to_string(), doc);
        Ok(())
    }

    pub fn names(&self) -> Vec<String> {
        self.by_name.keys().cloned().collect()
    }

    /// Validate `text` and parse it.
    pub fn check(&self, name: &str, text: &str) -> Result<Document, ExecError> {
        let report = validate_source(name, text.as_bytes(), &self.known);
        let invalid = |report: &crate::runbook::Report| ExecError::InvalidDocument {
            name: name.to_string(),
            report: report.render_human(),
            diagnostics: report.to_json(),
        };
        if report.has_errors() {
            return Err(invalid(&report));
        }
        parse_document(text).ok().ok_or_else(|| invalid(&report))
    }

    /// A document by name: the directory first, then stored documents.
    pub fn resolve(&self, name: &str, store: &Store) -> Result<Document, ExecError> {
        if let Some(d) = self.by_name.get(name) {
            return Ok(d.clone());
        }
        match store.document(name)? {
            Some(text) => self.check(name, &text),
            None => {
                let names = self.names();
                Err(ExecError::UnknownDocument {
                    name: name.to_string(),
                    known: if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                })
            }
        }
    }
}
