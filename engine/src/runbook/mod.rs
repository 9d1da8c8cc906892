//! Runbooks: the SSM Automation (schemaVersion 0.3) document model, parser, validator, templating
//! and pure interpreter transitions. Knows nothing of HTTP, redb, wasmtime or the current time.
//!
//! Entry points: [`validate_paths`] / [`validate_source`] (the `tocsin validate` engine, returning a
//! [`Report`]), [`parse_document`] (source text → [`Document`]) [`render`] (templates) and [`interp::transition`] (`(state, event, now) -> (state', effects)`).

mod actions;
mod branch;
mod diag;
mod duration;
mod fsys;
mod graph;
pub mod interp;
mod load;
mod model;
mod params;
mod report;
mod source;
mod template;
mod validate;
mod yaml;

#[cfg(test)]
mod tests;

pub use actions::{KnownActions, NoPluginActions, PluginActions, UNSUPPORTED_AWS_ACTIONS};
pub use branch::{BranchError, choose, evaluate};
pub use diag::{Diagnostic, Severity, code};
pub use duration::{MAX_SLEEP, parse_duration};
pub use fsys::{MAX_FILE_BYTES, is_configuration_text, validate_paths};
pub use load::{ParseOutcome, parse_document};
pub use model::{
    Action, Branch, Choice, Condition, Document, Loop, LoopOver, OnCancel, OnFailure, Operator,
    ParamType, Parameter, Step, StepOutput, StepSpans,
};
pub use params::{ParamError, bind_parameters};
pub use report::{FileReport, Report};
pub use source::Span;
pub use template::{
    MAX_RENDERED_BYTES, RefSite, RenderError, Vars, references, render, render_str,
};
pub use validate::validate_source;
pub use yaml::Limits;
