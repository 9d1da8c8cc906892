//! HTTP surface of on-call: contacts and channels (with activation), schedules and rotations,
//! overrides, queries (who is on call, next hand-off, shifts, coverage, preview), copies, and the
//! iCalendar / vCard exports. Also the synchronous operations the CLI uses on a data directory
//! when no server runs ([`apply_docs`], [`schedule_state`]). Decisions are the pure `oncall`
//! functions with `now` read here; every 2xx write is committed (redb, durable) before answering.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::{SignedDuration, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::audit::AuditRecord;
use crate::config::oncall_docs::{
    DocProblem, Existing, OncallDocs, OncallDocsError, check_batch, parse_oncall_files,
};
use crate::oncall::{
    self, ActivationStatus, ChannelType, Contact, ContactChannel, ContactType, FieldError,
    OnCallSchedule, OncallError, OverrideMisfit, PreviewOverride, Rotation, RotationCopy,
    RotationOverride, check_rotation_contacts, validate_channel, validate_contact,
    validate_schedule,
};
use crate::plugin::CallContext;
use crate::store::{OncallTx, PendingCode, Store, StoreError};

/// Wrong activation codes accepted before the pending code is void.
pub const MAX_CODE_ATTEMPTS: u32 = 5;
/// Default window of calendar feeds: this far back from now …
const FEED_BACK_DAYS: i64 = 7;
/// … to this far ahead.
const FEED_AHEAD_DAYS: i64 = 90;
/// Default window of shift lists and coverage reports, from now.
const SHIFTS_DAYS: i64 = 7;

/// Why an on-call request failed. Each maps to one status and a JSON body
/// `{error, message, errors: [{field, rule}]}`.
#[derive(Debug, thiserror::Error)]
pub enum OncallApiError {
    /// The input broke on-call rules (400).
    #[error("{0}")]
    Invalid(#[from] OncallError),
    /// The request body is not the expected JSON (400).
    #[error("request body: {0}")]
    BadJson(FieldError),
    /// A batch of YAML documents was refused; nothing was applied (400).
    #[error("{0}")]
    Docs(#[from] OncallDocsError),
    #[error("no {what} {name:?}: list them with GET {list}")]
    NotFound {
        what: &'static str,
        name: String,
        list: &'static str,
    },
    /// The request clashes with stored state (409).
    #[error("{0}")]
    Conflict(FieldError),
    /// A plugin could not deliver (502); the write before it is committed.
    #[error("sending through plugin instance `{instance}` failed: {message}")]
    Delivery { instance: String, message: String },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl OncallApiError {
    fn status_kind(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid-input"),
            Self::BadJson(_) => (StatusCode::BAD_REQUEST, "invalid-json"),
            Self::Docs(_) => (StatusCode::BAD_REQUEST, "invalid-documents"),
            Self::NotFound { .. } => (StatusCode::NOT_FOUND, "not-found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::Delivery { .. } => (StatusCode::BAD_GATEWAY, "delivery-failed"),
            Self::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store-error"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    pub(super) fn conflict(field: &str, rule: impl Into<String>) -> Self {
        Self::Conflict(FieldError::new(field, rule))
    }

    pub(super) fn invalid(field: &str, rule: impl Into<String>) -> Self {
        Self::Invalid(OncallError::one(field, rule))
    }
}

impl IntoResponse for OncallApiError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_kind();
        if status.is_server_error() {
            tracing::error!(error = %self, kind, "on-call request failed");
        } else {
            tracing::debug!(error = %self, kind, "on-call request refused");
        }
        let errors = match &self {
            Self::Invalid(e) => json!(e.errors),
            Self::BadJson(e) | Self::Conflict(e) => json!([e]),
            Self::Docs(e) => json!(e.problems),
            _ => json!([]),
        };
        let body = json!({ "error": kind, "message": self.to_string(), "errors": errors });
        (status, Json(body)).into_response()
    }
}

pub(super) type ApiResult = Result<Response, OncallApiError>;

fn not_found_contact(alias: &str) -> OncallApiError {
    OncallApiError::NotFound {
        what: "contact",
        name: alias.to_owned(),
        list: "/v1/contacts",
    }
}

fn not_found_schedule(alias: &str) -> OncallApiError {
    OncallApiError::NotFound {
        what: "on-call schedule",
        name: alias.to_owned(),
        list: "/v1/schedules",
    }
}

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/apply", post(apply))
        .route("/v1/contacts", get(list_contacts).post(create_contact))
        .route(
            "/v1/contacts/{alias}",
            get(get_contact).put(put_contact).delete(delete_contact),
        )
        .route("/v1/contacts/{alias}/vcard", get(contact_vcard))
        .route("/v1/contacts/{alias}/calendar.ics", get(contact_calendar))
        .route(
            "/v1/contacts/{alias}/channels",
            get(list_channels).post(create_channel),
        )
        .route(
            "/v1/contacts/{alias}/channels/{name}",
            get(get_channel).put(put_channel).delete(delete_channel),
        )
        .route(
            "/v1/contacts/{alias}/channels/{name}/send-activation-code",
            post(send_code),
        )
        .route(
            "/v1/contacts/{alias}/channels/{name}/activate",
            post(activate_channel),
        )
        .route(
            "/v1/contacts/{alias}/channels/{name}/deactivate",
            post(deactivate_channel),
        )
        .route("/v1/inbound/{channel_type}", post(inbound))
        .route("/v1/schedules", get(list_schedules).post(create_schedule))
        .route(
            "/v1/schedules/{alias}",
            get(get_schedule).put(put_schedule).delete(delete_schedule),
        )
        .route("/v1/schedules/{alias}/rotations", post(add_rotation))
        .route(
            "/v1/schedules/{alias}/rotations/{name}",
            get(get_rotation).put(put_rotation).delete(delete_rotation),
        )
        .route(
            "/v1/schedules/{alias}/overrides",
            get(list_overrides).post(create_override),
        )
        .route(
            "/v1/schedules/{alias}/overrides/{id}",
            get(get_override).delete(delete_override),
        )
        .route("/v1/schedules/{alias}/oncall", get(on_call))
        .route("/v1/schedules/{alias}/next-handoff", get(next_handoff))
        .route("/v1/schedules/{alias}/shifts", get(shifts))
        .route("/v1/schedules/{alias}/coverage", get(coverage))
        .route("/v1/schedules/{alias}/calendar.ics", get(schedule_calendar))
        .route("/v1/schedules/{alias}/copy", post(copy_schedule))
        .route("/v1/rotations/preview", post(preview))
}

// ---------------------------------------------------------------------------------------------
// plumbing

async fn blocking<T, F>(state: &Arc<AppState>, f: F) -> Result<T, OncallApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, OncallApiError> + Send + 'static,
{
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state.store))
        .await
        .map_err(|e| OncallApiError::Internal(format!("worker task failed: {e}")))?
}

pub(super) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, OncallApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        let field = match msg
            .strip_prefix("missing field `")
            .and_then(|m| m.split('`').next())
        {
            Some(name) if path == "." => name.to_owned(),
            Some(name) => format!("{path}.{name}"),
            None if path == "." => "(body)".to_owned(),
            None => path,
        };
        OncallApiError::BadJson(FieldError::new(field, msg))
    })
}

type Params = Query<HashMap<String, String>>;

/// An instant from a query parameter: RFC 3339 with an offset, or `now`.
fn instant(
    q: &HashMap<String, String>,
    name: &str,
    default: Timestamp,
) -> Result<Timestamp, OncallApiError> {
    match q.get(name).map(|s| s.trim()) {
        None | Some("") => Ok(default),
        Some("now") => Ok(Timestamp::now()),
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            OncallApiError::invalid(
                name,
                format!("{s:?} is not an RFC 3339 instant with an offset, e.g. 2026-03-08T10:00:00Z or 2026-03-08T02:00:00-08:00"),
            )
        }),
    }
}

fn days(n: i64) -> SignedDuration {
    SignedDuration::from_hours(24 * n)
}

fn window(
    q: &HashMap<String, String>,
    now: Timestamp,
    back: i64,
    ahead: i64,
) -> Result<(Timestamp, Timestamp), OncallApiError> {
    let from = instant(q, "from", now.checked_sub(days(back)).unwrap_or(now))?;
    let to = instant(
        q,
        "to",
        from.checked_add(days(back + ahead)).unwrap_or(from),
    )?;
    if to <= from {
        return Err(OncallApiError::invalid(
            "to",
            "must be after `from` (the window is [from, to))",
        ));
    }
    Ok((from, to))
}

fn created<T: Serialize>(v: &T) -> Response {
    (StatusCode::CREATED, Json(v)).into_response()
}

fn ok<T: Serialize>(v: &T) -> Response {
    Json(v).into_response()
}

fn text(content_type: &'static str, body: String) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn plugin_types(state: &AppState) -> Vec<String> {
    state.plugins.instance_names()
}

fn with_prefix(prefix: &str, e: OncallError) -> OncallError {
    OncallError {
        errors: e
            .errors
            .into_iter()
            .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.rule))
            .collect(),
    }
}

/// Where `alias` is a rotation member: `(schedule, rotation)` pairs.
fn memberships(tx: &OncallTx<'_>, alias: &str) -> Result<Vec<(String, String)>, StoreError> {
    let mut out = Vec::new();
    for s in tx.schedules()? {
        for r in &s.rotations {
            if r.contacts.iter().any(|c| c == alias) {
                out.push((s.alias.clone(), r.name.clone()));
            }
        }
    }
    Ok(out)
}

fn alias_free(tx: &OncallTx<'_>, alias: &str) -> Result<(), OncallApiError> {
    if tx.contact(alias)?.is_some() {
        return Err(OncallApiError::conflict(
            "alias",
            format!(
                "alias {alias:?} is already a contact: aliases are unique across contacts and schedules"
            ),
        ));
    }
    if tx.schedule(alias)?.is_some() {
        return Err(OncallApiError::conflict(
            "alias",
            format!(
                "alias {alias:?} is already an on-call schedule: aliases are unique across contacts and schedules"
            ),
        ));
    }
    Ok(())
}

/// Every rotation member must be a stored PERSONAL contact.
fn check_members(tx: &OncallTx<'_>, schedule: &OnCallSchedule) -> Result<(), OncallApiError> {
    let contacts: BTreeMap<String, ContactType> = tx
        .contacts()?
        .into_iter()
        .map(|c| (c.alias, c.contact_type))
        .collect();
    let mut errors = Vec::new();
    for (i, r) in schedule.rotations.iter().enumerate() {
        if let Err(e) =
            check_rotation_contacts(r, |a| contacts.get(a) == Some(&ContactType::Personal))
        {
            errors.extend(with_prefix(&format!("rotations[{i}]."), e).errors);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(OncallError { errors }.into())
    }
}

/// A channel written without `activationStatus: ACTIVATED` keeps the status of the stored
/// channel of the same name when its type and address are unchanged (re-applying a file does
/// not undo activations).
fn keep_activation(old: Option<&Contact>, new: &mut Contact) {
    let Some(old) = old else { return };
    for ch in &mut new.channels {
        if ch.activation_status == ActivationStatus::NotActivated
            && let Some(o) = old.channel(&ch.name)
            && o.channel_type == ch.channel_type
            && o.delivery_address == ch.delivery_address
        {
            ch.activation_status = o.activation_status;
        }
    }
}

/// A misfit override of a rotation (kept, but it no longer fits the rotation's new setup).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleMisfit {
    pub schedule: String,
    pub rotation: String,
    #[serde(flatten)]
    pub misfit: OverrideMisfit,
}

/// Replaces `old` by `new` (same alias): rotations kept by name are edited (overrides kept,
/// misfits reported); overrides of removed rotations are deleted.
fn replace_schedule(
    tx: &OncallTx<'_>,
    old: &OnCallSchedule,
    new: &OnCallSchedule,
    now: Timestamp,
) -> Result<Vec<ScheduleMisfit>, OncallApiError> {
    let overrides = tx.overrides(&old.alias)?;
    let mut misfits = Vec::new();
    let mut errors = Vec::new();
    for (i, r) in new.rotations.iter().enumerate() {
        if let Some(o) = old.rotations.iter().find(|o| o.name == r.name) {
            match oncall::edit_rotation(o, r, &overrides, now) {
                Ok(edit) => misfits.extend(edit.misfits.into_iter().map(|m| ScheduleMisfit {
                    schedule: new.alias.clone(),
                    rotation: r.name.clone(),
                    misfit: m,
                })),
                Err(e) => errors.extend(with_prefix(&format!("rotations[{i}]."), e).errors),
            }
        }
    }
    if !errors.is_empty() {
        return Err(OncallError { errors }.into());
    }
    for o in &overrides {
        if !new.rotations.iter().any(|r| r.name == o.rotation) {
            tx.delete_override(&old.alias, &o.id)?;
        }
    }
    tx.put_schedule(new)?;
    Ok(misfits)
}

// ---------------------------------------------------------------------------------------------
// apply

/// What an apply did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub contacts_created: Vec<String>,
    pub contacts_updated: Vec<String>,
    pub schedules_created: Vec<String>,
    pub schedules_updated: Vec<String>,
    /// Escalation plans written (created or replaced).
    pub plans_applied: Vec<String>,
    /// Response plans written (created or replaced).
    pub response_plans_applied: Vec<String>,
    /// Kept overrides that no longer fit their edited rotation.
    pub misfits: Vec<serde_json::Value>,
    /// Documents of other kinds (Plugin, …) that apply does not handle.
    pub skipped: usize,
}

/// Applies a batch in one transaction: everything is validated first (each document, aliases
/// unique across contacts and schedules, rotation members exist), then written and committed,
/// or nothing is written.
pub fn apply_docs(
    store: &Store,
    docs: &OncallDocs,
    plugin_types: &[&str],
    now: Timestamp,
) -> Result<ApplyReport, OncallApiError> {
    store.oncall_write(|tx| {
        let stored_contacts = tx.contacts()?;
        let stored_schedules = tx.schedules()?;
        let existing = Existing {
            contacts: stored_contacts
                .iter()
                .map(|c| (c.alias.clone(), c.contact_type))
                .collect(),
            schedules: stored_schedules.iter().map(|s| s.alias.clone()).collect(),
        };
        let mut problems = check_batch(docs, &existing, plugin_types);
        // A stored schedule outside the batch keeps its members PERSONAL.
        for c in &docs.contacts {
            if c.item.contact_type == ContactType::Personal {
                continue;
            }
            for s in &stored_schedules {
                if docs.schedules.iter().any(|d| d.item.alias == s.alias) {
                    continue;
                }
                for r in &s.rotations {
                    if r.contacts.contains(&c.item.alias) {
                        problems.push(DocProblem {
                            file: c.file.clone(),
                            document: c.document,
                            field: "type".into(),
                            rule: format!(
                                "{:?} is a member of rotation {:?} of schedule {:?}: it must stay PERSONAL",
                                c.item.alias, r.name, s.alias
                            ),
                        });
                    }
                }
            }
        }
        // Rotations kept by name cannot change their start time.
        for d in &docs.schedules {
            let Some(old) = stored_schedules.iter().find(|s| s.alias == d.item.alias) else {
                continue;
            };
            for (i, r) in d.item.rotations.iter().enumerate() {
                if let Some(o) = old.rotations.iter().find(|o| o.name == r.name)
                    && o.start_time != r.start_time
                {
                    problems.push(DocProblem {
                        file: d.file.clone(),
                        document: d.document,
                        field: format!("rotations[{i}].startTime"),
                        rule: format!(
                            "rotation {:?} is stored with startTime {}: a rotation's start time cannot change (give the rotation a new name, or copy the schedule)",
                            r.name, o.start_time
                        ),
                    });
                }
            }
        }
        if !problems.is_empty() {
            return Err(OncallDocsError { problems }.into());
        }
        let mut report = ApplyReport {
            skipped: docs.skipped,
            ..Default::default()
        };
        for c in &docs.contacts {
            let old = stored_contacts.iter().find(|o| o.alias == c.item.alias);
            let mut new = c.item.clone();
            keep_activation(old, &mut new);
            tx.put_contact(&new)?;
            if old.is_some() {
                report.contacts_updated.push(new.alias);
            } else {
                report.contacts_created.push(new.alias);
            }
        }
        for rp in &docs.response_plans {
            tx.engage()?.put_response_plan(&rp.item)?;
            report.response_plans_applied.push(rp.item.name.clone());
        }
        for p in &docs.plans {
            tx.put_contact(&Contact {
                alias: p.item.alias.clone(),
                display_name: p.item.display_name.clone(),
                contact_type: ContactType::Escalation,
                channels: Vec::new(),
                engagement_plan: None,
                tags: p.item.tags.clone(),
            })?;
            tx.put_plan(&p.item)?;
            report.plans_applied.push(p.item.alias.clone());
        }
        for d in &docs.schedules {
            match stored_schedules.iter().find(|s| s.alias == d.item.alias) {
                Some(old) => {
                    let misfits = replace_schedule(tx, old, &d.item, now)?;
                    report
                        .misfits
                        .extend(misfits.iter().map(|m| json!(m)));
                    report.schedules_updated.push(d.item.alias.clone());
                }
                None => {
                    tx.put_schedule(&d.item)?;
                    report.schedules_created.push(d.item.alias.clone());
                }
            }
        }
        if !docs.is_empty() {
            // The audit record commits with the change it describes.
            tx.append_audit(&config_audit(docs, &report, now))?;
        }
        Ok(report)
    })
}

/// The audit record of an applied batch: its files, its documents as `Kind/name`, the report.
fn config_audit(docs: &OncallDocs, report: &ApplyReport, now: Timestamp) -> AuditRecord {
    let mut files: Vec<String> = Vec::new();
    let mut documents = Vec::new();
    let mut add = |kind: &str, file: &str, name: &str| {
        if !files.iter().any(|f| f == file) {
            files.push(file.to_owned());
        }
        documents.push(format!("{kind}/{name}"));
    };
    for c in &docs.contacts {
        add("Contact", &c.file, &c.item.alias);
    }
    for s in &docs.schedules {
        add("OnCallSchedule", &s.file, &s.item.alias);
    }
    for p in &docs.plans {
        add("EscalationPlan", &p.file, &p.item.alias);
    }
    for r in &docs.response_plans {
        add("ResponsePlan", &r.file, &r.item.name);
    }
    AuditRecord::config_change(now, &files, documents, json!(report))
}

/// Parses and applies `(path, text)` YAML files (used by `serve --config` and `apply`).
pub fn apply_files(
    store: &Store,
    files: &[(String, String)],
    plugin_types: &[&str],
    now: Timestamp,
) -> Result<ApplyReport, OncallApiError> {
    let docs = parse_oncall_files(files)?;
    let report = apply_docs(store, &docs, plugin_types, now)?;
    tracing::info!(
        contacts_created = report.contacts_created.len(),
        contacts_updated = report.contacts_updated.len(),
        schedules_created = report.schedules_created.len(),
        schedules_updated = report.schedules_updated.len(),
        misfits = report.misfits.len(),
        "applied on-call documents"
    );
    Ok(report)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyRequest {
    files: Vec<ApplyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyFile {
    path: String,
    text: String,
}

async fn apply(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let req: ApplyRequest = body(&bytes)?;
    let files: Vec<(String, String)> = req.files.into_iter().map(|f| (f.path, f.text)).collect();
    let types = plugin_types(&state);
    let report = blocking(&state, move |store| {
        let types: Vec<&str> = types.iter().map(String::as_str).collect();
        apply_files(store, &files, &types, Timestamp::now())
    })
    .await?;
    Ok(ok(&report))
}

// ---------------------------------------------------------------------------------------------
// contacts

async fn list_contacts(State(state): State<Arc<AppState>>) -> ApiResult {
    let contacts = blocking(&state, |s| Ok(s.oncall_read(|tx| tx.contacts())?)).await?;
    Ok(ok(&json!({ "contacts": contacts })))
}

fn load_contact(tx: &OncallTx<'_>, alias: &str) -> Result<Contact, OncallApiError> {
    tx.contact(alias)?.ok_or_else(|| not_found_contact(alias))
}

async fn get_contact(State(state): State<Arc<AppState>>, Path(alias): Path<String>) -> ApiResult {
    let c = blocking(&state, move |s| {
        s.oncall_read(|tx| load_contact(tx, &alias))
    })
    .await?;
    Ok(ok(&c))
}

fn check_contact(contact: &Contact, types: &[String]) -> Result<(), OncallApiError> {
    if contact.contact_type == ContactType::OncallSchedule {
        return Err(OncallApiError::invalid(
            "type",
            "ONCALL_SCHEDULE contacts are created with POST /v1/schedules (with their rotations)",
        ));
    }
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    validate_contact(contact, &types)?;
    Ok(())
}

async fn create_contact(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let contact: Contact = body(&bytes)?;
    check_contact(&contact, &plugin_types(&state))?;
    let c = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            alias_free(tx, &contact.alias)?;
            tx.put_contact(&contact)?;
            Ok(contact)
        })
    })
    .await?;
    tracing::info!(alias = %c.alias, "contact created");
    Ok(created(&c))
}

async fn put_contact(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let mut contact: Contact = body(&bytes)?;
    if contact.alias != alias {
        return Err(OncallApiError::invalid(
            "alias",
            format!(
                "the body's alias {:?} differs from the URL's {alias:?}: an alias cannot change",
                contact.alias
            ),
        ));
    }
    check_contact(&contact, &plugin_types(&state))?;
    let c = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let old = load_contact(tx, &alias)?;
            if contact.contact_type != ContactType::Personal
                && let Some((sched, rot)) = memberships(tx, &alias)?.into_iter().next()
            {
                return Err(OncallApiError::conflict(
                    "type",
                    format!("{alias:?} is a member of rotation {rot:?} of schedule {sched:?}: it must stay PERSONAL"),
                ));
            }
            keep_activation(Some(&old), &mut contact);
            tx.put_contact(&contact)?;
            Ok(contact)
        })
    })
    .await?;
    Ok(ok(&c))
}

async fn delete_contact(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
) -> ApiResult {
    blocking(&state, move |s| {
        s.oncall_write(|tx| {
            load_contact(tx, &alias)?;
            let m = memberships(tx, &alias)?;
            if let Some((sched, rot)) = m.first() {
                return Err(OncallApiError::conflict(
                    "alias",
                    format!("{alias:?} is a member of rotation {rot:?} of schedule {sched:?} ({} rotation(s) in all): remove it from them first", m.len()),
                ));
            }
            tx.delete_contact(&alias)?;
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn contact_vcard(State(state): State<Arc<AppState>>, Path(alias): Path<String>) -> ApiResult {
    let c = blocking(&state, move |s| {
        s.oncall_read(|tx| load_contact(tx, &alias))
    })
    .await?;
    Ok(text(
        "text/vcard; charset=utf-8",
        oncall::vcard::contact_vcard(&c),
    ))
}

async fn contact_calendar(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let now = Timestamp::now();
    let (from, to) = window(&q, now, FEED_BACK_DAYS, FEED_AHEAD_DAYS)?;
    let ics = blocking(&state, move |s| {
        s.oncall_read(|tx| {
            load_contact(tx, &alias)?;
            let contacts = tx.contacts()?;
            let mut sched = Vec::new();
            for sc in tx.schedules()? {
                if sc.rotations.iter().any(|r| r.contacts.contains(&alias)) {
                    let ov = tx.overrides(&sc.alias)?;
                    sched.push((sc, ov));
                }
            }
            let refs: Vec<(&OnCallSchedule, &[RotationOverride])> =
                sched.iter().map(|(s, o)| (s, o.as_slice())).collect();
            Ok(oncall::ical::contact_calendar(
                &alias, &refs, &contacts, from, to, now,
            )?)
        })
    })
    .await?;
    Ok(text("text/calendar; charset=utf-8", ics))
}

// ---------------------------------------------------------------------------------------------
// channels

fn personal(tx: &OncallTx<'_>, alias: &str) -> Result<Contact, OncallApiError> {
    let c = load_contact(tx, alias)?;
    if c.contact_type != ContactType::Personal {
        return Err(OncallApiError::invalid(
            "alias",
            format!(
                "{alias:?} is {:?}: only PERSONAL contacts have channels",
                c.contact_type
            ),
        ));
    }
    Ok(c)
}

fn channel_index(c: &Contact, name: &str) -> Result<usize, OncallApiError> {
    c.channels
        .iter()
        .position(|ch| ch.name == name)
        .ok_or_else(|| OncallApiError::NotFound {
            what: "channel",
            name: format!("{}/{name}", c.alias),
            list: "/v1/contacts/{alias}/channels",
        })
}

async fn list_channels(State(state): State<Arc<AppState>>, Path(alias): Path<String>) -> ApiResult {
    let c = blocking(&state, move |s| {
        s.oncall_read(|tx| load_contact(tx, &alias))
    })
    .await?;
    Ok(ok(&json!({ "channels": c.channels })))
}

async fn get_channel(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    let ch = blocking(&state, move |s| {
        s.oncall_read(|tx| {
            let c = load_contact(tx, &alias)?;
            let i = channel_index(&c, &name)?;
            Ok(c.channels[i].clone())
        })
    })
    .await?;
    Ok(ok(&ch))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ChannelCreated {
    channel: ContactChannel,
    activation_code_sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    activation_error: Option<String>,
}

async fn create_channel(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
    bytes: Bytes,
) -> ApiResult {
    let channel: ContactChannel = body(&bytes)?;
    let types = plugin_types(&state);
    {
        let t: Vec<&str> = types.iter().map(String::as_str).collect();
        validate_channel(&channel, &t)?;
    }
    let a = alias.clone();
    let ch = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut c = personal(tx, &a)?;
            if c.channel(&channel.name).is_some() {
                return Err(OncallApiError::conflict(
                    "name",
                    format!("{a:?} already has a channel named {:?}", channel.name),
                ));
            }
            c.channels.push(channel.clone());
            let t: Vec<&str> = types.iter().map(String::as_str).collect();
            validate_contact(&c, &t)?;
            tx.put_contact(&c)?;
            Ok(channel)
        })
    })
    .await?;
    let defer = q.get("deferActivation").is_some_and(|v| v == "true");
    let mut out = ChannelCreated {
        channel: ch.clone(),
        activation_code_sent: false,
        activation_error: None,
    };
    if ch.activation_status == ActivationStatus::NotActivated && !defer {
        match send_activation_code(&state, &alias, &ch.name).await {
            Ok(()) => out.activation_code_sent = true,
            Err(e) => out.activation_error = Some(e.to_string()),
        }
    }
    Ok(created(&out))
}

async fn put_channel(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let mut channel: ContactChannel = body(&bytes)?;
    if channel.name != name {
        return Err(OncallApiError::invalid(
            "name",
            format!(
                "the body's name {:?} differs from the URL's {name:?}: a channel name cannot change",
                channel.name
            ),
        ));
    }
    let types = plugin_types(&state);
    let ch = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut c = personal(tx, &alias)?;
            let i = channel_index(&c, &name)?;
            let old = &c.channels[i];
            if channel.activation_status == ActivationStatus::NotActivated
                && old.channel_type == channel.channel_type
                && old.delivery_address == channel.delivery_address
            {
                channel.activation_status = old.activation_status;
            }
            c.channels[i] = channel.clone();
            let t: Vec<&str> = types.iter().map(String::as_str).collect();
            validate_contact(&c, &t)?;
            tx.put_contact(&c)?;
            Ok(channel)
        })
    })
    .await?;
    Ok(ok(&ch))
}

async fn delete_channel(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut c = personal(tx, &alias)?;
            let i = channel_index(&c, &name)?;
            if let Some(plan) = &c.engagement_plan
                && let Some(j) = plan.stages.iter().position(|st| st.channel == name)
            {
                return Err(OncallApiError::conflict(
                    &format!("engagementPlan.stages[{j}].channel"),
                    format!(
                        "channel {name:?} is used by the engagement plan: change the plan first"
                    ),
                ));
            }
            c.channels.remove(i);
            tx.put_contact(&c)?;
            tx.delete_pending_code(&alias, &name)?;
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.trim().as_bytes()))
}

/// Stores a fresh code (its hash) and sends it through the channel's plugin instance.
async fn send_activation_code(
    state: &Arc<AppState>,
    alias: &str,
    name: &str,
) -> Result<(), OncallApiError> {
    let code = format!("{:06}", uuid::Uuid::new_v4().as_u128() % 1_000_000);
    let (a, n, hash) = (alias.to_owned(), name.to_owned(), sha256_hex(&code));
    let channel = blocking(state, move |s| {
        s.oncall_write(|tx| {
            let c = personal(tx, &a)?;
            let ch = c.channels[channel_index(&c, &n)?].clone();
            if ch.activation_status == ActivationStatus::Activated {
                return Err(OncallApiError::conflict(
                    "activationStatus",
                    format!("channel {n:?} of {a:?} is already ACTIVATED"),
                ));
            }
            tx.put_pending_code(
                &a,
                &n,
                &PendingCode {
                    code_sha256: hash,
                    sent_at: Timestamp::now(),
                    failed_attempts: 0,
                },
            )?;
            Ok(ch)
        })
    })
    .await?;
    let instance = channel.plugin_instance().to_owned();
    let input = json!({
        "message": format!(
            "Tocsin: your activation code for channel \"{}\" of {alias} is {code}",
            channel.name
        ),
        "recipient": channel.delivery_address,
    });
    let call = CallContext {
        invocation_id: format!("activation/{alias}/{name}/{}", uuid::Uuid::now_v7()),
        ..CallContext::default()
    };
    match state
        .plugins
        .invoke(&instance, "notify", &input, call)
        .await
    {
        Ok(_) => {
            tracing::info!(%alias, channel = %name, %instance, "activation code sent");
            Ok(())
        }
        Err(e) => {
            tracing::warn!(%alias, channel = %name, %instance, error = %e, "activation code not sent");
            Err(OncallApiError::Delivery {
                instance,
                message: e.to_string(),
            })
        }
    }
}

async fn send_code(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    send_activation_code(&state, &alias, &name).await?;
    Ok(ok(&json!({ "activationCodeSent": true })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ActivateRequest {
    activation_code: String,
}

enum Activation {
    Done(ContactChannel),
    Wrong(u32),
}

async fn activate_channel(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let req: ActivateRequest = body(&bytes)?;
    let outcome = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut c = personal(tx, &alias)?;
            let i = channel_index(&c, &name)?;
            let Some(mut pending) = tx.pending_code(&alias, &name)? else {
                return Err(OncallApiError::conflict(
                    "activationCode",
                    format!("no activation code is pending for channel {name:?}: POST …/channels/{name}/send-activation-code first"),
                ));
            };
            if pending.failed_attempts >= MAX_CODE_ATTEMPTS {
                return Err(OncallApiError::conflict(
                    "activationCode",
                    "too many wrong codes: send a new code",
                ));
            }
            let supplied = sha256_hex(&req.activation_code);
            match oncall::activate(&mut c.channels[i], &pending.code_sha256, &supplied) {
                Ok(()) => {
                    let ch = c.channels[i].clone();
                    tx.put_contact(&c)?;
                    tx.delete_pending_code(&alias, &name)?;
                    Ok(Activation::Done(ch))
                }
                Err(_) => {
                    // The failed attempt is committed, so guessing is bounded.
                    pending.failed_attempts += 1;
                    tx.put_pending_code(&alias, &name, &pending)?;
                    Ok(Activation::Wrong(MAX_CODE_ATTEMPTS - pending.failed_attempts))
                }
            }
        })
    })
    .await?;
    match outcome {
        Activation::Done(ch) => Ok(ok(&ch)),
        Activation::Wrong(left) => Err(OncallApiError::invalid(
            "activationCode",
            format!("does not match the code sent to this channel ({left} attempt(s) left)"),
        )),
    }
}

async fn deactivate_channel(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    let ch = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut c = personal(tx, &alias)?;
            let i = channel_index(&c, &name)?;
            c.channels[i].activation_status = ActivationStatus::NotActivated;
            tx.put_contact(&c)?;
            Ok(c.channels[i].clone())
        })
    })
    .await?;
    Ok(ok(&ch))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InboundRequest {
    from: String,
    body: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct InboundChange {
    contact: String,
    channel: String,
    activation_status: ActivationStatus,
}

/// A reply received on a channel (e.g. an SMS to our number): `STOP`/`UNSUBSCRIBE` deactivates
/// every channel of that type with that address, `START` reactivates; other text is ignored.
async fn inbound(
    State(state): State<Arc<AppState>>,
    Path(channel_type): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    // JSON `{from, body}`, or a provider's form post (Twilio: `From`, `Body`).
    let req: InboundRequest = if bytes.first() == Some(&b'{') {
        body(&bytes)?
    } else {
        let form: HashMap<String, String> =
            url::form_urlencoded::parse(&bytes).into_owned().collect();
        match (form.get("From"), form.get("Body")) {
            (Some(from), Some(text)) => InboundRequest {
                from: from.clone(),
                body: text.clone(),
            },
            _ => {
                return Err(OncallApiError::BadJson(FieldError::new(
                    "(body)",
                    "expected JSON {\"from\", \"body\"} or a form with From and Body",
                )));
            }
        }
    };
    let ty = match channel_type.to_ascii_uppercase().as_str() {
        "SMS" | "EMAIL" | "VOICE" => ChannelType::parse(&channel_type.to_ascii_uppercase()),
        _ => ChannelType::parse(&channel_type),
    };
    let Some(keyword) = oncall::inbound_keyword(&req.body) else {
        return super::engagements::reply(&state, &req.from, &req.body).await;
    };
    let from = req.from.trim().to_owned();
    let changed = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut changed = Vec::new();
            for mut c in tx.contacts()? {
                let mut touched = false;
                for ch in &mut c.channels {
                    if ch.channel_type == ty && ch.delivery_address == from {
                        ch.activation_status = oncall::after_keyword(ch.activation_status, keyword);
                        touched = true;
                        changed.push(InboundChange {
                            contact: c.alias.clone(),
                            channel: ch.name.clone(),
                            activation_status: ch.activation_status,
                        });
                    }
                }
                if touched {
                    tx.put_contact(&c)?;
                }
            }
            if changed.is_empty() {
                return Err(OncallApiError::NotFound {
                    what: "channel with address",
                    name: format!("{ty} {from}"),
                    list: "/v1/contacts",
                });
            }
            Ok(changed)
        })
    })
    .await?;
    for c in &changed {
        tracing::info!(contact = %c.contact, channel = %c.channel, status = ?c.activation_status, "inbound keyword applied");
    }
    let kw = match keyword {
        oncall::InboundKeyword::Stop => "STOP",
        oncall::InboundKeyword::Start => "START",
    };
    Ok(ok(&json!({ "keyword": kw, "changed": changed })))
}

// ---------------------------------------------------------------------------------------------
// schedules and rotations

fn load_schedule(tx: &OncallTx<'_>, alias: &str) -> Result<OnCallSchedule, OncallApiError> {
    tx.schedule(alias)?.ok_or_else(|| not_found_schedule(alias))
}

/// A schedule and its overrides, read together (for the CLI on a data directory, too).
pub fn schedule_state(
    store: &Store,
    alias: &str,
) -> Result<(OnCallSchedule, Vec<RotationOverride>), OncallApiError> {
    store.oncall_read(|tx| Ok((load_schedule(tx, alias)?, tx.overrides(alias)?)))
}

async fn list_schedules(State(state): State<Arc<AppState>>) -> ApiResult {
    let s = blocking(&state, |s| Ok(s.oncall_read(|tx| tx.schedules())?)).await?;
    Ok(ok(&json!({ "schedules": s })))
}

async fn get_schedule(State(state): State<Arc<AppState>>, Path(alias): Path<String>) -> ApiResult {
    let s = blocking(&state, move |s| {
        s.oncall_read(|tx| load_schedule(tx, &alias))
    })
    .await?;
    Ok(ok(&s))
}

async fn create_schedule(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let schedule: OnCallSchedule = body(&bytes)?;
    validate_schedule(&schedule)?;
    let s = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            alias_free(tx, &schedule.alias)?;
            check_members(tx, &schedule)?;
            tx.put_schedule(&schedule)?;
            Ok(schedule)
        })
    })
    .await?;
    tracing::info!(alias = %s.alias, rotations = s.rotations.len(), "schedule created");
    Ok(created(&s))
}

async fn put_schedule(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let schedule: OnCallSchedule = body(&bytes)?;
    if schedule.alias != alias {
        return Err(OncallApiError::invalid(
            "alias",
            format!(
                "the body's alias {:?} differs from the URL's {alias:?}: an alias cannot change (copy the schedule)",
                schedule.alias
            ),
        ));
    }
    validate_schedule(&schedule)?;
    let misfits = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let old = load_schedule(tx, &alias)?;
            check_members(tx, &schedule)?;
            replace_schedule(tx, &old, &schedule, Timestamp::now())
        })
    })
    .await?;
    Ok(ok(&json!({ "misfits": misfits })))
}

async fn delete_schedule(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
) -> ApiResult {
    blocking(&state, move |s| {
        s.oncall_write(|tx| {
            if !tx.delete_schedule(&alias)? {
                return Err(not_found_schedule(&alias));
            }
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn rotation_of<'a>(s: &'a OnCallSchedule, name: &str) -> Result<&'a Rotation, OncallApiError> {
    s.rotations
        .iter()
        .find(|r| r.name == name)
        .ok_or_else(|| OncallApiError::NotFound {
            what: "rotation",
            name: format!("{}/{name}", s.alias),
            list: "/v1/schedules/{alias}",
        })
}

async fn get_rotation(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    let r = blocking(&state, move |s| {
        s.oncall_read(|tx| Ok(rotation_of(&load_schedule(tx, &alias)?, &name)?.clone()))
    })
    .await?;
    Ok(ok(&r))
}

async fn add_rotation(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let rotation: Rotation = body(&bytes)?;
    let r = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut sched = load_schedule(tx, &alias)?;
            if sched.rotations.iter().any(|r| r.name == rotation.name) {
                return Err(OncallApiError::conflict(
                    "name",
                    format!(
                        "schedule {alias:?} already has a rotation named {:?}",
                        rotation.name
                    ),
                ));
            }
            sched.rotations.push(rotation.clone());
            let i = sched.rotations.len() - 1;
            if let Err(e) = validate_schedule(&sched) {
                // Name the fields relative to the rotation sent.
                let prefix = format!("rotations[{i}].");
                return Err(OncallError {
                    errors: e
                        .errors
                        .into_iter()
                        .map(|f| match f.field.strip_prefix(&prefix) {
                            Some(rest) => FieldError::new(rest, f.rule),
                            None => f,
                        })
                        .collect(),
                }
                .into());
            }
            check_members(tx, &sched)?;
            tx.put_schedule(&sched)?;
            Ok(rotation)
        })
    })
    .await?;
    Ok(created(&r))
}

async fn put_rotation(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let rotation: Rotation = body(&bytes)?;
    oncall::validate_rotation(&rotation)?;
    let out = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut sched = load_schedule(tx, &alias)?;
            let old = rotation_of(&sched, &name)?.clone();
            let overrides = tx.overrides(&alias)?;
            let edit = oncall::edit_rotation(&old, &rotation, &overrides, Timestamp::now())?;
            for r in &mut sched.rotations {
                if r.name == name {
                    *r = rotation.clone();
                }
            }
            validate_schedule(&sched)?;
            check_members(tx, &sched)?;
            tx.put_schedule(&sched)?;
            Ok(json!({ "rotation": rotation, "misfits": edit.misfits }))
        })
    })
    .await?;
    Ok(ok(&out))
}

async fn delete_rotation(
    State(state): State<Arc<AppState>>,
    Path((alias, name)): Path<(String, String)>,
) -> ApiResult {
    blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let mut sched = load_schedule(tx, &alias)?;
            rotation_of(&sched, &name)?;
            if sched.rotations.len() == 1 {
                return Err(OncallApiError::conflict(
                    "rotations",
                    "a schedule needs at least one rotation: delete the schedule instead",
                ));
            }
            sched.rotations.retain(|r| r.name != name);
            for o in tx.overrides(&alias)? {
                if o.rotation == name {
                    tx.delete_override(&alias, &o.id)?;
                }
            }
            tx.put_schedule(&sched)?;
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// overrides

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OverrideRequest {
    rotation: String,
    new_contacts: Vec<String>,
    start_time: Timestamp,
    end_time: Timestamp,
}

async fn create_override(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let req: OverrideRequest = body(&bytes)?;
    let o = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let sched = load_schedule(tx, &alias)?;
            let Some(rotation) = sched.rotations.iter().find(|r| r.name == req.rotation) else {
                return Err(OncallApiError::invalid(
                    "rotation",
                    format!(
                        "schedule {alias:?} has no rotation named {:?} (rotations: {})",
                        req.rotation,
                        sched
                            .rotations
                            .iter()
                            .map(|r| r.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            };
            let now = Timestamp::now();
            let o = RotationOverride {
                id: uuid::Uuid::now_v7().to_string(),
                rotation: req.rotation,
                new_contacts: req.new_contacts,
                start_time: req.start_time,
                end_time: req.end_time,
                create_time: now,
            };
            oncall::validate_new_override(rotation, &o, now)?;
            tx.put_override(&alias, &o)?;
            Ok(o)
        })
    })
    .await?;
    tracing::info!(id = %o.id, rotation = %o.rotation, "override created");
    Ok(created(&o))
}

async fn list_overrides(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let list = blocking(&state, move |s| {
        s.oncall_read(|tx| {
            load_schedule(tx, &alias)?;
            let mut list = tx.overrides(&alias)?;
            if let Some(r) = q.get("rotation") {
                list.retain(|o| &o.rotation == r);
            }
            list.sort_by(|a, b| (a.start_time, &a.id).cmp(&(b.start_time, &b.id)));
            Ok(list)
        })
    })
    .await?;
    Ok(ok(&json!({ "overrides": list })))
}

async fn get_override(
    State(state): State<Arc<AppState>>,
    Path((alias, id)): Path<(String, String)>,
) -> ApiResult {
    let o = blocking(&state, move |s| {
        s.oncall_read(|tx| {
            load_schedule(tx, &alias)?;
            tx.overrides(&alias)?
                .into_iter()
                .find(|o| o.id == id)
                .ok_or(OncallApiError::NotFound {
                    what: "override",
                    name: id,
                    list: "/v1/schedules/{alias}/overrides",
                })
        })
    })
    .await?;
    Ok(ok(&o))
}

async fn delete_override(
    State(state): State<Arc<AppState>>,
    Path((alias, id)): Path<(String, String)>,
) -> ApiResult {
    blocking(&state, move |s| {
        s.oncall_write(|tx| {
            load_schedule(tx, &alias)?;
            if !tx.delete_override(&alias, &id)? {
                return Err(OncallApiError::NotFound {
                    what: "override",
                    name: id,
                    list: "/v1/schedules/{alias}/overrides",
                });
            }
            Ok(())
        })
    })
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------------------------------------------------------------------------------------------
// queries

/// `GET …/oncall` answer: the schedule's alias plus `oncall::OnCall`.
pub fn query_on_call(
    store: &Store,
    alias: &str,
    at: Timestamp,
) -> Result<serde_json::Value, OncallApiError> {
    let (s, o) = schedule_state(store, alias)?;
    let on = oncall::schedule_on_call(&s, &o, at)?;
    Ok(
        json!({ "schedule": s.alias, "at": on.at, "contacts": on.contacts, "rotations": on.rotations }),
    )
}

/// `GET …/next-handoff` answer.
pub fn query_next_handoff(
    store: &Store,
    alias: &str,
    at: Timestamp,
) -> Result<serde_json::Value, OncallApiError> {
    let (s, o) = schedule_state(store, alias)?;
    let h = oncall::next_schedule_handoff(&s, &o, at)?;
    Ok(json!({ "schedule": s.alias, "after": at, "handOff": h }))
}

/// `GET …/shifts` answer.
pub fn query_shifts(
    store: &Store,
    alias: &str,
    from: Timestamp,
    to: Timestamp,
) -> Result<serde_json::Value, OncallApiError> {
    let (s, o) = schedule_state(store, alias)?;
    let shifts = oncall::schedule_shifts(&s, &o, from, to)?;
    let zones: BTreeMap<&str, &str> = s
        .rotations
        .iter()
        .map(|r| (r.name.as_str(), r.time_zone_id.as_str()))
        .collect();
    Ok(
        json!({ "schedule": s.alias, "startTime": from, "endTime": to, "timeZones": zones, "shifts": shifts }),
    )
}

fn rename_window(e: OncallError) -> OncallError {
    OncallError {
        errors: e
            .errors
            .into_iter()
            .map(|f| match f.field.as_str() {
                "startTime" => FieldError::new("from", f.rule),
                "endTime" => FieldError::new("to", f.rule.replace("startTime", "from")),
                _ => f,
            })
            .collect(),
    }
}

async fn on_call(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let at = instant(&q, "at", Timestamp::now())?;
    let v = blocking(&state, move |s| query_on_call(s, &alias, at)).await?;
    Ok(ok(&v))
}

async fn next_handoff(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let at = instant(&q, "at", Timestamp::now())?;
    let v = blocking(&state, move |s| query_next_handoff(s, &alias, at)).await?;
    Ok(ok(&v))
}

async fn shifts(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let (from, to) = window(&q, Timestamp::now(), 0, SHIFTS_DAYS)?;
    let v = blocking(&state, move |s| {
        query_shifts(s, &alias, from, to).map_err(|e| match e {
            OncallApiError::Invalid(e) => OncallApiError::Invalid(rename_window(e)),
            e => e,
        })
    })
    .await?;
    Ok(ok(&v))
}

async fn coverage(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let (from, to) = window(&q, Timestamp::now(), 0, SHIFTS_DAYS)?;
    let v = blocking(&state, move |s| {
        let (sched, o) = schedule_state(s, &alias)?;
        let r = oncall::coverage_report(&sched, &o, from, to).map_err(rename_window)?;
        let total = r.total_gap();
        Ok(json!({ "schedule": sched.alias, "report": r, "totalGapMinutes": total.as_secs() / 60 }))
    })
    .await?;
    Ok(ok(&v))
}

async fn schedule_calendar(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    Query(q): Params,
) -> ApiResult {
    let now = Timestamp::now();
    let (from, to) = window(&q, now, FEED_BACK_DAYS, FEED_AHEAD_DAYS)?;
    let ics = blocking(&state, move |s| {
        s.oncall_read(|tx| {
            let sched = load_schedule(tx, &alias)?;
            let o = tx.overrides(&alias)?;
            let contacts = tx.contacts()?;
            oncall::ical::schedule_calendar(&sched, &o, &contacts, from, to, now)
                .map_err(|e| rename_window(e).into())
        })
    })
    .await?;
    Ok(text("text/calendar; charset=utf-8", ics))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CopyRequest {
    alias: String,
    #[serde(default)]
    display_name: Option<String>,
    rotations: Vec<RotationCopy>,
}

async fn copy_schedule(
    State(state): State<Arc<AppState>>,
    Path(alias): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let req: CopyRequest = body(&bytes)?;
    let copy = blocking(&state, move |s| {
        s.oncall_write(|tx| {
            let src = load_schedule(tx, &alias)?;
            let copy = oncall::copy_schedule(
                &src,
                &req.alias,
                req.display_name.as_deref(),
                &req.rotations,
                Timestamp::now(),
            )?;
            alias_free(tx, &copy.alias)?;
            check_members(tx, &copy)?;
            tx.put_schedule(&copy)?;
            Ok(copy)
        })
    })
    .await?;
    Ok(created(&copy))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PreviewRequest {
    rotation: Rotation,
    #[serde(default)]
    overrides: Vec<PreviewOverride>,
    start_time: Timestamp,
    end_time: Timestamp,
}

/// Shifts of an unsaved rotation (AWS ListPreviewRotationShifts). Nothing is stored.
async fn preview(bytes: Bytes) -> ApiResult {
    let req: PreviewRequest = body(&bytes)?;
    oncall::validate_rotation(&req.rotation).map_err(|e| with_prefix("rotation.", e))?;
    let shifts = oncall::preview_rotation_shifts(
        &req.rotation,
        &req.overrides,
        req.start_time,
        req.end_time,
    )?;
    Ok(ok(&json!({ "shifts": shifts })))
}
