//! The Rust client (`lockd-client`) against a real 3-node cluster: it routes writes to the
//! leader (no node forwards them), follows the leader when it is killed, keeps a lease alive
//! past its ttl and says when it is lost, and its typed calls read what the nodes answer.

mod support;

use std::time::Duration;

use lockd_client::types::AppointmentInput;
use lockd_client::{AcquireOptions, Acquired, Client, LeaseState, LossReason, Released, Routing};
use support::{Cluster, sample};

const TTL_MS: u64 = 1_500;

fn urls(cluster: &Cluster) -> Vec<String> {
    (0..cluster.nodes.len()).map(|i| cluster.url(i, "")).collect()
}

fn input(id: &str) -> AppointmentInput {
    AppointmentInput {
        id: Some(id.into()),
        title: "Check-up".into(),
        starts_at: "2030-01-01T09:00:00Z".into(),
        ends_at: "2030-01-01T09:45:00Z".into(),
        ..AppointmentInput::default()
    }
}

/// Writes forwarded to the leader, summed over every node.
async fn forwarded(cluster: &Cluster) -> f64 {
    let mut total = 0.0;
    for node in 0..cluster.nodes.len() {
        total += sample(&cluster.metrics(node).await, "lockd_writes_forwarded_total").unwrap_or(0.0);
    }
    total
}

fn granted(acquired: Acquired) -> lockd_client::types::LockGranted {
    match acquired {
        Acquired::Granted(granted) => granted,
        other => panic!("not granted: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_calls_go_to_the_leader_and_follow_it_when_it_dies() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let admin = Client::builder(urls(&cluster))
        .bearer(cluster.login(0, "admin", "admin").await)
        .tries(12)
        .retry_pause(Duration::from_millis(200))
        .build()
        .unwrap();

    // Typed calls: create, read, lock, update under the token, release.
    let created = admin.create(&input("client-1")).await.unwrap();
    assert_eq!((created.id.as_str(), created.version), ("client-1", 1));
    let duplicate = admin.create(&input("client-1")).await.unwrap_err();
    assert_eq!(duplicate.code(), Some("already_exists"), "{duplicate}");
    let lock = granted(admin.acquire("client-1", AcquireOptions::default()).await.unwrap());
    assert_eq!(lock.lock.holder.session_id, admin.session_id());
    let changed = AppointmentInput { title: "Check-up, moved".into(), ..input("client-1") };
    let updated = admin.update("client-1", created.version, lock.fencing_token, &changed).await.unwrap();
    assert_eq!((updated.title.as_str(), updated.version), ("Check-up, moved", 2));
    let stale = admin.update("client-1", updated.version, lock.fencing_token - 1, &changed).await.unwrap_err();
    assert_eq!(stale.code(), Some("stale_token"), "{stale}");
    let listed = admin.list().await.unwrap();
    let row = listed.appointments.iter().find(|a| a.appointment.id == "client-1").unwrap();
    assert_eq!(row.lock.as_ref().map(|l| l.fencing_token), Some(lock.fencing_token));
    assert_eq!(admin.release("client-1", lock.fencing_token).await.unwrap(), Released::Released);
    assert!(!admin.lock_status("client-1").await.unwrap().locked);
    assert!(matches!(admin.get("no-such").await.unwrap_err().code(), Some("not_found")));

    // Leader routing: 20 lock cycles, none forwarded by a follower.
    let before = forwarded(&cluster).await;
    for _ in 0..20 {
        let lock = granted(admin.acquire("client-1", AcquireOptions::default()).await.unwrap());
        admin.release("client-1", lock.fencing_token).await.unwrap();
    }
    assert_eq!(forwarded(&cluster).await - before, 0.0, "the leader-routed client's writes were forwarded");

    // Through a follower: the same writes are forwarded (the metric can tell).
    let follower = (leader + 1) % 3;
    let through = Client::builder(urls(&cluster))
        .bearer(cluster.login(0, "viewer", "user").await)
        .routing(Routing::Through(follower))
        .build()
        .unwrap();
    let before = forwarded(&cluster).await;
    for _ in 0..5 {
        let lock = granted(through.acquire("client-1", AcquireOptions::default()).await.unwrap());
        through.release("client-1", lock.fencing_token).await.unwrap();
    }
    assert!(forwarded(&cluster).await - before >= 10.0, "writes through a follower are forwarded");

    // The leader dies: the next write finds the new leader within the client's tries.
    cluster.kill(leader);
    let lock = granted(admin.acquire("client-1", AcquireOptions::default()).await.unwrap());
    let survivors: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    let new_leader = cluster.wait_for_leader(&survivors).await;
    let status = admin.lock_status("client-1").await.unwrap();
    assert_eq!(status.lock.map(|l| l.fencing_token), Some(lock.fencing_token));
    let seen = admin.cluster_status(new_leader).await.unwrap();
    assert_eq!(seen.leader_id, Some(cluster.nodes[new_leader].id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_lease_outlives_its_ttl_and_a_takeover_is_reported_lost() {
    let cluster = Cluster::start_with(3, &["--lock-ttl-ms", &TTL_MS.to_string()]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let admin = Client::builder(urls(&cluster)).bearer(cluster.login(0, "admin", "admin").await).build().unwrap();
    admin.create(&input("kept")).await.unwrap();
    let worker = Client::builder(urls(&cluster)).bearer(cluster.login(1, "worker", "user").await).build().unwrap();

    let sent_at = tokio::time::Instant::now();
    let lock = granted(worker.acquire("kept", AcquireOptions::default()).await.unwrap());
    assert_eq!(lock.lock.ttl_ms, TTL_MS);
    let mut lease = worker.keep_alive(&lock, sent_at);

    // Three ttls later the lock is still the worker's, under the same token.
    let mut changes = lease.subscribe();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(3 * TTL_MS);
    while tokio::time::timeout_at(deadline, changes.changed()).await.is_ok() {
        assert!(matches!(*changes.borrow(), LeaseState::Held { .. }), "{:?}", *changes.borrow());
    }
    assert!(lease.is_held());
    let status = admin.lock_status("kept").await.unwrap();
    assert_eq!(
        status.lock.map(|l| (l.fencing_token, l.holder.session_id)),
        Some((lock.fencing_token, worker.session_id().into()))
    );

    // An admin takes it: the worker's keep-alive hears it at its next renewal.
    let taken = admin.takeover("kept", "the worker is stuck", Some(lock.fencing_token)).await.unwrap();
    assert!(taken.fencing_token > lock.fencing_token);
    let reason = tokio::time::timeout(Duration::from_millis(TTL_MS), lease.lost()).await;
    assert_eq!(reason.expect("the loss is reported within a ttl"), LossReason::NotHolder);
    assert!(!lease.is_held());
    assert_eq!(lease.release().await.unwrap(), Released::NotHolder, "a lost lease's release changes nothing");
    assert_eq!(admin.lock_status("kept").await.unwrap().lock.map(|l| l.fencing_token), Some(taken.fencing_token));
}
