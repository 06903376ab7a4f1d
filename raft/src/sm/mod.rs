//! The lock state machine: pure and deterministic.
//!
//! `apply(command) -> (response, events)` is the only way state changes. There is no I/O,
//! no clock, no randomness and no `HashMap` iteration here: every replica that applies the
//! same log reaches the same state (docs/design.md, invariant 5). Time enters only as the leader's
//! stamp on each command; a lease expires when an applied command's stamp passes its
//! `expires_at_ms`, never because a replica looked at its own clock.
//!
//! Invariants this module guards (checked by `debug_assert!` on every apply and by the
//! property tests in `tests.rs`):
//! - at most one holder per appointment (the `locks` map), and a free lock has no waiters;
//! - fencing tokens are unique and strictly increasing in grant order;
//! - an appointment update applies only with the current holder's token and expected version;
//! - a takeover and its audit record are one transition.

mod appointments;
pub mod command;
pub mod digest;
mod locks;
pub mod sessions;
pub mod types;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

pub use command::{Command, Event, Op, Rejection, ReleaseReason, Response};
use sessions::Sessions;
pub use sessions::{Remembered, SessionRecord};
pub use types::*;

/// An appointment id as the state's maps hold it: every map keyed by one appointment shares
/// one allocation (with 100,000 held locks, a `String` per map was ~5 copies of each id).
type SharedId = Arc<str>;

/// The whole replicated state. Everything but the derived indexes is in snapshots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockStateMachine {
    locks: BTreeMap<SharedId, Lock>,
    /// Admins ahead of users, FIFO within a role.
    queues: BTreeMap<SharedId, Vec<Waiter>>,
    appointments: BTreeMap<SharedId, Appointment>,
    audit: BTreeMap<SharedId, VecDeque<AuditRecord>>,
    drafts: BTreeMap<(AppointmentId, UserId), Draft>,
    /// The next grant's token. Starts at 1 and only grows, across snapshots and leaders.
    next_fencing_token: u64,
    next_audit_seq: u64,
    /// Cluster time: the largest leader stamp applied so far. Never goes backwards.
    now_ms: u64,
    sessions: Sessions,
    due: DueIndex,
    /// A bug planted on purpose, for the simulation to prove its checker catches it. Never
    /// in snapshots: the store plants it again before every apply.
    #[cfg(feature = "planted-bugs")]
    planted: Option<PlantedBug>,
}

/// Bugs the simulation plants in the state machine (`planted-bugs` feature only).
#[cfg(feature = "planted-bugs")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlantedBug {
    /// An acquire of a held lock is granted, as if the lock were free.
    DoubleGrant,
    /// A save is applied whatever fencing token and session it carries.
    UnfencedUpdate,
}

/// Everything a snapshot holds, in plain owned form, for the encoder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateParts {
    pub locks: Vec<Lock>,
    pub queues: Vec<(AppointmentId, Vec<Waiter>)>,
    pub appointments: Vec<Appointment>,
    pub audit: Vec<AuditRecord>,
    pub drafts: Vec<Draft>,
    pub next_fencing_token: u64,
    pub next_audit_seq: u64,
    pub now_ms: u64,
    pub sessions: Vec<(SessionId, SessionRecord)>,
}

impl LockStateMachine {
    pub fn new() -> Self {
        LockStateMachine { next_fencing_token: 1, next_audit_seq: 1, ..Default::default() }
    }

    /// Plants `bug` (or none) for the applies that follow.
    #[cfg(feature = "planted-bugs")]
    pub fn plant(&mut self, bug: Option<PlantedBug>) {
        self.planted = bug;
    }

    /// Applies one command at cluster time `max(now, command.issued_at_ms)`.
    ///
    /// Leases due by then lapse first, so a command never acts on a lease that has expired
    /// in cluster time, whether or not a `Tick` was appended for it.
    pub fn apply(&mut self, command: &Command) -> (Response, Vec<Event>) {
        let mut events = Vec::new();
        self.now_ms = self.now_ms.max(command.issued_at_ms);
        self.expire_due(&mut events);
        self.sessions.forget_idle(self.now_ms);

        let dedup_key = match (command.op.actor(), &command.request_id) {
            (Some(actor), Some(request_id)) => {
                Some((actor.session_key(), request_id.clone(), digest::op_digest(&command.op)))
            }
            _ => None,
        };
        if let Some((session_id, request_id, op_digest)) = &dedup_key
            && let Some(remembered) = self.sessions.lookup(session_id, request_id)
        {
            // A retry gets the first answer; the same key on another request changes nothing.
            if remembered.answers(*op_digest) {
                return (remembered.response.clone(), events);
            }
            return (Response::Rejected(Rejection::IdempotencyKeyReused), events);
        }

        let response = match self.check_input(&command.op) {
            Err(reason) => Response::Rejected(Rejection::InvalidInput { reason }),
            Ok(()) => self.apply_op(&command.op, &mut events),
        };

        if let Some((session_id, request_id, op_digest)) = &dedup_key {
            self.sessions.remember(session_id, request_id, *op_digest, &response, self.now_ms);
        }
        if let Some(id) = command.op.appointment_id() {
            self.check_appointment_invariants(id);
        }
        (response, events)
    }

    fn apply_op(&mut self, op: &Op, events: &mut Vec<Event>) -> Response {
        match op {
            Op::Acquire { actor, appointment_id, ttl_ms, wait, waiter_ttl_ms } => {
                self.acquire(actor, appointment_id, *ttl_ms, *wait, *waiter_ttl_ms, events)
            }
            Op::Renew { actor, appointment_id, waiting } => self.renew(actor, appointment_id, *waiting, events),
            Op::Release { actor, appointment_id, fencing_token, reason } => {
                self.release(actor, appointment_id, *fencing_token, *reason, events)
            }
            Op::Takeover { actor, appointment_id, ttl_ms, reason, expected_fencing_token } => {
                self.takeover(actor, appointment_id, *ttl_ms, reason, *expected_fencing_token, events)
            }
            Op::MoveLock { actor, appointment_id, ttl_ms, expected_fencing_token } => {
                self.move_lock(actor, appointment_id, *ttl_ms, *expected_fencing_token, events)
            }
            Op::CreateAppointment { actor, appointment_id, fields } => {
                self.create_appointment(actor, appointment_id, fields, events)
            }
            Op::UpdateAppointment { actor, appointment_id, fencing_token, expected_version, fields } => {
                self.update_appointment(actor, appointment_id, *fencing_token, *expected_version, fields, events)
            }
            Op::SaveDraft { actor, appointment_id, base_version, text, base } => {
                self.save_draft(actor, appointment_id, *base_version, text, base.as_ref())
            }
            Op::DiscardDraft { actor, appointment_id } => self.discard_draft(actor, appointment_id),
            Op::Tick => Response::Applied,
        }
    }

    /// Input checks every replica repeats, so a command from any path is held to the limits.
    fn check_input(&self, op: &Op) -> Result<(), String> {
        if let Some(actor) = op.actor() {
            actor.validate()?;
        }
        if let Some(id) = op.appointment_id() {
            types::validate_appointment_id(id)?;
        }
        locks::check_lock_input(op)?;
        appointments::check_appointment_input(op)
    }

    // ---- reads -------------------------------------------------------------------------

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn next_fencing_token(&self) -> u64 {
        self.next_fencing_token
    }

    pub fn lock(&self, appointment_id: &str) -> Option<&Lock> {
        self.locks.get(appointment_id)
    }

    pub fn locks(&self) -> impl Iterator<Item = &Lock> {
        self.locks.values()
    }

    pub fn queue(&self, appointment_id: &str) -> &[Waiter] {
        self.queues.get(appointment_id).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn appointment(&self, appointment_id: &str) -> Option<&Appointment> {
        self.appointments.get(appointment_id)
    }

    pub fn appointments(&self) -> impl Iterator<Item = &Appointment> {
        self.appointments.values()
    }

    pub fn audit(&self, appointment_id: &str) -> impl Iterator<Item = &AuditRecord> {
        self.audit.get(appointment_id).into_iter().flatten()
    }

    /// The latest `limit` audit records across every appointment that `keep` accepts, newest
    /// first. A walk over every trail (at most `AUDIT_RECORDS_PER_APPOINTMENT_MAX` each) that
    /// keeps only the newest `limit` seen so far: an admin's occasional read, not a hot path.
    pub fn recent_audit(&self, limit: usize, keep: impl Fn(&AuditRecord) -> bool) -> Vec<&AuditRecord> {
        // By `seq`, which is unique: the first entry is the oldest kept.
        let mut newest: BTreeMap<u64, &AuditRecord> = BTreeMap::new();
        if limit == 0 {
            return Vec::new();
        }
        for trail in self.audit.values() {
            // Within a trail records are oldest first: walk back and stop at the first one
            // older than everything kept so far.
            for record in trail.iter().rev() {
                if newest.len() == limit && newest.first_key_value().is_some_and(|(oldest, _)| *oldest > record.seq) {
                    break;
                }
                if keep(record) {
                    newest.insert(record.seq, record);
                    if newest.len() > limit {
                        newest.pop_first();
                    }
                }
            }
        }
        newest.into_values().rev().collect()
    }

    pub fn draft(&self, appointment_id: &str, user_id: &str) -> Option<&Draft> {
        self.drafts.get(&(appointment_id.to_owned(), user_id.to_owned()))
    }

    /// The earliest cluster time at which a lease or a waiter's lease lapses: when the
    /// leader should append a `Tick`. `None` when nothing can expire (no ticks then).
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.due.first()
    }

    // ---- snapshots ---------------------------------------------------------------------

    /// Every appointment's wait queue, in id order (what a snapshot holds; see `codec`).
    pub fn all_queues(&self) -> impl Iterator<Item = (&str, &[Waiter])> {
        self.queues.iter().map(|(id, q)| (&**id, q.as_slice()))
    }

    /// Every appointment's audit records, in id order, oldest first within one.
    pub fn all_audit_records(&self) -> impl Iterator<Item = &AuditRecord> {
        self.audit.values().flatten()
    }

    pub fn all_drafts(&self) -> impl Iterator<Item = &Draft> {
        self.drafts.values()
    }

    pub fn session_records(&self) -> impl Iterator<Item = (&SessionId, &SessionRecord)> {
        self.sessions.records().iter()
    }

    pub fn next_audit_seq(&self) -> u64 {
        self.next_audit_seq
    }

    /// An owned copy of everything a snapshot holds. The snapshot encoder walks the state
    /// in place instead (a copy of 100,000 locks is ~100 MiB); tests compare states with it.
    pub fn to_parts(&self) -> StateParts {
        StateParts {
            locks: self.locks().cloned().collect(),
            queues: self.all_queues().map(|(id, q)| (id.to_owned(), q.to_vec())).collect(),
            appointments: self.appointments().cloned().collect(),
            audit: self.all_audit_records().cloned().collect(),
            drafts: self.all_drafts().cloned().collect(),
            next_fencing_token: self.next_fencing_token,
            next_audit_seq: self.next_audit_seq,
            now_ms: self.now_ms,
            sessions: self.session_records().map(|(id, r)| (id.clone(), r.clone())).collect(),
        }
    }

    pub fn from_parts(parts: StateParts) -> Self {
        let mut sm = LockStateMachine {
            locks: BTreeMap::new(),
            queues: BTreeMap::new(),
            appointments: parts.appointments.into_iter().map(|a| (SharedId::from(a.id.as_str()), a)).collect(),
            audit: BTreeMap::new(),
            drafts: parts.drafts.into_iter().map(|d| ((d.appointment_id.clone(), d.user_id.clone()), d)).collect(),
            next_fencing_token: parts.next_fencing_token.max(1),
            next_audit_seq: parts.next_audit_seq.max(1),
            now_ms: parts.now_ms,
            sessions: Sessions::from_records(parts.sessions.into_iter().collect()),
            due: DueIndex::default(),
            #[cfg(feature = "planted-bugs")]
            planted: None,
        };
        // Keyed by the appointments' ids, as a live state is.
        for lock in parts.locks {
            sm.locks.insert(sm.shared_id(&lock.appointment_id), lock);
        }
        for (appointment_id, waiters) in parts.queues {
            sm.queues.insert(sm.shared_id(&appointment_id), waiters);
        }
        for record in parts.audit {
            let id = sm.shared_id(&record.appointment_id);
            sm.audit.entry(id).or_insert_with(audit_trail).push_back(record);
        }
        sm.share_actors();
        let ids: Vec<SharedId> = sm.locks.keys().chain(sm.queues.keys()).cloned().collect();
        for id in ids {
            sm.reindex(&id);
        }
        sm
    }

    /// The one allocation of `appointment_id` every map shares: the appointment's key when it
    /// exists (a lock, a queue and an audit trail need one), a new one otherwise.
    fn shared_id(&self, appointment_id: &str) -> SharedId {
        match self.appointments.get_key_value(appointment_id) {
            Some((id, _)) => id.clone(),
            None => appointment_id.into(),
        }
    }

    /// Makes equal actors one `Arc` again: decoded, each lock, waiter, audit record and
    /// remembered answer has a copy of its own, and a restored node would hold several times
    /// the actors a live one does.
    fn share_actors(&mut self) {
        let mut known: HashSet<Arc<Actor>> = HashSet::new();
        let mut share = |actor: &mut Arc<Actor>| match known.get(actor) {
            Some(same) => *actor = same.clone(),
            None => {
                known.insert(actor.clone());
            }
        };
        for lock in self.locks.values_mut() {
            share(&mut lock.holder);
        }
        for waiter in self.queues.values_mut().flatten() {
            share(&mut waiter.actor);
        }
        for record in self.audit.values_mut().flatten() {
            record.by.iter_mut().chain(record.from.iter_mut()).for_each(&mut share);
        }
        self.sessions.actors_mut().for_each(share);
    }

    // ---- helpers shared by the command modules ----------------------------------------

    /// A record of `action` on `appointment_id` now; [`Self::audit_record`] numbers it and keeps it.
    fn audit_entry(&self, appointment_id: &str, action: AuditAction) -> AuditRecord {
        AuditRecord::new(self.now_ms, appointment_id, action)
    }

    fn audit_record(&mut self, record: AuditRecord) {
        let id = self.shared_id(&record.appointment_id);
        let records = self.audit.entry(id).or_insert_with(audit_trail);
        records.push_back(AuditRecord { seq: self.next_audit_seq, ..record });
        self.next_audit_seq += 1;
        while records.len() > crate::limits::AUDIT_RECORDS_PER_APPOINTMENT_MAX {
            records.pop_front();
        }
    }

    /// Recomputes when `appointment_id`'s earliest lease (lock or waiter) lapses.
    fn reindex(&mut self, appointment_id: &str) {
        let lock_due = self.locks.get(appointment_id).map(|l| l.expires_at_ms);
        let waiter_due = self.queues.get(appointment_id).and_then(|q| q.iter().map(|w| w.expires_at_ms).min());
        let due_at_ms = match (lock_due, waiter_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.due.set(self.shared_id(appointment_id), due_at_ms);
    }

    fn check_appointment_invariants(&self, appointment_id: &str) {
        if cfg!(debug_assertions) {
            let queue = self.queue(appointment_id);
            if let Some(lock) = self.locks.get(appointment_id) {
                assert!(lock.fencing_token < self.next_fencing_token, "token {} was never issued", lock.fencing_token);
                assert!(queue.iter().all(|w| !w.actor.same_session(&lock.holder)), "the holder is also waiting");
            } else {
                assert!(queue.is_empty(), "a free lock on {appointment_id} has waiters");
            }
            let first_user = queue.iter().position(|w| !w.actor.is_admin()).unwrap_or(queue.len());
            assert!(queue[first_user..].iter().all(|w| !w.actor.is_admin()), "an admin waits behind a user");
        }
    }
}

/// A new appointment's audit trail. Most appointments hold a few records, and a record is
/// ~130 bytes: `VecDeque`'s first growth to 4 would leave ~400 bytes per appointment unused.
fn audit_trail() -> VecDeque<AuditRecord> {
    VecDeque::with_capacity(1)
}

/// When each appointment's earliest lease lapses, ordered by time. Derived state, rebuilt on
/// restore, so expiry costs O(log n) per due appointment rather than a scan of all locks.
#[derive(Debug, Clone, Default)]
struct DueIndex {
    by_time: BTreeSet<(u64, SharedId)>,
    by_id: BTreeMap<SharedId, u64>,
}

impl PartialEq for DueIndex {
    /// Derived from the rest of the state: equal whenever that is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for DueIndex {}

impl DueIndex {
    fn set(&mut self, id: SharedId, due_at_ms: Option<u64>) {
        if let Some(old) = self.by_id.remove(&id) {
            self.by_time.remove(&(old, id.clone()));
        }
        if let Some(at) = due_at_ms {
            self.by_id.insert(id.clone(), at);
            self.by_time.insert((at, id));
        }
    }

    fn first(&self) -> Option<u64> {
        self.by_time.first().map(|(at, _)| *at)
    }

    /// The appointments due at or before `now_ms`, earliest first, at most `count_max`.
    fn due_by(&self, now_ms: u64, count_max: usize) -> Vec<SharedId> {
        self.by_time.iter().take_while(|(at, _)| *at <= now_ms).take(count_max).map(|(_, id)| id.clone()).collect()
    }
}
