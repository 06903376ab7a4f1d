//! The node's TLS from its flags, and the task that reloads certificates when their files
//! change or on SIGHUP (ADR 26).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use lockd_api::serve::HttpsConfig;
use lockd_raft::network::tls::{PeerTls, Reload, Reloading, TlsFiles, server_config};

use crate::config::Args;

/// The HTTPS config, if `--tls-cert-file` is set.
pub fn https(args: &Args) -> anyhow::Result<Option<HttpsConfig>> {
    let (Some(cert), Some(key)) = (&args.tls_cert_file, &args.tls_key_file) else { return Ok(None) };
    let files = TlsFiles { cert: cert.clone(), key: key.clone(), ca: None };
    let built_from = files.clone();
    let config = Reloading::new(&files, move || server_config(&built_from))
        .map_err(anyhow::Error::msg)
        .context("--tls-cert-file/--tls-key-file")?;
    Ok(Some(config))
}

/// Mutual TLS between peers, if `--peer-tls-cert-file` is set.
pub fn peer(args: &Args) -> anyhow::Result<Option<PeerTls>> {
    let (Some(cert), Some(key), Some(ca)) = (&args.peer_tls_cert_file, &args.peer_tls_key_file, &args.peer_tls_ca_file)
    else {
        return Ok(None);
    };
    if args.cluster_secret.is_some() || args.cluster_secret_file.is_some() {
        tracing::warn!("peers authenticate with certificates: the cluster secret is not used");
    }
    let files = TlsFiles { cert: cert.clone(), key: key.clone(), ca: Some(ca.clone()) };
    let peer_tls = PeerTls::new(&files).map_err(anyhow::Error::msg).context("--peer-tls-*")?;
    Ok(Some(peer_tls))
}

/// Checks every config in `watched` every `check_ms` and rebuilds the changed ones; SIGHUP
/// rebuilds all at once. A rebuild that fails keeps the old config and is logged.
pub fn spawn_reloader(watched: Vec<(&'static str, Arc<dyn Reload>)>, check_ms: u64) {
    if watched.is_empty() {
        return;
    }
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(Duration::from_millis(check_ms.max(100)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let forced = tokio::select! {
                _ = tick.tick() => false,
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
            };
            #[cfg(not(unix))]
            let forced = {
                tick.tick().await;
                false
            };
            for (what, config) in &watched {
                let result = if forced { config.reload().map(|()| true) } else { config.reload_if_changed() };
                match result {
                    Ok(true) => tracing::info!(what, "reloaded TLS certificates"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(what, error = %e, "new TLS files do not load; the old ones stay in use"),
                }
            }
        }
    });
}
