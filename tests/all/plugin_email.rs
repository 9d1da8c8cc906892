//! Tests of the `email` plugin against its peer.
