//! Deployable on an untrusted network (issue 22), with real processes: HTTPS on the HTTP port
//! with certificates the test makes (rcgen) and rotates under a live connection, and user
//! tokens from a real OpenID Connect provider (npm's `oidc-provider`, run from
//! `web/e2e/idp/server.mjs`) that rotates its signing keys mid-run.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use lockd_raft::codec::pb;
use lockd_raft::network::ChannelFactory;
use lockd_raft::network::tls::{PeerTls, TlsFiles};
use lockd_raft::network::wire::{Call, WirePeer};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Cluster, Tab, appointment, proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and leaf certificates it signs for loopback.
struct Pki {
    ca: rcgen::Certificate,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "lockd test CA");
        let ca = params.self_signed(&ca_key).unwrap();
        Pki { ca, issuer: rcgen::Issuer::new(params, ca_key) }
    }

    /// A leaf for 127.0.0.1 and localhost: (certificate PEM, key PEM).
    fn leaf(&self) -> (String, String) {
        self.leaf_for(&["127.0.0.1", "localhost"])
    }

    /// A leaf naming `names` (IP addresses become IP SANs).
    fn leaf_for(&self, names: &[&str]) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn write_leaf(dir: &Path, (cert, key): &(String, String)) {
    // Key first, then the certificate: a reload between the two writes sees a mismatched
    // pair and keeps the old one (the node must survive that too).
    std::fs::write(dir.join("http.key"), key).unwrap();
    std::fs::write(dir.join("http.crt"), cert).unwrap();
}

/// A TLS connection to `addr` trusting `ca`, and the leaf certificate it was shown.
async fn tls_connect(
    addr: &str,
    ca: &rcgen::Certificate,
) -> (tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Vec<u8>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let leaf = stream.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    (stream, leaf)
}

async fn healthz_on(stream: &mut tokio_rustls::client::TlsStream<tokio::net::TcpStream>) -> String {
    stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n").await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_owned()
}

fn pem_der(pem: &str) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_the_api_and_rotates_its_certificate_without_dropping_a_connection() {
    let pki = Pki::new();
    let files = tempfile::tempdir().unwrap();
    let first = pki.leaf();
    write_leaf(files.path(), &first);
    let cert = files.path().join("http.crt");
    let key = files.path().join("http.key");
    let flags = [
        "--tls-cert-file",
        cert.to_str().unwrap(),
        "--tls-key-file",
        key.to_str().unwrap(),
        "--tls-reload-check-ms",
        "200",
    ];
    let cluster = Cluster::start_https(3, &flags, pki.ca.pem().as_bytes(), true).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;

    // The whole API over HTTPS, through a follower (which forwards to the leader).
    let tab = Tab::new(cluster.login(follower, "alice", "user").await, "alice-tab");
    let created = tab
        .request(&cluster.http, Method::POST, cluster.url(follower, "/appointments"))
        .json(&appointment("tls-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let url = cluster.url(follower, "/appointments/tls-1/acquire-lock");
    let acquired = tab.request(&cluster.http, Method::POST, url).json(&json!({})).send().await.unwrap();
    assert_eq!(acquired.status(), 200);

    // Plain HTTP on the HTTPS port gets no answer.
    let plain = reqwest::Client::new().get(format!("http://{}/healthz", cluster.nodes[follower].http)).send().await;
    assert!(plain.is_err() || plain.unwrap().status() != 200, "plain HTTP must not be served");

    let addr = cluster.nodes[follower].http.clone();
    let (mut before, shown) = tls_connect(&addr, &pki.ca).await;
    assert_eq!(shown, pem_der(&first.0));

    // Rotate: a new key and certificate from the same CA.
    let second = pki.leaf();
    write_leaf(files.path(), &second);
    cluster
        .eventually(Duration::from_secs(10), "new connections get the new certificate", || async {
            tls_connect(&addr, &pki.ca).await.1 == pem_der(&second.0)
        })
        .await;
    assert_eq!(healthz_on(&mut before).await, "HTTP/1.1 200 OK", "the connection opened before lives on");

    // A broken rotation (a certificate without its key) keeps the working pair.
    std::fs::write(files.path().join("http.crt"), pki.leaf().0).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(tls_connect(&addr, &pki.ca).await.1, pem_der(&second.0));
    assert!(cluster.log(follower).contains("old ones stay in use"), "{}", cluster.log(follower));
    let health = cluster.http.get(cluster.url(follower, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// The test identity provider, stopped (by its PID) when dropped.
struct Idp {
    child: Child,
    issuer: String,
}

impl Idp {
    fn start(access_token_ttl_secs: u64) -> Idp {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../web/e2e/idp/server.mjs");
        assert!(
            script.parent().unwrap().join("../../node_modules/oidc-provider").exists(),
            "the test IdP needs web/'s npm packages: run `cd web && npm ci` (deploy/test.sh does)"
        );
        let mut child = Command::new("node")
            .arg(&script)
            .args(["--port", "0", "--access-token-ttl-secs", &access_token_ttl_secs.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs the test IdP");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let ready: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("IdP said {line:?}: {e}"));
        Idp { child, issuer: ready["issuer"].as_str().unwrap().to_owned() }
    }

    /// An access token for `account` (alice, bob, carol) by the client-credentials grant.
    async fn token_for(&self, http: &reqwest::Client, account: &str) -> String {
        let response = http
            .post(format!("{}/token", self.issuer))
            .basic_auth(format!("test-{account}"), Some("test-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
    }

    async fn rotate_keys(&self, http: &reqwest::Client) -> Vec<String> {
        let answer: Value =
            http.post(format!("{}/test/rotate-keys", self.issuer)).send().await.unwrap().json().await.unwrap();
        answer["kids"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["kid"].as_str().unwrap().to_owned()
}

async fn status_of(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_with_https_peer_tls_and_a_real_identity_provider_serves_its_people() {
    let idp = Idp::start(300);
    // Deployed as on an untrusted network: HTTPS, mutual TLS between peers, no dev mode.
    let dir = tempfile::tempdir().unwrap();
    let (peer_ca, https_ca) = (Pki::new(), Pki::new());
    for id in 1..=3 {
        write_peer_leaf(dir.path(), id, &peer_ca);
    }
    std::fs::write(dir.path().join("ca.pem"), peer_ca.ca.pem()).unwrap();
    write_leaf(dir.path(), &https_ca.leaf());
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let flags = [
        "--oidc-issuer",
        &idp.issuer,
        "--oidc-audience",
        "urn:lockd",
        "--oidc-client-id",
        "lockd-web",
        "--oidc-roles-claim",
        "realm_access.roles",
        "--oidc-user-role",
        "lockd-user",
        "--tls-cert-file",
        &at("http.crt"),
        "--tls-key-file",
        &at("http.key"),
        "--peer-tls-cert-file",
        &at("node-{id}.crt"),
        "--peer-tls-key-file",
        &at("node-{id}.key"),
        "--peer-tls-ca-file",
        &at("ca.pem"),
    ];
    let cluster = Cluster::start_on_own_peer_ips(3, &flags, Some(https_ca.ca.pem().as_bytes()), false).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let http = &cluster.http;

    let config: Value = http.get(cluster.url(follower, "/auth/config")).send().await.unwrap().json().await.unwrap();
    assert_eq!(
        config,
        json!({"devLogin": false, "oidc": {"issuer": idp.issuer, "clientId": "lockd-web",
        "scopes": "openid profile email offline_access"}})
    );

    let alice = Tab::new(idp.token_for(http, "alice").await, "alice-tab");
    let bob = Tab::new(idp.token_for(http, "bob").await, "bob-tab");
    let created = alice.request(http, Method::POST, cluster.url(follower, "/appointments")).json(&appointment("idp-1"));
    assert_eq!(status_of(created).await.0, 201);
    let acquire = alice.request(http, Method::POST, cluster.url(follower, "/appointments/idp-1/acquire-lock"));
    let (status, lock) = status_of(acquire.json(&json!({}))).await;
    assert_eq!(status, 200, "{lock}");
    // Bob, on another node, sees who holds it under the name the IdP gave.
    let other = (leader + 2) % 3;
    let (status, seen) =
        status_of(bob.request(http, Method::GET, cluster.url(other, "/appointments/idp-1/lock-status"))).await;
    assert_eq!(status, 200);
    assert_eq!(seen["lock"]["holder"]["name"], "Alice Admin", "{seen}");
    assert_eq!(seen["lock"]["holder"]["userId"], "alice");
    // Alice is an admin by her role: the recent takeovers are hers to read; Bob's are not.
    assert_eq!(status_of(alice.request(http, Method::GET, cluster.url(other, "/audit"))).await.0, 200);
    assert_eq!(status_of(bob.request(http, Method::GET, cluster.url(other, "/audit"))).await.0, 403);
    // Carol is signed in at the IdP but holds no lockd role.
    let carol = Tab::new(idp.token_for(http, "carol").await, "carol-tab");
    let (status, problem) = status_of(carol.request(http, Method::GET, cluster.url(other, "/appointments"))).await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("no_access")), "{problem}");

    // A token with the right issuer and audience signed by a key the IdP never published.
    let stranger = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let claims = json!({"iss": idp.issuer, "aud": "urn:lockd", "sub": "mallory", "exp": now + 300,
        "realm_access": {"roles": ["lockd-admin"]}});
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid_of(&alice.token));
    let forged =
        jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(&stranger.serialize_der()))
            .unwrap();
    let forged = Tab::new(forged, "mallory-tab");
    let (status, problem) = status_of(forged.request(http, Method::GET, cluster.url(other, "/appointments"))).await;
    assert_eq!((status, problem["code"].as_str()), (401, Some("unauthenticated")), "{problem}");
    // The shared secret's dev tokens are not IdP tokens, and this node is not in dev mode.
    let (status, _) = status_of(http.post(cluster.url(other, "/auth/dev-login")).json(&json!({}))).await;
    assert_eq!(status, 404);

    // The IdP rotates its signing key: tokens under the new key are accepted once the node
    // has fetched the new key set (an unknown kid fetches it, at most every few seconds).
    let kids = idp.rotate_keys(http).await;
    let rotated = Tab::new(idp.token_for(http, "bob").await, "bob-tab-2");
    assert_eq!(kid_of(&rotated.token), kids[0]);
    assert_ne!(kid_of(&rotated.token), kid_of(&alice.token));
    cluster
        .eventually(Duration::from_secs(15), "a token under the rotated key is accepted", || async {
            let (status, _) = status_of(rotated.request(http, Method::GET, cluster.url(other, "/appointments"))).await;
            assert!(status == 200 || status == 401, "only 401 while the new key is not known, got {status}");
            status == 200
        })
        .await;
    // The old key is still published: Alice's token still works, on every node.
    for node in 0..3 {
        let (status, _) = status_of(alice.request(http, Method::GET, cluster.url(node, "/appointments"))).await;
        assert_eq!(status, 200, "node {node}");
    }

    // The IdP goes away: the nodes keep the keys they have.
    drop(idp);
    let heartbeat = alice.request(http, Method::POST, cluster.url(follower, "/appointments/idp-1/heartbeat"));
    assert_eq!(status_of(heartbeat.json(&json!({}))).await.0, 200);
}

/// Writes node `id`'s peer certificate (naming its own peer IP) into `dir`.
fn write_peer_leaf(dir: &Path, id: u64, pki: &Pki) {
    let (cert, key) = pki.leaf_for(&[&proxy::node_ip(id).to_string()]);
    std::fs::write(dir.join(format!("node-{id}.key")), key).unwrap();
    std::fs::write(dir.join(format!("node-{id}.crt")), cert).unwrap();
}

/// A Raft client to `raft_addr` presenting `cert`/`key` and trusting `ca` (PEM files).
fn peer_client(
    raft_addr: &str,
    files: TlsFiles,
) -> pb::raft_service_client::RaftServiceClient<tonic::transport::Channel> {
    let tls = PeerTls::new(&files).unwrap();
    let channels = lockd_raft::network::TlsChannels { local_ip: None, config: tls.client };
    pb::raft_service_client::RaftServiceClient::new(channels.channel(raft_addr))
}

/// A client of the lean framing (appends, forwarded batches, reads) to `raft_addr`, with
/// the certificate and CA of `files`.
fn framing_client(raft_addr: &str, files: &TlsFiles) -> WirePeer {
    let tls = PeerTls::new(files).unwrap();
    WirePeer::new(raft_addr, Arc::new(lockd_raft::network::TlsChannels { local_ip: None, config: tls.client }), None)
}

/// A vote that claims to come from node `claimed` at term 0: harmless if it ever got through
/// (every node is past term 0), refused before that if the certificate does not fit.
fn vote_from(claimed: u64) -> pb::VoteRequest {
    pb::VoteRequest {
        vote: Some(pb::Vote { leader_id: Some(pb::LeaderId { term: 0, node_id: claimed }), committed: false }),
        last_log_id: None,
        leadership_transfer: false,
    }
}

/// The server certificate `raft_addr` shows a client of `files`, or the handshake's error.
async fn peer_handshake(raft_addr: &str, files: &TlsFiles) -> Result<Vec<u8>, String> {
    let config = PeerTls::new(files).unwrap().client.current();
    let tcp = tokio::net::TcpStream::connect(raft_addr).await.map_err(|e| e.to_string())?;
    let name =
        rustls::pki_types::ServerName::try_from(lockd_raft::network::tls::host_of(raft_addr).to_owned()).unwrap();
    let mut stream = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| e.to_string())?;
    // TLS 1.3: the server judges the client's certificate after the client's handshake ends;
    // a refusal arrives as an alert on the first read.
    stream.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => Ok(stream.get_ref().1.peer_certificates().unwrap()[0].to_vec()),
        Ok(Ok(_)) => Err("closed".into()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_with_mutual_tls_refuse_strangers_and_rotate_peer_and_https_certificates_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, new_ca) = (Pki::new(), Pki::new());
    for id in 1..=3 {
        write_peer_leaf(dir.path(), id, &old_ca);
    }
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, old_ca.ca.pem()).unwrap();
    // HTTPS too, from a CA of its own; its certificates rotate during the run as well.
    let https_ca = Pki::new();
    let https_dir = tempfile::tempdir().unwrap();
    write_leaf(https_dir.path(), &https_ca.leaf());
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let (cert, key, ca) = (at("node-{id}.crt"), at("node-{id}.key"), at("ca.pem"));
    let https_at = |name: &str| https_dir.path().join(name).to_str().unwrap().to_owned();
    let (https_cert, https_key) = (https_at("http.crt"), https_at("http.key"));
    let flags = [
        "--peer-tls-cert-file",
        &cert,
        "--peer-tls-key-file",
        &key,
        "--peer-tls-ca-file",
        &ca,
        "--tls-cert-file",
        &https_cert,
        "--tls-key-file",
        &https_key,
        "--tls-reload-check-ms",
        "200",
        "--rate-limits",
        "off",
    ];
    let mut cluster = Cluster::start_on_own_peer_ips(3, &flags, Some(https_ca.ca.pem().as_bytes()), true).await;
    let leader = cluster.wait_for_leader(&[0, 1, 2]).await;
    let follower = (leader + 1) % 3;
    let term = cluster.status(leader).await.unwrap()["term"].as_u64().unwrap();

    // Writes through a follower: forwarded to the leader, replicated, over mutual TLS.
    let tab = Tab::new(cluster.login(follower, "alice", "user").await, "alice-tab");
    let created = tab.request(&cluster.http, Method::POST, cluster.url(follower, "/appointments"));
    assert_eq!(status_of(created.json(&appointment("peer-tls-1"))).await.0, 201);

    // Strangers on the peer port of the leader.
    let target = cluster.nodes[leader].raft.clone();
    let files_of = |id: u64, ca: &Path| TlsFiles {
        cert: dir.path().join(format!("node-{id}.crt")),
        key: dir.path().join(format!("node-{id}.key")),
        ca: Some(ca.to_path_buf()),
    };
    // A certificate of another CA: the handshake fails.
    let stranger_dir = tempfile::tempdir().unwrap();
    let stranger = Pki::new();
    write_peer_leaf(stranger_dir.path(), 9, &stranger);
    std::fs::write(stranger_dir.path().join("ca.pem"), old_ca.ca.pem()).unwrap();
    let stranger_files = TlsFiles {
        cert: stranger_dir.path().join("node-9.crt"),
        key: stranger_dir.path().join("node-9.key"),
        ca: Some(stranger_dir.path().join("ca.pem")),
    };
    assert!(peer_handshake(&target, &stranger_files).await.is_err(), "a foreign CA's certificate gets in");
    let refused = peer_client(&target, stranger_files).vote(vote_from(9)).await.unwrap_err();
    assert_ne!(refused.code(), tonic::Code::Ok);
    // The cluster's CA, but naming no member: every RPC refused.
    let outsider_dir = tempfile::tempdir().unwrap();
    write_peer_leaf(outsider_dir.path(), 9, &old_ca);
    let outsider = TlsFiles {
        cert: outsider_dir.path().join("node-9.crt"),
        key: outsider_dir.path().join("node-9.key"),
        ca: Some(ca_file.clone()),
    };
    let relay_channel = {
        let tls = PeerTls::new(&outsider).unwrap();
        lockd_raft::network::TlsChannels { local_ip: None, config: tls.client }.channel(&target)
    };
    let outsider_framing = framing_client(&target, &outsider);
    let mut client = peer_client(&target, outsider);
    // Every RPC of both services between peers: Raft, forwarded writes, reads, presence.
    let denied = tonic::Code::PermissionDenied;
    assert_eq!(client.vote(vote_from(9)).await.unwrap_err().code(), denied);
    let append = pb::AppendEntriesRequest { vote: vote_from(9).vote, ..Default::default() };
    assert_eq!(client.append_entries(append).await.unwrap_err().code(), denied);
    let snapshot = pb::InstallSnapshotRequest { vote: vote_from(9).vote, ..Default::default() };
    assert_eq!(client.install_snapshot(snapshot).await.unwrap_err().code(), denied);
    assert_eq!(client.forward(pb::ForwardRequest::default()).await.unwrap_err().code(), denied);
    assert_eq!(client.forward_batch(pb::ForwardBatchRequest::default()).await.unwrap_err().code(), denied);
    assert_eq!(client.read_index(pb::ReadIndexRequest {}).await.unwrap_err().code(), denied);
    let mut relay = pb::presence_relay_client::PresenceRelayClient::new(relay_channel);
    let batches = futures::stream::iter(vec![pb::PresenceBatch::default()]);
    assert_eq!(relay.relay(batches).await.unwrap_err().code(), denied);
    // The lean framing of appends, forwarded batches and reads (ADR 32): its hello refused.
    let limit = Duration::from_secs(5);
    let read = outsider_framing.call::<_, pb::ReadIndexResponse>(Call::ReadIndex, &pb::ReadIndexRequest {}, limit);
    assert_eq!(read.await.unwrap_err().code(), denied);
    // A member's own certificate claiming to be another member.
    let impostor = (follower + 1) % 3;
    let follower_id = cluster.nodes[follower].id;
    let mut client = peer_client(&target, files_of(follower_id, &ca_file));
    let claimed = cluster.nodes[impostor].id;
    assert_eq!(client.vote(vote_from(claimed)).await.unwrap_err().code(), tonic::Code::PermissionDenied);
    let append = pb::AppendEntriesRequest { vote: vote_from(claimed).vote, ..Default::default() };
    let framing = framing_client(&target, &files_of(follower_id, &ca_file));
    let appended = framing.call::<_, pb::AppendEntriesResponse>(Call::AppendEntries, &append, limit).await;
    assert_eq!(
        appended.unwrap_err().code(),
        tonic::Code::PermissionDenied,
        "an append on the framing as another member"
    );
    // Plain TCP with the cluster secret, the old way in: no answer.
    let plain = lockd_raft::network::TcpChannels::default().channel(&target);
    let mut plain = pb::raft_service_client::RaftServiceClient::new(plain);
    assert!(plain.vote(vote_from(follower_id)).await.is_err());

    let after_restart = Tab::new(tab.token.clone(), "alice-tab-2");
    // Rotate under load, over HTTPS: the peers' CA (trust both, move every node to the new
    // CA, trust only it), and the HTTPS certificate.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (http, url, tab, stop) = (cluster.http.clone(), cluster.url(follower, ""), tab, stop.clone());
        tokio::spawn(async move {
            let (mut cycles, mut failures) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let acquire = tab.request(&http, Method::POST, format!("{url}/appointments/peer-tls-1/acquire-lock"));
                let (status, body) = status_of(acquire.json(&json!({}))).await;
                if status != 200 {
                    failures.push(format!("acquire {status} {body}"));
                }
                let release = tab.request(&http, Method::DELETE, format!("{url}/appointments/peer-tls-1/release-lock"));
                let (status, body) = status_of(release.json(&json!({}))).await;
                if status != 204 && status != 200 {
                    failures.push(format!("release {status} {body}"));
                }
                cycles += 1;
            }
            (cycles, failures)
        })
    };
    let settle = || tokio::time::sleep(Duration::from_millis(800));
    settle().await;
    std::fs::write(&ca_file, format!("{}{}", old_ca.ca.pem(), new_ca.ca.pem())).unwrap();
    settle().await;
    for id in 1..=3 {
        write_peer_leaf(dir.path(), id, &new_ca);
        settle().await;
    }
    write_leaf(https_dir.path(), &https_ca.leaf());
    settle().await;
    std::fs::write(&ca_file, new_ca.ca.pem()).unwrap();
    settle().await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (cycles, failures) = load.await.unwrap();
    assert!(failures.is_empty(), "{} of {cycles} cycles failed: {failures:?}", failures.len());
    assert!(cycles >= 20, "only {cycles} lock cycles ran during the rotation");
    println!("CA rotated under load: {cycles} lock cycles through node {follower_id}, none failed, term {term} kept");
    for node in 0..3 {
        assert_eq!(cluster.status(node).await.unwrap()["term"].as_u64(), Some(term), "node {node} saw an election");
    }

    // New connections now take only the new CA's certificates, both ways.
    let new_files = files_of(follower_id, &ca_file);
    let shown = peer_handshake(&target, &new_files).await.unwrap();
    let leader_leaf =
        std::fs::read_to_string(dir.path().join(format!("node-{}.crt", cluster.nodes[leader].id))).unwrap();
    assert_eq!(shown, pem_der(&leader_leaf));
    let old_dir = tempfile::tempdir().unwrap();
    write_peer_leaf(old_dir.path(), follower_id, &old_ca);
    let old_files = TlsFiles {
        cert: old_dir.path().join(format!("node-{follower_id}.crt")),
        key: old_dir.path().join(format!("node-{follower_id}.key")),
        ca: Some(ca_file.clone()),
    };
    assert!(peer_handshake(&target, &old_files).await.is_err(), "the retired CA still gets in");
    // A follower restarted now connects with its new certificate and catches up.
    cluster.kill(follower);
    cluster.spawn(follower);
    let tab = after_restart;
    let attempt = std::sync::atomic::AtomicU32::new(0);
    cluster
        .eventually(Duration::from_secs(10), "the restarted follower serves writes", || async {
            let id = format!("peer-tls-after-{}", attempt.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
            let request = tab.request(&cluster.http, Method::POST, cluster.url(follower, "/appointments"));
            // Refused connections while the node starts count as "not yet".
            request.json(&appointment(&id)).send().await.is_ok_and(|r| r.status() == 201)
        })
        .await;
    assert_eq!(cluster.status(leader).await.unwrap()["term"].as_u64(), Some(term), "the restart caused an election");
}
