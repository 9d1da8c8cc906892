//! Tests of the `voice` plugin against its peer.
