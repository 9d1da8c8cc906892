//! Calling AWS APIs from a plugin: Signature Version 4, credentials from granted secrets, the
//! Query protocol and AWS's error bodies mapped to [`ActionError`].
//!
//! ```ignore
//! use tocsin_plugin_sdk::aws;
//! // Manifest: `.secrets(&aws::SECRETS).http(&["https://sns.*.amazonaws.com"])`.
//! let client = aws::Client::new("sns", &cfg.region, cfg.endpoint_url.as_deref())?;
//! let xml = client.query("Publish", "2010-03-31", &[("PhoneNumber", to), ("Message", text)])?;
//! let id = aws::xml_text(&xml, "MessageId");          // JSON/REST APIs: client.send(request)?
//! ```
//!
//! Errors are already mapped: throttling, 429 and 5xx are retryable (honouring Retry-After),
//! credential errors are `Failed`, other 4xx are `InvalidInput`, each with AWS's code and message.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use url::Url;

use crate::http::{self, Request, Response};
use crate::{ActionError, RetryLater};

/// The secrets [`Credentials::from_secrets`] reads; request them all in the manifest
/// (`.secrets(&aws::SECRETS)`). `AWS_SESSION_TOKEN` is read only with a temporary (`ASIA…`)
/// key: the operator grants it only for temporary credentials.
pub const SECRETS: [&str; 3] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// An access key (and, for temporary credentials, a session token).
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    // Never print the secret key or the token, even in a panic message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Credentials {
    pub fn new(access_key_id: &str, secret_access_key: &str, session_token: Option<&str>) -> Self {
        Credentials {
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            session_token: session_token.map(str::to_owned),
        }
    }

    /// From the granted secrets `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (`Denied` naming
    /// the secret when one is not granted), plus `AWS_SESSION_TOKEN` only for a temporary key:
    /// AWS documents that STS key ids start with `ASIA` and long-term ones with `AKIA`. The token
    /// is not even asked for otherwise, because asking for a secret that is not granted records
    /// a denial, and the host then reports any later error of the call as that denial.
    pub fn from_secrets() -> Result<Self, ActionError> {
        let access_key_id = crate::secret("AWS_ACCESS_KEY_ID")?.trim().to_owned();
        let secret_access_key = crate::secret("AWS_SECRET_ACCESS_KEY")?.trim().to_owned();
        let session_token = if access_key_id.starts_with("ASIA") {
            Some(crate::secret("AWS_SESSION_TOKEN")?.trim().to_owned())
        } else {
            None
        };
        Ok(Credentials {
            access_key_id,
            secret_access_key,
            session_token,
        })
    }
}

/// The base URL of a service in a region, without a trailing slash:
/// `https://{prefix}.{region}.amazonaws.com` (`.amazonaws.com.cn` in China regions), where the
/// prefix is the service's signing name except `ses` → `email`. `endpoint_url` overrides it
/// (a VPC endpoint, moto, LocalStack); it must be an absolute http(s) URL.
pub fn endpoint(
    service: &str,
    region: &str,
    endpoint_url: Option<&str>,
) -> Result<String, ActionError> {
    if let Some(url) = endpoint_url.map(str::trim).filter(|u| !u.is_empty()) {
        let parsed = Url::parse(url).map_err(|e| {
            ActionError::InvalidInput(format!("endpoint_url `{url}` is not a valid URL: {e}"))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(ActionError::InvalidInput(format!(
                "endpoint_url `{url}` must be an absolute http(s) URL"
            )));
        }
        return Ok(url.trim_end_matches('/').to_owned());
    }
    // The region becomes part of a host name: refuse anything that could change the host.
    let valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !valid {
        return Err(ActionError::InvalidInput(format!(
            "region `{region}` is not an AWS region name (e.g. us-east-1)"
        )));
    }
    let prefix = match service {
        "ses" => "email",
        other => other,
    };
    let domain = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    Ok(format!("https://{prefix}.{region}.{domain}"))
}

/// A service in a region with credentials: signs and sends requests, maps AWS errors.
#[derive(Debug, Clone)]
pub struct Client {
    /// The signing name, e.g. `ec2`, `sns`, `ses`.
    pub service: String,
    pub region: String,
    /// Base URL from [`endpoint`], no trailing slash.
    pub endpoint: String,
    pub credentials: Credentials,
}

impl Client {
    /// Credentials from the granted secrets, the endpoint from [`endpoint`].
    pub fn new(
        service: &str,
        region: &str,
        endpoint_url: Option<&str>,
    ) -> Result<Self, ActionError> {
        let endpoint = endpoint(service, region, endpoint_url)?;
        Ok(Client {
            service: service.to_owned(),
            region: region.to_owned(),
            endpoint,
            credentials: Credentials::from_secrets()?,
        })
    }

    /// Sign `req` (any method, URL under any origin, body) and send it; a non-2xx answer becomes
    /// the mapped [`ActionError`] (see [`check`]), so `Ok` is always a 2xx response.
    pub fn send(&self, mut req: Request) -> Result<Response, ActionError> {
        sign(
            &mut req,
            &self.credentials,
            &self.service,
            &self.region,
            crate::now_unix_ms(),
        )?;
        let what = format!("AWS {} {}", self.service, req.method);
        check(http::send(&req)?, &what, crate::now_unix_ms())
    }

    /// One Query-protocol call (EC2, SNS, SES v1, STS, IAM…): `POST {endpoint}/` with the form
    /// body `Action=…&Version=…&params…`; returns the XML response body of a 2xx answer.
    /// List parameters are flattened by the caller (`InstanceId.1`, `InstanceId.2`, …).
    pub fn query(
        &self,
        action: &str,
        version: &str,
        params: &[(&str, &str)],
    ) -> Result<String, ActionError> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", version);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let mut req = Request::new("POST", &format!("{}/", self.endpoint));
        req.headers.push((
            "content-type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        ));
        req.body = form.finish().into_bytes();
        sign(
            &mut req,
            &self.credentials,
            &self.service,
            &self.region,
            crate::now_unix_ms(),
        )?;
        let what = format!("AWS {} {action}", self.service);
        let resp = check(http::send(&req)?, &what, crate::now_unix_ms())?;
        Ok(resp.text())
    }
}

/// Sign `req` in place with Signature Version 4 at `now_unix_ms`: adds `x-amz-date`,
/// `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and `authorization`,
/// replacing any earlier signature. Every header of `req` is signed, plus `host` (taken from the
/// URL; the HTTP stack sends it). The path is URI-encoded once more as every service but S3
/// expects, the query string is canonicalised (RFC 3986, sorted); build query values with `%20`,
/// not `+`.
pub fn sign(
    req: &mut Request,
    credentials: &Credentials,
    service: &str,
    region: &str,
    now_unix_ms: u64,
) -> Result<(), ActionError> {
    let url = Url::parse(&req.url).map_err(|e| {
        ActionError::InvalidInput(format!("url `{}` is not a valid URL: {e}", req.url))
    })?;
    const OURS: [&str; 4] = [
        "authorization",
        "x-amz-date",
        "x-amz-content-sha256",
        "x-amz-security-token",
    ];
    req.headers
        .retain(|(name, _)| !OURS.iter().any(|o| name.eq_ignore_ascii_case(o)));
    let amz_date = amz_date(now_unix_ms);
    let payload_hash = hex::encode(Sha256::digest(&req.body));
    req.headers.push(("x-amz-date".into(), amz_date.clone()));
    req.headers
        .push(("x-amz-content-sha256".into(), payload_hash.clone()));
    if let Some(token) = &credentials.session_token {
        req.headers
            .push(("x-amz-security-token".into(), token.clone()));
    }
    let authorization = authorization(
        credentials,
        service,
        region,
        &amz_date,
        &req.method,
        &url,
        &req.headers,
        &payload_hash,
    )?;
    req.headers.push(("authorization".into(), authorization));
    Ok(())
}

/// Map an AWS answer: 2xx is `Ok`; otherwise the error code and message from the body
/// (XML `<Code>`/`<Message>`, JSON `__type`/`code` and `message`/`Message`, or the
/// `x-amzn-ErrorType` header) decide: throttling codes, 429 and 5xx → `Retryable` (`RetryLater`
/// with Retry-After); credential and permission errors, 401, 403 → `Failed`; 400/404/409/413/422
/// → `InvalidInput`; anything else → `Failed`. `what` names the call ("AWS ec2 StopInstances").
pub fn check(resp: Response, what: &str, now_unix_ms: u64) -> Result<Response, ActionError> {
    if (200..300).contains(&resp.status) {
        return Ok(resp);
    }
    let (code, text) = error_details(&resp);
    let detail = match (&code, text) {
        (Some(code), Some(text)) => format!("{code}: {text}"),
        (Some(code), None) => code.clone(),
        (None, Some(text)) => text,
        (None, None) => excerpt(&resp.text()),
    };
    let message = format!("{what} failed (HTTP {}): {detail}", resp.status);
    let code = code.as_deref().unwrap_or("");
    Err(
        if resp.status == 429 || resp.status >= 500 || TRANSIENT_CODES.contains(&code) {
            match resp.retry_after_ms(now_unix_ms) {
                Some(after_ms) => ActionError::RetryLater(RetryLater { message, after_ms }),
                None => ActionError::Retryable(message),
            }
        } else if matches!(resp.status, 401 | 403) || CREDENTIAL_CODES.contains(&code) {
            ActionError::Failed(message)
        } else if matches!(resp.status, 400 | 404 | 409 | 413 | 422) {
            ActionError::InvalidInput(message)
        } else {
            ActionError::Failed(message)
        },
    )
}

/// The text of the first `<tag>…</tag>` element in `xml`, entities decoded; enough for the flat
/// values AWS Query responses carry (`MessageId`, `RequestId`, error `Code`).
pub fn xml_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&close)?;
    Some(xml_unescape(&xml[start..start + len]))
}

/// Codes AWS SDKs retry (botocore's standard retry mode), whatever the HTTP status.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "Unavailable",
];

/// Codes meaning the credentials or their permissions are wrong: retrying cannot help and the
/// input is not at fault.
const CREDENTIAL_CODES: &[&str] = &[
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSignatureException",
    "UnrecognizedClientException",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "ExpiredToken",
    "ExpiredTokenException",
    "RequestExpired",
    "OptInRequired",
];

/// (code, message) of an AWS error answer, from whichever of the usual shapes it has.
fn error_details(resp: &Response) -> (Option<String>, Option<String>) {
    let body = resp.text();
    let trimmed = body.trim_start();
    let (mut code, mut message) = (None, None);
    if trimmed.starts_with('<') {
        code = xml_text(&body, "Code");
        message = xml_text(&body, "Message");
    } else if let Ok(serde_json::Value::Object(json)) = serde_json::from_str(trimmed) {
        let field = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| json.get(*n).and_then(|v| v.as_str()).map(str::to_owned))
        };
        code = field(&["__type", "code", "Code"]);
        message = field(&["message", "Message", "errorMessage"]);
    }
    if code.is_none() {
        code = resp.header("x-amzn-errortype").map(str::to_owned);
    }
    // `__type` may be `com.amazon.coral.service#ThrottlingException`, the header
    // `ValidationException:http://internal.amazon.com/…`: keep the bare code.
    let code = code.map(|c| {
        let c = c.rsplit('#').next().unwrap_or(&c);
        c.split(':').next().unwrap_or(c).trim().to_owned()
    });
    (
        code.filter(|c| !c.is_empty()),
        message.filter(|m| !m.trim().is_empty()),
    )
}

fn excerpt(body: &str) -> String {
    let body = body.trim();
    match body.char_indices().nth(500) {
        Some((cut, _)) => format!("{}…", &body[..cut]),
        None => body.to_owned(),
    }
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let Some(semi) = rest.find(';') else { break };
        let entity = &rest[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .map(|h| u32::from_str_radix(h, 16))
                .or_else(|| entity.strip_prefix('#').map(str::parse))
                .and_then(Result::ok)
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// --- Signature Version 4 -------------------------------------------------------------------

type HmacSha256 = Hmac<Sha256>;

/// Headers the HTTP stack may add or rewrite on the way: signing them would break the signature.
const UNSIGNED_HEADERS: [&str; 3] = ["user-agent", "expect", "x-amzn-trace-id"];

/// The `authorization` header value for a request whose headers already include `x-amz-date`
/// (and whatever else should be signed); `host` comes from the URL.
#[allow(clippy::too_many_arguments)]
fn authorization(
    credentials: &Credentials,
    service: &str,
    region: &str,
    amz_date: &str,
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    payload_hash: &str,
) -> Result<String, ActionError> {
    let (canonical, signed_headers) = canonical_request(method, url, headers, payload_hash)?;
    let date = &amz_date[..8];
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(&credentials.secret_access_key, date, region, service);
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    Ok(format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key_id
    ))
}

/// The canonical request text and the `;`-joined signed header names.
fn canonical_request(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    payload_hash: &str,
) -> Result<(String, String), ActionError> {
    let host = url
        .host_str()
        .ok_or_else(|| ActionError::InvalidInput(format!("url `{url}` has no host")))?;
    let host = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // name → values in order; names lowercase, values trimmed with inner whitespace collapsed.
    let mut canonical: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    canonical.insert("host".into(), vec![host]);
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if name == "host" || UNSIGNED_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical.entry(name).or_default().push(value);
    }
    let header_lines: String = canonical
        .iter()
        .map(|(name, values)| format!("{name}:{}\n", values.join(",")))
        .collect();
    let signed_headers = canonical.keys().cloned().collect::<Vec<_>>().join(";");
    let text = format!(
        "{}\n{}\n{}\n{header_lines}\n{signed_headers}\n{payload_hash}",
        method.to_ascii_uppercase(),
        canonical_uri(url.path()),
        canonical_query(url.query().unwrap_or("")),
    );
    Ok((text, signed_headers))
}

/// Each path segment URI-encoded again (the URL's path is already encoded once), as AWS
/// expects for every service except S3.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/')
        .map(uri_encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Parameters decoded, RFC 3986-encoded and sorted by name, then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (
                uri_encode(&percent_decode(name)),
                uri_encode(&percent_decode(value)),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` as `%XX` (uppercase hex) of its UTF-8 bytes.
fn uri_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn percent_decode(text: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    hmac(&k_service, b"aws4_request")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// `YYYYMMDDTHHMMSSZ` (UTC) for a Unix time in milliseconds.
fn amz_date(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    //! Signatures from AWS's published examples: the IAM ListUsers walk-through of the SigV4
    //! documentation and the aws-sig-v4-test-suite (get-vanilla, …), so a wrong canonical form
    //! cannot pass silently.
    use super::*;
    use crate::StringMap;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const DATE: &str = "20150830T123600Z";
    /// 2015-08-30T12:36:00Z.
    const DATE_MS: u64 = 1_440_938_160_000;

    fn example() -> Credentials {
        Credentials::new(AKID, SECRET, None)
    }

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn authz(service: &str, method: &str, url: &str, hdrs: &[(&str, &str)], body: &[u8]) -> String {
        let url = Url::parse(url).unwrap();
        let payload = hex::encode(Sha256::digest(body));
        authorization(
            &example(),
            service,
            "us-east-1",
            DATE,
            method,
            &url,
            &headers(hdrs),
            &payload,
        )
        .unwrap()
    }

    fn suite(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    #[test]
    fn the_documented_iam_list_users_example() {
        let ct = "application/x-www-form-urlencoded; charset=utf-8";
        let url =
            Url::parse("https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08").unwrap();
        let empty = hex::encode(Sha256::digest(b""));
        let hdrs = headers(&[("Content-Type", ct), ("X-Amz-Date", DATE)]);
        let (canonical, _) = canonical_request("GET", &url, &hdrs, &empty).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
        );
        assert_eq!(
            hex::encode(signing_key(SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
        assert_eq!(
            authz(
                "iam",
                "GET",
                "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
                &[("Content-Type", ct), ("X-Amz-Date", DATE)],
                b""
            ),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn the_test_suite_vanilla_requests() {
        let date = [("X-Amz-Date", DATE)];
        assert_eq!(
            authz(
                "service",
                "GET",
                "https://example.amazonaws.com/",
                &date,
                b""
            ),
            suite(
                "host;x-amz-date",
                "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
            ),
            "get-vanilla"
        );
        assert_eq!(
            authz(
                "service",
                "GET",
                "https://example.amazonaws.com/?Param2=value2&Param1=value1",
                &date,
                b""
            ),
            suite(
                "host;x-amz-date",
                "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
            ),
            "get-vanilla-query-order-key-case"
        );
        assert_eq!(
            authz(
                "service",
                "POST",
                "https://example.amazonaws.com/",
                &date,
                b""
            ),
            suite(
                "host;x-amz-date",
                "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
            ),
            "post-vanilla"
        );
        assert_eq!(
            authz(
                "service",
                "POST",
                "https://example.amazonaws.com/",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("X-Amz-Date", DATE)
                ],
                b"Param1=value1"
            ),
            suite(
                "content-type;host;x-amz-date",
                "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
            ),
            "post-x-www-form-urlencoded"
        );
    }

    /// `sign` end to end: date from the clock, body hash header, host from the URL. Expected
    /// value from the AWS CRT's signer test (POST "hello" with x-amz-content-sha256).
    #[test]
    fn sign_adds_date_body_hash_and_authorization() {
        let mut req = Request::new("POST", "https://example.amazonaws.com/");
        req.headers.push(("Content-Length".into(), "5".into()));
        req.body = b"hello".to_vec();
        sign(&mut req, &example(), "service", "us-east-1", DATE_MS).unwrap();
        let get = |name: &str| {
            req.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-amz-date"), Some(DATE));
        assert_eq!(
            get("x-amz-content-sha256"),
            Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824")
        );
        assert_eq!(
            get("authorization"),
            Some(
                suite(
                    "content-length;host;x-amz-content-sha256;x-amz-date",
                    "8e17c5b22b7bb28da47f44b08691c087a0993d0965bfab053376360790d44d6c"
                )
                .as_str()
            )
        );
        assert_eq!(get("x-amz-security-token"), None);

        // Signing again replaces the previous signature instead of signing it.
        sign(&mut req, &example(), "service", "us-east-1", DATE_MS).unwrap();
        assert_eq!(
            req.headers
                .iter()
                .filter(|(n, _)| n == "authorization")
                .count(),
            1
        );
    }

    #[test]
    fn a_session_token_is_sent_and_signed() {
        let creds = Credentials::new(AKID, SECRET, Some("FQoGZXIvEXAMPLETOKEN"));
        let mut req = Request::new("GET", "http://127.0.0.1:5000/?b=2&a=1");
        sign(&mut req, &creds, "ec2", "eu-west-1", DATE_MS).unwrap();
        let auth = &req
            .headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert!(
            auth.contains(
                "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,"
            ),
            "{auth}"
        );
        assert!(
            auth.contains("/20150830/eu-west-1/ec2/aws4_request"),
            "{auth}"
        );
        assert!(
            req.headers
                .contains(&("x-amz-security-token".into(), "FQoGZXIvEXAMPLETOKEN".into()))
        );
        assert!(
            !format!("{creds:?}").contains("FQoGZXIvEXAMPLETOKEN"),
            "Debug redacts the token"
        );
        assert!(
            !format!("{creds:?}").contains(SECRET),
            "Debug redacts the key"
        );
    }

    #[test]
    fn canonical_forms() {
        // botocore encodes the already-encoded path once more (not S3).
        assert_eq!(
            canonical_uri("/v2/email/identities/ops%40example.com"),
            "/v2/email/identities/ops%2540example.com"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(
            canonical_query("b=x y&a=%2A&a=1&c&d=a+b"),
            "a=%2A&a=1&b=x%20y&c=&d=a%2Bb"
        );
        assert_eq!(uri_encode("-_.~ä/"), "-_.~%C3%A4%2F");
    }

    #[test]
    fn amz_dates() {
        assert_eq!(amz_date(DATE_MS), DATE);
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(951_782_400_000), "20000229T000000Z");
        assert_eq!(amz_date(1_798_761_599_999), "20261231T235959Z");
    }

    #[test]
    fn endpoints() {
        assert_eq!(
            endpoint("ec2", "us-east-1", None).unwrap(),
            "https://ec2.us-east-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("ses", "eu-west-1", None).unwrap(),
            "https://email.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint("sns", "cn-north-1", None).unwrap(),
            "https://sns.cn-north-1.amazonaws.com.cn"
        );
        assert_eq!(
            endpoint("ec2", "us-east-1", Some("http://127.0.0.1:5000/")).unwrap(),
            "http://127.0.0.1:5000"
        );
        assert!(endpoint("ec2", "evil.com/x", None).is_err());
        assert!(endpoint("ec2", "us-east-1", Some("ftp://x")).is_err());
    }

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect::<StringMap>(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn aws_errors_are_mapped_with_code_and_message() {
        let ec2 = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the provided access credentials</Message></Error></Errors><RequestID>r1</RequestID></Response>"#;
        let err = check(response(401, &[], ec2), "AWS ec2 StopInstances", 0).unwrap_err();
        let ActionError::Failed(m) = err else {
            panic!("{err:?}")
        };
        assert_eq!(
            m,
            "AWS ec2 StopInstances failed (HTTP 401): AuthFailure: AWS was not able to validate the provided access credentials"
        );

        let query = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameterValue</Code>\
                     <Message>Invalid parameter: PhoneNumber &amp; more</Message></Error></ErrorResponse>";
        let err = check(response(400, &[], query), "AWS sns Publish", 0).unwrap_err();
        let ActionError::InvalidInput(m) = err else {
            panic!("{err:?}")
        };
        assert!(
            m.ends_with("InvalidParameterValue: Invalid parameter: PhoneNumber & more"),
            "{m}"
        );

        // Throttling is retryable whatever the status; Retry-After is honoured.
        let throttled = "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        let err = check(response(400, &[], throttled), "x", 0).unwrap_err();
        assert!(
            matches!(err, ActionError::Retryable(ref m) if m.contains("Throttling: Rate exceeded")),
            "{err:?}"
        );
        let err = check(response(503, &[("retry-after", "7")], "{}"), "x", 0).unwrap_err();
        assert!(
            matches!(
                err,
                ActionError::RetryLater(RetryLater { after_ms: 7000, .. })
            ),
            "{err:?}"
        );

        // JSON protocols and REST APIs.
        let json = r#"{"__type":"com.amazonaws.sns#ThrottlingException","message":"slow down"}"#;
        let err = check(response(400, &[], json), "x", 0).unwrap_err();
        assert!(
            matches!(err, ActionError::Retryable(ref m) if m.contains("ThrottlingException: slow down")),
            "{err:?}"
        );
        let rest = r#"{"message":"Email address is not verified."}"#;
        let err = check(
            response(
                400,
                &[(
                    "x-amzn-errortype",
                    "MessageRejected:http://internal.amazon.com/coral/",
                )],
                rest,
            ),
            "x",
            0,
        )
        .unwrap_err();
        assert!(
            matches!(err, ActionError::InvalidInput(ref m) if m.ends_with("MessageRejected: Email address is not verified.")),
            "{err:?}"
        );
        let err = check(
            response(
                400,
                &[],
                r#"{"__type":"UnrecognizedClientException","message":"bad token"}"#,
            ),
            "x",
            0,
        )
        .unwrap_err();
        assert!(
            matches!(err, ActionError::Failed(_)),
            "credential errors are not the input's fault: {err:?}"
        );

        assert!(check(response(200, &[], "<ok/>"), "x", 0).is_ok());
    }

    #[test]
    fn xml_values() {
        let xml = "<PublishResponse><PublishResult><MessageId>a&lt;b&#x3e;&#99;</MessageId></PublishResult></PublishResponse>";
        assert_eq!(xml_text(xml, "MessageId").as_deref(), Some("a<b>c"));
        assert_eq!(xml_text(xml, "RequestId"), None);
        assert_eq!(xml_unescape("fish & chips &bogus;"), "fish & chips &bogus;");
    }
}
