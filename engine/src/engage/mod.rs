//! Engagements: escalation plans run stage by stage, one page per engaged person following that
//! person's engagement plan, receipts, acknowledgements, paging-storm limits and signed links.
//! Pure: knows nothing of storage, plugins, HTTP or the clock (`now` and a [`Directory`] come
//! in; changes go out for the caller to commit in one transaction).

pub mod link;
mod machine;
mod model;
pub mod rate;

#[cfg(test)]
mod tests;

pub use machine::{
    Accept, AcceptType, Changes, MAX_SEND_ATTEMPTS, Machine, SendOutcome, StartRequest, backoff,
    start,
};
pub use model::*;

use jiff::Timestamp;

use crate::oncall::{Contact, ContactChannel, EscalationPlan};

/// What the machine reads of the on-call world, and where its randomness comes from.
pub trait Directory {
    /// A PERSONAL or ESCALATION contact by alias.
    fn contact(&self, alias: &str) -> Option<Contact>;
    /// The plan of an ESCALATION contact.
    fn plan(&self, alias: &str) -> Option<EscalationPlan>;
    fn is_schedule(&self, alias: &str) -> bool;
    /// Aliases of the contacts on call in `schedule` at `at`.
    fn on_call(&self, schedule: &str, at: Timestamp) -> Result<Vec<String>, String>;
    /// The plugin instance that delivers to a channel.
    fn route(&self, channel: &ContactChannel) -> String;
    /// A fresh 6-digit accept code.
    fn accept_code(&self) -> String;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngageError {
    #[error("no {what} {id:?}")]
    NotFound { what: &'static str, id: String },
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
}
