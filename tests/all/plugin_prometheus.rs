//! Tests of the `prometheus` plugin against its peer.
