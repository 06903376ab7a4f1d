//! The peer port: one listener for gRPC and the lean framing of `wire.rs` (ADR 32), in
//! plain TCP or mutual TLS (ADR 26). Each connection is told apart by its first bytes; the
//! framing's connections are served here, the rest go to the gRPC server.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;

use super::tls::{PeerCertificates, Reloading};
use super::wire::{self, PeerIo, Rewind, Sniffed, WireService};

/// A gRPC connection on the peer port, after its TLS handshake if any.
pub struct PeerStream {
    inner: Rewind<Box<dyn PeerIo>>,
    certificates: PeerCertificates,
}

impl tonic::transport::server::Connected for PeerStream {
    /// The chain the peer presented; empty on plain TCP.
    type ConnectInfo = PeerCertificates;

    fn connect_info(&self) -> PeerCertificates {
        self.certificates.clone()
    }
}

impl AsyncRead for PeerStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for PeerStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The peer port's gRPC connections. Every accepted connection gets a task of its own for
/// its TLS handshake (with the config current at that moment, when `tls` is given) and its
/// first bytes, so one slow client holds up nobody; a client without a valid certificate
/// never becomes a connection, and the framing's connections are served on that task.
pub fn incoming(
    listener: TcpListener,
    tls: Option<Arc<Reloading<rustls::ServerConfig>>>,
    wire: Arc<dyn WireService>,
) -> tokio_stream::wrappers::ReceiverStream<Result<PeerStream, io::Error>> {
    let (connections, stream) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let tcp = match listener.accept().await {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a peer connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            if connections.is_closed() {
                return;
            }
            let _ = tcp.set_nodelay(true);
            let acceptor = tls.as_ref().map(|config| tokio_rustls::TlsAcceptor::from(config.current()));
            let (connections, wire) = (connections.clone(), wire.clone());
            tokio::spawn(async move {
                let opening = async move {
                    let (io, certificates): (Box<dyn PeerIo>, PeerCertificates) = match acceptor {
                        None => (Box::new(tcp), PeerCertificates::default()),
                        Some(acceptor) => {
                            let tls = acceptor.accept(tcp).await.inspect_err(
                                |e| tracing::warn!(error = %e, "a peer connection failed its TLS handshake"),
                            )?;
                            let chain = tls.get_ref().1.peer_certificates().unwrap_or_default().to_vec();
                            (Box::new(tls), PeerCertificates(Arc::new(chain)))
                        }
                    };
                    Ok::<_, io::Error>((wire::sniff(io).await?, certificates))
                };
                let opened = tokio::time::timeout(Duration::from_millis(crate::limits::PEER_TLS_HANDSHAKE_MS), opening);
                match opened.await {
                    Ok(Ok((Sniffed::Wire(io), certificates))) => wire::serve_connection(io, wire, certificates).await,
                    Ok(Ok((Sniffed::Other(inner), certificates))) => {
                        let _ = connections.send(Ok(PeerStream { inner, certificates })).await;
                    }
                    Ok(Err(_)) => {}
                    Err(_) => tracing::warn!("a peer connection sent nothing in time"),
                }
            });
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(stream)
}
