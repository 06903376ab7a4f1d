//! lockd's replicated core.
//!
//! - [`sm`]: the lock state machine, pure and deterministic (no I/O, no clock).
//! - [`codec`]: protobuf on the wire and on disk, converted by hand, with a format byte.
//! - [`store`]: the Raft log in RocksDB; the state machine and its snapshots.
//! - [`network`]: the gRPC transport between peers, authenticated by a cluster secret.
//! - [`node`]: one replica: submit (forwarding to the leader), linearizable reads, the ticker.
//! - [`clock`]: the leader's clock, behind a trait for the simulation.
//! - [`runtime`]: openraft on tokio, with randomness the simulation can seed.
//! - [`limits`]: every bound the core enforces.
//! - [`stages`]: how long each stage of a write takes on this node.
//!
//! This is the only crate that knows openraft, RocksDB and protobuf. It knows nothing of
//! HTTP or JSON: the API layer converts these types at its own edge.

pub mod clock;
pub mod codec;
pub mod limits;
pub mod network;
pub mod node;
pub mod runtime;
pub mod sm;
pub mod stages;
pub mod store;
pub mod trace;
pub mod types;
