//! Microsoft Teams incoming webhooks (Workflows or the older Office 365 connector): a message
//! with one Adaptive Card attachment
//! (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
//! The connector answers 200 `1`; Workflows answer 202 with no body. The connector also reports
//! some failures as 200 with a text that starts `Webhook message delivery failed`.

use serde_json::{Value, json};
use tocsin_plugin_sdk::ActionError;

use crate::page::Page;

pub fn body(page: &Page) -> Value {
    let mut card_body = Vec::new();
    if let Some(title) = &page.title {
        card_body.push(json!({
            "type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true
        }));
    }
    card_body.push(json!({"type": "TextBlock", "text": page.message, "wrap": true}));
    if let Some(arn) = &page.incident_arn {
        card_body.push(json!({"type": "FactSet", "facts": [{"title": "Incident", "value": arn}]}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": card_body,
    });
    if let Some(url) = &page.accept_url {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": page.accept_label, "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card
        }]
    })
}

/// A 2xx whose text reports a failed delivery is a failure (retryable when Teams was throttled).
pub fn delivery_failure(body: &str) -> Option<ActionError> {
    let text = body.trim();
    if !text.starts_with("Webhook message delivery failed") {
        return None;
    }
    let message = format!("Microsoft Teams webhook: {text}");
    Some(if text.contains("429") {
        ActionError::Retryable(message)
    } else {
        ActionError::Failed(message)
    })
}
