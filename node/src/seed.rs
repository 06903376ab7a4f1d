//! Demo data for dev mode: a few appointments, created once a leader exists. Creating an id
//! that exists is a harmless rejection, so several nodes seeding at once is fine.

use std::time::Duration;

use lockd_raft::node::LockNode;
use lockd_raft::sm::{Actor, AppointmentFields, AppointmentStatus, Op, Response, Role};

const DEMO: [(&str, &str, &str, &str, u64); 4] = [
    ("demo-1", "Annual check-up", "Maria Lopez", "Room 1", 1),
    ("demo-2", "Dental cleaning", "James Chen", "Room 3", 2),
    ("demo-3", "Physiotherapy follow-up", "Aisha Khan", "Gym", 3),
    ("demo-4", "Vaccination", "Tom Becker", "Room 2", 5),
];

pub async fn demo_appointments(node: LockNode) {
    let seeder = Actor {
        user_id: "seed".into(),
        session_id: "seed".into(),
        name: "Demo data".into(),
        email: "seed@lockd.invalid".into(),
        role: Role::Admin,
    };
    let mut waited = Duration::ZERO;
    while node.current_leader().is_none() && waited < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let day_ms = 24 * 60 * 60 * 1000;
    let base_ms = node.read(|a| a.sm.now_ms()).max(lockd_raft::clock::Clock::now_ms(&lockd_raft::clock::SystemClock));
    let base_ms = base_ms - base_ms % day_ms + 9 * 60 * 60 * 1000;
    for (id, title, client, location, days) in DEMO {
        let fields = AppointmentFields {
            title: title.into(),
            starts_at_ms: base_ms + days * day_ms,
            ends_at_ms: base_ms + days * day_ms + 45 * 60 * 1000,
            client: client.into(),
            location: location.into(),
            notes: String::new(),
            status: AppointmentStatus::Scheduled,
        };
        let op = Op::CreateAppointment { actor: seeder.clone(), appointment_id: id.into(), fields };
        match node.submit(format!("seed-{id}"), op).await {
            Ok(applied) if matches!(applied.response, Response::AppointmentSaved(_)) => {
                tracing::info!(id, "demo appointment created")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(id, error = %e, "demo appointment not created"),
        }
    }
}
