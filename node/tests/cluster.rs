//! Real `lockd` processes on loopback: the replicated lock core end to end.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Cluster, Tab, appointment};

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{status} {body}");
    }
    (status, body)
}

/// Acquire through a follower, conflict, leader crash, failover with the lock and token
/// intact, monotonic tokens, fenced saves, a crashed node catching up, and a short lease
/// expiring through the log on every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cluster_keeps_locks_and_tokens_across_a_leader_crash() {
    let mut cluster = Cluster::start(3).await;
    let all = [0, 1, 2];
    let leader = cluster.wait_for_leader(&all).await;
    let follower = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let http = cluster.http.clone();

    let alice = Tab::new(cluster.login(follower, "alice", "user").await, "alice-tab");
    let bob = Tab::new(cluster.login(other, "bob", "user").await, "bob-tab");
    let admin = Tab::new(cluster.login(follower, "root", "admin").await, "root-tab");

    // Create through a follower: forwarded to the leader.
    let created = alice.request(&http, Method::POST, cluster.url(follower, "/appointments")).json(&appointment("it-1"));
    let (status, body) = json_of(created.send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["version"], 1);

    // Alice acquires through a follower.
    let acquire = alice.request(&http, Method::POST, cluster.url(follower, "/appointments/it-1/acquire-lock"));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let first_token = body["fencingToken"].as_u64().unwrap();
    assert_eq!(body["lock"]["holder"]["userId"], "alice");
    assert!(body["serverTime"].is_string());

    // Bob, on another node, is told who holds it.
    let acquire = bob.request(&http, Method::POST, cluster.url(other, "/appointments/it-1/acquire-lock"));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "lock_held");
    assert_eq!(body["lock"]["holder"]["name"], "alice name");
    assert_eq!(body["lock"]["fencingToken"], first_token);

    // The leader dies without a word.
    cluster.kill(leader);
    let survivors = [follower, other];
    let new_leader = cluster.wait_for_leader(&survivors).await;
    assert_ne!(new_leader, leader);

    // The lock and its token survived; linearizable reads on both survivors agree.
    for &i in &survivors {
        let status = alice.request(&http, Method::GET, cluster.url(i, "/appointments/it-1/lock-status"));
        let (code, body) = json_of(status.send().await.unwrap()).await;
        assert_eq!(code, 200, "{body}");
        assert_eq!(body["locked"], true);
        assert_eq!(body["lock"]["holder"]["userId"], "alice");
        assert_eq!(body["lock"]["fencingToken"], first_token);
    }

    // Alice keeps editing through the new leader, then lets go; Bob gets a larger token.
    let renew = alice.request(&http, Method::POST, cluster.url(other, "/appointments/it-1/heartbeat"));
    let (status, body) = json_of(renew.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["fencingToken"], first_token);
    let release = alice
        .request(&http, Method::DELETE, cluster.url(follower, "/appointments/it-1/release-lock"))
        .header("x-fencing-token", first_token.to_string());
    assert_eq!(release.send().await.unwrap().status(), 204);
    let acquire = bob.request(&http, Method::POST, cluster.url(other, "/appointments/it-1/acquire-lock"));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let second_token = body["fencingToken"].as_u64().unwrap();
    assert!(second_token > first_token, "{second_token} after {first_token}");

    // Fenced saves: Alice's old token, then Bob at a wrong version, change nothing.
    let mut edit = appointment("it-1");
    edit["title"] = json!("Check-up (moved)");
    edit.as_object_mut().unwrap().remove("id");
    let stale = alice
        .request(&http, Method::PUT, cluster.url(follower, "/appointments/it-1"))
        .header("if-match", "1")
        .header("x-fencing-token", first_token.to_string())
        .json(&edit);
    let (status, body) = json_of(stale.send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("stale_token")), "{body}");
    let wrong_version = bob
        .request(&http, Method::PUT, cluster.url(other, "/appointments/it-1"))
        .header("if-match", "\"7\"")
        .header("x-fencing-token", second_token.to_string())
        .json(&edit);
    let (status, body) = json_of(wrong_version.send().await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("version_conflict")), "{body}");
    assert_eq!(body["current"]["version"], 1);
    let save = bob
        .request(&http, Method::PUT, cluster.url(follower, "/appointments/it-1"))
        .header("if-match", "\"1\"")
        .header("x-fencing-token", second_token.to_string())
        .json(&edit);
    let (status, body) = json_of(save.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(body["title"], "Check-up (moved)");

    // The killed node restarts from its disk and catches up.
    cluster.spawn(leader);
    let url = cluster.url(leader, "/appointments/it-1/lock-status?stale=true");
    cluster
        .eventually(Duration::from_secs(20), "the restarted node applies the new grant", || {
            let request = bob.request(&http, Method::GET, url.clone());
            async move {
                match request.send().await {
                    Ok(r) if r.status() == 200 => {
                        let body: Value = r.json().await.unwrap();
                        body["lock"]["fencingToken"].as_u64() == Some(second_token)
                    }
                    _ => false,
                }
            }
        })
        .await;

    // A short lease lapses through the log, on every node.
    let created = admin.request(&http, Method::POST, cluster.url(other, "/appointments")).json(&appointment("it-2"));
    assert_eq!(created.send().await.unwrap().status(), 201);
    let acquire = admin
        .request(&http, Method::POST, cluster.url(other, "/appointments/it-2/acquire-lock"))
        .json(&json!({ "ttlMs": 1500 }));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let short_token = body["fencingToken"].as_u64().unwrap();
    for i in all {
        let url = cluster.url(i, "/appointments/it-2/lock-status?stale=true");
        cluster
            .eventually(Duration::from_secs(15), "the short lease expires on every node", || {
                let request = admin.request(&http, Method::GET, url.clone());
                async move {
                    let body: Value = request.send().await.unwrap().json().await.unwrap();
                    body["locked"] == false
                }
            })
            .await;
    }
    let audit = admin.request(&http, Method::GET, cluster.url(follower, "/appointments/it-2/audit"));
    let (status, body) = json_of(audit.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let last = body["records"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "expired");
    assert_eq!(last["fromFencingToken"], short_token);
}

/// Bad input gets a problem+json answer with a stable code and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_problem_json_and_changes_nothing() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let node = (leader + 1) % 3;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(node, "alice", "user").await, "alice-tab");
    let created = alice.request(&http, Method::POST, cluster.url(node, "/appointments")).json(&appointment("bad-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);

    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        ("no token", http.post(cluster.url(node, "/appointments/bad-1/acquire-lock")), 401, "unauthenticated"),
        (
            "forged token",
            http.post(cluster.url(node, "/appointments/bad-1/acquire-lock")).bearer_auth("e30.e30.sig"),
            401,
            "unauthenticated",
        ),
        (
            "no session",
            http.post(cluster.url(node, "/appointments/bad-1/acquire-lock")).bearer_auth(&alice.token),
            400,
            "invalid_input",
        ),
        (
            "unknown appointment",
            alice.request(&http, Method::POST, cluster.url(node, "/appointments/nope/acquire-lock")),
            404,
            "not_found",
        ),
        (
            "malformed json",
            alice
                .request(&http, Method::POST, cluster.url(node, "/appointments/bad-1/acquire-lock"))
                .header("content-type", "application/json")
                .body("{\"wait\": tru"),
            400,
            "invalid_input",
        ),
        (
            "unknown field",
            alice
                .request(&http, Method::POST, cluster.url(node, "/appointments/bad-1/acquire-lock"))
                .json(&json!({"wiat": true})),
            400,
            "invalid_input",
        ),
        (
            "ttl out of range",
            alice
                .request(&http, Method::POST, cluster.url(node, "/appointments/bad-1/acquire-lock"))
                .json(&json!({"ttlMs": 1})),
            400,
            "invalid_input",
        ),
        (
            "user takeover",
            alice
                .request(&http, Method::POST, cluster.url(node, "/appointments/bad-1/takeover"))
                .json(&json!({"reason": "x"})),
            403,
            "forbidden",
        ),
        (
            "oversized body",
            alice
                .request(&http, Method::POST, cluster.url(node, "/appointments"))
                .header("content-type", "application/json")
                .body(vec![b' '; 200 * 1024]),
            413,
            "payload_too_large",
        ),
        (
            "update without If-Match",
            alice
                .request(&http, Method::PUT, cluster.url(node, "/appointments/bad-1"))
                .header("x-fencing-token", "1")
                .json(&appointment("bad-1")),
            428,
            "invalid_input",
        ),
        (
            "ends before it starts",
            alice.request(&http, Method::POST, cluster.url(node, "/appointments")).json(&json!({
                "title": "x", "startsAt": "2030-01-01T10:00:00Z", "endsAt": "2030-01-01T09:00:00Z"
            })),
            // Fits the API document, breaks a rule it states in words (ADR 28).
            422,
            "invalid_input",
        ),
    ];
    for (what, request, status, code) in cases {
        let (got_status, body) = json_of(request.send().await.unwrap()).await;
        assert_eq!(got_status, status, "{what}: {body}");
        assert_eq!(body["code"], code, "{what}: {body}");
    }

    // Nothing changed: still free, still version 1, still one appointment.
    let status = alice.request(&http, Method::GET, cluster.url(node, "/appointments/bad-1/lock-status"));
    let (_, body) = json_of(status.send().await.unwrap()).await;
    assert_eq!(body["locked"], false);
    let list = alice.request(&http, Method::GET, cluster.url(leader, "/appointments"));
    let (_, body) = json_of(list.send().await.unwrap()).await;
    let appointments = body["appointments"].as_array().unwrap();
    assert_eq!(appointments.len(), 1, "{body}");
    assert_eq!(appointments[0]["version"], 1);
}

/// A node started without `--peers` joins through `POST /cluster/members` on the leader: it
/// becomes a voter and holds the data written before it joined. Then it leaves through
/// `DELETE /cluster/members/{id}`, and the three others go on serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_joins_as_a_learner_and_is_promoted_to_voter_then_is_removed() {
    let mut cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let http = cluster.http.clone();
    let admin = Tab::new(cluster.login(leader, "root", "admin").await, "root-tab");
    let created = admin.request(&http, Method::POST, cluster.url(leader, "/appointments")).json(&appointment("join-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);

    // Before the new node listens, the leader refuses to add it: it would retry it for ever.
    let joiner_id = cluster.nodes.len() as u64 + 1;
    let not_started = json!({ "nodeId": joiner_id, "raftAddr": "127.0.0.1:1", "httpAddr": "127.0.0.1:2" });
    let early = admin.request(&http, Method::POST, cluster.url(leader, "/cluster/members")).json(&not_started);
    let (status, problem) = json_of(early.send().await.unwrap()).await;
    assert_eq!((status, problem["code"].as_str()), (422, Some("member_unreachable")), "{problem}");

    // A member's own addresses under a new id: refused. Accepted, the leader would replicate
    // to itself as the new node and its Raft core would stop (Schemathesis found it).
    for member in [leader, (leader + 1) % 3] {
        let (raft, http_addr) = (&cluster.nodes[member].raft, &cluster.nodes[member].http);
        let alias = json!({ "nodeId": 99, "raftAddr": raft, "httpAddr": http_addr });
        let by_name = raft.replace("127.0.0.1", "localhost");
        let alias_by_name = json!({ "nodeId": 98, "raftAddr": by_name, "httpAddr": "127.0.0.1:3" });
        let refused = admin.request(&http, Method::POST, cluster.url(leader, "/cluster/members")).json(&alias);
        let (status, problem) = json_of(refused.send().await.unwrap()).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("address_in_use")), "{problem}");
        let refused = admin.request(&http, Method::POST, cluster.url(leader, "/cluster/members")).json(&alias_by_name);
        let (status, problem) = json_of(refused.send().await.unwrap()).await;
        assert_eq!((status, problem["code"].as_str()), (409, Some("address_in_use")), "by name: {problem}");
    }
    assert_eq!(cluster.wait_for_leader(&[0, 1, 2]).await, leader, "nothing changed");

    let joiner = cluster.spawn_joiner();
    let node = &cluster.nodes[joiner];
    assert_eq!(node.id, joiner_id);
    let body = json!({ "nodeId": node.id, "raftAddr": node.raft, "httpAddr": node.http });
    let follower = (leader + 1) % 3;
    let misdirected = admin.request(&http, Method::POST, cluster.url(follower, "/cluster/members")).json(&body);
    let (status, problem) = json_of(misdirected.send().await.unwrap()).await;
    assert_eq!((status, problem["code"].as_str()), (421, Some("not_leader")), "{problem}");
    assert_eq!(problem["leaderHttpAddr"], cluster.nodes[leader].http.as_str());

    let user = Tab::new(cluster.login(leader, "alice", "user").await, "alice-tab");
    let forbidden = user.request(&http, Method::POST, cluster.url(leader, "/cluster/members")).json(&body);
    assert_eq!(forbidden.send().await.unwrap().status(), 403);

    let add = admin.request(&http, Method::POST, cluster.url(leader, "/cluster/members")).json(&body);
    let (status, answer) = json_of(add.send().await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");

    let cluster = &cluster;
    for index in [leader, joiner] {
        cluster
            .eventually(Duration::from_secs(10), "every node sees four voters", || async move {
                let Some(status) = cluster.status(index).await else { return false };
                let members = status["members"].as_array().cloned().unwrap_or_default();
                members.iter().filter(|m| m["voter"] == true).count() == 4
            })
            .await;
    }
    let url = cluster.url(joiner, "/appointments/join-1?stale=true");
    cluster
        .eventually(Duration::from_secs(10), "the joiner holds data written before it joined", || {
            let request = admin.request(&http, Method::GET, url.clone());
            async move { request.send().await.map(|r| r.status() == 200).unwrap_or(false) }
        })
        .await;

    let joiner_id = cluster.nodes[joiner].id;
    let unknown = admin.request(&http, Method::DELETE, cluster.url(leader, "/cluster/members/99"));
    assert_eq!(unknown.send().await.unwrap().status(), 404);
    let misdirected =
        admin.request(&http, Method::DELETE, cluster.url(follower, &format!("/cluster/members/{joiner_id}")));
    assert_eq!(misdirected.send().await.unwrap().status(), 421);
    let forbidden = user.request(&http, Method::DELETE, cluster.url(leader, &format!("/cluster/members/{joiner_id}")));
    assert_eq!(forbidden.send().await.unwrap().status(), 403);
    let remove = admin.request(&http, Method::DELETE, cluster.url(leader, &format!("/cluster/members/{joiner_id}")));
    let (status, answer) = json_of(remove.send().await.unwrap()).await;
    assert_eq!(status, 200, "{answer}");
    for index in [0, 1, 2] {
        cluster
            .eventually(Duration::from_secs(10), "the three founders see only themselves", || async move {
                let Some(status) = cluster.status(index).await else { return false };
                let members = status["members"].as_array().cloned().unwrap_or_default();
                members.len() == 3 && members.iter().all(|m| m["nodeId"] != joiner_id && m["voter"] == true)
            })
            .await;
    }
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let created =
        admin.request(&http, Method::POST, cluster.url(leader, "/appointments")).json(&appointment("after-leave"));
    assert_eq!(created.send().await.unwrap().status(), 201);
}

/// Members named by DNS (`localhost` here, a StatefulSet's pod names in Kubernetes) form a
/// cluster, and a follower forwards writes to the leader by name; a node whose own entry
/// names another address refuses to start, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_named_by_dns_form_a_cluster_and_a_wrong_own_address_is_refused() {
    let cluster = Cluster::start_named(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let status = cluster.status(follower).await.unwrap();
    assert!(
        status["members"].as_array().unwrap().iter().all(|m| m["raftAddr"].as_str().unwrap().starts_with("localhost:")),
        "{status}"
    );
    let alice = Tab::new(cluster.login(follower, "alice", "user").await, "alice-tab");
    let created =
        alice.request(&cluster.http, Method::POST, cluster.url(follower, "/appointments")).json(&appointment("dns-1"));
    assert_eq!(created.send().await.unwrap().status(), 201, "forwarded to the leader by name");
    cluster.wait_applied(&[0, 1, 2], "dns-1", &alice.token).await;

    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lockd"))
        .args(["--node-id", "1", "--http-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0"])
        .args(["--peers", "1=lockd-0.invalid:9081/lockd-0.invalid:8081"])
        .args(["--jwt-secret", "0123456789abcdef", "--cluster-secret", "0123456789abcdef"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--peers lists node 1 at lockd-0.invalid:9081"), "{stderr}");
}

/// A peer RPC without the cluster secret is refused before it reaches Raft.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_rpc_without_the_cluster_secret_is_refused() {
    use lockd_raft::codec::pb;
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let endpoint = format!("http://{}", cluster.nodes[leader].raft);
    let mut client = pb::raft_service_client::RaftServiceClient::connect(endpoint).await.unwrap();

    let vote = pb::Vote { leader_id: Some(pb::LeaderId { term: 1_000, node_id: 9 }), committed: false };
    let unsigned =
        client.vote(pb::VoteRequest { vote: Some(vote), last_log_id: None, leadership_transfer: false }).await;
    assert_eq!(unsigned.unwrap_err().code(), tonic::Code::Unauthenticated);
    // The lean framing of appends, forwarded batches and reads (ADR 32): a wrong secret's
    // connection is refused at its hello.
    let framing = lockd_raft::network::wire::WirePeer::new(
        &cluster.nodes[leader].raft.to_string(),
        std::sync::Arc::new(lockd_raft::network::TcpChannels::default()),
        Some("not-the-secret"),
    );
    let append = pb::AppendEntriesRequest { vote: Some(vote), ..Default::default() };
    let appended = framing
        .call::<_, pb::AppendEntriesResponse>(
            lockd_raft::network::wire::Call::AppendEntries,
            &append,
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(appended.unwrap_err().code(), tonic::Code::Unauthenticated);

    let mut wrong = tonic::Request::new(pb::ForwardRequest { request_id: None, op: None, trace_id: None });
    wrong.metadata_mut().insert("x-lockd-cluster-secret", "not-the-secret".parse().unwrap());
    assert_eq!(client.forward(wrong).await.unwrap_err().code(), tonic::Code::Unauthenticated);
    let batch =
        pb::ForwardBatchRequest { requests: vec![pb::ForwardRequest { request_id: None, op: None, trace_id: None }] };
    assert_eq!(client.forward_batch(batch).await.unwrap_err().code(), tonic::Code::Unauthenticated);

    // The refused vote for term 1000 changed nothing: the leader and its term stand.
    let status = cluster.status(leader).await.unwrap();
    assert_eq!(status["leaderId"], cluster.nodes[leader].id);
    assert!(status["term"].as_u64().unwrap() < 1_000, "{status}");
}

/// A follower that missed more than the log keeps catches up by a snapshot; a node that
/// restarts recovers from its own snapshot plus the log after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_follower_catches_up_by_snapshot_and_restarts_from_its_own() {
    // Rate limits off: this test makes 40 quick lock attempts on purpose.
    let mut cluster =
        Cluster::start_with(3, &["--snapshot-every", "20", "--keep-log-entries", "0", "--rate-limits", "off"]).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let lagging = (leader + 1) % 3;
    let other = (leader + 2) % 3;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(leader, "alice", "user").await, "alice-tab");
    let created = alice.request(&http, Method::POST, cluster.url(leader, "/appointments")).json(&appointment("snap-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);

    let lagging_index = cluster.status(lagging).await.unwrap()["lastLogIndex"].as_u64().unwrap();
    cluster.kill(lagging);
    let mut last_token = 0;
    for _ in 0..40 {
        let acquire = alice.request(&http, Method::POST, cluster.url(other, "/appointments/snap-1/acquire-lock"));
        let (status, body) = json_of(acquire.send().await.unwrap()).await;
        assert_eq!(status, 200, "{body}");
        last_token = body["fencingToken"].as_u64().unwrap();
        let release = alice.request(&http, Method::DELETE, cluster.url(other, "/appointments/snap-1/release-lock"));
        assert_eq!(release.send().await.unwrap().status(), 204);
    }
    let acquire = alice.request(&http, Method::POST, cluster.url(leader, "/appointments/snap-1/acquire-lock"));
    let (_, body) = json_of(acquire.send().await.unwrap()).await;
    let held_token = body["fencingToken"].as_u64().unwrap();
    assert!(held_token > last_token);
    // The leader must have trimmed what the lagging follower lacks, or it would be caught up
    // from the log and this test would prove nothing about snapshot install.
    let trimmed_past_lagging = || {
        let status = cluster.status(leader);
        async move { status.await.is_some_and(|s| s["purgedIndex"].as_u64().is_some_and(|purged| purged > lagging_index)) }
    };
    cluster
        .eventually(Duration::from_secs(10), "the leader trims its log past the lagging follower", trimmed_past_lagging)
        .await;

    cluster.spawn(lagging);
    let url = cluster.url(lagging, "/appointments/snap-1/lock-status?stale=true");
    let caught_up = || {
        let request = alice.request(&http, Method::GET, url.clone());
        async move {
            match request.send().await {
                Ok(r) if r.status() == 200 => {
                    r.json::<Value>().await.unwrap()["lock"]["fencingToken"].as_u64() == Some(held_token)
                }
                _ => false,
            }
        }
    };
    cluster.eventually(Duration::from_secs(20), "the lagging follower installs a snapshot", caught_up).await;
    let status = cluster.status(lagging).await.unwrap();
    assert!(status["snapshotIndex"].as_u64().unwrap_or(0) >= 20, "{status}");

    // Its own snapshot is on its disk: after a crash it comes back with the same state.
    cluster.kill(lagging);
    cluster.spawn(lagging);
    cluster.eventually(Duration::from_secs(20), "the restarted follower recovers", caught_up).await;

    // And the next grant still gets a larger token than any before.
    let release = alice.request(&http, Method::DELETE, cluster.url(lagging, "/appointments/snap-1/release-lock"));
    assert_eq!(release.send().await.unwrap().status(), 204);
    let acquire = alice.request(&http, Method::POST, cluster.url(lagging, "/appointments/snap-1/acquire-lock"));
    let (_, body) = json_of(acquire.send().await.unwrap()).await;
    assert!(body["fencingToken"].as_u64().unwrap() > held_token, "{body}");
}

/// Lock attempts over the per-user limit answer 429 with `Retry-After`, change nothing, and
/// leave other users alone; `--rate-limits off` lifts the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_attempts_over_the_per_user_limit_get_429_and_change_nothing() {
    let cluster = Cluster::start_with(3, &["--lock-attempts-per-sec", "1", "--lock-attempts-burst", "3"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(1, "alice", "user").await, "alice-tab");
    let bob = Tab::new(cluster.login(1, "bob", "user").await, "bob-tab");
    let created = alice.request(&http, Method::POST, cluster.url(0, "/appointments")).json(&appointment("rl-1"));
    assert_eq!(created.send().await.unwrap().status(), 201);

    let acquire =
        |tab: &Tab| tab.request(&http, Method::POST, cluster.url(1, "/appointments/rl-1/acquire-lock")).send();
    let (status, first) = json_of(acquire(&alice).await.unwrap()).await;
    assert_eq!(status, 200, "{first}");
    let mut limited = None;
    for _ in 0..10 {
        let response = acquire(&alice).await.unwrap();
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            let (_, body) = json_of(response).await;
            limited = Some((retry_after, body));
            break;
        }
    }
    let (retry_after, body) = limited.expect("a burst of 3 then 429");
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(body["code"], "rate_limited");
    // Nothing changed: alice still holds the first grant; bob is limited separately.
    let (status, body) = json_of(acquire(&bob).await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("lock_held")), "{body}");
    assert_eq!(body["lock"]["fencingToken"], first["fencingToken"]);

    drop(cluster);
    let unlimited =
        Cluster::start_with(3, &["--rate-limits", "off", "--lock-attempts-per-sec", "1", "--lock-attempts-burst", "1"])
            .await;
    unlimited.wait_for_leader(&[0, 1, 2]).await;
    let carol = Tab::new(unlimited.login(0, "carol", "user").await, "carol-tab");
    let created = carol.request(&http, Method::POST, unlimited.url(0, "/appointments")).json(&appointment("rl-2"));
    assert_eq!(created.send().await.unwrap().status(), 201);
    for _ in 0..10 {
        let response = carol
            .request(&http, Method::POST, unlimited.url(0, "/appointments/rl-2/acquire-lock"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

/// The runbook's backup and restore: a cleanly stopped follower's data directory, copied,
/// brings back a cluster whose every disk was lost — with what was acknowledged before the
/// backup (locks, tokens, appointments) and without what came after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_of_one_stopped_nodes_data_restores_a_cluster_that_lost_every_disk() {
    let mut cluster = Cluster::start_with(3, &["--snapshot-every", "10"]).await;
    let all = [0, 1, 2];
    let leader = cluster.wait_for_leader(&all).await;
    let http = cluster.http.clone();
    let alice = Tab::new(cluster.login(leader, "alice", "user").await, "alice-tab");
    // Enough entries that the backup holds a snapshot and a log after it.
    for i in 0..12 {
        let created = alice
            .request(&http, Method::POST, cluster.url(leader, "/appointments"))
            .json(&appointment(&format!("kept-{i}")));
        assert_eq!(created.send().await.unwrap().status(), 201);
    }
    let acquire = alice.request(&http, Method::POST, cluster.url(leader, "/appointments/kept-0/acquire-lock"));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let token = body["fencingToken"].as_u64().unwrap();

    // Backup: stop a follower cleanly (RocksDB flushed and closed), copy its directory, start it.
    let follower = (leader + 1) % 3;
    cluster.wait_applied(&[follower], "kept-11", &alice.token).await;
    let applied = cluster.status(follower).await.unwrap()["appliedIndex"].as_u64().unwrap();
    assert!(cluster.terminate(follower, Duration::from_secs(10)).is_some(), "a clean stop");
    let backup = tempfile::tempdir().unwrap();
    let archive = backup.path().join("node-data");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(&cluster.nodes[follower].data_dir)
        .arg(&archive)
        .status()
        .unwrap();
    assert!(copied.success());
    cluster.spawn(follower);
    cluster.wait_for_leader(&all).await;
    let after =
        alice.request(&http, Method::POST, cluster.url(leader, "/appointments")).json(&appointment("after-backup"));
    assert_eq!(after.send().await.unwrap().status(), 201);

    // Every disk is lost. Restore: the same copy into every member's data directory.
    for i in all {
        cluster.kill(i);
        std::fs::remove_dir_all(&cluster.nodes[i].data_dir).unwrap();
        let restored =
            std::process::Command::new("cp").arg("-a").arg(&archive).arg(&cluster.nodes[i].data_dir).status().unwrap();
        assert!(restored.success());
    }
    for i in all {
        cluster.spawn(i);
    }
    let leader = cluster.wait_for_leader(&all).await;
    let status = cluster.status(leader).await.unwrap();
    assert!(status["appliedIndex"].as_u64().unwrap() >= applied, "{status}");

    let lock = alice.request(&http, Method::GET, cluster.url(leader, "/appointments/kept-0/lock-status"));
    let (status, body) = json_of(lock.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lock"]["fencingToken"].as_u64(), Some(token), "the lock and its token are back: {body}");
    for i in 0..12 {
        let read = alice.request(&http, Method::GET, cluster.url(leader, &format!("/appointments/kept-{i}")));
        assert_eq!(read.send().await.unwrap().status(), 200, "kept-{i}");
    }
    let lost = alice.request(&http, Method::GET, cluster.url(leader, "/appointments/after-backup"));
    assert_eq!(lost.send().await.unwrap().status(), 404, "what came after the backup is not in it");
    // The restored cluster takes writes, and the next grant's token follows the backup's.
    let bob = Tab::new(cluster.login(leader, "bob", "user").await, "bob-tab");
    let release = alice.request(&http, Method::DELETE, cluster.url(leader, "/appointments/kept-0/release-lock"));
    assert_eq!(release.send().await.unwrap().status(), 204);
    let acquire = bob.request(&http, Method::POST, cluster.url(leader, "/appointments/kept-0/acquire-lock"));
    let (status, body) = json_of(acquire.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["fencingToken"].as_u64().unwrap() > token, "{body}");
}
