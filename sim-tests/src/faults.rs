//! Fault schedules drawn from the seed: partitions (symmetric, one-way, the leader isolated,
//! a minority cut off), held, slowed and lossy links, crashes (one node, two at once, the leader in
//! the middle of an append), a slow disk, and clock jumps. Each fault lasts a while and is
//! undone; at the heal time everything is repaired and every crashed host restarts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use lockd_raft::types::NodeId;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use turmoil::Sim;

use crate::hosts::{World, host_name};

#[derive(Debug, Clone)]
enum Fault {
    Partition {
        a: Vec<NodeId>,
        b: Vec<NodeId>,
    },
    OneWay {
        from: NodeId,
        to: NodeId,
    },
    IsolateLeader,
    Hold {
        a: NodeId,
        b: NodeId,
    },
    SlowLink {
        a: NodeId,
        b: NodeId,
        latency_ms: u64,
    },
    /// Random loss: the link drops messages (turmoil breaks it at random and repairs it).
    LossyLink {
        a: NodeId,
        b: NodeId,
        loss: f64,
    },
    Crash {
        nodes: Vec<NodeId>,
    },
    CrashLeaderMidAppend,
    SlowDisk {
        node: NodeId,
        latency_ms: u64,
    },
    ClockJump {
        node: NodeId,
        delta_ms: i64,
    },
}

impl Fault {
    fn name(&self) -> &'static str {
        match self {
            Fault::Partition { a, .. } if a.len() == 1 => "partition",
            Fault::Partition { .. } => "minority split",
            Fault::OneWay { .. } => "one-way partition",
            Fault::IsolateLeader => "leader isolated",
            Fault::Hold { .. } => "messages held",
            Fault::SlowLink { .. } => "slow link",
            Fault::LossyLink { .. } => "lossy link",
            Fault::Crash { nodes } if nodes.len() > 1 => "crash of two",
            Fault::Crash { .. } => "crash",
            Fault::CrashLeaderMidAppend => "leader crash mid-append",
            Fault::SlowDisk { .. } => "slow disk",
            Fault::ClockJump { .. } => "clock jump",
        }
    }
}

enum Undo {
    Repair { a: Vec<NodeId>, b: Vec<NodeId> },
    RepairOneWay { from: NodeId, to: NodeId },
    Release { a: NodeId, b: NodeId },
    LinkLatency { a: NodeId, b: NodeId },
    LinkLoss { a: NodeId, b: NodeId },
    Restart { nodes: Vec<NodeId> },
    DiskLatency { node: NodeId },
}

struct Scheduled {
    at_ms: u64,
    duration_ms: u64,
    fault: Fault,
}

pub struct Schedule {
    pending: Vec<Scheduled>,
    undos: Vec<(u64, Undo)>,
    /// A leader crash waiting for the leader's disk to be mid-append (gives up at the deadline).
    armed: Option<(u64, u64)>,
    crashed: Vec<NodeId>,
    ids: Vec<NodeId>,
    pub injected: BTreeMap<&'static str, u32>,
    /// A base sync latency every disk returns to (the planted-sync bug needs a window).
    base_disk_latency_ms: u64,
    /// Every host a crashed node could be talking to: the other nodes and the users' hosts.
    hosts: Vec<String>,
    links: LinkModel,
}

/// What the schedule did to the links, so a crash can cut a host off and restore them after.
#[derive(Default)]
struct LinkModel {
    /// Directed (from, to) pairs explicitly partitioned.
    cut: BTreeSet<(String, String)>,
    /// Held pairs, in name order.
    held: BTreeSet<(String, String)>,
}

impl LinkModel {
    fn cut(&mut self, from: &str, to: &str) {
        self.cut.insert((from.to_owned(), to.to_owned()));
    }

    fn hold(&mut self, a: &str, b: &str) {
        self.held.insert(ordered(a, b));
    }

    /// turmoil's `repair` and `release` both leave the pair healthy in both directions.
    fn healthy(&mut self, a: &str, b: &str) {
        self.cut.remove(&(a.to_owned(), b.to_owned()));
        self.cut.remove(&(b.to_owned(), a.to_owned()));
        self.held.remove(&ordered(a, b));
    }
}

fn ordered(a: &str, b: &str) -> (String, String) {
    if a <= b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) }
}

pub const LINK_LATENCY_MAX: Duration = Duration::from_millis(12);

impl Schedule {
    /// Faults between 1 s and `until_ms`, drawn from `seed`. `user_hosts` are the other hosts
    /// a node talks to.
    pub fn draw(
        seed: u64,
        ids: &[NodeId],
        user_hosts: &[String],
        until_ms: u64,
        base_disk_latency_ms: u64,
    ) -> Schedule {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_fa17);
        let mut pending = Vec::new();
        let count = rng.random_range(4..=10);
        for _ in 0..count {
            let at_ms = rng.random_range(1_000..until_ms.max(1_001));
            let duration_ms = rng.random_range(300..=3_000);
            let fault = draw_fault(&mut rng, ids);
            pending.push(Scheduled { at_ms, duration_ms, fault });
        }
        pending.sort_by_key(|s| std::cmp::Reverse(s.at_ms));
        Schedule {
            pending,
            undos: Vec::new(),
            armed: None,
            crashed: Vec::new(),
            ids: ids.to_vec(),
            injected: BTreeMap::new(),
            base_disk_latency_ms,
            hosts: ids.iter().map(|&id| host_name(id)).chain(user_hosts.iter().cloned()).collect(),
            links: LinkModel::default(),
        }
    }

    /// Applies what is due at `now_ms`.
    pub fn step(&mut self, sim: &mut Sim<'_>, world: &Arc<World>, now_ms: u64) {
        while self.pending.last().is_some_and(|s| s.at_ms <= now_ms) {
            let scheduled = self.pending.pop().expect("checked");
            self.apply(sim, world, scheduled, now_ms);
        }
        if let Some((duration_ms, give_up_ms)) = self.armed {
            let leader = world.leader();
            let mid_append = leader.is_some_and(|l| world.disks[&l].append_in_flight());
            if let Some(leader) = leader
                && (mid_append || now_ms >= give_up_ms)
            {
                self.armed = None;
                self.crash(sim, world, vec![leader], now_ms + duration_ms);
            } else if now_ms >= give_up_ms {
                self.armed = None;
            }
        }
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.undos).into_iter().partition(|(at, _)| *at <= now_ms);
        self.undos = later;
        for (_, undo) in due {
            self.undo(sim, world, undo);
        }
    }

    fn apply(&mut self, sim: &mut Sim<'_>, world: &Arc<World>, scheduled: Scheduled, now_ms: u64) {
        let until_ms = now_ms + scheduled.duration_ms;
        *self.injected.entry(scheduled.fault.name()).or_default() += 1;
        match scheduled.fault {
            Fault::Partition { a, b } => {
                for_pairs(&a, &b, |x, y| {
                    self.links.cut(&x, &y);
                    self.links.cut(&y, &x);
                    sim.partition(x, y);
                });
                self.undos.push((until_ms, Undo::Repair { a, b }));
            }
            Fault::OneWay { from, to } => {
                self.links.cut(&host_name(from), &host_name(to));
                sim.partition_oneway(host_name(from), host_name(to));
                self.undos.push((until_ms, Undo::RepairOneWay { from, to }));
            }
            Fault::IsolateLeader => {
                if let Some(leader) = world.leader() {
                    let others: Vec<NodeId> = self.ids.iter().copied().filter(|&id| id != leader).collect();
                    for_pairs(&[leader], &others, |x, y| {
                        self.links.cut(&x, &y);
                        self.links.cut(&y, &x);
                        sim.partition(x, y);
                    });
                    self.undos.push((until_ms, Undo::Repair { a: vec![leader], b: others }));
                }
            }
            Fault::Hold { a, b } => {
                self.links.hold(&host_name(a), &host_name(b));
                sim.hold(host_name(a), host_name(b));
                self.undos.push((until_ms, Undo::Release { a, b }));
            }
            Fault::SlowLink { a, b, latency_ms } => {
                sim.set_link_latency(host_name(a), host_name(b), Duration::from_millis(latency_ms));
                self.undos.push((until_ms, Undo::LinkLatency { a, b }));
            }
            Fault::LossyLink { a, b, loss } => {
                sim.set_link_fail_rate(host_name(a), host_name(b), loss);
                self.undos.push((until_ms, Undo::LinkLoss { a, b }));
            }
            Fault::Crash { nodes } => self.crash(sim, world, nodes, until_ms),
            Fault::CrashLeaderMidAppend => self.armed = Some((scheduled.duration_ms, now_ms + 2_000)),
            Fault::SlowDisk { node, latency_ms } => {
                world.disks[&node].set_sync_latency(Duration::from_millis(latency_ms));
                self.undos.push((until_ms, Undo::DiskLatency { node }));
            }
            Fault::ClockJump { node, delta_ms } => world.clocks[&node].jump(delta_ms),
        }
    }

    fn crash(&mut self, sim: &mut Sim<'_>, world: &Arc<World>, nodes: Vec<NodeId>, restart_at_ms: u64) {
        let nodes: Vec<NodeId> = nodes.into_iter().filter(|id| !self.crashed.contains(id)).collect();
        for &id in &nodes {
            self.crash_silently(sim, &host_name(id));
            world.stopped(id);
            self.crashed.push(id);
        }
        self.undos.push((restart_at_ms, Undo::Restart { nodes }));
    }

    /// Crashes `host` as a machine crash: the sockets it drops send nothing. turmoil would send
    /// a FIN per socket in the order tokio drops its tasks, and that order follows task ids,
    /// which come from a process-wide counter: another simulation on another test thread
    /// would change this one's history. So the host's outbound links are cut for the crash
    /// and then put back as the schedule had them.
    fn crash_silently(&mut self, sim: &mut Sim<'_>, host: &str) {
        let others: Vec<&String> = self.hosts.iter().filter(|o| o.as_str() != host).collect();
        for &other in &others {
            sim.partition_oneway(host, other.as_str());
        }
        sim.crash(host);
        for &other in &others {
            sim.repair_oneway(host, other.as_str());
            if self.links.held.contains(&ordered(host, other)) {
                sim.hold(host, other.as_str());
            } else if self.links.cut.contains(&(host.to_owned(), other.clone())) {
                sim.partition_oneway(host, other.as_str());
            }
        }
    }

    fn undo(&mut self, sim: &mut Sim<'_>, world: &Arc<World>, undo: Undo) {
        match undo {
            Undo::Repair { a, b } => for_pairs(&a, &b, |x, y| {
                self.links.healthy(&x, &y);
                sim.repair(x, y);
            }),
            Undo::RepairOneWay { from, to } => {
                self.links.cut.remove(&(host_name(from), host_name(to)));
                sim.repair_oneway(host_name(from), host_name(to));
            }
            Undo::Release { a, b } => {
                self.links.healthy(&host_name(a), &host_name(b));
                sim.release(host_name(a), host_name(b));
            }
            Undo::LinkLatency { a, b } => sim.set_link_latency(host_name(a), host_name(b), LINK_LATENCY_MAX / 2),
            Undo::LinkLoss { a, b } => {
                self.links.healthy(&host_name(a), &host_name(b));
                sim.set_link_fail_rate(host_name(a), host_name(b), 0.0);
                sim.repair(host_name(a), host_name(b));
            }
            Undo::Restart { nodes } => {
                for id in nodes {
                    if let Some(at) = self.crashed.iter().position(|&c| c == id) {
                        self.crashed.remove(at);
                        sim.bounce(host_name(id));
                    }
                }
            }
            Undo::DiskLatency { node } => {
                world.disks[&node].set_sync_latency(Duration::from_millis(self.base_disk_latency_ms));
            }
        }
    }

    /// Ends every fault now: links repaired and released, disks fast, crashed hosts restarted.
    pub fn heal(&mut self, sim: &mut Sim<'_>, world: &Arc<World>) {
        self.pending.clear();
        self.armed = None;
        for (_, undo) in std::mem::take(&mut self.undos) {
            self.undo(sim, world, undo);
        }
        for &a in &self.ids {
            for &b in &self.ids {
                if a < b {
                    self.links.healthy(&host_name(a), &host_name(b));
                    sim.repair(host_name(a), host_name(b));
                    sim.release(host_name(a), host_name(b));
                }
            }
        }
        for id in std::mem::take(&mut self.crashed) {
            sim.bounce(host_name(id));
        }
    }
}

fn for_pairs(a: &[NodeId], b: &[NodeId], mut f: impl FnMut(String, String)) {
    for &x in a {
        for &y in b {
            f(host_name(x), host_name(y));
        }
    }
}

fn draw_fault(rng: &mut SmallRng, ids: &[NodeId]) -> Fault {
    let mut shuffled = ids.to_vec();
    shuffled.shuffle(rng);
    let (a, b) = (shuffled[0], shuffled[1]);
    match rng.random_range(0..12) {
        0 => Fault::Partition { a: vec![a], b: vec![b] },
        1 => {
            let minority = (ids.len() - 1) / 2;
            Fault::Partition { a: shuffled[..minority].to_vec(), b: shuffled[minority..].to_vec() }
        }
        2 => Fault::OneWay { from: a, to: b },
        3 => Fault::IsolateLeader,
        4 => Fault::Hold { a, b },
        5 => Fault::SlowLink { a, b, latency_ms: rng.random_range(20..=300) },
        6 => Fault::Crash { nodes: vec![a] },
        7 => Fault::Crash { nodes: vec![a, b] },
        8 => Fault::CrashLeaderMidAppend,
        9 => Fault::SlowDisk { node: a, latency_ms: rng.random_range(5..=80) },
        10 => Fault::LossyLink { a, b, loss: rng.random_range(0.001..0.02) },
        _ => {
            let magnitude = rng.random_range(500..=10_000i64);
            Fault::ClockJump { node: a, delta_ms: if rng.random_bool(0.5) { magnitude } else { -magnitude } }
        }
    }
}
