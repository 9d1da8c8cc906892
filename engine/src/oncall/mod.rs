//! On-call core: contacts, channels, rotations, overrides, schedules, shifts, who is on call, exports.
//! Pure: knows nothing of storage, HTTP or the clock (every function that needs "now" takes it).
//!
//! Time rules (RFC 5545 wall-time resolution, 23/25-hour days, overrides as absolute instants,
//! schedules as the union of rotations) are written down in docs/ONCALL.md and pinned in `tests/`.
//! Types mirror the `ssm-contacts` shapes in camelCase; every error names the field and the rule.

mod contact;
mod error;
mod escalation;
pub mod ical;
mod model;
mod overrides;
mod rotation;
mod schedule;
mod validate;
pub mod vcard;

#[cfg(test)]
mod tests;

pub use contact::{
    InboundKeyword, MAX_CHANNELS, MAX_STAGE_MINUTES, MAX_STAGES, activate, after_keyword,
    inbound_keyword, is_e164, is_email, is_engageable, validate_channel, validate_contact,
};
pub use error::{FieldError, OncallError, Result};
pub use escalation::{
    EscalationPlan, MAX_PLAN_REPEATS, MAX_PLAN_STAGES, PlanStage, PlanTarget, TargetRef,
    validate_escalation_plan,
};
pub use model::*;
pub use overrides::{
    MAX_OVERRIDE_MONTHS, OverrideMisfit, RotationEdit, edit_rotation, preview_rotation_shifts,
    rotation_shifts, validate_new_override,
};
pub use rotation::{MAX_WINDOW_DAYS, resolve};
pub use schedule::{
    CoverageReport, HandOff, Interval, OnCall, Overlap, RotationCopy, RotationOnCall,
    copy_schedule, coverage_report, next_rotation_handoff, next_schedule_handoff, rotation_on_call,
    schedule_on_call, schedule_shifts,
};
pub use validate::{
    MAX_ROTATION_CONTACTS, MAX_SCHEDULE_ROTATIONS, MIN_WINDOW_MINUTES, check_rotation_contacts,
    time_zone, validate_rotation, validate_schedule,
};
