//! Contacts, their channels and engagement plans: validation and the pure activation transitions
//! (activate, deactivate, inbound STOP/UNSUBSCRIBE/START replies). Sending codes is not here.

use std::collections::BTreeSet;

use super::error::{Errors, Result};
use super::model::{ActivationStatus, ChannelType, Contact, ContactChannel, ContactType};
use super::validate::{check_alias, check_tags, check_text};

/// Channels per contact (our bound).
pub const MAX_CHANNELS: usize = 20;
/// Stages per engagement plan (our bound).
pub const MAX_STAGES: usize = 50;
/// Latest stage offset: a day after the engagement starts.
pub const MAX_STAGE_MINUTES: u32 = 1440;

/// Validates a contact. `plugin_channel_types` are the channel type names plugins declared
/// (e.g. `["slack-dm"]`); any other non-built-in type is rejected.
pub fn validate_contact(contact: &Contact, plugin_channel_types: &[&str]) -> Result<()> {
    let mut errs = Errors::default();
    check_alias(&mut errs, "alias", &contact.alias);
    if let Some(d) = &contact.display_name {
        check_text(&mut errs, "displayName", d, true);
    }
    check_tags(&mut errs, "tags", &contact.tags);
    if contact.contact_type != ContactType::Personal {
        if !contact.channels.is_empty() {
            errs.push("channels", "only PERSONAL contacts have channels");
        }
        if contact.engagement_plan.is_some() {
            errs.push(
                "engagementPlan",
                "only PERSONAL contacts have an engagement plan",
            );
        }
    }
    if contact.channels.len() > MAX_CHANNELS {
        errs.push("channels", format!("at most {MAX_CHANNELS} channels"));
    }
    let mut names = BTreeSet::new();
    for (i, ch) in contact.channels.iter().enumerate() {
        let f = format!("channels[{i}]");
        check_text(&mut errs, &format!("{f}.name"), &ch.name, false);
        if !names.insert(ch.name.as_str()) {
            errs.push(
                format!("{f}.name"),
                format!("channel name {:?} is used twice", ch.name),
            );
        }
        check_channel_into(&mut errs, &f, ch, plugin_channel_types);
    }
    if let Some(plan) = &contact.engagement_plan {
        if plan.stages.is_empty() {
            errs.push("engagementPlan.stages", "must hold at least one stage");
        }
        if plan.stages.len() > MAX_STAGES {
            errs.push(
                "engagementPlan.stages",
                format!("at most {MAX_STAGES} stages"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, st) in plan.stages.iter().enumerate() {
            let f = format!("engagementPlan.stages[{i}]");
            if contact.channel(&st.channel).is_none() {
                errs.push(
                    format!("{f}.channel"),
                    format!("no channel named {:?} on this contact", st.channel),
                );
            }
            if st.minutes_after_start > MAX_STAGE_MINUTES {
                errs.push(format!("{f}.minutesAfterStart"), "must be 0-1440");
            }
            match st.seconds_after_start {
                Some(_) if st.minutes_after_start != 0 => errs.push(
                    format!("{f}.secondsAfterStart"),
                    "give either minutesAfterStart or secondsAfterStart, not both",
                ),
                Some(s) if s > MAX_STAGE_MINUTES * 60 => {
                    errs.push(format!("{f}.secondsAfterStart"), "must be 0-86400")
                }
                _ => {}
            }
            if !seen.insert((st.channel.as_str(), st.offset_seconds())) {
                errs.push(f, "the same channel at the same minute is listed twice");
            }
        }
    }
    errs.finish()
}

/// Validates one channel on its own (field names relative to the channel).
pub fn validate_channel(channel: &ContactChannel, plugin_channel_types: &[&str]) -> Result<()> {
    let mut errs = Errors::default();
    check_text(&mut errs, "name", &channel.name, false);
    check_channel_into(&mut errs, "", channel, plugin_channel_types);
    errs.finish()
}

fn check_channel_into(errs: &mut Errors, prefix: &str, ch: &ContactChannel, plugins: &[&str]) {
    let field = |n: &str| {
        if prefix.is_empty() {
            n.to_owned()
        } else {
            format!("{prefix}.{n}")
        }
    };
    if let Some(p) = &ch.plugin
        && (p.is_empty()
            || p.len() > 64
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        errs.push(
            field("plugin"),
            "must be a plugin instance name: 1-64 letters, digits, '-' or '_'",
        );
    }
    let addr = &ch.delivery_address;
    match &ch.channel_type {
        ChannelType::Email => {
            if !is_email(addr) {
                errs.push(
                    field("deliveryAddress"),
                    "EMAIL address must look like name@example.com (at most 320 characters)",
                );
            }
        }
        ChannelType::Sms | ChannelType::Voice => {
            if !is_e164(addr) {
                errs.push(
                    field("deliveryAddress"),
                    format!(
                        "{} number must be E.164: '+' then 8-14 digits, 9-15 characters in all",
                        ch.channel_type
                    ),
                );
            }
        }
        ChannelType::Plugin(t) => {
            if !plugins.contains(&t.as_str()) {
                errs.push(
                    field("type"),
                    format!("unknown channel type {t:?}: must be EMAIL, SMS, VOICE or a type a plugin declares"),
                );
            }
            let n = addr.chars().count();
            if n == 0 || n > 320 || addr.chars().any(char::is_control) {
                errs.push(
                    field("deliveryAddress"),
                    "must be 1-320 characters without control characters",
                );
            }
        }
    }
}

/// E.164 as AWS checks it: `+`, a non-zero digit, then digits; 9–15 characters in all.
pub fn is_e164(s: &str) -> bool {
    let b = s.as_bytes();
    (9..=15).contains(&b.len())
        && b[0] == b'+'
        && (b'1'..=b'9').contains(&b[1])
        && b[2..].iter().all(u8::is_ascii_digit)
}

/// A deliberately loose address check: one `@`, non-empty local part, a dotted domain,
/// no spaces or control characters, at most 320 characters.
pub fn is_email(s: &str) -> bool {
    if s.len() > 320 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        }
        None => false,
    }
}

/// A recognized keyword in a reply received on a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKeyword {
    /// `STOP` or `UNSUBSCRIBE`: deactivate the channel.
    Stop,
    /// `START`: reactivate the channel.
    Start,
}

/// Recognizes a reply that is exactly a keyword (ASCII case-insensitive, surrounding whitespace
/// and trailing punctuation ignored). Anything else (e.g. an acknowledgement code) is `None`.
pub fn inbound_keyword(text: &str) -> Option<InboundKeyword> {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_uppercase();
    match t.as_str() {
        "STOP" | "UNSUBSCRIBE" => Some(InboundKeyword::Stop),
        "START" => Some(InboundKeyword::Start),
        _ => None,
    }
}

/// The activation status after a keyword reply (STOP/UNSUBSCRIBE deactivates, START reactivates).
pub fn after_keyword(_current: ActivationStatus, keyword: InboundKeyword) -> ActivationStatus {
    match keyword {
        InboundKeyword::Stop => ActivationStatus::NotActivated,
        InboundKeyword::Start => ActivationStatus::Activated,
    }
}

/// Checks an activation code against the one that was sent; on a match the channel becomes
/// ACTIVATED. The comparison does not stop at the first differing byte.
pub fn activate(channel: &mut ContactChannel, expected: &str, supplied: &str) -> Result<()> {
    let (a, b) = (expected.trim().as_bytes(), supplied.trim().as_bytes());
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter()) {
        diff |= x ^ y;
    }
    if diff != 0 || a.is_empty() {
        return Err(super::error::OncallError::one(
            "activationCode",
            "does not match the code sent to this channel",
        ));
    }
    channel.activation_status = ActivationStatus::Activated;
    Ok(())
}

/// A channel is engaged only when activated.
pub fn is_engageable(channel: &ContactChannel) -> bool {
    channel.activation_status == ActivationStatus::Activated
}
