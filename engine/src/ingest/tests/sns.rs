use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use rand::SeedableRng;
use rsa::RsaPrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::EncodePem;
use x509_cert::der::pem::LineEnding;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::Validity;

use super::{Edit, fixture, json};
use crate::ingest::IngestErrorKind;
use crate::ingest::sns::{
    self, SignatureVersion, SnsMessage, cert_url_allowed, check_age, parse, string_to_sign,
    subscribe_url_allowed, verify,
};

const CONFIRMATION: &[u8] = fixture!("sns-subscription-confirmation.json");
const NOTIFICATION: &[u8] = fixture!("cloudwatch-alarm-via-sns-http-single-metric.json");

/// A throwaway signing key and its self-signed certificate (PEM), made once per seed.
fn key(seed: u64) -> &'static (RsaPrivateKey, String) {
    static A: OnceLock<(RsaPrivateKey, String)> = OnceLock::new();
    static B: OnceLock<(RsaPrivateKey, String)> = OnceLock::new();
    let cell = if seed == 1 { &A } else { &B };
    cell.get_or_init(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let private = RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.clone());
        let spki = SubjectPublicKeyInfoOwned::from_key(private.to_public_key()).unwrap();
        let cert = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(seed as u32),
            Validity::from_now(Duration::from_secs(3600)).unwrap(),
            Name::from_str("CN=sns.amazonaws.com").unwrap(),
            spki,
            &signer,
        )
        .unwrap()
        .build::<rsa::pkcs1v15::Signature>()
        .unwrap();
        (private, cert.to_pem(LineEnding::LF).unwrap())
    })
}

/// `body` with its Signature replaced by a real one over its string to sign.
fn signed(body: &[u8], version: &str, seed: u64) -> Vec<u8> {
    let mut v = json(body);
    v["SignatureVersion"] = version.into();
    let msg = sns::from_value(&v).unwrap();
    let text = string_to_sign(&msg);
    let private = key(seed).0.clone();
    let sig = match version {
        "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(private)
            .sign(text.as_bytes())
            .to_vec(),
        _ => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private)
            .sign(text.as_bytes())
            .to_vec(),
    };
    v["Signature"] = base64::engine::general_purpose::STANDARD.encode(sig).into();
    serde_json::to_vec(&v).unwrap()
}

fn edit(body: &[u8], f: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let mut v = json(body);
    f(&mut v);
    serde_json::to_vec(&v).unwrap()
}

#[test]
fn subscription_confirmation_fixture() {
    let msg = parse(CONFIRMATION).unwrap();
    let SnsMessage::SubscriptionConfirmation {
        topic_arn,
        message_id,
        subscribe_url,
        token,
        timestamp,
        signature,
        ..
    } = &msg
    else {
        panic!("{msg:?}")
    };
    assert_eq!(
        topic_arn,
        "arn:aws:sns:us-east-1:123456789012:incident-alarms"
    );
    assert_eq!(message_id, "165545c9-2a5c-472c-8df2-7ff2be2b3b1b");
    assert!(
        subscribe_url
            .starts_with("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription")
    );
    assert!(token.starts_with("2336412f37fb687f"));
    assert_eq!(timestamp.to_string(), "2026-11-20T22:08:09.324Z");
    let sig = signature.as_ref().unwrap();
    assert_eq!(sig.version, SignatureVersion::V1);
    assert_eq!(
        sig.signing_cert_url,
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem"
    );
    assert_eq!(msg.kind(), "SubscriptionConfirmation");
    subscribe_url_allowed(subscribe_url, &sns::default_allowed_hosts()).unwrap();
    cert_url_allowed(&sig.signing_cert_url, &sns::default_allowed_hosts()).unwrap();
}

#[test]
fn notification_fixture() {
    let msg = parse(NOTIFICATION).unwrap();
    let SnsMessage::Notification {
        subject,
        message,
        unsubscribe_url,
        ..
    } = &msg
    else {
        panic!("{msg:?}")
    };
    assert_eq!(
        subject.as_deref(),
        Some("ALARM: \"EXAMPLE\" in US East (N. Virginia)")
    );
    assert!(message.starts_with("{\"AlarmName\": \"EXAMPLE\""));
    assert!(
        unsubscribe_url
            .as_deref()
            .unwrap()
            .contains("Action=Unsubscribe")
    );
    assert_eq!(msg.message_id(), "95df01b4-ee98-5cb9-9903-4c221d41eb5e");
    assert_eq!(
        msg.topic_arn(),
        "arn:aws:sns:us-east-1:123456789012:incident-alarms"
    );
    assert_eq!(msg.timestamp().to_string(), "2015-06-03T17:43:27.123Z");
}

#[test]
fn unsubscribe_confirmation() {
    let body = edit(CONFIRMATION, |v| {
        v["Type"] = "UnsubscribeConfirmation".into()
    });
    let msg = parse(&body).unwrap();
    assert!(matches!(msg, SnsMessage::UnsubscribeConfirmation { .. }));
    assert!(string_to_sign(&msg).ends_with("Type\nUnsubscribeConfirmation\n"));
}

#[test]
fn string_to_sign_follows_the_documented_order() {
    let msg = parse(CONFIRMATION).unwrap();
    let v = json(CONFIRMATION);
    let expected = format!(
        "Message\n{}\nMessageId\n{}\nSubscribeURL\n{}\nTimestamp\n{}\nToken\n{}\nTopicArn\n{}\nType\n{}\n",
        v["Message"].as_str().unwrap(),
        v["MessageId"].as_str().unwrap(),
        v["SubscribeURL"].as_str().unwrap(),
        v["Timestamp"].as_str().unwrap(),
        v["Token"].as_str().unwrap(),
        v["TopicArn"].as_str().unwrap(),
        "SubscriptionConfirmation",
    );
    assert_eq!(string_to_sign(&msg), expected);

    let msg = parse(NOTIFICATION).unwrap();
    let v = json(NOTIFICATION);
    let expected = format!(
        "Message\n{}\nMessageId\n{}\nSubject\n{}\nTimestamp\n{}\nTopicArn\n{}\nType\nNotification\n",
        v["Message"].as_str().unwrap(),
        v["MessageId"].as_str().unwrap(),
        v["Subject"].as_str().unwrap(),
        v["Timestamp"].as_str().unwrap(),
        v["TopicArn"].as_str().unwrap(),
    );
    assert_eq!(string_to_sign(&msg), expected);

    // Without a Subject the field is left out, not written empty.
    let body = edit(NOTIFICATION, |v| {
        drop(v.as_object_mut().unwrap().remove("Subject"))
    });
    let text = string_to_sign(&parse(&body).unwrap());
    assert!(!text.contains("Subject"), "{text}");
    assert!(text.contains("MessageId\n95df01b4-ee98-5cb9-9903-4c221d41eb5e\nTimestamp\n"));
}

#[test]
fn verify_signature_v1_and_v2() {
    let cert = key(1).1.as_bytes();
    for fixture in [CONFIRMATION, NOTIFICATION] {
        for version in ["1", "2"] {
            let body = signed(fixture, version, 1);
            verify(&body, cert).unwrap_or_else(|e| panic!("v{version}: {e}"));

            // One altered field breaks it.
            for field in ["Message", "MessageId", "Timestamp", "TopicArn"] {
                let altered = edit(&body, |v| {
                    let s = if field == "Timestamp" {
                        "2020-01-01T00:00:00.000Z".to_owned()
                    } else {
                        v[field]
                            .as_str()
                            .unwrap()
                            .replace('1', "2")
                            .replace('E', "F")
                    };
                    v[field] = s.into();
                });
                let e = verify(&altered, cert).unwrap_err();
                assert_eq!(e.kind, IngestErrorKind::Untrusted, "{e}");
                assert!(e.has_field("Signature"), "{e}");
                assert_eq!(e.http_status(), 403);
            }
            // The other version's algorithm does not verify it.
            let other = edit(&body, |v| {
                v["SignatureVersion"] = if version == "1" { "2" } else { "1" }.into()
            });
            assert!(verify(&other, cert).is_err());
            // Another key's certificate does not verify it.
            let e = verify(&body, key(2).1.as_bytes()).unwrap_err();
            assert!(e.to_string().contains("does not verify"), "{e}");
        }
    }
    // Subject is signed too.
    let body = signed(NOTIFICATION, "2", 1);
    let altered = edit(&body, |v| v["Subject"] = "OK".into());
    assert!(verify(&altered, cert).is_err());
}

#[test]
fn verify_bad_input() {
    let cert = key(1).1.as_bytes();
    // The fixtures carry "Signature": "EXAMPLE": not a valid signature.
    let e = verify(CONFIRMATION, cert).unwrap_err();
    assert_eq!(e.kind, IngestErrorKind::Untrusted);
    assert!(e.has_field("Signature"), "{e}");
    let body = edit(CONFIRMATION, |v| v["Signature"] = "%%%".into());
    assert!(
        verify(&body, cert)
            .unwrap_err()
            .to_string()
            .contains("base64")
    );

    let body = signed(CONFIRMATION, "1", 1);
    for bad_cert in [
        &b""[..],
        b"not a certificate",
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        b"\xff\xfe",
    ] {
        let e = verify(&body, bad_cert).unwrap_err();
        assert!(e.has_field("certificate"), "{e}");
        assert_eq!(e.kind, IngestErrorKind::Untrusted);
    }
    // A PEM with text around the certificate (as some servers send) is fine.
    let padded = format!("subject=CN = sns\n{}\n\n", key(1).1);
    verify(&body, padded.as_bytes()).unwrap();

    let unsigned = edit(CONFIRMATION, |v| {
        let o = v.as_object_mut().unwrap();
        for k in ["Signature", "SignatureVersion", "SigningCertURL"] {
            o.remove(k);
        }
    });
    assert!(parse(&unsigned).unwrap().signature().is_none());
    let e = verify(&unsigned, cert).unwrap_err();
    assert!(
        e.has_field("Signature") && e.kind == IngestErrorKind::Untrusted,
        "{e}"
    );
}

#[test]
fn parse_bad_input() {
    let cases: Vec<(&str, IngestErrorKind, Edit)> = vec![
        (
            "Type",
            IngestErrorKind::Unsupported,
            Box::new(|v| v["Type"] = "Ping".into()),
        ),
        (
            "Type",
            IngestErrorKind::Malformed,
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("Type"))),
        ),
        (
            "Type",
            IngestErrorKind::Malformed,
            Box::new(|v| v["Type"] = serde_json::json!(["Notification"])),
        ),
        (
            "TopicArn",
            IngestErrorKind::Malformed,
            Box::new(|v| v["TopicArn"] = serde_json::Value::Null),
        ),
        (
            "MessageId",
            IngestErrorKind::Malformed,
            Box::new(|v| v["MessageId"] = 5.into()),
        ),
        (
            "Message",
            IngestErrorKind::Malformed,
            Box::new(|v| v["Message"] = serde_json::json!({})),
        ),
        (
            "Timestamp",
            IngestErrorKind::Malformed,
            Box::new(|v| v["Timestamp"] = "now".into()),
        ),
        (
            "Token",
            IngestErrorKind::Malformed,
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("Token"))),
        ),
        (
            "SubscribeURL",
            IngestErrorKind::Malformed,
            Box::new(|v| v["SubscribeURL"] = "".into()),
        ),
        (
            "SignatureVersion",
            IngestErrorKind::Unsupported,
            Box::new(|v| v["SignatureVersion"] = "3".into()),
        ),
        (
            "SignatureVersion",
            IngestErrorKind::Malformed,
            Box::new(|v| v["SignatureVersion"] = 1.into()),
        ),
        (
            "SigningCertURL",
            IngestErrorKind::Malformed,
            Box::new(|v| drop(v.as_object_mut().unwrap().remove("SigningCertURL"))),
        ),
    ];
    for (field, kind, f) in cases {
        let e = parse(&edit(CONFIRMATION, |v| f(v))).unwrap_err();
        assert!(e.has_field(field), "expected an error on {field}, got {e}");
        assert_eq!(e.kind, kind, "{e}");
    }
    assert!(parse(b"<xml/>").unwrap_err().has_field("body"));
    assert!(parse(b"\"Notification\"").unwrap_err().has_field("body"));
}

#[test]
fn cert_url_allow_list() {
    let hosts = sns::default_allowed_hosts();
    for ok in [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-abc.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-abc.pem",
        "https://sns.us-east-1.amazonaws.com:443/x.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
    ] {
        cert_url_allowed(ok, &hosts).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for (bad, why) in [
        ("http://sns.us-east-1.amazonaws.com/x.pem", "https"),
        (
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "allowed hosts",
        ),
        (
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "allowed hosts",
        ),
        ("https://sns.amazonaws.com/x.pem", "allowed hosts"),
        ("https://sns.a.b.amazonaws.com/x.pem", "allowed hosts"),
        (
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "user info",
        ),
        ("https://u:p@sns.us-east-1.amazonaws.com/x.pem", "user info"),
        ("https://sns.us-east-1.amazonaws.com:8443/x.pem", "port"),
        ("https://sns.us-east-1.amazonaws.com/x.txt", ".pem"),
        ("https://sns.us-east-1.amazonaws.com/x.pem?a=b", "query"),
        ("https://52.94.0.1/x.pem", "IP address"),
        ("https://[::1]/x.pem", "IP address"),
        ("sns.us-east-1.amazonaws.com/x.pem", "absolute URL"),
        ("", "absolute URL"),
        ("file:///etc/passwd.pem", "https"),
    ] {
        let e = cert_url_allowed(bad, &hosts).unwrap_err();
        assert!(e.has_field("SigningCertURL"), "{bad}: {e}");
        assert_eq!(e.kind, IngestErrorKind::Untrusted);
        assert!(e.to_string().contains(why), "{bad}: {e}");
    }
    // A configured exact host.
    let hosts = vec!["sns.local.test".to_owned()];
    cert_url_allowed("https://sns.local.test/c.pem", &hosts).unwrap();
    assert!(cert_url_allowed("https://sns.us-east-1.amazonaws.com/c.pem", &hosts).is_err());
    assert!(cert_url_allowed("https://sns.local.test/c.pem", &[]).is_err());

    let hosts = sns::default_allowed_hosts();
    let e = subscribe_url_allowed(
        "https://sns.us-east-1.amazonaws.com/?Action=Publish",
        &hosts,
    )
    .unwrap_err();
    assert!(e.has_field("SubscribeURL"), "{e}");
    assert!(
        subscribe_url_allowed(
            "https://169.254.169.254/?Action=ConfirmSubscription",
            &hosts
        )
        .is_err()
    );
}

#[test]
fn replayed_messages_are_too_old() {
    let msg = parse(CONFIRMATION).unwrap();
    let sent: jiff::Timestamp = "2026-11-20T22:08:09.324Z".parse().unwrap();
    let hour = jiff::SignedDuration::from_hours(1);
    check_age(&msg, sent, hour).unwrap();
    check_age(&msg, sent + jiff::SignedDuration::from_mins(59), hour).unwrap();
    let e = check_age(&msg, sent + jiff::SignedDuration::from_hours(2), hour).unwrap_err();
    assert!(
        e.has_field("Timestamp") && e.to_string().contains("replay"),
        "{e}"
    );
    let e = check_age(&msg, sent - jiff::SignedDuration::from_hours(2), hour).unwrap_err();
    assert!(e.to_string().contains("future"), "{e}");
}
