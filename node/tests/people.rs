//! The paths people take around a lock, with real `lockd` processes: the same person
//! continuing in a second tab, a lock handed to a waiter who is not looking, a draft thrown
//! away, an appointment cancelled, the admins' recent takeovers, the list's viewer counts.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::ws::{connect, next, next_where};
use support::{Cluster, Tab, appointment};

async fn json_of(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn create(cluster: &Cluster, node: usize, tab: &Tab, id: &str) {
    let request = tab.request(&cluster.http, Method::POST, cluster.url(node, "/appointments")).json(&appointment(id));
    assert_eq!(json_of(request).await.0, 201);
}

async fn acquire(cluster: &Cluster, node: usize, tab: &Tab, id: &str, body: Value) -> (u16, Value) {
    let url = cluster.url(node, &format!("/appointments/{id}/acquire-lock"));
    json_of(tab.request(&cluster.http, Method::POST, url).json(&body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_of_the_holder_continues_here_and_the_first_tab_is_fenced_and_told() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    let alice_token = cluster.login(a, "alice", "user").await;
    let first = Tab::new(alice_token.clone(), "alice-tab-1");
    let second = Tab::new(alice_token.clone(), "alice-tab-2");
    let bob = Tab::new(cluster.login(a, "bob", "user").await, "bob-tab");
    create(&cluster, a, &first, "move-1").await;
    let (status, held) = acquire(&cluster, a, &first, "move-1", json!({})).await;
    assert_eq!(status, 200, "{held}");
    let old_token = held["fencingToken"].as_u64().unwrap();

    let mut first_socket =
        connect(&cluster, b, "/appointments/move-1/updates?sessionId=alice-tab-1", &alice_token).await;
    assert_eq!(next(&mut first_socket, Duration::from_secs(5)).await["type"], "snapshot");

    // Another person cannot "continue here": that is a takeover, for admins.
    let url = |node| cluster.url(node, "/appointments/move-1/continue-here");
    let (status, problem) = json_of(bob.request(&cluster.http, Method::POST, url(b)).json(&json!({}))).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("lock_held")), "{problem}");
    // A stale expectation changes nothing.
    let stale = json!({ "expectedFencingToken": old_token + 5 });
    let (status, problem) = json_of(second.request(&cluster.http, Method::POST, url(b)).json(&stale)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("takeover_conflict")), "{problem}");

    let expected = json!({ "expectedFencingToken": old_token });
    let (status, moved) = json_of(second.request(&cluster.http, Method::POST, url(b)).json(&expected)).await;
    assert_eq!(status, 200, "{moved}");
    let new_token = moved["fencingToken"].as_u64().unwrap();
    assert!(new_token > old_token);
    assert_eq!(moved["lock"]["holder"]["sessionId"], "alice-tab-2");

    // The first tab hears why, on its own socket on another node.
    let told = next_where(&mut first_socket, Duration::from_secs(5), |m| m["type"] == "lock.moved").await;
    assert_eq!(told["previous"]["holder"]["sessionId"], "alice-tab-1");
    assert_eq!(told["lock"]["fencingToken"], new_token);

    // Its late save is fenced off; the tab that continued saves.
    let save = |tab: &Tab, token: u64| {
        tab.request(&cluster.http, Method::PUT, cluster.url(a, "/appointments/move-1"))
            .header("if-match", "1")
            .header("x-fencing-token", token.to_string())
            .json(&appointment("move-1"))
    };
    let (status, problem) = json_of(save(&first, old_token)).await;
    assert_eq!((status, problem["code"].as_str()), (409, Some("stale_token")), "{problem}");
    assert_eq!(json_of(save(&second, new_token)).await.0, 200);

    let admin = Tab::new(cluster.login(a, "root", "admin").await, "root-tab");
    let (_, audit) =
        json_of(admin.request(&cluster.http, Method::GET, cluster.url(a, "/appointments/move-1/audit"))).await;
    let moved_record = audit["records"].as_array().unwrap().iter().find(|r| r["action"] == "moved").cloned();
    let moved_record = moved_record.expect("the move is audited");
    assert_eq!(
        (moved_record["fromFencingToken"].as_u64(), moved_record["fencingToken"].as_u64()),
        (Some(old_token), Some(new_token))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_handed_to_a_waiter_who_does_not_confirm_passes_on_and_a_confirmation_keeps_it() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let node = (leader + 1) % 3;
    let alice = Tab::new(cluster.login(node, "alice", "user").await, "alice-tab");
    let bob = Tab::new(cluster.login(node, "bob", "user").await, "bob-tab");
    let carol = Tab::new(cluster.login(node, "carol", "user").await, "carol-tab");
    create(&cluster, node, &alice, "claim-1").await;
    let (_, held) = acquire(&cluster, node, &alice, "claim-1", json!({})).await;
    // A 2 s lease is its own claim window (the window is 60 s, or the lease if shorter).
    for waiter in [&bob, &carol] {
        let (status, body) = acquire(&cluster, node, waiter, "claim-1", json!({ "wait": true, "ttlMs": 2_000 })).await;
        assert_eq!(status, 202, "{body}");
    }
    let mut socket = connect(&cluster, node, "/appointments/claim-1/updates", &carol.token).await;
    let release = alice
        .request(&cluster.http, Method::DELETE, cluster.url(node, "/appointments/claim-1/release-lock"))
        .header("x-fencing-token", held["fencingToken"].to_string());
    assert_eq!(json_of(release).await.0, 204);

    let handed = next_where(&mut socket, Duration::from_secs(5), |m| m["type"] == "lock.acquired").await;
    assert_eq!(handed["lock"]["holder"]["userId"], "bob");
    assert!(handed["lock"]["claimBy"].is_string(), "a handed-over grant waits for its claim: {handed}");
    // Bob's tab, still believing it waits, renews its place: told of the lock, it does not
    // confirm the claim for him.
    let keep_place = bob
        .request(&cluster.http, Method::POST, cluster.url(node, "/appointments/claim-1/heartbeat"))
        .json(&json!({ "waiting": true }));
    let (status, told) = json_of(keep_place).await;
    assert_eq!(status, 200, "{told}");
    assert_eq!(told["lock"]["claimBy"], handed["lock"]["claimBy"], "{told}");
    // Bob himself says nothing: the lock lapses through the log and goes to Carol.
    let lapsed = next_where(&mut socket, Duration::from_secs(10), |m| m["type"] == "lock.expired").await;
    assert_eq!(lapsed["previous"]["holder"]["userId"], "bob");
    let to_carol = next_where(&mut socket, Duration::from_secs(5), |m| m["type"] == "lock.acquired").await;
    assert_eq!(to_carol["lock"]["holder"]["userId"], "carol");

    // Carol confirms with a heartbeat: the claim is gone, the lease is her own.
    let heartbeat = carol.request(&cluster.http, Method::POST, cluster.url(node, "/appointments/claim-1/heartbeat"));
    let (status, confirmed) = json_of(heartbeat).await;
    assert_eq!(status, 200, "{confirmed}");
    assert_eq!(confirmed["lock"]["claimBy"], Value::Null);
    assert_eq!(confirmed["fencingToken"], to_carol["lock"]["fencingToken"]);

    let admin = Tab::new(cluster.login(node, "root", "admin").await, "root-tab");
    let url = cluster.url(node, "/audit?action=unclaimed&limit=5");
    let (status, recent) = json_of(admin.request(&cluster.http, Method::GET, url)).await;
    assert_eq!(status, 200, "{recent}");
    let records = recent["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{recent}");
    assert_eq!(
        (records[0]["appointmentId"].as_str(), records[0]["from"]["userId"].as_str()),
        (Some("claim-1"), Some("bob"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_are_discarded_appointments_cancelled_and_takeovers_listed_for_admins() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let node = (leader + 1) % 3;
    let alice = Tab::new(cluster.login(node, "alice", "user").await, "alice-tab");
    let admin = Tab::new(cluster.login(node, "root", "admin").await, "root-tab");
    for id in ["keep-1", "keep-2"] {
        create(&cluster, node, &alice, id).await;
    }

    // A draft thrown away is gone; throwing away none answers the same.
    let draft_url = cluster.url(node, "/appointments/keep-1/draft");
    let draft = json!({ "baseVersion": 1, "title": "half-typed", "startsAt": "" });
    assert_eq!(json_of(alice.request(&cluster.http, Method::PUT, draft_url.clone()).json(&draft)).await.0, 204);
    assert_eq!(json_of(alice.request(&cluster.http, Method::GET, draft_url.clone())).await.0, 200);
    for _ in 0..2 {
        assert_eq!(json_of(alice.request(&cluster.http, Method::DELETE, draft_url.clone())).await.0, 204);
    }
    assert_eq!(json_of(alice.request(&cluster.http, Method::GET, draft_url)).await.0, 204);
    let unknown = cluster.url(node, "/appointments/nope/draft");
    assert_eq!(json_of(alice.request(&cluster.http, Method::DELETE, unknown)).await.0, 404);

    // Cancelling is the holder's fenced save; the list shows it, and who saved it.
    let (_, held) = acquire(&cluster, node, &alice, "keep-1", json!({})).await;
    let mut cancelled = appointment("keep-1");
    cancelled["status"] = json!("cancelled");
    let save = |body: &Value, version: &str| {
        alice
            .request(&cluster.http, Method::PUT, cluster.url(node, "/appointments/keep-1"))
            .header("if-match", version)
            .header("x-fencing-token", held["fencingToken"].to_string())
            .json(body)
    };
    let mut bad = appointment("keep-1");
    bad["status"] = json!("postponed");
    let (status, problem) = json_of(save(&bad, "1")).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_input")), "{problem}");
    let (status, saved) = json_of(save(&cancelled, "1")).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!((saved["status"].as_str(), saved["updatedByName"].as_str()), (Some("cancelled"), Some("alice name")));
    let (_, list) = json_of(alice.request(&cluster.http, Method::GET, cluster.url(node, "/appointments"))).await;
    let statuses: Vec<(&str, &str)> = list["appointments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| Some((a["id"].as_str()?, a["status"].as_str()?)))
        .filter(|(id, _)| id.starts_with("keep-"))
        .collect();
    assert_eq!(statuses, vec![("keep-1", "cancelled"), ("keep-2", "scheduled")]);

    // Recent takeovers: newest first, across appointments, for admins only. (Taking a free
    // lock is a plain grant, so Alice holds both first.)
    assert_eq!(acquire(&cluster, node, &alice, "keep-2", json!({})).await.0, 200);
    for id in ["keep-1", "keep-2"] {
        let url = cluster.url(node, &format!("/appointments/{id}/takeover"));
        let body = json!({ "reason": format!("cover {id}") });
        assert_eq!(json_of(admin.request(&cluster.http, Method::POST, url).json(&body)).await.0, 200);
    }
    let recent =
        |tab: &Tab, query: &str| tab.request(&cluster.http, Method::GET, cluster.url(node, &format!("/audit{query}")));
    let (status, body) = json_of(recent(&admin, "?action=taken_over&limit=10")).await;
    assert_eq!(status, 200, "{body}");
    let seen: Vec<(&str, &str)> = body["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["appointmentId"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(seen, vec![("keep-2", "cover keep-2"), ("keep-1", "cover keep-1")]);
    for (tab, query, status, code) in [
        (&alice, "", 403, "forbidden"),
        (&admin, "?action=lunch", 400, "invalid_input"),
        (&admin, "?limit=0", 400, "invalid_input"),
        (&admin, "?limit=257", 400, "invalid_input"),
    ] {
        let (got, problem) = json_of(recent(tab, query)).await;
        assert_eq!((got, problem["code"].as_str()), (status, Some(code)), "{query}: {problem}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_counts_the_tabs_viewing_each_appointment_across_nodes() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
    let alice = Tab::new(cluster.login(a, "alice", "user").await, "alice-tab");
    create(&cluster, a, &alice, "look-1").await;
    cluster.wait_applied(&[a, b], "look-1", &alice.token).await;

    let mut list = connect(&cluster, a, "/updates", &alice.token).await;
    assert_eq!(next(&mut list, Duration::from_secs(5)).await["type"], "snapshot");
    // Two tabs watch on the other node; the list's node learns it from the relay.
    let bob_token = cluster.login(b, "bob", "user").await;
    let mut viewers = Vec::new();
    for session in ["bob-tab-1", "bob-tab-2"] {
        let path = format!("/appointments/look-1/updates?sessionId={session}");
        viewers.push(connect(&cluster, b, &path, &bob_token).await);
    }
    let counted =
        next_where(&mut list, Duration::from_secs(10), |m| m["type"] == "viewers" && m["counts"]["look-1"] == 2);
    counted.await;
    let (_, listed) = json_of(alice.request(&cluster.http, Method::GET, cluster.url(a, "/appointments"))).await;
    let row = listed["appointments"].as_array().unwrap().iter().find(|r| r["id"] == "look-1").cloned().unwrap();
    assert_eq!(row["viewers"], 2);

    drop(viewers);
    let gone = |m: &Value| m["type"] == "viewers" && m["counts"].get("look-1").is_none();
    next_where(&mut list, Duration::from_secs(10), gone).await;
}
