//! Keeps secret values out of logs, errors and outputs that leave the sandbox.

use std::borrow::Cow;

/// Replaces every occurrence of a granted secret's value with `[REDACTED:<name>]`.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<(String, String)>,
}

impl Redactor {
    /// Values shorter than 4 bytes are not redacted: they would mangle ordinary text and are
    /// too short to be meaningful secrets (the loader warns about them).
    pub fn new(secrets: impl IntoIterator<Item = (String, String)>) -> Self {
        Redactor {
            secrets: secrets.into_iter().filter(|(_, v)| v.len() >= 4).collect(),
        }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for (name, value) in &self.secrets {
            if out.contains(value.as_str()) {
                out = Cow::Owned(out.replace(value.as_str(), &format!("[REDACTED:{name}]")));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_occurrence_of_every_secret() {
        let r = Redactor::new([
            ("token".into(), "s3cr3t-value".into()),
            ("pin".into(), "12".into()),
        ]);
        assert_eq!(
            r.redact("a s3cr3t-value b s3cr3t-value 12"),
            "a [REDACTED:token] b [REDACTED:token] 12"
        );
        assert!(matches!(r.redact("nothing here"), Cow::Borrowed(_)));
    }
}
