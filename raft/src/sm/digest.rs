//! A digest of what a write asked for, so a remembered answer is given back only to a retry
//! of the same request (`sessions.rs`): an idempotency key reused for another operation, on
//! another appointment or with another body is refused instead of answered with the first
//! request's outcome.
//!
//! The digest is part of the replicated state (remembered answers are in snapshots), so it
//! must be the same on every replica and in every version: FNV-1a 64 over an explicit byte
//! form of the operation, never `std`'s hasher, whose algorithm may change between Rust
//! releases. Changing the byte form below is a protocol change.

use super::command::{Op, ReleaseReason};
use super::types::{AppointmentFields, AppointmentStatus, DraftText};

/// Identifies the request a remembered answer belongs to; never 0 (0 marks an answer
/// remembered before digests existed, which any retry may have).
pub fn op_digest(op: &Op) -> u64 {
    let mut h = Fnv::new();
    // The actor is left out: answers are remembered per session already, and a retry after a
    // token refresh (a new name or email in the claims) is still the same request.
    match op {
        Op::Acquire { appointment_id, ttl_ms, wait, waiter_ttl_ms, .. } => {
            h.tag(1).text(appointment_id).number(*ttl_ms).flag(*wait).number(*waiter_ttl_ms);
        }
        Op::Renew { appointment_id, waiting, .. } => {
            h.tag(2).text(appointment_id);
            // Only a waiter's renewal adds a byte: digests remembered before it existed stay.
            if *waiting {
                h.flag(true);
            }
        }
        Op::Release { appointment_id, fencing_token, reason, .. } => {
            let reason = match reason {
                ReleaseReason::Released => 0,
                ReleaseReason::Disconnected => 1,
            };
            h.tag(3).text(appointment_id).optional(*fencing_token).number(reason);
        }
        Op::Takeover { appointment_id, ttl_ms, reason, expected_fencing_token, .. } => {
            h.tag(4).text(appointment_id).number(*ttl_ms).text(reason).optional(*expected_fencing_token);
        }
        Op::MoveLock { appointment_id, ttl_ms, expected_fencing_token, .. } => {
            h.tag(9).text(appointment_id).number(*ttl_ms).optional(*expected_fencing_token);
        }
        Op::DiscardDraft { appointment_id, .. } => {
            h.tag(10).text(appointment_id);
        }
        Op::CreateAppointment { appointment_id, fields, .. } => {
            h.tag(5).text(appointment_id).fields(fields);
        }
        Op::UpdateAppointment { appointment_id, fencing_token, expected_version, fields, .. } => {
            h.tag(6).text(appointment_id).number(*fencing_token).number(*expected_version).fields(fields);
        }
        Op::SaveDraft { appointment_id, base_version, text, base, .. } => {
            h.tag(7).text(appointment_id).number(*base_version).draft(text);
            match base {
                None => h.flag(false),
                Some(base) => h.flag(true).draft(base),
            };
        }
        Op::Tick => {
            h.tag(8);
        }
    }
    h.finish().max(1)
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
        self
    }

    fn tag(&mut self, kind: u8) -> &mut Self {
        self.bytes(&[kind])
    }

    fn number(&mut self, value: u64) -> &mut Self {
        self.bytes(&value.to_le_bytes())
    }

    fn flag(&mut self, value: bool) -> &mut Self {
        self.bytes(&[u8::from(value)])
    }

    fn optional(&mut self, value: Option<u64>) -> &mut Self {
        match value {
            None => self.bytes(&[0]),
            Some(v) => self.bytes(&[1]).number(v),
        }
    }

    /// Length first, so ("ab", "c") and ("a", "bc") differ.
    fn text(&mut self, value: &str) -> &mut Self {
        self.number(value.len() as u64).bytes(value.as_bytes())
    }

    fn fields(&mut self, fields: &AppointmentFields) -> &mut Self {
        self.text(&fields.title)
            .number(fields.starts_at_ms)
            .number(fields.ends_at_ms)
            .text(&fields.client)
            .text(&fields.location)
            .text(&fields.notes);
        // Only a cancelled appointment adds a byte: the digests remembered before the status
        // existed (all of scheduled appointments) stay what they were.
        match fields.status {
            AppointmentStatus::Scheduled => self,
            AppointmentStatus::Cancelled => self.tag(1),
        }
    }

    fn draft(&mut self, text: &DraftText) -> &mut Self {
        self.text(&text.title)
            .text(&text.starts_at)
            .text(&text.ends_at)
            .text(&text.client)
            .text(&text.location)
            .text(&text.notes)
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::{Actor, Role};

    fn actor(name: &str) -> Actor {
        Actor { user_id: "u".into(), session_id: "s".into(), name: name.into(), email: "e@x".into(), role: Role::User }
    }

    fn release(id: &str, token: Option<u64>) -> Op {
        Op::Release {
            actor: actor("N"),
            appointment_id: id.into(),
            fencing_token: token,
            reason: ReleaseReason::Released,
        }
    }

    const PRE_STATUS_UPDATE_DIGEST: u64 = 0x539a_9a03_85b4_c5ab;

    fn update(status: AppointmentStatus) -> Op {
        let fields = AppointmentFields {
            title: "t".into(),
            starts_at_ms: 1,
            ends_at_ms: 2,
            client: String::new(),
            location: String::new(),
            notes: String::new(),
            status,
        };
        Op::UpdateAppointment {
            actor: actor("N"),
            appointment_id: "a1".into(),
            fencing_token: 1,
            expected_version: 1,
            fields,
        }
    }

    #[test]
    fn a_scheduled_appointments_digest_is_the_one_remembered_before_statuses_existed() {
        // Computed from the byte form before `status` was added: a retry of a save remembered
        // by the previous version is still recognised.
        assert_eq!(op_digest(&update(AppointmentStatus::Scheduled)), PRE_STATUS_UPDATE_DIGEST);
    }

    #[test]
    fn the_digest_is_fixed_by_the_operation_and_ignores_the_actors_display_fields() {
        // A known value: the byte form or the hash changing is a protocol change.
        assert_eq!(op_digest(&Op::Tick), 0xaf63_c54c_8601_c577);
        let a = release("a1", Some(7));
        let renamed = Op::Release {
            actor: actor("Another name"),
            appointment_id: "a1".into(),
            fencing_token: Some(7),
            reason: ReleaseReason::Released,
        };
        assert_eq!(op_digest(&a), op_digest(&renamed));
    }

    #[test]
    fn a_different_kind_appointment_or_body_gives_a_different_digest() {
        let acquire = |wait| Op::Acquire {
            actor: actor("N"),
            appointment_id: "a1".into(),
            ttl_ms: 1_000,
            wait,
            waiter_ttl_ms: 1_000,
        };
        let digests = [
            op_digest(&acquire(false)),
            op_digest(&acquire(true)),
            op_digest(&Op::Renew { actor: actor("N"), appointment_id: "a1".into(), waiting: false }),
            op_digest(&Op::Renew { actor: actor("N"), appointment_id: "a1".into(), waiting: true }),
            op_digest(&release("a1", Some(7))),
            op_digest(&release("a1", Some(8))),
            op_digest(&release("a1", None)),
            op_digest(&release("a2", Some(7))),
            op_digest(&Op::MoveLock {
                actor: actor("N"),
                appointment_id: "a1".into(),
                ttl_ms: 1_000,
                expected_fencing_token: Some(7),
            }),
            op_digest(&Op::DiscardDraft { actor: actor("N"), appointment_id: "a1".into() }),
            op_digest(&update(AppointmentStatus::Scheduled)),
            op_digest(&update(AppointmentStatus::Cancelled)),
            op_digest(&Op::Tick),
        ];
        for (i, a) in digests.iter().enumerate() {
            assert_ne!(*a, 0);
            for b in &digests[i + 1..] {
                assert_ne!(a, b, "{digests:?}");
            }
        }
    }
}
