//! Presence between nodes: each node streams the changes among its own viewers to every
//! peer (gRPC client streaming, `PresenceRelay.Relay`), and applies what peers stream to it.
//!
//! Best effort by design. A sender keeps no queue: it reads the hub's latest state since
//! what it last handed to the stream, at most 30 times a second. When the stream's small
//! buffer is full (a slow or stuck peer) the batch is not sent and counted as dropped; the
//! next one carries the newer state instead, so a pointer jumps rather than lags. A new
//! stream starts with the whole roster; the receiver forgets a sender when its stream ends.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use lockd_raft::codec::pb;
use lockd_raft::node::LockNode;
use lockd_raft::types::NodeId;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::hub::{LocalChanges, Pointer, PresenceHub, Viewer, ViewerKey};
use crate::limits;

/// What the relay did, for `/metrics`.
#[derive(Debug, Default)]
pub struct RelayStats {
    pub batches_sent: AtomicU64,
    pub viewers_sent: AtomicU64,
    /// Batches not handed to a full stream (their changes went out later, coalesced).
    pub batches_dropped: AtomicU64,
    pub batches_received: AtomicU64,
    pub batches_refused: AtomicU64,
}

/// Runs the relay to every peer in the membership, following membership changes, and
/// expires relayed viewers. Ends when the node shuts down.
pub async fn run(node: LockNode, hub: Arc<PresenceHub>, stats: Arc<RelayStats>) {
    let mut senders: BTreeMap<NodeId, (String, JoinHandle<()>)> = BTreeMap::new();
    let mut stopped = node.stopped();
    loop {
        let peers: BTreeMap<NodeId, String> = node
            .status()
            .nodes
            .into_iter()
            .filter(|(id, _)| *id != node.id())
            .map(|(id, info)| (id, info.raft_addr))
            .collect();
        senders.retain(|id, (addr, task)| {
            let keep = peers.get(id) == Some(addr) && !task.is_finished();
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, addr) in peers {
            senders.entry(id).or_insert_with(|| {
                let task = tokio::spawn(send_to(node.clone(), hub.clone(), stats.clone(), addr.clone()));
                (addr, task)
            });
        }
        hub.sweep();
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(limits::PRESENCE_MEMBERSHIP_POLL_MS)) => {}
            _ = stopped.changed() => break,
        }
    }
    for (_, task) in senders.into_values() {
        task.abort();
    }
}

/// Streams this node's presence to one peer, reconnecting with backoff.
async fn send_to(node: LockNode, hub: Arc<PresenceHub>, stats: Arc<RelayStats>, raft_addr: String) {
    let mut backoff = Duration::from_millis(limits::PRESENCE_RECONNECT_MS_MIN);
    loop {
        let (tx, rx) = mpsc::channel(limits::PRESENCE_STREAM_BATCHES);
        let mut client = pb::presence_relay_client::PresenceRelayClient::new(node.peers().channel(&raft_addr))
            .max_encoding_message_size(limits::PRESENCE_MESSAGE_BYTES_MAX);
        let request = node.peers().signed(ReceiverStream::new(rx));
        let call = tokio::spawn(async move { client.relay(request).await });
        let started = tokio::time::Instant::now();
        stream_changes(node.id(), &hub, &stats, &tx).await;
        drop(tx);
        let _ = call.await;
        // A stream that lived a while earns a quick reconnect; one that failed at once backs off.
        backoff = if started.elapsed() > Duration::from_millis(limits::PRESENCE_STREAM_HEALTHY_MS) {
            Duration::from_millis(limits::PRESENCE_RECONNECT_MS_MIN)
        } else {
            (backoff * 2).min(Duration::from_millis(limits::PRESENCE_RECONNECT_MS_MAX))
        };
        tokio::time::sleep(backoff).await;
    }
}

/// Feeds one stream until it closes.
async fn stream_changes(from: NodeId, hub: &PresenceHub, stats: &RelayStats, tx: &mpsc::Sender<pb::PresenceBatch>) {
    let mut changed = hub.watch_local();
    let mut since = 0;
    let throttle = Duration::from_millis(limits::PRESENCE_FLUSH_MS);
    let refresh = Duration::from_millis(limits::PRESENCE_REFRESH_MS);
    let mut refreshed = tokio::time::Instant::now();
    loop {
        let changes = if refreshed.elapsed() >= refresh {
            refreshed = tokio::time::Instant::now();
            // Everything again, so the peer's copies do not expire.
            hub.local_refresh(since)
        } else {
            hub.local_changes(since)
        };
        let upto = changes.upto;
        if changes.replace || !changes.viewers.is_empty() || !changes.gone.is_empty() {
            let mut sent_all = true;
            for batch in batches(from, changes) {
                let viewers = batch.viewers.len() as u64;
                match tx.try_send(batch) {
                    Ok(()) => {
                        stats.batches_sent.fetch_add(1, Ordering::Relaxed);
                        stats.viewers_sent.fetch_add(viewers, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        stats.batches_dropped.fetch_add(1, Ordering::Relaxed);
                        sent_all = false;
                        break;
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            // What was not sent goes out with the next look; a partly sent replacement is
            // sent again whole.
            if sent_all {
                since = upto;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(throttle) => {}
            _ = tx.closed() => return,
        }
        tokio::select! {
            result = changed.changed() => if result.is_err() { return },
            _ = tokio::time::sleep_until(refreshed + refresh) => {}
            _ = tx.closed() => return,
        }
    }
}

/// Splits changes into messages of bounded size; only the first may replace.
fn batches(from: NodeId, changes: LocalChanges) -> Vec<pb::PresenceBatch> {
    let mut out = Vec::new();
    let mut viewers = changes.viewers.into_iter().peekable();
    let mut gone = changes.gone.into_iter().peekable();
    loop {
        let mut batch =
            pb::PresenceBatch { from_node: from, replace: out.is_empty() && changes.replace, ..Default::default() };
        batch.viewers =
            viewers.by_ref().take(limits::PRESENCE_BATCH_VIEWERS_MAX).map(|(id, v)| viewer_to_pb(&id, &v)).collect();
        batch.gone = gone.by_ref().take(limits::PRESENCE_BATCH_VIEWERS_MAX).map(|k| key_to_pb(&k)).collect();
        out.push(batch);
        if viewers.peek().is_none() && gone.peek().is_none() {
            return out;
        }
    }
}

fn viewer_to_pb(appointment_id: &str, viewer: &Viewer) -> pb::ViewerState {
    pb::ViewerState {
        appointment_id: appointment_id.to_owned(),
        actor: Some((&viewer.actor).into()),
        pointer: viewer.pointer.map(|p| pb::Pointer { x: p.x, y: p.y }),
    }
}

fn key_to_pb(key: &ViewerKey) -> pb::ViewerKey {
    pb::ViewerKey {
        appointment_id: key.appointment_id.clone(),
        user_id: key.user_id.clone(),
        session_id: key.session_id.clone(),
    }
}

/// What a peer's batch says: viewers (with their appointment) present or moved, and viewers gone.
pub type PeerBatch = (Vec<(String, Viewer)>, Vec<ViewerKey>);

/// A peer's batch, checked like any outside input: bounded, valid identities, pointers on
/// the form.
pub fn batch_from_pb(batch: pb::PresenceBatch) -> Result<PeerBatch, String> {
    if batch.viewers.len() > limits::PRESENCE_BATCH_VIEWERS_MAX || batch.gone.len() > limits::PRESENCE_BATCH_VIEWERS_MAX
    {
        return Err("too many viewers in one batch".into());
    }
    let checked_id = |id: &str| crate::routes::checked_id(id.to_owned()).map_err(|p| p.detail);
    let mut viewers = Vec::with_capacity(batch.viewers.len());
    for state in batch.viewers {
        let appointment_id = checked_id(&state.appointment_id)?;
        let actor = state.actor.ok_or("a viewer without an identity")?;
        let actor = lockd_raft::sm::Actor::try_from(actor).map_err(|e| e.to_string())?;
        actor.validate()?;
        let pointer = state.pointer.map(|p| Pointer::checked(f64::from(p.x), f64::from(p.y))).transpose()?;
        viewers.push((appointment_id, Viewer { actor, node_id: batch.from_node, pointer, pointer_seq: 0 }));
    }
    let mut gone = Vec::with_capacity(batch.gone.len());
    for key in batch.gone {
        gone.push(ViewerKey {
            appointment_id: checked_id(&key.appointment_id)?,
            user_id: key.user_id,
            session_id: key.session_id,
        });
    }
    Ok((viewers, gone))
}

/// The receiving end, served on the peer gRPC port behind the cluster secret.
pub struct RelayService {
    hub: Arc<PresenceHub>,
    stats: Arc<RelayStats>,
    /// Streams from peers never end by themselves: they end when this node stops, or the
    /// gRPC server's graceful shutdown would wait for them for ever.
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl RelayService {
    pub fn new(hub: Arc<PresenceHub>, stats: Arc<RelayStats>, stopped: tokio::sync::watch::Receiver<bool>) -> Self {
        RelayService { hub, stats, stopped }
    }

    pub fn into_server(
        self,
        node: &LockNode,
    ) -> tonic::service::interceptor::InterceptedService<
        pb::presence_relay_server::PresenceRelayServer<RelayService>,
        lockd_raft::network::PeerGuard,
    > {
        let server = pb::presence_relay_server::PresenceRelayServer::new(self)
            .max_decoding_message_size(limits::PRESENCE_MESSAGE_BYTES_MAX);
        tonic::service::interceptor::InterceptedService::new(server, node.peer_guard())
    }
}

#[tonic::async_trait]
impl pb::presence_relay_server::PresenceRelay for RelayService {
    async fn relay(&self, request: Request<Streaming<pb::PresenceBatch>>) -> Result<Response<pb::RelayAck>, Status> {
        let mut stream = request.into_inner();
        let mut stopped = self.stopped.clone();
        let mut from: Option<NodeId> = None;
        let result = loop {
            let message = tokio::select! {
                message = stream.message() => message,
                _ = stopped.wait_for(|s| *s) => break Err(Status::unavailable("this node is shutting down")),
            };
            let batch = match message {
                Ok(Some(batch)) => batch,
                Ok(None) => break Ok(Response::new(pb::RelayAck {})),
                Err(status) => break Err(status),
            };
            self.stats.batches_received.fetch_add(1, Ordering::Relaxed);
            if from.is_some_and(|f| f != batch.from_node) || batch.from_node == self.hub.node_id() {
                self.stats.batches_refused.fetch_add(1, Ordering::Relaxed);
                break Err(Status::invalid_argument("a stream speaks for one other node"));
            }
            from = Some(batch.from_node);
            let replace = batch.replace;
            match batch_from_pb(batch) {
                Ok((viewers, gone)) => self.hub.apply_remote(from.expect("set above"), replace, viewers, &gone),
                Err(reason) => {
                    self.stats.batches_refused.fetch_add(1, Ordering::Relaxed);
                    break Err(Status::invalid_argument(reason));
                }
            }
        };
        if let Some(from) = from {
            self.hub.forget_node(from);
        }
        result
    }
}
