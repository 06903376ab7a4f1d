//! The real node's network edges over turmoil's simulated TCP: a listener for axum's HTTP
//! and for the peer port (`serve_peers`: gRPC over HTTP/2 and the lean framing of
//! `lockd_raft::network::wire`), a `ChannelFactory` for the clients between peers, and a small
//! HTTP/1.1 client for the simulated users.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use lockd_raft::limits;
use lockd_raft::network::tls::PeerCertificates;
use lockd_raft::network::wire::{self, PeerIo, Sniffed, WireService};
use lockd_raft::network::{ChannelFactory, peer_endpoint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tonic::transport::{Channel, Uri};
use turmoil::net::{TcpListener, TcpStream};

/// One accepted or dialled simulated TCP connection.
pub struct SimConn(TcpStream);

impl AsyncRead for SimConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A simulated listener, in the shape axum's `serve` takes (and `serve_peers` uses too).
pub struct SimListener(pub TcpListener);

impl axum::serve::Listener for SimListener {
    type Io = SimConn;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => return (SimConn(stream), addr),
                // As axum does for real sockets: an accept error is the peer's problem.
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Serves the gRPC services as tonic's server does (HTTP/2 only, the peers' keepalive), but
/// without the `date` header. hyper reads the system clock for it, and HPACK encodes the
/// header in fewer bytes while the wall-clock second stays the same: frames a few bytes
/// shorter or longer changed seeds' histories, so how fast the machine ran did too
/// (docs/testing.md). tonic's own server has no switch for the header.
pub async fn serve_peers(mut listener: SimListener, routes: tonic::service::Routes, wire: Arc<dyn WireService>) {
    use axum::serve::Listener;
    let mut connections = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()).http2_only();
    connections
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Duration::from_millis(limits::PEER_KEEPALIVE_INTERVAL_MS))
        .keep_alive_timeout(Duration::from_millis(limits::PEER_KEEPALIVE_TIMEOUT_MS))
        .auto_date_header(false);
    loop {
        let (connection, _) = listener.accept().await;
        let (connections, service) = (connections.clone(), TowerToHyperService::new(routes.clone()));
        let wire = wire.clone();
        tokio::spawn(async move {
            // A connection ends when its peer crashes or is cut off: nothing to report.
            match wire::sniff(connection).await {
                Ok(Sniffed::Wire(io)) => wire::serve_connection(io, wire, PeerCertificates::default()).await,
                Ok(Sniffed::Other(io)) => {
                    let _ = connections.serve_connection(TokioIo::new(io), service).await;
                }
                Err(_) => {}
            }
        });
    }
}

/// gRPC channels to peers over simulated TCP.
#[derive(Debug, Default)]
pub struct SimChannels;

impl ChannelFactory for SimChannels {
    fn channel(&self, raft_addr: &str) -> Channel {
        let connector = tower::service_fn(|uri: Uri| async move {
            let host = uri.host().ok_or_else(|| io::Error::other("no host"))?.to_owned();
            let port = uri.port_u16().ok_or_else(|| io::Error::other("no port"))?;
            let stream = TcpStream::connect((host.as_str(), port)).await?;
            Ok::<_, io::Error>(TokioIo::new(SimConn(stream)))
        });
        peer_endpoint(raft_addr).connect_with_connector_lazy(connector)
    }

    fn dial(&self, raft_addr: &str) -> BoxFuture<'static, io::Result<Box<dyn PeerIo>>> {
        let raft_addr = raft_addr.to_owned();
        Box::pin(async move { Ok(Box::new(SimConn(TcpStream::connect(raft_addr.as_str()).await?)) as Box<dyn PeerIo>) })
    }
}

/// An HTTP answer as a simulated user sees it.
#[derive(Debug)]
pub struct HttpAnswer {
    pub status: StatusCode,
    pub body: serde_json::Value,
}

/// One request on a fresh connection (a crashed node never leaves a stale pooled one).
pub async fn send(host: &str, port: u16, request: Request<Full<Bytes>>) -> io::Result<HttpAnswer> {
    let stream = TcpStream::connect((host, port)).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(SimConn(stream))).await.map_err(io::Error::other)?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(io::Error::other)?;
    let status = response.status();
    let bytes = response.into_body().collect().await.map_err(io::Error::other)?.to_bytes();
    let body = if bytes.is_empty() { serde_json::Value::Null } else { serde_json::from_slice(&bytes)? };
    Ok(HttpAnswer { status, body })
}
