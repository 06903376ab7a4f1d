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

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::response::Response;
use lockd_raft::sm::{self, Actor, Event};
use lockd_raft::store::{Applied, Notification};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{Path, Query, checked_id};
use crate::auth::Identity;
use crate::presence::{Pointer, Viewer, ViewerKey};
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::rate::SocketLimiter;
use crate::{AppState, dto, limits};

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
fn authenticate(state: &AppState, headers: &HeaderMap, query: &SocketQuery) -> Result<(Identity, u64, bool), Problem> {
    let offered: Vec<&str> = headers
        .get_all(axum::http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let from_protocol = offered.iter().find_map(|p| p.strip_prefix(BEARER_PREFIX));
    let token = from_protocol
        .or(query.access_token.as_deref())
        .ok_or_else(|| Problem::unauthenticated("offer the subprotocol bearer.<token> (or ?accessToken=)"))?;
    let now_secs = state.clock.now_ms() / 1000;
    let (identity, exp_secs) = state.keys.verify_with_expiry(token, now_secs)?;
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
    let (identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query)?;
    let id = checked_id(id)?;
    // A tab without a session id is still a viewer, under a session of its own.
    let session_id = query.session_id.clone().unwrap_or_else(|| format!("ws-{}", uuid::Uuid::new_v4()));
    let actor = identity.in_session(session_id);
    actor.validate().map_err(Problem::invalid_input)?;
    let exists = || state.node.state().read(|a| a.sm.appointment(&id).is_some());
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
        .on_upgrade(move |socket| serve(state, scope, actor, viewer, exp_secs, permit, socket)))
}

#[utoipa::path(
    get,
    path = "/updates",
    tag = "live",
    params(
        ("accessToken" = Option<String>, Query, description = "The JWT, if not offered as a subprotocol"),
    ),
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
    let (identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query)?;
    let actor = identity.in_session(query.session_id.clone().unwrap_or_else(|| "list".to_owned()));
    actor.validate().map_err(Problem::invalid_input)?;
    let permit = state.sockets.admit(&actor.user_id)?;
    Ok(upgrade(ws, speaks_lockd)?
        .on_upgrade(move |socket| serve(state, Scope::All, actor, None, exp_secs, permit, socket)))
}

/// The state a socket starts from (and restarts from after a gap), with its applied index.
fn snapshot(state: &AppState, scope: &Scope) -> (u64, Value) {
    let server_time = dto::rfc3339(state.server_time_ms());
    let (index, mut body) = state.node.state().read(|applied: &Applied| {
        let index = applied.applied_index().unwrap_or(0);
        let sm = &applied.sm;
        let body = match scope {
            Scope::Appointment(id) => json!({
                "type": "snapshot",
                "index": index,
                "appointment": sm.appointment(id).map(dto::Appointment::from),
                "lock": sm.lock(id).map(dto::Lock::from),
                "queue": dto::queue(sm.queue(id)),
                "serverTime": server_time,
            }),
            Scope::All => {
                let appointments: Vec<Value> = sm
                    .appointments()
                    .map(|a| {
                        json!({
                            "id": a.id,
                            "title": a.fields.title,
                            "version": a.version,
                            "lock": sm.lock(&a.id).map(dto::Lock::from),
                            "queueLength": sm.queue(&a.id).len(),
                        })
                    })
                    .collect();
                json!({ "type": "snapshot", "index": index, "appointments": appointments, "serverTime": server_time })
            }
        };
        (index, body)
    });
    if let Scope::Appointment(id) = scope {
        let roster = state.presence.view(id, 0, 0, None).roster.unwrap_or_default();
        body["viewers"] = viewers_json(&roster);
    }
    (index, body)
}

fn viewer_json(viewer: &Viewer) -> Value {
    json!({
        "userId": viewer.actor.user_id,
        "sessionId": viewer.actor.session_id,
        "name": viewer.actor.name,
        "email": viewer.actor.email,
        "role": dto::role_name(viewer.actor.role),
        "nodeId": viewer.node_id,
        "pointer": viewer.pointer.map(|p| json!({ "x": p.x, "y": p.y })),
    })
}

fn viewers_json(viewers: &[Viewer]) -> Value {
    Value::Array(viewers.iter().map(viewer_json).collect())
}

/// A `pointer` message: where another tab's pointer is now (`x`, `y` null: off the form).
pub fn pointer_message(appointment_id: &str, viewer: &Viewer) -> Value {
    json!({
        "type": "pointer",
        "appointmentId": appointment_id,
        "userId": viewer.actor.user_id,
        "sessionId": viewer.actor.session_id,
        "name": viewer.actor.name,
        "x": viewer.pointer.map(|p| p.x),
        "y": viewer.pointer.map(|p| p.y),
    })
}

/// One event as the client sees it, tagged with the log index it came from.
pub fn event_message(index: u64, event: &Event, server_time_ms: u64) -> Value {
    let (kind, mut body) = match event {
        Event::LockAcquired { lock } => ("lock.acquired", json!({ "lock": dto::Lock::from(lock) })),
        Event::LockRenewed { lock } => ("lock.renewed", json!({ "lock": dto::Lock::from(lock) })),
        Event::LockReleased { previous, reason } => (
            "lock.released",
            json!({ "previous": dto::Lock::from(previous), "reason": match reason {
                sm::ReleaseReason::Released => "released",
                sm::ReleaseReason::Disconnected => "disconnected",
            } }),
        ),
        Event::LockExpired { previous } => ("lock.expired", json!({ "previous": dto::Lock::from(previous) })),
        Event::LockTakenOver { lock, previous, reason } => (
            "lock.taken_over",
            json!({ "lock": dto::Lock::from(lock), "previous": dto::Lock::from(previous), "reason": reason }),
        ),
        Event::QueueChanged { queue, .. } => ("lock.queued", json!({ "queue": dto::queue(queue) })),
        Event::AppointmentCreated(a) | Event::AppointmentUpdated(a) => {
            ("appointment.updated", json!({ "appointment": dto::Appointment::from(a) }))
        }
    };
    let object = body.as_object_mut().expect("built as an object above");
    object.insert("type".into(), kind.into());
    object.insert("index".into(), index.into());
    object.insert("appointmentId".into(), event.appointment_id().clone().into());
    object.insert("serverTime".into(), dto::rfc3339(server_time_ms).into());
    body
}

/// What a client may send, as it arrives. Anything else is answered with an error frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum ClientMessage {
    /// Answered with `pong` (and the server time).
    Ping(NoFields),
    /// Keeps the tab present; never renews the lock (activity does, through the REST
    /// heartbeat).
    Heartbeat(NoFields),
    /// The pointer moved over the form.
    Pointer(PointerPosition),
    /// The pointer left the form.
    PointerLeave(NoFields),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PointerPosition {
    x: f64,
    y: f64,
}

/// A message body with nothing but its `type` (serde ignores `deny_unknown_fields` on a unit
/// variant of an internally tagged enum, so the check lives here).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

/// An accepted client frame, checked once: a pointer is on the form.
#[derive(Debug, PartialEq)]
pub enum ClientFrame {
    Ping,
    Heartbeat,
    Pointer(Pointer),
    PointerLeave,
}

/// Parses one inbound text frame strictly: known types, no unknown fields, pointers on the
/// form.
pub fn parse_client_message(text: &str) -> Result<ClientFrame, String> {
    if text.len() > limits::WS_INBOUND_BYTES_MAX {
        return Err("message too large".into());
    }
    let message: ClientMessage = serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))?;
    Ok(match message {
        ClientMessage::Ping(_) => ClientFrame::Ping,
        ClientMessage::Heartbeat(_) => ClientFrame::Heartbeat,
        ClientMessage::Pointer(PointerPosition { x, y }) => ClientFrame::Pointer(Pointer::checked(x, y)?),
        ClientMessage::PointerLeave(_) => ClientFrame::PointerLeave,
    })
}

async fn send(socket: &mut WebSocket, value: &Value) -> bool {
    send_text(socket, value.to_string()).await
}

async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    let frame = Message::Text(Utf8Bytes::from(text));
    // A client that does not take a frame within the limit is gone or too slow to matter.
    matches!(
        tokio::time::timeout(Duration::from_millis(limits::WS_SEND_TIMEOUT_MS), socket.send(frame)).await,
        Ok(Ok(()))
    )
}

/// Ends the socket with `code`: sends Close, then reads until the client's Close. Dropping a
/// socket with input unread makes the kernel answer with a reset, and the client would see
/// 1006 (abnormal closure) instead of the code that says why.
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let handshake = async {
        socket.send(Message::Close(Some(frame))).await.ok()?;
        while let Some(Ok(message)) = socket.recv().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
        Some(())
    };
    let _ = tokio::time::timeout(Duration::from_millis(limits::WS_CLOSE_HANDSHAKE_MS), handshake).await;
}

/// What one socket has shown of its room's presence, and when it may show more.
struct PresenceFeed {
    appointment_id: String,
    me: ViewerKey,
    room: watch::Receiver<u64>,
    seen_seq: u64,
    seen_roster_seq: u64,
    /// Set when the room changed: the earliest the socket may flush (30 Hz at most).
    flush_at: Option<Instant>,
    last_flush: Instant,
}

impl PresenceFeed {
    fn changed(&mut self, state: &AppState) {
        if self.flush_at.is_none() {
            let earliest = (self.last_flush + Duration::from_millis(limits::PRESENCE_FLUSH_MS)).max(Instant::now());
            self.flush_at = Some(state.presence.next_flush_at(earliest));
        }
    }

    /// The messages that bring the client up to date, rendered once for the room.
    fn flush(&mut self, state: &AppState) -> Vec<std::sync::Arc<str>> {
        self.flush_at = None;
        self.last_flush = Instant::now();
        let view = state.presence.rendered_view(&self.appointment_id, self.seen_seq, self.seen_roster_seq, &WireFormat);
        self.seen_seq = view.seen_seq;
        self.seen_roster_seq = view.seen_roster_seq;
        let mut messages: Vec<std::sync::Arc<str>> = view.roster.into_iter().collect();
        // A tab does not need its own pointer.
        let others =
            view.pointers.iter().filter(|p| p.session_id != self.me.session_id || p.user_id != self.me.user_id);
        messages.extend(others.map(|p| p.text.clone()));
        messages
    }
}

/// The presence messages as clients read them (`docs/api.md`).
struct WireFormat;

impl crate::presence::hub::RenderPresence for WireFormat {
    fn roster(&self, appointment_id: &str, viewers: &[&Viewer]) -> String {
        let viewers = Value::Array(viewers.iter().map(|v| viewer_json(v)).collect());
        json!({ "type": "presence", "appointmentId": appointment_id, "viewers": viewers }).to_string()
    }

    fn pointer(&self, appointment_id: &str, viewer: &Viewer) -> String {
        pointer_message(appointment_id, viewer).to_string()
    }
}

/// Inbound limits of one socket: its own rate, its user's, and the flood window.
struct Inbound {
    frames: Option<SocketLimiter>,
    refused_in_window: u32,
    window_started: Instant,
}

enum Verdict {
    Take,
    /// Refused; the first refusal of a window is told to the client.
    Refuse {
        tell: bool,
    },
    Flood,
}

impl Inbound {
    fn judge(&mut self, state: &AppState, user_id: &str) -> Verdict {
        let allowed = self.frames.as_ref().is_none_or(SocketLimiter::allows) && state.user_frame(user_id);
        if allowed {
            return Verdict::Take;
        }
        state.metrics.ws_frames_refused.inc();
        if self.window_started.elapsed() > Duration::from_millis(limits::WS_FLOOD_WINDOW_MS) {
            self.window_started = Instant::now();
            self.refused_in_window = 0;
        }
        self.refused_in_window += 1;
        if self.refused_in_window > limits::WS_FLOOD_REFUSED_MAX {
            Verdict::Flood
        } else {
            Verdict::Refuse { tell: self.refused_in_window == 1 }
        }
    }
}

async fn serve(
    state: AppState,
    scope: Scope,
    actor: Actor,
    viewer: Option<(String, Actor)>,
    exp_secs: u64,
    // Held while the socket is open: its place under the socket caps.
    _permit: crate::sockets::SocketPermit,
    mut socket: WebSocket,
) {
    state.metrics.ws_connections.inc();
    // Join before the snapshot, so the snapshot's viewers include this tab.
    let guard = viewer.as_ref().map(|(id, actor)| state.presence.join(id, actor));
    let mut feed = guard.as_ref().map(|guard| {
        let key = guard.key().clone();
        let room = state.presence.watch_room(&key.appointment_id);
        PresenceFeed {
            appointment_id: key.appointment_id.clone(),
            me: key,
            room,
            seen_seq: 0,
            seen_roster_seq: 0,
            flush_at: None,
            last_flush: Instant::now(),
        }
    });
    serve_until_closed(&state, &scope, &actor, feed.as_mut(), exp_secs, &mut socket).await;
    // The room's watcher goes first, so leaving can drop a room nobody watches any more.
    drop(feed);
    drop(guard);
    state.metrics.ws_connections.dec();
    if let Some((appointment_id, actor)) = viewer {
        crate::presence::disconnect::socket_closed(&state, &appointment_id, actor);
    }
}

async fn serve_until_closed(
    state: &AppState,
    scope: &Scope,
    actor: &Actor,
    mut feed: Option<&mut PresenceFeed>,
    exp_secs: u64,
    socket: &mut WebSocket,
) {
    // Subscribe before the snapshot: nothing applied in between is missed.
    let mut notifications = state.node.state().subscribe();
    let (mut shown_index, first) = snapshot(state, scope);
    if let Some(feed) = feed.as_deref_mut() {
        // The first flush brings the pointers (and repeats the roster, which may have moved
        // since the snapshot was taken).
        feed.changed(state);
    }
    if !send(socket, &first).await {
        return;
    }
    let until_expiry_ms = (exp_secs * 1000 + limits::TOKEN_LEEWAY_SECS * 1000).saturating_sub(state.clock.now_ms());
    let expiry = tokio::time::sleep(Duration::from_millis(until_expiry_ms));
    tokio::pin!(expiry);
    let idle_limit = Duration::from_millis(limits::PRESENCE_IDLE_MS);
    let idle = tokio::time::sleep(idle_limit);
    tokio::pin!(idle);
    // Protocol pings, which browsers answer by themselves: a peer that answers nothing for
    // `WS_SILENCE_MAX_MS` is gone (a phone that lost its network, a sleeping laptop), and its
    // tab leaves the room instead of showing as present (and as the editor) for minutes.
    let mut pings = tokio::time::interval(Duration::from_millis(limits::WS_PING_INTERVAL_MS));
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let silence_limit = Duration::from_millis(limits::WS_SILENCE_MAX_MS);
    let silence = tokio::time::sleep(silence_limit);
    tokio::pin!(silence);
    let mut inbound = Inbound { frames: state.socket_frames(), refused_in_window: 0, window_started: Instant::now() };
    loop {
        let flush_at = feed.as_ref().and_then(|f| f.flush_at);
        tokio::select! {
            notification = notifications.recv() => match notification {
                Ok(Notification::Event { log_index, event, rendered }) => {
                    // Already part of the snapshot the client holds.
                    if log_index <= shown_index || !scope.covers(&event) {
                        continue;
                    }
                    // The first socket on this node renders it; the others send that text.
                    let text = rendered.get_or_init(|| event_message(log_index, &event, state.server_time_ms()).to_string());
                    if !send_text(socket, text.clone()).await {
                        return;
                    }
                }
                Ok(Notification::Reset { .. }) | Err(RecvError::Lagged(_)) => {
                    let (index, fresh) = snapshot(state, scope);
                    shown_index = index;
                    if !send(socket, &fresh).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return close(socket, CLOSE_GOING_AWAY, "node shutting down").await,
            },
            changed = async { feed.as_mut().expect("guarded").room.changed().await }, if feed.is_some() => {
                if changed.is_err() {
                    return close(socket, CLOSE_GOING_AWAY, "node shutting down").await;
                }
                feed.as_deref_mut().expect("guarded").changed(state);
            }
            () = async { tokio::time::sleep_until(flush_at.expect("guarded")).await }, if flush_at.is_some() => {
                for message in feed.as_deref_mut().expect("guarded").flush(state) {
                    if !send_text(socket, message.to_string()).await {
                        return;
                    }
                }
            }
            inbound_frame = socket.recv() => {
                silence.as_mut().reset(Instant::now() + silence_limit);
                let text = match inbound_frame {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => return close(socket, CLOSE_POLICY, "text frames only").await,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                };
                idle.as_mut().reset(Instant::now() + idle_limit);
                let answer = match inbound.judge(state, &actor.user_id) {
                    Verdict::Flood => {
                        state.metrics.ws_flood_closes.inc();
                        return close(socket, CLOSE_POLICY, "too many messages").await;
                    }
                    Verdict::Refuse { tell: false } => continue,
                    Verdict::Refuse { tell: true } => Some(error_frame("rate_limited", "too many messages: slow down; more will close the socket")),
                    Verdict::Take => take(state, feed.as_deref(), text.as_str()),
                };
                if let Some(answer) = answer
                    && !send(socket, &answer).await
                {
                    return;
                }
            }
            _ = pings.tick() => {
                if socket.send(Message::Ping(axum::body::Bytes::new())).await.is_err() {
                    return;
                }
            }
            // No closing handshake: nobody is there to answer it.
            () = &mut silence => return,
            () = &mut expiry => return close(socket, CLOSE_TOKEN_EXPIRED, "token expired").await,
            () = &mut idle => return close(socket, CLOSE_IDLE, "idle: no heartbeat").await,
        }
    }
}

fn error_frame(code: &str, detail: &str) -> Value {
    json!({ "type": "error", "code": code, "detail": detail })
}

/// Acts on one accepted frame; the answer to send, if any.
fn take(state: &AppState, feed: Option<&PresenceFeed>, text: &str) -> Option<Value> {
    let message = match parse_client_message(text) {
        Ok(message) => message,
        Err(reason) => return Some(error_frame("invalid_input", &reason)),
    };
    match message {
        ClientFrame::Ping => Some(json!({ "type": "pong", "serverTime": dto::rfc3339(state.server_time_ms()) })),
        ClientFrame::Heartbeat => None,
        ClientFrame::Pointer(pointer) => {
            let Some(feed) = feed else {
                return Some(error_frame("invalid_input", "pointers belong on an appointment's socket"));
            };
            state.presence.point(&feed.me, Some(pointer));
            None
        }
        ClientFrame::PointerLeave => {
            let Some(feed) = feed else {
                return Some(error_frame("invalid_input", "pointers belong on an appointment's socket"));
            };
            state.presence.point(&feed.me, None);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_parsed_strictly() {
        assert_eq!(parse_client_message(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(parse_client_message(r#"{"type":"heartbeat"}"#), Ok(ClientFrame::Heartbeat));
        assert_eq!(parse_client_message(r#"{"type":"pointerLeave"}"#), Ok(ClientFrame::PointerLeave));
        assert_eq!(
            parse_client_message(r#"{"type":"pointer","x":0.25,"y":1}"#),
            Ok(ClientFrame::Pointer(Pointer { x: 0.25, y: 1.0 }))
        );
        for bad in [
            r#"{"type":"ping","extra":1}"#,
            r#"{"type":"shout"}"#,
            "[]",
            "not json",
            r#"{"type":1}"#,
            r#"{"type":"pointer","x":0.5}"#,
            r#"{"type":"pointer","x":0.5,"y":1.5}"#,
            r#"{"type":"pointer","x":-0.1,"y":0.5}"#,
            r#"{"type":"pointer","x":"0.5","y":0.5}"#,
            r#"{"type":"pointer","x":0.5,"y":0.5,"userId":"someone-else"}"#,
            r#"{"type":"pointer","x":1e400,"y":0.5}"#,
        ] {
            assert!(parse_client_message(bad).is_err(), "{bad} was accepted");
        }
        let huge = format!(r#"{{"type":"ping","pad":"{}"}}"#, "x".repeat(limits::WS_INBOUND_BYTES_MAX));
        assert_eq!(parse_client_message(&huge).unwrap_err(), "message too large");
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::*;

        /// JSON-looking text: objects with a few keys, including `type`, and odd values.
        fn json_like() -> impl Strategy<Value = String> {
            let key =
                prop_oneof![Just("type".to_owned()), Just("x".to_owned()), Just("y".to_owned()), "[a-zA-Z_]{0,8}"];
            let value = prop_oneof![
                Just("\"ping\"".to_owned()),
                Just("\"pointer\"".to_owned()),
                Just("\"heartbeat\"".to_owned()),
                Just("\"pointerLeave\"".to_owned()),
                (0.0..1.0f64).prop_map(|f| f.to_string()),
                any::<f64>().prop_map(|f| f.to_string()),
                any::<i64>().prop_map(|i| i.to_string()),
                Just("null".to_owned()),
                Just("[]".to_owned()),
                "\"[^\"\\\\]{0,12}\"",
            ];
            prop::collection::vec((key, value), 0..4).prop_map(|pairs| {
                let fields: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            })
        }

        proptest! {
            /// Any text parses without a panic, and what is accepted is exactly a known message:
            /// its type, its fields and nothing else, pointers on the form.
            #[test]
            fn only_well_formed_messages_are_accepted(text in prop_oneof![json_like(), any::<String>()]) {
                if parse_client_message(&text).is_ok() {
                    let value: serde_json::Value = serde_json::from_str(&text).expect("accepted text is JSON");
                    let object = value.as_object().expect("accepted text is an object");
                    match object["type"].as_str().expect("a string type") {
                        "ping" | "heartbeat" | "pointerLeave" => prop_assert_eq!(object.len(), 1),
                        "pointer" => {
                            prop_assert_eq!(object.len(), 3);
                            for axis in ["x", "y"] {
                                let v = object[axis].as_f64().expect("a number");
                                prop_assert!((0.0..=1.0).contains(&v));
                            }
                        }
                        other => prop_assert!(false, "accepted type {other}"),
                    }
                }
            }
        }
    }
}
