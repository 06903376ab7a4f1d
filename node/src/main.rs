//! `lockd`: one node of the lock cluster. Opens its RocksDB, starts the replica, serves gRPC
//! to peers and HTTP (API + web app) to clients, forms the cluster on first start, and shuts
//! down cleanly on SIGTERM or Ctrl-C.

mod alloc;
mod auth;
mod config;
mod seed;
mod tls;

use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use lockd_api::{ApiConfig, AppState};
use lockd_raft::clock::{Clock, SystemClock};
use lockd_raft::network::{ChannelFactory, PeerAuth, TcpChannels, TlsChannels};
use lockd_raft::node::{LockNode, NodeConfig, RaftTiming, SnapshotPolicy};
use tokio::sync::watch;

use crate::config::{Args, check_own_entry, parse_peers, read_secret};

fn main() -> anyhow::Result<()> {
    let replica = replica_runtime()?;
    let result =
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(start(replica.handle().clone()));
    // Outside any runtime: dropping a runtime inside one panics.
    drop(replica);
    result
}

/// The replica's runtime: openraft's core, replication and heartbeats, the state machine,
/// the ticker and the peers' gRPC (both ways). Client HTTP and WebSockets run on the main
/// runtime. Sharing one runtime, a burst of client work (1,000 WebSockets opening at once)
/// kept a follower from reading heartbeats for longer than its leader lease, and it started
/// an election (docs/benchmarks.md). Two workers, so that one task's burst of work does not
/// hold up heartbeats; snapshots are built on blocking threads, not here (ADR 18).
fn replica_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("lockd-replica").enable_all().build()
}

async fn start(replica: tokio::runtime::Handle) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        // Escape codes only for a person at a terminal, never into journald or a file.
        .with_ansi(std::io::stderr().is_terminal())
        // Logs go to stderr (the runbook says so; fmt's default is stdout).
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOCKD_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
        )
        .init();
    run(Args::parse(), replica).await
}

async fn run(args: Args, replica: tokio::runtime::Handle) -> anyhow::Result<()> {
    let peer_tls = tls::peer(&args)?;
    let peer_auth = match &peer_tls {
        Some(_) => PeerAuth::Certificates,
        None => PeerAuth::Secret(read_secret(&args.cluster_secret, &args.cluster_secret_file, "cluster-secret")?),
    };
    let peers = args.peers.as_deref().map(parse_peers).transpose()?;
    if let Some(peers) = &peers {
        let me = peers.get(&args.node_id).context("--peers must include this node's own id")?;
        check_own_entry(&args, me)?;
    }

    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let (log_store, state_machine) = lockd_raft::store::open_rocks(&args.data_dir.join("rocksdb"))
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    anyhow::ensure!((16..=1_000_000).contains(&args.event_buffer), "--event-buffer must be from 16 to 1000000 events");
    // Snapshots are encoded and written on a blocking thread, off the replica's runtime (ADR 18).
    let state_machine = state_machine
        .with_event_buffer(args.event_buffer)
        .building_snapshots_on(Arc::new(lockd_raft::store::BlockingPool));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let timing = RaftTiming {
        heartbeat_interval_ms: args.heartbeat_ms,
        election_timeout_min_ms: args.election_min_ms,
        election_timeout_max_ms: args.election_max_ms,
    };
    let snapshots = SnapshotPolicy { every_entries: args.snapshot_every, keep_log_entries: args.keep_log_entries };
    let config = NodeConfig { node_id: args.node_id, peer_auth, timing, snapshots };
    let local_ip = Some(args.raft_addr.ip()).filter(|ip| !ip.is_unspecified());
    let channels: Arc<dyn ChannelFactory> = match &peer_tls {
        Some(peer_tls) => Arc::new(TlsChannels { local_ip, config: peer_tls.client.clone() }),
        None => Arc::new(TcpChannels { local_ip }),
    };
    let node = replica.spawn(LockNode::start(config, log_store, state_machine, clock.clone(), channels)).await??;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        stop_tx.send_replace(true);
    });

    let limits_on = !args.rate_limits_off();
    if !limits_on {
        tracing::warn!("rate limits are off (LOCKD_RATE_LIMITS=off)");
    }
    let cors_origins = args
        .cors_origins
        .iter()
        .map(|origin| {
            let origin = origin.trim();
            anyhow::ensure!(
                (origin.starts_with("https://") || origin.starts_with("http://")) && !origin.ends_with('/'),
                "--cors-origins: {origin:?} is not an origin like https://app.example.com"
            );
            axum::http::HeaderValue::from_str(origin).with_context(|| format!("--cors-origins: {origin:?}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let api_config = ApiConfig {
        cors_origins,
        dev_mode: args.dev,
        lock_ttl_ms: args.lock_ttl_ms,
        lock_attempts: limits_on.then_some(lockd_api::rate::Quota {
            per_second: args.lock_attempts_per_sec,
            burst: args.lock_attempts_burst,
        }),
        ws_frames: limits_on.then(lockd_api::FrameQuotas::default),
        disconnect_grace_ms: (args.disconnect_grace_ms > 0).then_some(args.disconnect_grace_ms),
        socket_caps: lockd_api::sockets::SocketCaps { per_user: args.sockets_per_user, per_node: args.sockets_max },
        ..ApiConfig::default()
    };
    let (authenticator, idp_keys) = auth::authenticator(&args, clock.clone())?;
    if let Some(idp_keys) = idp_keys {
        // The first fetch runs in the background: a node whose IdP is down still serves the
        // cluster, and answers tokens 503 until the keys arrive.
        tokio::spawn(idp_keys.refresh_forever());
    }
    let state = AppState::new(node.clone(), Arc::new(authenticator), clock, api_config);

    let grpc =
        lockd_raft::network::peer_server().add_service(node.grpc_service()).add_service(state.presence_service());
    let grpc_stopped = stopped(stop_rx.clone());
    // One port for gRPC and the lean framing of the calls every write waits on (ADR 32).
    let listener = std::net::TcpListener::bind(args.raft_addr)
        .with_context(|| format!("binding the peer address {}", args.raft_addr))?;
    listener.set_nonblocking(true)?;
    let tls = peer_tls.as_ref().map(|peer_tls| peer_tls.server.clone());
    let wire = node.wire_service();
    let grpc_task = replica.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).ok()?;
        let incoming = lockd_raft::network::listener::incoming(listener, tls, wire);
        grpc.serve_with_incoming_shutdown(incoming, grpc_stopped).await.ok()
    });

    if let Some(peers) = peers {
        node.initialize(peers).await?;
    }
    state.spawn_background();
    if args.seed_demo {
        tokio::spawn(seed::demo_appointments(node.clone()));
    }
    let app = lockd_api::router(state, args.web_dir.as_deref());
    let https = tls::https(&args)?;
    let mut watched: Vec<(&'static str, Arc<dyn lockd_raft::network::tls::Reload>)> = Vec::new();
    if let Some(https) = &https {
        watched.push(("https", https.clone()));
    }
    if let Some(peer_tls) = &peer_tls {
        watched.push(("peer server", peer_tls.server.clone()));
        watched.push(("peer client", peer_tls.client.clone()));
    }
    tls::spawn_reloader(watched, args.tls_reload_check_ms);
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("binding the HTTP address {}", args.http_addr))?;
    tracing::info!(node_id = args.node_id, http = %args.http_addr, raft = %args.raft_addr, https = https.is_some(), peer_tls = peer_tls.is_some(), oidc = args.oidc_issuer.is_some(), dev = args.dev, "lockd is serving");
    anyhow::ensure!(args.http_connections_max > 0, "--http-connections-max must be at least 1");
    anyhow::ensure!(args.http_header_timeout_ms > 0, "--http-header-timeout-ms must be at least 1");
    let http_limits = lockd_api::serve::HttpLimits {
        connections_max: args.http_connections_max,
        header_read_timeout_ms: args.http_header_timeout_ms,
    };
    lockd_api::serve::serve(listener, app, http_limits, https, stopped(stop_rx)).await?;

    node.shutdown().await;
    grpc_task.await.ok();
    tracing::info!("stopped");
    Ok(())
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
