//! lockd's HTTP layer (axum 0.8): the appointment and lock API of the contract, served by
//! every node. Handlers are thin: authenticate, validate, build one command, submit it to
//! the replica (which forwards to the leader) and map the answer.
//!
//! This is the only crate that knows HTTP and JSON. It knows nothing of RocksDB or openraft's
//! internals: it talks to [`lockd_raft::node::LockNode`].

pub mod auth;
pub mod dto;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod presence;
pub mod problem;
pub mod rate;
pub mod routes;
pub mod serve;
pub mod sockets;
pub mod text;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use lockd_raft::clock::Clock;
use lockd_raft::node::LockNode;

use crate::auth::Authenticator;
use crate::problem::Problem;
use crate::routes::{appointments, cluster, locks, login, updates};

#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Lock attempts (acquire, takeover) per user; `None` switches the limit off
    /// (`LOCKD_RATE_LIMITS=off`, for benchmarks).
    pub lock_attempts: Option<rate::Quota>,
    /// `POST /auth/dev-login` hands out tokens for any demo identity.
    pub dev_mode: bool,
    /// The lease a lock gets when the client does not ask for a shorter one.
    pub lock_ttl_ms: u64,
    pub waiter_ttl_ms: u64,
    /// Frames a WebSocket client may send, per socket and per user; `None` switches the
    /// limits off (with the lock-attempt limit).
    pub ws_frames: Option<FrameQuotas>,
    /// How long the lock holder's tab may be gone before its lock is released
    /// (`disconnected`); `None` leaves it to the lease.
    pub disconnect_grace_ms: Option<u64>,
    /// Origins other than the node's own that browsers may call the API from. Empty (the
    /// default): same origin only, no CORS headers at all.
    pub cors_origins: Vec<axum::http::HeaderValue>,
    /// Open WebSockets per user and per node.
    pub socket_caps: sockets::SocketCaps,
}

#[derive(Debug, Clone, Copy)]
pub struct FrameQuotas {
    pub per_socket: rate::Quota,
    pub per_user: rate::Quota,
}

impl Default for FrameQuotas {
    fn default() -> Self {
        FrameQuotas {
            per_socket: rate::Quota { per_second: limits::WS_FRAMES_PER_SEC, burst: limits::WS_FRAMES_BURST },
            per_user: rate::Quota { per_second: limits::WS_USER_FRAMES_PER_SEC, burst: limits::WS_USER_FRAMES_BURST },
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            lock_attempts: Some(rate::Quota::LOCK_ATTEMPTS),
            dev_mode: false,
            lock_ttl_ms: limits::LOCK_TTL_MS_DEFAULT,
            waiter_ttl_ms: limits::WAITER_TTL_MS_DEFAULT,
            ws_frames: Some(FrameQuotas::default()),
            disconnect_grace_ms: Some(limits::DISCONNECT_GRACE_MS_DEFAULT),
            cors_origins: Vec::new(),
            socket_caps: sockets::SocketCaps::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub node: LockNode,
    pub auth: Arc<Authenticator>,
    pub clock: Arc<dyn Clock>,
    pub config: ApiConfig,
    pub presence: Arc<presence::PresenceHub>,
    pub relay_stats: Arc<presence::relay::RelayStats>,
    pub metrics: Arc<metrics::HttpMetrics>,
    pub sockets: Arc<sockets::OpenSockets>,
    lock_attempts: Option<Arc<rate::UserLimiter>>,
    user_frames: Option<Arc<rate::UserLimiter>>,
}

impl AppState {
    pub fn new(node: LockNode, auth: Arc<Authenticator>, clock: Arc<dyn Clock>, config: ApiConfig) -> Self {
        let lock_attempts = config.lock_attempts.map(|quota| Arc::new(rate::UserLimiter::new(quota, clock.clone())));
        if let Some(quota) = config.lock_attempts {
            // The same budget again where every write of the cluster passes: on the leader.
            node.admit_writes_with(Arc::new(rate::ClusterLockAttempts::new(quota, clock.clone())));
        }
        let user_frames = config.ws_frames.map(|q| Arc::new(rate::UserLimiter::new(q.per_user, clock.clone())));
        let presence = presence::PresenceHub::new(node.id(), clock.clone());
        let relay_stats = Arc::default();
        let metrics = Arc::new(metrics::HttpMetrics::new());
        let sockets = sockets::OpenSockets::new(config.socket_caps);
        AppState { node, auth, clock, config, presence, relay_stats, metrics, sockets, lock_attempts, user_frames }
    }

    /// The presence relay's receiving end, to serve beside the Raft service on the peer port.
    pub fn presence_service(
        &self,
    ) -> tonic::service::interceptor::InterceptedService<
        lockd_raft::codec::pb::presence_relay_server::PresenceRelayServer<presence::relay::RelayService>,
        lockd_raft::network::PeerGuard,
    > {
        presence::relay::RelayService::new(self.presence.clone(), self.relay_stats.clone(), self.node.stopped())
            .into_server(&self.node)
    }

    /// Starts what runs beside the handlers: the presence relay to every peer. It stops when
    /// the node does.
    pub fn spawn_background(&self) {
        tokio::spawn(presence::relay::run(self.node.clone(), self.presence.clone(), self.relay_stats.clone()));
    }

    /// A limiter for one new socket's frames, if frames are limited.
    pub fn socket_frames(&self) -> Option<rate::SocketLimiter> {
        self.config.ws_frames.map(|q| rate::SocketLimiter::new(q.per_socket, self.clock.clone()))
    }

    /// Counts one frame of `user_id` against the per-user limit.
    pub fn user_frame(&self, user_id: &str) -> bool {
        self.user_frames.as_ref().is_none_or(|limiter| limiter.check(user_id).is_ok())
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
        let cluster_now_ms = self.node.read(|a| a.sm.now_ms());
        self.clock.now_ms().max(cluster_now_ms)
    }
}

/// Every path the API serves; the router uses these names, and the OpenAPI document must
/// list exactly these (`openapi::tests`).
pub mod paths {
    pub const APPOINTMENTS: &str = "/appointments";
    pub const APPOINTMENT: &str = "/appointments/{id}";
    pub const DRAFT: &str = "/appointments/{id}/draft";
    pub const LOCK_STATUS: &str = "/appointments/{id}/lock-status";
    pub const ACQUIRE: &str = "/appointments/{id}/acquire-lock";
    pub const HEARTBEAT: &str = "/appointments/{id}/heartbeat";
    pub const RELEASE: &str = "/appointments/{id}/release-lock";
    pub const TAKEOVER: &str = "/appointments/{id}/takeover";
    pub const AUDIT: &str = "/appointments/{id}/audit";
    pub const CONTINUE_HERE: &str = "/appointments/{id}/continue-here";
    pub const RECENT_AUDIT: &str = "/audit";
    pub const APPOINTMENT_UPDATES: &str = "/appointments/{id}/updates";
    pub const UPDATES: &str = "/updates";
    pub const CLUSTER_STATUS: &str = "/cluster/status";
    pub const CLUSTER_MEMBERS: &str = "/cluster/members";
    pub const CLUSTER_MEMBER: &str = "/cluster/members/{nodeId}";
    pub const HEALTHZ: &str = "/healthz";
    pub const READYZ: &str = "/readyz";
    pub const DEV_LOGIN: &str = "/auth/dev-login";
    pub const AUTH_CONFIG: &str = "/auth/config";
    pub const AUTH_ME: &str = "/auth/me";
    /// Not an API route: the web app's page the identity provider returns to after sign-in.
    /// It lies under the API's `/auth` prefix, so it is named for the web app explicitly.
    pub const SIGN_IN_CALLBACK: &str = "/auth/callback";
    pub const METRICS: &str = "/metrics";
    pub const OPENAPI: &str = "/openapi.json";
}

pub const ROUTES: &[&str] = &[
    paths::APPOINTMENTS,
    paths::APPOINTMENT,
    paths::DRAFT,
    paths::LOCK_STATUS,
    paths::ACQUIRE,
    paths::HEARTBEAT,
    paths::RELEASE,
    paths::TAKEOVER,
    paths::CONTINUE_HERE,
    paths::AUDIT,
    paths::RECENT_AUDIT,
    paths::APPOINTMENT_UPDATES,
    paths::UPDATES,
    paths::CLUSTER_STATUS,
    paths::CLUSTER_MEMBERS,
    paths::CLUSTER_MEMBER,
    paths::HEALTHZ,
    paths::READYZ,
    paths::DEV_LOGIN,
    paths::AUTH_CONFIG,
    paths::AUTH_ME,
    paths::METRICS,
    paths::OPENAPI,
];

/// The API router, and the built web app from `web_dir` for every other path (a single-page
/// app: unknown paths get `index.html`). API paths never fall through to the web app.
pub fn router(state: AppState, web_dir: Option<&std::path::Path>) -> Router {
    let api = Router::new()
        .route(paths::APPOINTMENTS, get(appointments::list).post(appointments::create))
        .route(paths::APPOINTMENT, get(appointments::get).put(appointments::update))
        .route(
            paths::DRAFT,
            get(appointments::get_draft).put(appointments::save_draft).delete(appointments::discard_draft),
        )
        .route(paths::LOCK_STATUS, get(locks::lock_status))
        .route(paths::ACQUIRE, post(locks::acquire))
        .route(paths::HEARTBEAT, post(locks::heartbeat))
        .route(paths::RELEASE, axum::routing::delete(locks::release))
        .route(paths::TAKEOVER, post(locks::takeover))
        .route(paths::CONTINUE_HERE, post(locks::continue_here))
        .route(paths::AUDIT, get(locks::audit))
        .route(paths::RECENT_AUDIT, get(locks::recent_audit))
        .route(paths::APPOINTMENT_UPDATES, get(updates::appointment_updates))
        .route(paths::UPDATES, get(updates::all_updates))
        .route(paths::CLUSTER_STATUS, get(cluster::status))
        .route(paths::CLUSTER_MEMBERS, post(cluster::add_member))
        .route(paths::CLUSTER_MEMBER, axum::routing::delete(cluster::remove_member))
        .route(paths::HEALTHZ, get(cluster::healthz))
        .route(paths::READYZ, get(cluster::readyz))
        .route(paths::AUTH_CONFIG, get(login::auth_config))
        .route(paths::AUTH_ME, get(login::me))
        .route(paths::METRICS, get(metrics::metrics))
        .route(paths::OPENAPI, get(openapi::document));
    // Mounted in dev mode only: elsewhere the path is an unknown route, and its body is never read.
    let api = if state.config.dev_mode { api.route(paths::DEV_LOGIN, post(login::dev_login)) } else { api };
    let api = api
        .method_not_allowed_fallback(|| async {
            Problem::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::observe))
        .layer(DefaultBodyLimit::max(limits::BODY_BYTES_MAX));
    let api = match cors(&state.config.cors_origins) {
        Some(layer) => api.layer(layer),
        None => api,
    }
    .with_state(state);
    match web_dir {
        Some(dir) => with_web_app(api, dir),
        None => api.fallback(|| async { Problem::not_found("no such route") }),
    }
}

/// Serves the built web app for every path the API does not route; unknown paths get
/// `index.html` (the app routes them). Paths under an API prefix never do: a mistyped API call
/// answers 404 problem+json, not 200 with a page.
fn with_web_app(api: Router, dir: &std::path::Path) -> Router {
    use tower::ServiceExt;
    let index = tower_http::services::ServeFile::new(dir.join("index.html"));
    let web = tower_http::services::ServeDir::new(dir).fallback(index);
    api.fallback(move |request: axum::extract::Request| {
        let web = web.clone();
        async move {
            if is_api_path(request.uri().path()) {
                return Problem::not_found("no such route").into_response();
            }
            match web.oneshot(request).await {
                Ok(response) => response.into_response(),
                Err(never) => match never {},
            }
        }
    })
}

/// Whether `path`'s first segment is one of the API's (`/appointments/…`, `/cluster/…`, …),
/// but for the web app's own pages under those prefixes.
fn is_api_path(path: &str) -> bool {
    if path == paths::SIGN_IN_CALLBACK {
        return false;
    }
    let first = |p: &str| p.trim_start_matches('/').split('/').next().unwrap_or("").to_owned();
    let segment = first(path);
    ROUTES.iter().any(|route| first(route) == segment)
}

/// CORS for the configured origins only; none configured means same origin only.
fn cors(origins: &[axum::http::HeaderValue]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{Method, header};
    if origins.is_empty() {
        return None;
    }
    Some(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins.to_vec())
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::IF_MATCH,
                header::HeaderName::from_static("idempotency-key"),
                header::HeaderName::from_static("x-fencing-token"),
                header::HeaderName::from_static("x-session-id"),
                header::HeaderName::from_static(lockd_raft::trace::HEADER),
            ])
            .expose_headers([
                header::ETAG,
                header::RETRY_AFTER,
                header::HeaderName::from_static(lockd_raft::trace::HEADER),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

/// Unknown paths under the API's prefixes are API 404s, not the web app's index page.
#[cfg(test)]
mod web_app_tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    use super::*;

    /// The API's real route table (each answering "api") with the web app behind it.
    fn app(dir: &std::path::Path) -> Router {
        let api = ROUTES.iter().fold(Router::new(), |router, route| router.route(route, get(|| async { "api" })));
        with_web_app(api, dir)
    }

    fn built_app(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lockd-web-{}-{name}", std::process::id()));
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join("index.html"), "<html>app</html>").unwrap();
        std::fs::write(dir.join("assets/app.js"), "console.log(1)").unwrap();
        dir
    }

    async fn get_path(app: &Router, path: &str) -> (StatusCode, String, String) {
        let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
        let status = response.status();
        let kind = response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        let body = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
        (status, kind, body)
    }

    #[tokio::test]
    async fn the_app_is_served_beside_the_api_and_never_instead_of_it() {
        let dir = built_app("serve");
        let app = app(&dir);
        assert_eq!(get_path(&app, "/").await, (StatusCode::OK, "text/html".into(), "<html>app</html>".into()));
        // The app's own routes get index.html; its files are served as they are.
        assert_eq!(get_path(&app, "/appointment/demo-1").await.2, "<html>app</html>");
        assert_eq!(get_path(&app, "/assets/app.js").await.2, "console.log(1)");
        // The page the identity provider returns to lies under /auth, and is the app's.
        assert_eq!(get_path(&app, "/auth/callback?code=x&state=y").await.2, "<html>app</html>");
        assert_eq!(get_path(&app, "/auth/me").await.2, "api");
        // API routes answer as the API; unknown paths under API prefixes are 404 problems.
        assert_eq!(get_path(&app, "/appointments/demo-1/lock-status").await.2, "api");
        for path in ["/appointments/demo-1/nope", "/appointments/a/b/c/d", "/cluster/whatever", "/auth/x"] {
            let (status, kind, _) = get_path(&app, path).await;
            assert_eq!((status, kind.as_str()), (StatusCode::NOT_FOUND, "application/problem+json"), "{path}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
