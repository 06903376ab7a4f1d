//! The HTTP server under the API router: hyper's own connection loop, with the limits that
//! `axum::serve` has no setting for.
//!
//! - **Header read timeout.** A client gets `HttpLimits::header_read_timeout_ms` to send a
//!   request's head; a half-sent request (slowloris) is closed after it. hyper starts the
//!   same timer whenever a kept-alive connection waits for its next request, so it is also
//!   the idle timeout of a kept-alive connection. (`axum::serve` sets no timer, and without
//!   one hyper enforces no header timeout at all: 200 half-sent requests were held for as
//!   long as their clients liked.)
//! - **A connection cap.** At most `HttpLimits::connections_max` connections are served at
//!   once; one more is answered 503 problem+json `too_many_connections` and closed, so it is
//!   told why instead of waiting in the kernel's backlog. A WebSocket leaves the count once
//!   it is upgraded: sockets have caps of their own (`sockets.rs`).
//! - **TLS**, when configured: rustls, with the config [`HttpsConfig`] holds at the moment
//!   of the handshake, so a rotated certificate serves new connections while open ones
//!   keep theirs (ADR 26). The handshake must finish within the header read timeout.
//! - `TCP_NODELAY` on every connection (docs/design.md, pitfall 9), graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use lockd_raft::network::tls::Reloading;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::limits;

/// The server's limits; `Default` has the ones `limits.rs` documents.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    pub connections_max: usize,
    pub header_read_timeout_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            connections_max: limits::HTTP_CONNECTIONS_MAX_DEFAULT,
            header_read_timeout_ms: limits::HTTP_HEADER_READ_TIMEOUT_MS_DEFAULT,
        }
    }
}

/// The HTTPS port's TLS config, rebuilt when its files change.
pub type HttpsConfig = Arc<Reloading<rustls::ServerConfig>>;

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` resolves, then lets the
/// open requests finish (within `limits::HTTP_DRAIN_MS`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    http_limits: HttpLimits,
    tls: Option<HttpsConfig>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(http_limits.header_read_timeout_ms));
    let permits = Arc::new(Semaphore::new(http_limits.connections_max));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to be freed.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(limits::HTTP_ACCEPT_RETRY_MS)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let permit = permits.clone().try_acquire_owned().ok();
        let Some(tls) = &tls else {
            match permit {
                Some(permit) => serve_connection(&builder, &graceful, tcp, app.clone(), permit),
                None => drop(tokio::spawn(refuse(tcp))),
            }
            continue;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
        let handshake_timeout = Duration::from_millis(http_limits.header_read_timeout_ms);
        let (builder, graceful_watcher, app) = (builder.clone(), graceful.watcher(), app.clone());
        tokio::spawn(async move {
            // A client that never finishes its hello is closed like one that never sends a head.
            let Ok(Ok(stream)) = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await else { return };
            match permit {
                Some(permit) => {
                    let connection = builder
                        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(app))
                        .into_owned();
                    let _ = graceful_watcher.watch(connection).await;
                    drop(permit);
                }
                None => refuse(stream).await,
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_millis(limits::HTTP_DRAIN_MS), graceful.shutdown()).await;
    Ok(())
}

fn serve_connection<I: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    builder: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    io: I,
    app: Router,
    permit: OwnedSemaphorePermit,
) {
    let connection =
        builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(app)).into_owned();
    let connection = graceful.watch(connection);
    tokio::spawn(async move {
        // Errors here are the client's (a reset, a malformed request, the header timeout).
        let _ = connection.await;
        drop(permit);
    });
}

/// Tells a connection over the cap why it is closed.
async fn refuse(mut tcp: impl AsyncWrite + Unpin) {
    let body = concat!(
        r#"{"type":"https://lockd.dev/problems/too_many_connections","title":"Service Unavailable","#,
        r#""status":503,"code":"too_many_connections","#,
        r#""detail":"this node serves as many connections as it may; retry shortly or use another node"}"#
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\n\
         content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        tcp.write_all(answer.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_millis(limits::HTTP_REFUSE_WRITE_MS), write).await;
}
