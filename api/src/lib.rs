//! lockd's HTTP layer (axum 0.8): the appointment and lock API of the contract, served by
//! every node. Handlers are thin: authenticate, validate, build one command, submit it to
//! the replica (which forwards to the leader) and map the answer.
//!
//! This is the only crate that knows HTTP and JSON. It knows nothing of RocksDB or openraft's
//! internals: it talks to [`lockd_raft::node::LockNode`].

pub mod auth;
pub mod dto;
pub mod limits;
pub mod problem;
pub mod rate;
pub mod routes;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use lockd_raft::clock::Clock;
use lockd_raft::node::LockNode;

use crate::auth::JwtKeys;
use crate::problem::Problem;
use crate::routes::{appointments, cluster, locks, login, updates};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Lock attempts (acquire, takeover) per user; `None` switches the limit off
    /// (`LOCKD_RATE_LIMITS=off`, for benchmarks).
    pub lock_attempts: Option<rate::LockAttemptQuota>,
    /// `POST /auth/dev-login` hands out tokens for any demo identity.
    pub dev_mode: bool,
    /// The lease a lock gets when the client does not ask for a shorter one.
    pub lock_ttl_ms: u64,
    pub waiter_ttl_ms: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            lock_attempts: Some(rate::LockAttemptQuota::default()),
            dev_mode: false,
            lock_ttl_ms: limits::LOCK_TTL_MS_DEFAULT,
            waiter_ttl_ms: limits::WAITER_TTL_MS_DEFAULT,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub node: LockNode,
    pub keys: Arc<JwtKeys>,
    pub clock: Arc<dyn Clock>,
    pub config: ApiConfig,
    lock_attempts: Option<Arc<rate::LockAttemptLimiter>>,
}

impl AppState {
    pub fn new(node: LockNode, keys: Arc<JwtKeys>, clock: Arc<dyn Clock>, config: ApiConfig) -> Self {
        let lock_attempts = config.lock_attempts.map(|quota| Arc::new(rate::LockAttemptLimiter::new(quota, clock.clone())));
        AppState { node, keys, clock, config, lock_attempts }
    }

    /// Counts one lock attempt of `user_id`; a problem (429) when over the limit.
    pub fn lock_attempt(&self, user_id: &str) -> Result<(), Problem> {
        match &self.lock_attempts {
            Some(limiter) => limiter.check(user_id).map_err(Problem::rate_limited),
            None => Ok(()),
        }
    }

    /// The time lock answers carry as `serverTime`: this node's clock, never behind the
    /// cluster time it has applied. Clients run countdowns against it, not their own clock.
    pub fn server_time_ms(&self) -> u64 {
        let cluster_now_ms = self.node.state().read(|a| a.sm.now_ms());
        self.clock.now_ms().max(cluster_now_ms)
    }
}

/// The API router, and the built web app from `web_dir` for every other path (a single-page
/// app: unknown paths get `index.html`). API paths never fall through to the web app.
pub fn router(state: AppState, web_dir: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route("/appointments", get(appointments::list).post(appointments::create))
        .route("/appointments/{id}", get(appointments::get).put(appointments::update))
        .route("/appointments/{id}/draft", get(appointments::get_draft).put(appointments::save_draft))
        .route("/appointments/{id}/lock-status", get(locks::lock_status))
        .route("/appointments/{id}/acquire-lock", post(locks::acquire))
        .route("/appointments/{id}/heartbeat", post(locks::heartbeat))
        .route("/appointments/{id}/release-lock", axum::routing::delete(locks::release))
        .route("/appointments/{id}/takeover", post(locks::takeover))
        .route("/appointments/{id}/audit", get(locks::audit))
        .route("/appointments/{id}/updates", get(updates::appointment_updates))
        .route("/updates", get(updates::all_updates))
        .route("/cluster/status", get(cluster::status))
        .route("/cluster/members", post(cluster::add_member))
        .route("/healthz", get(cluster::healthz))
        .route("/readyz", get(cluster::readyz))
        .route("/auth/dev-login", post(login::dev_login))
        .method_not_allowed_fallback(|| async {
            Problem::new(axum::http::StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(DefaultBodyLimit::max(limits::BODY_BYTES_MAX))
        .with_state(state);
    match web_dir {
        Some(dir) => {
            let index = tower_http::services::ServeFile::new(dir.join("index.html"));
            let web = tower_http::services::ServeDir::new(dir).fallback(index);
            api.route_service("/appointments/{*rest}", not_found_service()).fallback_service(web)
        }
        None => api.fallback(|| async { Problem::not_found("no such route") }),
    }
}

/// Unknown paths under the API's prefixes are API 404s, not the web app's index page.
fn not_found_service() -> axum::routing::MethodRouter {
    axum::routing::any(|| async { Problem::not_found("no such route") })
}

