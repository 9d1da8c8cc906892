//! Tests of the `pagerduty` plugin against its peer.
