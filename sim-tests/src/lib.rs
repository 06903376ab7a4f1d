//! Deterministic simulation of a lockd cluster (ADR 8; docs/testing.md).
//!
//! [`run`] builds a turmoil world from one seed: 3 or 5 hosts each running the real node
//! ([`hosts`]) over a simulated disk ([`disk`]), network ([`net`]) and skewed clock
//! ([`clock`]); simulated users racing for a few appointments over HTTP ([`workload`]); a
//! fault schedule drawn from the seed ([`faults`]); and the checker ([`checker`]), which
//! sees every applied entry on every replica and every answer a user gets. Faults stop at a
//! heal time; the users go on, and the run then checks the cluster served again, converged,
//! and lost nothing acknowledged.

pub mod checker;
pub mod clock;
pub mod disk;
pub mod faults;
pub mod hosts;
pub mod net;
pub mod snapshots;
pub mod workload;

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lockd_raft::types::NodeId;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::checker::Counts;
use crate::clock::SimClock;
pub use crate::hosts::Plant;
use crate::hosts::{World, host_name, run_node};
use crate::workload::{Tally, User, run_user};

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    pub users: usize,
    pub appointments: usize,
    /// Faults happen before this; then everything heals.
    pub heal_at_ms: u64,
    /// Users stop starting new work here.
    pub users_until_ms: u64,
    pub plant: Option<Plant>,
}

impl SimConfig {
    pub fn cluster(nodes: usize) -> Self {
        SimConfig { nodes, users: 8, appointments: 3, heal_at_ms: 12_000, users_until_ms: 20_000, plant: None }
    }

    pub fn planted(nodes: usize, plant: Plant) -> Self {
        SimConfig { plant: Some(plant), ..SimConfig::cluster(nodes) }
    }
}

const USER_HOSTS: usize = 2;
/// After healing, a write must be acknowledged within this (docs/design.md, invariant 6).
pub const LIVENESS_BOUND_MS: u64 = 8_000;
/// A lease must lapse within this of its deadline once a leader is stable: the ticker's
/// longest wait plus an election timeout (docs/design.md, invariant 8).
pub const EXPIRY_BOUND_MS: u64 = 1_000 + 800;
/// Replicas must agree within this after the users stop.
const CONVERGENCE_BOUND_MS: u64 = 10_000;

#[derive(Debug, Clone)]
pub struct Report {
    pub seed: u64,
    pub nodes: usize,
    pub sim_ms: u64,
    pub faults: BTreeMap<&'static str, u32>,
    pub counts: Counts,
    pub tally: Tally,
    pub violations: Vec<String>,
    /// Everything the checker saw, hashed in order: equal seeds give equal digests.
    pub trace_digest: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let faults: Vec<String> = self.faults.iter().map(|(k, v)| format!("{k}×{v}")).collect();
        write!(
            f,
            "seed {} ({} nodes, {} simulated ms): {} entries applied, {} grants, {} takeovers, {} updates, {} expiries, {} writes acked, {} reads checked, {} requests ({} retries, {} unknown); faults: {}; violations: {}",
            self.seed,
            self.nodes,
            self.sim_ms,
            self.counts.entries_applied,
            self.counts.grants,
            self.counts.takeovers,
            self.counts.updates_accepted,
            self.counts.expiries,
            self.counts.writes_acked,
            self.counts.reads_checked,
            self.tally.requests,
            self.tally.retries,
            self.tally.unknown_outcomes,
            if faults.is_empty() { "none".to_owned() } else { faults.join(", ") },
            self.violations.len()
        )
    }
}

thread_local! {
    /// The first panic on this thread since the run began: where an assertion fired. (tokio
    /// re-raises a task's panic with a generic message when it shuts the host down.)
    static FIRST_PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

fn record_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            FIRST_PANIC.with(|p| {
                let mut first = p.borrow_mut();
                if first.is_none() {
                    *first = Some(info.to_string());
                }
            });
            previous(info);
        }));
    });
    FIRST_PANIC.with(|p| p.borrow_mut().take());
}

/// Runs one seed to the end (or to its first violation).
pub fn run(seed: u64, config: &SimConfig) -> Report {
    record_panics();
    let mut rng = SmallRng::seed_from_u64(seed);
    let ids: Vec<NodeId> = (1..=config.nodes as NodeId).collect();
    let clocks =
        ids.iter().map(|&id| (id, SimClock::new(rng.random_range(-500..=500), rng.random_range(-200..=200)))).collect();
    let world = World::new(seed, &ids, clocks, config.plant);
    // The planted sync bug needs a window between acknowledging and syncing.
    let base_disk_latency_ms = if config.plant == Some(Plant::AckBeforeSync) { 15 } else { 0 };
    for disk in world.disks.values() {
        disk.set_sync_latency(Duration::from_millis(base_disk_latency_ms));
    }

    let mut sim = turmoil::Builder::new()
        .simulation_duration(Duration::from_millis(config.users_until_ms + 60_000))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(faults::LINK_LATENCY_MAX)
        .rng_seed(seed)
        .enable_random_order()
        .build();
    for &id in &ids {
        let world = world.clone();
        sim.host(host_name(id), move || run_node(world.clone(), id));
    }
    let tallies = Arc::new(Mutex::new(Vec::new()));
    let nodes: Vec<String> = ids.iter().map(|&id| host_name(id)).collect();
    let user_hosts: Vec<String> = (0..USER_HOSTS).map(|n| format!("users{n}")).collect();
    // Users share a few client hosts: each host costs a runtime tick per simulated millisecond.
    let mut hosts: Vec<Vec<User>> = (0..USER_HOSTS).map(|_| Vec::new()).collect();
    for index in 0..config.users {
        hosts[index % USER_HOSTS].push(User {
            index,
            nodes: nodes.clone(),
            appointments: config.appointments,
            until_ms: config.users_until_ms,
            seed: rng.random(),
            keys: world.keys.clone(),
            checker: world.checker.clone(),
            creates_appointments: index == 0,
        });
    }
    for (n, users) in hosts.into_iter().enumerate() {
        let tallies = tallies.clone();
        sim.client(user_hosts[n].clone(), async move {
            let done = futures::future::join_all(users.into_iter().map(run_user)).await;
            tallies.lock().expect("single-threaded").extend(done);
            Ok(())
        });
    }

    let mut schedule = faults::Schedule::draw(seed, &ids, &user_hosts, config.heal_at_ms, base_disk_latency_ms);
    let mut healed = false;
    let mut users_done_at_ms = None;
    let checker = world.checker.clone();
    let mut error = None;
    let verbose = std::env::var_os("SIM_VERBOSE").is_some();
    // The leader, its term, and when the harness first saw it lead (simulated ms).
    let mut leader_since: Option<(NodeId, u64, u64)> = None;
    loop {
        let now_ms = sim.elapsed().as_millis() as u64;
        if verbose && now_ms.is_multiple_of(1_000) {
            eprintln!("{}", progress_line(&world, now_ms));
        }
        if !healed {
            if now_ms >= config.heal_at_ms {
                schedule.heal(&mut sim, &world);
                healed = true;
            } else {
                schedule.step(&mut sim, &world, now_ms);
            }
        }
        if healed && now_ms.is_multiple_of(50) {
            check_overdue_leases(&world, now_ms, &mut leader_since);
        }
        if !checker.violations().is_empty() {
            break;
        }
        if let Some(done_at) = users_done_at_ms
            && (converged(&world, ids.len()) || now_ms > done_at + CONVERGENCE_BOUND_MS)
        {
            break;
        }
        // A panic in a host (an assertion of ours or openraft's) ends the run as a failure.
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sim.step())) {
            Ok(Ok(true)) if users_done_at_ms.is_none() => users_done_at_ms = Some(now_ms),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                error = Some(format!("the simulation stopped: {e}"));
                break;
            }
            Err(_) => {
                let message = FIRST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_default();
                error = Some(format!("a simulated task panicked at {now_ms} ms: {message}"));
                break;
            }
        }
    }
    let sim_ms = sim.elapsed().as_millis() as u64;
    if checker.violations().is_empty() && error.is_none() {
        let finals: Vec<(NodeId, Option<u64>, u64)> = world
            .running()
            .values()
            .map(|node| node.read(|s| (node.id(), s.applied_index(), state_digest(s))))
            .collect();
        if finals.len() != ids.len() {
            error = Some(format!("only {} of {} nodes run after healing", finals.len(), ids.len()));
        }
        checker.finish(&finals, config.heal_at_ms, LIVENESS_BOUND_MS);
    }
    let mut violations = checker.violations();
    violations.extend(error);
    let tally = tallies.lock().expect("single-threaded").iter().fold(Tally::default(), |mut sum, t| {
        sum.requests += t.requests;
        sum.retries += t.retries;
        sum.unknown_outcomes += t.unknown_outcomes;
        sum
    });
    Report {
        seed,
        nodes: config.nodes,
        sim_ms,
        faults: schedule.injected,
        counts: checker.counts(),
        tally,
        violations,
        trace_digest: checker.trace_digest(),
    }
}

/// One line of what each node is doing, for `SIM_VERBOSE=1` replays.
fn progress_line(world: &World, now_ms: u64) -> String {
    let nodes: Vec<String> = world
        .running()
        .values()
        .map(|n| {
            let s = n.status();
            format!("n{} {:?} term {} applied {:?} leader {:?}", s.node_id, s.state, s.term, s.applied_index, s.leader)
        })
        .collect();
    format!("[{now_ms} ms] entries {} | {}", world.checker.counts().entries_applied, nodes.join(" | "))
}

fn state_digest(state: &lockd_raft::store::Applied) -> u64 {
    let mut hasher = DefaultHasher::new();
    format!("{:?}", state.sm.to_parts()).hash(&mut hasher);
    hasher.finish()
}

/// Every node runs, one leads, and all have applied the same index.
fn converged(world: &World, nodes: usize) -> bool {
    let running = world.running();
    let indexes: Vec<Option<u64>> = running.values().map(|n| n.read(|s| s.applied_index())).collect();
    running.len() == nodes && world.leader().is_some() && indexes.windows(2).all(|w| w[0] == w[1])
}

/// Invariant 8 after healing: a lease due while this leader led must lapse within the bound
/// of its deadline; one due before (during an outage) within the bound of the leader taking
/// office.
fn check_overdue_leases(world: &World, elapsed_ms: u64, leader_since: &mut Option<(NodeId, u64, u64)>) {
    let Some(leader) = world.leader() else {
        *leader_since = None;
        return;
    };
    let Some(node) = world.running().get(&leader).cloned() else { return };
    let term = node.status().term;
    let since_ms = match *leader_since {
        Some((id, t, since)) if id == leader && t == term => since,
        _ => {
            *leader_since = Some((leader, term, elapsed_ms));
            elapsed_ms
        }
    };
    let clock = &world.clocks[&leader];
    let clock_ms = clock.at(elapsed_ms);
    let took_office_ms = clock.at(since_ms);
    node.read(|state| {
        let cluster_now_ms = clock_ms.max(state.sm.now_ms());
        world.checker.leases_overdue(leader, state, cluster_now_ms, took_office_ms, EXPIRY_BOUND_MS);
    });
}

/// The seeds to run: `SIM_SEED=n` (one), `SIM_SEEDS=a..b` or `SIM_SEEDS=count`, else `default`.
pub fn seeds_from_env(default: std::ops::Range<u64>) -> std::ops::Range<u64> {
    if let Ok(seed) = std::env::var("SIM_SEED") {
        let seed: u64 = seed.trim().parse().expect("SIM_SEED is a number");
        return seed..seed + 1;
    }
    match std::env::var("SIM_SEEDS") {
        Ok(spec) => match spec.split_once("..") {
            Some((a, b)) => a.trim().parse().expect("SIM_SEEDS=a..b")..b.trim().parse().expect("SIM_SEEDS=a..b"),
            None => 0..spec.trim().parse().expect("SIM_SEEDS is a count or a..b"),
        },
        Err(_) => default,
    }
}
