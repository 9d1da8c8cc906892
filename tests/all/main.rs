//! The integration suite: one test binary (wasmtime's `tests/all` layout). Tests drive the real
//! plugin host with real components and the real `tocsin` binary over HTTP.

mod alert_ingest;
mod cli;
mod engage_cli;
mod engage_flow;
mod helpers;
mod hostile;
mod incident_cli;
mod incident_flow;
mod metrics_audit;
mod oncall_api;
mod oncall_cli;
mod oncall_support;
mod other_languages;
mod plugin_chat;
mod plugin_ec2;
mod plugin_email;
mod plugin_host;
mod plugin_pagerduty;
mod plugin_prometheus;
mod plugin_sms;
mod plugin_voice;
mod runbook_exec;
mod runbook_flow;
mod serve;
