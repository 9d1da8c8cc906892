//! Tests of the `chat` plugin against its peer.
