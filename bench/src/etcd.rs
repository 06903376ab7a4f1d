//! The peer: a 3-member etcd cluster (Debian's `etcd-server`, default fsync) on loopback,
//! used as a lock service at its best: etcd's gRPC API through the `etcd-client` crate, one
//! HTTP/2 connection per member shared by the clients homed there, one lease per client kept
//! for the client's life, a create-if-absent transaction to acquire (the put's revision is
//! the fencing token), a compare-on-revision delete to release, and watches for fan-out.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use etcd_client::{
    Client as Etcd, Compare, CompareOp, ConnectOptions, EventType, PutOptions, Txn, TxnOp, TxnOpResponse,
};
use tokio::sync::{oneshot, watch};

use crate::procs::{Server, free_ports};
use crate::system::{Attempt, Client, System};
use crate::tls::BenchTls;

/// The lease a client holds its keys under: lockd's lease, so a lost client frees its locks
/// after the same time.
const LEASE: Duration = Duration::from_secs(300);

pub struct EtcdCluster {
    servers: Vec<Server>,
    pub urls: Vec<String>,
    /// One connection per member, made on first use (the member must be up).
    connections: tokio::sync::Mutex<Vec<Option<Etcd>>>,
    /// With `--tls`: the CA the members' certificates chain to.
    ca_pem: Option<String>,
}

impl EtcdCluster {
    /// With `tls`, members serve their clients over TLS and each other over mutual TLS.
    pub fn start(binary: &Path, dir: &Path, size: usize, tls: Option<&BenchTls>) -> anyhow::Result<EtcdCluster> {
        std::fs::create_dir_all(dir)?;
        let ports = free_ports(size * 2)?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client_urls: Vec<String> = (0..size).map(|i| format!("{scheme}://127.0.0.1:{}", ports[i])).collect();
        let peer_urls: Vec<String> = (0..size).map(|i| format!("{scheme}://127.0.0.1:{}", ports[size + i])).collect();
        let initial = (0..size).map(|i| format!("m{}={}", i + 1, peer_urls[i])).collect::<Vec<_>>().join(",");
        let mut servers = Vec::new();
        for i in 0..size {
            let name = format!("m{}", i + 1);
            let mut args: Vec<String> = [
                "--name",
                &name,
                "--data-dir",
                &dir.join(format!("etcd-{}", i + 1)).display().to_string(),
                "--listen-client-urls",
                &client_urls[i],
                "--advertise-client-urls",
                &client_urls[i],
                "--listen-peer-urls",
                &peer_urls[i],
                "--initial-advertise-peer-urls",
                &peer_urls[i],
                "--initial-cluster",
                &initial,
                "--initial-cluster-state",
                "new",
                "--initial-cluster-token",
                "lockd-bench",
                "--logger",
                "zap",
                "--log-level",
                "warn",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            if let Some(tls) = tls {
                let server = format!("etcd-{}", i + 1);
                args.extend([
                    format!("--cert-file={}", tls.cert(&server)),
                    format!("--key-file={}", tls.key(&server)),
                    format!("--peer-cert-file={}", tls.cert(&server)),
                    format!("--peer-key-file={}", tls.key(&server)),
                    format!("--peer-trusted-ca-file={}", tls.ca()),
                    "--peer-client-cert-auth".to_owned(),
                ]);
            }
            let mut server = Server::new(
                &format!("etcd-{}", i + 1),
                binary,
                args,
                Vec::new(),
                dir.join(format!("etcd-{}.log", i + 1)),
            );
            server.start()?;
            servers.push(server);
        }
        let ca_pem = tls.map(|tls| tls.ca_pem.clone());
        Ok(EtcdCluster { servers, urls: client_urls, connections: tokio::sync::Mutex::new(vec![None; size]), ca_pem })
    }

    /// The shared connection to member `node`.
    async fn connection(&self, node: usize) -> anyhow::Result<Etcd> {
        let mut connections = self.connections.lock().await;
        if let Some(client) = &connections[node] {
            return Ok(client.clone());
        }
        let mut options =
            ConnectOptions::new().with_timeout(Duration::from_secs(5)).with_connect_timeout(Duration::from_secs(2));
        if let Some(ca_pem) = &self.ca_pem {
            let tls = etcd_client::TlsOptions::new()
                .ca_certificate(etcd_client::Certificate::from_pem(ca_pem))
                .domain_name("127.0.0.1");
            options = options.with_tls(tls);
        }
        let client = Etcd::connect([self.urls[node].as_str()], Some(options))
            .await
            .with_context(|| format!("connecting to etcd member {}", node + 1))?;
        connections[node] = Some(client.clone());
        Ok(client)
    }
}

impl System for EtcdCluster {
    type Client = EtcdClient;

    fn name(&self) -> &'static str {
        "etcd"
    }

    async fn prepare(&self, _locks: &[String], _clients: usize) -> anyhow::Result<()> {
        Ok(())
    }

    async fn client(&self, index: usize, _watching: Option<&str>) -> anyhow::Result<EtcdClient> {
        let node = index % self.urls.len();
        let mut members = Vec::new();
        for m in 0..self.urls.len() {
            // A member that is down has no connection; the client skips it.
            members.push(self.connection(m).await.ok());
        }
        let mut last_error = String::new();
        for attempt in 0..members.len() {
            let Some(mut member) = members[(node + attempt) % members.len()].clone() else { continue };
            match member.lease_grant(LEASE.as_secs() as i64, None).await {
                Ok(granted) => {
                    return Ok(EtcdClient {
                        members,
                        node,
                        lease: granted.id(),
                        owner: format!("client-{index}").into_bytes(),
                    });
                }
                Err(e) => last_error = e.to_string(),
            }
        }
        bail!("no lease for client {index}: {last_error}")
    }

    async fn watch(
        &self,
        watcher: usize,
        lock: &str,
        ready: oneshot::Sender<()>,
        mut stop: watch::Receiver<bool>,
    ) -> anyhow::Result<Vec<(u64, Instant)>> {
        let mut client = self.connection(watcher % self.servers().len()).await?;
        let mut stream = client.watch(lock, None).await?;
        let mut ready = Some(ready);
        let mut seen = Vec::new();
        // One wait for the stop, not one per frame (see `LockdCluster::watch`).
        let stopped = stop.changed();
        tokio::pin!(stopped);
        loop {
            let message = tokio::select! {
                message = stream.message() => message?,
                _ = &mut stopped => return Ok(seen),
            };
            let Some(message) = message else { bail!("etcd watch ended") };
            let at = Instant::now();
            if message.created()
                && let Some(ready) = ready.take()
            {
                ready.send(()).ok();
            }
            for event in message.events() {
                if event.event_type() == EventType::Put
                    && let Some(kv) = event.kv()
                {
                    seen.push((kv.mod_revision() as u64, at));
                }
            }
        }
    }

    async fn leader(&self) -> Option<usize> {
        let mut ids = Vec::new();
        for node in 0..self.urls.len() {
            if !self.servers[node].is_running() {
                ids.push(None);
                continue;
            }
            let status = self.connection(node).await.ok()?.status().await.ok()?;
            ids.push(Some((status.header()?.member_id(), status.leader())));
        }
        let leader = ids.iter().flatten().map(|(_, leader)| *leader).next()?;
        if ids.iter().flatten().any(|(_, l)| *l != leader) {
            return None;
        }
        ids.iter().position(|id| id.is_some_and(|(member, _)| member == leader))
    }

    /// Member `node` answers a linearizable read.
    async fn serves(&self, node: usize) -> bool {
        match self.connection(node).await {
            Ok(mut client) => client.get("ready", None).await.is_ok(),
            Err(_) => false,
        }
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
}

pub struct EtcdClient {
    /// The shared connection to each member (`None`: it was down when this client was made).
    members: Vec<Option<Etcd>>,
    node: usize,
    lease: i64,
    /// The value this client writes into the keys it holds.
    owner: Vec<u8>,
}

impl EtcdClient {
    fn member(&self) -> Result<Etcd, String> {
        self.members[self.node].clone().ok_or_else(|| format!("etcd member {} was down", self.node + 1))
    }
}

impl Client for EtcdClient {
    async fn acquire(&mut self, lock: &str) -> Attempt {
        let mut member = match self.member() {
            Ok(member) => member,
            Err(e) => return Attempt::Failed(e),
        };
        let txn = Txn::new()
            .when([Compare::create_revision(lock, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(lock, self.owner.clone(), Some(PutOptions::new().with_lease(self.lease)))])
            .or_else([TxnOp::get(lock, None)]);
        let answer = match member.txn(txn).await {
            Ok(answer) => answer,
            Err(e) => return Attempt::Failed(e.to_string()),
        };
        if answer.succeeded() {
            return match answer.header() {
                Some(header) => Attempt::Granted { token: header.revision() as u64, handed_off: false },
                None => Attempt::Failed("a transaction answer without a header".into()),
            };
        }
        // Held: by this client already (a retried acquire whose answer was lost) or another.
        for response in answer.op_responses() {
            if let TxnOpResponse::Get(get) = response
                && let Some(kv) = get.kvs().first()
                && kv.value() == self.owner.as_slice()
            {
                return Attempt::Granted { token: kv.mod_revision() as u64, handed_off: false };
            }
        }
        Attempt::Held
    }

    async fn acquire_or_wait(&mut self, lock: &str) -> Attempt {
        self.acquire(lock).await
    }

    async fn release(&mut self, lock: &str, token: u64) -> Result<bool, String> {
        let mut member = self.member()?;
        let txn = Txn::new()
            .when([Compare::mod_revision(lock, CompareOp::Equal, token as i64)])
            .and_then([TxnOp::delete(lock, None)]);
        let answer = member.txn(txn).await.map_err(|e| e.to_string())?;
        Ok(answer.succeeded())
    }

    fn next_node(&mut self) {
        self.node = (self.node + 1) % self.members.len();
    }
}
