//! The peer calls every write waits on (appends to followers, writes forwarded to the
//! leader, read indexes) on a lean lockstep framing, beside gRPC on the same port (ADR 32).
//!
//! Why not gRPC for these: at one client a write's two network hops cost ~190 µs each
//! against a 28 µs loopback round trip (docs/benchmarks.md), spent in hand-offs between
//! tasks: tonic's channel buffer task, h2's connection task on each end and the server's task
//! per call, each a thread wake-up on an idle machine. Here the caller writes its request to
//! a connection it has to itself and reads the answer from it; the server's connection task
//! reads, handles and writes. One call at a time per connection, so a connection needs no
//! multiplexing; a caller takes an idle connection from its peer's pool or dials one.
//!
//! A connection opens with [`MAGIC`] (which is how the listener tells it from HTTP/2) and a
//! hello frame with the cluster secret (empty under mutual TLS, which authenticates the
//! connection itself); the server echoes the magic, so a caller knows a peer of an older
//! version (which answers in HTTP/2) and makes its calls on gRPC instead. Every frame is a 4-byte big-endian body length, a tag byte and the
//! body: a request's tag names the call ([`Call`]), a response's is 0 for a protobuf answer or
//! a gRPC status code, the body then the status message.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, ReadBuf};
use tokio::time::Instant;
use tonic::{Code, Status};

use super::auth::CertifiedAs;
use super::client::ChannelFactory;
use crate::limits;

/// The first bytes of a connection on this framing. An HTTP/2 connection starts with `PRI`.
pub const MAGIC: [u8; 8] = *b"LOCKDW1\n";

/// A byte stream to or from a peer: TCP, TLS over TCP, or the simulation's TCP.
pub trait PeerIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> PeerIo for T {}

/// The calls on this framing: the request's tag byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Hello = 1,
    AppendEntries = 2,
    ForwardBatch = 3,
    ReadIndex = 4,
}

impl Call {
    fn from_tag(tag: u8) -> Option<Call> {
        [Call::Hello, Call::AppendEntries, Call::ForwardBatch, Call::ReadIndex].into_iter().find(|c| *c as u8 == tag)
    }
}

/// The response tag of an answer; any other is a gRPC status code.
const ANSWERED: u8 = 0;
/// A hello carries at most a cluster secret.
const HELLO_BYTES_MAX: usize = 4096;
/// Idle connections kept per peer: one per concurrent caller (replication, heartbeats, a few
/// forwarded batches and reads); more are closed after their call.
const IDLE_PER_PEER_MAX: usize = 8;
/// A pooled connection idle this long is closed rather than reused: the server closes its
/// end after [`SERVER_IDLE_MS`], and a connection reused just as it does would fail its call.
const CLIENT_IDLE_MS: u64 = 30_000;
/// The server closes a connection that sends nothing for this long (a peer that died
/// silently; the live ones send a heartbeat every few tens of milliseconds).
const SERVER_IDLE_MS: u64 = 60_000;
/// The pause before dialling a peer again after a failed connection, doubled for each
/// failure in a row up to the maximum.
const DIAL_BACKOFF_MIN_MS: u64 = 10;
const DIAL_BACKOFF_MAX_MS: u64 = 500;
/// How long a peer found not to speak this framing is called on gRPC before it is asked again.
const OLDER_PEER_RETRY_MS: u64 = 60_000;

/// Appends one frame to `out`: length, tag, then the body `encode` writes.
fn frame(out: &mut Vec<u8>, tag: u8, encode: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; 5]);
    encode(out);
    let body_len = (out.len() - start - 5) as u32;
    out[start..start + 4].copy_from_slice(&body_len.to_be_bytes());
    out[start + 4] = tag;
}

async fn read_frame<R: AsyncRead + Unpin>(io: &mut R, body_bytes_max: usize) -> io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    io.read_exact(&mut header).await?;
    let body_len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if body_len > body_bytes_max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a frame of {body_len} bytes, over the {body_bytes_max} allowed"),
        ));
    }
    let mut body = vec![0; body_len];
    io.read_exact(&mut body).await?;
    Ok((header[4], body))
}

struct Connection {
    io: BufReader<Box<dyn PeerIo>>,
    idle_since: Instant,
}

/// Connections to one peer, each used by one call at a time.
pub struct WirePeer {
    raft_addr: String,
    dial: Arc<dyn ChannelFactory>,
    /// What a new connection sends first: the magic and the hello.
    preamble: Vec<u8>,
    idle: Mutex<Vec<Connection>>,
    dialling: Mutex<Dialling>,
}

/// What the last connections to a peer taught.
#[derive(Default)]
struct Dialling {
    /// Until when the peer is taken not to speak this framing.
    older_until: Option<Instant>,
    /// Connections in a row that could not be made (refused, or not made by the call's
    /// deadline), and when the next may be tried: a peer that is down or cut off is not
    /// dialled at every heartbeat.
    failures: u32,
    retry_at: Option<Instant>,
}

/// Records a failed connection unless disarmed: a call cancelled by its deadline while
/// connecting counts too.
struct DialAttempt<'a> {
    peer: &'a WirePeer,
    armed: bool,
}

impl Drop for DialAttempt<'_> {
    fn drop(&mut self) {
        let mut dialling = self.peer.dialling.lock().expect("not poisoned");
        if self.armed {
            dialling.failures = dialling.failures.saturating_add(1);
            let backoff_ms = (DIAL_BACKOFF_MIN_MS << (dialling.failures - 1).min(16)).min(DIAL_BACKOFF_MAX_MS);
            dialling.retry_at = Some(Instant::now() + Duration::from_millis(backoff_ms));
        } else {
            dialling.failures = 0;
            dialling.retry_at = None;
        }
    }
}

fn older_peer() -> Status {
    Status::unimplemented("the peer does not speak the lean framing")
}

impl WirePeer {
    pub fn new(raft_addr: &str, dial: Arc<dyn ChannelFactory>, secret: Option<&str>) -> Self {
        let mut preamble = MAGIC.to_vec();
        frame(&mut preamble, Call::Hello as u8, |out| out.extend_from_slice(secret.unwrap_or_default().as_bytes()));
        WirePeer {
            raft_addr: raft_addr.to_owned(),
            dial,
            preamble,
            idle: Mutex::new(Vec::new()),
            dialling: Mutex::new(Dialling::default()),
        }
    }

    /// Sends `request` and waits for its answer, at most `limit`. Errors are gRPC statuses,
    /// as the gRPC calls' are: `DeadlineExceeded` on timeout, `Unavailable` when no
    /// connection could be made or it broke.
    ///
    /// `Unimplemented` when the peer does not speak this framing (a node of an older version,
    /// during a rolling upgrade): the caller makes the call on gRPC instead. Such a peer is
    /// asked again after [`OLDER_PEER_RETRY_MS`].
    pub async fn call<Req: Message, Resp: Message + Default>(
        &self,
        call: Call,
        request: &Req,
        limit: Duration,
    ) -> Result<Resp, Status> {
        if self.dialling.lock().expect("not poisoned").older_until.is_some_and(|until| Instant::now() < until) {
            return Err(older_peer());
        }
        let mut out = Vec::with_capacity(request.encoded_len() + 5 + self.preamble.len());
        frame(&mut out, call as u8, |out| request.encode_raw(out));
        let answer = match tokio::time::timeout(limit, self.exchange(out)).await {
            Ok(answer) => answer?,
            Err(_) => return Err(Status::deadline_exceeded(format!("no answer from {} in {limit:?}", self.raft_addr))),
        };
        Resp::decode(answer.as_slice()).map_err(|e| Status::internal(format!("undecodable answer: {e}")))
    }

    /// Writes `request` (one frame) on a connection and reads the answer's body. A pooled
    /// connection the peer has closed meanwhile fails before any answer: then the request
    /// goes once more, on a new connection (every call here is safe to repeat).
    async fn exchange(&self, request: Vec<u8>) -> Result<Vec<u8>, Status> {
        if let Some(mut connection) = self.take_idle() {
            match exchange_on(&mut connection, &request).await {
                Ok(answer) => return self.keep(connection, answer),
                Err(Failure::Status(status)) => return Err(status),
                Err(Failure::Io(_)) => {}
            }
        }
        let retry_at = self.dialling.lock().expect("not poisoned").retry_at;
        if retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(Status::unavailable(format!(
                "{}: not dialled again yet after failed connections",
                self.raft_addr
            )));
        }
        // Only the connection itself counts: a peer slow to echo (busy, or a heartbeat's
        // deadline of a few milliseconds) is not one to stop calling, appends included.
        let mut attempt = DialAttempt { peer: self, armed: true };
        let io = self
            .dial
            .dial(&self.raft_addr)
            .await
            .map_err(|e| Status::unavailable(format!("connecting to {}: {e}", self.raft_addr)))?;
        attempt.armed = false;
        drop(attempt);
        let mut connection = Connection { io: BufReader::new(io), idle_since: Instant::now() };
        let mut first = self.preamble.clone();
        first.extend_from_slice(&request);
        let mut echo = [0u8; MAGIC.len()];
        let opened = async {
            connection.io.write_all(&first).await?;
            connection.io.flush().await?;
            connection.io.read_exact(&mut echo).await
        };
        if let Err(e) = opened.await {
            return Err(Status::unavailable(format!("{}: {e}", self.raft_addr)));
        }
        if echo != MAGIC {
            tracing::warn!(peer = %self.raft_addr, "the peer does not speak the lean framing; using gRPC for a while");
            let until = Instant::now() + Duration::from_millis(OLDER_PEER_RETRY_MS);
            self.dialling.lock().expect("not poisoned").older_until = Some(until);
            return Err(older_peer());
        }
        match exchange_on(&mut connection, &[]).await {
            Ok(answer) => self.keep(connection, answer),
            Err(Failure::Status(status)) => Err(status),
            Err(Failure::Io(e)) => Err(Status::unavailable(format!("{}: {e}", self.raft_addr))),
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        let mut idle = self.idle.lock().expect("not poisoned");
        let fresh_since = Instant::now() - Duration::from_millis(CLIENT_IDLE_MS);
        idle.retain(|c| c.idle_since > fresh_since);
        idle.pop()
    }

    fn keep(&self, mut connection: Connection, answer: Answer) -> Result<Vec<u8>, Status> {
        let mut idle = self.idle.lock().expect("not poisoned");
        if idle.len() < IDLE_PER_PEER_MAX {
            connection.idle_since = Instant::now();
            idle.push(connection);
        }
        drop(idle);
        answer
    }
}

type Answer = Result<Vec<u8>, Status>;

enum Failure {
    /// The connection broke; nothing is known of the request.
    Io(io::Error),
    /// The peer answered with an error, then (for a failed hello) may have closed.
    Status(Status),
}

/// Writes `request` (nothing if it is already written) and reads its answer.
async fn exchange_on(connection: &mut Connection, request: &[u8]) -> Result<Answer, Failure> {
    if !request.is_empty() {
        connection.io.write_all(request).await.map_err(Failure::Io)?;
        connection.io.flush().await.map_err(Failure::Io)?;
    }
    let (tag, body) = read_frame(&mut connection.io, limits::RAFT_MESSAGE_BYTES_MAX).await.map_err(Failure::Io)?;
    if tag == ANSWERED {
        return Ok(Ok(body));
    }
    let status = Status::new(Code::from_i32(tag.into()), String::from_utf8_lossy(&body));
    // An unauthenticated hello closes the connection: not one to keep.
    match status.code() {
        Code::Unauthenticated | Code::PermissionDenied => Err(Failure::Status(status)),
        _ => Ok(Err(status)),
    }
}

/// A call's answer on its way: the encoded response, or a status.
pub type Answering<'a> = Pin<Box<dyn Future<Output = Result<Vec<u8>, Status>> + Send + 'a>>;

/// What the server side of this framing calls: authenticates a hello, answers calls.
pub trait WireService: Send + Sync + 'static {
    /// The members a connection may speak for, from its hello's secret or its certificates.
    fn admit(&self, hello: &[u8], certificates: &super::tls::PeerCertificates) -> Result<Option<CertifiedAs>, Status>;

    /// One call's answer, encoded.
    fn answer<'a>(&'a self, call: Call, body: Vec<u8>, certified: Option<&'a CertifiedAs>) -> Answering<'a>;
}

/// Serves one connection whose magic has been read: the hello, then calls until the peer
/// closes, goes quiet for [`SERVER_IDLE_MS`], or sends a malformed frame.
pub async fn serve_connection<S>(io: S, service: Arc<dyn WireService>, certificates: super::tls::PeerCertificates)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut io = BufReader::new(io);
    // The echo tells the caller this node speaks the framing (an older one answers HTTP/2).
    if io.write_all(&MAGIC).await.is_err() || io.flush().await.is_err() {
        return;
    }
    let mut out = Vec::new();
    let hello = tokio::time::timeout(
        Duration::from_millis(limits::PEER_TLS_HANDSHAKE_MS),
        read_frame(&mut io, HELLO_BYTES_MAX),
    );
    let certified = match hello.await {
        Ok(Ok((tag, hello))) if tag == Call::Hello as u8 => service.admit(&hello, &certificates),
        Ok(Ok(_)) => Err(Status::invalid_argument("a connection must start with a hello")),
        Ok(Err(_)) | Err(_) => return,
    };
    let certified = match certified {
        Ok(certified) => certified,
        Err(status) => {
            frame(&mut out, status.code() as u8, |out| out.extend_from_slice(status.message().as_bytes()));
            let _ = io.write_all(&out).await;
            let _ = io.shutdown().await;
            return;
        }
    };
    loop {
        let idle = Duration::from_millis(SERVER_IDLE_MS);
        let Ok(Ok((tag, body))) = tokio::time::timeout(idle, read_frame(&mut io, limits::RAFT_MESSAGE_BYTES_MAX)).await
        else {
            return;
        };
        let answer = match Call::from_tag(tag) {
            Some(Call::Hello) | None => Err(Status::invalid_argument(format!("no call has the tag {tag}"))),
            Some(call) => service.answer(call, body, certified.as_ref()).await,
        };
        out.clear();
        match answer {
            Ok(body) => frame(&mut out, ANSWERED, |out| out.extend_from_slice(&body)),
            Err(status) => {
                frame(&mut out, status.code() as u8, |out| out.extend_from_slice(status.message().as_bytes()))
            }
        }
        if io.write_all(&out).await.is_err() || io.flush().await.is_err() {
            return;
        }
    }
}

/// Reads a connection's first bytes: [`Sniffed::Wire`] when they are [`MAGIC`] (consumed),
/// else the connection with the bytes read put back in front, for the gRPC server.
pub async fn sniff<S: AsyncRead + Unpin>(mut io: S) -> io::Result<Sniffed<S>> {
    let mut prefix = [0u8; MAGIC.len()];
    let mut read = 0;
    while read < MAGIC.len() {
        let n = io.read(&mut prefix[read..]).await?;
        if n == 0 || prefix[read..read + n] != MAGIC[read..read + n] {
            read += n;
            return Ok(Sniffed::Other(Rewind { prefix: prefix[..read].to_vec(), at: 0, inner: io }));
        }
        read += n;
    }
    Ok(Sniffed::Wire(io))
}

pub enum Sniffed<S> {
    Wire(S),
    Other(Rewind<S>),
}

/// A stream whose first bytes were read already and are read again before the rest.
pub struct Rewind<S> {
    prefix: Vec<u8>,
    at: usize,
    inner: S,
}

impl<S> Rewind<S> {
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.prefix.len() {
            let n = (this.prefix.len() - this.at).min(buf.remaining());
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::TcpListener;

    use super::*;
    use crate::codec::pb;
    use crate::network::tls::PeerCertificates;
    use crate::network::{ChannelFactory, PeerGuard, TcpChannels};

    /// Answers a read index with the number of calls it has answered; refuses a forwarded batch.
    struct Counter {
        guard: PeerGuard,
        calls: AtomicUsize,
    }

    impl WireService for Counter {
        fn admit(&self, hello: &[u8], certificates: &PeerCertificates) -> Result<Option<CertifiedAs>, Status> {
            self.guard.admit(hello, certificates)
        }

        fn answer<'a>(&'a self, call: Call, _: Vec<u8>, _: Option<&'a CertifiedAs>) -> Answering<'a> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) as u64 + 1;
                match call {
                    Call::ReadIndex => {
                        Ok(pb::ReadIndexResponse { kind: Some(pb::read_index_response::Kind::ReadIndex(n)) }
                            .encode_to_vec())
                    }
                    _ => Err(Status::failed_precondition("not here")),
                }
            })
        }
    }

    /// A peer port on loopback serving `service` as the node's listener does; its address.
    async fn serve(service: Arc<dyn WireService>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut grpc = super::super::listener::incoming(listener, None, service);
        // Nothing here speaks gRPC: a connection that gets this far is closed.
        tokio::spawn(async move { while tokio_stream::StreamExt::next(&mut grpc).await.is_some() {} });
        addr
    }

    fn counter(secret: &str) -> Arc<Counter> {
        Arc::new(Counter { guard: PeerGuard::Secret(secret.into()), calls: AtomicUsize::new(0) })
    }

    fn peer(addr: &str, secret: &str) -> WirePeer {
        WirePeer::new(addr, Arc::new(TcpChannels::default()), Some(secret))
    }

    async fn read_index(peer: &WirePeer) -> Result<u64, Status> {
        let answer: pb::ReadIndexResponse =
            peer.call(Call::ReadIndex, &pb::ReadIndexRequest {}, Duration::from_secs(5)).await?;
        match answer.kind {
            Some(pb::read_index_response::Kind::ReadIndex(n)) => Ok(n),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn calls_reuse_one_connection_and_errors_come_back_as_statuses() {
        let service = counter("s3cret");
        let addr = serve(service.clone()).await;
        let peer = peer(&addr, "s3cret");
        assert_eq!(read_index(&peer).await.unwrap(), 1);
        assert_eq!(read_index(&peer).await.unwrap(), 2);
        assert_eq!(peer.idle.lock().unwrap().len(), 1, "one connection, back in the pool after each call");
        let refused = peer
            .call::<_, pb::ForwardBatchResponse>(
                Call::ForwardBatch,
                &pb::ForwardBatchRequest::default(),
                Duration::from_secs(5),
            )
            .await
            .unwrap_err();
        assert_eq!((refused.code(), refused.message()), (Code::FailedPrecondition, "not here"));
        assert_eq!(read_index(&peer).await.unwrap(), 4, "an error answer leaves the connection usable");
        assert_eq!(peer.idle.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_before_any_call_is_answered() {
        let service = counter("s3cret");
        let addr = serve(service.clone()).await;
        let refused = read_index(&peer(&addr, "s3cres")).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated, "{refused:?}");
        assert_eq!(service.calls.load(Ordering::SeqCst), 0, "no call reached the service");
    }

    #[tokio::test]
    async fn a_pooled_connection_the_server_closed_is_replaced_and_the_call_goes_through() {
        let addr = serve(counter("s3cret")).await;
        let peer = peer(&addr, "s3cret");
        assert_eq!(read_index(&peer).await.unwrap(), 1);
        // Close the pooled connection's far end as a restarting peer would: shut our
        // write side, so the server's connection task reads EOF and ends.
        let mut pooled = peer.idle.lock().unwrap().pop().unwrap();
        pooled.io.shutdown().await.unwrap();
        let mut rest = Vec::new();
        assert_eq!(pooled.io.read_to_end(&mut rest).await.unwrap(), 0, "the server closed its end");
        peer.idle.lock().unwrap().push(pooled);
        assert_eq!(read_index(&peer).await.unwrap(), 2, "retried on a new connection");
    }

    #[tokio::test]
    async fn a_peer_that_answers_in_http2_is_an_older_node_and_calls_say_unimplemented() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepts = Arc::new(AtomicUsize::new(0));
        let counted = accepts.clone();
        tokio::spawn(async move {
            loop {
                let (mut tcp, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                // An HTTP/2 server's first frame: an empty SETTINGS.
                let _ = tcp.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await;
            }
        });
        let peer = peer(&addr, "s3cret");
        assert_eq!(read_index(&peer).await.unwrap_err().code(), Code::Unimplemented);
        assert_eq!(read_index(&peer).await.unwrap_err().code(), Code::Unimplemented);
        assert_eq!(accepts.load(Ordering::SeqCst), 1, "the second call did not dial again");
    }

    /// Dials that all fail, counted.
    #[derive(Default)]
    struct Refused {
        dials: AtomicUsize,
    }

    impl ChannelFactory for Refused {
        fn channel(&self, _: &str) -> tonic::transport::Channel {
            unreachable!("the framing never asks for a channel")
        }
        fn dial(&self, _: &str) -> futures::future::BoxFuture<'static, io::Result<Box<dyn PeerIo>>> {
            self.dials.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(io::Error::from(io::ErrorKind::ConnectionRefused)) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_refuses_connections_is_dialled_again_only_after_a_growing_pause() {
        let refused = Arc::new(Refused::default());
        let peer = WirePeer::new("10.0.0.9:9081", refused.clone(), Some("s3cret"));
        let mut dials_after = Vec::new();
        for step_ms in [0, 5, 6, 10, 11, 30, 10] {
            tokio::time::advance(Duration::from_millis(step_ms)).await;
            assert_eq!(read_index(&peer).await.unwrap_err().code(), Code::Unavailable);
            dials_after.push(refused.dials.load(Ordering::SeqCst));
        }
        // Pauses of 10, 20 and 40 ms after each failure: calls at 0, 5, 11, 21, 32, 62 and
        // 72 ms dial at 0, 11 (10 after 0), 32 (20 after 11) and 72 (40 after 32) only.
        assert_eq!(dials_after, vec![1, 1, 2, 2, 3, 3, 4]);
    }

    /// A peer that takes connections but is slow to answer is busy, not gone: the next call
    /// dials again at once.
    #[tokio::test]
    async fn a_slow_echo_is_not_a_failed_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepts = Arc::new(AtomicUsize::new(0));
        let counted = accepts.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                held.push(tcp);
            }
        });
        let peer = peer(&addr, "s3cret");
        for _ in 0..3 {
            let late = peer.call::<_, pb::ReadIndexResponse>(
                Call::ReadIndex,
                &pb::ReadIndexRequest {},
                Duration::from_millis(50),
            );
            assert_eq!(late.await.unwrap_err().code(), Code::DeadlineExceeded);
        }
        assert_eq!(accepts.load(Ordering::SeqCst), 3, "each call dialled: no pause after a slow echo");
    }

    #[tokio::test]
    async fn the_listener_hands_http2_to_grpc_with_its_first_bytes_intact() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(preface).await.unwrap();
        let Sniffed::Other(mut rewound) = sniff(server).await.unwrap() else { panic!("taken for the framing") };
        let mut read = vec![0; preface.len()];
        rewound.read_exact(&mut read).await.unwrap();
        assert_eq!(read, preface);

        let (mut client, server) = tokio::io::duplex(64);
        client.write_all(&MAGIC).await.unwrap();
        client.write_all(b"rest").await.unwrap();
        let Sniffed::Wire(mut wire) = sniff(server).await.unwrap() else { panic!("not taken for the framing") };
        let mut rest = [0; 4];
        wire.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"rest", "the magic is consumed, nothing after it");
    }

    #[tokio::test]
    async fn an_oversized_hello_closes_the_connection_unread() {
        let service = counter("s3cret");
        let addr = serve(service.clone()).await;
        let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut opening = MAGIC.to_vec();
        frame(&mut opening, Call::Hello as u8, |out| out.resize(out.len() + HELLO_BYTES_MAX + 1, b'x'));
        tcp.write_all(&opening[..MAGIC.len() + 5]).await.unwrap();
        let mut echo = [0; MAGIC.len()];
        tcp.read_exact(&mut echo).await.unwrap();
        assert_eq!(echo, MAGIC);
        let mut rest = Vec::new();
        assert_eq!(tcp.read_to_end(&mut rest).await.unwrap(), 0, "closed on the header alone");
    }
}
