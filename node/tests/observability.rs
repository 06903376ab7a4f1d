//! Observability and edges with real `lockd` processes: `/metrics` counts what happened on
//! each node, a request id follows a forwarded write into the leader's log, CORS is
//! same-origin unless origins are configured, and every node serves its OpenAPI document.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use support::{Cluster, Tab, sample};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_each_nodes_work_and_a_request_id_follows_a_forwarded_write() {
    let cluster = Cluster::start_logging(3, &[], "warn,lockd_raft::network=debug,lockd_api::metrics=debug").await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let alice = Tab::new(cluster.login(follower, "alice", "user").await, "alice-tab");
    let bob = Tab::new(cluster.login(follower, "bob", "user").await, "bob-tab");
    let body = json!({ "id": "m-1", "title": "Check-up", "startsAt": "2030-01-01T09:00:00Z", "endsAt": "2030-01-01T09:45:00Z" });
    let created = alice.request(&cluster.http, Method::POST, cluster.url(follower, "/appointments")).json(&body);
    assert_eq!(created.send().await.unwrap().status(), 201);

    // Through the follower, with our own request id.
    let acquire = alice
        .request(&cluster.http, Method::POST, cluster.url(follower, "/appointments/m-1/acquire-lock"))
        .header("x-request-id", "trace-me-42");
    let response = acquire.send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-request-id"], "trace-me-42", "the id is echoed");
    let conflict = bob.request(&cluster.http, Method::POST, cluster.url(follower, "/appointments/m-1/acquire-lock"));
    assert_eq!(conflict.send().await.unwrap().status(), 409);
    let fresh = bob
        .request(&cluster.http, Method::GET, cluster.url(follower, "/appointments/m-1/lock-status"))
        .send()
        .await
        .unwrap();
    let generated = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "a request without an id gets a fresh one: {generated}");

    let on_follower = cluster.metrics(follower).await;
    assert_eq!(sample(&on_follower, "lockd_raft_is_leader"), Some(0.0));
    assert_eq!(sample(&on_follower, "lockd_raft_leader"), Some((leader + 1) as f64));
    assert!(sample(&on_follower, "lockd_writes_forwarded_total").unwrap() >= 3.0, "create, acquire, conflict");
    assert_eq!(sample(&on_follower, "lockd_writes_proposed_total"), Some(0.0));
    assert_eq!(sample(&on_follower, "lockd_lock_conflicts_total"), Some(1.0));
    assert_eq!(sample(&on_follower, "lockd_locks_held"), Some(1.0));
    assert!(on_follower.contains(
        r#"lockd_http_requests_total{method="POST",route="/appointments/{id}/acquire-lock",status="409"} 1"#
    ));
    assert!(on_follower.contains(r#"lockd_problems_total{code="lock_held"} 1"#));
    assert!(on_follower.contains("lockd_http_request_duration_seconds_bucket{"));

    let on_leader = cluster.metrics(leader).await;
    assert_eq!(sample(&on_leader, "lockd_raft_is_leader"), Some(1.0));
    assert!(sample(&on_leader, "lockd_writes_proposed_total").unwrap() >= 3.0);
    let applied = sample(&on_leader, "lockd_raft_applied_index").unwrap();
    assert!(applied >= 3.0 && applied <= sample(&on_leader, "lockd_raft_commit_index").unwrap());
    // Every node counts the grant it applied.
    for node in 0..3 {
        cluster
            .eventually(Duration::from_secs(5), "every node applied the grant", || async {
                sample(&cluster.metrics(node).await, "lockd_lock_grants_total") == Some(1.0)
            })
            .await;
    }

    // The id is in the follower's log for the HTTP request and in the leader's for the
    // forwarded write it proposed.
    let follower_log = cluster.log(follower);
    assert!(follower_log.contains("request_id=trace-me-42"), "follower log:\n{follower_log}");
    let leader_log = cluster.log(leader);
    assert!(leader_log.contains("forwarded{request_id=trace-me-42}"), "leader log:\n{leader_log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_same_origin_unless_origins_are_configured() {
    let cluster = Cluster::start_with(1, &["--cors-origins", "https://app.example.com"]).await;
    cluster.wait_for_leader(&[0]).await;
    let preflight = |origin: &'static str| {
        cluster
            .http
            .request(Method::OPTIONS, cluster.url(0, "/appointments/x/acquire-lock"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization, idempotency-key")
            .send()
    };
    let allowed = preflight("https://app.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://app.example.com");
    let allowed_headers = allowed.headers()["access-control-allow-headers"].to_str().unwrap().to_lowercase();
    assert!(allowed_headers.contains("idempotency-key"), "{allowed_headers}");
    let other = preflight("https://evil.example.com").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());

    // Without the flag: no CORS headers for anyone.
    let plain = Cluster::start(1).await;
    plain.wait_for_leader(&[0]).await;
    let token = plain.login(0, "alice", "user").await;
    let response = plain
        .http
        .get(plain.url(0, "/appointments"))
        .bearer_auth(&token)
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("access-control-allow-origin").is_none());
    let _: Value = response.json().await.unwrap();

    // Every node serves its OpenAPI document.
    let doc: Value = plain.http.get(plain.url(0, "/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/appointments/{id}/takeover"]["post"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_node_promptly_while_peers_stream_presence_to_it() {
    let mut cluster = Cluster::start_logging(3, &[], "info").await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    // Both peers' presence streams to node 0 are open (each starts with a batch).
    cluster
        .eventually(Duration::from_secs(10), "node 0 receives both peers' presence streams", || async {
            sample(&cluster.metrics(0).await, "lockd_presence_batches_received_total").is_some_and(|n| n >= 2.0)
        })
        .await;
    let took = cluster.terminate(0, Duration::from_secs(10)).expect("node 0 exits on SIGTERM");
    println!("node 0 stopped {took:?} after SIGTERM");
    assert!(cluster.log(0).contains("stopped"), "a clean stop is logged");
}
