//! Real `lockd` processes tried as an attacker would. Each test abuses the API one way and
//! checks the answer, that nothing changed that should not have, and that the node serves on.

mod support;

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Cluster, Tab, appointment, ws};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message};

const JWT_SECRET: &[u8] = b"integration-test-jwt-secret";

/// Status and body; every error answer must be problem+json.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(content_type.as_deref(), Some("application/problem+json"), "{status} {body}");
    }
    (status, body)
}

async fn create(cluster: &Cluster, tab: &Tab, id: &str) {
    let (status, body) =
        answer(tab.request(&cluster.http, Method::POST, cluster.url(0, "/appointments")).json(&appointment(id))).await;
    assert_eq!(status, 201, "{body}");
}

/// One raw HTTP/1.1 exchange on a fresh connection: the status line and the body.
async fn raw(cluster: &Cluster, node: usize, request: String) -> (String, String) {
    let mut tcp = TcpStream::connect(&cluster.nodes[node].http).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut bytes)).await.expect("an answer").unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let status_line = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status_line, body)
}

async fn healthy(cluster: &Cluster, node: usize) -> bool {
    let response = cluster.http.get(cluster.url(node, "/healthz")).send().await;
    response.is_ok_and(|r| r.status() == 200)
}

/// An upgrade the node refused: its status and problem body.
async fn refused_socket(cluster: &Cluster, node: usize, path: &str, token: &str) -> (u16, Value) {
    match tokio_tungstenite::connect_async(ws::request(cluster, node, path, token)).await {
        Ok(_) => panic!("the socket on {path} was accepted"),
        Err(tungstenite::Error::Http(response)) => {
            assert_eq!(response.headers()["content-type"], "application/problem+json");
            let body = response.body().as_deref().map(|b| serde_json::from_slice(b).unwrap()).unwrap_or(Value::Null);
            (response.status().as_u16(), body)
        }
        Err(other) => panic!("not an HTTP refusal: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_users_sockets_stop_at_their_cap_and_so_do_a_nodes() {
    let cluster = Cluster::start_with(3, &["--sockets-per-user", "8", "--sockets-max", "20"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let mallory = cluster.login(0, "mallory", "user").await;
    let rss_before = cluster.rss_bytes(0).unwrap();
    let mut mallorys = Vec::new();
    for _ in 0..8 {
        mallorys.push(ws::connect(&cluster, 0, "/updates", &mallory).await);
    }
    // 300 more tries: each refused with a problem that says why, none costing a socket.
    for _ in 0..300 {
        let (status, body) = refused_socket(&cluster, 0, "/updates", &mallory).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("too_many_sockets")), "{body}");
    }
    let rss_growth_mib = cluster.rss_bytes(0).unwrap().saturating_sub(rss_before) / (1 << 20);
    assert!(rss_growth_mib < 32, "8 sockets and 300 refusals grew the node by {rss_growth_mib} MiB");
    // Others still connect, on this node and on the others, until the node's own cap.
    let mut others = Vec::new();
    for user in ["bob", "carol"] {
        let token = cluster.login(0, user, "user").await;
        for _ in 0..6 {
            others.push(ws::connect(&cluster, 0, "/updates", &token).await);
        }
    }
    let dave = cluster.login(0, "dave", "user").await;
    let (status, body) = refused_socket(&cluster, 0, "/updates", &dave).await;
    assert_eq!((status, body["code"].as_str()), (503, Some("too_many_sockets_on_node")), "{body}");
    ws::connect(&cluster, 1, "/updates", &dave).await;
    // A closed socket frees its place.
    mallorys.pop().unwrap().close(None).await.unwrap();
    let started = Instant::now();
    loop {
        match tokio_tungstenite::connect_async(ws::request(&cluster, 0, "/updates", &dave)).await {
            Ok(_) => break,
            Err(_) if started.elapsed() < Duration::from_secs(5) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => panic!("the freed place was not given back: {e}"),
        }
    }
    assert!(healthy(&cluster, 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_reused_for_another_request_is_refused_and_changes_nothing() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-a");
    create(&cluster, &alice, "k-1").await;
    let keyed = |method, node, path: &str| {
        alice.request(&cluster.http, method, cluster.url(node, path)).header("idempotency-key", "key-1")
    };
    let (status, granted) = answer(keyed(Method::POST, 1, "/appointments/k-1/acquire-lock")).await;
    assert_eq!(status, 200, "{granted}");
    let token = granted["fencingToken"].as_u64().unwrap();

    // The same key on a release, a save and a create: refused, nothing done.
    let (status, body) = answer(keyed(Method::DELETE, 2, "/appointments/k-1/release-lock")).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("idempotency_key_reused")), "{body}");
    let save = keyed(Method::PUT, 0, "/appointments/k-1")
        .header("if-match", "1")
        .header("x-fencing-token", token.to_string())
        .json(&json!({ "title": "Changed", "startsAt": "2030-01-01T09:00:00Z", "endsAt": "2030-01-01T10:00:00Z" }));
    let (status, body) = answer(save).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("idempotency_key_reused")), "{body}");
    let (status, body) = answer(keyed(Method::POST, 1, "/appointments").json(&appointment("k-2"))).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("idempotency_key_reused")), "{body}");

    let (_, status_now) =
        answer(alice.request(&cluster.http, Method::GET, cluster.url(2, "/appointments/k-1/lock-status"))).await;
    assert_eq!(status_now["lock"]["fencingToken"], token, "the lock is still held: {status_now}");
    let (_, saved) = answer(alice.request(&cluster.http, Method::GET, cluster.url(0, "/appointments/k-1"))).await;
    assert_eq!((saved["version"].as_u64(), saved["title"].as_str()), (Some(1), Some("Check-up")), "{saved}");
    let (status, _) = answer(alice.request(&cluster.http, Method::GET, cluster.url(0, "/appointments/k-2"))).await;
    assert_eq!(status, 404, "no appointment was created");

    // The true retry still answers what the first attempt answered.
    let (status, again) = answer(keyed(Method::POST, 2, "/appointments/k-1/acquire-lock")).await;
    assert_eq!((status, again["fencingToken"].as_u64()), (200, Some(token)));
    // The node's own keys are out of a client's reach.
    let server_key = format!("lockd/disconnect/k-1/{token}");
    let heartbeat = alice
        .request(&cluster.http, Method::POST, cluster.url(0, "/appointments/k-1/heartbeat"))
        .header("idempotency-key", server_key);
    let (status, body) = answer(heartbeat).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_input")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_cannot_keep_the_disconnect_release_from_applying() {
    let cluster = Cluster::start_with(3, &["--disconnect-grace-ms", "300"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-d");
    create(&cluster, &alice, "d-1").await;
    let mut socket = ws::connect(&cluster, 0, "/appointments/d-1/updates?sessionId=tab-d", &alice.token).await;
    let (_, granted) =
        answer(alice.request(&cluster.http, Method::POST, cluster.url(0, "/appointments/d-1/acquire-lock"))).await;
    let token = granted["fencingToken"].as_u64().unwrap();
    // The key the node used for its own release before it had a namespace of its own.
    let heartbeat = alice
        .request(&cluster.http, Method::POST, cluster.url(0, "/appointments/d-1/heartbeat"))
        .header("idempotency-key", format!("disconnect:d-1:{token}"));
    assert_eq!(answer(heartbeat).await.0, 200);
    socket.close(None).await.unwrap();
    cluster
        .eventually(Duration::from_secs(10), "the disconnected holder's lock is released", || async {
            let status = alice.request(&cluster.http, Method::GET, cluster.url(1, "/appointments/d-1/lock-status"));
            answer(status).await.1["locked"] == false
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_holds_one_place_in_a_queue_however_many_sessions_they_make_up() {
    let cluster = Cluster::start_with(3, &["--rate-limits", "off"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-a");
    create(&cluster, &alice, "q-1").await;
    let (status, _) =
        answer(alice.request(&cluster.http, Method::POST, cluster.url(0, "/appointments/q-1/acquire-lock"))).await;
    assert_eq!(status, 200);
    let mallory = cluster.login(1, "mallory", "user").await;
    for n in 0..64 {
        let tab = Tab::new(mallory.clone(), &format!("made-up-{n}"));
        let wait = tab.request(&cluster.http, Method::POST, cluster.url(n % 3, "/appointments/q-1/acquire-lock"));
        let (status, body) = answer(wait.json(&json!({ "wait": true }))).await;
        assert_eq!((status, body["position"].as_u64()), (202, Some(1)), "session {n}: {body}");
    }
    let carol = Tab::new(cluster.login(2, "carol", "user").await, "tab-c");
    let wait = carol.request(&cluster.http, Method::POST, cluster.url(2, "/appointments/q-1/acquire-lock"));
    let (status, body) = answer(wait.json(&json!({ "wait": true }))).await;
    assert_eq!((status, body["position"].as_u64()), (202, Some(2)), "the next person still gets in line: {body}");
    let (_, lock_status) =
        answer(carol.request(&cluster.http, Method::GET, cluster.url(1, "/appointments/q-1/lock-status"))).await;
    assert_eq!(lock_status["queue"].as_array().unwrap().len(), 2, "{lock_status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_attempt_budget_holds_across_the_cluster() {
    let cluster = Cluster::start_with(3, &["--lock-attempts-per-sec", "1", "--lock-attempts-burst", "6"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-a");
    for n in 0..30 {
        create(&cluster, &alice, &format!("b-{n}")).await;
    }
    let mallory = Tab::new(cluster.login(0, "mallory", "user").await, "tab-m");
    let started = Instant::now();
    let mut allowed = 0;
    for n in 0..30 {
        let acquire = mallory.request(
            &cluster.http,
            Method::POST,
            cluster.url(n % 3, &format!("/appointments/b-{n}/acquire-lock")),
        );
        let (status, body) = answer(acquire).await;
        match status {
            429 => assert_eq!(body["code"], "rate_limited", "{body}"),
            200 => allowed += 1,
            other => panic!("attempt {n}: {other} {body}"),
        }
    }
    // Spread over three nodes, one burst and the steady rate: not three bursts.
    let budget = 6 + started.elapsed().as_secs() + 1;
    assert!(allowed <= budget, "{allowed} attempts went through; the budget was {budget}");
    assert!(allowed >= 6, "the burst itself was refused: {allowed}");
    // Someone else is not held back by it.
    let bob = Tab::new(cluster.login(1, "bob", "user").await, "tab-b");
    let (status, _) =
        answer(bob.request(&cluster.http, Method::POST, cluster.url(2, "/appointments/b-29/acquire-lock"))).await;
    assert!(status == 200 || status == 409, "bob's attempt was limited: {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_are_closed_and_connections_are_capped() {
    let cluster = Cluster::start_with(3, &["--http-header-timeout-ms", "2000", "--http-connections-max", "40"]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    // 40 clients that never finish their request's head.
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut tcp = TcpStream::connect(&cluster.nodes[0].http).await.unwrap();
        tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: lockd\r\nX-Slow: ").await.unwrap();
        slow.push(tcp);
    }
    // The 41st is told at once why it is not served.
    let (status_line, body) = raw(&cluster, 0, "GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n".into()).await;
    assert!(status_line.starts_with("HTTP/1.1 503"), "{status_line}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["code"], "too_many_connections");
    // The slow ones are closed after the header timeout.
    let started = Instant::now();
    for mut tcp in slow {
        let mut buffer = [0u8; 256];
        let read = tokio::time::timeout(Duration::from_secs(8), tcp.read(&mut buffer)).await;
        assert!(matches!(read, Ok(Ok(_) | Err(_))), "a half-sent request was held for 8 s");
    }
    assert!(started.elapsed() < Duration::from_secs(8));
    // Their places are free again, and a kept-alive connection left idle is closed too.
    let mut idle = TcpStream::connect(&cluster.nodes[0].http).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: lockd\r\n\r\n").await.unwrap();
    let mut first = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), idle.read(&mut first)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let closed = tokio::time::timeout(Duration::from_secs(8), idle.read(&mut first)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "an idle kept-alive connection stayed open: {closed:?}");
    assert!(healthy(&cluster, 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_at_the_edges_gets_a_problem_and_changes_nothing() {
    let cluster = Cluster::start(3).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-a");
    let carol = Tab::new(cluster.login(0, "carol", "admin").await, "tab-c");
    create(&cluster, &alice, "e-1").await;
    let post = |tab: &Tab, path: &str| tab.request(&cluster.http, Method::POST, cluster.url(1, path));

    // Invisible, reordering and line-breaking characters in single-line fields.
    for (field, value) in [("title", "\u{202E}gpj.exe"), ("client", "A\u{2066}B"), ("location", "Room\u{2028}1")] {
        let mut body = appointment("e-2");
        body[field] = value.into();
        let (status, problem) = answer(post(&alice, "/appointments").json(&body)).await;
        assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_input")), "{field}: {problem}");
    }
    let login = json!({ "userId": "eve", "name": "Eve\u{200B}", "email": "eve@example.com", "role": "user" });
    let (status, _) = answer(cluster.http.post(cluster.url(0, "/auth/dev-login")).json(&login)).await;
    assert_eq!(status, 400);
    let (_, granted) = answer(post(&alice, "/appointments/e-1/acquire-lock")).await;
    let takeover = json!({ "reason": "ok\u{202E}ko", "expectedFencingToken": granted["fencingToken"] });
    assert_eq!(answer(post(&carol, "/appointments/e-1/takeover").json(&takeover)).await.0, 400);

    // Ids that URL resolution would remove.
    for id in [".", ".."] {
        let (status, _) = answer(post(&alice, "/appointments").json(&appointment(id))).await;
        assert_eq!(status, 400, "id {id:?}");
    }
    let auth = format!("Authorization: Bearer {}\r\nX-Session-Id: tab-a\r\n", alice.token);
    let (status_line, body) =
        raw(&cluster, 0, format!("GET /appointments/%2E%2E HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n"))
            .await;
    assert!(status_line.starts_with("HTTP/1.1 400"), "{status_line} {body}");

    // What the framework refuses is problem+json too.
    let cases = [
        format!("GET /appointments/%FF/lock-status HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n"),
        format!(
            "DELETE /cluster/members/abc HTTP/1.1\r\nHost: l\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            carol.token
        ),
        format!("GET /updates?bogus=1 HTTP/1.1\r\nHost: l\r\n{auth}Connection: close\r\n\r\n"),
    ];
    for request in cases {
        let (status_line, body) = raw(&cluster, 0, request.clone()).await;
        assert!(status_line.starts_with("HTTP/1.1 400"), "{request}: {status_line}");
        let problem: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{request}: not JSON: {body}"));
        assert_eq!(problem["code"], "invalid_input", "{request}");
    }

    // An out-of-range lease is refused before it costs a log entry.
    let applied = |status: Value| status["appliedIndex"].as_u64().unwrap();
    let before = applied(cluster.status(leader).await.unwrap());
    let (status, problem) = answer(post(&carol, "/appointments/e-1/acquire-lock").json(&json!({ "ttlMs": 10 }))).await;
    assert_eq!((status, problem["code"].as_str()), (400, Some("invalid_input")), "{problem}");
    assert_eq!(applied(cluster.status(leader).await.unwrap()), before, "nothing was proposed");

    // A token that is not valid yet.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let alice_identity = lockd_api::auth::Identity {
        user_id: "alice".into(),
        name: "Alice".into(),
        email: "alice@example.com".into(),
        role: lockd_raft::sm::Role::User,
    };
    let keys = lockd_api::auth::JwtKeys::from_secret(JWT_SECRET);
    let early = keys.sign(&lockd_api::auth::Claims {
        nbf: Some(now + 600),
        ..lockd_api::auth::Claims::of(&alice_identity, now, 3_600)
    });
    let (status, problem) = answer(cluster.http.get(cluster.url(0, "/appointments")).bearer_auth(early)).await;
    assert_eq!(status, 401, "{problem}");
    assert!(healthy(&cluster, 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_out_of_dev_mode_has_no_dev_login_and_refuses_dev_tokens() {
    let cluster = Cluster::start_without_dev(3, &[]).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    // Not mounted: the body is never read (malformed JSON is not what it answers).
    let login =
        cluster.http.post(cluster.url(0, "/auth/dev-login")).body("{").header("content-type", "application/json");
    let (status, problem) = answer(login).await;
    assert_eq!((status, problem["code"].as_str()), (404, Some("not_found")), "{problem}");
    // A token a dev node would mint with the same secret.
    let dev_keys = lockd_api::auth::JwtKeys::from_secret(JWT_SECRET).accepting_dev_tokens();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let identity = lockd_api::auth::Identity {
        user_id: "root".into(),
        name: "Root".into(),
        email: "root@example.com".into(),
        role: lockd_raft::sm::Role::Admin,
    };
    let dev_token = dev_keys.issue(&identity, now, 3_600);
    let (status, problem) = answer(cluster.http.get(cluster.url(1, "/appointments")).bearer_auth(&dev_token)).await;
    assert_eq!(status, 401, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("dev"), "{problem}");
    // A token of the organisation's own issuer, with the same secret, is fine.
    let token =
        lockd_api::auth::JwtKeys::from_secret(JWT_SECRET).sign(&lockd_api::auth::Claims::of(&identity, now, 3_600));
    assert_eq!(answer(cluster.http.get(cluster.url(1, "/appointments")).bearer_auth(token)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_socket_is_closed_with_its_policy_code_not_a_reset() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let mallory = Tab::new(cluster.login(0, "mallory", "user").await, "tab-m");
    create(&cluster, &mallory, "f-1").await;
    let mut socket = ws::connect(&cluster, 0, "/appointments/f-1/updates?sessionId=tab-m", &mallory.token).await;
    // One connection that writes and reads in turn, as a browser's does: if the server drops
    // the socket with these frames unread, the kernel answers with a reset, a write fails
    // before the Close frame is read, and the client sees 1006 instead of the code.
    let frame = json!({ "type": "pointer", "x": 0.5, "y": 0.5 }).to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let code = 'flood: loop {
        assert!(Instant::now() < deadline, "the flood was never closed");
        if let Err(e) = socket.send(Message::text(frame.clone())).await {
            panic!("a write failed before the close frame was read: {e}");
        }
        // Whatever has arrived, without waiting.
        while let Ok(next) = tokio::time::timeout(Duration::ZERO, socket.next()).await {
            match next {
                Some(Ok(Message::Close(frame))) => break 'flood frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("the socket ended without its close code: {e}"),
                None => panic!("the socket ended without a close frame"),
            }
        }
    };
    assert_eq!(code, Some(1008));
    assert!(healthy(&cluster, 0).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_that_answers_nothing_is_dropped_within_ten_seconds() {
    let cluster = Cluster::start(3).await;
    cluster.wait_for_leader(&[0, 1, 2]).await;
    let alice = Tab::new(cluster.login(0, "alice", "user").await, "tab-a");
    let bob = Tab::new(cluster.login(0, "bob", "user").await, "tab-b");
    create(&cluster, &alice, "s-1").await;
    let mut watching = ws::connect(&cluster, 0, "/appointments/s-1/updates?sessionId=tab-a", &alice.token).await;
    // Bob's tab loses its network without a close: its socket is open, and never read again
    // (so not even the protocol pings are answered).
    let silent = ws::connect(&cluster, 1, "/appointments/s-1/updates?sessionId=tab-b", &bob.token).await;
    let has_bob = |m: &Value| {
        m["type"] == "presence" && m["viewers"].as_array().is_some_and(|v| v.iter().any(|x| x["userId"] == "bob"))
    };
    ws::next_where(&mut watching, Duration::from_secs(10), has_bob).await;
    let started = Instant::now();
    let gone = |m: &Value| {
        m["type"] == "presence" && m["viewers"].as_array().is_some_and(|v| v.iter().all(|x| x["userId"] != "bob"))
    };
    ws::next_where(&mut watching, Duration::from_secs(20), gone).await;
    let after = started.elapsed();
    assert!(after < Duration::from_secs(14), "the silent tab stayed in the room for {after:?}");
    drop(silent);
}
