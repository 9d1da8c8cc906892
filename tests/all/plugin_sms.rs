//! Tests of the `sms` plugin against its peer.
