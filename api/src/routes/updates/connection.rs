//! One socket, from its first snapshot to its close: the select loop over the applied events,
//! the room's presence, the client's frames, pings, the token's expiry and idleness.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use lockd_raft::sm::Actor;
use lockd_raft::store::Notification;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::Instant;

use super::inbound::{ClientFrame, Inbound, Verdict, parse_client_message};
use super::outbound::{ListRow, ServerMessage, WireFormat, error_frame, event_message, snapshot};
use super::{CLOSE_GOING_AWAY, CLOSE_IDLE, CLOSE_POLICY, CLOSE_TOKEN_EXPIRED, Scope};
use crate::presence::ViewerKey;
use crate::{AppState, dto, limits};

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    send_text(socket, message.to_text()).await
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

pub(super) async fn serve(
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
    let mut notifications = state.node.subscribe();
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
    // The list's socket: how many tabs view each appointment, sent when it changes. Polled,
    // not pushed: a count is a glance, and a second's delay costs a list nothing.
    let list_scope = matches!(scope, Scope::All);
    let mut counts_poll = tokio::time::interval(Duration::from_millis(limits::VIEWER_COUNTS_POLL_MS));
    counts_poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // What the snapshot showed; the first tick, at once, sends the counts if they moved since.
    let mut counts_shown = match &first {
        ServerMessage::ListSnapshot { appointments, .. } => Some(std::sync::Arc::new(ListRow::counts(appointments))),
        _ => None,
    };
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
                    let text = rendered.get_or_init(|| event_message(log_index, &event, state.server_time_ms()).to_text());
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
            _ = counts_poll.tick(), if list_scope => {
                let counts = state.presence.viewer_counts();
                let shown = counts_shown.as_ref().is_some_and(|s| std::sync::Arc::ptr_eq(s, &counts) || **s == *counts);
                if !shown {
                    counts_shown = Some(counts.clone());
                    if !send(socket, &ServerMessage::ViewerCounts { counts: (*counts).clone() }).await {
                        return;
                    }
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

/// Acts on one accepted frame; the answer to send, if any.
fn take(state: &AppState, feed: Option<&PresenceFeed>, text: &str) -> Option<ServerMessage> {
    let message = match parse_client_message(text) {
        Ok(message) => message,
        Err(reason) => return Some(error_frame("invalid_input", &reason)),
    };
    match message {
        ClientFrame::Ping => Some(ServerMessage::Pong { server_time: dto::rfc3339(state.server_time_ms()) }),
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
