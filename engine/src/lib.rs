//! Tocsin: an incident-response engine. YAML runbooks and escalation workflows; every side effect
//! runs as a sandboxed WebAssembly component. See ARCHITECTURE.md for the codemap and invariants.

pub mod audit;
pub mod cli;
pub mod config;
pub mod engage;
pub mod exec;
pub mod incident;
pub mod ingest;
pub mod metrics;
pub mod oncall;
pub mod pager;
pub mod plugin;
pub mod respond;
pub mod runbook;
pub mod server;
pub mod store;
