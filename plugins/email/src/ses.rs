//! Amazon SES v2 `SendEmail` (POST /v2/email/outbound-emails) with the raw MIME message, so
//! SES sends exactly what SMTP would: same headers, same alternatives, same idempotency key.
//! Signing, credentials and AWS's error mapping come from the SDK's `aws` module.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::json;
use tocsin_plugin_sdk::ActionError;
use tocsin_plugin_sdk::aws::Client;
use tocsin_plugin_sdk::http::Request;

use crate::config::SesConfig;
use crate::message::Email;

/// Send `raw` (the built message) and return SES's MessageId.
pub fn send(config: &SesConfig, email: &Email, raw: &[u8]) -> Result<String, ActionError> {
    let client = Client::new("ses", &config.region, config.endpoint_url.as_deref())?;
    let mut destination = serde_json::Map::new();
    for (field, list) in [
        ("ToAddresses", &email.to),
        ("CcAddresses", &email.cc),
        ("BccAddresses", &email.bcc),
    ] {
        if !list.is_empty() {
            let addresses: Vec<&str> = list.iter().map(|m| m.address.as_str()).collect();
            destination.insert(field.into(), json!(addresses));
        }
    }
    let mut body = json!({
        "FromEmailAddress": email.from.address,
        "Destination": destination,
        "Content": { "Raw": { "Data": BASE64.encode(raw) } },
    });
    if let Some(reply_to) = &email.reply_to {
        body["ReplyToAddresses"] = json!([reply_to.address]);
    }
    if let Some(set) = &config.configuration_set {
        body["ConfigurationSetName"] = json!(set);
    }
    let mut req = Request::new(
        "POST",
        &format!("{}/v2/email/outbound-emails", client.endpoint),
    );
    req.headers
        .push(("content-type".into(), "application/json".into()));
    req.body = body.to_string().into_bytes();
    let resp = client.send(req)?;
    let answer: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|e| {
        ActionError::Failed(format!(
            "Amazon SES answered SendEmail with a body that is not JSON ({e}): {}",
            resp.text()
        ))
    })?;
    answer["MessageId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| {
            ActionError::Failed(format!(
                "Amazon SES answered SendEmail without a MessageId: {answer}"
            ))
        })
}
