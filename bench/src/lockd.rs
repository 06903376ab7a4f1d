//! A lockd cluster started by the benchmark, and its clients over HTTP and WebSocket, as a
//! browser or an API client would talk to it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use futures::{SinkExt, StreamExt};
use lockd_client::types::AppointmentInput;
use lockd_client::{AcquireOptions, Acquired, Released, Routing};
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::procs::{Server, free_ports};
use crate::system::{Attempt, Client, StageTimes, System};
use crate::tls::BenchTls;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

const JWT_SECRET: &str = "lockd-bench-jwt-secret-0123456789";
const CLUSTER_SECRET: &str = "lockd-bench-cluster-secret-0123456789";
/// The product's default lease (docs/design.md: 5 minutes without activity).
const LEASE: Duration = Duration::from_secs(300);

pub struct LockdCluster {
    servers: Vec<Server>,
    pub urls: Vec<String>,
    /// The cluster's status and readiness, node by node.
    probe: lockd_client::Client,
    /// With `--tls`: HTTPS and WSS trusting the run's CA.
    tls: Option<Arc<rustls::ClientConfig>>,
    /// The workloads' clients send their calls to the leader (`lockd-client`'s default
    /// routing) instead of entering through their home node (`--lockd-clients-to-leader`).
    pub clients_to_leader: bool,
}

impl LockdCluster {
    /// Client `index` with its socket (homed on node `index % nodes`) and its API calls
    /// routed by `routing`.
    async fn client_routed(
        &self,
        index: usize,
        watching: Option<&str>,
        routing: Routing,
    ) -> anyhow::Result<LockdClient> {
        let user = format!("bench-{index}");
        // The socket's session is the API client's (`api_client` names it so).
        let session = format!("{user}-{}", std::process::id());
        let home = index % self.urls.len();
        let events = match watching {
            Some(lock) => {
                Some(self.socket(home, &format!("/appointments/{lock}/updates?sessionId={session}"), &user).await?)
            }
            None => None,
        };
        let api = self.api_client(&user, "user", routing)?;
        debug_assert_eq!(api.session_id(), session);
        Ok(LockdClient { api, node: home, session, events, last_token: 0 })
    }

    /// Starts `size` nodes of `binary` with data under `dir`. Rate limits are off: the
    /// benchmark's few users would otherwise be held to 5 lock attempts a second.
    /// With `tls`, the nodes serve HTTPS and talk to each other over mutual TLS.
    pub fn start(
        binary: &Path,
        dir: &Path,
        size: usize,
        extra_args: &[String],
        tls: Option<&BenchTls>,
    ) -> anyhow::Result<LockdCluster> {
        std::fs::create_dir_all(dir)?;
        let ports = free_ports(size * 2)?;
        let http_addrs: Vec<String> = (0..size).map(|i| format!("127.0.0.1:{}", ports[i])).collect();
        let raft_addrs: Vec<String> = (0..size).map(|i| format!("127.0.0.1:{}", ports[size + i])).collect();
        let peers =
            (0..size).map(|i| format!("{}={}/{}", i + 1, raft_addrs[i], http_addrs[i])).collect::<Vec<_>>().join(",");
        let mut servers = Vec::new();
        for i in 0..size {
            let data_dir: PathBuf = dir.join(format!("lockd-{}", i + 1));
            let mut args: Vec<String> = [
                "--node-id",
                &(i + 1).to_string(),
                "--http-addr",
                &http_addrs[i],
                "--raft-addr",
                &raft_addrs[i],
                "--peers",
                &peers,
                "--jwt-secret",
                JWT_SECRET,
                "--rate-limits",
                "off",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            let name = format!("lockd-{}", i + 1);
            match tls {
                None => args.extend(["--cluster-secret".to_owned(), CLUSTER_SECRET.to_owned()]),
                Some(tls) => args.extend([
                    "--tls-cert-file".to_owned(),
                    tls.cert(&name),
                    "--tls-key-file".to_owned(),
                    tls.key(&name),
                    "--peer-tls-cert-file".to_owned(),
                    tls.cert(&name),
                    "--peer-tls-key-file".to_owned(),
                    tls.key(&name),
                    "--peer-tls-ca-file".to_owned(),
                    tls.ca(),
                ]),
            }
            args.push("--data-dir".into());
            args.push(data_dir.display().to_string());
            args.extend(extra_args.iter().cloned());
            // Info from the state machine's store: the "built a snapshot" lines give its time and
            // size. `LOCKD_LOG` in the bench's own environment replaces the filter (to trace a run).
            let filter = std::env::var("LOCKD_LOG").unwrap_or_else(|_| "warn,lockd_raft::store::state=info".to_owned());
            let env = vec![("LOCKD_LOG".to_owned(), filter), ("NO_COLOR".to_owned(), "1".to_owned())];
            let mut server =
                Server::new(&format!("lockd-{}", i + 1), binary, args, env, dir.join(format!("lockd-{}.log", i + 1)));
            server.start()?;
            servers.push(server);
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        let urls = http_addrs.iter().map(|a| format!("{scheme}://{a}")).collect();
        let tls = tls.map(BenchTls::client_config).transpose()?;
        let mut cluster = LockdCluster { servers, urls, probe: placeholder_client()?, tls, clients_to_leader: false };
        cluster.probe = cluster.api_client("bench-probe", "admin", Routing::Through(0))?;
        Ok(cluster)
    }

    /// A `lockd-client` of this cluster as `user`, one try per call: the benchmark measures
    /// each attempt and fails over by itself (`Client::next_node`).
    pub fn api_client(&self, user: &str, role: &str, routing: Routing) -> anyhow::Result<lockd_client::Client> {
        let mut builder = lockd_client::Client::builder(self.urls.clone())
            .bearer(LockdCluster::token(user, role))
            .session_id(format!("{user}-{}", std::process::id()))
            .routing(routing)
            .tries(1)
            .request_timeout(Duration::from_secs(5));
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        Ok(builder.build()?)
    }

    pub fn token(user: &str, role: &str) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
        let claims = json!({
            "sub": user, "name": format!("Bench {user}"), "email": format!("{user}@bench.invalid"), "role": role,
            "iss": "lockd", "aud": "lockd", "iat": now, "exp": now + 24 * 3600,
        });
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
        )
        .expect("HS256 signs any claims")
    }

    /// Opens a socket on `path` of node `node` as `user`.
    pub async fn socket(&self, node: usize, path: &str, user: &str) -> anyhow::Result<Socket> {
        let url = format!("{}{path}", self.urls[node]).replace("http://", "ws://").replace("https://", "wss://");
        let mut request = url.into_client_request()?;
        request
            .headers_mut()
            .insert("sec-websocket-protocol", format!("lockd, bearer.{}", LockdCluster::token(user, "user")).parse()?);
        let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
            .read_buffer_size(SOCKET_READ_BUFFER_BYTES);
        let connector = self.tls.clone().map(tokio_tungstenite::Connector::Rustls);
        let (socket, _) = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), false, connector)
            .await
            .with_context(|| format!("websocket {path} on node {node}"))?;
        Ok(socket)
    }
}

/// What a socket of the load generator reads per call. tungstenite zero-fills this much on
/// every read attempt; its 128 KiB default made memset 16 % of the machine's CPU in the
/// fan-out to 1,000 watchers, CPU the nodes on the same cores went without. The nodes'
/// frames are a few hundred bytes; a larger one is read in several calls.
const SOCKET_READ_BUFFER_BYTES: usize = 4 * 1024;

/// What a watcher reads of a frame: the rest is skipped unparsed. 1,000 watchers share the
/// load generator's 2 cores with the nodes; building a `serde_json::Value` of every frame
/// (a lock with its holder, ~500 bytes) was a large part of what delayed the last watcher.
#[derive(serde::Deserialize)]
struct WatchedFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(rename = "appointmentId", borrow, default)]
    appointment_id: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    lock: Option<FencedLock>,
}

#[derive(serde::Deserialize)]
struct FencedLock {
    #[serde(rename = "fencingToken", default)]
    fencing_token: Option<u64>,
}

fn appointment(id: &str) -> AppointmentInput {
    AppointmentInput {
        id: Some(id.into()),
        title: format!("Bench {id}"),
        starts_at: "2026-12-01T09:00:00Z".into(),
        ends_at: "2026-12-01T10:00:00Z".into(),
        ..AppointmentInput::default()
    }
}

/// Stands in for the probe while the cluster that makes the real one is being built.
fn placeholder_client() -> anyhow::Result<lockd_client::Client> {
    Ok(lockd_client::Client::builder(["http://127.0.0.1:9"]).bearer("-").build()?)
}

impl System for LockdCluster {
    type Client = LockdClient;

    fn name(&self) -> &'static str {
        "lockd"
    }

    async fn prepare(&self, locks: &[String], clients: usize) -> anyhow::Result<()> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let work = (0..clients.max(1)).map(|c| {
            let next = &next;
            async move {
                let admin = self.api_client("bench-admin", "admin", Routing::Through(c % self.urls.len()))?;
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(id) = locks.get(i) else { return Ok::<_, anyhow::Error>(()) };
                    match admin.create(&appointment(id)).await {
                        Ok(_) => {}
                        Err(e) if e.code() == Some("already_exists") => {}
                        Err(e) => bail!("creating appointment {id}: {e}"),
                    }
                }
            }
        });
        futures::future::try_join_all(work).await?;
        Ok(())
    }

    async fn client(&self, index: usize, watching: Option<&str>) -> anyhow::Result<LockdClient> {
        let routing = match self.clients_to_leader {
            true => Routing::Leader,
            false => Routing::Through(index % self.urls.len()),
        };
        self.client_routed(index, watching, routing).await
    }

    async fn client_through(&self, node: usize) -> anyhow::Result<LockdClient> {
        self.client_routed(node, None, Routing::Through(node)).await
    }

    async fn watch(
        &self,
        watcher: usize,
        lock: &str,
        ready: oneshot::Sender<()>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<(u64, Instant)>> {
        // The list page's stream: every lock event, and no presence (a viewer in the room
        // would be one of 1,000 on every roster).
        let node = watcher % self.urls.len();
        let mut socket = self.socket(node, "/updates", &format!("watcher-{watcher}")).await?;
        let mut seen = Vec::new();
        let mut ready = Some(ready);
        // One wait for the stop, not one per frame: each new wait joins the channel's list of
        // waiters under its lock, and 1,000 watchers took turns at that lock on every event.
        let stopped = stop.changed();
        tokio::pin!(stopped);
        loop {
            let frame = tokio::select! {
                frame = socket.next() => frame,
                _ = &mut stopped => return Ok(seen),
            };
            let text = match frame {
                Some(Ok(Message::Text(text))) => text,
                // The server's protocol pings (answered by reading on).
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => bail!("watch socket closed: {other:?}"),
            };
            let at = Instant::now();
            let event: WatchedFrame = serde_json::from_str(text.as_str())?;
            match &*event.kind {
                "snapshot" => {
                    if let Some(ready) = ready.take() {
                        ready.send(()).ok();
                    }
                }
                "lock.acquired" if event.appointment_id.as_deref() == Some(lock) => {
                    if let Some(FencedLock { fencing_token: Some(token) }) = event.lock {
                        seen.push((token, at));
                    }
                }
                _ => {}
            }
        }
    }

    async fn leader(&self) -> Option<usize> {
        let mut leader = None;
        for node in 0..self.urls.len() {
            if !self.servers[node].is_running() {
                continue;
            }
            let id = self.probe.cluster_status(node).await.ok()?.leader_id?;
            if leader.is_some_and(|l| l != id) {
                return None;
            }
            leader = Some(id);
        }
        let index = leader? as usize - 1;
        self.servers[index].is_running().then_some(index)
    }

    /// Node `node` answers `/readyz` with 200: a leader is known and it caught up.
    async fn serves(&self, node: usize) -> bool {
        let probe = tokio::time::timeout(Duration::from_millis(500), self.probe.ready(node));
        matches!(probe.await, Ok(Ok(true)))
    }

    fn servers(&self) -> &[Server] {
        &self.servers
    }

    fn servers_mut(&mut self) -> &mut [Server] {
        &mut self.servers
    }

    fn lease(&self) -> Duration {
        LEASE
    }

    async fn stage_times(&self) -> Vec<StageTimes> {
        let mut nodes = Vec::new();
        for node in 0..self.urls.len() {
            let text = match self.servers[node].is_running() {
                true => self.probe.metrics(node).await.unwrap_or_default(),
                false => String::new(),
            };
            nodes.push(stage_times_in(&text));
        }
        nodes
    }

    fn last_snapshot(&self) -> Option<(f64, u64)> {
        let field =
            |line: &str, name: &str| line.split_whitespace().find_map(|w| w.strip_prefix(name)?.parse::<u64>().ok());
        let mut latest: Option<(u64, f64, u64)> = None;
        for server in &self.servers {
            let log = std::fs::read_to_string(&server.log_path).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains("built a snapshot")) {
                if let (Some(index), Some(ms), Some(bytes)) =
                    (field(line, "index="), field(line, "build_ms="), field(line, "bytes="))
                    && latest.is_none_or(|(i, _, _)| index >= i)
                {
                    latest = Some((index, ms as f64, bytes));
                }
            }
        }
        latest.map(|(_, ms, bytes)| (ms, bytes))
    }
}

/// The write stages in a node's `/metrics` (`lockd_write_stage…{stage="…"}`), and its HTTP
/// handlers' time for acquire and release as the stages `http_acquire` and `http_release`.
fn stage_times_in(metrics: &str) -> StageTimes {
    let mut stages: StageTimes = Vec::new();
    let mut add = |stage: &str, passes: Option<u64>, seconds: Option<f64>| {
        let at = match stages.iter().position(|(name, _, _)| name == stage) {
            Some(at) => at,
            None => {
                stages.push((stage.to_owned(), 0, 0.0));
                stages.len() - 1
            }
        };
        if let Some(passes) = passes {
            stages[at].1 = passes;
        }
        if let Some(seconds) = seconds {
            stages[at].2 = seconds;
        }
    };
    let label = |line: &str, prefix: &str| -> Option<(String, String)> {
        let rest = line.strip_prefix(prefix)?.strip_prefix("=\"")?;
        let (value, rest) = rest.split_once("\"}")?;
        Some((value.to_owned(), rest.trim().to_owned()))
    };
    for line in metrics.lines() {
        if let Some((stage, value)) = label(line, "lockd_write_stage_total{stage") {
            add(&stage, value.parse().ok(), None);
        } else if let Some((stage, value)) = label(line, "lockd_write_stage_seconds_total{stage") {
            add(&stage, None, value.parse().ok());
        } else if let Some((route, value)) = label(line, "lockd_http_request_duration_seconds_count{route") {
            if let Some(stage) = http_stage(&route) {
                add(stage, value.parse().ok(), None);
            }
        } else if let Some((route, value)) = label(line, "lockd_http_request_duration_seconds_sum{route")
            && let Some(stage) = http_stage(&route)
        {
            add(stage, None, value.parse().ok());
        }
    }
    stages
}

fn http_stage(route: &str) -> Option<&'static str> {
    match route {
        "/appointments/{id}/acquire-lock" => Some("http_acquire"),
        "/appointments/{id}/release-lock" => Some("http_release"),
        _ => None,
    }
}

pub struct LockdClient {
    /// Its own `lockd-client`, with its own connections (no pool shared between clients).
    api: lockd_client::Client,
    /// The node it enters through.
    node: usize,
    session: String,
    /// The appointment's event stream, for hearing of a hand-off from the queue.
    events: Option<Socket>,
    /// The latest token this client was granted: older grant events on its socket are stale.
    last_token: u64,
}

impl LockdClient {
    async fn post_acquire(&mut self, lock: &str, wait: bool) -> Attempt {
        match self.api.acquire(lock, AcquireOptions { wait, ttl_ms: None }).await {
            Ok(Acquired::Granted(granted)) => {
                self.last_token = self.last_token.max(granted.fencing_token);
                Attempt::Granted { token: granted.fencing_token, handed_off: false }
            }
            Ok(Acquired::Held(_)) => Attempt::Held,
            Ok(Acquired::Queued(_)) if wait => self.hand_off(Duration::from_secs(30)).await,
            Ok(Acquired::Queued(_)) => Attempt::Failed("queued without asking to wait".into()),
            Err(e) => Attempt::Failed(e.to_string()),
        }
    }

    /// Reads this client's appointment socket until the lock is granted to its session.
    async fn hand_off(&mut self, limit: Duration) -> Attempt {
        let session = self.session.clone();
        let last = self.last_token;
        let Some(socket) = self.events.as_mut() else { return Attempt::Failed("queued without a socket".into()) };
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let frame = match tokio::time::timeout_at(deadline, socket.next()).await {
                Err(_) => return Attempt::Failed("no hand-off in time".into()),
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(_))) => continue,
                Ok(other) => return Attempt::Failed(format!("socket ended: {other:?}")),
            };
            // Most frames are other clients' news (queue changes carry the whole queue): skip
            // them unparsed, or 64 clients in one process spend the machine parsing JSON.
            let text = frame.as_str();
            let grant = text.contains(r#""type":"lock.acquired""#)
                || text.contains(r#""type":"lock.taken_over""#)
                || text.contains(r#""type":"snapshot""#);
            if !grant || !text.contains(session.as_str()) {
                continue;
            }
            let Ok(event) = serde_json::from_str::<Value>(text) else { continue };
            let lock = match event["type"].as_str() {
                Some("lock.acquired" | "lock.taken_over" | "snapshot") => &event["lock"],
                _ => continue,
            };
            if lock["holder"]["sessionId"] == session.as_str()
                && let Some(token) = lock["fencingToken"].as_u64()
                && token > last
            {
                self.last_token = token;
                return Attempt::Granted { token, handed_off: true };
            }
        }
    }
}

impl Client for LockdClient {
    async fn acquire(&mut self, lock: &str) -> Attempt {
        self.post_acquire(lock, false).await
    }

    async fn acquire_or_wait(&mut self, lock: &str) -> Attempt {
        self.post_acquire(lock, true).await
    }

    async fn release(&mut self, lock: &str, token: u64) -> Result<bool, String> {
        match self.api.release(lock, token).await {
            Ok(Released::Released) => Ok(true),
            Ok(Released::NotHolder) => Ok(false),
            Err(e) => Err(format!("release: {e}")),
        }
    }

    fn next_node(&mut self) {
        self.node = (self.node + 1) % self.api.nodes();
        self.api.prefer_node(self.node);
    }
}

/// A viewer of one appointment that moves its pointer: the pointer-relay workload.
pub struct Viewer {
    pub socket: Socket,
    pub session: String,
}

impl LockdCluster {
    pub async fn viewer(&self, index: usize, appointment: &str) -> anyhow::Result<Viewer> {
        let session = format!("viewer-{index}");
        let socket = self
            .socket(
                index % self.urls.len(),
                &format!("/appointments/{appointment}/updates?sessionId={session}"),
                &format!("viewer-{index}"),
            )
            .await?;
        Ok(Viewer { socket, session })
    }
}

impl LockdCluster {
    /// Takes the lock of `appointment` as `holder` (through the node it prefers) and gives
    /// it back; the grant's token and when its request was sent.
    pub async fn grant_and_release(
        &self,
        holder: &lockd_client::Client,
        appointment: &str,
    ) -> anyhow::Result<(u64, Instant)> {
        let sent = Instant::now();
        let granted = match holder.acquire(appointment, AcquireOptions::default()).await? {
            Acquired::Granted(granted) => granted,
            other => bail!("acquire {appointment}: {other:?}"),
        };
        let released = holder.release(appointment, granted.fencing_token).await?;
        anyhow::ensure!(released == Released::Released, "release {appointment}: {released:?}");
        Ok((granted.fencing_token, sent))
    }
}

impl Viewer {
    pub async fn send_pointer(&mut self, x: f64, y: f64) -> anyhow::Result<()> {
        self.socket.send(Message::text(json!({ "type": "pointer", "x": x, "y": y }).to_string())).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_write_stages_and_the_lock_routes_from_metrics() {
        let metrics = "\
# TYPE lockd_write_stage counter
lockd_write_stage_total{stage=\"log_sync\"} 4
lockd_write_stage_seconds_total{stage=\"log_sync\"} 0.001
lockd_http_request_duration_seconds_sum{route=\"/appointments/{id}/acquire-lock\"} 0.5
lockd_http_request_duration_seconds_count{route=\"/appointments/{id}/acquire-lock\"} 250
lockd_http_request_duration_seconds_count{route=\"/appointments\"} 9
lockd_http_request_duration_seconds_bucket{le=\"0.0005\",route=\"/appointments/{id}/acquire-lock\"} 3
";
        assert_eq!(
            stage_times_in(metrics),
            vec![("log_sync".to_owned(), 4, 0.001), ("http_acquire".to_owned(), 250, 0.5)]
        );
    }
}
