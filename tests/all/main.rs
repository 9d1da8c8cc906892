//! The integration suite: one test binary (wasmtime's `tests/all` layout). Tests drive the real
//! plugin host with real components and the real `tocsin` binary over HTTP.

mod cli;
mod helpers;
mod hostile;
mod plugin_host;
mod python_plugin;
mod serve;
