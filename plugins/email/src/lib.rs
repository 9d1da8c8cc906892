//! `email`: pages and messages by email, through an SMTP relay (STARTTLS or implicit TLS, AUTH
//! PLAIN / LOGIN) or Amazon SES v2.
//!
//! The same MIME message goes out either way (built in `message`): text and HTML alternatives,
//! the idempotency key in `X-Tocsin-Idempotency-Key` and a Message-ID derived from it.

mod address;
mod config;
mod message;
mod ses;
mod smtp;
mod tcp;
mod tls;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::{
    Action, ActionError, Context, JsonSchema, Plugin, PluginInfo, aws, now_unix_ms, secret,
};

use address::Mailbox;
use config::{Config, Provider};
use message::{Email, Page};

/// The secret holding the SMTP password (for `smtp.username`).
const SMTP_PASSWORD_SECRET: &str = "SMTP_PASSWORD";

struct EmailPlugin;

/// A page to one person, as the engagement engine sends it.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// The email address to page: `alice@example.com` or `Alice <alice@example.com>`.
    recipient: String,
    /// Subject line; the first line of `message` when absent. Any language: encoded per RFC 2047.
    #[serde(default)]
    subject: Option<String>,
    /// The page text.
    message: String,
    /// Code the responder can reply with to acknowledge; shown in the email.
    #[serde(default)]
    accept_code: Option<String>,
    /// Signed one-click acknowledge link; shown as a link and an "Acknowledge" button.
    #[serde(default)]
    accept_url: Option<String>,
    /// Not used by email (SMTP has no delivery callback); accepted for the common contract.
    #[serde(default)]
    #[allow(dead_code)]
    callback_url: Option<String>,
    /// The incident, shown in the email and sent in the `X-Tocsin-Incident` header.
    #[serde(default)]
    incident_arn: Option<String>,
}

/// An email with full control over recipients, sender and bodies.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SendEmail {
    /// Recipients (`a@example.com` or `Name <a@example.com>`); at least one.
    #[schemars(length(min = 1))]
    to: Vec<String>,
    /// Copy recipients.
    #[serde(default)]
    cc: Vec<String>,
    /// Blind copy recipients: in the envelope only, never in the headers.
    #[serde(default)]
    bcc: Vec<String>,
    /// Sender; the configured `from` when absent. The relay or SES must allow it.
    #[serde(default)]
    from: Option<String>,
    /// Reply-To; the configured `reply_to` when absent.
    #[serde(default)]
    reply_to: Option<String>,
    /// Subject line (any language: encoded per RFC 2047).
    subject: String,
    /// Plain-text body. Give `text`, `html` or both (then both are sent as alternatives).
    #[serde(default)]
    text: Option<String>,
    /// HTML body.
    #[serde(default)]
    html: Option<String>,
}

/// Whether the provider accepted the message.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum Status {
    /// Accepted by the relay or SES for delivery (email has no delivery receipt here).
    Sent,
}

/// What the provider answered.
#[derive(Serialize, JsonSchema)]
struct Sent {
    /// `smtp` or `ses`.
    provider: String,
    /// SMTP: the Message-ID header (without `<>`); SES: the SES MessageId.
    provider_id: Option<String>,
    status: Status,
    /// SMTP: the server's final reply (e.g. `250 2.0.0 Ok: queued as 4Bq1`); SES: the
    /// Message-ID header of the message sent.
    detail: Option<String>,
}

impl Plugin for EmailPlugin {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "email",
            env!("CARGO_PKG_VERSION"),
            "Sends pages and messages by email through an SMTP relay (STARTTLS / TLS, AUTH) or Amazon SES",
        )
        .config::<Config>()
        // The relay is the operator's choice: they grant its host:port.
        .tcp(&["*:*"])
        // SES regional, FIPS and VPC endpoints; loopback for a local stand-in (moto).
        .http(&[
            "https://*.amazonaws.com",
            "https://*.amazonaws.com.cn",
            "http://127.0.0.1:*",
            "http://localhost:*",
        ])
        .secrets(&[
            SMTP_PASSWORD_SECRET,
            aws::SECRETS[0],
            aws::SECRETS[1],
            aws::SECRETS[2],
        ])
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new(
                "notify",
                "Email a page: the message, the accept code to reply with and an Acknowledge button",
                notify,
            ),
            Action::new(
                "send",
                "Send an email: recipients, sender, subject, text and/or HTML",
                send,
            ),
        ]
    }
}

fn notify(ctx: &Context, input: Notify) -> Result<Sent, ActionError> {
    let config: Config = tocsin_plugin_sdk::config()?;
    let recipient = Mailbox::parse(&input.recipient)
        .map_err(|e| ActionError::InvalidInput(format!("recipient {e}")))?;
    if let Some(url) = &input.accept_url {
        check_link(url)?;
    }
    let page = Page {
        message: &input.message,
        accept_code: input.accept_code.as_deref(),
        accept_url: input.accept_url.as_deref(),
        incident_arn: input.incident_arn.as_deref(),
    };
    let subject = input
        .subject
        .clone()
        .unwrap_or_else(|| page.default_subject());
    let email = Email {
        from: config.sender()?,
        reply_to: config.reply_to()?,
        to: vec![recipient],
        cc: vec![],
        bcc: vec![],
        subject,
        text: Some(page.text()),
        html: Some(page.html()),
        idempotency_key: ctx.invocation_id.clone(),
        incident_arn: input.incident_arn.clone().or(ctx.incident_arn.clone()),
    };
    deliver(ctx, &config, &email)
}

fn send(ctx: &Context, input: SendEmail) -> Result<Sent, ActionError> {
    let config: Config = tocsin_plugin_sdk::config()?;
    if input.to.is_empty() {
        return Err(ActionError::InvalidInput(
            "`to` needs at least one recipient".into(),
        ));
    }
    if input.text.is_none() && input.html.is_none() {
        return Err(ActionError::InvalidInput(
            "give `text`, `html` or both".into(),
        ));
    }
    let parse_all = |field: &str, list: &[String]| {
        list.iter()
            .map(|a| {
                Mailbox::parse(a).map_err(|e| ActionError::InvalidInput(format!("`{field}`: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let from = match &input.from {
        Some(from) => {
            Mailbox::parse(from).map_err(|e| ActionError::InvalidInput(format!("`from`: {e}")))?
        }
        None => config.sender()?,
    };
    let reply_to = match &input.reply_to {
        Some(r) => Some(
            Mailbox::parse(r).map_err(|e| ActionError::InvalidInput(format!("`reply_to`: {e}")))?,
        ),
        None => config.reply_to()?,
    };
    let email = Email {
        from,
        reply_to,
        to: parse_all("to", &input.to)?,
        cc: parse_all("cc", &input.cc)?,
        bcc: parse_all("bcc", &input.bcc)?,
        subject: input.subject,
        text: input.text,
        html: input.html,
        idempotency_key: ctx.invocation_id.clone(),
        incident_arn: ctx.incident_arn.clone(),
    };
    deliver(ctx, &config, &email)
}

/// An acknowledge link must be a web link: anything else (`javascript:`) is refused.
fn check_link(url: &str) -> Result<(), ActionError> {
    let lower = url.to_ascii_lowercase();
    if (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        Ok(())
    } else {
        Err(ActionError::InvalidInput(format!(
            "accept_url `{url}` is not an http(s) URL"
        )))
    }
}

fn deliver(ctx: &Context, config: &Config, email: &Email) -> Result<Sent, ActionError> {
    let now_ms = now_unix_ms();
    let built = email.build(i64::try_from(now_ms / 1000).unwrap_or(i64::MAX));
    match config.provider {
        Provider::Smtp => {
            let smtp = config.smtp(&email.from)?;
            let password = match smtp.username {
                Some(_) => Some(secret(SMTP_PASSWORD_SECRET)?),
                None => None,
            };
            // Give up a little before the host's deadline so the error says what was slow.
            let left = Duration::from_millis(
                ctx.deadline_unix_ms
                    .saturating_sub(now_ms)
                    .saturating_sub(500),
            );
            let settings = smtp::Settings {
                host: smtp.host,
                port: smtp.port,
                security: smtp.security,
                login: smtp.username.zip(password.as_deref()),
                auth: smtp.auth,
                hello_name: &smtp.hello_name,
                extra_ca_pem: smtp.extra_ca_pem,
                timeout: smtp.timeout.min(left).max(Duration::from_millis(100)),
            };
            let reply = smtp::submit(
                &settings,
                &email.from.address,
                &email.recipients(),
                &built.bytes,
            )?;
            Ok(Sent {
                provider: "smtp".into(),
                provider_id: Some(built.message_id),
                status: Status::Sent,
                detail: Some(reply),
            })
        }
        Provider::Ses => {
            let ses_id = ses::send(config.ses()?, email, &built.bytes)?;
            Ok(Sent {
                provider: "ses".into(),
                provider_id: Some(ses_id),
                status: Status::Sent,
                detail: Some(format!("Message-ID <{}>", built.message_id)),
            })
        }
    }
}

tocsin_plugin_sdk::export_plugin!(EmailPlugin);
