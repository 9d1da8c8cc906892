//! Mattermost incoming webhooks: `{text, channel?, username?, icon_url?, attachments?}`
//! (https://developers.mattermost.com/integrate/webhooks/incoming/). Mattermost answers 200 `ok`;
//! errors come as JSON with a `message`.

use serde_json::{Value, json};

use crate::Config;
use crate::page::Page;

/// Red: the attachment bar of a page.
const PAGE_COLOR: &str = "#D0021B";

pub fn body(page: &Page, config: &Config) -> Value {
    let mut text = String::new();
    if let Some(title) = &page.title {
        text.push_str("#### ");
        text.push_str(title);
        text.push('\n');
    }
    text.push_str(&page.message);
    let mut body = json!({"text": text});
    for (field, value) in [
        ("channel", page.channel.as_ref()),
        ("username", config.username.as_ref()),
        ("icon_url", config.icon_url.as_ref()),
    ] {
        if let Some(v) = value {
            body[field] = json!(v);
        }
    }
    // The acknowledge link and the incident in an attachment: a link title and a field.
    // (Attachment buttons would POST to an integration, not open the signed link.)
    if page.accept_url.is_some() || page.incident_arn.is_some() {
        let mut attachment = json!({"fallback": page.one_line(), "color": PAGE_COLOR});
        if let Some(url) = &page.accept_url {
            attachment["title"] = json!(page.accept_label);
            attachment["title_link"] = json!(url);
        }
        if let Some(arn) = &page.incident_arn {
            attachment["fields"] = json!([{"short": false, "title": "Incident", "value": arn}]);
        }
        body["attachments"] = json!([attachment]);
    }
    body
}
