//! Incident routes: StartIncident, get/list (ListIncidentRecords filters, pagination), update,
//! resolve, delete, timeline (automatic + custom events, filters, sort, notes), related items,
//! response plans.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::oncall::{ApiResult, OncallApiError, body};
use crate::engage::TimelineEntry;
use crate::incident::{
    self, Filter, IncidentRecord, IncidentStatus, IncidentUpdate, ItemIdentifier, RelatedItem,
    ResponsePlan, TriggerInfo,
};
use crate::oncall::OncallError;
use crate::respond::{RespondError, StartIncident};

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/v1/incidents", post(start).get(list))
        .route("/v1/incidents/list", post(list_filtered))
        .route("/v1/incidents/{id}", get(describe).delete(delete))
        .route("/v1/incidents/{id}/update", post(update))
        .route("/v1/incidents/{id}/resolve", post(resolve))
        .route("/v1/incidents/{id}/timeline", get(timeline).post(add_event))
        .route(
            "/v1/incidents/{id}/timeline/{event}",
            get(get_event).post(update_event).delete(delete_event),
        )
        .route("/v1/incidents/{id}/notes", post(add_note))
        .route(
            "/v1/incidents/{id}/related-items",
            get(related_items).post(update_related_items),
        )
        .route("/v1/response-plans", get(list_plans))
        .route(
            "/v1/response-plans/{name}",
            get(get_plan).put(put_plan).delete(delete_plan),
        )
}

impl From<RespondError> for OncallApiError {
    fn from(e: RespondError) -> Self {
        match e {
            RespondError::NotFound { what, name } => OncallApiError::NotFound {
                what,
                name,
                list: if what == "response plan" {
                    "/v1/response-plans"
                } else {
                    "/v1/incidents"
                },
            },
            RespondError::Invalid(e) => OncallApiError::Invalid(e),
            RespondError::Conflict(m) => OncallApiError::conflict("status", m),
            RespondError::Store(s) => OncallApiError::Store(s),
            RespondError::Pager(p) => p.into(),
        }
    }
}

fn ok(status: StatusCode, v: Value) -> Response {
    (status, Json(v)).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TriggerDetails {
    source: String,
    #[serde(default)]
    timestamp: Option<Timestamp>,
    #[serde(default)]
    trigger_arn: Option<String>,
    /// A JSON string (AWS) or any JSON value.
    #[serde(default)]
    raw_data: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartBody {
    /// A plan name or its ARN (`…:response-plan/<name>`).
    #[serde(alias = "responsePlanArn")]
    response_plan: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    impact: Option<u8>,
    #[serde(default)]
    related_items: Vec<RelatedItem>,
    #[serde(default)]
    trigger_details: Option<TriggerDetails>,
    #[serde(default)]
    client_token: Option<String>,
}

async fn start(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let b: StartBody = body(&bytes)?;
    if b.client_token.as_ref().is_some_and(|t| t.len() > 128) {
        return Err(OncallApiError::invalid(
            "clientToken",
            "at most 128 characters",
        ));
    }
    let trigger = match b.trigger_details {
        Some(t) => {
            let raw = match t.raw_data {
                Some(Value::String(s)) => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                Some(v) => v,
                None => Value::Null,
            };
            if raw.to_string().len() > 10_000 {
                return Err(OncallApiError::invalid(
                    "triggerDetails.rawData",
                    "at most 10000 characters",
                ));
            }
            TriggerInfo {
                source: t.source,
                timestamp: t.timestamp.unwrap_or_else(Timestamp::now),
                trigger_arn: t.trigger_arn,
                raw_data: raw,
                identity: None,
            }
        }
        None => TriggerInfo {
            source: "api".into(),
            timestamp: Timestamp::now(),
            trigger_arn: None,
            raw_data: Value::Null,
            identity: None,
        },
    };
    let plan = b
        .response_plan
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (outcome, rec) = state
        .responder
        .start_incident(StartIncident {
            response_plan: plan,
            title: b.title,
            impact: b.impact,
            related_items: b.related_items,
            trigger,
            client_token: b.client_token,
            created_by: "api".into(),
            replay_key: None,
        })
        .await?;
    let status = if outcome == crate::respond::Outcome::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(
        status,
        json!({"incidentRecordArn": rec.arn, "outcome": outcome, "incidentRecord": rec}),
    ))
}

/// An incident by its id (the ARN's last segment) or its full ARN.
fn find(state: &AppState, id: &str) -> Result<IncidentRecord, OncallApiError> {
    let id = id.to_owned();
    let found = state.responder.read(|tx| {
        if id.starts_with("arn:") {
            return Ok(tx.incident(&id)?);
        }
        Ok(tx.incidents()?.into_iter().find(|r| r.id() == id))
    })?;
    found.ok_or_else(|| {
        RespondError::NotFound {
            what: "incident record",
            name: id,
        }
        .into()
    })
}

async fn describe(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let rec = find(&state, &id)?;
    Ok(ok(StatusCode::OK, json!({ "incidentRecord": rec })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    status: Option<String>,
    impact: Option<u8>,
    response_plan: Option<String>,
    created_after: Option<Timestamp>,
    created_before: Option<Timestamp>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

async fn list(State(state): State<Arc<AppState>>, Query(q): Query<ListQuery>) -> ApiResult {
    let mut filters = Vec::new();
    let mut add = |v: Value| -> Result<(), OncallApiError> {
        filters.push(
            serde_json::from_value::<Filter>(v)
                .map_err(|e| OncallApiError::invalid("query", e.to_string()))?,
        );
        Ok(())
    };
    if let Some(s) = &q.status {
        add(
            json!({"key": "status", "condition": {"equals": {"stringValues": [s.to_ascii_uppercase()]}}}),
        )?;
    }
    if let Some(i) = q.impact {
        add(json!({"key": "impact", "condition": {"equals": {"integerValues": [i]}}}))?;
    }
    if let Some(p) = &q.response_plan {
        add(json!({"key": "responsePlan", "condition": {"equals": {"stringValues": [p]}}}))?;
    }
    if let Some(t) = q.created_after {
        add(json!({"key": "creationTime", "condition": {"after": t}}))?;
    }
    if let Some(t) = q.created_before {
        add(json!({"key": "creationTime", "condition": {"before": t}}))?;
    }
    page_of(&state, &filters, q.max_results, q.next_token.as_deref())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListBody {
    #[serde(default)]
    filters: Vec<Filter>,
    #[serde(default)]
    max_results: Option<usize>,
    #[serde(default)]
    next_token: Option<String>,
}

async fn list_filtered(State(state): State<Arc<AppState>>, bytes: Bytes) -> ApiResult {
    let b: ListBody = if bytes.is_empty() {
        ListBody {
            filters: vec![],
            max_results: None,
            next_token: None,
        }
    } else {
        body(&bytes)?
    };
    page_of(&state, &b.filters, b.max_results, b.next_token.as_deref())
}

/// Newest first; `nextToken` names the last record of the page (new incidents never shift the
/// pages after it).
fn page_of(
    state: &AppState,
    filters: &[Filter],
    max: Option<usize>,
    token: Option<&str>,
) -> ApiResult {
    incident::check_filters(filters).map_err(OncallApiError::Invalid)?;
    let max = max.unwrap_or(100);
    if !(1..=100).contains(&max) {
        return Err(OncallApiError::invalid("maxResults", "must be 1-100"));
    }
    let after = match token {
        None => None,
        Some(t) => Some(page_token::decode(t).ok_or_else(|| {
            OncallApiError::invalid("nextToken", "is not a token this server gave")
        })?),
    };
    let (page, next) = state.responder.read(|tx| {
        Ok(tx.incidents_newest_first(after.as_deref(), max, |r| incident::matches(r, filters))?)
    })?;
    let page: Vec<Value> = page
        .iter()
        .map(|r| {
            json!({"arn": r.arn, "title": r.title, "status": r.status, "impact": r.impact,
                   "creationTime": r.creation_time, "resolvedTime": r.resolved_time,
                   "incidentRecordSource": r.incident_record_source, "responsePlan": r.response_plan})
        })
        .collect();
    let next = next.map(|k| page_token::encode(&k));
    Ok(ok(
        StatusCode::OK,
        json!({"incidentRecordSummaries": page, "nextToken": next}),
    ))
}

/// List tokens: the index key of the last record returned, base64url so it stays opaque.
mod page_token {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key)
    }

    pub fn decode(token: &str) -> Option<String> {
        let key = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
        let (nanos, arn) = key.split_once('\u{1f}')?;
        (nanos.len() == 20 && nanos.bytes().all(|b| b.is_ascii_digit()) && arn.starts_with("arn:"))
            .then_some(key)
    }
}

async fn update(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let u: IncidentUpdate = body(&bytes)?;
    let rec = find(&state, &id)?;
    let rec = state.responder.update(&rec.arn, u, "api".into()).await?;
    Ok(ok(StatusCode::OK, json!({ "incidentRecord": rec })))
}

async fn resolve(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let rec = find(&state, &id)?;
    let u = IncidentUpdate {
        status: Some(IncidentStatus::Resolved),
        ..Default::default()
    };
    let rec = state.responder.update(&rec.arn, u, "api".into()).await?;
    Ok(ok(StatusCode::OK, json!({ "incidentRecord": rec })))
}

async fn delete(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let rec = find(&state, &id)?;
    if rec.is_open() {
        return Err(OncallApiError::conflict(
            "status",
            "resolve the incident before deleting it (its engagements and runbooks are still running)",
        ));
    }
    state
        .responder
        .with_record(&rec.arn, |tx, r| Ok(tx.delete_incident(r)?))
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TimelineQuery {
    event_type: Option<String>,
    after: Option<Timestamp>,
    before: Option<Timestamp>,
    /// ASCENDING (default) or DESCENDING, by eventTime.
    sort_order: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

async fn timeline(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    Query(q): Query<TimelineQuery>,
) -> ApiResult {
    let rec = find(&state, &id)?;
    let mut events = state
        .responder
        .read(|tx| Ok(tx.timeline(&rec.arn)?))?
        .into_iter()
        .filter(|e| q.event_type.as_ref().is_none_or(|t| &e.event_type == t))
        .filter(|e| q.after.is_none_or(|a| e.event_time > a))
        .filter(|e| q.before.is_none_or(|b| e.event_time < b))
        .collect::<Vec<_>>();
    events.sort_by(|a, b| {
        a.event_time
            .cmp(&b.event_time)
            .then(a.event_id.cmp(&b.event_id))
    });
    match q.sort_order.as_deref() {
        None | Some("ASCENDING") => {}
        Some("DESCENDING") => events.reverse(),
        Some(other) => {
            return Err(OncallApiError::invalid(
                "sortOrder",
                format!("{other:?} is not ASCENDING or DESCENDING"),
            ));
        }
    }
    let max = q.max_results.unwrap_or(100).clamp(1, 100);
    let start: usize = q
        .next_token
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| OncallApiError::invalid("nextToken", "is not a token this server gave"))?
        .unwrap_or(0);
    let next = (start + max < events.len()).then(|| (start + max).to_string());
    let page: Vec<_> = events.into_iter().skip(start).take(max).collect();
    Ok(ok(
        StatusCode::OK,
        json!({"eventSummaries": page, "nextToken": next}),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct EventBody {
    event_type: String,
    #[serde(default)]
    event_time: Option<Timestamp>,
    /// A string (AWS) or any JSON.
    event_data: Value,
    #[serde(default)]
    event_references: Vec<Value>,
    #[serde(default)]
    client_token: Option<String>,
}

fn check_event(b: &EventBody) -> Result<(), OncallApiError> {
    if b.event_type.trim().is_empty() || b.event_type.len() > 100 {
        return Err(OncallApiError::invalid(
            "eventType",
            "must be 1-100 characters",
        ));
    }
    if b.event_data.to_string().len() > 12_000 {
        return Err(OncallApiError::invalid(
            "eventData",
            "at most 12000 characters",
        ));
    }
    Ok(())
}

async fn add_event(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let b: EventBody = body(&bytes)?;
    check_event(&b)?;
    let rec = find(&state, &id)?;
    let now = Timestamp::now();
    let mut e = TimelineEntry::auto(
        &rec.arn,
        b.event_time.unwrap_or(now),
        &b.event_type,
        b.event_data,
    );
    e.custom = true;
    e.event_references = b.event_references;
    let _ = b.client_token;
    let event_id = state
        .responder
        .with_record(&rec.arn, move |tx, _| Ok(tx.add_timeline(&e)?))
        .await?;
    Ok(ok(
        StatusCode::CREATED,
        json!({"incidentRecordArn": rec.arn, "eventId": event_id}),
    ))
}

async fn add_note(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Note {
        content: String,
        #[serde(default)]
        author: Option<String>,
    }
    let n: Note = body(&bytes)?;
    if n.content.trim().is_empty() || n.content.len() > 12_000 {
        return Err(OncallApiError::invalid(
            "content",
            "must be 1-12000 characters",
        ));
    }
    let rec = find(&state, &id)?;
    let mut e = TimelineEntry::auto(
        &rec.arn,
        Timestamp::now(),
        "Note",
        json!({"content": n.content, "author": n.author}),
    );
    e.custom = true;
    let event_id = state
        .responder
        .with_record(&rec.arn, move |tx, _| Ok(tx.add_timeline(&e)?))
        .await?;
    Ok(ok(StatusCode::CREATED, json!({"eventId": event_id})))
}

async fn get_event(
    State(state): State<Arc<AppState>>,
    Path((id, event)): Path<(String, String)>,
) -> ApiResult {
    let rec = find(&state, &id)?;
    let e = state
        .responder
        .read(|tx| Ok(tx.timeline_event(&rec.arn, &event)?))?
        .ok_or(OncallApiError::NotFound {
            what: "timeline event",
            name: event,
            list: "/v1/incidents/{id}/timeline",
        })?;
    Ok(ok(StatusCode::OK, json!({ "event": e })))
}

async fn update_event(
    State(state): State<Arc<AppState>>,
    Path((id, event)): Path<(String, String)>,
    bytes: Bytes,
) -> ApiResult {
    let b: EventBody = body(&bytes)?;
    check_event(&b)?;
    let rec = find(&state, &id)?;
    let e = state
        .responder
        .with_record(&rec.arn, move |tx, r| {
            let mut e = custom_event(tx, &r.arn, &event)?;
            e.event_type = b.event_type.clone();
            e.event_data = b.event_data.clone();
            if let Some(t) = b.event_time {
                e.event_time = t;
            }
            e.event_references = b.event_references.clone();
            e.event_updated_time = Some(Timestamp::now());
            tx.put_timeline_event(&e)?;
            Ok(e)
        })
        .await?;
    Ok(ok(StatusCode::OK, json!({ "event": e })))
}

async fn delete_event(
    State(state): State<Arc<AppState>>,
    Path((id, event)): Path<(String, String)>,
) -> ApiResult {
    let rec = find(&state, &id)?;
    state
        .responder
        .with_record(&rec.arn, move |tx, r| {
            custom_event(tx, &r.arn, &event)?;
            Ok(tx.delete_timeline_event(&r.arn, &event)?)
        })
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Only custom events change; automatic ones are the record of what happened.
fn custom_event(
    tx: &crate::store::EngageTx<'_>,
    arn: &str,
    event: &str,
) -> Result<TimelineEntry, RespondError> {
    let e = tx
        .timeline_event(arn, event)?
        .ok_or_else(|| RespondError::NotFound {
            what: "timeline event",
            name: event.to_owned(),
        })?;
    if !e.custom {
        return Err(RespondError::Conflict(format!(
            "event {event} ({}) was recorded by the engine; only custom events can be changed",
            e.event_type
        )));
    }
    Ok(e)
}

async fn related_items(State(state): State<Arc<AppState>>, Path(id): Path<String>) -> ApiResult {
    let rec = find(&state, &id)?;
    Ok(ok(
        StatusCode::OK,
        json!({ "relatedItems": rec.related_items }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RelatedUpdate {
    #[serde(default)]
    item_to_add: Option<RelatedItem>,
    #[serde(default)]
    item_to_remove: Option<ItemIdentifier>,
    #[serde(default)]
    client_token: Option<String>,
}

async fn update_related_items(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct Body {
        related_items_update: RelatedUpdate,
    }
    let b: Body = body(&bytes)?;
    let u = b.related_items_update;
    let _ = u.client_token;
    if u.item_to_add.is_some() == u.item_to_remove.is_some() {
        return Err(OncallApiError::invalid(
            "relatedItemsUpdate",
            "give exactly one of itemToAdd or itemToRemove",
        ));
    }
    if let Some(item) = &u.item_to_add {
        incident::check_related(std::slice::from_ref(item)).map_err(OncallApiError::Invalid)?;
    }
    let rec = find(&state, &id)?;
    let rec = state
        .responder
        .with_record(&rec.arn, move |tx, r| {
            let now = Timestamp::now();
            if let Some(item) = u.item_to_add.clone() {
                if !r
                    .related_items
                    .iter()
                    .any(|x| x.identifier == item.identifier)
                {
                    if r.related_items.len() >= incident::MAX_RELATED_ITEMS {
                        return Err(RespondError::Conflict(format!(
                            "an incident holds at most {} related items",
                            incident::MAX_RELATED_ITEMS
                        )));
                    }
                    tx.add_timeline(&TimelineEntry::auto(
                        &r.arn,
                        now,
                        "Related item added",
                        json!({"identifier": item.identifier, "title": item.title}),
                    ))?;
                    r.related_items.push(item);
                }
            } else if let Some(ident) = &u.item_to_remove {
                let before = r.related_items.len();
                r.related_items.retain(|x| x.identifier != *ident);
                if before == r.related_items.len() {
                    return Err(RespondError::NotFound {
                        what: "related item",
                        name: serde_json::to_string(&ident).unwrap_or_default(),
                    });
                }
                tx.add_timeline(&TimelineEntry::auto(
                    &r.arn,
                    now,
                    "Related item removed",
                    json!({"identifier": ident}),
                ))?;
            }
            r.last_modified_time = now;
            tx.put_incident(r)?;
            Ok(r.clone())
        })
        .await?;
    Ok(ok(
        StatusCode::OK,
        json!({ "relatedItems": rec.related_items }),
    ))
}

async fn list_plans(State(state): State<Arc<AppState>>) -> ApiResult {
    let plans = state.responder.read(|tx| Ok(tx.response_plans()?))?;
    Ok(ok(StatusCode::OK, json!({ "responsePlans": plans })))
}

async fn get_plan(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult {
    let plan = state
        .responder
        .read(|tx| Ok(tx.response_plan(&name)?))?
        .ok_or(OncallApiError::NotFound {
            what: "response plan",
            name,
            list: "/v1/response-plans",
        })?;
    Ok(ok(StatusCode::OK, json!({ "responsePlan": plan })))
}

/// CreateResponsePlan / UpdateResponsePlan: the body is the plan (the YAML document's fields,
/// without `kind`; `name` equal to the path's), checked like `kind: ResponsePlan` in a config
/// file, plus the plugin instances it names. 201 when created, 200 when replaced.
async fn put_plan(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    bytes: Bytes,
) -> ApiResult {
    let plan: ResponsePlan = body(&bytes)?;
    if plan.name != name {
        return Err(OncallApiError::invalid(
            "name",
            format!(
                "{:?} differs from the path's {name:?}: rename by deleting and creating",
                plan.name
            ),
        ));
    }
    incident::validate_plan(&plan).map_err(OncallApiError::Invalid)?;
    let instances = state.plugins.instance_names();
    let named = plan
        .chat_channel
        .as_ref()
        .and_then(|c| c.plugin.clone())
        .map(|p| ("chatChannel.plugin".to_owned(), p))
        .into_iter()
        .chain(plan.integrations.iter().enumerate().filter_map(|(i, g)| {
            g.pager_duty_configuration.plugin.clone().map(|p| {
                (
                    format!("integrations[{i}].pagerDutyConfiguration.plugin"),
                    p,
                )
            })
        }));
    for (field, instance) in named {
        if !instances.contains(&instance) {
            return Err(OncallApiError::invalid(
                &field,
                format!("no plugin instance {instance:?}: declare it with a kind: Plugin document"),
            ));
        }
    }
    let created = state
        .responder
        .write(move |tx| {
            for (i, e) in plan.engagements.iter().enumerate() {
                let alias = e.rsplit('/').next().unwrap_or(e);
                let on = tx.oncall();
                if on.contact(alias)?.is_none()
                    && on.plan(alias)?.is_none()
                    && on.schedule(alias)?.is_none()
                {
                    return Err(RespondError::Invalid(OncallError::one(
                        format!("engagements[{i}]"),
                        format!("no contact, escalation plan or schedule {alias:?}"),
                    )));
                }
            }
            let created = tx.response_plan(&plan.name)?.is_none();
            tx.put_response_plan(&plan)?;
            Ok((created, plan.clone()))
        })
        .await?;
    let (created, plan) = created;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(ok(status, json!({ "responsePlan": plan })))
}

/// DeleteResponsePlan. Incidents opened from it keep their records and resolve without it.
async fn delete_plan(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> ApiResult {
    let gone = name.clone();
    let deleted = state
        .responder
        .write(move |tx| Ok(tx.delete_response_plan(&gone)?))
        .await?;
    if !deleted {
        return Err(OncallApiError::NotFound {
            what: "response plan",
            name,
            list: "/v1/response-plans",
        });
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
