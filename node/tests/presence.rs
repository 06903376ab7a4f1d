//! Presence, pointers, holder disconnect and hostile frames with real `lockd` processes:
//! tabs on different nodes see each other through the relay; the holder's tab closing
//! releases the lock after the grace period (and a reconnect through another node in time
//! keeps it); floods and bad frames are refused without harm to the node.

mod support;

use std::time::{Duration, Instant};

use futures::SinkExt;
use reqwest::Method;
use serde_json::{Value, json};
use support::ws::{Socket, connect, next, next_where};
use support::{Cluster, Tab};
use tokio_tungstenite::tungstenite::Message;

fn appointment(id: &str) -> Value {
    json!({ "id": id, "title": "Check-up", "startsAt": "2030-01-01T09:00:00Z", "endsAt": "2030-01-01T09:45:00Z" })
}

/// A cluster with appointment `id` created through node 0 and applied on every node.
async fn cluster_with(id: &str, extra_args: &[&str]) -> (Cluster, Tab) {
    let cluster = Cluster::start_with(3, extra_args).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "alice-tab");
    let created = alice.request(&cluster.http, Method::POST, cluster.url(0, "/appointments")).json(&appointment(id));
    assert_eq!(created.send().await.unwrap().status(), 201);
    cluster.wait_applied(&[0, 1, 2], id, &alice.token).await;
    (cluster, alice)
}

async fn watch(cluster: &Cluster, node: usize, id: &str, tab: &Tab) -> Socket {
    let path = format!("/appointments/{id}/updates?sessionId={}", tab.session);
    let mut socket = connect(cluster, node, &path, &tab.token).await;
    assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "snapshot");
    socket
}

fn sessions(presence: &Value) -> Vec<(String, u64)> {
    let mut tabs: Vec<(String, u64)> = presence["viewers"]
        .as_array()
        .expect("viewers")
        .iter()
        .map(|v| (v["sessionId"].as_str().unwrap().to_owned(), v["nodeId"].as_u64().unwrap()))
        .collect();
    tabs.sort();
    tabs
}

async fn presence_with(socket: &mut Socket, expected: &[(&str, u64)]) -> Value {
    let expected: Vec<(String, u64)> = expected.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    next_where(socket, Duration::from_secs(5), |m| m["type"] == "presence" && sessions(m) == expected).await
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_on_different_nodes_see_each_others_presence_and_pointers() {
    let (cluster, alice) = cluster_with("p-1", &[]).await;
    let bob = Tab::new(cluster.login(2, "bob", "user").await, "bob-tab");
    // Node ids are 1-based: alice on node id 1, bob on node id 3.
    let mut alice_socket = watch(&cluster, 0, "p-1", &alice).await;
    let mut bob_socket = watch(&cluster, 2, "p-1", &bob).await;
    presence_with(&mut alice_socket, &[("alice-tab", 1), ("bob-tab", 3)]).await;
    let seen_by_bob = presence_with(&mut bob_socket, &[("alice-tab", 1), ("bob-tab", 3)]).await;
    let alice_entry = seen_by_bob["viewers"].as_array().unwrap().iter().find(|v| v["userId"] == "alice").unwrap().clone();
    assert_eq!(alice_entry["name"], "alice name");
    assert_eq!(alice_entry["role"], "user");

    // Alice's pointer crosses from node 1 to node 3; measure the trip.
    let mut trips = Vec::new();
    for step in 1..=60u32 {
        let x = f64::from(step) / 100.0;
        let sent = Instant::now();
        alice_socket.send(Message::text(json!({ "type": "pointer", "x": x, "y": 0.5 }).to_string())).await.unwrap();
        let seen = next_where(&mut bob_socket, Duration::from_secs(5), |m| {
            m["type"] == "pointer" && m["userId"] == "alice" && (m["x"].as_f64().unwrap_or(-1.0) - x).abs() < 1e-6
        })
        .await;
        trips.push(sent.elapsed());
        assert_eq!(seen["sessionId"], "alice-tab");
        assert_eq!(seen["appointmentId"], "p-1");
        // Faster than the 30 Hz flush, so each move is its own flush.
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    trips.sort();
    println!(
        "pointer relay node 1 -> node 3, {} moves: p50 {:?}, p99 {:?}, max {:?}",
        trips.len(),
        percentile(&trips, 0.5),
        percentile(&trips, 0.99),
        trips[trips.len() - 1]
    );

    // A burst coalesces: bob gets the last position, never a backlog of stale ones.
    for step in 0..20u32 {
        let message = json!({ "type": "pointer", "x": 0.9, "y": f64::from(step) / 100.0 });
        alice_socket.send(Message::text(message.to_string())).await.unwrap();
    }
    let near = |v: &Value, want: f64| v.as_f64().is_some_and(|got| (got - want).abs() < 1e-6);
    let last = next_where(&mut bob_socket, Duration::from_secs(5), |m| m["type"] == "pointer" && near(&m["y"], 0.19)).await;
    assert!(near(&last["x"], 0.9), "{last}");

    // Leaving the form and closing the tab reach the other node too.
    alice_socket.send(Message::text(r#"{"type":"pointerLeave"}"#)).await.unwrap();
    let left = next_where(&mut bob_socket, Duration::from_secs(5), |m| m["type"] == "pointer" && m["userId"] == "alice").await;
    assert!(left["x"].is_null() && left["y"].is_null(), "{left}");
    alice_socket.close(None).await.unwrap();
    presence_with(&mut bob_socket, &[("bob-tab", 3)]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_holders_tab_closing_releases_the_lock_after_the_grace_period() {
    let (cluster, alice) = cluster_with("p-2", &["--disconnect-grace-ms", "1000"]).await;
    let bob = Tab::new(cluster.login(2, "bob", "user").await, "bob-tab");
    let mut bob_socket = watch(&cluster, 2, "p-2", &bob).await;

    let acquire = alice.request(&cluster.http, Method::POST, cluster.url(0, "/appointments/p-2/acquire-lock"));
    let acquired: Value = acquire.send().await.unwrap().json().await.unwrap();
    let token = acquired["fencingToken"].as_u64().expect("granted");

    // The tab drops its socket on node 1 and is back through node 2 well within the grace:
    // the lock stays.
    let alice_socket = watch(&cluster, 0, "p-2", &alice).await;
    presence_with(&mut bob_socket, &[("alice-tab", 1), ("bob-tab", 3)]).await;
    drop(alice_socket);
    let mut alice_socket = watch(&cluster, 1, "p-2", &alice).await;
    presence_with(&mut bob_socket, &[("alice-tab", 2), ("bob-tab", 3)]).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let status: Value = cluster.http.get(cluster.url(2, "/appointments/p-2/lock-status")).bearer_auth(&bob.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["lock"]["fencingToken"], token, "a reconnect within the grace keeps the lock: {status}");

    // Now the tab is gone for good: released as `disconnected`, after the grace.
    let closed_at = Instant::now();
    alice_socket.close(None).await.unwrap();
    let released = next_where(&mut bob_socket, Duration::from_secs(10), |m| m["type"] == "lock.released").await;
    let waited = closed_at.elapsed();
    assert_eq!(released["reason"], "disconnected");
    assert_eq!(released["previous"]["fencingToken"], token);
    assert!(waited >= Duration::from_millis(1_000), "released after {waited:?}, before the grace ended");
    println!("holder's tab closed: lock released after {waited:?} (grace 1000 ms)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_and_bad_frames_are_refused_and_the_node_keeps_what_it_acknowledged() {
    let (cluster, alice) = cluster_with("p-3", &[]).await;
    let acquire = alice.request(&cluster.http, Method::POST, cluster.url(0, "/appointments/p-3/acquire-lock"));
    let acquired: Value = acquire.send().await.unwrap().json().await.unwrap();
    let token = acquired["fencingToken"].as_u64().expect("granted");

    let mallory = Tab::new(cluster.login(1, "mallory", "user").await, "mallory-tab");
    let mut socket = watch(&cluster, 1, "p-3", &mallory).await;
    let bad_frames = [
        r#"{"type":"pointer","x":2,"y":0.5}"#,
        r#"{"type":"pointer","x":0.5,"y":0.5,"userId":"alice"}"#,
        r#"{"type":"pointer","x":"0.5","y":0.5}"#,
        r#"{"type":"takeover"}"#,
        "{",
    ];
    for bad in bad_frames {
        socket.send(Message::text(bad)).await.unwrap();
        let answer = next_where(&mut socket, Duration::from_secs(5), |m| m["type"] == "error").await;
        assert_eq!(answer["code"], "invalid_input", "{bad}");
    }
    // A flood: first told to slow down, then closed with a policy violation.
    let flood = json!({ "type": "pointer", "x": 0.5, "y": 0.5 }).to_string();
    let mut sent = 0;
    for _ in 0..2_000 {
        if socket.send(Message::text(flood.clone())).await.is_err() {
            break;
        }
        sent += 1;
    }
    let mut told = false;
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut socket)).await.expect("an answer") {
            Some(Ok(Message::Text(text))) => told |= text.as_str().contains("rate_limited"),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert!(told, "the flood was not told to slow down");
    assert_eq!(code, Some(1008), "a flood closes with a policy violation (sent {sent})");

    // The node serves on, and the lock acknowledged before the flood is intact.
    let status: Value = cluster.http.get(cluster.url(1, "/appointments/p-3/lock-status")).bearer_auth(&mallory.token).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["lock"]["fencingToken"], token);
    assert_eq!(status["lock"]["holder"]["userId"], "alice");
    let mut again = watch(&cluster, 1, "p-3", &mallory).await;
    again.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_where(&mut again, Duration::from_secs(5), |m| m["type"] == "pong").await["type"], "pong");
}
