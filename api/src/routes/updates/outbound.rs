//! What the server sends on a socket, as one tagged enum ([`ServerMessage`], the `type` field
//! on the wire) that mirrors `AppointmentMessage` and `ListMessage` in `web/src/api/types.ts`:
//! the snapshot a socket starts from, events tagged with their log index, presence, pointers,
//! viewer counts, pongs and error frames. Rendering lives here and nowhere else.

use std::collections::BTreeMap;

use lockd_raft::sm::{self, Event};
use lockd_raft::store::Applied;
use serde::Serialize;

use super::Scope;
use crate::presence::Viewer;
use crate::{AppState, dto};

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all_fields = "camelCase")]
pub enum ServerMessage {
    /// The state an appointment's socket starts from (and restarts from after a gap).
    #[serde(rename = "snapshot")]
    AppointmentSnapshot {
        index: u64,
        appointment: Option<dto::Appointment>,
        lock: Option<dto::Lock>,
        queue: Vec<dto::Waiter>,
        viewers: Vec<ViewerOut>,
        server_time: String,
    },
    /// The state the list's socket starts from.
    #[serde(rename = "snapshot")]
    ListSnapshot { index: u64, appointments: Vec<ListRow>, server_time: String },
    #[serde(rename = "lock.acquired")]
    LockAcquired { index: u64, appointment_id: String, lock: dto::Lock, server_time: String },
    #[serde(rename = "lock.renewed")]
    LockRenewed { index: u64, appointment_id: String, lock: dto::Lock, server_time: String },
    #[serde(rename = "lock.released")]
    LockReleased {
        index: u64,
        appointment_id: String,
        previous: dto::Lock,
        /// `released` or `disconnected`.
        reason: &'static str,
        server_time: String,
    },
    #[serde(rename = "lock.expired")]
    LockExpired { index: u64, appointment_id: String, previous: dto::Lock, server_time: String },
    #[serde(rename = "lock.taken_over")]
    LockTakenOver {
        index: u64,
        appointment_id: String,
        lock: dto::Lock,
        previous: dto::Lock,
        reason: String,
        server_time: String,
    },
    /// The holder continued in another tab of theirs.
    #[serde(rename = "lock.moved")]
    LockMoved { index: u64, appointment_id: String, lock: dto::Lock, previous: dto::Lock, server_time: String },
    #[serde(rename = "lock.queued")]
    LockQueued { index: u64, appointment_id: String, queue: Vec<dto::Waiter>, server_time: String },
    #[serde(rename = "appointment.updated")]
    AppointmentUpdated { index: u64, appointment_id: String, appointment: dto::Appointment, server_time: String },
    /// An appointment's roster, whole, when it changed.
    #[serde(rename = "presence")]
    Presence { appointment_id: String, viewers: Vec<ViewerOut> },
    /// Where another tab's pointer is now (`x`, `y` null: off the form).
    #[serde(rename = "pointer")]
    Pointer {
        appointment_id: String,
        user_id: String,
        session_id: String,
        name: String,
        x: Option<f32>,
        y: Option<f32>,
    },
    /// On the list's socket: tabs viewing each appointment (those with none are left out).
    #[serde(rename = "viewers")]
    ViewerCounts { counts: BTreeMap<String, usize> },
    #[serde(rename = "pong")]
    Pong { server_time: String },
    #[serde(rename = "error")]
    Error { code: &'static str, detail: String },
}

impl ServerMessage {
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("server messages serialise")
    }
}

/// A tab viewing an appointment, as `presence` and the snapshot show it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewerOut {
    user_id: String,
    session_id: String,
    name: String,
    email: String,
    role: &'static str,
    node_id: u64,
    pointer: Option<PointerOut>,
}

#[derive(Debug, Serialize)]
pub struct PointerOut {
    x: f32,
    y: f32,
}

impl From<&Viewer> for ViewerOut {
    fn from(viewer: &Viewer) -> Self {
        ViewerOut {
            user_id: viewer.actor.user_id.clone(),
            session_id: viewer.actor.session_id.clone(),
            name: viewer.actor.name.clone(),
            email: viewer.actor.email.clone(),
            role: dto::role_name(viewer.actor.role),
            node_id: viewer.node_id,
            pointer: viewer.pointer.map(|p| PointerOut { x: p.x, y: p.y }),
        }
    }
}

/// One appointment as the list's snapshot shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListRow {
    id: String,
    title: String,
    /// `scheduled` or `cancelled`.
    status: &'static str,
    version: u64,
    lock: Option<dto::Lock>,
    queue_length: usize,
    viewers: usize,
}

impl ListRow {
    /// The viewer counts `rows` show, as a `viewers` message carries them.
    pub(super) fn counts(rows: &[ListRow]) -> BTreeMap<String, usize> {
        rows.iter().filter(|row| row.viewers > 0).map(|row| (row.id.clone(), row.viewers)).collect()
    }
}

/// The state a socket starts from (and restarts from after a gap), with its applied index.
pub(super) fn snapshot(state: &AppState, scope: &Scope) -> (u64, ServerMessage) {
    let server_time = dto::rfc3339(state.server_time_ms());
    match scope {
        Scope::Appointment(id) => {
            let viewers = state.presence.view(id, 0, 0, None).roster.unwrap_or_default();
            let viewers = viewers.iter().map(ViewerOut::from).collect();
            state.node.read(|applied: &Applied| {
                let index = applied.applied_index().unwrap_or(0);
                let sm = &applied.sm;
                let message = ServerMessage::AppointmentSnapshot {
                    index,
                    appointment: sm.appointment(id).map(dto::Appointment::from),
                    lock: sm.lock(id).map(dto::Lock::from),
                    queue: dto::queue(sm.queue(id)),
                    viewers,
                    server_time,
                };
                (index, message)
            })
        }
        Scope::All => {
            let counts = state.presence.viewer_counts();
            state.node.read(|applied: &Applied| {
                let index = applied.applied_index().unwrap_or(0);
                let sm = &applied.sm;
                let appointments = sm
                    .appointments()
                    .map(|a| ListRow {
                        id: a.id.clone(),
                        title: a.fields.title.clone(),
                        status: dto::status_name(a.fields.status),
                        version: a.version,
                        lock: sm.lock(&a.id).map(dto::Lock::from),
                        queue_length: sm.queue(&a.id).len(),
                        viewers: counts.get(&a.id).copied().unwrap_or(0),
                    })
                    .collect();
                (index, ServerMessage::ListSnapshot { index, appointments, server_time })
            })
        }
    }
}

/// A `pointer` message for `viewer`'s tab.
pub fn pointer_message(appointment_id: &str, viewer: &Viewer) -> ServerMessage {
    ServerMessage::Pointer {
        appointment_id: appointment_id.to_owned(),
        user_id: viewer.actor.user_id.clone(),
        session_id: viewer.actor.session_id.clone(),
        name: viewer.actor.name.clone(),
        x: viewer.pointer.map(|p| p.x),
        y: viewer.pointer.map(|p| p.y),
    }
}

/// One event as the client sees it, tagged with the log index it came from.
pub fn event_message(index: u64, event: &Event, server_time_ms: u64) -> ServerMessage {
    let appointment_id = event.appointment_id().clone();
    let server_time = dto::rfc3339(server_time_ms);
    match event {
        Event::LockAcquired { lock } => {
            ServerMessage::LockAcquired { index, appointment_id, lock: lock.into(), server_time }
        }
        Event::LockRenewed { lock } => {
            ServerMessage::LockRenewed { index, appointment_id, lock: lock.into(), server_time }
        }
        Event::LockReleased { previous, reason } => ServerMessage::LockReleased {
            index,
            appointment_id,
            previous: previous.into(),
            reason: match reason {
                sm::ReleaseReason::Released => "released",
                sm::ReleaseReason::Disconnected => "disconnected",
            },
            server_time,
        },
        Event::LockExpired { previous } => {
            ServerMessage::LockExpired { index, appointment_id, previous: previous.into(), server_time }
        }
        Event::LockTakenOver { lock, previous, reason } => ServerMessage::LockTakenOver {
            index,
            appointment_id,
            lock: lock.into(),
            previous: previous.into(),
            reason: reason.clone(),
            server_time,
        },
        Event::LockMoved { lock, previous } => ServerMessage::LockMoved {
            index,
            appointment_id,
            lock: lock.into(),
            previous: previous.into(),
            server_time,
        },
        Event::QueueChanged { queue, .. } => {
            ServerMessage::LockQueued { index, appointment_id, queue: dto::queue(queue), server_time }
        }
        Event::AppointmentCreated(a) | Event::AppointmentUpdated(a) => {
            ServerMessage::AppointmentUpdated { index, appointment_id, appointment: a.into(), server_time }
        }
    }
}

pub(super) fn error_frame(code: &'static str, detail: &str) -> ServerMessage {
    ServerMessage::Error { code, detail: detail.to_owned() }
}

/// The presence messages as clients read them (`docs/api.md`).
pub(super) struct WireFormat;

impl crate::presence::hub::RenderPresence for WireFormat {
    fn roster(&self, appointment_id: &str, viewers: &[&Viewer]) -> String {
        let viewers = viewers.iter().map(|v| ViewerOut::from(*v)).collect();
        ServerMessage::Presence { appointment_id: appointment_id.to_owned(), viewers }.to_text()
    }

    fn pointer(&self, appointment_id: &str, viewer: &Viewer) -> String {
        pointer_message(appointment_id, viewer).to_text()
    }
}

#[cfg(test)]
mod tests {
    use lockd_raft::sm::{Actor, Lock, ReleaseReason, Role};
    use serde_json::{Value, json};

    use super::*;

    fn lock(token: u64) -> Lock {
        let holder = Actor {
            user_id: "alice".into(),
            session_id: "tab-1".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            role: Role::User,
        };
        Lock {
            appointment_id: "demo-1".into(),
            holder: holder.into(),
            fencing_token: token,
            acquired_at_ms: 0,
            last_activity_at_ms: 0,
            expires_at_ms: 60_000,
            ttl_ms: 60_000,
            claim_by_ms: None,
        }
    }

    fn rendered(event: &Event) -> Value {
        serde_json::from_str(&event_message(7, event, 1_000).to_text()).expect("valid JSON")
    }

    #[test]
    fn every_event_carries_its_type_index_appointment_and_time_at_the_top() {
        let events = [
            (Event::LockAcquired { lock: lock(1) }, "lock.acquired"),
            (Event::LockRenewed { lock: lock(1) }, "lock.renewed"),
            (Event::LockReleased { previous: lock(1), reason: ReleaseReason::Disconnected }, "lock.released"),
            (Event::LockExpired { previous: lock(1) }, "lock.expired"),
            (Event::LockTakenOver { lock: lock(2), previous: lock(1), reason: "r".into() }, "lock.taken_over"),
            (Event::LockMoved { lock: lock(2), previous: lock(1) }, "lock.moved"),
            (Event::QueueChanged { appointment_id: "demo-1".into(), queue: vec![] }, "lock.queued"),
        ];
        for (event, kind) in events {
            let body = rendered(&event);
            assert_eq!(body["type"], kind);
            assert_eq!(body["index"], 7);
            assert_eq!(body["appointmentId"], "demo-1");
            assert_eq!(body["serverTime"], "1970-01-01T00:00:01Z");
        }
    }

    #[test]
    fn the_fields_are_camel_case_as_the_web_app_reads_them() {
        let body = rendered(&Event::LockMoved { lock: lock(2), previous: lock(1) });
        assert_eq!(body["lock"]["fencingToken"], 2);
        assert_eq!(body["previous"]["holder"]["sessionId"], "tab-1");
        assert_eq!(body["lock"]["claimBy"], Value::Null);
        let released = rendered(&Event::LockReleased { previous: lock(1), reason: ReleaseReason::Disconnected });
        assert_eq!(released["reason"], "disconnected");
        let counts = ServerMessage::ViewerCounts { counts: [("demo-1".to_owned(), 2)].into() }.to_text();
        assert_eq!(
            serde_json::from_str::<Value>(&counts).unwrap(),
            json!({"type": "viewers", "counts": {"demo-1": 2}})
        );
        let pong = ServerMessage::Pong { server_time: "t".into() }.to_text();
        assert_eq!(serde_json::from_str::<Value>(&pong).unwrap(), json!({"type": "pong", "serverTime": "t"}));
    }
}
