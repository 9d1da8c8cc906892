//! `pagerduty`: the Events API v2 (trigger / acknowledge / resolve an alert, deduplicated by the
//! incident ARN) and the REST API v2 (copy timeline events to the incident as notes, capped at
//! 2,000 per incident as Incident Manager does; resolve the incident).

mod config;
mod events;
mod rest;

use tocsin_plugin_sdk::{Action, ActionError, Context, Plugin, PluginInfo, config};

use crate::config::Config;
use crate::events::{EventAccepted, EventInput};
use crate::rest::{NoteInput, NoteOutcome, ResolveInput, Resolved};

struct PagerDuty;

impl Plugin for PagerDuty {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "pagerduty",
            env!("CARGO_PKG_VERSION"),
            "Sends PagerDuty events (trigger, acknowledge, resolve) and adds notes to and resolves PagerDuty incidents",
        )
        .config::<Config>()
        .http(&[
            "https://events.pagerduty.com",
            "https://api.pagerduty.com",
            "https://events.eu.pagerduty.com",
            "https://api.eu.pagerduty.com",
            // A local stand-in (tests, a relay on the engine's host), when the operator grants it.
            "http://127.0.0.1:*",
            "http://localhost:*",
        ])
        .secrets(&[events::ROUTING_KEY_SECRET, rest::API_TOKEN_SECRET])
    }

    fn actions() -> Vec<Action> {
        vec![
            Action::new(
                "event",
                "Send an Events API v2 event: trigger, acknowledge or resolve an alert",
                event,
            ),
            Action::new(
                "add_note",
                "Add a note to a PagerDuty incident (REST API), at most 2,000 per incident",
                add_note,
            ),
            Action::new(
                "resolve_incident",
                "Resolve a PagerDuty incident through the REST API",
                resolve_incident,
            ),
        ]
    }
}

fn event(ctx: &Context, input: EventInput) -> Result<EventAccepted, ActionError> {
    events::send_event(ctx, &config::<Config>()?, input)
}

fn add_note(ctx: &Context, input: NoteInput) -> Result<NoteOutcome, ActionError> {
    rest::add_note(ctx, &config::<Config>()?, input)
}

fn resolve_incident(ctx: &Context, input: ResolveInput) -> Result<Resolved, ActionError> {
    rest::resolve(ctx, &config::<Config>()?, input)
}

tocsin_plugin_sdk::export_plugin!(PagerDuty);
