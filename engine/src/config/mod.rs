//! Operator configuration: `kind: Plugin` documents (YAML, one or more per file) and secret
//! values. Turns them into the specs `plugin/` consumes; knows nothing of wasmtime or storage.

pub mod intake;
pub mod oncall_docs;
mod plugin_doc;
mod secrets;

pub use plugin_doc::{PluginDoc, load_config_dir, parse_plugin_docs};
pub use secrets::SecretStore;

use std::path::{Path, PathBuf};

/// A configuration document could not be used. Every variant names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Yaml { path: PathBuf, message: String },
    #[error("{path}: document {index}: `{field}`: {message}")]
    Field {
        path: PathBuf,
        index: usize,
        field: String,
        message: String,
    },
    #[error("{path}: document {index}: unknown kind `{kind}` (known kinds: Plugin)")]
    UnknownKind {
        path: PathBuf,
        index: usize,
        kind: String,
    },
}

/// Every `.yaml`/`.yml` file under `dir` (recursively, at most 16 levels deep).
fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<(), ConfigError> {
    if depth > 16 {
        return Ok(());
    }
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Read {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::Read {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out, depth + 1)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
