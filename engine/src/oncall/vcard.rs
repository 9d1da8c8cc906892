//! vCard 4.0 (RFC 6350) export of a contact and its channels, for responders' address books.

use super::ical::{escape_text, push_line};
use super::model::{ActivationStatus, ChannelType, Contact};

/// The contact as a vCard 4.0: FN, NICKNAME (alias), EMAIL, TEL (`tel:` URIs; SMS channels typed
/// `text`, VOICE `voice`), plugin channels as `X-TOCSIN-CHANNEL`, the engagement plan in NOTE.
/// CRLF line endings, folded at 75 octets.
pub fn contact_vcard(contact: &Contact) -> String {
    let mut out = String::new();
    let mut line = |s: &str| push_line(&mut out, s);
    line("BEGIN:VCARD");
    line("VERSION:4.0");
    line(match contact.contact_type {
        super::model::ContactType::Personal => "KIND:individual",
        _ => "KIND:group",
    });
    line(&format!("FN:{}", escape_text(contact.name())));
    line(&format!("NICKNAME:{}", escape_text(&contact.alias)));
    line(&format!(
        "UID:urn:tocsin:contact:{}",
        uri_safe(&contact.alias)
    ));
    for (i, ch) in contact.channels.iter().enumerate() {
        let pref = format!("PREF={}", (i + 1).min(100));
        let addr = &ch.delivery_address;
        match &ch.channel_type {
            ChannelType::Email => line(&format!("EMAIL;{pref}:{}", escape_text(addr))),
            ChannelType::Sms => line(&format!(
                "TEL;VALUE=uri;TYPE=text,cell;{pref}:tel:{}",
                uri_safe(addr)
            )),
            ChannelType::Voice => line(&format!(
                "TEL;VALUE=uri;TYPE=voice;{pref}:tel:{}",
                uri_safe(addr)
            )),
            ChannelType::Plugin(t) => line(&format!(
                "X-TOCSIN-CHANNEL;TYPE=\"{}\";{pref}:{}",
                param_safe(t),
                escape_text(addr)
            )),
        }
    }
    let mut note = Vec::new();
    for ch in &contact.channels {
        let state = match ch.activation_status {
            ActivationStatus::Activated => "active",
            ActivationStatus::NotActivated => "not activated",
        };
        note.push(format!("{} ({}, {state})", ch.name, ch.channel_type));
    }
    if let Some(plan) = &contact.engagement_plan {
        for st in &plan.stages {
            note.push(format!(
                "after {} min: {}",
                st.minutes_after_start, st.channel
            ));
        }
    }
    if !note.is_empty() {
        line(&format!(
            "NOTE:{}",
            escape_text(&format!(
                "Tocsin contact channels and engagement plan:\n{}",
                note.join("\n")
            ))
        ));
    }
    line("END:VCARD");
    out
}

/// Keeps characters allowed in a URI without escaping; others are percent-encoded.
fn uri_safe(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"+-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A parameter value: no quotes, control characters, or anything that would end the parameter.
fn param_safe(s: &str) -> String {
    s.chars().filter(|c| !c.is_control() && *c != '"').collect()
}
