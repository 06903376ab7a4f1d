//! Writes a follower forwards to the leader, in batches: the writes its clients make while
//! earlier batches are in flight go together in the next one, one RPC for many writes (group
//! commit, as the WAL's syncer does for appends). One unary call per write cost the follower
//! and the leader more CPU than the rest of the write (docs/benchmarks.md); the leader
//! proposes a batch's writes together, and openraft appends them as one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prost::Message;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use super::client::{PeerClient, Peers};
use super::wire::{Call, WirePeer};
use crate::codec::pb;
use crate::limits;

/// What the forwarder did since the node started (for `/metrics`).
#[derive(Debug, Default)]
pub struct ForwardStats {
    /// Writes handed to the forwarder, and those that got no answer (then retried).
    pub writes: AtomicU64,
    pub failures: AtomicU64,
    /// Batches sent: `writes / batches` is the mean batch size.
    pub batches: AtomicU64,
}

/// One write waiting for a batch, and where its answer goes.
struct Pending {
    request: pb::ForwardRequest,
    answer: oneshot::Sender<pb::ForwardResponse>,
}

/// A queue of writes per leader address, each drained by a task of its own.
pub struct Forwarder {
    peers: Arc<Peers>,
    queues: Mutex<BTreeMap<String, Queue>>,
    stats: Arc<ForwardStats>,
}

/// One leader's queue and what its senders share.
#[derive(Clone)]
struct Queue {
    writes: mpsc::Sender<Pending>,
    slots: Arc<Slots>,
}

/// The slots of a leader's batches in flight, and whether it takes batches.
struct Slots {
    in_flight: Arc<Semaphore>,
    /// Until when the leader is known to lack batches (it predates them or the lean framing:
    /// a rolling upgrade); meanwhile each write is forwarded on its own, on gRPC.
    unbatched_until: Mutex<Option<Instant>>,
}

impl Slots {
    fn unbatched(&self) -> bool {
        self.unbatched_until.lock().expect("not poisoned").is_some_and(|until| Instant::now() < until)
    }

    fn refused_a_batch(&self) {
        tracing::warn!(
            "the leader does not take batches of forwarded writes (it predates them or the lean framing); forwarding one by one on gRPC for a minute"
        );
        *self.unbatched_until.lock().expect("not poisoned") = Some(Instant::now() + UNBATCHED_FOR);
    }
}

impl Forwarder {
    pub fn new(peers: Arc<Peers>) -> Self {
        Forwarder { peers, queues: Mutex::new(BTreeMap::new()), stats: Arc::default() }
    }

    pub fn stats(&self) -> &ForwardStats {
        &self.stats
    }

    /// Has the leader at `raft_addr` apply `request`; its answer, or `None` when none came
    /// within `limit` (the outcome is then unknown: the caller retries with the same request
    /// id, which makes the retry safe).
    pub async fn forward(
        &self,
        raft_addr: &str,
        request: pb::ForwardRequest,
        limit: Duration,
    ) -> Option<pb::ForwardResponse> {
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        let queue = self.queue(raft_addr);
        let answer = tokio::time::timeout(limit, async {
            // A lone write (nothing queued, a slot free) goes as a batch of one from this
            // task: no hand-off to the batch sender and a task of its own, which at one
            // client were most of a forward's time beyond the round trip itself.
            let nothing_queued = queue.writes.capacity() == queue.writes.max_capacity();
            if nothing_queued
                && !queue.slots.unbatched()
                && let Ok(slot) = queue.slots.in_flight.clone().try_acquire_owned()
            {
                self.stats.batches.fetch_add(1, Ordering::Relaxed);
                let (answer, mut answered) = oneshot::channel();
                let sent = send_batch(self.peers.wire(raft_addr), vec![Pending { request, answer }]).await;
                drop(slot);
                if sent == Sent::Unimplemented {
                    queue.slots.refused_a_batch();
                }
                return answered.try_recv().ok();
            }
            let (answer, answered) = oneshot::channel();
            queue.writes.send(Pending { request, answer }).await.ok()?;
            answered.await.ok()
        })
        .await
        .ok()
        .flatten();
        if answer.is_none() {
            self.stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    fn queue(&self, raft_addr: &str) -> Queue {
        let mut queues = self.queues.lock().expect("not poisoned");
        if let Some(queue) = queues.get(raft_addr).filter(|q| !q.writes.is_closed()) {
            return queue.clone();
        }
        let (writes, pending) = mpsc::channel(limits::FORWARD_QUEUE_MAX);
        let slots = Arc::new(Slots {
            in_flight: Arc::new(Semaphore::new(limits::FORWARD_BATCHES_IN_FLIGHT)),
            unbatched_until: Mutex::new(None),
        });
        let queue = Queue { writes, slots: slots.clone() };
        let sender = BatchSender {
            peers: self.peers.clone(),
            raft_addr: raft_addr.to_owned(),
            stats: self.stats.clone(),
            slots,
        };
        self.peers.spawn(sender.run(pending));
        queues.insert(raft_addr.to_owned(), queue.clone());
        queue
    }
}

/// Drains one leader's queue into batches, a few in flight at a time.
struct BatchSender {
    peers: Arc<Peers>,
    raft_addr: String,
    stats: Arc<ForwardStats>,
    slots: Arc<Slots>,
}

impl BatchSender {
    /// Ends when the forwarder (every sender of the queue) is dropped.
    async fn run(self, mut pending: mpsc::Receiver<Pending>) {
        loop {
            let slot = self.slots.in_flight.clone().acquire_owned().await.expect("the semaphore is never closed");
            let Some(first) = pending.recv().await else { return };
            let mut bytes = first.request.encoded_len();
            let mut batch = vec![first];
            while batch.len() < limits::FORWARD_BATCH_MAX && bytes < limits::FORWARD_BATCH_BYTES_MAX {
                let Ok(next) = pending.try_recv() else { break };
                bytes += next.request.encoded_len();
                batch.push(next);
            }
            self.stats.batches.fetch_add(1, Ordering::Relaxed);
            let (peer, wire) = (self.peers.client(&self.raft_addr), self.peers.wire(&self.raft_addr));
            let slots = self.slots.clone();
            tokio::spawn(async move {
                if slots.unbatched() {
                    send_one_by_one(peer, batch).await;
                } else if send_batch(wire, batch).await == Sent::Unimplemented {
                    slots.refused_a_batch();
                }
                drop(slot);
            });
        }
    }
}

/// How long writes go one by one to a leader that refused a batch, before a batch is tried
/// again (it may have been upgraded).
const UNBATCHED_FOR: Duration = Duration::from_secs(60);

#[derive(PartialEq)]
enum Sent {
    Done,
    Unimplemented,
}

fn attempt_limit() -> Option<Duration> {
    Some(Duration::from_millis(limits::FORWARD_ATTEMPT_TIMEOUT_MS))
}

/// Sends `batch` as one call and hands each write its answer. On an error every write of the
/// batch goes unanswered (its sender dropped): each caller retries on its own.
async fn send_batch(wire: Arc<WirePeer>, batch: Vec<Pending>) -> Sent {
    let (requests, answers): (Vec<_>, Vec<_>) = batch.into_iter().map(|p| (p.request, p.answer)).unzip();
    let count = requests.len();
    let request = pb::ForwardBatchRequest { requests };
    let limit = Duration::from_millis(limits::FORWARD_ATTEMPT_TIMEOUT_MS);
    match wire.call::<_, pb::ForwardBatchResponse>(Call::ForwardBatch, &request, limit).await {
        Ok(response) => {
            let responses = response.responses;
            if responses.len() != count {
                tracing::warn!(
                    sent = count,
                    answered = responses.len(),
                    "a forwarded batch was answered for a different count"
                );
                return Sent::Done;
            }
            for (answer, response) in answers.into_iter().zip(responses) {
                let _ = answer.send(response);
            }
            Sent::Done
        }
        Err(status) if status.code() == tonic::Code::Unimplemented => Sent::Unimplemented,
        Err(status) => {
            tracing::debug!(%status, writes = count, "forwarding a batch failed; its writes will be retried");
            Sent::Done
        }
    }
}

/// Each write of `batch` as a call of its own, all at once (to a leader without batches).
async fn send_one_by_one(peer: PeerClient, batch: Vec<Pending>) {
    let calls = batch.into_iter().map(|pending| {
        let mut peer = peer.clone();
        async move {
            // A leader without batches reads the trace id from the metadata.
            let trace_id = pending.request.trace_id.clone();
            let mut request = peer.request(pending.request, attempt_limit());
            if let Some(id) = trace_id {
                crate::trace::attach_id(&mut request, &id);
            }
            if let Ok(response) = peer.grpc().forward(request).await {
                let _ = pending.answer.send(response.into_inner());
            }
        }
    });
    futures::future::join_all(calls).await;
}

#[cfg(test)]
mod tests {
    use tokio::sync::watch;
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::network::tls::PeerCertificates;
    use crate::network::wire::{Answering, WireService};
    use crate::network::{CertifiedAs, TcpChannels};

    /// A leader that answers each write with its own number as the log index (`w7` → 7),
    /// records the size of every batch, and holds each call until the test lets one through.
    struct FakeLeader {
        batches: watch::Sender<Vec<usize>>,
        gate: Arc<Semaphore>,
    }

    fn applied(request: &pb::ForwardRequest) -> pb::ForwardResponse {
        let index =
            request.request_id.as_deref().and_then(|id| id.strip_prefix('w')).and_then(|n| n.parse().ok()).unwrap();
        let kind =
            pb::forward_response::Kind::Applied(pb::forward_response::Applied { log_index: index, response: None });
        pb::ForwardResponse { kind: Some(kind) }
    }

    impl WireService for FakeLeader {
        fn admit(&self, _hello: &[u8], _certificates: &PeerCertificates) -> Result<Option<CertifiedAs>, Status> {
            Ok(None)
        }

        fn answer<'a>(&'a self, call: Call, body: Vec<u8>, _: Option<&'a CertifiedAs>) -> Answering<'a> {
            Box::pin(async move {
                assert_eq!(call, Call::ForwardBatch);
                let requests = pb::ForwardBatchRequest::decode(body.as_slice()).unwrap().requests;
                self.batches.send_modify(|b| b.push(requests.len()));
                self.gate.acquire().await.expect("open").forget();
                Ok(pb::ForwardBatchResponse { responses: requests.iter().map(applied).collect() }.encode_to_vec())
            })
        }
    }

    /// On gRPC the fake takes single writes only: the forwarder sends batches on the lean
    /// framing, and single writes on gRPC to a leader without it.
    #[tonic::async_trait]
    impl pb::raft_service_server::RaftService for FakeLeader {
        async fn forward_batch(
            &self,
            _: Request<pb::ForwardBatchRequest>,
        ) -> Result<Response<pb::ForwardBatchResponse>, Status> {
            Err(Status::unimplemented("batches come on the lean framing"))
        }
        async fn forward(&self, request: Request<pb::ForwardRequest>) -> Result<Response<pb::ForwardResponse>, Status> {
            self.batches.send_modify(|b| b.push(1));
            Ok(Response::new(applied(request.get_ref())))
        }
        async fn append_entries(
            &self,
            _: Request<pb::AppendEntriesRequest>,
        ) -> Result<Response<pb::AppendEntriesResponse>, Status> {
            Err(Status::unimplemented("not here"))
        }
        async fn vote(&self, _: Request<pb::VoteRequest>) -> Result<Response<pb::VoteResponse>, Status> {
            Err(Status::unimplemented("not here"))
        }
        async fn install_snapshot(
            &self,
            _: Request<pb::InstallSnapshotRequest>,
        ) -> Result<Response<pb::InstallSnapshotResponse>, Status> {
            Err(Status::unimplemented("not here"))
        }
        async fn read_index(
            &self,
            _: Request<pb::ReadIndexRequest>,
        ) -> Result<Response<pb::ReadIndexResponse>, Status> {
            Err(Status::unimplemented("not here"))
        }
    }

    /// A forwarder to a fake leader on loopback: the forwarder, the leader's batch sizes, its
    /// gate. A leader of today serves the lean framing beside gRPC; an older one, gRPC only.
    async fn forwarder_to_fake(
        speaks_framing: bool,
    ) -> (Arc<Forwarder>, String, watch::Receiver<Vec<usize>>, Arc<Semaphore>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let (batches, seen) = watch::channel(Vec::new());
        let gate = Arc::new(Semaphore::new(0));
        let leader = Arc::new(FakeLeader { batches, gate: gate.clone() });
        let server = tonic::transport::Server::builder()
            .add_service(pb::raft_service_server::RaftServiceServer::from_arc(leader.clone()));
        if speaks_framing {
            let incoming = crate::network::listener::incoming(listener, None, leader);
            tokio::spawn(server.serve_with_incoming(incoming));
        } else {
            tokio::spawn(server.serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)));
        }
        let peers = Arc::new(Peers::new(
            Arc::new(TcpChannels::default()),
            Some("a-test-cluster-secret"),
            tokio::runtime::Handle::current(),
        ));
        (Arc::new(Forwarder::new(peers)), addr, seen, gate)
    }

    fn write(n: u64) -> pb::ForwardRequest {
        pb::ForwardRequest { request_id: Some(format!("w{n}")), op: None, trace_id: None }
    }

    fn spawn_write(
        forwarder: &Arc<Forwarder>,
        addr: &str,
        n: u64,
    ) -> tokio::task::JoinHandle<Option<pb::ForwardResponse>> {
        let (forwarder, addr) = (forwarder.clone(), addr.to_owned());
        tokio::spawn(async move { forwarder.forward(&addr, write(n), Duration::from_secs(10)).await })
    }

    /// Writes made while the batches in flight are held go together in the next batch, and
    /// each write gets its own answer.
    #[tokio::test]
    async fn writes_queued_behind_the_batches_in_flight_share_the_next_one() {
        assert_eq!(limits::FORWARD_BATCHES_IN_FLIGHT, 2, "the test fills both slots first");
        let (forwarder, addr, mut seen, gate) = forwarder_to_fake(true).await;
        let first = spawn_write(&forwarder, &addr, 0);
        seen.wait_for(|b| b.len() == 1).await.unwrap();
        let second = spawn_write(&forwarder, &addr, 1);
        seen.wait_for(|b| b.len() == 2).await.unwrap();
        // Both slots are taken: these wait in the queue.
        let queued: Vec<_> = (2..12).map(|n| spawn_write(&forwarder, &addr, n)).collect();
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(3);
        let mut answers = vec![first.await.unwrap(), second.await.unwrap()];
        for write in queued {
            answers.push(write.await.unwrap());
        }
        for (n, answer) in answers.into_iter().enumerate() {
            let kind = answer.expect("answered").kind.expect("a kind");
            let pb::forward_response::Kind::Applied(applied) = kind else { panic!("write {n}: {kind:?}") };
            assert_eq!(applied.log_index, n as u64, "each write gets its own answer");
        }
        assert_eq!(*seen.borrow(), vec![1, 1, 10], "the ten queued writes went as one batch");
        assert_eq!(forwarder.stats().batches.load(Ordering::Relaxed), 3);
        assert_eq!(forwarder.stats().writes.load(Ordering::Relaxed), 12);
        assert_eq!(forwarder.stats().failures.load(Ordering::Relaxed), 0);
    }

    /// A leader without the lean framing (a rolling upgrade): the batch it could not take goes
    /// unanswered (its callers retry), and later writes go one by one on gRPC.
    #[tokio::test]
    async fn a_leader_without_batches_gets_writes_one_by_one() {
        let (forwarder, addr, seen, _gate) = forwarder_to_fake(false).await;
        assert!(forwarder.forward(&addr, write(0), Duration::from_secs(10)).await.is_none(), "refused as a batch");
        let answer = forwarder.forward(&addr, write(1), Duration::from_secs(10)).await.expect("answered one by one");
        assert!(
            matches!(answer.kind, Some(pb::forward_response::Kind::Applied(ref a)) if a.log_index == 1),
            "{answer:?}"
        );
        assert_eq!(*seen.borrow(), vec![1], "one single call");
        assert_eq!(forwarder.stats().failures.load(Ordering::Relaxed), 1);
    }
}
