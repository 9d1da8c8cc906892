//! Signed, single-purpose, expiring tokens for links sent to responders (acknowledge a page from
//! an email) and for provider callbacks (delivery status, replies, keypresses of one page).
//! A token is `base64url(purpose|page|expiry) . base64url(HMAC-SHA256)`; no state is kept.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A responder acknowledges the page (email link).
    Ack,
    /// The provider reports on the page (status callbacks, voice keypress).
    Callback,
}

impl Purpose {
    fn tag(self) -> &'static str {
        match self {
            Purpose::Ack => "ack",
            Purpose::Callback => "cb",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("the link is malformed")]
    Malformed,
    #[error("the link's signature does not match (was it altered?)")]
    BadSignature,
    #[error("the link is for another purpose")]
    WrongPurpose,
    #[error("the link expired at {0}")]
    Expired(Timestamp),
}

fn mac(key: &[u8], payload: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(payload.as_bytes());
    m.finalize().into_bytes().to_vec()
}

pub fn sign(key: &[u8], purpose: Purpose, page: &str, expires: Timestamp) -> String {
    let payload = format!("{}|{page}|{}", purpose.tag(), expires.as_second());
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&payload),
        URL_SAFE_NO_PAD.encode(mac(key, &payload))
    )
}

/// The page a token names, if it is genuine, for `purpose`, and not expired at `now`.
pub fn verify(
    key: &[u8],
    purpose: Purpose,
    token: &str,
    now: Timestamp,
) -> Result<String, LinkError> {
    let (p, s) = token.split_once('.').ok_or(LinkError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(p)
        .map_err(|_| LinkError::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| LinkError::Malformed)?;
    let payload = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(payload.as_bytes());
    m.verify_slice(&sig).map_err(|_| LinkError::BadSignature)?;
    let mut parts = payload.splitn(3, '|');
    let (tag, page, exp) = (
        parts.next().ok_or(LinkError::Malformed)?,
        parts.next().ok_or(LinkError::Malformed)?,
        parts.next().ok_or(LinkError::Malformed)?,
    );
    if tag != purpose.tag() {
        return Err(LinkError::WrongPurpose);
    }
    let exp = exp
        .parse::<i64>()
        .ok()
        .and_then(|s| Timestamp::from_second(s).ok())
        .ok_or(LinkError::Malformed)?;
    if now > exp {
        return Err(LinkError::Expired(exp));
    }
    Ok(page.to_owned())
}
