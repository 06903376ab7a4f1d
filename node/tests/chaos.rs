//! Chaos with real processes: clients race for a few appointments through every node while
//! the leader is SIGKILLed and restarted, paused past the election timeout (it wakes up
//! deposed), and cut off from its peers by the fault proxy, and a follower is killed. The
//! history is checked from the outside: fencing tokens of an appointment belong to one
//! tenure each and strictly increase in grant order, no two acknowledged tenures overlap,
//! and no acknowledged grant is lost across kill -9 (a later grant gets a larger token).
//! After each fault the cluster must grant again within a bound. The clients are
//! `lockd-client`s entering through a node drawn at random, retrying through the others.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lockd_bench::safety::{Grant, History, tenure_end};
use lockd_client::types::AppointmentInput;
use lockd_client::{AcquireOptions, Acquired, Client, Released, Routing};
use support::Cluster;
use tokio::sync::watch;

const APPOINTMENTS: [&str; 2] = ["chaos-1", "chaos-2"];
const LEASE_MS: u64 = 4_000;
const CLIENTS: usize = 6;
/// How long a paused or isolated node stays so: well past the election timeout (300–600 ms).
const FAULT_MS: u64 = 1_500;
/// After a fault heals, the cluster must grant again within this.
const RECOVERY_LIMIT: Duration = Duration::from_secs(15);

#[derive(Default)]
struct Tally {
    grants: AtomicU64,
    conflicts: AtomicU64,
    unknown: AtomicU64,
}

/// A small deterministic generator per client: the workload is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A write that got no answer it could trust: every try timed out or found no leader. It
/// may or may not have been applied.
fn outcome_unknown(error: &lockd_client::Error) -> bool {
    matches!(error, lockd_client::Error::Unavailable { .. }) || error.code() == Some("no_leader")
}

async fn client_loop(c: usize, client: Client, stop: watch::Receiver<bool>, grants: Arc<History>, tally: Arc<Tally>) {
    let mut rng = Rng(c as u64 + 1);
    while !*stop.borrow() {
        let appointment = APPOINTMENTS[rng.below(APPOINTMENTS.len())];
        // Each write enters through a node drawn at random, then the next ones on failure,
        // with one idempotency key over its tries (the client's retries).
        client.prefer_node(rng.below(client.nodes()));
        let first_sent = Instant::now();
        let token = match client.acquire(appointment, AcquireOptions::default()).await {
            Ok(Acquired::Granted(granted)) => granted.fencing_token,
            Ok(Acquired::Held(_)) => {
                tally.conflicts.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(rng.below(20) as u64)).await;
                continue;
            }
            Err(error) if outcome_unknown(&error) => {
                tally.unknown.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            other => panic!("acquire answered {other:?}"),
        };
        let acked_at = Instant::now();
        tally.grants.fetch_add(1, Ordering::Relaxed);
        // Work under the lock for a moment, then let go.
        tokio::time::sleep(Duration::from_millis(rng.below(30) as u64)).await;
        let release_sent = Instant::now();
        let ended_by = tenure_end(release_sent, first_sent, Duration::from_millis(LEASE_MS));
        grants.record(Grant { lock: appointment.to_owned(), client: c, token, acked_at, ended_by });
        client.prefer_node(rng.below(client.nodes()));
        match client.release(appointment, token).await {
            // Released, or the lease had already lapsed and someone else holds it now.
            Ok(Released::Released | Released::NotHolder) => {}
            Err(error) if outcome_unknown(&error) => {
                tally.unknown.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) => panic!("release answered {error}"),
        }
    }
}

/// Waits until `more` grants beyond `from` were acknowledged; how long that took.
async fn grants_resume(tally: &Tally, from: u64, more: u64, what: &str) -> Duration {
    let started = Instant::now();
    while tally.grants.load(Ordering::Relaxed) < from + more {
        assert!(started.elapsed() < RECOVERY_LIMIT, "no grants for {RECOVERY_LIMIT:?} after {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// The node index every live node names as leader.
async fn leader(cluster: &Cluster, live: &[usize]) -> usize {
    cluster.wait_for_leader(live).await
}

async fn chaos(size: u64) {
    let args = ["--lock-ttl-ms", &LEASE_MS.to_string(), "--rate-limits", "off", "--disconnect-grace-ms", "0"];
    let (mut cluster, proxy) = Cluster::start_behind_proxy(size, &args).await;
    let all: Vec<usize> = (0..size as usize).collect();
    let ids: Vec<u64> = cluster.nodes.iter().map(|n| n.id).collect();
    leader(&cluster, &all).await;
    let urls: Vec<String> = all.iter().map(|&i| cluster.url(i, "")).collect();
    let admin = Client::builder(urls.clone()).bearer(cluster.login(0, "setup", "admin").await).build().unwrap();
    for id in APPOINTMENTS {
        let appointment = AppointmentInput {
            id: Some(id.into()),
            title: "Chaos".into(),
            starts_at: "2030-01-01T09:00:00Z".into(),
            ends_at: "2030-01-01T09:30:00Z".into(),
            ..AppointmentInput::default()
        };
        admin.create(&appointment).await.unwrap();
    }

    let grants = Arc::new(History::default());
    let tally = Arc::new(Tally::default());
    let (stop_tx, stop) = watch::channel(false);
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let client = Client::builder(urls.clone())
            .bearer(cluster.login(c % all.len(), &format!("client-{c}"), "user").await)
            .session_id(format!("client-{c}-tab"))
            .routing(Routing::Through(0))
            .tries(3)
            .request_timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        clients.push(tokio::spawn(client_loop(c, client, stop.clone(), grants.clone(), tally.clone())));
    }
    grants_resume(&tally, 0, 20, "the start").await;
    let mut recoveries = Vec::new();

    // 1. The leader is killed (kill -9) and comes back from its disk.
    let old = leader(&cluster, &all).await;
    cluster.kill(old);
    let from = tally.grants.load(Ordering::Relaxed);
    recoveries.push(("leader SIGKILL", grants_resume(&tally, from, 5, "killing the leader").await));
    cluster.spawn(old);
    leader(&cluster, &all).await;

    // 2. The leader freezes past the election timeout; the others elect a new one, and the
    //    old one wakes up with stale leadership that it must not act on.
    let old = leader(&cluster, &all).await;
    cluster.pause(old);
    let from = tally.grants.load(Ordering::Relaxed);
    let paused_at = Instant::now();
    recoveries.push(("leader SIGSTOP", grants_resume(&tally, from, 5, "pausing the leader").await));
    tokio::time::sleep(Duration::from_millis(FAULT_MS).saturating_sub(paused_at.elapsed())).await;
    cluster.resume(old);
    let new = leader(&cluster, &all).await;
    assert_ne!(new, old, "a node paused past the election timeout wakes up deposed");

    // 3. The leader is cut off from its peers; clients still reach it over HTTP.
    let old = leader(&cluster, &all).await;
    proxy.isolate(ids[old], &ids);
    let from = tally.grants.load(Ordering::Relaxed);
    let isolated_at = Instant::now();
    recoveries.push(("leader isolated", grants_resume(&tally, from, 5, "isolating the leader").await));
    let elected = leader(&cluster, &others_of(&all, old)).await;
    assert_ne!(elected, old);
    tokio::time::sleep(Duration::from_millis(FAULT_MS).saturating_sub(isolated_at.elapsed())).await;
    proxy.heal();
    leader(&cluster, &all).await;

    // 4. A follower is killed and restarted.
    let current = leader(&cluster, &all).await;
    let follower = (current + 1) % all.len();
    cluster.kill(follower);
    let from = tally.grants.load(Ordering::Relaxed);
    recoveries.push(("follower SIGKILL", grants_resume(&tally, from, 5, "killing a follower").await));
    cluster.spawn(follower);
    leader(&cluster, &all).await;
    let from = tally.grants.load(Ordering::Relaxed);
    grants_resume(&tally, from, 20, "healing everything").await;

    stop_tx.send(true).unwrap();
    for client in clients {
        client.await.unwrap();
    }
    let found = grants.violations();
    assert!(found.is_empty(), "{} safety violations:\n{}", found.len(), found.join("\n"));

    // No acknowledged grant was lost: the next grant of each appointment, once every lease
    // has lapsed, gets a larger token than any acknowledged before.
    let checker = Client::builder(urls).bearer(cluster.login(0, "checker", "user").await).build().unwrap();
    for appointment in APPOINTMENTS {
        let highest = grants.highest_token(appointment).unwrap_or(0);
        let started = Instant::now();
        let token = loop {
            match checker.acquire(appointment, AcquireOptions::default()).await.unwrap() {
                Acquired::Granted(granted) => break granted.fencing_token,
                other => assert!(
                    started.elapsed() < Duration::from_millis(LEASE_MS * 3),
                    "{appointment} never free again: {other:?}"
                ),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert!(token > highest, "{appointment}: token {token} after an acknowledged {highest}");
    }

    println!(
        "chaos, {size} nodes, {CLIENTS} clients: {} grants acknowledged and checked, {} conflicts, {} outcomes unknown; grants again after: {}; violations: 0",
        grants.len(),
        tally.conflicts.load(Ordering::Relaxed),
        tally.unknown.load(Ordering::Relaxed),
        recoveries.iter().map(|(what, took)| format!("{what} {took:.2?}")).collect::<Vec<_>>().join(", ")
    );
}

fn others_of(all: &[usize], excluded: usize) -> Vec<usize> {
    all.iter().copied().filter(|&i| i != excluded).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_keep_mutual_exclusion_through_kills_pauses_and_partitions() {
    chaos(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_keep_mutual_exclusion_through_kills_pauses_and_partitions() {
    chaos(5).await;
}
