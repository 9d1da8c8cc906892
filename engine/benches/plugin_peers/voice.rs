//! Per-call cost of the `voice` plugin against its local peer.

use criterion::Criterion;

pub fn bench(_c: &mut Criterion) {}
