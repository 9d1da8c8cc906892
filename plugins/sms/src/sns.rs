//! Amazon SNS `Publish` straight to a phone number (Query API, Signature Version 4 by the SDK's
//! `aws` module). SNS has no idempotency token for SMS: a retried attempt may text twice.

use schemars::JsonSchema;
use serde::Deserialize;
use tocsin_plugin_sdk::aws;
use tocsin_plugin_sdk::{ActionError, secret};

/// Region, endpoint and SMS attributes.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// The AWS region that sends the texts, e.g. `eu-west-1` (SMS is not offered in every
    /// region). Credentials come from the secrets `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY`, plus `AWS_SESSION_TOKEN` for temporary credentials (key ids
    /// starting with `ASIA`).
    #[schemars(pattern("^[a-z0-9-]+$"))]
    pub region: String,
    /// Endpoint instead of `https://sns.{region}.amazonaws.com`, e.g. a VPC endpoint or a local
    /// stand-in. Its origin must be granted in `allow.http`.
    #[serde(default)]
    #[schemars(pattern("^https?://"))]
    pub endpoint_url: Option<String>,
    /// `Transactional` (default: critical messages, higher delivery priority) or `Promotional`
    /// (cheaper); sent as the `AWS.SNS.SMS.SMSType` attribute.
    #[serde(default)]
    pub sms_type: SmsType,
    /// Alphanumeric sender ID shown where carriers support it (`AWS.SNS.SMS.SenderID`).
    #[serde(default)]
    #[schemars(pattern("^[A-Za-z0-9]{1,11}$"))]
    pub sender_id: Option<String>,
    /// The number to send from, in E.164 form (`AWS.MM.SMS.OriginationNumber`); SNS picks one
    /// of the account's numbers when absent.
    #[serde(default)]
    #[schemars(pattern(r"^\+[1-9][0-9]{1,14}$"))]
    pub origination_number: Option<String>,
}

#[derive(Deserialize, JsonSchema, Default, Clone, Copy)]
pub enum SmsType {
    #[default]
    Transactional,
    Promotional,
}

/// The API version of the SNS Query API.
const VERSION: &str = "2010-03-31";

/// Publish `text` to `phone`; returns SNS's MessageId.
pub fn publish(config: &SnsConfig, phone: &str, text: &str) -> Result<String, ActionError> {
    let client = aws::Client {
        service: "sns".into(),
        region: config.region.clone(),
        endpoint: aws::endpoint("sns", &config.region, config.endpoint_url.as_deref())?,
        credentials: credentials()?,
    };
    let sms_type = match config.sms_type {
        SmsType::Transactional => "Transactional",
        SmsType::Promotional => "Promotional",
    };
    let mut attributes = vec![("AWS.SNS.SMS.SMSType", sms_type)];
    if let Some(sender) = &config.sender_id {
        attributes.push(("AWS.SNS.SMS.SenderID", sender));
    }
    if let Some(number) = &config.origination_number {
        attributes.push(("AWS.MM.SMS.OriginationNumber", number));
    }
    // MessageAttributes.entry.N.{Name, Value.DataType, Value.StringValue}, N from 1.
    let mut flattened: Vec<(String, &str)> = Vec::new();
    for (n, (name, value)) in attributes.iter().enumerate() {
        let prefix = format!("MessageAttributes.entry.{}", n + 1);
        flattened.push((format!("{prefix}.Name"), name));
        flattened.push((format!("{prefix}.Value.DataType"), "String"));
        flattened.push((format!("{prefix}.Value.StringValue"), value));
    }
    let mut params = vec![("PhoneNumber", phone), ("Message", text)];
    params.extend(flattened.iter().map(|(k, v)| (k.as_str(), *v)));
    let xml = client.query("Publish", VERSION, &params)?;
    aws::xml_text(&xml, "MessageId").ok_or_else(|| {
        ActionError::Failed(format!(
            "AWS sns Publish answered without a MessageId: {}",
            xml.chars().take(300).collect::<String>()
        ))
    })
}

/// The access key from the granted secrets. The session token is asked for only with a
/// temporary key (STS key ids start with `ASIA`, long-term ones with `AKIA`): asking for a
/// secret that is not granted records a denial, and the host then reports any later error of
/// the call (a throttle, a bad number) as that denial instead.
fn credentials() -> Result<aws::Credentials, ActionError> {
    let access_key_id = secret(aws::SECRETS[0])?;
    let secret_access_key = secret(aws::SECRETS[1])?;
    let access_key_id = access_key_id.trim();
    let session_token = if access_key_id.starts_with("ASIA") {
        Some(secret(aws::SECRETS[2])?)
    } else {
        None
    };
    Ok(aws::Credentials::new(
        access_key_id,
        secret_access_key.trim(),
        session_token.as_deref().map(str::trim),
    ))
}
