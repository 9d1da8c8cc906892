//! `console`: writes a notification to the engine log. The default notification channel of a
//! fresh install, so a page is never lost before real channels are configured.

use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::{Action, ActionError, Context, JsonSchema, Level, Plugin, PluginInfo};

struct Console;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// The text to write.
    message: String,
    /// Who the notification is for (a contact alias or address); shown in the log line.
    #[serde(default)]
    recipient: Option<String>,
    /// Optional subject line.
    #[serde(default)]
    subject: Option<String>,
    /// Log level: info (default), warn or error.
    #[serde(default)]
    level: Option<NotifyLevel>,
    /// The page's 6-digit accept code (the notification contract of every channel plugin).
    #[serde(default)]
    accept_code: Option<String>,
    /// A signed link that acknowledges the page.
    #[serde(default)]
    accept_url: Option<String>,
    /// Where a provider would report delivery (unused by the console).
    #[serde(default)]
    callback_url: Option<String>,
    /// The incident the page belongs to.
    #[serde(default)]
    incident_arn: Option<String>,
}

#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum NotifyLevel {
    Info,
    Warn,
    Error,
}

#[derive(Serialize, JsonSchema)]
struct Delivered {
    /// Always true: the line was handed to the engine log.
    delivered: bool,
    /// Identifier of the delivery (the invocation id).
    id: String,
    /// "console" (the notification contract's output).
    provider: String,
    provider_id: String,
    /// DELIVERED: the log is the destination.
    status: String,
}

impl Plugin for Console {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "console",
            env!("CARGO_PKG_VERSION"),
            "Writes notifications to the engine log",
        )
    }

    fn actions() -> Vec<Action> {
        vec![Action::new(
            "notify",
            "Write a notification to the engine log",
            notify,
        )]
    }
}

fn notify(ctx: &Context, input: Notify) -> Result<Delivered, ActionError> {
    let level = match input.level.unwrap_or(NotifyLevel::Info) {
        NotifyLevel::Info => Level::Info,
        NotifyLevel::Warn => Level::Warn,
        NotifyLevel::Error => Level::Error,
    };
    let mut line = String::new();
    if let Some(to) = &input.recipient {
        line.push_str(&format!("to={to} "));
    }
    if let Some(subject) = &input.subject {
        line.push_str(&format!("subject={subject:?} "));
    }
    if let Some(incident) = &input.incident_arn {
        line.push_str(&format!("incident={incident} "));
    }
    line.push_str(&input.message);
    if let Some(code) = &input.accept_code {
        line.push_str(&format!(" [accept code {code}]"));
    }
    if let Some(url) = &input.accept_url {
        line.push_str(&format!(" [acknowledge: {url}]"));
    }
    let _ = &input.callback_url;
    tocsin_plugin_sdk::log(level, &line);
    Ok(Delivered {
        delivered: true,
        id: ctx.invocation_id.clone(),
        provider: "console".into(),
        provider_id: ctx.invocation_id.clone(),
        status: "DELIVERED".into(),
    })
}

tocsin_plugin_sdk::export_plugin!(Console);
