//! Unit tests of `ingest` against the real payloads in tests/fixtures/alerts and against bad input.

mod alertmanager;
mod cloudwatch;
mod eventbridge;
mod fuzz;
mod generic;
mod pattern;
mod sns;

/// A fixture from tests/fixtures/alerts.
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../../tests/fixtures/alerts/", $name)).as_slice()
    };
}
pub(crate) use fixture;

/// An edit of a payload, for tables of bad-input cases.
pub(crate) type Edit = Box<dyn Fn(&mut serde_json::Value)>;

pub(crate) fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("fixture is JSON")
}
