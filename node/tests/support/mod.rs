//! A real 3-node cluster of `lockd` processes on loopback, for integration tests.
//! Every process is killed (by its PID, through its `Child`) when the cluster is dropped.

#![allow(dead_code)]

pub mod proxy;
pub mod ws;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub struct Node {
    pub id: u64,
    pub http: String,
    pub raft: String,
    /// The peer address the others are told (the fault proxy's), when not `raft`.
    pub advertised_raft: Option<String>,
    pub data_dir: PathBuf,
    pub log_path: PathBuf,
    child: Option<Child>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    peers: String,
    /// Nodes `0..founders` form the cluster with `--peers`; later ones join by request.
    founders: usize,
    extra_args: Vec<String>,
    /// `LOCKD_LOG` of every node; each node logs to `node-<id>.log` in the cluster's directory.
    log_filter: String,
    /// Nodes start with `--dev` (dev login, dev tokens accepted); on by default.
    dev_mode: bool,
    dir: tempfile::TempDir,
    pub http: reqwest::Client,
    /// `https` for a cluster started with `--tls-cert-file`.
    scheme: &'static str,
}

/// A port for a node to listen on: below the ephemeral range (see the function).
fn free_port() -> u16 {
    lockd_bench::procs::free_port().unwrap()
}

impl Cluster {
    pub async fn start(size: u64) -> Cluster {
        Cluster::start_with(size, &[]).await
    }

    /// Starts with extra `lockd` flags for every node.
    pub async fn start_with(size: u64, extra_args: &[&str]) -> Cluster {
        Cluster::start_logging(size, extra_args, "warn").await
    }

    /// Starts with extra flags and a log filter (`LOCKD_LOG`) for every node.
    pub async fn start_logging(size: u64, extra_args: &[&str], log_filter: &str) -> Cluster {
        Cluster::start_full(size, extra_args, log_filter, "127.0.0.1")
    }

    /// Starts with extra flags and without `--dev`: no dev login, dev tokens refused.
    pub async fn start_without_dev(size: u64, extra_args: &[&str]) -> Cluster {
        let mut cluster = Cluster::prepare(size, extra_args, "warn", "127.0.0.1");
        cluster.dev_mode = false;
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster
    }

    /// Starts with the members named `localhost:port` in `--peers` (as a DNS name would be).
    pub async fn start_named(size: u64) -> Cluster {
        Cluster::start_full(size, &[], "warn", "localhost")
    }

    /// Starts with a fault proxy in front of every peer port: node `id` listens on (and
    /// dials from) `proxy::node_ip(id)`, and peers reach it through the proxy.
    pub async fn start_behind_proxy(size: u64, extra_args: &[&str]) -> (Cluster, proxy::FaultProxy) {
        let mut cluster = Cluster::prepare(size, extra_args, "warn", "127.0.0.1");
        let mut routes = Vec::new();
        for node in &mut cluster.nodes {
            let ip = proxy::node_ip(node.id);
            let port = lockd_bench::procs::free_port_on(ip).unwrap();
            node.raft = format!("{ip}:{port}");
            routes.push((node.id, node.raft.parse().unwrap()));
        }
        let (proxy, advertised) = proxy::FaultProxy::start(&routes).await;
        for (node, advertised) in cluster.nodes.iter_mut().zip(advertised) {
            node.advertised_raft = Some(advertised.to_string());
        }
        cluster.peers = cluster
            .nodes
            .iter()
            .map(|n| format!("{}={}/{}", n.id, n.advertised_raft.as_ref().unwrap(), n.http))
            .collect::<Vec<_>>()
            .join(",");
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        (cluster, proxy)
    }

    fn start_full(size: u64, extra_args: &[&str], log_filter: &str, peer_host: &str) -> Cluster {
        let mut cluster = Cluster::prepare(size, extra_args, log_filter, peer_host);
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster
    }

    /// The cluster's nodes and flags, none started.
    fn prepare(size: u64, extra_args: &[&str], log_filter: &str, peer_host: &str) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let mut nodes = Vec::new();
        for id in 1..=size {
            nodes.push(Node {
                id,
                http: format!("127.0.0.1:{}", free_port()),
                raft: format!("127.0.0.1:{}", free_port()),
                advertised_raft: None,
                data_dir: dir.path().join(format!("node-{id}")),
                log_path: dir.path().join(format!("node-{id}.log")),
                child: None,
            });
        }
        let named = |addr: &str| addr.replace("127.0.0.1", peer_host);
        let peers = nodes
            .iter()
            .map(|n| format!("{}={}/{}", n.id, named(&n.raft), named(&n.http)))
            .collect::<Vec<_>>()
            .join(",");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
        let founders = nodes.len();
        let extra_args = extra_args.iter().map(|a| a.to_string()).collect();
        let log_filter = log_filter.to_owned();
        Cluster { nodes, peers, founders, extra_args, log_filter, dev_mode: true, dir, http, scheme: "http" }
    }

    /// Starts with HTTPS on every node's HTTP port (the flags in `extra_args`), talking to
    /// it with a client that trusts `ca_pem`.
    pub async fn start_https(size: u64, extra_args: &[&str], ca_pem: &[u8], dev_mode: bool) -> Cluster {
        let mut cluster = Cluster::prepare(size, extra_args, "warn", "127.0.0.1");
        cluster.dev_mode = dev_mode;
        cluster.use_https(ca_pem);
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster
    }

    /// Starts with every node's peer port on its own loopback IP (`proxy::node_ip(id)`), so
    /// that a certificate can name one node; `{id}` in `extra_args` is each node's id.
    /// With `https_ca`, the nodes serve HTTPS (flags in `extra_args`) and the client trusts it.
    pub async fn start_on_own_peer_ips(
        size: u64,
        extra_args: &[&str],
        https_ca: Option<&[u8]>,
        dev_mode: bool,
    ) -> Cluster {
        let mut cluster = Cluster::prepare(size, extra_args, "warn", "127.0.0.1");
        cluster.dev_mode = dev_mode;
        if let Some(ca_pem) = https_ca {
            cluster.use_https(ca_pem);
        }
        for node in &mut cluster.nodes {
            let ip = proxy::node_ip(node.id);
            node.raft = format!("{ip}:{}", lockd_bench::procs::free_port_on(ip).unwrap());
        }
        cluster.peers =
            cluster.nodes.iter().map(|n| format!("{}={}/{}", n.id, n.raft, n.http)).collect::<Vec<_>>().join(",");
        for i in 0..cluster.nodes.len() {
            cluster.spawn(i);
        }
        cluster
    }

    fn use_https(&mut self, ca_pem: &[u8]) {
        self.scheme = "https";
        self.http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .add_root_certificate(reqwest::Certificate::from_pem(ca_pem).unwrap())
            .build()
            .unwrap();
    }

    /// The cluster's directory (for files a test hands the nodes).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn spawn(&mut self, index: usize) {
        let peers = (index < self.founders).then(|| self.peers.clone());
        let node = &mut self.nodes[index];
        let mut command = Command::new(env!("CARGO_BIN_EXE_lockd"));
        command.args(["--node-id", &node.id.to_string()]).arg("--data-dir").arg(&node.data_dir);
        command.args(["--http-addr", &node.http, "--raft-addr", &node.raft]);
        if let Some(advertised) = &node.advertised_raft {
            command.args(["--advertise-raft-addr", advertised]);
        }
        if let Some(peers) = peers {
            command.args(["--peers", &peers]);
        }
        let id = node.id.to_string();
        command.args(self.extra_args.iter().map(|arg| arg.replace("{id}", &id)));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&node.log_path).expect("a log file");
        let child = command
            .args([
                "--jwt-secret",
                "integration-test-jwt-secret",
                "--cluster-secret",
                "integration-test-cluster-secret",
            ])
            .args(self.dev_mode.then_some("--dev"))
            .args(["--heartbeat-ms", "50", "--election-min-ms", "300", "--election-max-ms", "600"])
            .env("LOCKD_LOG", &self.log_filter)
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start lockd");
        node.child = Some(child);
    }

    /// Starts a node outside the founding membership; it waits to be added.
    pub fn spawn_joiner(&mut self) -> usize {
        let id = self.nodes.len() as u64 + 1;
        self.nodes.push(Node {
            id,
            http: format!("127.0.0.1:{}", free_port()),
            raft: format!("127.0.0.1:{}", free_port()),
            advertised_raft: None,
            data_dir: self.dir.path().join(format!("node-{id}")),
            log_path: self.dir.path().join(format!("node-{id}.log")),
            child: None,
        });
        let index = self.nodes.len() - 1;
        self.spawn(index);
        index
    }

    /// SIGTERM, then waits up to `limit` for the process to exit; how long it took, or `None`
    /// if it was still running (it is then killed).
    pub fn terminate(&mut self, index: usize, limit: Duration) -> Option<Duration> {
        let mut child = self.nodes[index].child.take()?;
        // The shell's builtin: a bare Debian may have no procps (/usr/bin/kill).
        let status = Command::new("sh").args(["-c", &format!("kill -TERM {}", child.id())]).status().expect("run sh");
        assert!(status.success());
        let started = Instant::now();
        while started.elapsed() < limit {
            if child.try_wait().expect("wait").is_some() {
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().ok();
        child.wait().ok();
        None
    }

    /// The process id of node `index`, while it runs.
    pub fn pid(&self, index: usize) -> Option<u32> {
        self.nodes[index].child.as_ref().map(Child::id)
    }

    /// Resident memory of node `index`, from /proc.
    pub fn rss_bytes(&self, index: usize) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid(index)?)).ok()?;
        let kib: u64 =
            status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kib * 1024)
    }

    /// SIGKILL: no shutdown path runs.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub fn url(&self, index: usize, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.nodes[index].http, path)
    }

    pub async fn status(&self, index: usize) -> Option<Value> {
        let response = self.http.get(self.url(index, "/cluster/status")).send().await.ok()?;
        response.json().await.ok()
    }

    /// Node `index`'s `/metrics` text.
    pub async fn metrics(&self, index: usize) -> String {
        let response = self.http.get(self.url(index, "/metrics")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
        response.text().await.unwrap()
    }

    /// Waits until every live node named in `among` reports the same leader, itself live.
    pub async fn wait_for_leader(&self, among: &[usize]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mut leaders = Vec::new();
            for &i in among {
                leaders.push(self.status(i).await.and_then(|s| s["leaderId"].as_u64()));
            }
            if let Some(Some(leader)) = leaders.first()
                && leaders.iter().all(|l| *l == Some(*leader))
                && let Some(index) = among.iter().copied().find(|&i| self.nodes[i].id == *leader)
            {
                return index;
            }
            assert!(Instant::now() < deadline, "no agreed leader among {among:?}: {leaders:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn login(&self, index: usize, user: &str, role: &str) -> String {
        let body = json!({ "userId": user, "name": format!("{user} name"), "email": format!("{user}@example.com"), "role": role });
        let response = self.http.post(self.url(index, "/auth/dev-login")).json(&body).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned()
    }

    /// Polls `check` until it holds or `limit` passes.
    pub async fn eventually<F, Fut>(&self, limit: Duration, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + limit;
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Cluster {
    /// Waits until every node of `nodes` has applied appointment `id` (a stale read finds it).
    pub async fn wait_applied(&self, nodes: &[usize], id: &str, token: &str) {
        let path = format!("/appointments/{id}?stale=true");
        self.eventually(Duration::from_secs(5), &format!("nodes {nodes:?} applied appointment {id}"), || async {
            let mut applied = true;
            for &node in nodes {
                let response = self.http.get(self.url(node, &path)).bearer_auth(token).send().await;
                applied &= response.is_ok_and(|r| r.status() == 200);
            }
            applied
        })
        .await;
    }

    /// What node `index` has logged so far.
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(&self.nodes[index].log_path).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        // A failing test shows what the nodes said.
        if std::thread::panicking() {
            for (i, node) in self.nodes.iter().enumerate() {
                eprintln!("--- node {} log ---\n{}", node.id, self.log(i));
            }
        }
    }
}

/// An appointment as a client creates it.
pub fn appointment(id: &str) -> Value {
    json!({
        "id": id,
        "title": "Check-up",
        "startsAt": "2030-01-01T09:00:00Z",
        "endsAt": "2030-01-01T09:45:00Z",
        "client": "Maria",
        "location": "Room 1",
        "notes": "",
    })
}

/// A user in one tab.
pub struct Tab {
    pub token: String,
    pub session: String,
}

impl Tab {
    pub fn new(token: String, session: &str) -> Tab {
        Tab { token, session: session.into() }
    }

    pub fn request(&self, http: &reqwest::Client, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        http.request(method, url).bearer_auth(&self.token).header("x-session-id", &self.session)
    }
}

/// The value of an unlabelled sample `name` in a Prometheus text exposition.
pub fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

impl Cluster {
    /// SIGSTOP: the process freezes (its sockets stay open), as in a long GC pause or a VM
    /// stall. `resume` sends SIGCONT.
    pub fn pause(&self, index: usize) {
        self.signal(index, "STOP");
    }

    pub fn resume(&self, index: usize) {
        self.signal(index, "CONT");
    }

    fn signal(&self, index: usize, name: &str) {
        let child = self.nodes[index].child.as_ref().expect("running");
        let status = Command::new("sh").args(["-c", &format!("kill -{name} {}", child.id())]).status().expect("run sh");
        assert!(status.success());
    }
}
