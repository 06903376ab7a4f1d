//! Command line and environment: every flag has a `LOCKD_*` variable.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, anyhow, bail};
use clap::Parser;
use lockd_raft::node::{RaftTiming, SnapshotPolicy};
use lockd_raft::types::{NodeId, NodeInfo, check_member_addr};

#[derive(Debug, Parser)]
#[command(name = "lockd", version, about = "A node of the lockd appointment lock cluster")]
pub struct Args {
    /// This node's id: unique in the cluster, and never reused for another node.
    #[arg(long, env = "LOCKD_NODE_ID")]
    pub node_id: NodeId,

    /// Where the log, vote and snapshots live (RocksDB).
    #[arg(long, env = "LOCKD_DATA_DIR")]
    pub data_dir: PathBuf,

    /// HTTP API and web app.
    #[arg(long, env = "LOCKD_HTTP_ADDR", default_value = "127.0.0.1:8081")]
    pub http_addr: SocketAddr,

    /// gRPC between peers.
    #[arg(long, env = "LOCKD_RAFT_ADDR", default_value = "127.0.0.1:9081")]
    pub raft_addr: SocketAddr,

    /// How peers reach this node's HTTP and peer ports, when not where it listens (behind
    /// NAT, a port mapping or a proxy). Its own `--peers` entry must say the same.
    #[arg(long, env = "LOCKD_ADVERTISE_HTTP_ADDR")]
    pub advertise_http_addr: Option<String>,
    #[arg(long, env = "LOCKD_ADVERTISE_RAFT_ADDR")]
    pub advertise_raft_addr: Option<String>,
    /// The founding members, the same list on every founding node:
    /// `id=raft_addr/http_addr,...`. A node with a log ignores it. Omit it on a node that
    /// joins later through `POST /cluster/members`.
    #[arg(long, env = "LOCKD_PEERS")]
    pub peers: Option<String>,

    /// Secret that signs and verifies HS256 user tokens (dev login, or an issuer of the
    /// organisation's that shares it). Optional with `--oidc-issuer` outside dev mode.
    #[arg(long, env = "LOCKD_JWT_SECRET", hide_env_values = true, conflicts_with = "jwt_secret_file")]
    pub jwt_secret: Option<String>,
    #[arg(long, env = "LOCKD_JWT_SECRET_FILE")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Mutual TLS between peers (ADR 26): this node's certificate and key, and the cluster's CA
    /// (every certificate in the file is trusted: old and new during a rotation). A peer's
    /// certificate must name the host of its member address. Watched like `--tls-cert-file`.
    /// With these, the cluster secret is not used.
    #[arg(long, env = "LOCKD_PEER_TLS_CERT_FILE", requires_all = ["peer_tls_key_file", "peer_tls_ca_file"])]
    pub peer_tls_cert_file: Option<PathBuf>,
    #[arg(long, env = "LOCKD_PEER_TLS_KEY_FILE", requires = "peer_tls_cert_file")]
    pub peer_tls_key_file: Option<PathBuf>,
    #[arg(long, env = "LOCKD_PEER_TLS_CA_FILE", requires = "peer_tls_cert_file")]
    pub peer_tls_ca_file: Option<PathBuf>,

    /// Secret every RPC between peers carries (without `--peer-tls-*`; dev mode and private
    /// networks).
    #[arg(long, env = "LOCKD_CLUSTER_SECRET", hide_env_values = true, conflicts_with = "cluster_secret_file")]
    pub cluster_secret: Option<String>,
    #[arg(long, env = "LOCKD_CLUSTER_SECRET_FILE")]
    pub cluster_secret_file: Option<PathBuf>,

    /// OpenID Connect identity provider whose tokens this node accepts: the issuer URL, which
    /// tokens' `iss` must equal; its keys come from its discovery document unless
    /// `--oidc-jwks-url` or `--oidc-jwks-file` says where.
    #[arg(long, env = "LOCKD_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The audience tokens must be for (`aud`); required with `--oidc-issuer`.
    #[arg(long, env = "LOCKD_OIDC_AUDIENCE", requires = "oidc_issuer")]
    pub oidc_audience: Option<String>,
    #[arg(long, env = "LOCKD_OIDC_JWKS_URL", requires = "oidc_issuer", conflicts_with = "oidc_jwks_file")]
    pub oidc_jwks_url: Option<String>,
    /// A JWKS file, read again every refresh (replace it to rotate).
    #[arg(long, env = "LOCKD_OIDC_JWKS_FILE", requires = "oidc_issuer")]
    pub oidc_jwks_file: Option<PathBuf>,
    /// A CA (PEM) to trust for the IdP's HTTPS, besides the system's.
    #[arg(long, env = "LOCKD_OIDC_CA_FILE", requires = "oidc_issuer")]
    pub oidc_ca_file: Option<PathBuf>,
    /// The web app's client id at the IdP (a public client, authorization code with PKCE);
    /// unset: the web app offers no IdP sign-in.
    #[arg(long, env = "LOCKD_OIDC_CLIENT_ID", requires = "oidc_issuer")]
    pub oidc_client_id: Option<String>,
    /// Scopes the web app asks for.
    #[arg(long, env = "LOCKD_OIDC_SCOPES", default_value = "openid profile email offline_access")]
    pub oidc_scopes: String,
    /// Claim paths of the person's name, email and roles: a claim name, or dot-separated
    /// steps into nested claims (`realm_access.roles` for Keycloak, `groups`, or a
    /// namespaced `https://example.com/roles`).
    #[arg(long, env = "LOCKD_OIDC_NAME_CLAIM", default_value = "name")]
    pub oidc_name_claim: String,
    #[arg(long, env = "LOCKD_OIDC_EMAIL_CLAIM", default_value = "email")]
    pub oidc_email_claim: String,
    #[arg(long, env = "LOCKD_OIDC_ROLES_CLAIM", default_value = "roles")]
    pub oidc_roles_claim: String,
    /// The role (or group) that makes a person an admin.
    #[arg(long, env = "LOCKD_OIDC_ADMIN_ROLE", default_value = "lockd-admin")]
    pub oidc_admin_role: String,
    /// The role (or group) a person needs to use lockd at all; unset: anyone the IdP signs in.
    #[arg(long, env = "LOCKD_OIDC_USER_ROLE")]
    pub oidc_user_role: Option<String>,

    /// HTTPS on the HTTP port: the certificate chain (PEM, leaf first) and its key. Both are
    /// watched: replace the files (or send SIGHUP) to rotate without a restart.
    #[arg(long, env = "LOCKD_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    #[arg(long, env = "LOCKD_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// How often certificate files are checked for changes, in ms.
    #[arg(long, env = "LOCKD_TLS_RELOAD_CHECK_MS", default_value_t = 5_000)]
    pub tls_reload_check_ms: u64,

    /// Dev mode: `POST /auth/dev-login` hands out tokens for demo users. Never in production.
    #[arg(long, env = "LOCKD_DEV")]
    pub dev: bool,

    /// Create a few demo appointments once a leader is elected, if there are none.
    #[arg(long, env = "LOCKD_SEED_DEMO")]
    pub seed_demo: bool,

    /// The built web app to serve (web/dist).
    #[arg(long, env = "LOCKD_WEB_DIR")]
    pub web_dir: Option<PathBuf>,

    /// Default lock lease in ms (5 minutes of inactivity).
    #[arg(long, env = "LOCKD_LOCK_TTL_MS", default_value_t = lockd_api::limits::LOCK_TTL_MS_DEFAULT)]
    pub lock_ttl_ms: u64,

    /// Raft heartbeat and election timeouts, in ms.
    #[arg(long, env = "LOCKD_HEARTBEAT_MS", default_value_t = RaftTiming::default().heartbeat_interval_ms)]
    pub heartbeat_ms: u64,
    #[arg(long, env = "LOCKD_ELECTION_MIN_MS", default_value_t = RaftTiming::default().election_timeout_min_ms)]
    pub election_min_ms: u64,
    #[arg(long, env = "LOCKD_ELECTION_MAX_MS", default_value_t = RaftTiming::default().election_timeout_max_ms)]
    pub election_max_ms: u64,
    /// Applied entries between snapshots.
    #[arg(long, env = "LOCKD_SNAPSHOT_EVERY", default_value_t = SnapshotPolicy::default().every_entries)]
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot for lagging followers.
    #[arg(long, env = "LOCKD_KEEP_LOG_ENTRIES", default_value_t = SnapshotPolicy::default().keep_log_entries)]
    pub keep_log_entries: u64,

    /// `off` switches every rate limit off (benchmarks); anything else, or unset, keeps them.
    #[arg(long, env = "LOCKD_RATE_LIMITS", default_value = "on")]
    pub rate_limits: String,
    /// Lock attempts (acquire, takeover) per user and second, and the burst above that.
    #[arg(long, env = "LOCKD_LOCK_ATTEMPTS_PER_SEC", default_value_t = 5)]
    pub lock_attempts_per_sec: u32,
    #[arg(long, env = "LOCKD_LOCK_ATTEMPTS_BURST", default_value_t = 20)]
    pub lock_attempts_burst: u32,
    /// How long the lock holder's tab may be gone (its last socket closed) before the lock is
    /// released with reason `disconnected`; 0 leaves it to the lease.
    #[arg(long, env = "LOCKD_DISCONNECT_GRACE_MS", default_value_t = lockd_api::limits::DISCONNECT_GRACE_MS_DEFAULT)]
    pub disconnect_grace_ms: u64,
    /// Applied-log events buffered for WebSocket streams (16 to 1,000,000). A socket that falls
    /// further behind gets a fresh snapshot instead; more buffer rides out longer stalls at
    /// the cost of memory (an event is ~0.5–6 KiB).
    #[arg(long, env = "LOCKD_EVENT_BUFFER", default_value_t = lockd_raft::limits::NOTIFICATIONS_BUFFERED_MAX)]
    pub event_buffer: usize,
    /// Origins (comma-separated, e.g. `https://app.example.com`) allowed to call the API from
    /// a browser page they serve. Unset: same origin only.
    #[arg(long, env = "LOCKD_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Open WebSockets one user may have on this node (all their tabs); more are refused with
    /// 429 `too_many_sockets`.
    #[arg(long, env = "LOCKD_SOCKETS_PER_USER", default_value_t = lockd_api::limits::WS_SOCKETS_PER_USER_MAX_DEFAULT)]
    pub sockets_per_user: u32,
    /// Open WebSockets on this node; more are refused with 503 `too_many_sockets_on_node`.
    #[arg(long, env = "LOCKD_SOCKETS_MAX", default_value_t = lockd_api::limits::WS_SOCKETS_PER_NODE_MAX_DEFAULT)]
    pub sockets_max: u32,
    /// HTTP connections served at once; one more is answered 503 `too_many_connections`.
    #[arg(long, env = "LOCKD_HTTP_CONNECTIONS_MAX", default_value_t = lockd_api::limits::HTTP_CONNECTIONS_MAX_DEFAULT)]
    pub http_connections_max: usize,
    /// How long a client may take to send a request's head, and how long a kept-alive
    /// connection may wait idle for its next request, in ms.
    #[arg(long, env = "LOCKD_HTTP_HEADER_TIMEOUT_MS", default_value_t = lockd_api::limits::HTTP_HEADER_READ_TIMEOUT_MS_DEFAULT)]
    pub http_header_timeout_ms: u64,
}

impl Args {
    pub fn rate_limits_off(&self) -> bool {
        self.rate_limits.trim().eq_ignore_ascii_case("off")
    }
}

/// Checks this node's own `--peers` entry: it must be the advertised address where one is
/// given, else an address this node listens on.
pub fn check_own_entry(args: &Args, me: &NodeInfo) -> anyhow::Result<()> {
    let fits = |entry: &str, advertised: &Option<String>, listening: SocketAddr| match advertised {
        Some(advertised) => entry == advertised,
        None => advertised_matches(entry, listening),
    };
    anyhow::ensure!(
        fits(&me.raft_addr, &args.advertise_raft_addr, args.raft_addr)
            && fits(&me.http_addr, &args.advertise_http_addr, args.http_addr),
        "--peers lists node {} at {}/{}, but it listens on {}/{}{} (a name must resolve to the \
         address it listens on, or listen on 0.0.0.0, or say --advertise-raft-addr/--advertise-http-addr)",
        args.node_id,
        me.raft_addr,
        me.http_addr,
        args.raft_addr,
        args.http_addr,
        match (&args.advertise_raft_addr, &args.advertise_http_addr) {
            (None, None) => String::new(),
            (raft, http) => format!(
                " and advertises {}/{}",
                raft.as_deref().unwrap_or("(listen address)"),
                http.as_deref().unwrap_or("(listen address)")
            ),
        }
    );
    for addr in [&args.advertise_raft_addr, &args.advertise_http_addr].into_iter().flatten() {
        check_member_addr(addr).map_err(|e| anyhow!("--advertise-*: {e}"))?;
    }
    Ok(())
}

pub fn read_secret(value: &Option<String>, file: &Option<PathBuf>, what: &str) -> anyhow::Result<String> {
    let secret = match (value, file) {
        (Some(v), _) => v.clone(),
        (None, Some(path)) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the {what} from {}", path.display()))?
            .trim()
            .to_owned(),
        (None, None) => bail!("set the {what} (--{what} or --{what}-file)"),
    };
    if secret.len() < 16 {
        bail!("the {what} must be at least 16 characters");
    }
    Ok(secret)
}

/// Whether `advertised` (how peers reach this node, from `--peers`) can be the address this
/// node listens on: the same port, and an IP that is, or a name that resolves to, the one it
/// listens on. A node listening on every interface accepts any host: in a container the
/// name is all it knows, and it may not resolve before the pod is up.
pub fn advertised_matches(advertised: &str, listening: SocketAddr) -> bool {
    let Some((host, port)) = advertised.rsplit_once(':') else { return false };
    if port.parse::<u16>() != Ok(listening.port()) {
        return false;
    }
    if listening.ip().is_unspecified() {
        return true;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip == listening.ip(),
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(advertised)
            .is_ok_and(|mut found| found.any(|a| a.ip() == listening.ip())),
    }
}

/// Parses `id=raft_addr/http_addr,...`.
pub fn parse_peers(text: &str) -> anyhow::Result<BTreeMap<NodeId, NodeInfo>> {
    let mut peers = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, addrs) =
            item.split_once('=').with_context(|| format!("peer `{item}` is not id=raft_addr/http_addr"))?;
        let (raft_addr, http_addr) =
            addrs.split_once('/').with_context(|| format!("peer `{item}` is not id=raft_addr/http_addr"))?;
        let id: NodeId = id.parse().with_context(|| format!("peer id `{id}` is not a number"))?;
        check_member_addr(raft_addr).map_err(|e| anyhow!("peer {id}: {e}"))?;
        check_member_addr(http_addr).map_err(|e| anyhow!("peer {id}: {e}"))?;
        let info = NodeInfo { raft_addr: raft_addr.to_owned(), http_addr: http_addr.to_owned() };
        if peers.insert(id, info).is_some() {
            bail!("peer id {id} appears twice");
        }
    }
    if peers.is_empty() {
        bail!("--peers names no peer");
    }
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_bad_lists_are_refused() {
        let peers = parse_peers("1=127.0.0.1:9081/127.0.0.1:8081, 2=127.0.0.1:9082/127.0.0.1:8082").unwrap();
        assert_eq!(peers.len(), 2);
        assert_eq!(peers[&2].http_addr, "127.0.0.1:8082");
        assert!(parse_peers("1=127.0.0.1:9081").is_err());
        assert!(parse_peers("x=127.0.0.1:9081/127.0.0.1:8081").is_err());
        assert!(parse_peers("1=a/b").is_err());
        assert!(parse_peers("1=127.0.0.1:1/127.0.0.1:2,1=127.0.0.1:3/127.0.0.1:4").is_err());
        assert!(parse_peers("").is_err());
        let named = parse_peers("1=lockd-0.lockd:9081/lockd-0.lockd:8081").unwrap();
        assert_eq!(named[&1].raft_addr, "lockd-0.lockd:9081");
        assert!(parse_peers("1=lockd-0.lockd/lockd-0.lockd:8081").is_err());
    }

    #[test]
    fn the_advertised_address_must_be_where_the_node_listens() {
        let on = |a: &str| a.parse::<SocketAddr>().unwrap();
        assert!(advertised_matches("127.0.0.1:9081", on("127.0.0.1:9081")));
        assert!(!advertised_matches("127.0.0.2:9081", on("127.0.0.1:9081")));
        assert!(!advertised_matches("127.0.0.1:9082", on("127.0.0.1:9081")));
        assert!(!advertised_matches("lockd-0.invalid:9081", on("127.0.0.1:9081")));
        assert!(advertised_matches("localhost:9081", on("127.0.0.1:9081")));
        assert!(!advertised_matches("localhost:9081", on("127.0.0.2:9081")));
        assert!(advertised_matches("lockd-0.lockd:9081", on("0.0.0.0:9081")));
        assert!(advertised_matches("[::1]:9081", on("[::]:9081")));
        assert!(advertised_matches("[::1]:9081", on("[::1]:9081")));
        assert!(!advertised_matches("lockd-0.lockd:9082", on("0.0.0.0:9081")));
    }
}
