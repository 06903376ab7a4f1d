//! Presence, pointers, holder disconnect and hostile frames with real `lockd` processes:
//! tabs on different nodes see each other through the relay; the holder's tab closing
//! releases the lock after the grace period (and a reconnect through another node in time
//! keeps it); floods and bad frames are refused without harm to the node.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::SinkExt;
use reqwest::Method;
use serde_json::{Value, json};
use support::ws::{Socket, connect, next, next_where};
use support::{Cluster, Tab, sample};
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
    let alice_entry =
        seen_by_bob["viewers"].as_array().unwrap().iter().find(|v| v["userId"] == "alice").unwrap().clone();
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
    let last =
        next_where(&mut bob_socket, Duration::from_secs(5), |m| m["type"] == "pointer" && near(&m["y"], 0.19)).await;
    assert!(near(&last["x"], 0.9), "{last}");

    // Leaving the form and closing the tab reach the other node too.
    alice_socket.send(Message::text(r#"{"type":"pointerLeave"}"#)).await.unwrap();
    let left =
        next_where(&mut bob_socket, Duration::from_secs(5), |m| m["type"] == "pointer" && m["userId"] == "alice").await;
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
    let status: Value = cluster
        .http
        .get(cluster.url(2, "/appointments/p-2/lock-status"))
        .bearer_auth(&bob.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
        match tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut socket))
            .await
            .expect("an answer")
        {
            Some(Ok(Message::Text(text))) => told |= text.as_str().contains("rate_limited"),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert!(told, "the flood was not told to slow down");
    assert_eq!(code, Some(1008), "a flood closes with a policy violation (sent {sent})");

    // The node serves on, and the lock acknowledged before the flood is intact.
    let status: Value = cluster
        .http
        .get(cluster.url(1, "/appointments/p-3/lock-status"))
        .bearer_auth(&mallory.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["lock"]["fencingToken"], token);
    assert_eq!(status["lock"]["holder"]["userId"], "alice");
    let mut again = watch(&cluster, 1, "p-3", &mallory).await;
    again.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_where(&mut again, Duration::from_secs(5), |m| m["type"] == "pong").await["type"], "pong");
}

/// The per-user frame limit spans every socket of the user on a node: four tabs, each under
/// its own socket burst, together go over the user's burst and are refused (counted, told),
/// while another user on the same node is not slowed down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_frames_are_limited_across_all_their_sockets_and_not_other_users() {
    const TABS: usize = 4;
    // Under the per-socket burst (80), 280 together: over the per-user burst (240).
    const PINGS_PER_TAB: usize = 70;
    const USER_BURST: usize = 240;
    const USER_PER_SEC: f64 = 120.0;
    let (cluster, _) = cluster_with("p-4", &[]).await;
    let mallory = cluster.login(1, "mallory", "user").await;
    let refused_before = sample(&cluster.metrics(1).await, "lockd_ws_frames_refused_total").unwrap();
    let mut tabs = Vec::new();
    for tab in 0..TABS {
        tabs.push(watch(&cluster, 1, "p-4", &Tab::new(mallory.clone(), &format!("mallory-{tab}"))).await);
    }
    let ping = Message::text(r#"{"type":"ping"}"#);
    let started = Instant::now();
    for _ in 0..PINGS_PER_TAB {
        for socket in &mut tabs {
            socket.send(ping.clone()).await.unwrap();
        }
    }
    let sending = started.elapsed();

    // Every frame is either answered (pong) or refused (counted on the node).
    let pongs = Arc::new(AtomicUsize::new(0));
    let told = Arc::new(AtomicUsize::new(0));
    let readers: Vec<_> = tabs
        .into_iter()
        .map(|mut socket| {
            let (pongs, told) = (pongs.clone(), told.clone());
            tokio::spawn(async move {
                while let Some(Ok(frame)) = futures::StreamExt::next(&mut socket).await {
                    let Message::Text(text) = frame else { continue };
                    let message: Value = serde_json::from_str(text.as_str()).unwrap();
                    match message["type"].as_str() {
                        Some("pong") => pongs.fetch_add(1, Ordering::Relaxed),
                        Some("error") if message["code"] == "rate_limited" => told.fetch_add(1, Ordering::Relaxed),
                        _ => 0,
                    };
                }
            })
        })
        .collect();
    let refused =
        || async { sample(&cluster.metrics(1).await, "lockd_ws_frames_refused_total").unwrap() - refused_before };
    cluster
        .eventually(Duration::from_secs(10), "each frame answered or refused", || async {
            pongs.load(Ordering::Relaxed) + refused().await as usize == TABS * PINGS_PER_TAB
        })
        .await;
    // The node may read the frames well after we wrote them (they wait in socket buffers),
    // so the bucket refills over the node's window, which ends before everything is counted.
    let settled = started.elapsed();
    let refused = refused().await as usize;
    // The first 240 always pass; of the rest, only what refilled until the last was handled.
    let refilled = (USER_PER_SEC * settled.as_secs_f64()).ceil() as usize + 1;
    let at_least = (TABS * PINGS_PER_TAB).saturating_sub(USER_BURST + refilled);
    assert!(
        refused >= at_least && refused <= TABS * PINGS_PER_TAB - USER_BURST,
        "refused {refused}, sent in {sending:?}, all handled within {settled:?}"
    );
    assert_eq!(told.load(Ordering::Relaxed) > 0, refused > 0, "a refused tab is told");
    println!("per-user frame limit: {TABS} tabs × {PINGS_PER_TAB} pings in {sending:?}: {refused} refused");

    // Another user on the same node is not held back by mallory's tabs.
    let bob = Tab::new(cluster.login(1, "bob", "user").await, "bob-tab");
    let mut socket = watch(&cluster, 1, "p-4", &bob).await;
    for _ in 0..PINGS_PER_TAB {
        socket.send(ping.clone()).await.unwrap();
    }
    for _ in 0..PINGS_PER_TAB {
        assert_eq!(next(&mut socket, Duration::from_secs(5)).await["type"], "pong");
    }
    readers.into_iter().for_each(|reader| reader.abort());
}

/// Many viewers on one node move their pointers at 30 Hz; a viewer on another node sees
/// every viewer's last position (the relay coalesces, it never keeps a stale one last).
/// Prints the offered and relayed rates; `RELAY_VIEWERS` and `RELAY_SECONDS` scale it up for
/// a first look at the relay's capacity (docs/benchmarks.md).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointers_of_many_viewers_at_30_hz_cross_nodes_and_the_last_position_arrives() {
    let viewers: usize = std::env::var("RELAY_VIEWERS").ok().and_then(|v| v.parse().ok()).unwrap_or(50);
    let seconds: u64 = std::env::var("RELAY_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let (cluster, _) = cluster_with("p-5", &[]).await;
    let carol = Tab::new(cluster.login(2, "carol", "user").await, "carol-tab");
    let mut watcher = watch(&cluster, 2, "p-5", &carol).await;
    // Each viewer reads what it is sent (every other viewer's pointer), as a browser would:
    // a socket that stops reading is dropped by the node as too slow.
    let fanned_out = Arc::new(AtomicUsize::new(0));
    let mut sockets = Vec::new();
    let mut drains = Vec::new();
    for i in 0..viewers {
        let user = format!("viewer-{i}");
        let tab = Tab::new(cluster.login(0, &user, "user").await, &format!("{user}-tab"));
        let (sink, mut stream) = futures::StreamExt::split(watch(&cluster, 0, "p-5", &tab).await);
        sockets.push(sink);
        let fanned_out = fanned_out.clone();
        drains.push(tokio::spawn(async move {
            while let Some(Ok(_)) = futures::StreamExt::next(&mut stream).await {
                fanned_out.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let before = cluster.metrics(0).await;

    // The watcher's side: pointer messages counted, the last position of each viewer kept.
    let final_y = 1.0;
    let reader = tokio::spawn(async move {
        let mut received = 0u64;
        let mut last: HashMap<String, (f64, f64)> = HashMap::new();
        let started = Instant::now();
        loop {
            let message = next(&mut watcher, Duration::from_secs(10)).await;
            if message["type"] != "pointer" {
                continue;
            }
            let (Some(user), Some(x), Some(y)) =
                (message["userId"].as_str(), message["x"].as_f64(), message["y"].as_f64())
            else {
                continue;
            };
            received += 1;
            last.insert(user.to_owned(), (x, y));
            if last.len() == viewers && last.values().all(|&(_, y)| y == final_y) {
                return (received, started.elapsed(), last);
            }
        }
    });

    let mut ticks = tokio::time::interval(Duration::from_millis(33));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let started = Instant::now();
    let fanned_out_before = fanned_out.load(Ordering::Relaxed);
    let mut sent = 0u64;
    let mut tick = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        ticks.tick().await;
        for (i, socket) in sockets.iter_mut().enumerate() {
            let x = ((tick * 7 + i as u64) % 1000) as f64 / 1000.0;
            socket.send(Message::text(json!({ "type": "pointer", "x": x, "y": 0.5 }).to_string())).await.unwrap();
            sent += 1;
        }
        tick += 1;
    }
    let offered_for = started.elapsed();
    let fanned_out = fanned_out.load(Ordering::Relaxed) - fanned_out_before;
    for (i, socket) in sockets.iter_mut().enumerate() {
        let x = i as f64 / 1000.0;
        socket.send(Message::text(json!({ "type": "pointer", "x": x, "y": final_y }).to_string())).await.unwrap();
    }
    let (received, received_for, last) = reader.await.unwrap();
    for i in 0..viewers {
        // Positions travel between nodes as f32.
        let (x, _) = last[&format!("viewer-{i}")];
        assert!((x - i as f64 / 1000.0).abs() < 1e-6, "viewer-{i} last seen at x = {x}");
    }
    let after = cluster.metrics(0).await;
    let delta = |name: &str| sample(&after, name).unwrap() - sample(&before, name).unwrap();
    let relayed = delta("lockd_presence_viewer_updates_sent_total") / 2.0; // two peers
    let dropped = delta("lockd_presence_batches_dropped_total");
    // Offered moves, plus the final ones and the roster refresh every 5 s: never more.
    let at_most = sent + viewers as u64 * (2 + seconds / 5);
    assert!(relayed > 0.0 && relayed <= at_most as f64, "coalesced, never more than offered: {relayed} > {at_most}");
    println!(
        "pointer relay, {viewers} viewers on node 1 at 30 Hz for {offered_for:?}: offered {:.0}/s; \
         relayed to each peer {:.0}/s; watcher on node 3 received {:.0}/s; batches dropped {dropped}; \
         sent to the viewers on node 1 {:.0}/s",
        sent as f64 / offered_for.as_secs_f64(),
        relayed / offered_for.as_secs_f64(),
        received as f64 / received_for.as_secs_f64(),
        fanned_out as f64 / offered_for.as_secs_f64(),
    );
    drains.into_iter().for_each(|drain| drain.abort());
}
