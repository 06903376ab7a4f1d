//! What the log carries (commands), what applying one answers (responses) and what it
//! tells watchers (events).

use super::types::{Actor, Appointment, AppointmentFields, AppointmentId, DraftText, Lock, Waiter};

/// One log entry's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The leader's clock when it proposed this command. Cluster time is the largest such
    /// stamp applied so far, so a leader whose clock lags cannot move time backwards.
    pub issued_at_ms: u64,
    /// Client-chosen id for exactly-once retries, scoped to the actor's session.
    pub request_id: Option<String>,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Take the lock, or renew it when this session already holds it. With `wait`, join the
    /// queue (or refresh the place in it) when someone else holds it.
    Acquire {
        actor: Actor,
        appointment_id: AppointmentId,
        ttl_ms: u64,
        wait: bool,
        waiter_ttl_ms: u64,
    },
    /// Extend the holder's lease (editing activity), or a waiter's place in the queue.
    /// `waiting`: the tab believes it is still queued, so the renewal never confirms a lock
    /// handed to it meanwhile (a claim is a person's decision, not a timer's).
    Renew {
        actor: Actor,
        appointment_id: AppointmentId,
        waiting: bool,
    },
    /// Give the lock up, or leave the queue. With a token, release only that grant.
    Release {
        actor: Actor,
        appointment_id: AppointmentId,
        fencing_token: Option<u64>,
        reason: ReleaseReason,
    },
    /// Admin only: force the lock away from its holder and grant it to the admin, audited in
    /// the same entry. With `expected_fencing_token`, only if the lock is still that grant.
    Takeover {
        actor: Actor,
        appointment_id: AppointmentId,
        ttl_ms: u64,
        reason: String,
        expected_fencing_token: Option<u64>,
    },
    /// Move the lock from another tab of the same person to this one ("continue here"): a
    /// new grant under a new token, so the old tab's late writes are fenced off, audited in
    /// the same entry. With `expected_fencing_token`, only if the lock is still that grant.
    MoveLock {
        actor: Actor,
        appointment_id: AppointmentId,
        ttl_ms: u64,
        expected_fencing_token: Option<u64>,
    },
    CreateAppointment {
        actor: Actor,
        appointment_id: AppointmentId,
        fields: AppointmentFields,
    },
    /// A protected write: applied only with the current holder's token and the expected version.
    UpdateAppointment {
        actor: Actor,
        appointment_id: AppointmentId,
        fencing_token: u64,
        expected_version: u64,
        fields: AppointmentFields,
    },
    /// Keeps what a person typed, valid or not, for them to take up again.
    SaveDraft {
        actor: Actor,
        appointment_id: AppointmentId,
        base_version: u64,
        text: DraftText,
        base: Option<DraftText>,
    },
    /// Drops the actor's draft of an appointment (they chose to discard it).
    DiscardDraft {
        actor: Actor,
        appointment_id: AppointmentId,
    },
    /// Carries nothing but the leader's time: the leader appends one when a lease is due.
    Tick,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// The holder let go ("Done", tab closed).
    Released,
    /// The node saw the holder's last socket go and not come back within the grace period.
    Disconnected,
}

impl Op {
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Op::Acquire { actor, .. }
            | Op::Renew { actor, .. }
            | Op::Release { actor, .. }
            | Op::Takeover { actor, .. }
            | Op::MoveLock { actor, .. }
            | Op::CreateAppointment { actor, .. }
            | Op::UpdateAppointment { actor, .. }
            | Op::SaveDraft { actor, .. }
            | Op::DiscardDraft { actor, .. } => Some(actor),
            Op::Tick => None,
        }
    }

    pub fn appointment_id(&self) -> Option<&AppointmentId> {
        match self {
            Op::Acquire { appointment_id, .. }
            | Op::Renew { appointment_id, .. }
            | Op::Release { appointment_id, .. }
            | Op::Takeover { appointment_id, .. }
            | Op::MoveLock { appointment_id, .. }
            | Op::CreateAppointment { appointment_id, .. }
            | Op::UpdateAppointment { appointment_id, .. }
            | Op::SaveDraft { appointment_id, .. }
            | Op::DiscardDraft { appointment_id, .. } => Some(appointment_id),
            Op::Tick => None,
        }
    }
}

/// The answer of applying one command. Rejections are answers too: they are decided by the
/// state machine, identically on every replica, and remembered for retries like successes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Granted {
        lock: Lock,
        renewed: bool,
    },
    /// Waiting; `position` counts from 1.
    Queued {
        position: u32,
        queue: Vec<Waiter>,
    },
    Released,
    AppointmentSaved(Appointment),
    DraftSaved,
    /// A tick, or a blank/membership entry: nothing to answer.
    Applied,
    Rejected(Rejection),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    LockHeld {
        lock: Lock,
    },
    NotHolder {
        lock: Option<Lock>,
    },
    StaleToken {
        lock: Option<Lock>,
    },
    VersionConflict {
        current: Appointment,
    },
    /// Another takeover (or a release and re-grant) changed the lock since the admin looked.
    TakeoverConflict {
        lock: Lock,
    },
    Forbidden,
    NotFound,
    AlreadyExists {
        current: Appointment,
    },
    QueueFull,
    CapacityExceeded,
    InvalidInput {
        reason: String,
    },
    /// The request id was already used by this session for another request (another
    /// operation, appointment or body): nothing was done.
    IdempotencyKeyReused,
}

/// What applying a command tells watchers. The store tags each with its log index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    LockAcquired {
        lock: Lock,
    },
    LockRenewed {
        lock: Lock,
    },
    LockReleased {
        previous: Lock,
        reason: ReleaseReason,
    },
    LockExpired {
        previous: Lock,
    },
    LockTakenOver {
        lock: Lock,
        previous: Lock,
        reason: String,
    },
    /// The same person continued in another tab (`Op::MoveLock`).
    LockMoved {
        lock: Lock,
        previous: Lock,
    },
    QueueChanged {
        appointment_id: AppointmentId,
        queue: Vec<Waiter>,
    },
    AppointmentCreated(Appointment),
    AppointmentUpdated(Appointment),
}

impl Event {
    pub fn appointment_id(&self) -> &AppointmentId {
        match self {
            Event::LockAcquired { lock }
            | Event::LockRenewed { lock }
            | Event::LockTakenOver { lock, .. }
            | Event::LockMoved { lock, .. } => &lock.appointment_id,
            Event::LockReleased { previous, .. } | Event::LockExpired { previous } => &previous.appointment_id,
            Event::QueueChanged { appointment_id, .. } => appointment_id,
            Event::AppointmentCreated(a) | Event::AppointmentUpdated(a) => &a.id,
        }
    }
}
