//! Deterministic simulation of a lockd cluster (see docs/testing.md).
