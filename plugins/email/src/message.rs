//! The message: MIME with mail-builder (multipart/alternative text + HTML, RFC 2047 subjects,
//! quoted-printable or base64 bodies so no line is too long), plus Tocsin's headers.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use sha2::{Digest, Sha256};

use crate::address::Mailbox;

/// The header carrying the call's idempotency key, so a receiver (or a human) can tell a
/// retried delivery from a new page.
pub const IDEMPOTENCY_HEADER: &str = "X-Tocsin-Idempotency-Key";

/// One email to send.
pub struct Email {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    /// Envelope only: never written into the headers.
    pub bcc: Vec<Mailbox>,
    pub subject: String,
    pub text: Option<String>,
    pub html: Option<String>,
    pub idempotency_key: String,
    pub incident_arn: Option<String>,
}

/// The RFC 5322 text of an [`Email`] and its Message-ID (without angle brackets).
pub struct Built {
    pub message_id: String,
    pub bytes: Vec<u8>,
}

impl Email {
    /// Every envelope recipient once, in order: To, Cc, Bcc.
    pub fn recipients(&self) -> Vec<String> {
        let mut all: Vec<String> = Vec::new();
        for m in self.to.iter().chain(&self.cc).chain(&self.bcc) {
            if !all.iter().any(|a| a.eq_ignore_ascii_case(&m.address)) {
                all.push(m.address.clone());
            }
        }
        all
    }

    /// The message as sent. The Message-ID derives from the idempotency key, so a retry of the
    /// same call carries the same Message-ID and receivers can drop the duplicate.
    pub fn build(&self, now_unix_secs: i64) -> Built {
        let message_id = message_id(&self.idempotency_key, self.from.domain());
        let mut builder = MessageBuilder::new()
            .from(mailbox(&self.from))
            .to(list(&self.to))
            .subject(Text::new(one_line(&self.subject)))
            .date(now_unix_secs)
            .message_id(message_id.clone())
            // RFC 3834: vacation responders must not answer a page; people still can.
            .header("Auto-Submitted", Raw::new("auto-generated"))
            .header(IDEMPOTENCY_HEADER, header_value(&self.idempotency_key));
        if !self.cc.is_empty() {
            builder = builder.cc(list(&self.cc));
        }
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(mailbox(reply_to));
        }
        if let Some(arn) = &self.incident_arn {
            builder = builder.header("X-Tocsin-Incident", header_value(arn));
        }
        if let Some(text) = &self.text {
            builder = builder.text_body(text.as_str());
        }
        if let Some(html) = &self.html {
            builder = builder.html_body(html.as_str());
        }
        let mut bytes = Vec::new();
        builder.serialize(&mut bytes);
        Built { message_id, bytes }
    }
}

fn mailbox(m: &Mailbox) -> Address<'_> {
    Address::new_address(m.name.as_deref(), m.address.as_str())
}

fn list(ms: &[Mailbox]) -> Address<'_> {
    match ms {
        [one] => mailbox(one),
        many => Address::new_list(many.iter().map(mailbox).collect()),
    }
}

/// `tocsin.<32 hex>@<sender domain>`.
fn message_id(idempotency_key: &str, domain: &str) -> String {
    let digest = Sha256::digest(idempotency_key.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("tocsin.{hex}@{domain}")
}

/// Header text on one line: control characters (a CR or LF would start a new header) become
/// spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A header value: raw when it is plain ASCII, RFC 2047 encoded otherwise.
fn header_value(value: &str) -> mail_builder::headers::HeaderType<'static> {
    let value = one_line(value);
    if value.is_ascii() {
        Raw::new(value).into()
    } else {
        Text::new(value).into()
    }
}

/// What a page says, rendered as text and HTML.
pub struct Page<'a> {
    pub message: &'a str,
    pub accept_code: Option<&'a str>,
    pub accept_url: Option<&'a str>,
    pub incident_arn: Option<&'a str>,
}

impl Page<'_> {
    /// A subject when the caller gives none: the first line of the message, shortened.
    pub fn default_subject(&self) -> String {
        let first = self
            .message
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("Page");
        let first = first.trim();
        match first.char_indices().nth(100) {
            Some((cut, _)) => format!("{}…", &first[..cut]),
            None => first.to_owned(),
        }
    }

    fn acknowledge_line(&self) -> Option<String> {
        match (self.accept_code, self.accept_url) {
            (Some(code), Some(_)) => Some(format!(
                "To acknowledge, reply with the code {code} or use the link below."
            )),
            (Some(code), None) => Some(format!("To acknowledge, reply with the code {code}.")),
            (None, Some(_)) => Some("To acknowledge, use the link below.".to_owned()),
            (None, None) => None,
        }
    }

    pub fn text(&self) -> String {
        let mut text = self.message.trim_end().to_owned();
        text.push_str("\n\n");
        if let Some(line) = self.acknowledge_line() {
            text.push_str(&line);
            text.push('\n');
        }
        if let Some(url) = self.accept_url {
            text.push_str(&format!("Acknowledge: {url}\n"));
        }
        if let Some(arn) = self.incident_arn {
            text.push_str(&format!("\nIncident: {arn}\n"));
        }
        text
    }

    pub fn html(&self) -> String {
        let mut html = String::from(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n\
             <body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.4\">\n",
        );
        html.push_str(&format!(
            "<p style=\"white-space:pre-wrap\">{}</p>\n",
            escape(self.message.trim_end())
        ));
        if let Some(line) = self.acknowledge_line() {
            let line = match self.accept_code {
                Some(code) => escape(&line).replace(
                    &escape(code),
                    &format!(
                        "<strong style=\"font-family:monospace;font-size:1.3em;letter-spacing:2px\">{}</strong>",
                        escape(code)
                    ),
                ),
                None => escape(&line),
            };
            html.push_str(&format!("<p>{line}</p>\n"));
        }
        if let Some(url) = self.accept_url {
            html.push_str(&format!(
                "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 20px;background:#c62828;color:#ffffff;text-decoration:none;border-radius:4px;font-weight:bold\">Acknowledge</a></p>\n",
                escape(url)
            ));
        }
        if let Some(arn) = self.incident_arn {
            html.push_str(&format!(
                "<p style=\"color:#666666;font-size:12px\">Incident: {}</p>\n",
                escape(arn)
            ));
        }
        html.push_str("</body></html>\n");
        html
    }
}

/// HTML text and attribute escaping.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email() -> Email {
        Email {
            from: Mailbox::parse("Tocsin <tocsin@example.com>").unwrap(),
            reply_to: None,
            to: vec![Mailbox::parse("alice@example.com").unwrap()],
            cc: vec![],
            bcc: vec![Mailbox::parse("audit@example.com").unwrap()],
            subject: "Panne — base de données\r\nBcc: evil@x.com".into(),
            text: Some("text".into()),
            html: Some("<p>html</p>".into()),
            idempotency_key: "exec-1/page/1".into(),
            incident_arn: None,
        }
    }

    #[test]
    fn headers_are_encoded_and_bcc_stays_out() {
        let built = email().build(1_700_000_000);
        let text = String::from_utf8(built.bytes).unwrap();
        let headers = &text[..text.find("\r\n\r\n").unwrap()];
        assert!(
            headers.to_ascii_lowercase().contains("subject: =?utf-8?"),
            "{headers}"
        );
        assert!(!headers.contains("\r\nBcc:"), "{headers}");
        assert!(headers.contains("X-Tocsin-Idempotency-Key: exec-1/page/1"));
        assert!(headers.contains(&format!("Message-ID: <{}>", built.message_id)));
        assert!(built.message_id.ends_with("@example.com"));
        assert!(text.contains("multipart/alternative"));
    }

    #[test]
    fn message_id_is_stable_per_key() {
        assert_eq!(message_id("k", "x.com"), message_id("k", "x.com"));
        assert_ne!(message_id("k", "x.com"), message_id("k2", "x.com"));
    }

    #[test]
    fn pages_escape_html_and_show_the_code_and_link() {
        let page = Page {
            message: "db <primary> down & out",
            accept_code: Some("123456"),
            accept_url: Some("https://tocsin.example.com/ack?t=a&b"),
            incident_arn: None,
        };
        let html = page.html();
        assert!(html.contains("db &lt;primary&gt; down &amp; out"));
        assert!(html.contains("<strong"));
        assert!(html.contains("href=\"https://tocsin.example.com/ack?t=a&amp;b\""));
        let text = page.text();
        assert!(text.contains("reply with the code 123456"));
        assert!(text.contains("Acknowledge: https://tocsin.example.com/ack?t=a&b"));
    }
}
