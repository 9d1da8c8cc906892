//! `voice`: pages a phone by calling it through the Twilio Calls API. The call reads the page
//! with inline TwiML and gathers one key: 1 acknowledges, posted by Twilio to the page's
//! callback URL (the engine's inbound voice webhook). Nobody pressing: the page is read again.

#[path = "../../sms/src/twilio.rs"]
mod twilio;
mod twiml;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tocsin_plugin_sdk::{Action, ActionError, Context, Plugin, PluginInfo, config};

struct Voice;

/// The instance configuration (`config:` of the `kind: Plugin` document).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The Account SID (`AC` and 32 hex digits). Authentication uses it with the Auth Token from
    /// the secret `TWILIO_AUTH_TOKEN`, unless `api_key_sid` is set.
    #[schemars(pattern(twilio::ACCOUNT_SID_PATTERN))]
    account_sid: String,
    /// The caller ID: a voice-capable Twilio number of the account (or a verified caller ID)
    /// in E.164 form.
    #[schemars(pattern(r"^\+[1-9][0-9]{1,14}$"))]
    from: String,
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
    /// Text-to-speech voice of `<Say>`, e.g. `Polly.Joanna` or `Google.en-GB-Standard-A`
    /// (Twilio's default voice when absent).
    #[serde(default)]
    #[schemars(length(min = 1, max = 64))]
    voice: Option<String>,
    /// Language of `<Say>`, e.g. `en-US` (default) or `de-DE`.
    #[serde(default)]
    #[schemars(length(min = 2, max = 16))]
    language: Option<String>,
    /// How many times the page is read when nobody presses a key (default 2).
    #[serde(default = "default_readings")]
    #[schemars(range(min = 1, max = 3))]
    readings: u8,
    /// Seconds to wait for a key after each reading (default 5).
    #[serde(default = "default_gather_timeout")]
    #[schemars(range(min = 1, max = 30))]
    gather_timeout_secs: u8,
    /// Seconds to let the phone ring before giving up (Twilio's `Timeout`; its default is 60).
    /// Shorter than the voicemail pickup (often ~25 s) keeps pages out of voicemail.
    #[serde(default)]
    #[schemars(range(min = 5, max = 600))]
    ring_timeout_secs: Option<u16>,
}

fn default_readings() -> u8 {
    2
}

fn default_gather_timeout() -> u8 {
    5
}

/// One page to one phone. The engagement engine sends these fields to every notification
/// channel; `accept_code`, `accept_url` and `incident_arn` do not apply to a call and are
/// ignored (the callee acknowledges by pressing 1).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Notify {
    /// The phone to call, in E.164 form: `+`, country code and number, e.g. `+14155550100`.
    #[schemars(pattern(r"^\+[1-9][0-9]{1,14}$"))]
    recipient: String,
    /// Read first, as the call's introduction (e.g. the incident title).
    #[serde(default)]
    subject: Option<String>,
    /// The page text, read after the subject.
    #[schemars(length(min = 1))]
    message: String,
    /// Not used by voice: pressing 1 acknowledges.
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    accept_code: Option<String>,
    /// Not used by voice.
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    accept_url: Option<String>,
    /// The engine's inbound voice webhook for this page: Twilio posts the pressed key here
    /// (`<Gather action>`) and the call's status (`StatusCallback`). Without it the page is
    /// read but cannot be acknowledged by a key.
    #[serde(default)]
    callback_url: Option<String>,
    /// The incident this page is for (not sent).
    #[serde(default)]
    #[allow(dead_code)] // part of the shared contract; accepted and ignored
    incident_arn: Option<String>,
}

/// Twilio accepted the call.
#[derive(Serialize, JsonSchema)]
struct Sent {
    /// Always `twilio`.
    provider: String,
    /// The Twilio Call SID (`CA…`).
    provider_id: Option<String>,
    /// `SENT`: Twilio queued the call. Whether it was answered and acknowledged arrives later
    /// at the callback URL.
    status: Status,
    /// Twilio's status of the new call, e.g. "Twilio call status `queued`".
    detail: Option<String>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
enum Status {
    Sent,
    #[allow(dead_code)] // the contract's other value; a call is never delivered when created
    Delivered,
}

impl Plugin for Voice {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "voice",
            env!("CARGO_PKG_VERSION"),
            "Pages a phone by voice call through Twilio; pressing 1 acknowledges",
        )
        .config::<Config>()
        // Twilio's API and its regional edges; loopback for a local stand-in (a test double).
        .http(&[
            "https://api.twilio.com",
            "https://*.twilio.com",
            "http://127.0.0.1:*",
            "http://localhost:*",
        ])
        .secrets(&[twilio::AUTH_TOKEN_SECRET, twilio::API_KEY_SECRET])
    }

    fn actions() -> Vec<Action> {
        vec![Action::new(
            "notify",
            "Call a phone and read the page; pressing 1 acknowledges through the callback URL",
            notify,
        )]
    }
}

/// `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` with the page as inline TwiML.
fn notify(ctx: &Context, input: Notify) -> Result<Sent, ActionError> {
    let config: Config = config()?;
    let client = twilio::Client::new(&twilio::Account {
        account_sid: &config.account_sid,
        api_key_sid: config.api_key_sid.as_deref(),
        api_base: config.api_base.as_deref(),
    })?;
    let twiml = twiml::build(&twiml::Page {
        subject: input.subject.as_deref(),
        message: &input.message,
        callback_url: input.callback_url.as_deref(),
        voice: config.voice.as_deref(),
        language: config.language.as_deref(),
        readings: config.readings,
        gather_timeout_secs: config.gather_timeout_secs,
    });
    let ring_timeout = config.ring_timeout_secs.map(|s| s.to_string());
    let mut form = vec![
        ("To", input.recipient.as_str()),
        ("From", config.from.as_str()),
        ("Twiml", twiml.as_str()),
    ];
    if let Some(callback) = &input.callback_url {
        form.push(("StatusCallback", callback));
        form.push(("StatusCallbackMethod", "POST"));
    }
    if let Some(timeout) = &ring_timeout {
        form.push(("Timeout", timeout));
    }
    let created = client.create("Calls", &form, &ctx.invocation_id, "Twilio Calls API")?;
    if matches!(created.status.as_str(), "failed" | "canceled") {
        return Err(ActionError::Failed(format!(
            "Twilio Calls API: call {} is `{}`",
            created.sid, created.status
        )));
    }
    Ok(Sent {
        provider: "twilio".into(),
        detail: Some(format!("Twilio call status `{}`", created.status)),
        provider_id: Some(created.sid),
        status: Status::Sent,
    })
}

tocsin_plugin_sdk::export_plugin!(Voice);
