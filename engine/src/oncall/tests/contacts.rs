//! Contacts, channels, engagement plans and activation transitions.

use super::*;

fn channel(name: &str, t: ChannelType, addr: &str) -> ContactChannel {
    ContactChannel {
        name: name.into(),
        channel_type: t,
        delivery_address: addr.into(),
        activation_status: ActivationStatus::NotActivated,
        plugin: None,
    }
}

fn alice() -> Contact {
    Contact {
        alias: "alice".into(),
        display_name: Some("Alice Ó Briain".into()),
        contact_type: ContactType::Personal,
        channels: vec![
            channel("work email", ChannelType::Email, "alice@example.com"),
            channel("mobile", ChannelType::Sms, "+14155550100"),
            channel("phone", ChannelType::Voice, "+353861234567"),
            channel("chat", ChannelType::Plugin("slack-dm".into()), "U012ABCDEF"),
        ],
        engagement_plan: Some(EngagementPlan {
            stages: vec![
                EngagementStage {
                    channel: "work email".into(),
                    minutes_after_start: 0,
                    seconds_after_start: None,
                },
                EngagementStage {
                    channel: "mobile".into(),
                    minutes_after_start: 5,
                    seconds_after_start: None,
                },
                EngagementStage {
                    channel: "phone".into(),
                    minutes_after_start: 10,
                    seconds_after_start: None,
                },
            ],
        }),
        tags: [("team".to_string(), "payments".to_string())].into(),
    }
}

#[test]
fn a_valid_contact_passes() {
    validate_contact(&alice(), &["slack-dm"]).unwrap();
}

#[test]
fn e164_and_email() {
    for ok in [
        "+14155550100",
        "+35312345",
        "+123456789012345"[..15].as_ref(),
    ] {
        assert!(is_e164(ok), "{ok}");
    }
    for bad in [
        "14155550100",
        "+0123456789",
        "+1234567",
        "+1234567890123456",
        "+1 415 555 0100",
        "+",
    ] {
        assert!(!is_e164(bad), "{bad}");
    }
    assert!(is_email("a.b+c@example.co.uk"));
    for bad in [
        "",
        "a",
        "a@b",
        "@example.com",
        "a@@example.com",
        "a b@example.com",
        "a@example.",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn bad_contacts_name_every_field() {
    let mut c = alice();
    c.alias = "Alice!".into();
    c.channels[1].delivery_address = "4155550100".into();
    c.channels[0].delivery_address = "nobody".into();
    c.channels
        .push(channel("mobile", ChannelType::Plugin("pager".into()), "x"));
    c.engagement_plan
        .as_mut()
        .unwrap()
        .stages
        .push(EngagementStage {
            channel: "fax".into(),
            minutes_after_start: 2000,
            seconds_after_start: None,
        });
    let e = validate_contact(&c, &["slack-dm"]).unwrap_err();
    for f in [
        "alias",
        "channels[0].deliveryAddress",
        "channels[1].deliveryAddress",
        "channels[4].name",
        "channels[4].type",
        "engagementPlan.stages[3].channel",
        "engagementPlan.stages[3].minutesAfterStart",
    ] {
        assert!(e.has_field(f), "{f}: {e}");
    }
    // Non-personal contacts carry no channels.
    let s = Contact {
        contact_type: ContactType::OncallSchedule,
        ..alice()
    };
    let e = validate_contact(&s, &["slack-dm"]).unwrap_err();
    assert!(
        e.has_field("channels") && e.has_field("engagementPlan"),
        "{e}"
    );
}

#[test]
fn activation_and_keywords() {
    let mut ch = alice().channels[1].clone();
    assert!(!is_engageable(&ch));
    assert!(
        activate(&mut ch, "123456", "654321")
            .unwrap_err()
            .has_field("activationCode")
    );
    assert!(activate(&mut ch, "", "").is_err());
    activate(&mut ch, "123456", " 123456 ").unwrap();
    assert!(is_engageable(&ch));
    assert_eq!(inbound_keyword("  stop "), Some(InboundKeyword::Stop));
    assert_eq!(inbound_keyword("UNSUBSCRIBE."), Some(InboundKeyword::Stop));
    assert_eq!(inbound_keyword("Start"), Some(InboundKeyword::Start));
    assert_eq!(inbound_keyword("stop paging me please"), None);
    ch.activation_status = after_keyword(ch.activation_status, InboundKeyword::Stop);
    assert!(!is_engageable(&ch));
    ch.activation_status = after_keyword(ch.activation_status, InboundKeyword::Start);
    assert!(is_engageable(&ch));
}

#[test]
fn contact_serde_shape() {
    let v = serde_json::to_value(alice()).unwrap();
    assert_eq!(v["type"], "PERSONAL");
    assert_eq!(v["channels"][3]["type"], "slack-dm");
    assert_eq!(v["channels"][1]["activationStatus"], "NOT_ACTIVATED");
    assert_eq!(v["engagementPlan"]["stages"][1]["minutesAfterStart"], 5);
    let back: Contact = serde_json::from_value(v).unwrap();
    assert_eq!(back, alice());
}

pub(super) fn directory() -> Vec<Contact> {
    vec![alice()]
}
