//! REST API v2 (https://developer.pagerduty.com/api-reference/): incident notes, with Incident
//! Manager's cap of 2,000 notes per incident, and resolving an incident.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tocsin_plugin_sdk::http::{Request, Response, send};
use tocsin_plugin_sdk::{ActionError, Context, JsonSchema, now_unix_ms, secret};

use crate::config::Config;

/// Secret holding a REST API key (account "General Access" key or a user token).
pub const API_TOKEN_SECRET: &str = "PAGERDUTY_API_TOKEN";

/// Incident Manager copies timeline events to PagerDuty as notes, up to 2,000 per incident.
pub const MAX_NOTES_PER_INCIDENT: u32 = 2000;

/// Which PagerDuty incident: its id, or the dedup key of the alert that opened it.
pub struct IncidentRef<'a> {
    pub incident_id: Option<&'a str>,
    pub dedup_key: Option<&'a str>,
    pub incident_arn: Option<&'a str>,
}

/// The input fields naming the incident, the same in every REST action (a macro because serde's
/// `flatten` does not combine with `deny_unknown_fields`).
macro_rules! incident_input {
    ($(#[$meta:meta])* pub struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        pub struct $name {
            /// PagerDuty's incident id (e.g. `PT4KHLK`). When absent, the incident is looked up
            /// by `dedup_key`.
            #[serde(default)]
            pub incident_id: Option<String>,
            /// The dedup key (incident key) of the event that opened the incident; default the
            /// incident ARN (`incident_arn`, else the calling incident's), as the `event` action
            /// uses.
            #[serde(default)]
            pub dedup_key: Option<String>,
            /// The Tocsin incident; its ARN is the default dedup key.
            #[serde(default)]
            pub incident_arn: Option<String>,
            $($body)*
        }

        impl $name {
            fn incident(&self) -> IncidentRef<'_> {
                IncidentRef {
                    incident_id: self.incident_id.as_deref(),
                    dedup_key: self.dedup_key.as_deref(),
                    incident_arn: self.incident_arn.as_deref(),
                }
            }
        }
    };
}

incident_input! {
/// A timeline event to copy to the incident as a note.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    /// The note's text.
    pub content: String,
    /// How many notes the incident already has, when the caller keeps count (the engine does
    /// for the notes it copies). When absent, the plugin counts the incident's notes first
    /// (one more request). At 2,000 no note is added.
    #[serde(default)]
    pub notes_so_far: Option<u32>,
}
}

/// What happened to the note.
#[derive(Serialize, JsonSchema)]
pub struct NoteOutcome {
    /// `added`, or `skipped` when the incident already has 2,000 notes.
    pub status: NoteStatus,
    /// The PagerDuty incident.
    pub incident_id: String,
    /// The new note's id, when added.
    pub note_id: Option<String>,
    /// The incident's notes after this call, as far as known.
    pub notes: u32,
    /// Why the note was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Serialize, JsonSchema, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum NoteStatus {
    Added,
    Skipped,
}

incident_input! {
/// Resolve an incident through the REST API.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    /// The resolution note PagerDuty records with the status change.
    #[serde(default)]
    pub resolution: Option<String>,
}
}

#[derive(Serialize, JsonSchema)]
pub struct Resolved {
    /// The PagerDuty incident.
    pub incident_id: String,
    /// Its status now: `resolved`.
    pub status: String,
    /// The incident's page in PagerDuty.
    pub html_url: Option<String>,
    /// False when the incident was already resolved (nothing was changed).
    pub changed: bool,
}

/// An incident as the REST API lists it (the fields used here).
#[derive(Deserialize)]
struct Incident {
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    html_url: Option<String>,
}

struct Rest<'a> {
    config: &'a Config,
    token: String,
}

impl Rest<'_> {
    fn request(&self, method: &str, path: &str) -> Request {
        let mut req = Request::new(method, &format!("{}{path}", self.config.api_base()));
        req.headers.push((
            "accept".into(),
            "application/vnd.pagerduty+json;version=2".into(),
        ));
        req.headers.push((
            "authorization".into(),
            format!("Token token={}", self.token),
        ));
        req
    }

    /// A write: JSON body and the `From` user PagerDuty requires.
    fn write(&self, method: &str, path: &str, body: &Value) -> Result<Response, ActionError> {
        let mut req = self.request(method, path);
        req.headers
            .push(("content-type".into(), "application/json".into()));
        req.headers
            .push(("from".into(), self.config.requester_email()?.to_owned()));
        req.body = body.to_string().into_bytes();
        send(&req)?.check("PagerDuty REST API", now_unix_ms())
    }

    fn get(&self, path: &str) -> Result<Response, ActionError> {
        send(&self.request("GET", path))?.check("PagerDuty REST API", now_unix_ms())
    }

    /// The incident by id, or the one opened by the alert with this dedup key.
    fn incident(&self, ctx: &Context, r: IncidentRef<'_>) -> Result<Incident, ActionError> {
        if let Some(id) = r.incident_id.filter(|i| !i.is_empty()) {
            return Ok(Incident {
                id: id.to_owned(),
                status: String::new(),
                html_url: None,
            });
        }
        let key = r
            .dedup_key
            .or(r.incident_arn)
            .or(ctx.incident_arn.as_deref())
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                ActionError::InvalidInput(
                    "name the incident: `incident_id`, `dedup_key` or `incident_arn`".into(),
                )
            })?;
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("incident_key", key)
            .append_pair("date_range", "all")
            .finish();
        let resp = self.get(&format!("/incidents?{query}"))?;
        #[derive(Deserialize)]
        struct List {
            incidents: Vec<Incident>,
        }
        let list: List = parse(&resp, "the incident list")?;
        list.incidents.into_iter().next().ok_or_else(|| {
            // Events are processed asynchronously: the incident may not exist yet.
            ActionError::Retryable(format!(
                "PagerDuty has no incident with incident key `{key}` (yet)"
            ))
        })
    }

    fn count_notes(&self, incident_id: &str) -> Result<u32, ActionError> {
        #[derive(Deserialize)]
        struct Notes {
            notes: Vec<Value>,
        }
        let resp = self.get(&format!("/incidents/{}/notes", path_segment(incident_id)))?;
        let notes: Notes = parse(&resp, "the note list")?;
        Ok(u32::try_from(notes.notes.len()).unwrap_or(u32::MAX))
    }
}

fn rest(config: &Config) -> Result<Rest<'_>, ActionError> {
    Ok(Rest {
        config,
        token: secret(API_TOKEN_SECRET)?,
    })
}

pub fn add_note(
    ctx: &Context,
    config: &Config,
    input: NoteInput,
) -> Result<NoteOutcome, ActionError> {
    let api = rest(config)?;
    config.requester_email()?;
    let incident = api.incident(ctx, input.incident())?;
    let so_far = match input.notes_so_far {
        Some(n) => n,
        None => api.count_notes(&incident.id)?,
    };
    if so_far >= MAX_NOTES_PER_INCIDENT {
        return Ok(NoteOutcome {
            status: NoteStatus::Skipped,
            incident_id: incident.id.clone(),
            note_id: None,
            notes: so_far,
            detail: Some(format!(
                "PagerDuty incident {} already has {so_far} notes; timeline events are copied up to {MAX_NOTES_PER_INCIDENT}",
                incident.id
            )),
        });
    }
    let resp = api.write(
        "POST",
        &format!("/incidents/{}/notes", path_segment(&incident.id)),
        &json!({"note": {"content": input.content}}),
    )?;
    #[derive(Deserialize)]
    struct Created {
        note: CreatedNote,
    }
    #[derive(Deserialize)]
    struct CreatedNote {
        id: String,
    }
    let created: Created = parse(&resp, "the created note")?;
    Ok(NoteOutcome {
        status: NoteStatus::Added,
        incident_id: incident.id,
        note_id: Some(created.note.id),
        notes: so_far + 1,
        detail: None,
    })
}

pub fn resolve(
    ctx: &Context,
    config: &Config,
    input: ResolveInput,
) -> Result<Resolved, ActionError> {
    let api = rest(config)?;
    config.requester_email()?;
    let incident = api.incident(ctx, input.incident())?;
    if incident.status == "resolved" {
        return Ok(Resolved {
            incident_id: incident.id,
            status: incident.status,
            html_url: incident.html_url,
            changed: false,
        });
    }
    let mut update = json!({"type": "incident_reference", "status": "resolved"});
    if let Some(resolution) = input.resolution {
        update["resolution"] = Value::String(resolution);
    }
    let resp = api.write(
        "PUT",
        &format!("/incidents/{}", path_segment(&incident.id)),
        &json!({"incident": update}),
    )?;
    #[derive(Deserialize)]
    struct Updated {
        incident: Incident,
    }
    let updated: Updated = parse(&resp, "the updated incident")?;
    Ok(Resolved {
        incident_id: updated.incident.id,
        status: updated.incident.status,
        html_url: updated.incident.html_url,
        changed: true,
    })
}

fn parse<T: serde::de::DeserializeOwned>(resp: &Response, what: &str) -> Result<T, ActionError> {
    serde_json::from_slice(&resp.body).map_err(|e| {
        ActionError::Failed(format!(
            "PagerDuty REST API answered HTTP {} but {what} does not parse: {e}",
            resp.status
        ))
    })
}

/// An id as one URL path segment (ids are alphanumeric; anything else is escaped, not a path).
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
