//! Presence and pointers (ADR 11): who views an appointment and where their pointer is,
//! across nodes, never in the Raft log.
//!
//! - [`hub`]: this node's view, own tabs and relayed ones, latest state only;
//! - [`relay`]: the gRPC stream between peers that keeps peers' hubs current;
//! - [`disconnect`]: the lock holder's tab closing releases the lock after a grace period.
//!
//! Path of a pointer: browser → socket on node A (`routes/updates.rs`) → A's hub → A's relay
//! stream to B → B's hub → B's sockets of that appointment → browser. Each hop keeps only the
//! latest position per tab and flushes at most 30 times a second.

pub mod disconnect;
pub mod hub;
pub mod relay;

pub use hub::{Pointer, PresenceHub, RoomView, Viewer, ViewerGuard, ViewerKey};
