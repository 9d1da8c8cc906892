//! Cross-cutting tests: conformance over real public runbooks, hostile input, validator cases.

mod conformance;
mod examples;
mod hostile;
mod validator;

use super::{NoPluginActions, Report, validate_source};

/// Validate YAML text as `test.yaml` with no plugins.
pub(super) fn check(yaml: &str) -> Report {
    validate_source("test.yaml", yaml.as_bytes(), &NoPluginActions)
}

/// The codes of a report's diagnostics, in order.
pub(super) fn codes(r: &Report) -> Vec<&'static str> {
    r.diagnostics().map(|(_, d)| d.code).collect()
}
