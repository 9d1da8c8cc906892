//! Per-call cost of the `chat` plugin against its local peer.

use criterion::Criterion;

pub fn bench(_c: &mut Criterion) {}
