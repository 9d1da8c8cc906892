//! Per-call cost of the `ec2` plugin against its local peer.

use criterion::Criterion;

pub fn bench(_c: &mut Criterion) {}
