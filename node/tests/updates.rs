//! WebSocket updates with real `lockd` processes: a lock taken through one node reaches
//! sockets on the others, in log order; sockets authenticate with a subprotocol, refuse bad
//! frames, and close when the token expires.

mod support;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use lockd_api::auth::{Identity, JwtKeys};
use lockd_raft::sm::Role;
use reqwest::Method;
use serde_json::{Value, json};
use support::ws::{Socket, connect, next};
use support::{Cluster, Tab};
use tokio_tungstenite::tungstenite::Message;

/// Messages until one of `kind` arrives; every index seen must not go back.
async fn until(socket: &mut Socket, kind: &str, last_index: &mut u64) -> Value {
    loop {
        let message = next(socket, Duration::from_secs(5)).await;
        // Presence and viewer counts are not from the log and have no index.
        if ["presence", "pointer", "viewers"].contains(&message["type"].as_str().unwrap_or_default()) {
            continue;
        }
        let index = message["index"].as_u64().expect("every message carries its index");
        assert!(index >= *last_index, "index went back from {last_index} to {index}: {message}");
        *last_index = index;
        if message["type"] == kind {
            return message;
        }
    }
}

fn appointment(id: &str) -> Value {
    json!({ "id": id, "title": "Check-up", "startsAt": "2030-01-01T09:00:00Z", "endsAt": "2030-01-01T09:45:00Z" })
}

/// The HTTP status of a WebSocket upgrade on `path` of node `node`.
async fn upgrade_status(cluster: &Cluster, node: usize, path: &str, token: &str) -> u16 {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(support::ws::request(cluster, node, path, token)).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(Error::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("upgrade failed without an answer: {e}"),
    }
}

/// A node cut off from the others has not applied an appointment created through the
/// leader: it must not answer that there is no such appointment (a 404 from its own stale
/// state), only that it cannot tell (503); once it is back, the stream opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_on_a_node_that_has_not_caught_up_never_says_an_acknowledged_appointment_is_missing() {
    let (cluster, proxy) = Cluster::start_behind_proxy(3, &[]).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let behind = (leader + 1) % 3;
    let ids: Vec<u64> = (1..=3).collect();
    proxy.isolate(ids[behind], &ids);
    let alice = Tab::new(cluster.login(leader, "alice", "user").await, "alice-tab");
    let created =
        alice.request(&cluster.http, Method::POST, cluster.url(leader, "/appointments")).json(&appointment("lag-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);
    let stale = alice.request(&cluster.http, Method::GET, cluster.url(behind, "/appointments/lag-1?stale=true"));
    assert_eq!(stale.send().await.unwrap().status(), 404, "the cut-off node has not applied the create");

    let token = cluster.login(leader, "bob", "user").await;
    assert_eq!(upgrade_status(&cluster, behind, "/appointments/lag-1/updates", &token).await, 503);

    proxy.heal();
    let mut socket = connect(&cluster, behind, "/appointments/lag-1/updates", &token).await;
    let snapshot = next(&mut socket, Duration::from_secs(5)).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["appointment"]["id"], "lag-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_taken_through_one_node_reaches_sockets_on_the_others_in_log_order() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "alice-tab");
    let created = alice.request(&http, Method::POST, cluster.url(0, "/appointments")).json(&appointment("ws-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);

    let viewer_token = cluster.login(2, "bob", "user").await;
    // The appointment's stream on node 2 and the list stream on node 1.
    cluster.wait_applied(&[1, 2], "ws-1", &viewer_token).await;
    let mut watcher = connect(&cluster, 2, "/appointments/ws-1/updates", &viewer_token).await;
    let mut list = connect(&cluster, 1, "/updates", &viewer_token).await;
    let snapshot = next(&mut watcher, Duration::from_secs(5)).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["appointment"]["version"], 1);
    assert!(snapshot["lock"].is_null());
    let mut watched_index = snapshot["index"].as_u64().unwrap();
    let list_snapshot = next(&mut list, Duration::from_secs(5)).await;
    assert_eq!(list_snapshot["type"], "snapshot");
    assert!(list_snapshot["appointments"].as_array().unwrap().iter().any(|a| a["id"] == "ws-1"));
    let mut list_index = list_snapshot["index"].as_u64().unwrap();

    // Alice acquires through node 0.
    let started = Instant::now();
    let acquired =
        alice.request(&http, Method::POST, cluster.url(0, "/appointments/ws-1/acquire-lock")).send().await.unwrap();
    assert_eq!(acquired.status(), 200);
    let token = acquired.json::<Value>().await.unwrap()["fencingToken"].as_u64().unwrap();
    let event = until(&mut watcher, "lock.acquired", &mut watched_index).await;
    println!("lock.acquired reached a socket on another node {:?} after the request began", started.elapsed());
    assert_eq!(event["lock"]["holder"]["userId"], "alice");
    assert_eq!(event["lock"]["fencingToken"], token);
    assert_eq!(event["appointmentId"], "ws-1");
    let on_list = until(&mut list, "lock.acquired", &mut list_index).await;
    assert_eq!(on_list["lock"]["fencingToken"], token);

    // A fenced save and the release follow, in order, after the grant.
    let save = alice
        .request(&http, Method::PUT, cluster.url(0, "/appointments/ws-1"))
        .header("if-match", "1")
        .header("x-fencing-token", token.to_string())
        .json(&json!({ "title": "Moved", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T10:45:00Z" }));
    assert_eq!(save.send().await.unwrap().status(), 200);
    let updated = until(&mut watcher, "appointment.updated", &mut watched_index).await;
    assert_eq!(updated["appointment"]["version"], 2);
    assert_eq!(updated["appointment"]["title"], "Moved");
    let release = alice
        .request(&http, Method::DELETE, cluster.url(0, "/appointments/ws-1/release-lock"))
        .header("x-fencing-token", token.to_string());
    assert_eq!(release.send().await.unwrap().status(), 204);
    let released = until(&mut watcher, "lock.released", &mut watched_index).await;
    assert_eq!(released["previous"]["fencingToken"], token);
    assert_eq!(released["reason"], "released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_authenticate_refuse_bad_frames_and_close_when_the_token_expires() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;

    // No token: the upgrade is refused with a problem, not a socket.
    let refused = cluster.http.get(cluster.url(0, "/updates")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.headers()["content-type"], "application/problem+json");

    let token = cluster.login(0, "carol", "user").await;
    let mut socket = connect(&cluster, 0, "/updates", &token).await;
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "snapshot");
    socket.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "pong");
    for bad in [r#"{"type":"ping","x":1}"#, r#"{"type":"launch"}"#, "not json"] {
        socket.send(Message::text(bad)).await.unwrap();
        let answer = next(&mut socket, Duration::from_secs(5)).await;
        assert_eq!(answer["type"], "error", "{bad}");
        assert_eq!(answer["code"], "invalid_input");
    }
    // Still serving after the bad frames.
    socket.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "pong");
    // An oversized frame ends the socket.
    socket.send(Message::text("x".repeat(64 * 1024))).await.ok();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(frame) = socket.next().await {
            if frame.is_err() || matches!(frame, Ok(Message::Close(_))) {
                return;
            }
        }
    });
    ended.await.expect("the oversized frame closed the socket");

    // A token that expires in about a second (the server allows 30 s of leeway).
    let keys = JwtKeys::from_secret(b"integration-test-jwt-secret").accepting_dev_tokens();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let identity =
        Identity { user_id: "dave".into(), name: "Dave".into(), email: "dave@example.com".into(), role: Role::User };
    let short = keys.issue(&identity, now - 120, 120 - 29);
    let mut socket = connect(&cluster, 1, "/updates", &short).await;
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "snapshot");
    // The server's protocol pings come meanwhile (answered by reading); then the close.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let closed = tokio::time::timeout_at(deadline, socket.next()).await.expect("closed in time");
        match closed {
            Some(Ok(Message::Ping(_))) => continue,
            Some(Ok(Message::Close(Some(frame)))) => break assert_eq!(u16::from(frame.code), 4401),
            other => panic!("expected a 4401 close, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_watchers_on_other_nodes_see_every_grant_in_order() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "alice-tab");
    let created = alice.request(&http, Method::POST, cluster.url(0, "/appointments")).json(&appointment("fan-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);
    let viewer = cluster.login(1, "viewer", "user").await;
    cluster.wait_applied(&[1, 2], "fan-1", &viewer).await;
    // A person each: one person's sockets are capped (32 on a node).
    let mut viewers = Vec::new();
    for n in 0..WATCHERS {
        viewers.push(cluster.login(1, &format!("viewer-{n}"), "user").await);
    }

    // 100 sockets, half on node 1 and half on node 2, each read by its own task that stamps
    // when every lock.acquired arrives.
    const WATCHERS: usize = 100;
    const ROUNDS: usize = 20;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let mut readers = Vec::new();
    for (n, viewer) in viewers.iter().enumerate() {
        let mut socket = connect(&cluster, 1 + n % 2, "/appointments/fan-1/updates", viewer).await;
        let snapshot = next(&mut socket, Duration::from_secs(5)).await;
        assert_eq!(snapshot["type"], "snapshot");
        let tx = tx.clone();
        readers.push(tokio::spawn(async move {
            let mut last_index = snapshot["index"].as_u64().unwrap();
            let mut grants = 0;
            while grants < ROUNDS {
                let message = until(&mut socket, "lock.acquired", &mut last_index).await;
                tx.send((message["lock"]["fencingToken"].as_u64().unwrap(), Instant::now())).unwrap();
                grants += 1;
            }
        }));
    }
    drop(tx);

    let mut sent_at = std::collections::BTreeMap::new();
    let mut answered = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        let acquired = alice
            .request(&http, Method::POST, cluster.url(0, "/appointments/fan-1/acquire-lock"))
            .send()
            .await
            .unwrap();
        answered.push(started.elapsed());
        let token = acquired.json::<Value>().await.unwrap()["fencingToken"].as_u64().unwrap();
        sent_at.insert(token, started);
        let release = alice
            .request(&http, Method::DELETE, cluster.url(0, "/appointments/fan-1/release-lock"))
            .header("x-fencing-token", token.to_string());
        assert_eq!(release.send().await.unwrap().status(), 204);
    }
    for reader in readers {
        tokio::time::timeout(Duration::from_secs(20), reader).await.expect("every watcher saw every grant").unwrap();
    }
    let mut delays = Vec::new();
    while let Some((token, seen)) = rx.recv().await {
        delays.push(seen - sent_at[&token]);
    }
    assert_eq!(delays.len(), WATCHERS * ROUNDS);
    delays.sort();
    answered.sort();
    let at = |v: &[Duration], p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    println!(
        "{WATCHERS} watchers on nodes 2 and 3, {ROUNDS} grants through node 1: request start -> lock.acquired on a socket p50 {:?}, p99 {:?}, max {:?}; the acquire's own answer p50 {:?}",
        at(&delays, 0.5),
        at(&delays, 0.99),
        delays[delays.len() - 1],
        at(&answered, 0.5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_falls_behind_gets_a_fresh_snapshot_not_a_gap() {
    // A small event buffer, so falling behind takes seconds, not minutes.
    let cluster = Cluster::start_with(3, &["--event-buffer", "32"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "alice-tab");
    let created = alice.request(&http, Method::POST, cluster.url(0, "/appointments")).json(&appointment("slow-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);
    let acquired =
        alice.request(&http, Method::POST, cluster.url(0, "/appointments/slow-1/acquire-lock")).send().await.unwrap();
    let token = acquired.json::<Value>().await.unwrap()["fencingToken"].as_u64().unwrap();

    // A client with a tiny receive buffer that stops reading after the snapshot.
    let tcp = tokio::net::TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp.connect(cluster.nodes[0].http.parse().unwrap()).await.unwrap();
    let request = support::ws::request(&cluster, 0, "/appointments/slow-1/updates", &alice.token);
    let (mut slow, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream)).await.unwrap();
    let first = next(&mut slow, Duration::from_secs(5)).await;
    assert_eq!(first["type"], "snapshot");
    let mut last_index = first["index"].as_u64().unwrap();

    // Large appointment saves while it does not read: far more bytes than the socket buffers
    // hold and far more events than the node buffers.
    let notes = "n".repeat(4_900);
    let mut version = 1;
    for _ in 0..1_000 {
        let save = alice
            .request(&http, Method::PUT, cluster.url(0, "/appointments/slow-1"))
            .header("if-match", version.to_string())
            .header("x-fencing-token", token.to_string())
            .json(&json!({ "title": "Slow", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T10:45:00Z", "notes": notes }));
        assert_eq!(save.send().await.unwrap().status(), 200);
        version += 1;
    }

    // Reading again: events in order, then a snapshot that jumps ahead, ending at the last
    // version; never an event past a gap.
    let mut snapshots = 0;
    let mut latest_version = 0;
    while latest_version < version {
        let message = next(&mut slow, Duration::from_secs(10)).await;
        match message["type"].as_str().unwrap() {
            "presence" | "pointer" => continue,
            // A fenced save renews the lease too.
            "lock.renewed" => {}
            "snapshot" => {
                snapshots += 1;
                latest_version = message["appointment"]["version"].as_u64().unwrap();
            }
            "appointment.updated" => {
                let v = message["appointment"]["version"].as_u64().unwrap();
                assert_eq!(v, latest_version.max(1) + 1, "an event after a gap: {v} after {latest_version}");
                latest_version = v;
            }
            other => panic!("unexpected {other}"),
        }
        let index = message["index"].as_u64().unwrap();
        assert!(index >= last_index, "index went back");
        last_index = index;
    }
    assert!(snapshots >= 1, "the slow socket never fell behind (buffers too large for the test?)");
    println!("slow socket: {snapshots} fresh snapshot(s), caught up to version {latest_version}");
}
