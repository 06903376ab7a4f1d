//! Live updates over WebSocket, produced from this node's applied log (every node applies the
//! same log, so there is no fan-out between nodes):
//! - `GET /appointments/{id}/updates`: one appointment's lock and appointment events;
//! - `GET /updates`: the lock summary of every appointment, for the list page.
//!
//! A socket starts with a `snapshot` (the state at an applied index), then gets every event
//! after that index, each tagged with the index it came from, so what a client sees never goes
//! back. A client that falls behind the node's bounded event buffer, or a node that installs
//! a snapshot, gets a fresh `snapshot` instead of a gap.
//!
//! An appointment's socket also carries presence (`presence/`): the tab joins the viewers
//! while the socket is open; it gets `presence` (the roster, when it changes) and `pointer`
//! (other tabs' pointers, at most 30 times a second, latest only) and sends `pointer`,
//! `pointerLeave`, `heartbeat` and `ping`. Inbound frames are bounded, parsed strictly and
//! rate-limited per socket and per user; a flood closes the socket (1008), so does silence
//! longer than the idle limit (4408). When the lock holder's tab closes, `presence::disconnect`
//! releases the lock after a grace period.
//!
//! Browsers cannot set headers on a WebSocket: the JWT travels as the subprotocol
//! `bearer.<token>` next to `lockd` (or as `?accessToken=`), the tab's session as
//! `?sessionId=`. When the token expires the socket closes with code 4401.

//!
//! The module is split the way a connection is: `mod.rs` authenticates and upgrades (the
//! routes), `connection.rs` serves one socket (its select loop), `outbound.rs` renders what
//! the server sends, `inbound.rs` parses what a client sends and judges its rate.

mod connection;
mod inbound;
mod outbound;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::http::HeaderMap;
use axum::response::Response;
use lockd_raft::sm::Event;
use serde::Deserialize;

pub use self::inbound::{ClientFrame, parse_client_message};
pub use self::outbound::{event_message, pointer_message};
use super::{Path, Query, checked_id};
use crate::auth::Identity;
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::{AppState, limits};

/// The subprotocol the server speaks; a client offers it with its `bearer.<token>`.
pub const SUBPROTOCOL: &str = "lockd";
const BEARER_PREFIX: &str = "bearer.";
/// Close codes (4000–4999 are the application's).
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
pub const CLOSE_IDLE: u16 = 4408;
pub const CLOSE_POLICY: u16 = 1008;
/// The node is shutting down: reconnect, to this node later or to another now.
pub const CLOSE_GOING_AWAY: u16 = 1001;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SocketQuery {
    access_token: Option<String>,
    session_id: Option<String>,
}

/// What one socket follows.
#[derive(Debug, Clone)]
enum Scope {
    Appointment(String),
    All,
}

impl Scope {
    fn covers(&self, event: &Event) -> bool {
        match self {
            Scope::Appointment(id) => event.appointment_id() == id,
            Scope::All => true,
        }
    }
}

/// The token from the `bearer.` subprotocol or the query, verified; and whether the client
/// offered our subprotocol (then the answer must select it).
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: &SocketQuery,
) -> Result<(Identity, u64, bool), Problem> {
    let offered: Vec<&str> = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let from_protocol = offered.iter().find_map(|p| p.strip_prefix(BEARER_PREFIX));
    // Clients that can set headers (not browsers) may send it as on every other route.
    let from_header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = from_protocol.or(query.access_token.as_deref()).or(from_header).ok_or_else(|| {
        Problem::unauthenticated("offer the subprotocol bearer.<token>, ?accessToken= or an Authorization header")
    })?;
    let now_secs = state.clock.now_ms() / 1000;
    let (identity, exp_secs) = state.auth.verify_with_expiry(token, now_secs).await?;
    Ok((identity, exp_secs, offered.contains(&SUBPROTOCOL)))
}

/// Authentication comes first: a request that is not an upgrade is told so only once it has
/// shown a valid token.
fn upgrade(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    speaks_lockd: bool,
) -> Result<WebSocketUpgrade, Problem> {
    let ws = ws.map_err(|e| {
        Problem::new(e.status(), "invalid_input", format!("expected a WebSocket upgrade: {}", e.body_text()))
    })?;
    let ws = ws
        .max_message_size(limits::WS_INBOUND_BYTES_MAX)
        .max_frame_size(limits::WS_INBOUND_BYTES_MAX)
        .read_buffer_size(limits::WS_READ_BUFFER_BYTES);
    Ok(if speaks_lockd { ws.protocols([SUBPROTOCOL]) } else { ws })
}

#[utoipa::path(
    get,
    path = "/appointments/{id}/updates",
    tag = "live",
    params(
        ("id" = String, Path, description = "Appointment id"),
        ("sessionId" = Option<String>, Query, description = "The tab's session id"),
        ("accessToken" = Option<String>, Query, description = "The JWT, for clients that cannot offer the bearer.<token> subprotocol"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 101, description = "WebSocket: snapshot, lock and appointment events, presence, pointer (see docs/api.md)"),
        (status = 401, response = problems::Unauthenticated),
        (status = 429, description = "too_many_sockets: this user's sockets on this node are at their cap", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 503, description = "Not applied here and no leader reachable to check, or too_many_sockets_on_node", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn appointment_updates(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let (identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query).await?;
    let id = checked_id(id)?;
    // A tab without a session id is still a viewer, under a session of its own.
    let session_id = query.session_id.clone().unwrap_or_else(|| format!("ws-{}", uuid::Uuid::new_v4()));
    let actor = identity.in_session(session_id);
    actor.validate().map_err(Problem::invalid_input)?;
    let exists = || state.node.read(|a| a.sm.appointment(&id).is_some());
    if !exists() {
        // This node may not have applied a create acknowledged through another one yet: it
        // catches up to the leader's commit index before it says there is no such appointment.
        state.node.read_barrier().await?;
        if !exists() {
            return Err(Problem::not_found("no such appointment"));
        }
    }
    let permit = state.sockets.admit(&actor.user_id)?;
    let viewer = Some((id.clone(), actor.clone()));
    let scope = Scope::Appointment(id);
    Ok(upgrade(ws, speaks_lockd)?
        .on_upgrade(move |socket| connection::serve(state, scope, actor, viewer, exp_secs, permit, socket)))
}

#[utoipa::path(
    get,
    path = "/updates",
    tag = "live",
    params(
        ("sessionId" = Option<String>, Query, description = "The tab's session id"),
        ("accessToken" = Option<String>, Query, description = "The JWT, if not offered as a subprotocol"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 101, description = "WebSocket: every appointment's lock summary, then events"),
        (status = 401, response = problems::Unauthenticated),
        (status = 429, description = "too_many_sockets: this user's sockets on this node are at their cap", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "too_many_sockets_on_node: this node's sockets are at their cap", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn all_updates(
    State(state): State<AppState>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let (identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query).await?;
    let actor = identity.in_session(query.session_id.clone().unwrap_or_else(|| "list".to_owned()));
    actor.validate().map_err(Problem::invalid_input)?;
    let permit = state.sockets.admit(&actor.user_id)?;
    Ok(upgrade(ws, speaks_lockd)?
        .on_upgrade(move |socket| connection::serve(state, Scope::All, actor, None, exp_secs, permit, socket)))
}
