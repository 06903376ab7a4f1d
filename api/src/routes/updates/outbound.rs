//! What the server sends on a socket: the snapshot a socket starts from, events tagged with
//! their log index, presence and pointers, error frames. Rendering lives here and nowhere else.

use lockd_raft::sm::{self, Event};
use lockd_raft::store::Applied;
use serde_json::{Value, json};

use super::Scope;
use crate::presence::Viewer;
use crate::{AppState, dto};

/// The state a socket starts from (and restarts from after a gap), with its applied index.
pub(super) fn snapshot(state: &AppState, scope: &Scope) -> (u64, Value) {
    let server_time = dto::rfc3339(state.server_time_ms());
    let (index, mut body) = state.node.read(|applied: &Applied| {
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

pub(super) fn error_frame(code: &str, detail: &str) -> Value {
    json!({ "type": "error", "code": code, "detail": detail })
}

/// The presence messages as clients read them (`docs/api.md`).
pub(super) struct WireFormat;

impl crate::presence::hub::RenderPresence for WireFormat {
    fn roster(&self, appointment_id: &str, viewers: &[&Viewer]) -> String {
        let viewers = Value::Array(viewers.iter().map(|v| viewer_json(v)).collect());
        json!({ "type": "presence", "appointmentId": appointment_id, "viewers": viewers }).to_string()
    }

    fn pointer(&self, appointment_id: &str, viewer: &Viewer) -> String {
        pointer_message(appointment_id, viewer).to_string()
    }
}
