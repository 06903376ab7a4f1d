//! A follower's read indexes from the leader, one call for all the readers waiting at once
//! (as etcd's read loop does): a reader that arrives while a call is out waits for the next
//! call, sent once that one is answered, and shares its answer with every reader queued
//! behind it. A read index is valid for a read that arrived before the call was sent, so a
//! round is never shared with a reader that came after it went. Without this, each
//! concurrent reader took a connection of its own to the leader (`wire.rs` carries one call
//! at a time), so a burst of reads meant a burst of connections.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use super::client::Peers;
use super::wire::Call;
use crate::codec::pb;
use crate::limits;

/// One call's answer for the readers that share it: `None` until it comes, then the index
/// (`None` inside: no index, the reader retries).
type Round = watch::Sender<Option<Option<u64>>>;

#[derive(Default)]
struct ToLeader {
    /// The round the next readers join, not yet sent.
    queued: Option<Round>,
    /// Whether a call is out (or a task is about to send the queued round).
    sending: bool,
}

#[derive(Clone)]
pub struct ReadIndexes {
    peers: Arc<Peers>,
    leaders: Arc<Mutex<BTreeMap<String, ToLeader>>>,
}

impl ReadIndexes {
    pub fn new(peers: Arc<Peers>) -> Self {
        ReadIndexes { peers, leaders: Arc::default() }
    }

    /// The read index of the leader at `raft_addr` for a read that arrived before this call,
    /// or `None` (no answer within `limit`, or the node is not leader any more).
    pub async fn read_index(&self, raft_addr: &str, limit: Duration) -> Option<u64> {
        let (mut answer, send_now) = {
            let mut leaders = self.leaders.lock().expect("not poisoned");
            let leader = leaders.entry(raft_addr.to_owned()).or_default();
            let answer = leader.queued.get_or_insert_with(|| watch::channel(None).0).subscribe();
            (answer, !std::mem::replace(&mut leader.sending, true))
        };
        if send_now {
            // Sent from the reader's own task: at one reader, no hand-off to another task.
            let hand_over = HandOver { reads: self, raft_addr };
            if let Some(round) = self.take_queued(raft_addr) {
                round.send_replace(Some(self.ask(raft_addr).await));
            }
            drop(hand_over);
        }
        let answered = tokio::time::timeout(limit, answer.wait_for(Option::is_some)).await;
        // A round whose sender went away unanswered (its reader was cancelled): `None`, retried.
        answered.ok()?.ok().and_then(|index| *index).flatten()
    }

    fn take_queued(&self, raft_addr: &str) -> Option<Round> {
        self.leaders.lock().expect("not poisoned").get_mut(raft_addr).and_then(|leader| leader.queued.take())
    }

    /// Sends the rounds queued for `raft_addr` one after another until none is left.
    async fn send_queued(self, raft_addr: String) {
        loop {
            let round = {
                let mut leaders = self.leaders.lock().expect("not poisoned");
                let leader = leaders.entry(raft_addr.clone()).or_default();
                match leader.queued.take() {
                    Some(round) => round,
                    None => {
                        leader.sending = false;
                        return;
                    }
                }
            };
            round.send_replace(Some(self.ask(&raft_addr).await));
        }
    }

    /// One call to the leader: on the lean framing, or gRPC for a leader of an older version.
    async fn ask(&self, raft_addr: &str) -> Option<u64> {
        let limit = Duration::from_millis(limits::FORWARD_ATTEMPT_TIMEOUT_MS);
        let answer = match self.peers.wire(raft_addr).call(Call::ReadIndex, &pb::ReadIndexRequest {}, limit).await {
            Err(status) if status.code() == tonic::Code::Unimplemented => {
                let mut peer = self.peers.client(raft_addr);
                let request = peer.request(pb::ReadIndexRequest {}, Some(limit));
                peer.grpc().read_index(request).await.map(tonic::Response::into_inner)
            }
            answer => answer,
        };
        match answer.ok()?.kind? {
            pb::read_index_response::Kind::ReadIndex(index) => Some(index),
            pb::read_index_response::Kind::NotLeader(_) => None,
        }
    }
}

/// When the reader that sent a round is done with it, answered or cancelled: the readers
/// queued meanwhile get a task that sends their round; with none, nothing is sending.
struct HandOver<'a> {
    reads: &'a ReadIndexes,
    raft_addr: &'a str,
}

impl Drop for HandOver<'_> {
    fn drop(&mut self) {
        let mut leaders = self.reads.leaders.lock().expect("not poisoned");
        let Some(leader) = leaders.get_mut(self.raft_addr) else { return };
        if leader.queued.is_some() {
            self.reads.peers.spawn(self.reads.clone().send_queued(self.raft_addr.to_owned()));
        } else {
            leader.sending = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use prost::Message;
    use tokio::sync::Semaphore;
    use tonic::Status;

    use super::*;
    use crate::network::tls::PeerCertificates;
    use crate::network::wire::{Answering, WireService};
    use crate::network::{CertifiedAs, TcpChannels};

    /// A leader whose read index is the number of calls it has had; each call waits at the gate.
    struct GatedLeader {
        calls: AtomicU64,
        gate: Semaphore,
    }

    impl WireService for GatedLeader {
        fn admit(&self, _: &[u8], _: &PeerCertificates) -> Result<Option<CertifiedAs>, Status> {
            Ok(None)
        }

        fn answer<'a>(&'a self, _: Call, _: Vec<u8>, _: Option<&'a CertifiedAs>) -> Answering<'a> {
            Box::pin(async move {
                let index = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                self.gate.acquire().await.expect("open").forget();
                let kind = pb::read_index_response::Kind::ReadIndex(index);
                Ok(pb::ReadIndexResponse { kind: Some(kind) }.encode_to_vec())
            })
        }
    }

    /// Readers that arrive while a call is out share the next call, and only that one.
    #[tokio::test]
    async fn readers_waiting_behind_a_call_share_the_next_one() {
        let leader = Arc::new(GatedLeader { calls: AtomicU64::new(0), gate: Semaphore::new(0) });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let mut grpc = crate::network::listener::incoming(listener, None, leader.clone());
        tokio::spawn(async move { while tokio_stream::StreamExt::next(&mut grpc).await.is_some() {} });
        let peers = Arc::new(Peers::new(Arc::new(TcpChannels::default()), None, tokio::runtime::Handle::current()));
        let reads = ReadIndexes::new(peers);
        let read = |reads: &ReadIndexes| {
            let (reads, addr) = (reads.clone(), addr.clone());
            tokio::spawn(async move { reads.read_index(&addr, Duration::from_secs(10)).await })
        };

        let first = read(&reads);
        while leader.calls.load(Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        let behind: Vec<_> = (0..9).map(|_| read(&reads)).collect();
        for _ in 0..20 {
            tokio::task::yield_now().await;
        }
        assert_eq!(leader.calls.load(Ordering::SeqCst), 1, "nobody else called while the first call was out");
        leader.gate.add_permits(2);
        assert_eq!(first.await.unwrap(), Some(1));
        for reader in behind {
            assert_eq!(reader.await.unwrap(), Some(2), "the nine queued readers share the second call");
        }
        assert_eq!(leader.calls.load(Ordering::SeqCst), 2);
        // Nothing out now: the next reader sends at once, on its own.
        leader.gate.add_permits(1);
        assert_eq!(read(&reads).await.unwrap(), Some(3));
    }
}
