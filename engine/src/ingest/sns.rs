//! Amazon SNS HTTP(S) deliveries: the JSON envelope (subscription confirmation, notification,
//! unsubscribe confirmation), the string SNS signs, signature verification against the signing
//! certificate, and the allow-list checks of the certificate and confirmation URLs.
//!
//! Fetching the certificate and calling the SubscribeURL are the caller's: this module is pure.

use base64::Engine as _;
use jiff::{SignedDuration, Timestamp};
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde_json::Value;
use sha2::Digest as _;
use x509_cert::der::{DecodePem, Encode};

use super::json::{Obj, object, timestamp};
use super::{IngestError, Result, parse_json};

/// Host patterns of the SNS signing-certificate URL when none are configured (`*` = one label).
pub const DEFAULT_CERT_HOSTS: &[&str] = &["sns.*.amazonaws.com", "sns.*.amazonaws.com.cn"];

/// [`DEFAULT_CERT_HOSTS`] as owned strings, for [`cert_url_allowed`].
pub fn default_allowed_hosts() -> Vec<String> {
    DEFAULT_CERT_HOSTS.iter().map(|s| (*s).to_owned()).collect()
}

/// One SNS message as delivered to an HTTP(S) endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnsMessage {
    /// Sent when a subscription is created: GET `subscribe_url` (allow-listed) to confirm.
    SubscriptionConfirmation {
        topic_arn: String,
        message_id: String,
        subscribe_url: String,
        token: String,
        message: String,
        timestamp: Timestamp,
        /// `Timestamp` exactly as sent (it is part of the signed string).
        timestamp_text: String,
        signature: Option<SnsSignature>,
    },
    /// A published message; for CloudWatch alarms `message` is the alarm as a JSON string.
    Notification {
        topic_arn: String,
        message_id: String,
        subject: Option<String>,
        message: String,
        timestamp: Timestamp,
        timestamp_text: String,
        unsubscribe_url: Option<String>,
        signature: Option<SnsSignature>,
    },
    /// Sent when the subscription is deleted.
    UnsubscribeConfirmation {
        topic_arn: String,
        message_id: String,
        subscribe_url: String,
        token: String,
        message: String,
        timestamp: Timestamp,
        timestamp_text: String,
        signature: Option<SnsSignature>,
    },
}

/// The signature fields of a message (absent only from unsigned test traffic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnsSignature {
    pub version: SignatureVersion,
    /// Base64 of the RSA signature.
    pub signature: String,
    pub signing_cert_url: String,
}

/// `SignatureVersion` "1" (SHA1withRSA) or "2" (SHA256withRSA).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureVersion {
    V1,
    V2,
}

impl SnsMessage {
    /// `Type` as SNS writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SubscriptionConfirmation { .. } => "SubscriptionConfirmation",
            Self::Notification { .. } => "Notification",
            Self::UnsubscribeConfirmation { .. } => "UnsubscribeConfirmation",
        }
    }

    pub fn topic_arn(&self) -> &str {
        match self {
            Self::SubscriptionConfirmation { topic_arn, .. }
            | Self::Notification { topic_arn, .. }
            | Self::UnsubscribeConfirmation { topic_arn, .. } => topic_arn,
        }
    }

    /// `MessageId`: SNS may deliver a message more than once; dedupe on it.
    pub fn message_id(&self) -> &str {
        match self {
            Self::SubscriptionConfirmation { message_id, .. }
            | Self::Notification { message_id, .. }
            | Self::UnsubscribeConfirmation { message_id, .. } => message_id,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::SubscriptionConfirmation { message, .. }
            | Self::Notification { message, .. }
            | Self::UnsubscribeConfirmation { message, .. } => message,
        }
    }

    pub fn timestamp(&self) -> Timestamp {
        match self {
            Self::SubscriptionConfirmation { timestamp, .. }
            | Self::Notification { timestamp, .. }
            | Self::UnsubscribeConfirmation { timestamp, .. } => *timestamp,
        }
    }

    pub fn signature(&self) -> Option<&SnsSignature> {
        match self {
            Self::SubscriptionConfirmation { signature, .. }
            | Self::Notification { signature, .. }
            | Self::UnsubscribeConfirmation { signature, .. } => signature.as_ref(),
        }
    }
}

/// Parses an SNS HTTP(S) delivery body. Signature fields are optional here (checked by
/// [`verify`]); an unknown `Type` or `SignatureVersion` is Unsupported.
pub fn parse(body: &[u8]) -> Result<SnsMessage> {
    from_value(&parse_json(body)?)
}

/// [`parse`] for a body already parsed as JSON.
pub fn from_value(v: &Value) -> Result<SnsMessage> {
    let o = object(v, "")?;
    let kind = o.req_text("Type")?;
    let topic_arn = o.req_text("TopicArn")?.to_owned();
    let message_id = o.req_text("MessageId")?.to_owned();
    let message = o.req_str("Message")?.to_owned();
    let timestamp_text = o.req_text("Timestamp")?.to_owned();
    let timestamp = timestamp(&timestamp_text, "Timestamp")?;
    let signature = signature(&o)?;
    match kind {
        "Notification" => Ok(SnsMessage::Notification {
            topic_arn,
            message_id,
            subject: o.opt_str("Subject")?.map(str::to_owned),
            message,
            timestamp,
            timestamp_text,
            unsubscribe_url: o.opt_text("UnsubscribeURL")?.map(str::to_owned),
            signature,
        }),
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let subscribe_url = o.req_text("SubscribeURL")?.to_owned();
            let token = o.req_text("Token")?.to_owned();
            Ok(if kind == "SubscriptionConfirmation" {
                SnsMessage::SubscriptionConfirmation {
                    topic_arn,
                    message_id,
                    subscribe_url,
                    token,
                    message,
                    timestamp,
                    timestamp_text,
                    signature,
                }
            } else {
                SnsMessage::UnsubscribeConfirmation {
                    topic_arn,
                    message_id,
                    subscribe_url,
                    token,
                    message,
                    timestamp,
                    timestamp_text,
                    signature,
                }
            })
        }
        other => Err(IngestError::unsupported(
            "Type",
            format!(
                "unknown SNS message type {other:?}; expected Notification, \
                 SubscriptionConfirmation or UnsubscribeConfirmation"
            ),
        )),
    }
}

fn signature(o: &Obj<'_>) -> Result<Option<SnsSignature>> {
    let version = o.opt_text("SignatureVersion")?;
    let signature = o.opt_text("Signature")?;
    let url = o.opt_text("SigningCertURL")?;
    let (version, signature, url) = match (version, signature, url) {
        (None, None, None) => return Ok(None),
        (Some(v), Some(s), Some(u)) => (v, s, u),
        (v, s, _) => {
            let missing = if v.is_none() {
                "SignatureVersion"
            } else if s.is_none() {
                "Signature"
            } else {
                "SigningCertURL"
            };
            return Err(IngestError::malformed(
                missing,
                "is required when the message carries any of SignatureVersion, Signature, \
                 SigningCertURL",
            ));
        }
    };
    let version = match version {
        "1" => SignatureVersion::V1,
        "2" => SignatureVersion::V2,
        other => {
            return Err(IngestError::unsupported(
                "SignatureVersion",
                format!("must be \"1\" (SHA1withRSA) or \"2\" (SHA256withRSA) (found {other:?})"),
            ));
        }
    };
    Ok(Some(SnsSignature {
        version,
        signature: signature.to_owned(),
        signing_cert_url: url.to_owned(),
    }))
}

/// The string SNS signs: `Name\nvalue\n` for, in this order, Message, MessageId, Subject (only
/// when present), Timestamp, TopicArn, Type (notifications) or Message, MessageId, SubscribeURL,
/// Timestamp, Token, TopicArn, Type (subscription and unsubscribe confirmations).
pub fn string_to_sign(msg: &SnsMessage) -> String {
    let mut fields: Vec<(&str, &str)> = Vec::with_capacity(7);
    match msg {
        SnsMessage::Notification {
            topic_arn,
            message_id,
            subject,
            message,
            timestamp_text,
            ..
        } => {
            fields.push(("Message", message));
            fields.push(("MessageId", message_id));
            if let Some(s) = subject {
                fields.push(("Subject", s));
            }
            fields.push(("Timestamp", timestamp_text));
            fields.push(("TopicArn", topic_arn));
        }
        SnsMessage::SubscriptionConfirmation {
            topic_arn,
            message_id,
            subscribe_url,
            token,
            message,
            timestamp_text,
            ..
        }
        | SnsMessage::UnsubscribeConfirmation {
            topic_arn,
            message_id,
            subscribe_url,
            token,
            message,
            timestamp_text,
            ..
        } => {
            fields.push(("Message", message));
            fields.push(("MessageId", message_id));
            fields.push(("SubscribeURL", subscribe_url));
            fields.push(("Timestamp", timestamp_text));
            fields.push(("Token", token));
            fields.push(("TopicArn", topic_arn));
        }
    }
    fields.push(("Type", msg.kind()));
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    }
    out
}

/// Parses `msg_raw_json` and verifies its signature with the public key of `cert_pem` (the PEM
/// fetched from its SigningCertURL, after [`cert_url_allowed`]). Errors are Untrusted (or
/// Malformed/Unsupported when the body is not an SNS message).
pub fn verify(msg_raw_json: &[u8], cert_pem: &[u8]) -> Result<()> {
    verify_message(&parse(msg_raw_json)?, cert_pem)
}

/// [`verify`] for an already parsed message.
pub fn verify_message(msg: &SnsMessage, cert_pem: &[u8]) -> Result<()> {
    let Some(sig) = msg.signature() else {
        return Err(IngestError::untrusted(
            "Signature",
            "is required: the message is unsigned and signature verification is on",
        ));
    };
    let signature = base64::engine::general_purpose::STANDARD
        .decode(sig.signature.trim())
        .map_err(|e| IngestError::untrusted("Signature", format!("must be base64 ({e})")))?;
    let key = public_key(cert_pem)?;
    let text = string_to_sign(msg);
    let checked = match sig.version {
        SignatureVersion::V1 => key.verify(
            Pkcs1v15Sign::new::<sha1::Sha1>(),
            &sha1::Sha1::digest(text.as_bytes()),
            &signature,
        ),
        SignatureVersion::V2 => key.verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &sha2::Sha256::digest(text.as_bytes()),
            &signature,
        ),
    };
    checked.map_err(|_| {
        let alg = match sig.version {
            SignatureVersion::V1 => "SignatureVersion 1, SHA1withRSA",
            SignatureVersion::V2 => "SignatureVersion 2, SHA256withRSA",
        };
        IngestError::untrusted(
            "Signature",
            format!("does not verify against the signing certificate ({alg})"),
        )
    })
}

/// The RSA public key of the first certificate in a PEM document.
fn public_key(cert_pem: &[u8]) -> Result<RsaPublicKey> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let bad = |rule: String| IngestError::untrusted("certificate", rule);
    let text = std::str::from_utf8(cert_pem)
        .map_err(|_| bad("must be a PEM X.509 certificate (not UTF-8)".into()))?;
    let start = text
        .find(BEGIN)
        .ok_or_else(|| bad(format!("must be a PEM X.509 certificate (no {BEGIN} line)")))?;
    let end = text[start..]
        .find(END)
        .map(|i| start + i + END.len())
        .ok_or_else(|| bad(format!("must be a PEM X.509 certificate (no {END} line)")))?;
    let cert = x509_cert::Certificate::from_pem(&text[start..end])
        .map_err(|e| bad(format!("must be a PEM X.509 certificate ({e})")))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| bad(format!("has an unreadable public key ({e})")))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| bad(format!("must hold an RSA public key ({e})")))
}

/// Checks a SigningCertURL before fetching it: `https` only, no user info, no port other than
/// 443, a host matching one of `allowed_hosts` (`*` matches exactly one DNS label, as in
/// `sns.*.amazonaws.com`), a path ending in `.pem`, no query.
pub fn cert_url_allowed(url: &str, allowed_hosts: &[String]) -> Result<()> {
    let u = url_allowed(url, allowed_hosts, "SigningCertURL")?;
    if !u.path().ends_with(".pem") {
        return Err(IngestError::untrusted(
            "SigningCertURL",
            "must point at a .pem certificate",
        ));
    }
    if u.query().is_some() || u.fragment().is_some() {
        return Err(IngestError::untrusted(
            "SigningCertURL",
            "must not carry a query or fragment",
        ));
    }
    Ok(())
}

/// Checks a SubscribeURL before calling it to confirm a subscription: the rules of
/// [`cert_url_allowed`] for scheme, user info, port and host, and an `Action=ConfirmSubscription`.
pub fn subscribe_url_allowed(url: &str, allowed_hosts: &[String]) -> Result<()> {
    let u = url_allowed(url, allowed_hosts, "SubscribeURL")?;
    if !u
        .query_pairs()
        .any(|(k, v)| k == "Action" && v == "ConfirmSubscription")
    {
        return Err(IngestError::untrusted(
            "SubscribeURL",
            "must be a ConfirmSubscription call (Action=ConfirmSubscription)",
        ));
    }
    Ok(())
}

fn url_allowed(raw: &str, allowed_hosts: &[String], field: &str) -> Result<url::Url> {
    let bad = |rule: String| IngestError::untrusted(field, rule);
    let u = url::Url::parse(raw).map_err(|e| bad(format!("must be an absolute URL ({e})")))?;
    if u.scheme() != "https" {
        return Err(bad(format!("must use https (found {:?})", u.scheme())));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(bad("must not carry user info".into()));
    }
    if let Some(port) = u.port() {
        return Err(bad(format!(
            "must use the default https port (found {port})"
        )));
    }
    let Some(url::Host::Domain(host)) = u.host() else {
        return Err(bad("must name a DNS host, not an IP address".into()));
    };
    if !allowed_hosts.iter().any(|p| host_matches(p, host)) {
        return Err(bad(format!(
            "host {host:?} matches none of the allowed hosts {allowed_hosts:?}"
        )));
    }
    Ok(u)
}

/// `pattern` against `host`, label by label, ASCII case-insensitive; a `*` label matches any one
/// non-empty label.
pub fn host_matches(pattern: &str, host: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p.len() == h.len()
        && p.iter()
            .zip(&h)
            .all(|(p, h)| !h.is_empty() && (*p == "*" || p.eq_ignore_ascii_case(h)))
}

/// Rejects a message whose `Timestamp` is more than `max_age` before `now` (a replay, or a
/// delivery too late to act on) or more than `max_age` after it (a clock far off).
pub fn check_age(msg: &SnsMessage, now: Timestamp, max_age: SignedDuration) -> Result<()> {
    let age = now.duration_since(msg.timestamp());
    if age > max_age {
        return Err(IngestError::untrusted(
            "Timestamp",
            format!("is {age:#} old, more than the allowed {max_age:#} (possible replay)"),
        ));
    }
    if -age > max_age {
        return Err(IngestError::untrusted(
            "Timestamp",
            format!(
                "is {:#} in the future, more than the allowed {max_age:#}",
                -age
            ),
        ));
    }
    Ok(())
}
