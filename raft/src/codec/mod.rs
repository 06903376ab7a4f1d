//! The wire and disk encoding: protobuf messages (`pb`), hand-written conversions, and the
//! one-byte format version in front of everything written to disk (ADR 2).

mod domain;
pub mod raft;

use prost::Message;

use crate::sm::{LockStateMachine, StateParts};
use crate::types::{Entry, LogId, SnapshotMeta, Vote};

#[allow(clippy::all, missing_docs)]
pub mod pb {
    tonic::include_proto!("lockd.v1");
}

/// The format of every value lockd writes to disk. A reader refuses any other.
pub const FORMAT_V1: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("unknown value {1} for enum {0}")]
    UnknownEnum(&'static str, i32),
    #[error("unknown format version {0} (this binary reads {FORMAT_V1}); was it written by a newer lockd?")]
    UnknownFormat(u8),
    #[error("empty value")]
    Empty,
    #[error("protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
    #[error("invalid value: {0}")]
    Invalid(String),
}

impl From<CodecError> for std::io::Error {
    fn from(e: CodecError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

pub(crate) fn need<T>(value: Option<T>, what: &'static str) -> Result<T, CodecError> {
    value.ok_or(CodecError::Missing(what))
}

fn frame(message: &impl Message) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + message.encoded_len());
    bytes.push(FORMAT_V1);
    message.encode(&mut bytes).expect("a Vec grows as needed");
    bytes
}

fn unframe<M: Message + Default>(bytes: &[u8]) -> Result<M, CodecError> {
    match bytes.split_first() {
        None => Err(CodecError::Empty),
        Some((&FORMAT_V1, body)) => Ok(M::decode(body)?),
        Some((&other, _)) => Err(CodecError::UnknownFormat(other)),
    }
}

pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    frame(&raft::entry_to_pb(entry))
}

pub fn decode_entry(bytes: &[u8]) -> Result<Entry, CodecError> {
    raft::entry_from_pb(unframe(bytes)?)
}

pub fn encode_vote(vote: &Vote) -> Vec<u8> {
    frame(&raft::vote_to_pb(vote))
}

pub fn decode_vote(bytes: &[u8]) -> Result<Vote, CodecError> {
    raft::vote_from_pb(unframe(bytes)?)
}

pub fn encode_log_id(id: &LogId) -> Vec<u8> {
    frame(&raft::log_id_to_pb(id))
}

pub fn decode_log_id(bytes: &[u8]) -> Result<LogId, CodecError> {
    raft::log_id_from_pb(unframe(bytes)?)
}

/// A snapshot's bytes: its metadata and the state machine, from one view of both. The bytes
/// are a framed `pb::Snapshot`; the state is encoded in place (`encode_state_body`), and its
/// length prefix is written into a gap left before it, so no copy of the state or of the
/// bytes is made (a snapshot of 100,000 locks is ~26 MiB). `capacity_bytes` reserves room
/// up front: left to grow by doubling, the buffer for a 26 MiB snapshot reached 43 MiB, and
/// each growth held the old and the new buffer at once.
pub fn encode_snapshot(meta: &SnapshotMeta, sm: &LockStateMachine, capacity_bytes: usize) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let head = pb::Snapshot { meta: Some(raft::snapshot_meta_to_pb(meta)), state: None };
    const KEY_AND_LENGTH_MAX: usize = 1 + 10;
    let gap = 1 + head.encoded_len() + KEY_AND_LENGTH_MAX;
    let mut bytes = Vec::with_capacity(capacity_bytes.max(gap));
    bytes.resize(gap, 0);
    domain::encode_state_body(sm, &mut bytes);
    let mut prefix = Vec::with_capacity(gap);
    prefix.push(FORMAT_V1);
    head.encode(&mut prefix).expect("a Vec grows as needed");
    encode_key(2, WireType::LengthDelimited, &mut prefix);
    encode_varint((bytes.len() - gap) as u64, &mut prefix);
    let start = gap - prefix.len();
    bytes[start..gap].copy_from_slice(&prefix);
    bytes.drain(..start);
    bytes
}

pub fn decode_snapshot(bytes: &[u8]) -> Result<(SnapshotMeta, LockStateMachine), CodecError> {
    let snapshot: pb::Snapshot = unframe(bytes)?;
    let meta = raft::snapshot_meta_from_pb(need(snapshot.meta, "Snapshot.meta")?)?;
    let parts = StateParts::try_from(need(snapshot.state, "Snapshot.state")?)?;
    Ok((meta, LockStateMachine::from_parts(parts)))
}

/// Only a snapshot's metadata: the state is skipped over, not decoded (for a peer's or the
/// store's question "which snapshot is this?").
pub fn decode_snapshot_meta(bytes: &[u8]) -> Result<SnapshotMeta, CodecError> {
    let head: pb::SnapshotHead = unframe(bytes)?;
    raft::snapshot_meta_from_pb(need(head.meta, "Snapshot.meta")?)
}

pub fn encode_command(command: &crate::sm::Command) -> Vec<u8> {
    frame(&pb::Command::from(command))
}

pub fn decode_command(bytes: &[u8]) -> Result<crate::sm::Command, CodecError> {
    unframe::<pb::Command>(bytes)?.try_into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sm::*;

    fn actor(role: Role) -> Actor {
        Actor { user_id: "u".into(), session_id: "s".into(), name: "N".into(), email: "e@x".into(), role }
    }

    fn fields() -> AppointmentFields {
        AppointmentFields {
            title: "t".into(),
            starts_at_ms: 1,
            ends_at_ms: 2,
            client: "c".into(),
            location: "l".into(),
            notes: "n".into(),
            status: AppointmentStatus::Cancelled,
        }
    }

    fn every_op() -> Vec<Op> {
        let a = || actor(Role::Admin);
        vec![
            Op::Acquire { actor: a(), appointment_id: "x".into(), ttl_ms: 5, wait: true, waiter_ttl_ms: 6 },
            Op::Renew { actor: a(), appointment_id: "x".into(), waiting: false },
            Op::Renew { actor: a(), appointment_id: "x".into(), waiting: true },
            Op::Release {
                actor: a(),
                appointment_id: "x".into(),
                fencing_token: Some(9),
                reason: ReleaseReason::Disconnected,
            },
            Op::Release {
                actor: a(),
                appointment_id: "x".into(),
                fencing_token: None,
                reason: ReleaseReason::Released,
            },
            Op::Takeover {
                actor: a(),
                appointment_id: "x".into(),
                ttl_ms: 5,
                reason: "r".into(),
                expected_fencing_token: Some(0),
            },
            Op::CreateAppointment { actor: actor(Role::User), appointment_id: "x".into(), fields: fields() },
            Op::UpdateAppointment {
                actor: a(),
                appointment_id: "x".into(),
                fencing_token: 3,
                expected_version: 4,
                fields: fields(),
            },
            Op::SaveDraft { actor: a(), appointment_id: "x".into(), base_version: 2, text: typed(), base: None },
            Op::SaveDraft {
                actor: a(),
                appointment_id: "x".into(),
                base_version: 2,
                text: typed(),
                base: Some(typed()),
            },
            Op::MoveLock { actor: a(), appointment_id: "x".into(), ttl_ms: 5, expected_fencing_token: Some(3) },
            Op::MoveLock { actor: a(), appointment_id: "x".into(), ttl_ms: 5, expected_fencing_token: None },
            Op::DiscardDraft { actor: a(), appointment_id: "x".into() },
            Op::Tick,
        ]
    }

    /// What a person had typed: a cleared start, half an end.
    fn typed() -> DraftText {
        DraftText {
            title: "Check-up".into(),
            starts_at: String::new(),
            ends_at: "2030-01-0".into(),
            client: "Maria".into(),
            location: "Room 1".into(),
            notes: "long\nnotes".into(),
        }
    }

    #[test]
    fn a_draft_written_before_raw_text_reads_as_its_fields_in_text() {
        let old = pb::SaveDraft {
            actor: Some((&actor(Role::User)).into()),
            appointment_id: "x".into(),
            base_version: 3,
            fields: Some((&fields()).into()),
            text: None,
            base: None,
        };
        let op = pb::Op { op: Some(pb::op::Op::SaveDraft(old)) };
        let Op::SaveDraft { text, base, .. } = Op::try_from(op).unwrap() else { panic!("a draft") };
        assert_eq!(text.title, fields().title);
        assert_eq!(text.starts_at, "1970-01-01T00:00:00.001Z", "the parsed time, written back as text");
        assert_eq!(base, None);
    }

    #[test]
    fn every_command_round_trips() {
        for (i, op) in every_op().into_iter().enumerate() {
            let command =
                Command { issued_at_ms: 77 + i as u64, request_id: (i % 2 == 0).then(|| format!("r{i}")), op };
            assert_eq!(decode_command(&encode_command(&command)).unwrap(), command);
        }
    }

    #[test]
    fn a_populated_state_round_trips_through_a_snapshot() {
        let mut sm = LockStateMachine::new();
        let user = actor(Role::User);
        let admin = Actor { session_id: "s2".into(), user_id: "a".into(), ..actor(Role::Admin) };
        let other = Actor { session_id: "s3".into(), user_id: "o".into(), ..actor(Role::User) };
        let at =
            |ms, request_id: Option<&str>, op| Command { issued_at_ms: ms, request_id: request_id.map(Into::into), op };
        sm.apply(&at(
            1000,
            None,
            Op::CreateAppointment { actor: user.clone(), appointment_id: "x".into(), fields: fields() },
        ));
        sm.apply(&at(
            1001,
            Some("q1"),
            Op::Acquire {
                actor: user.clone(),
                appointment_id: "x".into(),
                ttl_ms: 60_000,
                wait: false,
                waiter_ttl_ms: 10_000,
            },
        ));
        sm.apply(&at(
            1002,
            None,
            Op::Acquire {
                actor: other.clone(),
                appointment_id: "x".into(),
                ttl_ms: 60_000,
                wait: true,
                waiter_ttl_ms: 10_000,
            },
        ));
        sm.apply(&at(
            1003,
            Some("q2"),
            Op::Takeover {
                actor: admin,
                appointment_id: "x".into(),
                ttl_ms: 60_000,
                reason: "why".into(),
                expected_fencing_token: None,
            },
        ));
        sm.apply(&at(
            1004,
            None,
            Op::SaveDraft {
                actor: user.clone(),
                appointment_id: "x".into(),
                base_version: 1,
                text: typed(),
                base: Some(DraftText::default()),
            },
        ));
        // An expiry: an audit record with no actor behind it.
        sm.apply(&at(
            1005,
            None,
            Op::CreateAppointment { actor: user.clone(), appointment_id: "y".into(), fields: fields() },
        ));
        sm.apply(&at(
            1006,
            None,
            Op::Acquire { actor: user, appointment_id: "y".into(), ttl_ms: 1_000, wait: false, waiter_ttl_ms: 10_000 },
        ));
        sm.apply(&at(2007, None, Op::Tick));
        let parts = sm.to_parts();
        assert!(parts.audit.iter().any(|r| r.action == AuditAction::Expired && r.by.is_none()));
        assert!(!parts.locks.is_empty() && !parts.queues.is_empty() && !parts.audit.is_empty());
        assert!(!parts.drafts.is_empty() && !parts.sessions.is_empty());

        let meta = SnapshotMeta::default();
        let bytes = encode_snapshot(&meta, &sm, 0);
        let (decoded_meta, decoded) = decode_snapshot(&bytes).unwrap();
        assert_eq!(decoded_meta, meta);
        assert_eq!(decoded, sm);
        assert_eq!(decoded.next_deadline_ms(), sm.next_deadline_ms());
        assert_eq!(decode_snapshot_meta(&bytes).unwrap(), meta);
        // Byte for byte what encoding the whole message at once writes.
        let reference =
            frame(&pb::Snapshot { meta: Some(raft::snapshot_meta_to_pb(&meta)), state: Some((&parts).into()) });
        assert_eq!(bytes, reference);
        // Room reserved up front (the last snapshot's size, a little more) changes no byte.
        let presized = encode_snapshot(&meta, &sm, reference.len() + 100);
        assert_eq!(presized, reference);
        // One allocation of exactly the room asked for (`Vec::with_capacity` is exact), never grown.
        assert_eq!(presized.capacity(), reference.len() + 100);
    }

    #[test]
    fn an_unknown_format_version_is_refused_not_guessed() {
        let mut bytes = encode_command(&Command { issued_at_ms: 1, request_id: None, op: Op::Tick });
        bytes[0] = 2;
        assert!(matches!(decode_command(&bytes), Err(CodecError::UnknownFormat(2))));
        assert!(matches!(decode_command(&[]), Err(CodecError::Empty)));
    }
}
