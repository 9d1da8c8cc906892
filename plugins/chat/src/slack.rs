//! Slack incoming webhooks: `{text, blocks}` with Block Kit
//! (https://api.slack.com/messaging/webhooks). Slack answers 200 `ok`, or an error code as text
//! (`invalid_payload`, `channel_not_found`, `no_service`, …).

use serde_json::{Value, json};

use crate::page::{Page, truncate};

/// Block Kit limits: header text 150 characters, section text 3000, `text` 40000.
const HEADER_CHARS: usize = 150;
const SECTION_CHARS: usize = 3000;
const TEXT_CHARS: usize = 40_000;

pub fn body(page: &Page) -> Value {
    let mut blocks = Vec::new();
    if let Some(title) = &page.title {
        blocks.push(json!({
            "type": "header",
            "text": {"type": "plain_text", "text": truncate(title, HEADER_CHARS), "emoji": true}
        }));
    }
    blocks.push(json!({
        "type": "section",
        "text": {"type": "mrkdwn", "text": truncate(&escape(&page.message), SECTION_CHARS)}
    }));
    if let Some(url) = &page.accept_url {
        blocks.push(json!({
            "type": "actions",
            "elements": [{
                "type": "button",
                "text": {"type": "plain_text", "text": page.accept_label},
                "url": url,
                "style": "primary",
                "action_id": "tocsin_acknowledge"
            }]
        }));
    }
    if let Some(arn) = &page.incident_arn {
        blocks.push(json!({
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": format!("Incident `{}`", escape(arn))}]
        }));
    }
    // `text` is what notifications and clients without blocks show.
    json!({"text": truncate(&escape(&page.one_line()), TEXT_CHARS), "blocks": blocks})
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters; everything else is literal.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("a < b && c > d"), "a &lt; b &amp;&amp; c &gt; d");
    }
}
