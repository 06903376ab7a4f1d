//! The gRPC transport between peers (tonic/prost): Raft RPCs, forwarded writes and read
//! indexes, authenticated by the cluster secret.

mod auth;
mod client;
mod server;

pub use auth::RequireSecret;
pub use client::{ChannelFactory, Network, PeerClient, Peers, RaftPeer, TcpChannels};
pub use server::RaftGrpc;
