//! One lockd replica: the openraft instance, the applied state, and the paths a client
//! request takes through them.
//!
//! - A write goes to [`LockNode::submit`]. On the leader it is stamped with the leader's
//!   clock and proposed; on a follower it is forwarded over gRPC to the leader, which stamps
//!   and proposes it. Across a leader change it is retried with the same request id, so it
//!   applies once (docs/design.md, invariant 7).
//! - A linearizable read calls [`LockNode::read_barrier`] and then reads the local state:
//!   the leader confirms its leadership with a quorum (read index); a follower asks the
//!   leader for that index and waits until it has applied it.
//! - The ticker task appends a `Tick` while this node leads and a lease is due (ADR 3).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openraft::async_runtime::WatchReceiver;
use openraft::{Raft, ReadPolicy, ServerState};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, timeout};

use crate::clock::Clock;
use crate::codec::pb;
use crate::limits;
use crate::network::{
    ChannelFactory, ForwardStats, Forwarder, Network, PeerAuth, PeerGuard, PeerWire, Peers, RaftGrpc, ReadIndexes,
};
use crate::sm::{Command, Op, Response};
use crate::stages::{Stage, WriteStages};
use crate::store::{SharedState, StateMachineStore};
use crate::types::{NodeId, NodeInfo, TypeConfig};

pub type LockRaft = Raft<TypeConfig, StateMachineStore>;

/// Raft timing: heartbeats and elections. Defaults suit a LAN or loopback; see
/// docs/operations.md.
#[derive(Debug, Clone)]
pub struct RaftTiming {
    pub heartbeat_interval_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
}

impl Default for RaftTiming {
    /// The defaults of `lockd`'s flags. After a leader dies, a follower waits out the dead
    /// leader's lease (openraft's `election_timeout_max`) and then its own election timeout
    /// (drawn in min..max) before it campaigns: 135–180 ms, and with a split vote one more
    /// timeout, still under 300 ms (issue 24's bound; 156–239 ms measured, docs/benchmarks.md).
    /// A max of 90 ms keeps even the split vote's second round inside that bound. Short
    /// timeouts are safe from client bursts because the replica has a runtime of its own
    /// (ADR 6; no new term under 256 clients or 5,000 sockets at these values); across
    /// slower links, raise them (docs/operations.md).
    fn default() -> Self {
        RaftTiming { heartbeat_interval_ms: 15, election_timeout_min_ms: 45, election_timeout_max_ms: 90 }
    }
}

/// When the log is compacted into a snapshot, and how much of it stays behind one.
#[derive(Debug, Clone)]
pub struct SnapshotPolicy {
    /// Entries applied since the last snapshot before the next one is built.
    pub every_entries: u64,
    /// Log entries kept behind a snapshot, so a briefly lagging follower catches up from the
    /// log rather than by a whole snapshot.
    pub keep_log_entries: u64,
}

impl Default for SnapshotPolicy {
    /// A snapshot every 50,000 entries (etcd's default is 100,000): writes wait while a
    /// snapshot is encoded (ADR 18), ~30 ms at the benchmark's state, and every 5,000 entries
    /// that was twice a second per node at 64 clients, a fifth of p99 acquire latency. A
    /// restart replays at most that many entries: 0.66 s with 100,000 held locks.
    fn default() -> Self {
        SnapshotPolicy { every_entries: 50_000, keep_log_entries: 1_000 }
    }
}

pub struct NodeConfig {
    pub node_id: NodeId,
    /// How peers prove they belong (the cluster secret, or mutual TLS: ADR 26).
    pub peer_auth: PeerAuth,
    pub timing: RaftTiming,
    pub snapshots: SnapshotPolicy,
}

/// A write that reached the log, and what applying it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub log_index: u64,
    pub response: Response,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("no leader could take the write within {0:?}")]
    NoLeader(Duration),
    /// The leader's admission check refused the write; nothing was proposed.
    #[error("the leader refused the write for now; retry after {retry_after:?}")]
    Refused { retry_after: Duration },
    #[error("this node has stopped: {0}")]
    Fatal(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error("not the leader (leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    #[error("refused by the admission check; retry after {retry_after:?}")]
    Refused { retry_after: Duration },
    #[error("raft stopped: {0}")]
    Fatal(String),
}

/// This node's part in the cluster, as callers outside this crate see it (openraft's own
/// `ServerState` stays inside it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaRole {
    Leader,
    Follower,
    Candidate,
    /// Replicating, but not a voter (yet).
    Learner,
    Shutdown,
}

impl ReplicaRole {
    fn of(state: ServerState) -> ReplicaRole {
        match state {
            ServerState::Leader => ReplicaRole::Leader,
            ServerState::Follower => ReplicaRole::Follower,
            ServerState::Candidate => ReplicaRole::Candidate,
            ServerState::Learner => ReplicaRole::Learner,
            ServerState::Shutdown => ReplicaRole::Shutdown,
        }
    }
}

/// What `GET /cluster/status` shows.
#[derive(Debug, Clone)]
pub struct ClusterStatus {
    pub node_id: NodeId,
    pub state: ReplicaRole,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    /// The last log index removed from this node's log (behind a snapshot); a follower that
    /// lags behind it can only catch up by a snapshot.
    pub purged_index: Option<u64>,
    pub voters: BTreeSet<NodeId>,
    pub nodes: BTreeMap<NodeId, NodeInfo>,
}

/// Decides, on the leader, whether a client write may be proposed now. Every write of the
/// cluster passes the leader's check, whichever node received it, so a budget kept here holds
/// for the whole cluster (ADR 22). It must be cheap: it runs for every proposal.
pub trait WriteAdmission: Send + Sync {
    /// `Err(wait)`: not now; nothing is proposed and the caller is told to retry after `wait`.
    fn admit(&self, op: &Op) -> Result<(), Duration>;
}

/// What this node did with client writes since it started (for `/metrics`).
#[derive(Debug, Default)]
pub struct WriteStats {
    /// Writes proposed here as the leader (local or forwarded to it).
    pub proposed: AtomicU64,
}

#[derive(Clone)]
pub struct LockNode {
    inner: Arc<Inner>,
}

struct Inner {
    id: NodeId,
    raft: LockRaft,
    shared: SharedState,
    clock: Arc<dyn Clock>,
    peers: Arc<Peers>,
    forwarder: Forwarder,
    reads: ReadIndexes,
    peer_auth: PeerAuth,
    shutdown: watch::Sender<bool>,
    writes: WriteStats,
    admission: std::sync::OnceLock<Arc<dyn WriteAdmission>>,
}

impl LockNode {
    /// Starts the replica: openraft over the given stores, the ticker task. Does not serve
    /// gRPC; the caller serves [`LockNode::grpc_service`] on its listener. openraft's tasks,
    /// the ticker and the connections to peers run on the runtime this is called on: the
    /// binary calls it on a runtime of its own, so client traffic cannot starve heartbeats
    /// (ADR 6).
    pub async fn start<LS>(
        config: NodeConfig,
        log_store: LS,
        state_machine: StateMachineStore,
        clock: Arc<dyn Clock>,
        channels: Arc<dyn ChannelFactory>,
    ) -> Result<LockNode, SubmitError>
    where
        LS: openraft::storage::RaftLogStorage<TypeConfig>,
    {
        let raft_config = openraft::Config {
            cluster_name: "lockd".into(),
            heartbeat_interval: config.timing.heartbeat_interval_ms,
            election_timeout_min: config.timing.election_timeout_min_ms,
            election_timeout_max: config.timing.election_timeout_max_ms,
            install_snapshot_timeout: limits::INSTALL_SNAPSHOT_TIMEOUT_MS,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(config.snapshots.every_entries),
            max_in_snapshot_log_to_keep: config.snapshots.keep_log_entries,
            // openraft purges only once this many entries are purgeable. Tied to the snapshot
            // interval so a log snapshotted every N entries is also trimmed every N: a fixed 256
            // left small intervals (tests, simulation) never purging, so lagging followers were
            // never sent a snapshot there.
            purge_batch_size: config.snapshots.every_entries.clamp(1, 256),
            // A restarted leader must win a new election. Restoring leadership in the old term
            // (openraft's default) serves read indexes from a commit index the restart forgot,
            // since neither the applied state nor the commit index is synced: a stale read
            // (found by the simulation, seed 66; see openraft's `enable_leader_restore` docs).
            enable_leader_restore: Some(false),
            ..Default::default()
        }
        .validate()
        .map_err(|e| SubmitError::Fatal(format!("raft config: {e}")))?;
        let shared = state_machine.shared();
        let peers = Arc::new(Peers::new(channels, config.peer_auth.secret(), tokio::runtime::Handle::current()));
        let network = Network::new(peers.clone(), config.node_id);
        let raft = Raft::new(config.node_id, Arc::new(raft_config), network, log_store, state_machine)
            .await
            .map_err(|e| SubmitError::Fatal(e.to_string()))?;
        let (shutdown, _) = watch::channel(false);
        let node = LockNode {
            inner: Arc::new(Inner {
                id: config.node_id,
                raft,
                shared,
                clock,
                forwarder: Forwarder::new(peers.clone()),
                reads: ReadIndexes::new(peers.clone()),
                peers,
                peer_auth: config.peer_auth,
                shutdown,
                writes: WriteStats::default(),
                admission: std::sync::OnceLock::new(),
            }),
        };
        tokio::spawn(run_ticker(node.clone()));
        Ok(node)
    }

    /// Installs the check every write passes on this node while it leads (once, at start-up;
    /// a second call is ignored).
    pub fn admit_writes_with(&self, admission: Arc<dyn WriteAdmission>) {
        let _ = self.inner.admission.set(admission);
    }

    pub fn id(&self) -> NodeId {
        self.inner.id
    }

    pub(crate) fn raft(&self) -> &LockRaft {
        &self.inner.raft
    }

    /// Reads this node's applied state (the state machine, its applied index and
    /// membership) under its lock: keep `f` short, it holds up `apply`.
    pub fn read<T>(&self, f: impl FnOnce(&crate::store::Applied) -> T) -> T {
        self.inner.shared.read(f)
    }

    /// Every event this node applies from now on, tagged with its log index, or `Reset`
    /// when a snapshot replaced the state. A receiver that lags is told so (`Lagged`) and
    /// must read the whole state again.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<crate::store::Notification> {
        self.inner.shared.subscribe()
    }

    /// How many events of each kind this node has applied (for `/metrics`).
    pub fn event_counts(&self) -> &crate::store::EventCounts {
        self.inner.shared.event_counts()
    }

    pub fn write_stats(&self) -> &WriteStats {
        &self.inner.writes
    }

    /// How long each stage of a write took on this node.
    pub fn write_stages(&self) -> &WriteStages {
        self.inner.shared.stages()
    }

    /// What this node forwarded to the leader.
    pub fn forward_stats(&self) -> &ForwardStats {
        self.inner.forwarder.stats()
    }

    /// Channels to the peers, shared by every service between nodes.
    pub fn peers(&self) -> &Arc<Peers> {
        &self.inner.peers
    }

    /// The guard every service between nodes sits behind: the cluster secret, or (under
    /// mutual TLS) a certificate naming a current member.
    pub fn peer_guard(&self) -> PeerGuard {
        match &self.inner.peer_auth {
            PeerAuth::Secret(secret) => PeerGuard::Secret(secret.as_str().into()),
            PeerAuth::Certificates => {
                let raft = self.inner.raft.clone();
                PeerGuard::Certificates(Arc::new(move || {
                    let metrics = raft.metrics();
                    let metrics = metrics.borrow_watched();
                    let membership = metrics.membership_config.membership();
                    membership.nodes().map(|(id, node)| (*id, node.raft_addr.clone())).collect()
                }))
            }
        }
    }

    /// The gRPC service peers call, behind [`LockNode::peer_guard`].
    pub fn grpc_service(
        &self,
    ) -> tonic::service::interceptor::InterceptedService<pb::raft_service_server::RaftServiceServer<RaftGrpc>, PeerGuard>
    {
        let inner = pb::raft_service_server::RaftServiceServer::new(RaftGrpc::new(self.clone()))
            .max_decoding_message_size(limits::RAFT_MESSAGE_BYTES_MAX)
            .max_encoding_message_size(limits::RAFT_MESSAGE_BYTES_MAX);
        tonic::service::interceptor::InterceptedService::new(inner, self.peer_guard())
    }

    /// The lean framing's calls (`network::wire`), behind the same guard as the gRPC service;
    /// the peer port's listener (`network::listener`) serves them.
    pub fn wire_service(&self) -> Arc<PeerWire> {
        Arc::new(PeerWire { grpc: RaftGrpc::new(self.clone()), guard: self.peer_guard() })
    }

    /// Forms a new cluster with exactly `members`. Call it with the same map on every
    /// founding node (docs/design.md, pitfall 5); on a node that already has a log it does nothing.
    pub async fn initialize(&self, members: BTreeMap<NodeId, NodeInfo>) -> Result<(), SubmitError> {
        match self.inner.raft.initialize(members).await {
            Ok(()) => Ok(()),
            Err(openraft::error::RaftError::APIError(openraft::error::InitializeError::NotAllowed(_))) => Ok(()),
            Err(e) => Err(SubmitError::Fatal(e.to_string())),
        }
    }

    pub fn current_leader(&self) -> Option<NodeId> {
        self.inner.raft.metrics().borrow_watched().current_leader
    }

    /// Resolves once this node knows of a leader other than `tried` (never, once raft stops).
    /// A retry waits for this or its backoff, whichever is first: after a failover the new
    /// leader is known about an election timeout after the old one died, and sleeping out a
    /// doubled backoff on top of that made the grant gap a constant ~1.2 s.
    fn leader_other_than(&self, tried: Option<NodeId>) -> impl Future<Output = ()> + use<> {
        let mut metrics = self.inner.raft.metrics();
        async move {
            loop {
                if metrics.borrow_watched().current_leader.is_some_and(|leader| Some(leader) != tried) {
                    return;
                }
                if metrics.changed().await.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }

    pub fn status(&self) -> ClusterStatus {
        let metrics = self.inner.raft.metrics().borrow_watched().clone();
        let membership = metrics.membership_config.membership();
        ClusterStatus {
            node_id: self.inner.id,
            state: ReplicaRole::of(metrics.state),
            term: metrics.current_term,
            leader: metrics.current_leader,
            last_log_index: metrics.last_log_index,
            committed_index: metrics.local_committed.map(|id| id.index),
            applied_index: metrics.last_applied.map(|id| id.index),
            snapshot_index: metrics.snapshot.map(|id| id.index),
            purged_index: metrics.purged.map(|id| id.index),
            voters: membership.voter_ids().collect(),
            nodes: membership.nodes().map(|(id, n)| (*id, n.clone())).collect(),
        }
    }

    /// A member's addresses, from the newest membership in this node's log (a leader added
    /// by a change not yet applied here is still found).
    fn node_info(&self, id: NodeId) -> Option<NodeInfo> {
        self.inner.raft.metrics().borrow_watched().membership_config.membership().get_node(&id).cloned()
    }

    /// Submits a client write from any node and waits until it is applied. `request_id` is
    /// the exactly-once key: a retry after a lost answer must reuse it.
    pub async fn submit(&self, request_id: String, op: Op) -> Result<Applied, SubmitError> {
        let mut budget = RetryBudget::start();
        loop {
            // Each attempt gets at most what is left of the budget: a leader that lost its
            // quorum holds a proposal until leadership changes, and the caller must hear back.
            // A timed-out attempt has an unknown outcome; the retry reuses the request id.
            let remaining = budget.remaining();
            let tried = self.current_leader();
            let attempt = match tried {
                Some(leader) if leader == self.inner.id => {
                    match timeout(remaining, self.propose_as_leader(Some(request_id.clone()), op.clone())).await {
                        Ok(Ok(applied)) => Some(applied),
                        Ok(Err(ProposeError::NotLeader { .. })) | Err(_) => None,
                        // Not retried: a retry would only be counted against the budget again.
                        Ok(Err(ProposeError::Refused { retry_after })) => {
                            return Err(SubmitError::Refused { retry_after });
                        }
                        Ok(Err(ProposeError::Fatal(e))) => return Err(SubmitError::Fatal(e)),
                    }
                }
                Some(leader) => self.forward(leader, &request_id, &op, remaining).await?,
                None => None,
            };
            if let Some(applied) = attempt {
                // Read-your-writes on this node: its state and event stream show the write
                // before the caller hears back (bounded; the write is committed regardless).
                let wait_max = Duration::from_millis(limits::READ_YOUR_WRITES_WAIT_MS_MAX);
                let answered = std::time::Instant::now();
                self.wait_applied(applied.log_index, budget.remaining().min(wait_max)).await;
                self.write_stages().record(Stage::ReadYourWrites, answered.elapsed());
                return Ok(applied);
            }
            budget.pause(self.leader_other_than(tried)).await?;
        }
    }

    /// One attempt to have the leader apply the write, in the next batch this node forwards
    /// (`network::forward`). `Ok(None)`: try again (no leader, a leader change, or a transport
    /// error; the request id makes the retry safe). `Err`: the leader refused it.
    async fn forward(
        &self,
        leader: NodeId,
        request_id: &str,
        op: &Op,
        remaining: Duration,
    ) -> Result<Option<Applied>, SubmitError> {
        let Some(info) = self.node_info(leader) else { return Ok(None) };
        let message = pb::ForwardRequest {
            request_id: Some(request_id.to_owned()),
            op: Some(op.into()),
            trace_id: crate::trace::current(),
        };
        let attempt_limit = Duration::from_millis(limits::FORWARD_ATTEMPT_TIMEOUT_MS).min(remaining);
        let sent = std::time::Instant::now();
        let Some(response) = self.inner.forwarder.forward(&info.raft_addr, message, attempt_limit).await else {
            tracing::debug!(leader, "forwarding a write got no answer; will retry");
            return Ok(None);
        };
        self.write_stages().record(Stage::Forward, sent.elapsed());
        Ok(match response.kind {
            Some(pb::forward_response::Kind::Applied(applied)) => applied
                .response
                .and_then(|r| r.try_into().ok())
                .map(|response| Applied { log_index: applied.log_index, response }),
            Some(pb::forward_response::Kind::Refused(refused)) => {
                return Err(SubmitError::Refused { retry_after: Duration::from_millis(refused.retry_after_ms) });
            }
            Some(pb::forward_response::Kind::NotLeader(_)) | None => None,
        })
    }

    /// Stamps `op` with this leader's time and proposes it. Called for local writes and for
    /// writes forwarded by followers.
    pub(crate) async fn propose_as_leader(&self, request_id: Option<String>, op: Op) -> Result<Applied, ProposeError> {
        if let Some(admission) = self.inner.admission.get()
            && let Err(retry_after) = admission.admit(&op)
        {
            return Err(ProposeError::Refused { retry_after });
        }
        self.inner.writes.proposed.fetch_add(1, Ordering::Relaxed);
        let command = Command { issued_at_ms: self.stamp_ms(), request_id, op };
        let proposed = std::time::Instant::now();
        match self.inner.raft.client_write(command).await {
            Ok(written) => {
                self.write_stages().record(Stage::Propose, proposed.elapsed());
                Ok(Applied { log_index: written.log_id.index, response: written.data })
            }
            Err(e) => match e.forward_to_leader() {
                Some(forward) => Err(ProposeError::NotLeader { leader: forward.leader_id }),
                None => Err(ProposeError::Fatal(e.to_string())),
            },
        }
    }

    /// The leader's clock, never behind cluster time (ADR 3).
    fn stamp_ms(&self) -> u64 {
        let cluster_now_ms = self.inner.shared.read(|a| a.sm.now_ms());
        self.inner.clock.now_ms().max(cluster_now_ms)
    }

    /// The leader's read index: the log index a linearizable read must have applied.
    pub(crate) async fn read_index_as_leader(&self) -> Result<u64, ProposeError> {
        match self.inner.raft.ensure_linearizable(ReadPolicy::ReadIndex).await {
            Ok(read) => Ok(read.index()),
            Err(e) => match e.forward_to_leader() {
                Some(forward) => Err(ProposeError::NotLeader { leader: forward.leader_id }),
                None => match e {
                    openraft::error::RaftError::Fatal(f) => Err(ProposeError::Fatal(f.to_string())),
                    // Quorum not reached yet: like having no leader, the caller retries.
                    _ => Err(ProposeError::NotLeader { leader: None }),
                },
            },
        }
    }

    /// Waits until this node's state reflects every write committed before the call.
    pub async fn read_barrier(&self) -> Result<(), SubmitError> {
        let mut budget = RetryBudget::start();
        loop {
            let remaining = budget.remaining();
            let tried = self.current_leader();
            let index = match tried {
                Some(leader) if leader == self.inner.id => {
                    match timeout(remaining, self.read_index_as_leader()).await {
                        Ok(Ok(index)) => Some(index),
                        Ok(Err(ProposeError::Fatal(e))) => return Err(SubmitError::Fatal(e)),
                        Ok(Err(ProposeError::NotLeader { .. } | ProposeError::Refused { .. })) | Err(_) => None,
                    }
                }
                Some(leader) => self.remote_read_index(leader, remaining).await,
                None => None,
            };
            if let Some(index) = index
                && self.wait_applied(index, budget.remaining()).await
            {
                return Ok(());
            }
            budget.pause(self.leader_other_than(tried)).await?;
        }
    }

    async fn remote_read_index(&self, leader: NodeId, remaining: Duration) -> Option<u64> {
        let info = self.node_info(leader)?;
        let attempt_limit = Duration::from_millis(limits::FORWARD_ATTEMPT_TIMEOUT_MS).min(remaining);
        self.inner.reads.read_index(&info.raft_addr, attempt_limit).await
    }

    /// Waits until the local state machine has applied `index`; false on timeout.
    pub async fn wait_applied(&self, index: u64, limit: Duration) -> bool {
        let mut applied = self.inner.shared.watch_applied_index();
        timeout(limit, applied.wait_for(|a| a.is_some_and(|a| a >= index))).await.is_ok_and(|r| r.is_ok())
    }

    /// Adds `id` as a learner, waits for it to catch up, then makes it a voter.
    pub async fn add_member(&self, id: NodeId, info: NodeInfo) -> Result<(), String> {
        let raft = &self.inner.raft;
        raft.add_learner(id, info, true).await.map_err(|e| e.to_string())?;
        let mut voters: BTreeSet<NodeId> = self.status().voters;
        voters.insert(id);
        raft.change_membership(voters, false).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Removes a member: a voter leaves the voters and the membership (openraft commits the
    /// joint configuration, then the new one); a learner is dropped. The removed node gets no
    /// more entries; its process is the operator's to stop.
    pub async fn remove_member(&self, id: NodeId) -> Result<(), String> {
        let change = if self.status().voters.contains(&id) {
            openraft::ChangeMembers::RemoveVoters(BTreeSet::from([id]))
        } else {
            openraft::ChangeMembers::RemoveNodes(BTreeSet::from([id]))
        };
        self.inner.raft.change_membership(change, false).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    /// Turns true when the node shuts down, for tasks that live as long as it.
    pub fn stopped(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    pub async fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
        if let Err(e) = self.inner.raft.shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
    }
}

/// The time a client request may spend finding a leader, with doubling pauses between
/// attempts (writes and read barriers share it).
struct RetryBudget {
    deadline: Instant,
    backoff: Duration,
}

impl RetryBudget {
    fn start() -> Self {
        RetryBudget {
            deadline: Instant::now() + Duration::from_millis(limits::SUBMIT_TIMEOUT_MS),
            backoff: Duration::from_millis(limits::SUBMIT_BACKOFF_MS_MIN),
        }
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Waits before the next attempt, or answers `NoLeader` when no time is left for one.
    /// `new_leader` ends the wait early; the backoff doubles either way, so a leader that
    /// keeps changing cannot make the retries spin.
    async fn pause(&mut self, new_leader: impl Future<Output = ()>) -> Result<(), SubmitError> {
        if Instant::now() + self.backoff > self.deadline {
            return Err(SubmitError::NoLeader(Duration::from_millis(limits::SUBMIT_TIMEOUT_MS)));
        }
        tokio::select! {
            _ = sleep(self.backoff) => {}
            _ = new_leader => {}
        }
        self.backoff = (self.backoff * 2).min(Duration::from_millis(limits::SUBMIT_BACKOFF_MS_MAX));
        Ok(())
    }
}

/// While this node leads, appends a `Tick` when the earliest lease is due by the leader's
/// clock, and never while nothing can expire (ADR 3).
async fn run_ticker(node: LockNode) {
    let mut shutdown = node.inner.shutdown.subscribe();
    let mut applied = node.inner.shared.watch_applied_index();
    let mut metrics = node.inner.raft.metrics();
    let wait_max = Duration::from_millis(limits::TICKER_WAIT_MS_MAX);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let leading = metrics.borrow_watched().state == ServerState::Leader;
        let due_ms = node.inner.shared.read(|a| a.sm.next_deadline_ms());
        let wait = match (leading, due_ms) {
            (true, Some(due_ms)) => {
                let now_ms = node.inner.clock.now_ms();
                if now_ms < due_ms {
                    Duration::from_millis(due_ms - now_ms).min(wait_max)
                } else {
                    match node.propose_as_leader(None, Op::Tick).await {
                        Ok(_) => continue,
                        Err(ProposeError::Fatal(e)) => {
                            tracing::error!(error = %e, "raft stopped; the ticker stops too");
                            return;
                        }
                        // Lost leadership or its lease. Pause without listening to metrics:
                        // the failed proposal itself changes them, and waking on that would
                        // propose again at once, a spin (found by the simulation, seed 0).
                        // (`Refused` too, should an admission check ever refuse a tick.)
                        Err(ProposeError::NotLeader { .. } | ProposeError::Refused { .. }) => {
                            tokio::select! {
                                _ = sleep(Duration::from_millis(limits::SUBMIT_BACKOFF_MS_MAX)) => {}
                                _ = shutdown.changed() => {}
                            }
                            continue;
                        }
                    }
                }
            }
            _ => wait_max,
        };
        // Wake early for a new deadline (an applied entry) or a change of leadership; not for
        // every other metrics update (each commit changes them).
        // Answers false once raft has stopped (the metrics channel closed).
        let leadership_changed = async {
            loop {
                if metrics.changed().await.is_err() {
                    return false;
                }
                if (metrics.borrow_watched().state == ServerState::Leader) != leading {
                    return true;
                }
            }
        };
        tokio::select! {
            _ = sleep(wait) => {}
            changed = applied.changed() => if changed.is_err() { return },
            running = leadership_changed => if !running { return },
            _ = shutdown.changed() => {}
        }
    }
}
