//! The sending side of the Raft transport: openraft's `RaftNetworkV2` over tonic.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{NetworkError, RPCError, ReplicationClosed, StreamingError, Timeout, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use openraft::{OptionalSend, RPCTypes};
use tonic::transport::{Channel, Endpoint};

use futures::future::BoxFuture;

use super::wire::{Call, PeerIo, WirePeer};
use crate::codec::{self, pb};
use crate::limits;
use crate::types::{NodeId, NodeInfo, Snapshot, SnapshotData, TypeConfig, Vote};

/// Reaches a peer's address: a gRPC channel, or a connection for the lean framing
/// (`wire.rs`). Production uses TCP; the simulation plugs in simulated TCP here.
pub trait ChannelFactory: Send + Sync + 'static {
    fn channel(&self, raft_addr: &str) -> Channel;
    fn dial(&self, raft_addr: &str) -> BoxFuture<'static, std::io::Result<Box<dyn PeerIo>>>;
}

/// Real TCP, with Nagle off: Raft messages are small and latency-bound (docs/design.md, pitfall 9).
#[derive(Debug, Default)]
pub struct TcpChannels {
    /// The source address of connections to peers: the IP the node's peer port listens on,
    /// when that is one address, so firewalls (and the chaos tests' fault proxy) see the
    /// same address in both directions. None: the kernel picks.
    pub local_ip: Option<std::net::IpAddr>,
}

impl ChannelFactory for TcpChannels {
    fn channel(&self, raft_addr: &str) -> Channel {
        peer_endpoint(raft_addr).tcp_nodelay(true).local_address(self.local_ip).connect_lazy()
    }

    fn dial(&self, raft_addr: &str) -> BoxFuture<'static, std::io::Result<Box<dyn PeerIo>>> {
        let (addr, local_ip) = (raft_addr.to_owned(), self.local_ip);
        Box::pin(async move { Ok(Box::new(connect_tcp_in_time(&addr, local_ip).await?) as Box<dyn PeerIo>) })
    }
}

/// Mutual TLS to peers (ADR 26): the connection is made by the connector below with the
/// client config current at that moment, so a rotated certificate or CA is used by every
/// connection opened after it; the server must present a certificate of the cluster's CA
/// that names the host of the member address dialled.
pub struct TlsChannels {
    pub local_ip: Option<std::net::IpAddr>,
    pub config: Arc<super::tls::Reloading<rustls::ClientConfig>>,
}

impl ChannelFactory for TlsChannels {
    fn channel(&self, raft_addr: &str) -> Channel {
        let (config, local_ip, addr) = (self.config.clone(), self.local_ip, raft_addr.to_owned());
        let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
            let (config, addr) = (config.current(), addr.clone());
            async move { Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(connect_tls(&addr, local_ip, config).await?)) }
        });
        peer_endpoint(raft_addr).connect_with_connector_lazy(connector)
    }

    fn dial(&self, raft_addr: &str) -> BoxFuture<'static, std::io::Result<Box<dyn PeerIo>>> {
        let (config, local_ip, addr) = (self.config.current(), self.local_ip, raft_addr.to_owned());
        Box::pin(async move { Ok(Box::new(connect_tls(&addr, local_ip, config).await?) as Box<dyn PeerIo>) })
    }
}

/// A TLS connection to the peer at `addr`, whose certificate must name its host.
async fn connect_tls(
    addr: &str,
    local_ip: Option<std::net::IpAddr>,
    config: Arc<rustls::ClientConfig>,
) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
    let tcp = connect_tcp_in_time(addr, local_ip).await?;
    let host = super::tls::host_of(addr).to_owned();
    let name = rustls_pki_types::ServerName::try_from(host)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await
}

/// [`connect_tcp`] within the channels' connect timeout.
async fn connect_tcp_in_time(addr: &str, local_ip: Option<std::net::IpAddr>) -> std::io::Result<tokio::net::TcpStream> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect_tcp(addr, local_ip))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("connecting to {addr}")))?
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A TCP connection to `addr` (`host:port`), from `local_ip` when given, with Nagle off.
async fn connect_tcp(addr: &str, local_ip: Option<std::net::IpAddr>) -> std::io::Result<tokio::net::TcpStream> {
    let mut last_error = std::io::Error::new(std::io::ErrorKind::NotFound, format!("{addr} resolves to nothing"));
    for target in tokio::net::lookup_host(addr).await? {
        let socket = if target.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        if let Some(ip) = local_ip.filter(|ip| ip.is_ipv4() == target.is_ipv4()) {
            socket.bind(std::net::SocketAddr::new(ip, 0))?;
        }
        socket.set_nodelay(true)?;
        match socket.connect(target).await {
            Ok(tcp) => return Ok(tcp),
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// The endpoint policy every transport shares: connect timeout and keepalive pings, so a
/// dead connection is replaced rather than waited on.
pub fn peer_endpoint(raft_addr: &str) -> Endpoint {
    Endpoint::from_shared(format!("http://{raft_addr}"))
        .expect("peer addresses are validated at start-up")
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(Duration::from_millis(limits::PEER_KEEPALIVE_INTERVAL_MS))
        .keep_alive_timeout(Duration::from_millis(limits::PEER_KEEPALIVE_TIMEOUT_MS))
        .keep_alive_while_idle(true)
}

/// Channels to peers, one per address, reused for every RPC (docs/design.md, pitfall 4), with the
/// cluster secret each request carries.
pub struct Peers {
    factory: Arc<dyn ChannelFactory>,
    channels: Mutex<BTreeMap<String, Channel>>,
    wires: Mutex<BTreeMap<String, Arc<WirePeer>>>,
    secret: Option<Arc<str>>,
    /// The runtime that drives every channel's connection: the replica's (ADR 6), whichever
    /// runtime first asks for the channel.
    runtime: tokio::runtime::Handle,
}

impl Peers {
    pub fn new(factory: Arc<dyn ChannelFactory>, secret: Option<&str>, runtime: tokio::runtime::Handle) -> Self {
        Peers {
            factory,
            channels: Mutex::new(BTreeMap::new()),
            wires: Mutex::new(BTreeMap::new()),
            secret: secret.map(Into::into),
            runtime,
        }
    }

    /// The shared channel to a peer, for other services between peers (the presence relay).
    pub fn channel(&self, raft_addr: &str) -> Channel {
        self.channels
            .lock()
            .expect("not poisoned")
            .entry(raft_addr.to_owned())
            .or_insert_with(|| {
                // tonic spawns the channel's connection task where the channel is made.
                let _on_the_replica_runtime = self.runtime.enter();
                self.factory.channel(raft_addr)
            })
            .clone()
    }

    /// The lean framing's connections to a peer (`wire.rs`), for the calls every write waits on.
    pub fn wire(&self, raft_addr: &str) -> Arc<WirePeer> {
        let mut wires = self.wires.lock().expect("not poisoned");
        let wire = wires.entry(raft_addr.to_owned());
        wire.or_insert_with(|| Arc::new(WirePeer::new(raft_addr, self.factory.clone(), self.secret.as_deref()))).clone()
    }

    /// Runs `task` on the runtime that drives the peers' connections.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// `message` as a request carrying the cluster secret.
    pub fn signed<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        super::auth::sign(&mut request, self.secret.as_deref());
        request
    }

    pub fn client(&self, raft_addr: &str) -> PeerClient {
        let channel = self.channel(raft_addr);
        let client = pb::raft_service_client::RaftServiceClient::new(channel)
            .max_decoding_message_size(limits::RAFT_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(limits::RAFT_MESSAGE_BYTES_MAX);
        PeerClient { client, secret: self.secret.clone() }
    }
}

/// A gRPC client to one peer that signs each request with the cluster secret.
#[derive(Clone)]
pub struct PeerClient {
    client: pb::raft_service_client::RaftServiceClient<Channel>,
    secret: Option<Arc<str>>,
}

impl PeerClient {
    pub fn request<T>(&self, message: T, timeout: Option<Duration>) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        super::auth::sign(&mut request, self.secret.as_deref());
        if let Some(timeout) = timeout {
            request.set_timeout(timeout);
        }
        request
    }

    pub fn grpc(&mut self) -> &mut pb::raft_service_client::RaftServiceClient<Channel> {
        &mut self.client
    }
}

/// openraft's factory of per-peer connections.
#[derive(Clone)]
pub struct Network {
    peers: Arc<Peers>,
    node_id: NodeId,
}

impl Network {
    pub fn new(peers: Arc<Peers>, node_id: NodeId) -> Self {
        Network { peers, node_id }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = RaftPeer;

    async fn new_client(&mut self, target: NodeId, node: &NodeInfo) -> Self::Network {
        RaftPeer {
            from: self.node_id,
            target,
            peer: self.peers.client(&node.raft_addr),
            wire: self.peers.wire(&node.raft_addr),
        }
    }
}

pub struct RaftPeer {
    from: NodeId,
    target: NodeId,
    /// Votes and snapshots.
    peer: PeerClient,
    /// Appends, which every write waits on.
    wire: Arc<WirePeer>,
}

impl RaftPeer {
    fn error(&self, status: tonic::Status, action: RPCTypes, timeout: Duration) -> RPCError<TypeConfig> {
        match status.code() {
            tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
                RPCError::Timeout(Timeout { action, id: self.from, target: self.target, timeout })
            }
            tonic::Code::Unavailable => RPCError::Unreachable(Unreachable::new(&status)),
            _ => RPCError::Network(NetworkError::new(&status)),
        }
    }
}

fn decode_error(e: codec::CodecError) -> RPCError<TypeConfig> {
    RPCError::Network(NetworkError::new(&e))
}

impl RaftNetworkV2<TypeConfig> for RaftPeer {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        // openraft gives every append the heartbeat's time to live (3/4 of the interval). An
        // append that carries entries waits for the follower's fsync, which under load takes
        // longer than that; cancelling it re-sends the batch (more load) and can drop it before
        // the follower sees it, so the follower's leader lease lapses and it starts a needless
        // election. A dead follower is still found fast: a refused or reset connection fails
        // at once, a silent one within the keepalive timeout.
        let timeout = match rpc.entries.is_empty() {
            true => option.soft_ttl(),
            false => option.soft_ttl().max(Duration::from_millis(limits::APPEND_ENTRIES_TIMEOUT_MS)),
        };
        let request = codec::raft::append_request_to_pb(&rpc);
        let response = match self.wire.call(Call::AppendEntries, &request, timeout).await {
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                let request = self.peer.request(request, Some(timeout));
                self.peer.grpc().append_entries(request).await.map(tonic::Response::into_inner)
            }
            answer => answer,
        };
        let response = response.map_err(|s| self.error(s, RPCTypes::AppendEntries, timeout))?;
        codec::raft::append_response_from_pb(response).map_err(decode_error)
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        let timeout = option.soft_ttl();
        let request = self.peer.request(codec::raft::vote_request_to_pb(&rpc), Some(timeout));
        let response = self.peer.grpc().vote(request).await;
        let response = response.map_err(|s| self.error(s, RPCTypes::Vote, timeout))?;
        codec::raft::vote_response_from_pb(response.into_inner()).map_err(decode_error)
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let timeout = option.hard_ttl();
        // The bytes already hold the metadata (`codec::encode_snapshot`); they travel as stored.
        let message =
            pb::InstallSnapshotRequest { vote: Some(codec::raft::vote_to_pb(&vote)), snapshot: snapshot.snapshot };
        let request = self.peer.request(message, Some(timeout));
        let mut grpc = self.peer.grpc().clone();
        let call = async move { grpc.install_snapshot(request).await };
        let response = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            response = call => response,
        };
        let response = response.map_err(|s| StreamingError::from(self.error(s, RPCTypes::InstallSnapshot, timeout)))?;
        let vote = response.into_inner().vote.ok_or(codec::CodecError::Missing("InstallSnapshotResponse.vote"));
        let vote = vote.and_then(codec::raft::vote_from_pb).map_err(|e| StreamingError::from(decode_error(e)))?;
        Ok(SnapshotResponse::new(vote))
    }
}
