//! Per-call cost of each first-party plugin against its local peer (issue 7), so the sandbox's
//! share of a notification or an API call is visible next to the peer's own time.

use criterion::{criterion_group, criterion_main};

mod chat;
mod ec2;
mod email;
mod pagerduty;
mod prometheus;
mod sms;
mod voice;

criterion_group!(
    benches,
    email::bench,
    sms::bench,
    voice::bench,
    pagerduty::bench,
    prometheus::bench,
    ec2::bench,
    chat::bench
);
criterion_main!(benches);
