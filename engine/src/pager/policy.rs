//! `kind: PagingPolicy`: where links point, which plugin instance delivers each channel type,
//! and the paging-storm rate limits.
//!
//! ```yaml
//! kind: PagingPolicy
//! publicUrl: https://tocsin.example.com     # base of acknowledge links and provider callbacks
//! arnPrefix: arn:aws:ssm-contacts:eu-west-1:123456789012
//! routes: {EMAIL: email, SMS: sms, VOICE: voice}
//! rateLimits: {SMS: {max: 5, perMinutes: 15}, VOICE: {max: 3, perMinutes: 15}}
//! ackLinkTtlMinutes: 1440
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::engage::rate::RateLimit;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PagingPolicy {
    #[serde(default)]
    pub kind: Option<String>,
    /// Base URL of this engine as responders and providers reach it (default: the address
    /// `serve` listens on).
    #[serde(default)]
    pub public_url: Option<String>,
    #[serde(default = "default_arn_prefix")]
    pub arn_prefix: String,
    /// Channel type → plugin instance (a channel's own `plugin` wins; default `console`).
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// Channel type → limit per contact method. Defaults: SMS 5 / 15 min, VOICE 3 / 15 min.
    #[serde(default = "default_limits")]
    pub rate_limits: BTreeMap<String, RateLimit>,
    #[serde(default = "default_ttl")]
    pub ack_link_ttl_minutes: u32,
}

fn default_arn_prefix() -> String {
    "arn:aws:ssm-contacts:local:000000000000".into()
}

fn default_ttl() -> u32 {
    24 * 60
}

fn default_limits() -> BTreeMap<String, RateLimit> {
    BTreeMap::from([
        (
            "SMS".into(),
            RateLimit {
                max: 5,
                per_minutes: 15,
            },
        ),
        (
            "VOICE".into(),
            RateLimit {
                max: 3,
                per_minutes: 15,
            },
        ),
    ])
}

impl Default for PagingPolicy {
    fn default() -> Self {
        PagingPolicy {
            kind: None,
            public_url: None,
            arn_prefix: default_arn_prefix(),
            routes: BTreeMap::new(),
            rate_limits: default_limits(),
            ack_link_ttl_minutes: default_ttl(),
        }
    }
}

impl PagingPolicy {
    /// The base of links and callbacks.
    pub fn base_url(&self) -> &str {
        self.public_url
            .as_deref()
            .unwrap_or("http://127.0.0.1:7600")
    }

    /// Checks the values; the error names the field and the rule.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(format!("publicUrl: {u:?} must be an http(s) URL"));
        }
        for (ty, l) in &self.rate_limits {
            if l.max == 0 || l.per_minutes == 0 || l.per_minutes > 1440 {
                return Err(format!(
                    "rateLimits.{ty}: max must be ≥ 1 and perMinutes 1-1440"
                ));
            }
        }
        if self.ack_link_ttl_minutes == 0 {
            return Err("ackLinkTtlMinutes: must be ≥ 1".into());
        }
        Ok(())
    }
}

/// The `kind: PagingPolicy` document of a configuration directory (at most one), or defaults.
/// `public_url` (from `serve --public-url`) wins over the document; `listening` is the fallback.
pub fn load_policy(
    dir: Option<&Path>,
    public_url: Option<&str>,
    listening: &str,
) -> anyhow::Result<PagingPolicy> {
    let mut found: Option<(String, PagingPolicy)> = None;
    if let Some(dir) = dir {
        for (path, text) in crate::config::oncall_docs::read_yaml_files(dir)? {
            let docs: Vec<serde_json::Value> =
                serde_saphyr::from_multiple(&text).map_err(|e| anyhow::anyhow!("{path}: {e}"))?;
            for (i, v) in docs.into_iter().enumerate() {
                if v["kind"] != "PagingPolicy" {
                    continue;
                }
                let p: PagingPolicy = serde_json::from_value(v)
                    .map_err(|e| anyhow::anyhow!("{path}: document {}: {e}", i + 1))?;
                p.validate()
                    .map_err(|e| anyhow::anyhow!("{path}: document {}: {e}", i + 1))?;
                if let Some((first, _)) = &found {
                    anyhow::bail!(
                        "{path}: a second kind: PagingPolicy (the first is in {first}); keep one"
                    );
                }
                found = Some((path.clone(), p));
            }
        }
    }
    let mut policy = found.map(|(_, p)| p).unwrap_or_default();
    if let Some(url) = public_url {
        policy.public_url = Some(url.trim_end_matches('/').to_owned());
        policy
            .validate()
            .map_err(|e| anyhow::anyhow!("--public-url: {e}"))?;
    }
    if policy.public_url.is_none() {
        policy.public_url = Some(listening.to_owned());
    }
    Ok(policy)
}
