//! The pure interpreter: `(Execution, Event, now) -> (Execution', Vec<Effect>)`. The durable shell
//! stores the [`Execution`] (serde) and the effects in one transaction, runs the effects and feeds
//! their results back as events.

mod event;
mod machine;
mod state;

#[cfg(test)]
mod tests;

pub use event::{Effect, Event, PluginOutcome, Signal, Timer, TimerKind};
pub use machine::{backoff, start, transition};
pub use state::{Execution, LoopFrame, Status, StepRecord, document_hash, idempotency_key};
