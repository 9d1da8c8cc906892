//! Per-call cost of the `email` plugin against its local peer.

use criterion::Criterion;

pub fn bench(_c: &mut Criterion) {}
