//! `sms`: pages a phone by text message through Twilio (Messages API) or Amazon SNS (Publish
//! to a phone number). One action, `notify`, with the notification contract every channel
//! plugin shares; the reply code and the status-callback URL let acknowledgements and delivery
//! receipts come back to the engine.

mod body;
mod sns;
mod twilio;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::{Action, ActionError, Context, Plugin, PluginInfo, aws, config};

struct Sms;

/// The instance configuration (`config:` of the `kind: Plugin` document).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend(
    "if" = {"properties": {"provider": {"const": "sns"}}, "required": ["provider"]},
    "then" = {"required": ["sns"]},
    "else" = {"required": ["twilio"]}
))]
struct Config {
    /// Which service sends the texts. The matching section (`twilio:` or `sns:`) is required.
    #[serde(default)]
    provider: Provider,
    /// Settings for `provider: twilio`.
    #[serde(default)]
    twilio: Option<TwilioConfig>,
    /// Settings for `provider: sns`.
    #[serde(default)]
    sns: Option<sns::SnsConfig>,
    /// Longest text sent, in characters; a longer message is cut (ending in `...`) so the reply
    /// instruction still fits. Carriers split texts into segments of 153 characters (67 when
    /// the text has any character outside the GSM alphabet, such as an emoji) and bill each
    /// segment: 306 caps a page at two segments. Default and maximum 1600, the most Twilio
    /// and SNS accept.
    #[serde(default = "default_max_length")]
    #[schemars(range(min = 70, max = 1600))]
    max_length: u16,
}

fn default_max_length() -> u16 {
    1600
}

#[derive(Deserialize, JsonSchema, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Provider {
    /// Twilio Programmable Messaging (the default).
    #[default]
    Twilio,
    /// Amazon SNS, publishing directly to a phone number.
    Sns,
}

/// Twilio account and sender.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("anyOf" = [{"required": ["from"]}, {"required": ["messaging_service_sid"]}]))]
struct TwilioConfig {
    /// The Account SID (`AC` and 32 hex digits). Authentication uses it with the Auth Token from
    /// the secret `TWILIO_AUTH_TOKEN`, unless `api_key_sid` is set.
    #[schemars(pattern(twilio::ACCOUNT_SID_PATTERN))]
    account_sid: String,
    /// The sender: a Twilio phone number of the account in E.164 form, a short code, or an
    /// alphanumeric sender ID. Give this or `messaging_service_sid`.
    #[serde(default)]
    from: Option<String>,
    /// A Messaging Service (`MG…`) that picks the sender from its pool; used instead of
    /// `from` when both are set.
    #[serde(default)]
    #[schemars(pattern("^MG[0-9a-fA-F]{32}$"))]
    messaging_service_sid: Option<String>,
    /// Authenticate with this API key (`SK…`) and the secret `TWILIO_API_KEY_SECRET` instead of
    /// the account's Auth Token.
    #[serde(default)]
    #[schemars(pattern(twilio::API_KEY_SID_PATTERN))]
    api_key_sid: Option<String>,
    /// Base URL of the REST API (default `https://api.twilio.com`), e.g. a regional edge such as
    /// `https://api.dublin.ie1.twilio.com`. Its origin must be granted in `allow.http`.
    #[serde(default)]
    #[schemars(pattern("^https?://[^/?#]+/?$"))]
    api_base: Option<String>,
}

/// One page to one phone. The engagement engine sends these fields to every notification
/// channel; `subject`, `accept_url` and `incident_arn` do not apply to a text and are ignored.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// The phone to text, in E.164 form: `+`, country code and number, e.g. `+14155550100`.
    #[schemars(pattern(r"^\+[1-9][0-9]{1,14}$"))]
    recipient: String,
    /// Not sent by SMS (the page text is `message`).
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    subject: Option<String>,
    /// The page text.
    #[schemars(length(min = 1))]
    message: String,
    /// The code the responder texts back to acknowledge; adds "Reply <code> to acknowledge".
    #[serde(default)]
    #[schemars(length(min = 1, max = 32))]
    accept_code: Option<String>,
    /// Not used by SMS: the reply code acknowledges, and a long signed link would cost segments.
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    accept_url: Option<String>,
    /// Where the provider posts delivery status for this page (Twilio `StatusCallback`; the
    /// engine's inbound webhook). SNS reports delivery through CloudWatch Logs instead.
    #[serde(default)]
    callback_url: Option<String>,
    /// The incident this page is for (not sent).
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    incident_arn: Option<String>,
}

/// The provider accepted the text.
#[derive(Serialize, JsonSchema)]
struct Sent {
    /// `twilio` or `sns`.
    provider: String,
    /// The provider's id of the message: the Twilio Message SID (`SM…`) or the SNS MessageId.
    provider_id: Option<String>,
    /// `SENT` once the provider accepted the message; `DELIVERED` if it already reports
    /// delivery.
    status: Status,
    /// What the provider said, e.g. Twilio's status and segment count.
    detail: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum Status {
    Sent,
    Delivered,
}

impl Plugin for Sms {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "sms",
            env!("CARGO_PKG_VERSION"),
            "Pages a phone by text message through Twilio or Amazon SNS",
        )
        .config::<Config>()
        // Twilio's API and its regional edges; SNS regional, FIPS and VPC endpoints; loopback
        // for a local stand-in (a test double or moto). The operator grants the one in use.
        .http(&[
            "https://api.twilio.com",
            "https://*.twilio.com",
            "https://*.amazonaws.com",
            "https://*.amazonaws.com.cn",
            "http://127.0.0.1:*",
            "http://localhost:*",
        ])
        .secrets(&[
            twilio::AUTH_TOKEN_SECRET,
            twilio::API_KEY_SECRET,
            aws::SECRETS[0],
            aws::SECRETS[1],
            aws::SECRETS[2],
        ])
    }

    fn actions() -> Vec<Action> {
        vec![Action::new(
            "notify",
            "Text a page to a phone; the reply code and the status callback come back to the engine",
            notify,
        )]
    }
}

fn notify(ctx: &Context, input: Notify) -> Result<Sent, ActionError> {
    let config: Config = config()?;
    let text = body::compose(
        &input.message,
        input.accept_code.as_deref(),
        usize::from(config.max_length),
    );
    match config.provider {
        Provider::Twilio => {
            let twilio = config
                .twilio
                .as_ref()
                .ok_or_else(|| missing_section("twilio"))?;
            send_twilio(ctx, twilio, &input, &text)
        }
        Provider::Sns => {
            let sns = config.sns.as_ref().ok_or_else(|| missing_section("sns"))?;
            let message_id = sns::publish(sns, &input.recipient, &text)?;
            Ok(Sent {
                provider: "sns".into(),
                provider_id: Some(message_id),
                status: Status::Sent,
                detail: Some(format!("published by SNS in {}", sns.region)),
            })
        }
    }
}

fn missing_section(name: &str) -> ActionError {
    ActionError::Failed(format!(
        "plugin configuration has `provider: {name}` but no `{name}:` section"
    ))
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.
fn send_twilio(
    ctx: &Context,
    config: &TwilioConfig,
    input: &Notify,
    text: &str,
) -> Result<Sent, ActionError> {
    let client = twilio::Client::new(&twilio::Account {
        account_sid: &config.account_sid,
        api_key_sid: config.api_key_sid.as_deref(),
        api_base: config.api_base.as_deref(),
    })?;
    let mut form = vec![("To", input.recipient.as_str())];
    match (&config.messaging_service_sid, &config.from) {
        (Some(service), _) => form.push(("MessagingServiceSid", service)),
        (None, Some(from)) => form.push(("From", from)),
        (None, None) => {
            return Err(ActionError::Failed(
                "plugin configuration needs `twilio.from` or `twilio.messaging_service_sid`".into(),
            ));
        }
    }
    form.push(("Body", text));
    if let Some(callback) = &input.callback_url {
        form.push(("StatusCallback", callback));
    }
    let created = client.create("Messages", &form, &ctx.invocation_id, "Twilio Messages API")?;
    let segments = created
        .document
        .get("num_segments")
        .and_then(|v| v.as_str())
        .map(|n| format!(", {n} segment(s)"))
        .unwrap_or_default();
    let status = match created.status.as_str() {
        "delivered" | "read" => Status::Delivered,
        "failed" | "undelivered" | "canceled" => {
            let reason = created
                .document
                .get("error_message")
                .and_then(|v| v.as_str())
                .unwrap_or("no reason given");
            return Err(ActionError::Failed(format!(
                "Twilio Messages API: message {} is `{}`: {reason}",
                created.sid, created.status
            )));
        }
        _ => Status::Sent,
    };
    Ok(Sent {
        provider: "twilio".into(),
        detail: Some(format!("Twilio status `{}`{segments}", created.status)),
        provider_id: Some(created.sid),
        status,
    })
}

tocsin_plugin_sdk::export_plugin!(Sms);
