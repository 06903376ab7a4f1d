//! One simulated lockd node: the same wiring as the `lockd` binary (the replica, its gRPC
//! service, the HTTP router), over the simulated disk, network and clock. turmoil runs this
//! again from the top when it restarts a crashed host.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use lockd_api::auth::JwtKeys;
use lockd_api::{ApiConfig, AppState};
use lockd_raft::clock::Clock;
use lockd_raft::node::{LockNode, NodeConfig, RaftTiming, SnapshotPolicy};
use lockd_raft::runtime::LockdRuntime;
use lockd_raft::sm::PlantedBug;
use lockd_raft::store::StateMachineStore;
use lockd_raft::types::{NodeId, NodeInfo};
use tokio::sync::broadcast::error::RecvError;

use crate::checker::Checker;
use crate::clock::SimClock;
use crate::disk::{SimDisk, SimLogStore};
use crate::net::{SimChannels, SimListener, serve_peers};
use crate::snapshots::DelayedJobs;
use crate::workload::HTTP_PORT;

pub const RAFT_PORT: u16 = 7000;

/// Bugs a run can plant, to show the checker catches each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plant {
    /// The log store acknowledges an append before it is synced.
    AckBeforeSync,
    /// Replicas expire leases by their own clocks, outside the log.
    LocalExpiry,
    /// The state machine grants a held lock again, as if it were free.
    DoubleGrant,
    /// The state machine applies a save whatever its fencing token.
    UnfencedUpdate,
}

/// What outlives a host's crash: its disk and clock, and the harness's view of it.
pub struct World {
    pub seed: u64,
    pub members: BTreeMap<NodeId, NodeInfo>,
    pub disks: BTreeMap<NodeId, Arc<SimDisk>>,
    pub clocks: BTreeMap<NodeId, Arc<SimClock>>,
    pub checker: Arc<Checker>,
    pub keys: Arc<JwtKeys>,
    pub plant: Option<Plant>,
    /// The running replicas, for the fault schedule (who leads) and the final comparison.
    pub running: Mutex<BTreeMap<NodeId, LockNode>>,
    incarnations: BTreeMap<NodeId, AtomicU64>,
}

pub fn host_name(id: NodeId) -> String {
    format!("n{id}")
}

impl World {
    pub fn new(seed: u64, ids: &[NodeId], clocks: BTreeMap<NodeId, Arc<SimClock>>, plant: Option<Plant>) -> Arc<Self> {
        let members = ids
            .iter()
            .map(|&id| {
                let name = host_name(id);
                (id, NodeInfo { raft_addr: format!("{name}:{RAFT_PORT}"), http_addr: format!("{name}:{HTTP_PORT}") })
            })
            .collect();
        let disks = ids.iter().map(|&id| (id, SimDisk::new())).collect();
        Arc::new(World {
            seed,
            members,
            disks,
            clocks,
            checker: Checker::new(),
            keys: Arc::new(JwtKeys::from_secret(b"simulated-jwt-secret-0123456789").accepting_dev_tokens()),
            plant,
            running: Mutex::new(BTreeMap::new()),
            incarnations: ids.iter().map(|&id| (id, AtomicU64::new(0))).collect(),
        })
    }

    pub fn running(&self) -> BTreeMap<NodeId, LockNode> {
        self.running.lock().expect("single-threaded").clone()
    }

    pub fn stopped(&self, id: NodeId) {
        self.running.lock().expect("single-threaded").remove(&id);
    }

    /// The leader a majority of the members follow (itself included), in the same term: a
    /// node that still calls itself leader after losing its followers does not count.
    pub fn leader(&self) -> Option<NodeId> {
        let statuses: Vec<_> = self.running().values().map(|n| n.status()).collect();
        let majority = self.members.len() / 2 + 1;
        statuses
            .iter()
            .filter(|s| s.state == lockd_raft::node::ReplicaRole::Leader)
            .find(|leader| {
                let followers = statuses.iter().filter(|s| s.leader == Some(leader.node_id) && s.term == leader.term);
                followers.count() >= majority
            })
            .map(|s| s.node_id)
    }
}

pub fn timing() -> RaftTiming {
    RaftTiming { heartbeat_interval_ms: 100, election_timeout_min_ms: 400, election_timeout_max_ms: 800 }
}

/// Small, so runs build, send and install snapshots, and restart from them.
pub fn snapshots() -> SnapshotPolicy {
    SnapshotPolicy { every_entries: 64, keep_log_entries: 16 }
}

/// The host's software. Runs until the host crashes.
pub async fn run_node(world: Arc<World>, id: NodeId) -> turmoil::Result {
    let incarnation = world.incarnations[&id].fetch_add(1, Ordering::Relaxed);
    let disk = world.disks[&id].clone();
    if let Some(lost) = disk.lose_unsynced() {
        world.checker.appends_lost(id, lost);
    }
    if world.plant == Some(Plant::AckBeforeSync) {
        disk.plant_ack_before_sync();
    }
    let clock = world.clocks[&id].clone();
    let seed = world.seed ^ (id << 48) ^ (incarnation << 32);
    // Snapshot builds and installs take simulated time, holding the writers' gate as the
    // binary's blocking thread does (ADR 18); their own draws, so openraft's stay as they were.
    let snapshot_jobs = Arc::new(DelayedJobs::new(seed.rotate_left(29)));
    let mut state_machine = StateMachineStore::open(disk.snapshots())?
        .observed_by(world.checker.observer(id))
        .building_snapshots_on(snapshot_jobs);
    match world.plant {
        Some(Plant::LocalExpiry) => {
            state_machine = state_machine.with_planted_local_expiry(clock.clone() as Arc<dyn Clock>);
        }
        Some(Plant::DoubleGrant) => state_machine = state_machine.with_planted_bug(PlantedBug::DoubleGrant),
        Some(Plant::UnfencedUpdate) => state_machine = state_machine.with_planted_bug(PlantedBug::UnfencedUpdate),
        Some(Plant::AckBeforeSync) | None => {}
    }
    let shared = state_machine.shared();
    shared.read(|state| world.checker.started(id, state));

    // What a WebSocket of this node would stream: it must never go back.
    let mut notifications = shared.subscribe();
    let checker = world.checker.clone();
    tokio::spawn(async move {
        loop {
            match notifications.recv().await {
                Ok(notification) => checker.notification(id, &notification),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            }
        }
    });

    let serve = async {
        let config = NodeConfig {
            node_id: id,
            peer_auth: lockd_raft::network::PeerAuth::Secret("simulated-cluster-secret".into()),
            timing: timing(),
            snapshots: snapshots(),
        };
        let log_store = SimLogStore::new(disk);
        let node = LockNode::start(config, log_store, state_machine, clock.clone(), Arc::new(SimChannels)).await?;
        let api_config = ApiConfig { lock_ttl_ms: 3_000, waiter_ttl_ms: 2_000, ..ApiConfig::default() };
        let state = AppState::new(
            node.clone(),
            Arc::new(lockd_api::auth::Authenticator::shared_secret(world.keys.clone())),
            clock,
            api_config,
        );
        let raft_listener = turmoil::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, RAFT_PORT)).await?;
        let routes = tonic::service::Routes::new(node.grpc_service()).add_service(state.presence_service());
        tokio::spawn(serve_peers(SimListener(raft_listener), routes, node.wire_service()));
        node.initialize(world.members.clone()).await?;
        world.running.lock().expect("single-threaded").insert(id, node.clone());
        // Not `state.spawn_background()`: a host that panics (a planted bug caught by
        // openraft's assertions) can abort the whole test process while tokio unwinds its
        // runtime (a dropped h2 stream wakes a task, tokio's scheduler is already borrowed and
        // panics inside h2's lock, the poisoned lock panics again in a destructor), and the
        // relay's long-lived streams made that happen on every such seed. No simulated user
        // views appointments, so the relay would carry nothing; real processes test it.

        let http_listener = turmoil::net::TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, HTTP_PORT)).await?;
        axum::serve(SimListener(http_listener), lockd_api::router(state, None)).await?;
        Ok(())
    };
    LockdRuntime::seeded(seed, serve).await
}
