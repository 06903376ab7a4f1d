//! The workloads, written once against [`System`] and run against lockd and etcd alike.
//! Each returns its figures; every grant a client hears of goes into the run's [`History`]
//! for the safety check.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::procs::own_cpu_time;
use crate::safety::{Grant, History, tenure_end};
use crate::stats::{Percentiles, fairness, ms};
use crate::system::{Attempt, Client, StageTimes, System};

/// How a failed request is retried: on the next node, after a short pause so that a
/// cluster without a leader is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(10);

/// CPU used during a workload, in cores (CPU seconds per wall second).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct CpuUse {
    pub servers_cores: f64,
    pub bench_cores: f64,
}

struct CpuMeter {
    started: Instant,
    servers: Duration,
    bench: Duration,
}

impl CpuMeter {
    fn start<S: System>(system: &S) -> CpuMeter {
        CpuMeter { started: Instant::now(), servers: servers_cpu(system), bench: own_cpu_time() }
    }

    fn stop<S: System>(&self, system: &S) -> CpuUse {
        let wall = self.started.elapsed().as_secs_f64();
        CpuUse {
            servers_cores: servers_cpu(system).saturating_sub(self.servers).as_secs_f64() / wall,
            bench_cores: own_cpu_time().saturating_sub(self.bench).as_secs_f64() / wall,
        }
    }
}

fn servers_cpu<S: System>(system: &S) -> Duration {
    system.servers().iter().filter_map(|s| s.cpu_time()).sum()
}

/// What one client did in an acquire+release loop.
#[derive(Default)]
struct Loop {
    acquire: Vec<Duration>,
    release: Vec<Duration>,
    /// When each grant was acknowledged.
    granted_at: Vec<Instant>,
    failures: u64,
}

/// Acquires and releases `lock` until `stop`, through the client's node, moving to the next
/// node after a failure. Every grant goes into `history`.
async fn cycle<C: Client>(
    mut client: C,
    id: usize,
    lock: String,
    lease: Duration,
    history: Arc<History>,
    stop: watch::Receiver<bool>,
) -> Loop {
    let mut done = Loop::default();
    while !*stop.borrow() {
        let first_sent = Instant::now();
        let token = loop {
            let sent = Instant::now();
            match client.acquire(&lock).await {
                Attempt::Granted { token, .. } => {
                    done.acquire.push(sent.elapsed());
                    break Some(token);
                }
                Attempt::Held | Attempt::Failed(_) => {
                    done.failures += 1;
                    if *stop.borrow() {
                        break None;
                    }
                    client.next_node();
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        };
        let Some(token) = token else { break };
        let acked_at = Instant::now();
        done.granted_at.push(acked_at);
        let release_sent = Instant::now();
        history.record(Grant {
            lock: lock.clone(),
            client: id,
            token,
            acked_at,
            ended_by: tenure_end(release_sent, first_sent, lease),
        });
        for _ in 0..100 {
            let sent = Instant::now();
            match client.release(&lock, token).await {
                Ok(_) => {
                    done.release.push(sent.elapsed());
                    break;
                }
                Err(_) => {
                    done.failures += 1;
                    client.next_node();
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }
    done
}

/// Starts `clients` cycling clients, each on its own lock named `{prefix}-{i}`.
async fn start_cycling<S: System>(
    system: &Arc<S>,
    clients: usize,
    prefix: &str,
    history: &Arc<History>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<Loop>>> {
    let mut made = Vec::with_capacity(clients);
    for i in 0..clients {
        made.push(system.client(i, None).await?);
    }
    Ok(made
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            tokio::spawn(cycle(client, i, format!("{prefix}-{i}"), system.lease(), history.clone(), stop.clone()))
        })
        .collect())
}

pub fn lock_names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}-{i}")).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Uncontended {
    pub clients: usize,
    pub cycles_per_s: f64,
    pub acquire: Percentiles,
    pub release: Percentiles,
    pub failures: u64,
    pub cpu: CpuUse,
}

/// `clients` clients, each acquiring and releasing its own lock, spread over all nodes.
pub async fn uncontended<S: System>(
    system: &Arc<S>,
    clients: usize,
    duration: Duration,
    history: &Arc<History>,
) -> anyhow::Result<Uncontended> {
    let prefix = format!("u{clients}");
    system.prepare(&lock_names(&prefix, clients), 64).await?;
    let (stop_tx, stop) = watch::channel(false);
    let tasks = start_cycling(system, clients, &prefix, history, &stop).await?;
    let cpu = CpuMeter::start(system.as_ref());
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    stop_tx.send_replace(true);
    let mut all = Loop::default();
    for task in tasks {
        let done = task.await?;
        all.acquire.extend(done.acquire);
        all.release.extend(done.release);
        all.granted_at.extend(done.granted_at.into_iter().filter(|at| *at <= started + duration));
        all.failures += done.failures;
    }
    let cpu = cpu.stop(system.as_ref());
    Ok(Uncontended {
        clients,
        cycles_per_s: all.granted_at.len() as f64 / duration.as_secs_f64(),
        acquire: Percentiles::of(&mut all.acquire),
        release: Percentiles::of(&mut all.release),
        failures: all.failures,
        cpu,
    })
}

/// One client whose requests all enter through one node: the leader, or a follower that
/// forwards them (issue 24: a write through a follower within 1.15× of one through the leader).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// "leader" or "follower".
    pub through: String,
    pub cycles_per_s: f64,
    pub acquire: Percentiles,
    pub release: Percentiles,
    pub failures: u64,
    /// Where a write's time went, node by node (systems that report their stages only).
    pub stages: Vec<NodeStages>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeStages {
    /// "leader", "follower (entered)" or "follower".
    pub role: String,
    pub stages: Vec<StageMean>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageMean {
    pub stage: String,
    pub passes: u64,
    pub mean_ms: f64,
}

/// One client cycling on its own lock, first through the leader, then through a follower;
/// each for `duration`, with the stage times the system reports over the same span.
pub async fn entry<S: System>(
    system: &Arc<S>,
    duration: Duration,
    history: &Arc<History>,
) -> anyhow::Result<Vec<Entry>> {
    let nodes = system.servers().len();
    let leader = system.leader().await.ok_or_else(|| anyhow::anyhow!("no agreed leader"))?;
    let mut entries = Vec::new();
    for (through, node) in [("leader", leader), ("follower", (leader + 1) % nodes)] {
        let lock = format!("entry-{through}");
        system.prepare(std::slice::from_ref(&lock), 1).await?;
        let client = system.client_through(node).await?;
        let before = system.stage_times().await;
        let (stop_tx, stop) = watch::channel(false);
        let task = tokio::spawn(cycle(client, node, lock, system.lease(), history.clone(), stop));
        let started = Instant::now();
        tokio::time::sleep(duration).await;
        stop_tx.send_replace(true);
        let mut done = task.await?;
        let after = system.stage_times().await;
        if system.leader().await != Some(leader) {
            eprintln!("  the leader changed during the run: the entry point's role is not what it says");
        }
        let role = |n: usize| match n {
            n if n == leader => "leader",
            n if n == node => "follower (entered)",
            _ => "follower",
        };
        let stages = before
            .iter()
            .zip(&after)
            .enumerate()
            .map(|(n, (before, after))| NodeStages { role: role(n).into(), stages: stage_means(before, after) })
            .collect();
        let cycles = done.granted_at.iter().filter(|at| **at <= started + duration).count();
        entries.push(Entry {
            through: through.into(),
            cycles_per_s: cycles as f64 / duration.as_secs_f64(),
            acquire: Percentiles::of(&mut done.acquire),
            release: Percentiles::of(&mut done.release),
            failures: done.failures,
            stages,
        });
    }
    Ok(entries)
}

/// The mean of each stage passed between two readings of one node.
fn stage_means(before: &StageTimes, after: &StageTimes) -> Vec<StageMean> {
    after
        .iter()
        .filter_map(|(stage, passes, seconds)| {
            let (passes_before, seconds_before) =
                before.iter().find(|(s, _, _)| s == stage).map_or((0, 0.0), |(_, p, s)| (*p, *s));
            let passes = passes.checked_sub(passes_before).filter(|p| *p > 0)?;
            Some(StageMean {
                stage: stage.clone(),
                passes,
                mean_ms: (seconds - seconds_before) * 1000.0 / passes as f64,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Contended {
    pub clients: usize,
    pub grants_per_s: f64,
    pub conflicts_per_s: f64,
    pub hand_offs_per_s: f64,
    /// From a client's first attempt to its grant.
    pub wait: Percentiles,
    /// Jain's index over the clients' grant counts (1 = equal shares).
    pub fairness: f64,
    pub failures: u64,
    pub cpu: CpuUse,
}

/// `clients` clients racing for one lock: each acquires (queueing where the service can),
/// releases at once, and tries again.
pub async fn contended<S: System>(
    system: &Arc<S>,
    clients: usize,
    duration: Duration,
    history: &Arc<History>,
) -> anyhow::Result<Contended> {
    let lock = "contended".to_owned();
    system.prepare(std::slice::from_ref(&lock), 1).await?;
    let mut made = Vec::with_capacity(clients);
    for i in 0..clients {
        made.push(system.client(i, Some(&lock)).await?);
    }
    let conflicts = Arc::new(AtomicU64::new(0));
    let (stop_tx, stop) = watch::channel(false);
    let lease = system.lease();
    let tasks: Vec<_> = made
        .into_iter()
        .enumerate()
        .map(|(id, mut client)| {
            let (lock, history, stop, conflicts) = (lock.clone(), history.clone(), stop.clone(), conflicts.clone());
            tokio::spawn(async move {
                let (mut grants, mut hand_offs, mut failures, mut waits) = (0u64, 0u64, 0u64, Vec::new());
                let mut first_sent = Instant::now();
                while !*stop.borrow() {
                    match client.acquire_or_wait(&lock).await {
                        Attempt::Granted { token, handed_off } => {
                            let acked_at = Instant::now();
                            waits.push(acked_at - first_sent);
                            grants += 1;
                            hand_offs += handed_off as u64;
                            let release_sent = Instant::now();
                            history.record(Grant {
                                lock: lock.clone(),
                                client: id,
                                token,
                                acked_at,
                                ended_by: tenure_end(release_sent, first_sent, lease),
                            });
                            if client.release(&lock, token).await.is_err() {
                                failures += 1;
                            }
                            first_sent = Instant::now();
                        }
                        Attempt::Held => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Attempt::Failed(_) => {
                            failures += 1;
                            tokio::time::sleep(RETRY_PAUSE).await;
                        }
                    }
                }
                (grants, hand_offs, failures, waits)
            })
        })
        .collect();
    let cpu = CpuMeter::start(system.as_ref());
    let conflicts_before = conflicts.load(Ordering::Relaxed);
    tokio::time::sleep(duration).await;
    stop_tx.send_replace(true);
    let conflicts_during = conflicts.load(Ordering::Relaxed) - conflicts_before;
    let cpu = cpu.stop(system.as_ref());
    let (mut per_client, mut hand_offs, mut failures, mut waits) = (Vec::new(), 0, 0, Vec::new());
    for task in tasks {
        // A client still queued when the run stops waits out its hand-off timeout; do not
        // hold the report for it.
        let Ok(done) = tokio::time::timeout(Duration::from_secs(35), task).await else { continue };
        let (grants, handed, failed, waited) = done?;
        per_client.push(grants);
        hand_offs += handed;
        failures += failed;
        waits.extend(waited);
    }
    let seconds = duration.as_secs_f64();
    Ok(Contended {
        clients,
        grants_per_s: per_client.iter().sum::<u64>() as f64 / seconds,
        conflicts_per_s: conflicts_during as f64 / seconds,
        hand_offs_per_s: hand_offs as f64 / seconds,
        wait: Percentiles::of(&mut waits),
        fairness: fairness(&per_client),
        failures,
        cpu,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failover {
    pub clients: usize,
    /// Cycles/s in the two seconds before the kill.
    pub before_per_s: f64,
    /// The longest time without a successful acquire around the kill.
    pub longest_gap_ms: f64,
    /// From the kill to the end of the first 100 ms window at half the rate before it.
    pub back_to_half_ms: f64,
    pub failures: u64,
}

/// Cycling clients on all nodes; the leader is SIGKILLed, then started again afterwards.
pub async fn failover<S: System>(
    system: &mut Arc<S>,
    clients: usize,
    warm: Duration,
    after: Duration,
    history: &Arc<History>,
) -> anyhow::Result<Failover> {
    let prefix = "failover".to_owned();
    system.prepare(&lock_names(&prefix, clients), 64).await?;
    let (stop_tx, stop) = watch::channel(false);
    let tasks = start_cycling(system, clients, &prefix, history, &stop).await?;
    tokio::time::sleep(warm).await;
    let leader = system.leader().await.ok_or_else(|| anyhow::anyhow!("no agreed leader to kill"))?;
    let killed_at = Instant::now();
    Arc::get_mut(system).expect("the workload owns the cluster").servers_mut()[leader].kill();
    // Wall-clock, to line the kill up with the servers' logs.
    let wall = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    eprintln!(
        "  killed the leader, server {} of {}, at unix time {:.3} s",
        leader + 1,
        system.servers().len(),
        wall.as_secs_f64()
    );
    tokio::time::sleep(after).await;
    stop_tx.send_replace(true);
    let mut granted = Vec::new();
    let mut failures = 0;
    for task in tasks {
        let done = task.await?;
        granted.extend(done.granted_at);
        failures += done.failures;
    }
    granted.sort_unstable();
    let window = Duration::from_secs(2).min(warm);
    let before =
        granted.iter().filter(|&&at| at < killed_at && at >= killed_at - window).count() as f64 / window.as_secs_f64();
    // Gaps between consecutive grants from one second before the kill to the end.
    let mut points: Vec<Instant> = vec![killed_at];
    points.extend(granted.iter().copied().filter(|&at| at > killed_at - Duration::from_secs(1)));
    points.sort_unstable();
    let longest_gap = points.windows(2).map(|w| w[1] - w[0]).max().unwrap_or_default();
    let bin = Duration::from_millis(100);
    let mut back_to_half = after;
    let mut start = killed_at;
    while start + bin <= killed_at + after {
        let in_bin = granted.iter().filter(|&&at| at >= start && at < start + bin).count() as f64 / bin.as_secs_f64();
        if in_bin >= before / 2.0 {
            back_to_half = start + bin - killed_at;
            break;
        }
        start += bin;
    }
    let server = &mut Arc::get_mut(system).expect("the workload owns the cluster").servers_mut()[leader];
    server.start()?;
    system.ready().await?;
    Ok(Failover {
        clients,
        before_per_s: before,
        longest_gap_ms: ms(longest_gap),
        back_to_half_ms: ms(back_to_half),
        failures,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOut {
    pub watchers: usize,
    pub events: usize,
    /// Per event, from the acquire's send to the last watcher that saw it.
    pub to_last_watcher: Percentiles,
    /// Every delivery, from the acquire's send.
    pub each_delivery: Percentiles,
    /// Deliveries that never came (watchers × events − received).
    pub missing: u64,
}

/// `watchers` watchers of one lock spread over the nodes; one writer acquires and releases
/// it `events` times, `gap` apart.
pub async fn fan_out<S: System>(
    system: &Arc<S>,
    watchers: usize,
    events: usize,
    gap: Duration,
) -> anyhow::Result<FanOut> {
    let lock = "fanout".to_owned();
    system.prepare(std::slice::from_ref(&lock), 1).await?;
    let (stop_tx, stop) = watch::channel(false);
    let mut tasks = Vec::with_capacity(watchers);
    let mut readies = Vec::with_capacity(watchers);
    for w in 0..watchers {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        readies.push(ready_rx);
        let (system, lock, stop) = (system.clone(), lock.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { system.watch(w, &lock, ready_tx, stop).await }));
    }
    for ready in readies {
        tokio::time::timeout(Duration::from_secs(60), ready)
            .await
            .map_err(|_| anyhow::anyhow!("a watcher did not start in 60 s"))??;
    }
    let mut writer = system.client(watchers + 1_000, None).await?;
    let mut sent = std::collections::HashMap::new();
    for _ in 0..events {
        let at = Instant::now();
        match writer.acquire(&lock).await {
            Attempt::Granted { token, .. } => {
                sent.insert(token, at);
                writer.release(&lock, token).await.map_err(anyhow::Error::msg)?;
            }
            other => anyhow::bail!("the fan-out writer was refused: {other:?}"),
        }
        tokio::time::sleep(gap).await;
    }
    // Deliveries still in flight get a moment to arrive before the watchers stop.
    let settle = Instant::now() + Duration::from_secs(2);
    tokio::time::sleep_until(settle.into()).await;
    stop_tx.send_replace(true);
    let mut last: std::collections::HashMap<u64, Duration> = std::collections::HashMap::new();
    let mut each = Vec::new();
    for task in tasks {
        for (token, at) in task.await?? {
            if let Some(&sent_at) = sent.get(&token) {
                let latency = at.saturating_duration_since(sent_at);
                each.push(latency);
                let worst = last.entry(token).or_default();
                *worst = (*worst).max(latency);
            }
        }
    }
    let missing = (watchers * sent.len()) as u64 - each.len() as u64;
    let mut to_last: Vec<Duration> = last.into_values().collect();
    Ok(FanOut {
        watchers,
        events: sent.len(),
        to_last_watcher: Percentiles::of(&mut to_last),
        each_delivery: Percentiles::of(&mut each),
        missing,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hold {
    pub locks: usize,
    pub rss_before_mib: Vec<f64>,
    pub rss_held_mib: Vec<f64>,
    pub acquire_per_s: f64,
    /// A follower stopped with SIGTERM and started again: until it serves (caught up).
    pub restart_ms: f64,
    /// The latest snapshot built: milliseconds, bytes (lockd only).
    pub snapshot: Option<(f64, u64)>,
}

/// Acquires and holds `locks` locks over 64 clients, reads every server's resident memory,
/// then restarts one follower and times it until it serves again.
pub async fn hold<S: System>(system: &mut Arc<S>, locks: usize, history: &Arc<History>) -> anyhow::Result<Hold> {
    let rss = |system: &S| {
        system.servers().iter().map(|s| s.rss_bytes().unwrap_or(0) as f64 / (1024.0 * 1024.0)).collect::<Vec<_>>()
    };
    let rss_before_mib = rss(system);
    let names = lock_names("held", locks);
    system.prepare(&names, 64).await?;
    let clients = 64.min(locks.max(1));
    let mut made = Vec::with_capacity(clients);
    for i in 0..clients {
        made.push(system.client(i, None).await?);
    }
    let names = Arc::new(names);
    let started = Instant::now();
    let tasks: Vec<_> = made
        .into_iter()
        .enumerate()
        .map(|(id, mut client)| {
            let (names, history) = (names.clone(), history.clone());
            tokio::spawn(async move {
                for lock in names.iter().skip(id).step_by(clients) {
                    let first_sent = Instant::now();
                    loop {
                        match client.acquire(lock).await {
                            Attempt::Granted { token, .. } => {
                                let acked_at = Instant::now();
                                // Held past the end of the run: the lease bounds the tenure.
                                history.record(Grant {
                                    lock: lock.clone(),
                                    client: id,
                                    token,
                                    acked_at,
                                    ended_by: first_sent + Duration::from_secs(3600),
                                });
                                break;
                            }
                            other => {
                                report_retry(&other);
                                client.next_node();
                                tokio::time::sleep(RETRY_PAUSE).await;
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let acquire_per_s = locks as f64 / started.elapsed().as_secs_f64();
    let rss_held_mib = rss(system);
    let snapshot = system.last_snapshot();
    let leader = system.leader().await.unwrap_or(0);
    let follower = (leader + 1) % system.servers().len();
    let cluster = Arc::get_mut(system).expect("the workload owns the cluster");
    cluster.servers_mut()[follower].terminate(Duration::from_secs(20));
    let restarted = Instant::now();
    cluster.servers_mut()[follower].start()?;
    system.ready().await?;
    Ok(Hold { locks, rss_before_mib, rss_held_mib, acquire_per_s, restart_ms: ms(restarted.elapsed()), snapshot })
}

fn report_retry(attempt: &Attempt) {
    if let Attempt::Failed(why) = attempt {
        eprintln!("  (retrying an acquire: {why})");
    }
}
