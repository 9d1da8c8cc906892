//! Secret values: from `TOCSIN_SECRET_<NAME>` environment variables (name upper-cased, `-` and
//! `.` as `_`) and an optional YAML file mapping names to values. Values never leave this type
//! except into a plugin sandbox that was granted them; `Debug` shows names only.

use std::collections::BTreeMap;
use std::path::Path;

use super::ConfigError;

#[derive(Clone, Default)]
pub struct SecretStore {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for SecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretStore")
            .field("names", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl SecretStore {
    /// Read a YAML map `name: value` (the file should be readable by the engine's user only).
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let values: BTreeMap<String, String> =
            serde_saphyr::from_str(&text).map_err(|e| ConfigError::Yaml {
                path: path.to_owned(),
                message: format!("secrets file must map names to strings: {e}"),
            })?;
        Ok(SecretStore { values })
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_owned(), value.to_owned());
    }

    /// The value of `name`: the file's value, else `TOCSIN_SECRET_<NAME>` from the environment.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        std::env::var(env_name(name)).ok()
    }
}

pub fn env_name(secret: &str) -> String {
    let mut out = String::from("TOCSIN_SECRET_");
    out.extend(secret.chars().map(|c| {
        if c.is_ascii_alphanumeric() {
            c.to_ascii_uppercase()
        } else {
            '_'
        }
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(
            env_name("twilio-auth.token"),
            "TOCSIN_SECRET_TWILIO_AUTH_TOKEN"
        );
    }

    #[test]
    fn debug_never_shows_values() {
        let mut s = SecretStore::default();
        s.insert("token", "hunter2-value");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.get("token").as_deref(), Some("hunter2-value"));
    }
}
