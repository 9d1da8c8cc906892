//! The instance configuration (`config:` of the operator's `kind: Plugin` document).

use serde::Deserialize;
use std::time::Duration;
use tocsin_plugin_sdk::{ActionError, JsonSchema};

use crate::address::Mailbox;

/// Email plugin configuration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which service sends the mail: `smtp` (the default; needs the `smtp` section and a TCP
    /// grant for the relay) or `ses` (Amazon SES v2 over HTTPS; needs the `ses` section).
    #[serde(default)]
    pub provider: Provider,
    /// Sender of every message: `tocsin@example.com` or `Tocsin <tocsin@example.com>`. The relay
    /// or SES must allow this sender.
    pub from: String,
    /// Where replies go (e.g. the mailbox whose replies carry accept codes back to Tocsin).
    #[serde(default)]
    pub reply_to: Option<String>,
    /// SMTP relay settings (provider `smtp`).
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// Amazon SES settings (provider `ses`).
    #[serde(default)]
    pub ses: Option<SesConfig>,
}

/// The sending service.
#[derive(Deserialize, JsonSchema, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// SMTP submission to a relay.
    #[default]
    Smtp,
    /// Amazon SES v2 SendEmail.
    Ses,
}

/// An SMTP relay. The password is the secret `SMTP_PASSWORD`, never configuration.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// Host name or IP address of the relay, e.g. `smtp.example.com`. Grant `<host>:<port>` in
    /// `allow.tcp`.
    pub host: String,
    /// TCP port; default 587 for `starttls`, 465 for `tls`, 25 for `none`.
    #[serde(default)]
    pub port: Option<u16>,
    /// `starttls` (default): plain connection upgraded with STARTTLS, which the server must
    /// offer; `tls`: TLS from the first byte (port 465, "SMTPS"); `none`: no encryption, only
    /// for a relay on a trusted network, and never with a password.
    #[serde(default)]
    pub security: Security,
    /// User name for SMTP AUTH; when set the secret `SMTP_PASSWORD` must be granted. Leave out
    /// for a relay that needs no login.
    #[serde(default)]
    pub username: Option<String>,
    /// AUTH mechanism: `auto` (default: PLAIN when offered, else LOGIN), `plain` or `login`.
    #[serde(default)]
    pub auth: AuthMechanism,
    /// Name sent with EHLO (a domain name); default the domain of `from`.
    #[serde(default)]
    pub hello_name: Option<String>,
    /// Extra trusted CA certificates in PEM, for a relay with an internal CA. The public
    /// Mozilla roots are always trusted; certificates are always verified.
    #[serde(default)]
    pub extra_ca_pem: Option<String>,
    /// Connect timeout and the longest wait for any single server reply, in milliseconds
    /// (default 10000). The call's own deadline still applies.
    #[serde(default)]
    pub timeout_ms: Option<u32>,
}

/// How the SMTP connection is encrypted.
#[derive(Deserialize, JsonSchema, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Upgrade with STARTTLS (RFC 3207); fails when the server does not offer it.
    #[default]
    StartTls,
    /// Implicit TLS (RFC 8314), usually port 465.
    Tls,
    /// No encryption.
    None,
}

/// SMTP AUTH mechanism.
#[derive(Deserialize, JsonSchema, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum AuthMechanism {
    /// PLAIN when the server offers it, else LOGIN.
    #[default]
    Auto,
    /// AUTH PLAIN (RFC 4616).
    Plain,
    /// AUTH LOGIN (the widespread non-standard mechanism).
    Login,
}

/// Amazon SES v2. Credentials are the secrets `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`
/// and optionally `AWS_SESSION_TOKEN`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SesConfig {
    /// AWS region, e.g. `eu-west-1`.
    pub region: String,
    /// Endpoint instead of `https://email.<region>.amazonaws.com` (a VPC endpoint, a local
    /// stand-in). Its origin must be granted in `allow.http`.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// SES configuration set for event publishing (deliveries, bounces, complaints).
    #[serde(default)]
    pub configuration_set: Option<String>,
}

/// The checked configuration of an SMTP relay.
pub struct Smtp<'a> {
    pub host: &'a str,
    pub port: u16,
    pub security: Security,
    pub username: Option<&'a str>,
    pub auth: AuthMechanism,
    pub hello_name: String,
    pub extra_ca_pem: Option<&'a str>,
    pub timeout: Duration,
}

impl Config {
    pub fn sender(&self) -> Result<Mailbox, ActionError> {
        Mailbox::parse(&self.from).map_err(|e| config_error(&format!("`from`: {e}")))
    }

    pub fn reply_to(&self) -> Result<Option<Mailbox>, ActionError> {
        self.reply_to
            .as_deref()
            .map(Mailbox::parse)
            .transpose()
            .map_err(|e| config_error(&format!("`reply_to`: {e}")))
    }

    pub fn smtp(&self, sender: &Mailbox) -> Result<Smtp<'_>, ActionError> {
        let smtp = self.smtp.as_ref().ok_or_else(|| {
            config_error("provider `smtp` needs an `smtp` section with at least `host`")
        })?;
        if smtp.host.is_empty() || smtp.host.chars().any(|c| c.is_whitespace() || c == '/') {
            return Err(config_error(&format!(
                "`smtp.host` `{}` is not a host name or IP address",
                smtp.host
            )));
        }
        if smtp.security == Security::None && smtp.username.is_some() {
            return Err(config_error(
                "`smtp.username` with `security: none` would send the password in clear; use `starttls` or `tls`",
            ));
        }
        let hello_name = smtp
            .hello_name
            .clone()
            .unwrap_or_else(|| sender.domain().to_owned());
        if hello_name.is_empty()
            || !hello_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.[]:".contains(c))
        {
            return Err(config_error(&format!(
                "`smtp.hello_name` `{hello_name}` is not a domain name"
            )));
        }
        let port = smtp.port.unwrap_or(match smtp.security {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        });
        Ok(Smtp {
            host: &smtp.host,
            port,
            security: smtp.security,
            username: smtp.username.as_deref(),
            auth: smtp.auth,
            hello_name,
            extra_ca_pem: smtp.extra_ca_pem.as_deref(),
            timeout: Duration::from_millis(u64::from(smtp.timeout_ms.unwrap_or(10_000))),
        })
    }

    pub fn ses(&self) -> Result<&SesConfig, ActionError> {
        self.ses
            .as_ref()
            .ok_or_else(|| config_error("provider `ses` needs a `ses` section with `region`"))
    }
}

fn config_error(message: &str) -> ActionError {
    ActionError::Failed(format!("email plugin configuration: {message}"))
}
