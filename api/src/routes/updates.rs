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
//! Browsers cannot set headers on a WebSocket: the JWT travels as the subprotocol
//! `bearer.<token>` next to `lockd` (or as `?accessToken=`), the tab's session as
//! `?sessionId=`. When the token expires the socket closes with code 4401.

use std::time::Duration;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use lockd_raft::sm::{self, Event};
use lockd_raft::store::{Applied, Notification};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::checked_id;
use crate::auth::Identity;
use crate::problem::Problem;
use crate::{AppState, dto, limits};

/// The subprotocol the server speaks; a client offers it with its `bearer.<token>`.
pub const SUBPROTOCOL: &str = "lockd";
const BEARER_PREFIX: &str = "bearer.";
/// Close codes (4000–4999 are the application's).
pub const CLOSE_TOKEN_EXPIRED: u16 = 4401;
pub const CLOSE_POLICY: u16 = 1008;

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
fn upgrade(ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>, speaks_lockd: bool) -> Result<WebSocketUpgrade, Problem> {
    let ws = ws.map_err(|e| Problem::new(e.status(), "invalid_input", format!("expected a WebSocket upgrade: {}", e.body_text())))?;
    let ws = ws.max_message_size(limits::WS_INBOUND_BYTES_MAX).max_frame_size(limits::WS_INBOUND_BYTES_MAX);
    Ok(if speaks_lockd { ws.protocols([SUBPROTOCOL]) } else { ws })
}

pub async fn appointment_updates(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let (identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query)?;
    let id = checked_id(id)?;
    if let Some(session_id) = &query.session_id {
        identity.clone().in_session(session_id.clone()).validate().map_err(Problem::invalid_input)?;
    }
    if !state.node.state().read(|a| a.sm.appointment(&id).is_some()) {
        return Err(Problem::not_found("no such appointment"));
    }
    let scope = Scope::Appointment(id);
    Ok(upgrade(ws, speaks_lockd)?.on_upgrade(move |socket| serve(state, scope, exp_secs, socket)))
}

pub async fn all_updates(
    State(state): State<AppState>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, Problem> {
    let (_identity, exp_secs, speaks_lockd) = authenticate(&state, &headers, &query)?;
    Ok(upgrade(ws, speaks_lockd)?.on_upgrade(move |socket| serve(state, Scope::All, exp_secs, socket)))
}

/// The state a socket starts from (and restarts from after a gap), with its applied index.
fn snapshot(state: &AppState, scope: &Scope) -> (u64, Value) {
    let server_time = dto::rfc3339(state.server_time_ms());
    state.node.state().read(|applied: &Applied| {
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

/// What a client may send. Anything else is answered with an error frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    /// Keeps the socket (and later, presence) alive; answered with `pong`.
    Ping(NoFields),
}

/// A message body with nothing but its `type` (serde ignores `deny_unknown_fields` on a unit
/// variant of an internally tagged enum, so the check lives here).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// Parses one inbound text frame strictly.
pub fn parse_client_message(text: &str) -> Result<ClientMessage, String> {
    if text.len() > limits::WS_INBOUND_BYTES_MAX {
        return Err("message too large".into());
    }
    serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))
}

async fn send(socket: &mut WebSocket, value: &Value) -> bool {
    let frame = Message::Text(Utf8Bytes::from(value.to_string()));
    // A client that does not take a frame within the limit is gone or too slow to matter.
    matches!(tokio::time::timeout(Duration::from_millis(limits::WS_SEND_TIMEOUT_MS), socket.send(frame)).await, Ok(Ok(())))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame { code, reason: Utf8Bytes::from_static(reason) };
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(Message::Close(Some(frame)))).await;
}

async fn serve(state: AppState, scope: Scope, exp_secs: u64, mut socket: WebSocket) {
    // Subscribe before the snapshot: nothing applied in between is missed.
    let mut notifications = state.node.state().subscribe();
    let (mut shown_index, first) = snapshot(&state, &scope);
    if !send(&mut socket, &first).await {
        return;
    }
    let until_expiry_ms = (exp_secs * 1000 + limits::TOKEN_LEEWAY_SECS * 1000).saturating_sub(state.clock.now_ms());
    let expiry = tokio::time::sleep(Duration::from_millis(until_expiry_ms));
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            notification = notifications.recv() => match notification {
                Ok(Notification::Event { log_index, event }) => {
                    // Already part of the snapshot the client holds.
                    if log_index <= shown_index || !scope.covers(&event) {
                        continue;
                    }
                    if !send(&mut socket, &event_message(log_index, &event, state.server_time_ms())).await {
                        return;
                    }
                }
                Ok(Notification::Reset { .. }) | Err(RecvError::Lagged(_)) => {
                    let (index, fresh) = snapshot(&state, &scope);
                    shown_index = index;
                    if !send(&mut socket, &fresh).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return close(&mut socket, 1001, "node shutting down").await,
            },
            inbound = socket.recv() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    let answer = match parse_client_message(text.as_str()) {
                        Ok(ClientMessage::Ping(_)) => json!({ "type": "pong", "serverTime": dto::rfc3339(state.server_time_ms()) }),
                        Err(reason) => json!({ "type": "error", "code": "invalid_input", "detail": reason }),
                    };
                    if !send(&mut socket, &answer).await {
                        return;
                    }
                }
                Some(Ok(Message::Binary(_))) => return close(&mut socket, CLOSE_POLICY, "text frames only").await,
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
            },
            () = &mut expiry => return close(&mut socket, CLOSE_TOKEN_EXPIRED, "token expired").await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_parsed_strictly() {
        assert!(matches!(parse_client_message(r#"{"type":"ping"}"#), Ok(ClientMessage::Ping(_))));
        for bad in [r#"{"type":"ping","extra":1}"#, r#"{"type":"shout"}"#, "[]", "not json", r#"{"type":1}"#] {
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
            let key = prop_oneof![Just("type".to_owned()), Just("x".to_owned()), "[a-zA-Z_]{0,8}"];
            let value = prop_oneof![
                Just("\"ping\"".to_owned()),
                Just("\"pointer\"".to_owned()),
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
            /// Any text parses without a panic, and the only thing accepted is a bare ping.
            #[test]
            fn only_a_bare_ping_is_accepted(text in prop_oneof![json_like(), any::<String>()]) {
                if parse_client_message(&text).is_ok() {
                    let value: serde_json::Value = serde_json::from_str(&text).expect("accepted text is JSON");
                    prop_assert_eq!(value, serde_json::json!({ "type": "ping" }));
                }
            }
        }
    }
}
