//! The Twilio REST API (2010-04-01) as the `sms` and `voice` plugins use it: create one resource
//! (a Message or a Call) with a form-encoded POST, HTTP basic auth and an idempotency token, and
//! turn Twilio's error document into an [`ActionError`] that keeps Twilio's code and message.
//!
//! Shared source: the `voice` plugin includes this file with `#[path]`. Each plugin is its own
//! component, and a third crate for one small client would only add a build unit.

use serde::Deserialize;
use tocsin_plugin_sdk::http::{Request, Response, send};
use tocsin_plugin_sdk::{ActionError, RetryLater, now_unix_ms, secret};

/// Where Twilio's REST API lives unless the operator's `api_base` says otherwise.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";
/// The secret holding the account's Auth Token (basic auth `AccountSid:AuthToken`).
pub const AUTH_TOKEN_SECRET: &str = "TWILIO_AUTH_TOKEN";
/// The secret holding an API key's secret (basic auth `ApiKeySid:ApiKeySecret`).
pub const API_KEY_SECRET: &str = "TWILIO_API_KEY_SECRET";
/// JSON Schema pattern of an Account SID.
pub const ACCOUNT_SID_PATTERN: &str = "^AC[0-9a-fA-F]{32}$";
/// JSON Schema pattern of an API key SID.
pub const API_KEY_SID_PATTERN: &str = "^SK[0-9a-fA-F]{32}$";

/// Who calls Twilio and where: the parts of a plugin's configuration the client needs.
pub struct Account<'a> {
    pub account_sid: &'a str,
    /// When set, authenticate with this API key and the `TWILIO_API_KEY_SECRET` secret instead
    /// of the account's Auth Token.
    pub api_key_sid: Option<&'a str>,
    /// `https://api.twilio.com` unless overridden (a regional edge, a test double).
    pub api_base: Option<&'a str>,
}

/// An authenticated client for one account.
pub struct Client {
    base: String,
    account_sid: String,
    authorization: String,
}

/// What Twilio answered to a create: the new resource's SID and status, and the whole document.
pub struct Created {
    pub sid: String,
    pub status: String,
    #[allow(dead_code)] // sms reads `num_segments` from it; voice needs only sid and status
    pub document: serde_json::Value,
}

/// Twilio's error document (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions).
#[derive(Deserialize)]
struct TwilioError {
    code: Option<u64>,
    message: Option<String>,
    more_info: Option<String>,
}

impl Client {
    /// Reads the credential secret; only the one the configuration names is asked for, so an
    /// instance granted just `TWILIO_AUTH_TOKEN` never trips a denial for the other.
    pub fn new(account: &Account<'_>) -> Result<Client, ActionError> {
        let (user, password) = match account.api_key_sid {
            Some(key_sid) => (key_sid, secret(API_KEY_SECRET)?),
            None => (account.account_sid, secret(AUTH_TOKEN_SECRET)?),
        };
        let credentials = format!("{user}:{password}");
        Ok(Client {
            base: account
                .api_base
                .unwrap_or(DEFAULT_API_BASE)
                .trim_end_matches('/')
                .to_owned(),
            account_sid: account.account_sid.to_owned(),
            authorization: format!("Basic {}", base64(credentials.as_bytes())),
        })
    }

    /// `POST /2010-04-01/Accounts/{AccountSid}/{resource}.json` with `form` as the body.
    /// `idempotency_key` goes in `I-Twilio-Idempotency-Token` so a retried attempt is not sent
    /// twice. `what` names the call in errors, e.g. "Twilio Messages API".
    pub fn create(
        &self,
        resource: &str,
        form: &[(&str, &str)],
        idempotency_key: &str,
        what: &str,
    ) -> Result<Created, ActionError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.base, self.account_sid
        );
        let mut body = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in form {
            body.append_pair(name, value);
        }
        let mut req = Request::new("POST", &url);
        req.headers = vec![
            ("authorization".into(), self.authorization.clone()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("accept".into(), "application/json".into()),
            ("i-twilio-idempotency-token".into(), idempotency_key.into()),
        ];
        req.body = body.finish().into_bytes();
        let resp = send(&req)?;
        let resp = check(resp, what)?;
        let document: serde_json::Value = serde_json::from_slice(&resp.body).map_err(|e| {
            ActionError::Failed(format!(
                "{what} answered HTTP {} with a body that is not JSON: {e}",
                resp.status
            ))
        })?;
        let field = |name: &str| {
            document
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let sid = field("sid").ok_or_else(|| {
            ActionError::Failed(format!(
                "{what} answered HTTP {} without a `sid`",
                resp.status
            ))
        })?;
        let status = field("status").unwrap_or_else(|| "unknown".into());
        Ok(Created {
            sid,
            status,
            document,
        })
    }
}

/// The SDK's status mapping (429/5xx retryable with Retry-After, 400/404/409/413/422 invalid
/// input, 401/403 and the rest failed), with Twilio's `code` and `message` as the error text
/// instead of the raw body when Twilio sent its error document.
fn check(resp: Response, what: &str) -> Result<Response, ActionError> {
    let status = resp.status;
    let parsed: Option<TwilioError> = serde_json::from_slice(&resp.body).ok();
    resp.check(what, now_unix_ms()).map_err(|err| {
        let Some(TwilioError {
            code,
            message: Some(message),
            more_info,
        }) = parsed
        else {
            return err;
        };
        let mut text = format!("{what} answered HTTP {status}: ");
        if let Some(code) = code {
            text.push_str(&format!("Twilio error {code}: "));
        }
        text.push_str(&message);
        if let Some(more_info) = more_info {
            text.push_str(&format!(" ({more_info})"));
        }
        with_message(err, text)
    })
}

/// The same kind of error with another message.
fn with_message(err: ActionError, message: String) -> ActionError {
    match err {
        ActionError::InvalidInput(_) => ActionError::InvalidInput(message),
        ActionError::Denied(_) => ActionError::Denied(message),
        ActionError::Retryable(_) => ActionError::Retryable(message),
        ActionError::RetryLater(r) => ActionError::RetryLater(RetryLater {
            message,
            after_ms: r.after_ms,
        }),
        ActionError::Failed(_) => ActionError::Failed(message),
    }
}

/// Standard base64 with padding (RFC 4648 §4), for the basic-auth header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), expected);
        }
    }
}
