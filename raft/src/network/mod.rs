//! The transport between peers: the calls every write waits on (appends, forwarded writes,
//! read indexes) on a lean framing of protobuf messages (`wire.rs`, ADR 32), the rest on gRPC
//! (tonic/prost), both on one port, authenticated by mutual TLS or the cluster secret.

mod auth;
mod client;
mod forward;
pub mod listener;
mod reads;
mod server;
pub mod tls;
pub mod wire;

pub use auth::{CertifiedAs, MembersFn, PeerAuth, PeerGuard};
pub use client::{ChannelFactory, Network, PeerClient, Peers, RaftPeer, TcpChannels, TlsChannels, peer_endpoint};
pub use forward::{ForwardStats, Forwarder};
pub use reads::ReadIndexes;
pub use server::{PeerWire, RaftGrpc};

/// The gRPC server of the binary and the real-process tests, with the same keepalive policy
/// as the clients: a peer that stops answering pings loses its connection instead of holding
/// it forever. The simulation serves the same services with the same keepalive on hyper
/// directly (`sim-tests/src/net.rs::serve_peers`), to leave out hyper's `date` header: keep
/// the two alike.
pub fn peer_server() -> tonic::transport::Server {
    use std::time::Duration;
    tonic::transport::Server::builder()
        .http2_keepalive_interval(Some(Duration::from_millis(crate::limits::PEER_KEEPALIVE_INTERVAL_MS)))
        .http2_keepalive_timeout(Some(Duration::from_millis(crate::limits::PEER_KEEPALIVE_TIMEOUT_MS)))
}
