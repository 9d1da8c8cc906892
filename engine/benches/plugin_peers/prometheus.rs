//! Per-call cost of the `prometheus` plugin against its local peer.

use criterion::Criterion;

pub fn bench(_c: &mut Criterion) {}
