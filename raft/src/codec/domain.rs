//! Domain types <-> protobuf, by hand (ADR 2): the disk format changes only with a diff here.

use std::sync::Arc;

use super::pb;
use super::{CodecError, need};
use crate::sm::*;

fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::User => pb::Role::User,
        Role::Admin => pb::Role::Admin,
    }
}

impl From<&Actor> for pb::Actor {
    fn from(a: &Actor) -> Self {
        pb::Actor {
            user_id: a.user_id.clone(),
            session_id: a.session_id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            role: role_to_pb(a.role) as i32,
        }
    }
}

impl TryFrom<pb::Actor> for Actor {
    type Error = CodecError;
    fn try_from(a: pb::Actor) -> Result<Self, CodecError> {
        let role = match pb::Role::try_from(a.role).map_err(|_| CodecError::UnknownEnum("Role", a.role))? {
            pb::Role::User => Role::User,
            pb::Role::Admin => Role::Admin,
        };
        Ok(Actor { user_id: a.user_id, session_id: a.session_id, name: a.name, email: a.email, role })
    }
}

fn actor(a: Option<pb::Actor>, what: &'static str) -> Result<Actor, CodecError> {
    need(a, what)?.try_into()
}

impl From<&Lock> for pb::Lock {
    fn from(l: &Lock) -> Self {
        pb::Lock {
            appointment_id: l.appointment_id.clone(),
            holder: Some(l.holder.as_ref().into()),
            fencing_token: l.fencing_token,
            acquired_at_ms: l.acquired_at_ms,
            last_activity_at_ms: l.last_activity_at_ms,
            expires_at_ms: l.expires_at_ms,
            ttl_ms: l.ttl_ms,
            claim_by_ms: l.claim_by_ms,
        }
    }
}

impl TryFrom<pb::Lock> for Lock {
    type Error = CodecError;
    fn try_from(l: pb::Lock) -> Result<Self, CodecError> {
        Ok(Lock {
            appointment_id: l.appointment_id,
            holder: Arc::new(actor(l.holder, "Lock.holder")?),
            fencing_token: l.fencing_token,
            acquired_at_ms: l.acquired_at_ms,
            last_activity_at_ms: l.last_activity_at_ms,
            expires_at_ms: l.expires_at_ms,
            ttl_ms: l.ttl_ms,
            claim_by_ms: l.claim_by_ms,
        })
    }
}

fn lock(l: Option<pb::Lock>, what: &'static str) -> Result<Lock, CodecError> {
    need(l, what)?.try_into()
}

fn optional_lock(l: Option<pb::Lock>) -> Result<Option<Lock>, CodecError> {
    l.map(Lock::try_from).transpose()
}

impl From<&Waiter> for pb::Waiter {
    fn from(w: &Waiter) -> Self {
        pb::Waiter {
            actor: Some(w.actor.as_ref().into()),
            enqueued_at_ms: w.enqueued_at_ms,
            expires_at_ms: w.expires_at_ms,
            waiter_ttl_ms: w.waiter_ttl_ms,
            lock_ttl_ms: w.lock_ttl_ms,
        }
    }
}

impl TryFrom<pb::Waiter> for Waiter {
    type Error = CodecError;
    fn try_from(w: pb::Waiter) -> Result<Self, CodecError> {
        Ok(Waiter {
            actor: Arc::new(actor(w.actor, "Waiter.actor")?),
            enqueued_at_ms: w.enqueued_at_ms,
            expires_at_ms: w.expires_at_ms,
            waiter_ttl_ms: w.waiter_ttl_ms,
            lock_ttl_ms: w.lock_ttl_ms,
        })
    }
}

fn waiters(ws: Vec<pb::Waiter>) -> Result<Vec<Waiter>, CodecError> {
    ws.into_iter().map(Waiter::try_from).collect()
}

impl From<&AppointmentFields> for pb::AppointmentFields {
    fn from(f: &AppointmentFields) -> Self {
        pb::AppointmentFields {
            title: f.title.clone(),
            starts_at_ms: f.starts_at_ms,
            ends_at_ms: f.ends_at_ms,
            client: f.client.clone(),
            location: f.location.clone(),
            notes: f.notes.clone(),
            status: match f.status {
                AppointmentStatus::Scheduled => pb::AppointmentStatus::Scheduled,
                AppointmentStatus::Cancelled => pb::AppointmentStatus::Cancelled,
            } as i32,
        }
    }
}

impl TryFrom<pb::AppointmentFields> for AppointmentFields {
    type Error = CodecError;
    fn try_from(f: pb::AppointmentFields) -> Result<Self, CodecError> {
        let status = pb::AppointmentStatus::try_from(f.status)
            .map_err(|_| CodecError::UnknownEnum("AppointmentStatus", f.status))?;
        Ok(AppointmentFields {
            title: f.title,
            starts_at_ms: f.starts_at_ms,
            ends_at_ms: f.ends_at_ms,
            client: f.client,
            location: f.location,
            notes: f.notes,
            status: match status {
                pb::AppointmentStatus::Scheduled => AppointmentStatus::Scheduled,
                pb::AppointmentStatus::Cancelled => AppointmentStatus::Cancelled,
            },
        })
    }
}

fn fields(f: Option<pb::AppointmentFields>, what: &'static str) -> Result<AppointmentFields, CodecError> {
    need(f, what)?.try_into()
}

impl From<&Appointment> for pb::Appointment {
    fn from(a: &Appointment) -> Self {
        pb::Appointment {
            id: a.id.clone(),
            fields: Some((&a.fields).into()),
            version: a.version,
            updated_by: a.updated_by.clone(),
            updated_at_ms: a.updated_at_ms,
            updated_by_name: a.updated_by_name.clone(),
        }
    }
}

impl TryFrom<pb::Appointment> for Appointment {
    type Error = CodecError;
    fn try_from(a: pb::Appointment) -> Result<Self, CodecError> {
        Ok(Appointment {
            id: a.id,
            fields: fields(a.fields, "Appointment.fields")?,
            version: a.version,
            updated_by: a.updated_by,
            updated_by_name: a.updated_by_name,
            updated_at_ms: a.updated_at_ms,
        })
    }
}

fn appointment(a: Option<pb::Appointment>, what: &'static str) -> Result<Appointment, CodecError> {
    need(a, what)?.try_into()
}

impl From<&DraftText> for pb::DraftText {
    fn from(t: &DraftText) -> Self {
        pb::DraftText {
            title: t.title.clone(),
            starts_at: t.starts_at.clone(),
            ends_at: t.ends_at.clone(),
            client: t.client.clone(),
            location: t.location.clone(),
            notes: t.notes.clone(),
        }
    }
}

impl From<pb::DraftText> for DraftText {
    fn from(t: pb::DraftText) -> Self {
        DraftText {
            title: t.title,
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            client: t.client,
            location: t.location,
            notes: t.notes,
        }
    }
}

/// A draft's text, or, in what an older version wrote, its parsed fields as text.
fn draft_text(
    text: Option<pb::DraftText>,
    old: Option<pb::AppointmentFields>,
    what: &'static str,
) -> Result<DraftText, CodecError> {
    if let Some(text) = text {
        return Ok(text.into());
    }
    let old: AppointmentFields = fields(old, what)?;
    Ok(DraftText {
        starts_at: rfc3339(old.starts_at_ms),
        ends_at: rfc3339(old.ends_at_ms),
        title: old.title,
        client: old.client,
        location: old.location,
        notes: old.notes,
    })
}

/// Milliseconds since the epoch as an RFC 3339 UTC time (as the HTTP API writes them).
fn rfc3339(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

impl From<&Draft> for pb::Draft {
    fn from(d: &Draft) -> Self {
        pb::Draft {
            appointment_id: d.appointment_id.clone(),
            user_id: d.user_id.clone(),
            base_version: d.base_version,
            fields: None,
            saved_at_ms: d.saved_at_ms,
            text: Some((&d.text).into()),
            base: d.base.as_ref().map(Into::into),
        }
    }
}

impl TryFrom<pb::Draft> for Draft {
    type Error = CodecError;
    fn try_from(d: pb::Draft) -> Result<Self, CodecError> {
        Ok(Draft {
            appointment_id: d.appointment_id,
            user_id: d.user_id,
            base_version: d.base_version,
            text: draft_text(d.text, d.fields, "Draft.text")?,
            base: d.base.map(Into::into),
            saved_at_ms: d.saved_at_ms,
        })
    }
}

fn action_to_pb(action: AuditAction) -> pb::AuditAction {
    match action {
        AuditAction::Granted => pb::AuditAction::Granted,
        AuditAction::Released => pb::AuditAction::Released,
        AuditAction::Disconnected => pb::AuditAction::Disconnected,
        AuditAction::Expired => pb::AuditAction::Expired,
        AuditAction::TakenOver => pb::AuditAction::TakenOver,
        AuditAction::Moved => pb::AuditAction::Moved,
        AuditAction::Unclaimed => pb::AuditAction::Unclaimed,
    }
}

impl From<&AuditRecord> for pb::AuditRecord {
    fn from(r: &AuditRecord) -> Self {
        pb::AuditRecord {
            seq: r.seq,
            at_ms: r.at_ms,
            appointment_id: r.appointment_id.clone(),
            action: action_to_pb(r.action) as i32,
            by: r.by.as_deref().map(Into::into),
            from: r.from.as_deref().map(Into::into),
            from_fencing_token: r.from_fencing_token,
            fencing_token: r.fencing_token,
            reason: r.reason.clone(),
        }
    }
}

impl TryFrom<pb::AuditRecord> for AuditRecord {
    type Error = CodecError;
    fn try_from(r: pb::AuditRecord) -> Result<Self, CodecError> {
        let action =
            pb::AuditAction::try_from(r.action).map_err(|_| CodecError::UnknownEnum("AuditAction", r.action))?;
        Ok(AuditRecord {
            seq: r.seq,
            at_ms: r.at_ms,
            appointment_id: r.appointment_id,
            action: match action {
                pb::AuditAction::Granted => AuditAction::Granted,
                pb::AuditAction::Released => AuditAction::Released,
                pb::AuditAction::Disconnected => AuditAction::Disconnected,
                pb::AuditAction::Expired => AuditAction::Expired,
                pb::AuditAction::TakenOver => AuditAction::TakenOver,
                pb::AuditAction::Moved => AuditAction::Moved,
                pb::AuditAction::Unclaimed => AuditAction::Unclaimed,
            },
            by: r.by.map(Actor::try_from).transpose()?.map(Arc::new),
            from: r.from.map(Actor::try_from).transpose()?.map(Arc::new),
            from_fencing_token: r.from_fencing_token,
            fencing_token: r.fencing_token,
            reason: r.reason,
        })
    }
}

fn release_reason_to_pb(reason: ReleaseReason) -> i32 {
    let reason = match reason {
        ReleaseReason::Released => pb::ReleaseReason::Released,
        ReleaseReason::Disconnected => pb::ReleaseReason::Disconnected,
    };
    reason as i32
}

fn release_reason_from_pb(value: i32) -> Result<ReleaseReason, CodecError> {
    match pb::ReleaseReason::try_from(value).map_err(|_| CodecError::UnknownEnum("ReleaseReason", value))? {
        pb::ReleaseReason::Released => Ok(ReleaseReason::Released),
        pb::ReleaseReason::Disconnected => Ok(ReleaseReason::Disconnected),
    }
}

impl From<&Op> for pb::Op {
    fn from(op: &Op) -> Self {
        use pb::op::Op as P;
        let op = match op {
            Op::Acquire { actor, appointment_id, ttl_ms, wait, waiter_ttl_ms } => P::Acquire(pb::Acquire {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                ttl_ms: *ttl_ms,
                wait: *wait,
                waiter_ttl_ms: *waiter_ttl_ms,
            }),
            Op::Renew { actor, appointment_id, waiting } => P::Renew(pb::Renew {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                waiting: *waiting,
            }),
            Op::Release { actor, appointment_id, fencing_token, reason } => P::Release(pb::Release {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                fencing_token: *fencing_token,
                reason: release_reason_to_pb(*reason),
            }),
            Op::Takeover { actor, appointment_id, ttl_ms, reason, expected_fencing_token } => {
                P::Takeover(pb::Takeover {
                    actor: Some(actor.into()),
                    appointment_id: appointment_id.clone(),
                    ttl_ms: *ttl_ms,
                    reason: reason.clone(),
                    expected_fencing_token: *expected_fencing_token,
                })
            }
            Op::MoveLock { actor, appointment_id, ttl_ms, expected_fencing_token } => P::MoveLock(pb::MoveLock {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                ttl_ms: *ttl_ms,
                expected_fencing_token: *expected_fencing_token,
            }),
            Op::DiscardDraft { actor, appointment_id } => {
                P::DiscardDraft(pb::DiscardDraft { actor: Some(actor.into()), appointment_id: appointment_id.clone() })
            }
            Op::CreateAppointment { actor, appointment_id, fields } => P::CreateAppointment(pb::CreateAppointment {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                fields: Some(fields.into()),
            }),
            Op::UpdateAppointment { actor, appointment_id, fencing_token, expected_version, fields } => {
                P::UpdateAppointment(pb::UpdateAppointment {
                    actor: Some(actor.into()),
                    appointment_id: appointment_id.clone(),
                    fencing_token: *fencing_token,
                    expected_version: *expected_version,
                    fields: Some(fields.into()),
                })
            }
            Op::SaveDraft { actor, appointment_id, base_version, text, base } => P::SaveDraft(pb::SaveDraft {
                actor: Some(actor.into()),
                appointment_id: appointment_id.clone(),
                base_version: *base_version,
                fields: None,
                text: Some(text.into()),
                base: base.as_ref().map(Into::into),
            }),
            Op::Tick => P::Tick(pb::Tick {}),
        };
        pb::Op { op: Some(op) }
    }
}

impl TryFrom<pb::Op> for Op {
    type Error = CodecError;
    fn try_from(op: pb::Op) -> Result<Self, CodecError> {
        use pb::op::Op as P;
        Ok(match need(op.op, "Op.op")? {
            P::Acquire(a) => Op::Acquire {
                actor: actor(a.actor, "Acquire.actor")?,
                appointment_id: a.appointment_id,
                ttl_ms: a.ttl_ms,
                wait: a.wait,
                waiter_ttl_ms: a.waiter_ttl_ms,
            },
            P::Renew(r) => Op::Renew {
                actor: actor(r.actor, "Renew.actor")?,
                appointment_id: r.appointment_id,
                waiting: r.waiting,
            },
            P::Release(r) => Op::Release {
                actor: actor(r.actor, "Release.actor")?,
                appointment_id: r.appointment_id,
                fencing_token: r.fencing_token,
                reason: release_reason_from_pb(r.reason)?,
            },
            P::Takeover(t) => Op::Takeover {
                actor: actor(t.actor, "Takeover.actor")?,
                appointment_id: t.appointment_id,
                ttl_ms: t.ttl_ms,
                reason: t.reason,
                expected_fencing_token: t.expected_fencing_token,
            },
            P::MoveLock(m) => Op::MoveLock {
                actor: actor(m.actor, "MoveLock.actor")?,
                appointment_id: m.appointment_id,
                ttl_ms: m.ttl_ms,
                expected_fencing_token: m.expected_fencing_token,
            },
            P::DiscardDraft(d) => {
                Op::DiscardDraft { actor: actor(d.actor, "DiscardDraft.actor")?, appointment_id: d.appointment_id }
            }
            P::CreateAppointment(c) => Op::CreateAppointment {
                actor: actor(c.actor, "CreateAppointment.actor")?,
                appointment_id: c.appointment_id,
                fields: fields(c.fields, "CreateAppointment.fields")?,
            },
            P::UpdateAppointment(u) => Op::UpdateAppointment {
                actor: actor(u.actor, "UpdateAppointment.actor")?,
                appointment_id: u.appointment_id,
                fencing_token: u.fencing_token,
                expected_version: u.expected_version,
                fields: fields(u.fields, "UpdateAppointment.fields")?,
            },
            P::SaveDraft(d) => Op::SaveDraft {
                actor: actor(d.actor, "SaveDraft.actor")?,
                appointment_id: d.appointment_id,
                base_version: d.base_version,
                text: draft_text(d.text, d.fields, "SaveDraft.text")?,
                base: d.base.map(Into::into),
            },
            P::Tick(_) => Op::Tick,
        })
    }
}

impl From<&Command> for pb::Command {
    fn from(c: &Command) -> Self {
        pb::Command { issued_at_ms: c.issued_at_ms, request_id: c.request_id.clone(), op: Some((&c.op).into()) }
    }
}

impl TryFrom<pb::Command> for Command {
    type Error = CodecError;
    fn try_from(c: pb::Command) -> Result<Self, CodecError> {
        Ok(Command {
            issued_at_ms: c.issued_at_ms,
            request_id: c.request_id,
            op: need(c.op, "Command.op")?.try_into()?,
        })
    }
}

impl From<&Rejection> for pb::Rejection {
    fn from(r: &Rejection) -> Self {
        use pb::rejection::{self as r_, Kind};
        let kind = match r {
            Rejection::LockHeld { lock } => Kind::LockHeld(r_::LockHeld { lock: Some(lock.into()) }),
            Rejection::NotHolder { lock } => Kind::NotHolder(r_::NotHolder { lock: lock.as_ref().map(Into::into) }),
            Rejection::StaleToken { lock } => Kind::StaleToken(r_::StaleToken { lock: lock.as_ref().map(Into::into) }),
            Rejection::VersionConflict { current } => {
                Kind::VersionConflict(r_::VersionConflict { current: Some(current.into()) })
            }
            Rejection::TakeoverConflict { lock } => {
                Kind::TakeoverConflict(r_::TakeoverConflict { lock: Some(lock.into()) })
            }
            Rejection::Forbidden => Kind::Forbidden(r_::Empty {}),
            Rejection::NotFound => Kind::NotFound(r_::Empty {}),
            Rejection::AlreadyExists { current } => {
                Kind::AlreadyExists(r_::AlreadyExists { current: Some(current.into()) })
            }
            Rejection::QueueFull => Kind::QueueFull(r_::Empty {}),
            Rejection::CapacityExceeded => Kind::CapacityExceeded(r_::Empty {}),
            Rejection::InvalidInput { reason } => Kind::InvalidInput(r_::InvalidInput { reason: reason.clone() }),
            Rejection::IdempotencyKeyReused => Kind::IdempotencyKeyReused(r_::Empty {}),
        };
        pb::Rejection { kind: Some(kind) }
    }
}

impl TryFrom<pb::Rejection> for Rejection {
    type Error = CodecError;
    fn try_from(r: pb::Rejection) -> Result<Self, CodecError> {
        use pb::rejection::Kind;
        Ok(match need(r.kind, "Rejection.kind")? {
            Kind::LockHeld(x) => Rejection::LockHeld { lock: lock(x.lock, "LockHeld.lock")? },
            Kind::NotHolder(x) => Rejection::NotHolder { lock: optional_lock(x.lock)? },
            Kind::StaleToken(x) => Rejection::StaleToken { lock: optional_lock(x.lock)? },
            Kind::VersionConflict(x) => {
                Rejection::VersionConflict { current: appointment(x.current, "VersionConflict.current")? }
            }
            Kind::TakeoverConflict(x) => Rejection::TakeoverConflict { lock: lock(x.lock, "TakeoverConflict.lock")? },
            Kind::Forbidden(_) => Rejection::Forbidden,
            Kind::NotFound(_) => Rejection::NotFound,
            Kind::AlreadyExists(x) => {
                Rejection::AlreadyExists { current: appointment(x.current, "AlreadyExists.current")? }
            }
            Kind::QueueFull(_) => Rejection::QueueFull,
            Kind::CapacityExceeded(_) => Rejection::CapacityExceeded,
            Kind::InvalidInput(x) => Rejection::InvalidInput { reason: x.reason },
            Kind::IdempotencyKeyReused(_) => Rejection::IdempotencyKeyReused,
        })
    }
}

impl From<&Response> for pb::Response {
    fn from(r: &Response) -> Self {
        use pb::response::{self as r_, Kind};
        let kind = match r {
            Response::Granted { lock, renewed } => {
                Kind::Granted(r_::Granted { lock: Some(lock.into()), renewed: *renewed })
            }
            Response::Queued { position, queue } => {
                Kind::Queued(r_::Queued { position: *position, queue: queue.iter().map(Into::into).collect() })
            }
            Response::Released => Kind::Released(r_::Empty {}),
            Response::AppointmentSaved(a) => Kind::AppointmentSaved(a.into()),
            Response::DraftSaved => Kind::DraftSaved(r_::Empty {}),
            Response::Applied => Kind::Applied(r_::Empty {}),
            Response::Rejected(rejection) => Kind::Rejected(rejection.into()),
        };
        pb::Response { kind: Some(kind) }
    }
}

impl TryFrom<pb::Response> for Response {
    type Error = CodecError;
    fn try_from(r: pb::Response) -> Result<Self, CodecError> {
        use pb::response::Kind;
        Ok(match need(r.kind, "Response.kind")? {
            Kind::Granted(g) => Response::Granted { lock: lock(g.lock, "Granted.lock")?, renewed: g.renewed },
            Kind::Queued(q) => Response::Queued { position: q.position, queue: waiters(q.queue)? },
            Kind::Released(_) => Response::Released,
            Kind::AppointmentSaved(a) => Response::AppointmentSaved(a.try_into()?),
            Kind::DraftSaved(_) => Response::DraftSaved,
            Kind::Applied(_) => Response::Applied,
            Kind::Rejected(rejection) => Response::Rejected(rejection.try_into()?),
        })
    }
}

fn queue_to_pb(appointment_id: &str, waiters: &[Waiter]) -> pb::Queue {
    pb::Queue { appointment_id: appointment_id.to_owned(), waiters: waiters.iter().map(Into::into).collect() }
}

fn session_record_to_pb(session_id: &SessionId, record: &SessionRecord) -> pb::SessionRecord {
    pb::SessionRecord {
        session_id: session_id.clone(),
        last_seen_ms: record.last_seen_ms,
        recent: record
            .recent
            .iter()
            .map(|remembered| pb::session_record::Remembered {
                request_id: remembered.request_id.clone(),
                response: Some((&remembered.response).into()),
                op_digest: remembered.op_digest,
            })
            .collect(),
    }
}

/// Writers of the snapshot's most numerous messages straight from the state, without
/// building their `pb` copies first: each actor's four strings were cloned and freed for
/// every lock and audit record, most of the time a snapshot took (and that time, writes wait:
/// ADR 18). The bytes are those prost writes; the snapshot test compares them.
mod borrowed {
    use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

    use crate::sm::{Actor, AuditAction, AuditRecord, Lock, Role};

    // Proto3, as prost: a plain field at its default is not written; an `optional` or a
    // message field is written whenever it is present.
    fn str_len(tag: u32, value: &str) -> usize {
        if value.is_empty() { 0 } else { key_len(tag) + encoded_len_varint(value.len() as u64) + value.len() }
    }

    fn put_str(tag: u32, value: &str, buf: &mut Vec<u8>) {
        if !value.is_empty() {
            encode_key(tag, WireType::LengthDelimited, buf);
            encode_varint(value.len() as u64, buf);
            buf.extend_from_slice(value.as_bytes());
        }
    }

    fn varint_len(tag: u32, value: Option<u64>) -> usize {
        value.map_or(0, |v| key_len(tag) + encoded_len_varint(v))
    }

    fn put_varint(tag: u32, value: Option<u64>, buf: &mut Vec<u8>) {
        if let Some(v) = value {
            encode_key(tag, WireType::Varint, buf);
            encode_varint(v, buf);
        }
    }

    /// A plain (non-`optional`) scalar: absent when zero.
    fn plain(value: u64) -> Option<u64> {
        (value != 0).then_some(value)
    }

    fn message_len(tag: u32, body_len: usize) -> usize {
        key_len(tag) + encoded_len_varint(body_len as u64) + body_len
    }

    fn put_message_head(tag: u32, body_len: usize, buf: &mut Vec<u8>) {
        encode_key(tag, WireType::LengthDelimited, buf);
        encode_varint(body_len as u64, buf);
    }

    fn role(role: Role) -> u64 {
        super::role_to_pb(role) as u64
    }

    fn action(action: AuditAction) -> u64 {
        super::action_to_pb(action) as u64
    }

    fn actor_len(a: &Actor) -> usize {
        str_len(1, &a.user_id)
            + str_len(2, &a.session_id)
            + str_len(3, &a.name)
            + str_len(4, &a.email)
            + varint_len(5, plain(role(a.role)))
    }

    fn put_actor(tag: u32, a: &Actor, buf: &mut Vec<u8>) {
        put_message_head(tag, actor_len(a), buf);
        put_str(1, &a.user_id, buf);
        put_str(2, &a.session_id, buf);
        put_str(3, &a.name, buf);
        put_str(4, &a.email, buf);
        put_varint(5, plain(role(a.role)), buf);
    }

    /// `message::encode(tag, &pb::Lock::from(lock), buf)`.
    pub fn put_lock(tag: u32, l: &Lock, buf: &mut Vec<u8>) {
        let len = str_len(1, &l.appointment_id)
            + message_len(2, actor_len(&l.holder))
            + varint_len(3, plain(l.fencing_token))
            + varint_len(4, plain(l.acquired_at_ms))
            + varint_len(5, plain(l.last_activity_at_ms))
            + varint_len(6, plain(l.expires_at_ms))
            + varint_len(7, plain(l.ttl_ms))
            + varint_len(8, l.claim_by_ms);
        put_message_head(tag, len, buf);
        put_str(1, &l.appointment_id, buf);
        put_actor(2, &l.holder, buf);
        put_varint(3, plain(l.fencing_token), buf);
        put_varint(4, plain(l.acquired_at_ms), buf);
        put_varint(5, plain(l.last_activity_at_ms), buf);
        put_varint(6, plain(l.expires_at_ms), buf);
        put_varint(7, plain(l.ttl_ms), buf);
        put_varint(8, l.claim_by_ms, buf);
    }

    /// `message::encode(tag, &pb::AuditRecord::from(record), buf)`.
    pub fn put_audit_record(tag: u32, r: &AuditRecord, buf: &mut Vec<u8>) {
        let len = varint_len(1, plain(r.seq))
            + varint_len(2, plain(r.at_ms))
            + str_len(3, &r.appointment_id)
            + varint_len(4, plain(action(r.action)))
            + r.by.as_deref().map_or(0, |a| message_len(5, actor_len(a)))
            + r.from.as_deref().map_or(0, |a| message_len(6, actor_len(a)))
            + varint_len(7, r.from_fencing_token)
            + varint_len(8, r.fencing_token)
            + str_len(9, &r.reason);
        put_message_head(tag, len, buf);
        put_varint(1, plain(r.seq), buf);
        put_varint(2, plain(r.at_ms), buf);
        put_str(3, &r.appointment_id, buf);
        put_varint(4, plain(action(r.action)), buf);
        if let Some(by) = r.by.as_deref() {
            put_actor(5, by, buf);
        }
        if let Some(from) = r.from.as_deref() {
            put_actor(6, from, buf);
        }
        put_varint(7, r.from_fencing_token, buf);
        put_varint(8, r.fencing_token, buf);
        put_str(9, &r.reason, buf);
    }
}

/// Appends the body of a `pb::State` for `sm` to `buf`, one element at a time: the bytes are
/// those `pb::State::encode` would write, without first copying the whole state into
/// messages (for 100,000 locks that copy was ~100 MiB, held while the snapshot was built).
pub(super) fn encode_state_body(sm: &LockStateMachine, buf: &mut Vec<u8>) {
    use prost::encoding::{message, uint64};
    // Field numbers and order as in `message State` (lockd.proto); zero scalars are omitted,
    // as prost does.
    for lock in sm.locks() {
        borrowed::put_lock(1, lock, buf);
    }
    for (appointment_id, waiters) in sm.all_queues() {
        message::encode(2, &queue_to_pb(appointment_id, waiters), buf);
    }
    for appointment in sm.appointments() {
        message::encode(3, &pb::Appointment::from(appointment), buf);
    }
    for record in sm.all_audit_records() {
        borrowed::put_audit_record(4, record, buf);
    }
    for draft in sm.all_drafts() {
        message::encode(5, &pb::Draft::from(draft), buf);
    }
    for (tag, value) in [(6, sm.next_fencing_token()), (7, sm.next_audit_seq()), (8, sm.now_ms())] {
        if value != 0 {
            uint64::encode(tag, &value, buf);
        }
    }
    for (session_id, record) in sm.session_records() {
        message::encode(9, &session_record_to_pb(session_id, record), buf);
    }
}

/// The state as one message, the straightforward way: the reference the streaming encoder is
/// tested against.
#[cfg(test)]
impl From<&StateParts> for pb::State {
    fn from(s: &StateParts) -> Self {
        pb::State {
            locks: s.locks.iter().map(Into::into).collect(),
            queues: s.queues.iter().map(|(id, q)| queue_to_pb(id, q)).collect(),
            appointments: s.appointments.iter().map(Into::into).collect(),
            audit: s.audit.iter().map(Into::into).collect(),
            drafts: s.drafts.iter().map(Into::into).collect(),
            next_fencing_token: s.next_fencing_token,
            next_audit_seq: s.next_audit_seq,
            now_ms: s.now_ms,
            sessions: s.sessions.iter().map(|(id, record)| session_record_to_pb(id, record)).collect(),
        }
    }
}

impl TryFrom<pb::State> for StateParts {
    type Error = CodecError;
    fn try_from(s: pb::State) -> Result<Self, CodecError> {
        Ok(StateParts {
            locks: s.locks.into_iter().map(Lock::try_from).collect::<Result<_, _>>()?,
            queues: s
                .queues
                .into_iter()
                .map(|q| Ok((q.appointment_id, waiters(q.waiters)?)))
                .collect::<Result<_, CodecError>>()?,
            appointments: s.appointments.into_iter().map(Appointment::try_from).collect::<Result<_, _>>()?,
            audit: s.audit.into_iter().map(AuditRecord::try_from).collect::<Result<_, _>>()?,
            drafts: s.drafts.into_iter().map(Draft::try_from).collect::<Result<_, _>>()?,
            next_fencing_token: s.next_fencing_token,
            next_audit_seq: s.next_audit_seq,
            now_ms: s.now_ms,
            sessions: s
                .sessions
                .into_iter()
                .map(|r| {
                    // Exactly as many as there are: collected through `Result`, a session's one
                    // remembered answer got room for four (~380 bytes per session unused).
                    let mut recent = std::collections::VecDeque::with_capacity(r.recent.len());
                    for m in r.recent {
                        let response = need(m.response, "Remembered.response")?.try_into()?;
                        recent.push_back(Remembered { request_id: m.request_id, op_digest: m.op_digest, response });
                    }
                    Ok((r.session_id, SessionRecord { last_seen_ms: r.last_seen_ms, recent }))
                })
                .collect::<Result<_, CodecError>>()?,
        })
    }
}
