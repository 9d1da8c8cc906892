//! Tests of the `ec2` plugin against its peer.
