//! `chat`: posts incident notifications to a Slack, Microsoft Teams or Mattermost incoming
//! webhook in each provider's documented message format, with the acknowledge link as a button.
//!
//! The webhook URL is a secret (`CHAT_WEBHOOK_URL`): whoever has it can post to the channel. Its
//! host is the operator's choice, so the manifest requests any origin (`"*"`) and the operator's
//! `allow.http` names the one in the URL.

mod mattermost;
mod page;
mod slack;
mod teams;

use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::http::{Request, send};
use tocsin_plugin_sdk::{
    Action, ActionError, Context, JsonSchema, Plugin, PluginInfo, config, now_unix_ms, secret,
};

use crate::page::Page;

/// Secret holding the incoming webhook's URL.
const WEBHOOK_SECRET: &str = "CHAT_WEBHOOK_URL";

struct Chat;

/// Which chat service the webhook belongs to, and how posts look.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `slack`, `teams` (Microsoft Teams: Workflows or Office 365 connector webhooks) or
    /// `mattermost`.
    pub provider: Provider,
    /// Mattermost: the channel to post to when a notification names none (`town-square`,
    /// `@alice`); by default the webhook's own channel.
    #[serde(default)]
    pub channel: Option<String>,
    /// Mattermost: the name posts appear under (when the server allows overriding it).
    #[serde(default)]
    pub username: Option<String>,
    /// Mattermost: the avatar URL of posts (when the server allows overriding it).
    #[serde(default)]
    pub icon_url: Option<String>,
    /// The acknowledge button's label (default `Acknowledge`).
    #[serde(default)]
    pub accept_label: Option<String>,
}

#[derive(Deserialize, Serialize, JsonSchema, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Slack,
    Teams,
    Mattermost,
}

/// A page, as the engagement engine sends it to every notification channel.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// Mattermost: the channel to post to (`town-square`, `@alice`), overriding `config.channel`.
    /// Slack and Teams webhooks are bound to one channel; there it is ignored.
    #[serde(default)]
    recipient: Option<String>,
    /// The post's title (bold first line / card heading).
    #[serde(default)]
    subject: Option<String>,
    /// The page text.
    message: String,
    /// Not used by chat (a code is for SMS, voice and email replies).
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted so every notification channel takes the same input"
    )]
    accept_code: Option<String>,
    /// The signed one-click acknowledge link: a button (Slack, Teams) or a link (Mattermost).
    #[serde(default)]
    accept_url: Option<String>,
    /// Not used by chat (incoming webhooks report nothing back).
    #[serde(default)]
    #[allow(
        dead_code,
        reason = "accepted so every notification channel takes the same input"
    )]
    callback_url: Option<String>,
    /// The incident, shown under the message; default the calling incident's ARN.
    #[serde(default)]
    incident_arn: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum Status {
    /// The provider accepted the post (webhooks do not report delivery).
    Sent,
}

#[derive(Serialize, JsonSchema)]
struct Sent {
    /// `slack`, `teams` or `mattermost`.
    provider: Provider,
    /// Incoming webhooks return no message id: always null.
    provider_id: Option<String>,
    status: Status,
    /// The provider's answer (`ok`, `1`, or the HTTP status when the body is empty).
    detail: Option<String>,
}

impl Plugin for Chat {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "chat",
            env!("CARGO_PKG_VERSION"),
            "Posts incident notifications to Slack, Microsoft Teams or Mattermost incoming webhooks",
        )
        .config::<Config>()
        // The webhook URL is a secret and its host the operator's choice (a Slack or Teams
        // host, or a self-hosted Mattermost): `allow.http` names the one origin to reach.
        .http(&["*"])
        .secrets(&[WEBHOOK_SECRET])
    }

    fn actions() -> Vec<Action> {
        vec![Action::new(
            "notify",
            "Post a page to the chat channel behind the webhook, with an acknowledge button",
            notify,
        )]
    }
}

fn notify(ctx: &Context, input: Notify) -> Result<Sent, ActionError> {
    let config: Config = config()?;
    let url = webhook_url()?;
    let page = Page {
        title: input.subject.filter(|s| !s.trim().is_empty()),
        message: input.message,
        accept_url: input.accept_url.filter(|u| !u.is_empty()),
        incident_arn: input.incident_arn.or_else(|| ctx.incident_arn.clone()),
        channel: input
            .recipient
            .filter(|r| !r.trim().is_empty())
            .or_else(|| config.channel.clone()),
        accept_label: config
            .accept_label
            .clone()
            .unwrap_or_else(|| "Acknowledge".into()),
    };
    let (body, what) = match config.provider {
        Provider::Slack => (slack::body(&page), "Slack incoming webhook"),
        Provider::Teams => (teams::body(&page), "Microsoft Teams webhook"),
        Provider::Mattermost => (
            mattermost::body(&page, &config),
            "Mattermost incoming webhook",
        ),
    };
    let mut req = Request::new("POST", &url);
    req.headers
        .push(("content-type".into(), "application/json".into()));
    req.body = body.to_string().into_bytes();
    let resp = send(&req)?.check(what, now_unix_ms())?;
    let text = resp.text();
    if config.provider == Provider::Teams
        && let Some(err) = teams::delivery_failure(&text)
    {
        return Err(err);
    }
    let text = text.trim();
    Ok(Sent {
        provider: config.provider,
        provider_id: None,
        status: Status::Sent,
        detail: Some(if text.is_empty() {
            format!("HTTP {}", resp.status)
        } else {
            page::truncate(text, 200)
        }),
    })
}

/// The webhook URL from the secret; checked without ever quoting it (it is the credential).
fn webhook_url() -> Result<String, ActionError> {
    let url = secret(WEBHOOK_SECRET)?;
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(ActionError::Failed(format!(
            "the secret `{WEBHOOK_SECRET}` is not an http(s) URL; set it to the incoming webhook's URL"
        )));
    }
    Ok(url.to_owned())
}

tocsin_plugin_sdk::export_plugin!(Chat);
