//! First-party plugins compiled by build.rs for wasm32-wasip2 and embedded in the binary.

mod artifacts {
    include!(concat!(env!("OUT_DIR"), "/plugin_artifacts.rs"));
}

/// (plugin name, component bytes) of every embedded plugin.
pub const BUILTIN: &[(&str, &[u8])] = &[
    ("console", artifacts::CONSOLE),
    ("webhook", artifacts::WEBHOOK),
    ("email", artifacts::EMAIL),
    ("sms", artifacts::SMS),
    ("voice", artifacts::VOICE),
    ("pagerduty", artifacts::PAGERDUTY),
    ("prometheus", artifacts::PROMETHEUS),
    ("ec2", artifacts::EC2),
    ("chat", artifacts::CHAT),
];

pub fn builtin(name: &str) -> Option<&'static [u8]> {
    BUILTIN
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// Path of the test-only `testbed` plugin (built with the others, never embedded).
#[doc(hidden)]
pub const TESTBED_PATH: &str = artifacts::TESTBED_PATH;
