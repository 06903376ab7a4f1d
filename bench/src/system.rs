//! What a workload needs from a lock service, so the same workload runs against lockd and
//! against etcd: clients that acquire and release, watchers that see grants, and the
//! cluster's processes for faults.

use std::future::Future;
use std::time::Instant;

use tokio::sync::watch;

use crate::procs::Server;

/// The outcome of one acquire.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// This client holds the lock under `token`; `handed_off` when it got it from the wait
    /// queue rather than at once.
    Granted { token: u64, handed_off: bool },
    /// Someone else holds it.
    Held,
    /// No answer (a node down, no leader, a timeout): the outcome is unknown.
    Failed(String),
}

/// One node's stage times: (stage, passes, seconds), cumulative.
pub type StageTimes = Vec<(String, u64, f64)>;

/// One client of the service: its own identity (a session, a lease) on one home node.
pub trait Client: Send + 'static {
    /// One try: granted, or held by someone else.
    fn acquire(&mut self, lock: &str) -> impl Future<Output = Attempt> + Send;
    /// Acquires, waiting in the service's queue if it has one. A service without a queue
    /// answers like `acquire` (the caller then retries).
    fn acquire_or_wait(&mut self, lock: &str) -> impl Future<Output = Attempt> + Send;
    /// Releases the grant `token` (fenced: a newer grant is never released). `Ok(false)`:
    /// the grant had already ended.
    fn release(&mut self, lock: &str, token: u64) -> impl Future<Output = Result<bool, String>> + Send;
    /// After a failure: use the next node.
    fn next_node(&mut self);
}

/// A running cluster of the service, started by the benchmark.
pub trait System: Send + Sync + 'static {
    type Client: Client;
    fn name(&self) -> &'static str;
    /// Makes `locks` usable (lockd: the appointments exist); `clients` requests at a time.
    fn prepare(&self, locks: &[String], clients: usize) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Client `index`, homed on node `index % nodes`. `watching` names a lock whose grants
    /// it must hear of while it waits in a queue.
    fn client(&self, index: usize, watching: Option<&str>)
    -> impl Future<Output = anyhow::Result<Self::Client>> + Send;
    /// A client that enters through node `node` whatever the run's routing (the entry
    /// workload compares entry points).
    fn client_through(&self, node: usize) -> impl Future<Output = anyhow::Result<Self::Client>> + Send {
        self.client(node, None)
    }
    /// Watches `lock` through node `watcher % nodes` until `stop`, as watcher number `watcher`
    /// (its own user: one user's sockets are capped); returns each grant's token with the
    /// time it was seen. `ready` is sent once the watch is established.
    fn watch(
        &self,
        watcher: usize,
        lock: &str,
        ready: tokio::sync::oneshot::Sender<()>,
        stop: watch::Receiver<bool>,
    ) -> impl Future<Output = anyhow::Result<Vec<(u64, Instant)>>> + Send;
    /// The index of the node that leads now, if all agree.
    fn leader(&self) -> impl Future<Output = Option<usize>> + Send;
    /// One probe: node `node` serves now (a leader known, caught up).
    fn serves(&self, node: usize) -> impl Future<Output = bool> + Send;
    /// Waits until node `node` serves; how long that took.
    fn node_ready(
        &self,
        node: usize,
        limit: std::time::Duration,
    ) -> impl Future<Output = anyhow::Result<std::time::Duration>> + Send {
        async move {
            let started = Instant::now();
            while !self.serves(node).await {
                anyhow::ensure!(
                    started.elapsed() < limit,
                    "{} node {} not ready after {limit:?}",
                    self.name(),
                    node + 1
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            Ok(started.elapsed())
        }
    }
    /// Waits until every running node serves.
    fn ready(&self) -> impl Future<Output = anyhow::Result<()>> + Send {
        async {
            for node in 0..self.servers().len() {
                if self.servers()[node].is_running() {
                    self.node_ready(node, std::time::Duration::from_secs(30)).await?;
                }
            }
            Ok(())
        }
    }
    fn servers(&self) -> &[Server];
    fn servers_mut(&mut self) -> &mut [Server];
    /// The lease a grant gets when nothing renews it.
    fn lease(&self) -> std::time::Duration;
    /// Each node's time in each stage of a write so far, node by node: (stage, passes,
    /// seconds). lockd reads it from its nodes' `/metrics`; a system without it gives none.
    fn stage_times(&self) -> impl Future<Output = Vec<StageTimes>> + Send {
        async { Vec::new() }
    }
    /// The latest snapshot a node built: how long it took (ms) and its size (bytes).
    fn last_snapshot(&self) -> Option<(f64, u64)> {
        None
    }
}
