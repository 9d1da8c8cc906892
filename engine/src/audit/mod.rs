//! The audit log's record and rules, pure: what an API call or a configuration change leaves
//! behind (who, when, what, from where, which request), which calls are recorded, the resource a
//! path names, and the query. The store appends (`store/audit.rs`, append-only, time-ordered
//! keys); the server's middleware fills a record per mutating call (`server/audit.rs`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a call is recorded as when it names nobody (no `X-Tocsin-Actor` header).
pub const ANONYMOUS: &str = "anonymous";
/// Who a configuration change (`serve --config`, `apply`, `POST /v1/apply`) is recorded as.
pub const CONFIG: &str = "config";
/// The header a caller names itself with. Not authentication: it is what the caller claims.
pub const ACTOR_HEADER: &str = "x-tocsin-actor";
/// The header carrying a request id in (kept when valid) and out (always).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Paths of callers that are providers, not people (SMS/voice/email replies, delivery callbacks,
/// alert sources): recorded with `who` = the (redacted) path.
const PROVIDER_PREFIXES: &[&str] = &["/v1/inbound/", "/v1/ingest/", "/v1/alerts/"];
/// POSTs that only read (queries with a body): not recorded.
const READ_ONLY_POSTS: &[&str] = &["/v1/incidents/list", "/v1/rotations/preview"];
/// Routes whose last segment is a signed link token (a credential: never stored).
const TOKEN_ROUTES: &[&str] = &["/v1/ack/", "/v1/inbound/page/"];

/// What kind of change a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuditKind {
    /// A mutating HTTP API call.
    ApiCall,
    /// Operator documents applied (contacts, schedules, escalation plans, response plans).
    ConfigChange,
}

/// One entry of the audit log. Never updated or deleted once appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// The record's key, `<unix-nanos:020>-<seq:04>` of `time`; set by the store on append.
    #[serde(default)]
    pub id: String,
    /// When the request arrived (or the configuration was applied).
    pub time: Timestamp,
    pub kind: AuditKind,
    /// `X-Tocsin-Actor`, `anonymous`, the provider path, or `config`.
    pub who: String,
    /// The HTTP method, or `APPLY` for a configuration change.
    pub method: String,
    /// The request path (signed tokens replaced by `{token}`); the files for a configuration
    /// change.
    pub path: String,
    /// The ARN / id the call acted on: from the path, else the created resource of the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The peer's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The HTTP status answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How long the handler took.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    /// The documents a configuration change applied, as `Kind/name`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
    /// What a configuration change did (the apply report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub what: Option<Value>,
}

impl AuditRecord {
    /// A configuration change: `documents` as `Kind/name`, `files` the sources, `what` the report.
    pub fn config_change(
        now: Timestamp,
        files: &[String],
        documents: Vec<String>,
        what: Value,
    ) -> Self {
        AuditRecord {
            id: String::new(),
            time: now,
            kind: AuditKind::ConfigChange,
            who: CONFIG.into(),
            method: "APPLY".into(),
            path: files.join(","),
            resource: None,
            source_address: None,
            request_id: None,
            status: None,
            duration_ms: None,
            documents,
            what: Some(what),
        }
    }

    /// The names a record is found by with `resource=`: its resource (and, for an ARN, the id
    /// that ends it, as paths may name either) and the names of the documents it applied.
    pub fn index_keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(r) = &self.resource {
            keys.extend(lookup_keys(r));
        }
        for d in &self.documents {
            let name = d.split_once('/').map_or(d.as_str(), |(_, n)| n);
            keys.push(name.to_owned());
        }
        keys.retain(|k| !k.is_empty() && !k.chars().any(char::is_control));
        keys.sort();
        keys.dedup();
        keys
    }
}

/// The index names to look a `resource=` query up under: itself, and for an ARN its trailing id.
pub fn lookup_keys(resource: &str) -> Vec<String> {
    let mut keys = vec![resource.to_owned()];
    if resource.starts_with("arn:")
        && let Some((_, id)) = resource.rsplit_once('/')
        && !id.is_empty()
    {
        keys.push(id.to_owned());
    }
    keys
}

/// Whether a call is recorded: a mutating method on `/v1/…`, except POSTs that only read.
pub fn is_audited(method: &str, path: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
        && path.starts_with("/v1/")
        && !READ_ONLY_POSTS.contains(&path.trim_end_matches('/'))
}

/// The path with any signed link token replaced by `{token}` (a token is a credential).
pub fn redact_path(path: &str) -> String {
    for prefix in TOKEN_ROUTES {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return format!("{prefix}{{token}}");
        }
    }
    path.to_owned()
}

/// For a provider callback, who it is recorded as: its (redacted) path.
pub fn provider(path: &str) -> Option<String> {
    PROVIDER_PREFIXES
        .iter()
        .any(|p| path.starts_with(p))
        .then(|| redact_path(path))
}

/// Who a call is recorded as: a provider's path, else the `X-Tocsin-Actor` it claims (trimmed,
/// at most 256 characters), else `anonymous`.
pub fn who(path: &str, actor: Option<&str>) -> String {
    if let Some(p) = provider(path) {
        return p;
    }
    match actor.map(str::trim) {
        Some(a) if !a.is_empty() => a.chars().take(256).collect(),
        _ => ANONYMOUS.into(),
    }
}

/// Whether an incoming request id is kept: 1–128 visible ASCII characters.
pub fn valid_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// The resource a path names: the percent-decoded segment after the collection
/// (`/v1/incidents/{id}/resolve` → the id, `/v1/contacts/{alias}` → the alias); for a signed
/// link, the page the token claims (not verified: the handler does that).
pub fn resource_of_path(path: &str) -> Option<String> {
    for prefix in TOKEN_ROUTES {
        if let Some(token) = path.strip_prefix(prefix) {
            return page_of_token(token);
        }
    }
    let rest = path.strip_prefix("/v1/")?;
    let mut segments = rest.split('/');
    let collection = segments.next()?;
    // Provider endpoints: the path names a channel type or a plan, not what was acted on.
    if matches!(collection, "inbound" | "alerts") {
        return None;
    }
    let id = segments.next().filter(|s| !s.is_empty())?;
    Some(percent_decode(id))
}

/// The resource a creating call's JSON answer names (`POST /v1/incidents` → the ARN).
pub fn resource_of_answer(answer: &Value) -> Option<String> {
    const KEYS: &[&str] = &[
        "incidentRecordArn",
        "engagementArn",
        "contactArn",
        "arn",
        "engagementId",
        "executionId",
        "id",
        "alias",
        "name",
    ];
    KEYS.iter()
        .find_map(|k| answer.get(*k)?.as_str().filter(|s| !s.is_empty()))
        .map(str::to_owned)
}

/// The page a link token claims (`base64url(purpose|page|expiry).mac`), unverified.
fn page_of_token(token: &str) -> Option<String> {
    let payload = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    let payload = String::from_utf8(payload).ok()?;
    let mut parts = payload.split('|');
    parts.next()?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_owned)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(v) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Most records one query answers.
pub const MAX_LIMIT: usize = 1000;
/// Records a query answers when it gives no limit.
pub const DEFAULT_LIMIT: usize = 100;

/// `GET /v1/audit`: records with `since ≤ time ≤ until` (both optional), found by `resource`
/// (see [`AuditRecord::index_keys`]), older than the `before` key (the previous page's
/// `nextToken`), newest first, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub resource: Option<String>,
    pub before: Option<String>,
    pub limit: usize,
}

/// One page of an audit query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub records: Vec<AuditRecord>,
    /// Pass as `nextToken` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mutating_v1_calls_are_audited_reads_are_not() {
        assert!(is_audited("POST", "/v1/incidents"));
        assert!(is_audited("DELETE", "/v1/contacts/alice"));
        assert!(is_audited("PUT", "/v1/schedules/a"));
        assert!(!is_audited("GET", "/v1/incidents"));
        assert!(!is_audited("POST", "/v1/incidents/list"));
        assert!(!is_audited("POST", "/v1/rotations/preview"));
        assert!(!is_audited("POST", "/healthz"));
    }

    #[test]
    fn resources_come_from_the_path_or_the_answer() {
        assert_eq!(
            resource_of_path("/v1/incidents/abc-123/resolve").as_deref(),
            Some("abc-123")
        );
        assert_eq!(
            resource_of_path(
                "/v1/incidents/arn%3Aaws%3Assm-incidents%3A%3A1%3Aincident-record%2Fp%2Fx"
            )
            .as_deref(),
            Some("arn:aws:ssm-incidents::1:incident-record/p/x")
        );
        assert_eq!(resource_of_path("/v1/incidents"), None);
        assert_eq!(resource_of_path("/v1/inbound/SMS"), None);
        assert_eq!(resource_of_path("/v1/bad%zz").as_deref(), None);
        assert_eq!(resource_of_path("/v1/c/%zz").as_deref(), Some("%zz"));
        assert_eq!(resource_of_path("/v1/c/a%2").as_deref(), Some("a%2"));
        let token = crate::engage::link::sign(
            b"k",
            crate::engage::link::Purpose::Ack,
            "eng-1-p2",
            Timestamp::UNIX_EPOCH,
        );
        assert_eq!(
            resource_of_path(&format!("/v1/ack/{token}")).as_deref(),
            Some("eng-1-p2")
        );
        assert_eq!(redact_path(&format!("/v1/ack/{token}")), "/v1/ack/{token}");
        assert_eq!(
            who(&format!("/v1/inbound/page/{token}"), Some("mallory")),
            "/v1/inbound/page/{token}"
        );
        assert_eq!(who("/v1/incidents", Some(" bob ")), "bob");
        assert_eq!(who("/v1/incidents", Some("")), ANONYMOUS);
        assert_eq!(who("/v1/incidents", None), ANONYMOUS);
        assert_eq!(
            resource_of_answer(&serde_json::json!({"incidentRecordArn": "arn:x", "id": "y"}))
                .as_deref(),
            Some("arn:x")
        );
    }

    #[test]
    fn an_arn_is_found_by_its_id_and_documents_by_name() {
        let mut r = AuditRecord::config_change(
            Timestamp::UNIX_EPOCH,
            &["a.yaml".into()],
            vec!["Contact/alice".into(), "ResponsePlan/db".into()],
            Value::Null,
        );
        assert_eq!(r.index_keys(), ["alice", "db"]);
        r.resource = Some("arn:aws:ssm-incidents::1:incident-record/db/abc".into());
        assert_eq!(
            r.index_keys(),
            [
                "abc",
                "alice",
                "arn:aws:ssm-incidents::1:incident-record/db/abc",
                "db"
            ]
        );
        assert!(valid_request_id("req-1"));
        assert!(!valid_request_id(""));
        assert!(!valid_request_id("a b"));
        assert!(!valid_request_id(&"x".repeat(129)));
    }
}
