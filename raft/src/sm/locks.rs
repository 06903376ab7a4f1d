//! Lock transitions: acquire, renew, release, takeover, expiry and hand-over to the queue.

use std::sync::Arc;

use super::LockStateMachine;
use super::command::{Event, Op, Rejection, ReleaseReason, Response};
use super::types::{Actor, AuditAction, Lock, Waiter, check_text};
use crate::limits;

/// `actor` as an `Arc`, sharing `known`'s when they are the same person and tab and name.
fn shared(actor: &Actor, known: &Arc<Actor>) -> Arc<Actor> {
    if **known == *actor { known.clone() } else { Arc::new(actor.clone()) }
}

pub(super) fn check_lock_input(op: &Op) -> Result<(), String> {
    let check_ttl = |ttl_ms: u64| {
        if (limits::LOCK_TTL_MS_MIN..=limits::LOCK_TTL_MS_MAX).contains(&ttl_ms) {
            Ok(())
        } else {
            Err(format!("ttlMs must be {} to {}", limits::LOCK_TTL_MS_MIN, limits::LOCK_TTL_MS_MAX))
        }
    };
    match op {
        Op::Acquire { ttl_ms, waiter_ttl_ms, .. } => {
            check_ttl(*ttl_ms)?;
            if !(limits::WAITER_TTL_MS_MIN..=limits::WAITER_TTL_MS_MAX).contains(waiter_ttl_ms) {
                return Err(format!(
                    "waiter lease must be {} to {} ms",
                    limits::WAITER_TTL_MS_MIN,
                    limits::WAITER_TTL_MS_MAX
                ));
            }
            Ok(())
        }
        Op::Takeover { ttl_ms, reason, .. } => {
            check_ttl(*ttl_ms)?;
            check_text("reason", reason, limits::REASON_CHARS_MAX, false)
        }
        Op::MoveLock { ttl_ms, .. } => check_ttl(*ttl_ms),
        _ => Ok(()),
    }
}

/// What a takeover or a move asks for, and how its audit record reads.
#[derive(Clone, Copy)]
struct Replacement<'a> {
    ttl_ms: u64,
    expected_fencing_token: Option<u64>,
    action: AuditAction,
    reason: &'a str,
}

impl LockStateMachine {
    pub(super) fn acquire(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        ttl_ms: u64,
        wait: bool,
        waiter_ttl_ms: u64,
        events: &mut Vec<Event>,
    ) -> Response {
        if !self.appointments.contains_key(appointment_id) {
            return Response::Rejected(Rejection::NotFound);
        }
        let Some(lock) = self.locks.get_mut(appointment_id) else {
            let lock = self.grant(Arc::new(actor.clone()), appointment_id, ttl_ms, events);
            return Response::Granted { lock, renewed: false };
        };
        if lock.holder.same_session(actor) {
            lock.ttl_ms = ttl_ms;
            return self.renew_holder(appointment_id, events);
        }
        #[cfg(feature = "planted-bugs")]
        if self.planted == Some(super::PlantedBug::DoubleGrant) {
            // PLANTED BUG: a held lock granted again, as if it were free; its holder is not told.
            let id = self.shared_id(appointment_id);
            self.locks.remove(&id);
            let lock = self.grant(Arc::new(actor.clone()), appointment_id, ttl_ms, events);
            return Response::Granted { lock, renewed: false };
        }
        if !wait {
            return Response::Rejected(Rejection::LockHeld { lock: lock.clone() });
        }
        self.enqueue(actor, appointment_id, ttl_ms, waiter_ttl_ms, events)
    }

    pub(super) fn renew(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        waiting: bool,
        events: &mut Vec<Event>,
    ) -> Response {
        match self.locks.get(appointment_id) {
            // Handed to this tab while it renewed its place: the claim stays for the person.
            Some(lock) if lock.holder.same_session(actor) && waiting && lock.claim_by_ms.is_some() => {
                Response::Granted { lock: lock.clone(), renewed: false }
            }
            Some(lock) if lock.holder.same_session(actor) => self.renew_holder(appointment_id, events),
            lock => {
                let lock = lock.cloned();
                match self.waiter_position(appointment_id, actor).or_else(|| self.place_of_user(appointment_id, actor))
                {
                    Some(index) => self.refresh_waiter(appointment_id, index),
                    None => Response::Rejected(Rejection::NotHolder { lock }),
                }
            }
        }
    }

    pub(super) fn release(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        fencing_token: Option<u64>,
        reason: ReleaseReason,
        events: &mut Vec<Event>,
    ) -> Response {
        let Some(lock) = self.locks.get(appointment_id) else {
            // Nothing held: the caller already has what it asked for.
            return Response::Released;
        };
        if !lock.holder.same_session(actor) {
            if let Some(index) = self.waiter_position(appointment_id, actor) {
                let queue = self.queues.get_mut(appointment_id).expect("a waiter has a queue");
                queue.remove(index);
                self.queue_changed(appointment_id, events);
                return Response::Released;
            }
            return Response::Rejected(Rejection::NotHolder { lock: Some(lock.clone()) });
        }
        if fencing_token.is_some_and(|token| token != lock.fencing_token) {
            // A late request from an old grant of this session never frees the newer one.
            return Response::Rejected(Rejection::StaleToken { lock: Some(lock.clone()) });
        }
        let previous = self.locks.remove(appointment_id).expect("checked above");
        let action = match reason {
            ReleaseReason::Released => AuditAction::Released,
            ReleaseReason::Disconnected => AuditAction::Disconnected,
        };
        let record = self.audit_entry(appointment_id, action).by(shared(actor, &previous.holder)).displacing(&previous);
        self.audit_record(record);
        events.push(Event::LockReleased { previous, reason });
        self.hand_over(appointment_id, events);
        Response::Released
    }

    pub(super) fn takeover(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        ttl_ms: u64,
        reason: &str,
        expected_fencing_token: Option<u64>,
        events: &mut Vec<Event>,
    ) -> Response {
        if !actor.is_admin() {
            return Response::Rejected(Rejection::Forbidden);
        }
        let asked = Replacement { ttl_ms, expected_fencing_token, action: AuditAction::TakenOver, reason };
        let replaced = self.replace_or_grant(actor, appointment_id, &asked, |_| None, events);
        match replaced {
            Ok((lock, previous)) => {
                events.push(Event::LockTakenOver { lock: lock.clone(), previous, reason: reason.to_owned() });
                Response::Granted { lock, renewed: false }
            }
            Err(answer) => *answer,
        }
    }

    /// "Continue here": the lock moves from another tab of the same person to this one.
    pub(super) fn move_lock(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        ttl_ms: u64,
        expected_fencing_token: Option<u64>,
        events: &mut Vec<Event>,
    ) -> Response {
        // Another person's lock is theirs: taking it is a takeover, for admins.
        let another_persons = |current: &Lock| {
            (current.holder.user_id != actor.user_id).then(|| Rejection::LockHeld { lock: current.clone() })
        };
        let asked = Replacement { ttl_ms, expected_fencing_token, action: AuditAction::Moved, reason: "" };
        let replaced = self.replace_or_grant(actor, appointment_id, &asked, another_persons, events);
        match replaced {
            Ok((lock, previous)) => {
                events.push(Event::LockMoved { lock: lock.clone(), previous });
                Response::Granted { lock, renewed: false }
            }
            Err(answer) => *answer,
        }
    }

    /// What a takeover and a move share: a free lock is simply granted (freed while the
    /// person was deciding: an ordinary grant does what they asked), the caller's own lock
    /// renewed; a lock `refuse` names, or one that is no longer `expected_fencing_token`, is
    /// refused; otherwise the holder is replaced (`Ok` with the new and the displaced grant;
    /// `Err` with the answer when it was not).
    fn replace_or_grant(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        asked: &Replacement<'_>,
        refuse: impl Fn(&Lock) -> Option<Rejection>,
        events: &mut Vec<Event>,
    ) -> Result<(Lock, Lock), Box<Response>> {
        let Replacement { ttl_ms, expected_fencing_token, action, reason } = *asked;
        if !self.appointments.contains_key(appointment_id) {
            return Err(Box::new(Response::Rejected(Rejection::NotFound)));
        }
        let Some(current) = self.locks.get(appointment_id) else {
            self.leave_queue(actor, appointment_id, events);
            let lock = self.grant(Arc::new(actor.clone()), appointment_id, ttl_ms, events);
            return Err(Box::new(Response::Granted { lock, renewed: false }));
        };
        if current.holder.same_session(actor) {
            return Err(Box::new(self.renew_holder(appointment_id, events)));
        }
        if let Some(rejection) = refuse(current) {
            return Err(Box::new(Response::Rejected(rejection)));
        }
        if expected_fencing_token.is_some_and(|token| token != current.fencing_token) {
            return Err(Box::new(Response::Rejected(Rejection::TakeoverConflict { lock: current.clone() })));
        }
        Ok(self.replace_holder(actor, appointment_id, ttl_ms, action, reason, events))
    }

    /// Lapses the leases and waiter leases due by the current cluster time, at most
    /// `EXPIRIES_PER_ENTRY_MAX` appointments per entry. What is left stays due, so the
    /// leader's ticker appends the next `Tick` at once.
    pub(super) fn expire_due(&mut self, events: &mut Vec<Event>) {
        for appointment_id in self.due.due_by(self.now_ms, limits::EXPIRIES_PER_ENTRY_MAX) {
            let now_ms = self.now_ms;
            if let Some(queue) = self.queues.get_mut(&appointment_id) {
                let before = queue.len();
                queue.retain(|w| w.expires_at_ms > now_ms);
                if queue.len() != before {
                    self.queue_changed(&appointment_id, events);
                }
            }
            if self.locks.get(&appointment_id).is_some_and(|l| l.expires_at_ms <= now_ms) {
                let previous = self.locks.remove(&appointment_id).expect("checked above");
                let action = if previous.claim_by_ms.is_some() { AuditAction::Unclaimed } else { AuditAction::Expired };
                let record = self.audit_entry(&appointment_id, action).displacing(&previous);
                self.audit_record(record);
                events.push(Event::LockExpired { previous });
                self.hand_over(&appointment_id, events);
            }
            self.reindex(&appointment_id);
        }
    }

    // ---- helpers -----------------------------------------------------------------------

    fn new_lock(&mut self, holder: Arc<Actor>, appointment_id: &str, ttl_ms: u64) -> Lock {
        let fencing_token = self.next_fencing_token;
        self.next_fencing_token += 1;
        Lock {
            appointment_id: appointment_id.to_string(),
            holder,
            fencing_token,
            acquired_at_ms: self.now_ms,
            last_activity_at_ms: self.now_ms,
            expires_at_ms: self.now_ms.saturating_add(ttl_ms),
            ttl_ms,
            claim_by_ms: None,
        }
    }

    /// Ends `appointment_id`'s current tenure and grants the lock to `actor` under a new token,
    /// with the audit record, in one transition: the displaced holder, the new grant and the
    /// record appear together or not at all (docs/design.md, invariant 9).
    fn replace_holder(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        ttl_ms: u64,
        action: AuditAction,
        reason: &str,
        events: &mut Vec<Event>,
    ) -> (Lock, Lock) {
        let previous = self.locks.remove(appointment_id).expect("the caller checked the lock is held");
        self.leave_queue(actor, appointment_id, events);
        let lock = self.new_lock(Arc::new(actor.clone()), appointment_id, ttl_ms);
        let record = self
            .audit_entry(appointment_id, action)
            .by(lock.holder.clone())
            .displacing(&previous)
            .granting(lock.fencing_token)
            .because(reason);
        self.audit_record(record);
        let id = self.shared_id(appointment_id);
        self.locks.insert(id, lock.clone());
        self.reindex(appointment_id);
        (lock, previous)
    }

    fn grant(&mut self, holder: Arc<Actor>, appointment_id: &str, ttl_ms: u64, events: &mut Vec<Event>) -> Lock {
        let lock = self.new_lock(holder, appointment_id, ttl_ms);
        self.insert_grant(lock.clone(), events);
        lock
    }

    /// Makes `lock` the appointment's grant, audited, on a free lock.
    fn insert_grant(&mut self, lock: Lock, events: &mut Vec<Event>) {
        let appointment_id = lock.appointment_id.clone();
        debug_assert!(!self.locks.contains_key(appointment_id.as_str()));
        let record = self
            .audit_entry(&appointment_id, AuditAction::Granted)
            .by(lock.holder.clone())
            .granting(lock.fencing_token);
        self.audit_record(record);
        let id = self.shared_id(&appointment_id);
        self.locks.insert(id, lock.clone());
        self.reindex(&appointment_id);
        events.push(Event::LockAcquired { lock });
    }

    /// A free lock goes to the first waiter, at once, in the same entry that freed it.
    fn hand_over(&mut self, appointment_id: &str, events: &mut Vec<Event>) {
        let next = self.queues.get_mut(appointment_id).and_then(|q| (!q.is_empty()).then(|| q.remove(0)));
        match next {
            Some(waiter) => {
                // The waiter's tab may be in the background: until they confirm, the lease
                // is the claim window, and then the lock passes on (`Unclaimed`).
                let claim_ms = limits::CLAIM_WINDOW_MS.min(waiter.lock_ttl_ms);
                let claim_by_ms = self.now_ms.saturating_add(claim_ms);
                let lock = self.new_lock(waiter.actor, appointment_id, waiter.lock_ttl_ms);
                let lock = Lock { expires_at_ms: claim_by_ms, claim_by_ms: Some(claim_by_ms), ..lock };
                self.insert_grant(lock, events);
                self.queue_changed(appointment_id, events);
            }
            None => self.reindex(appointment_id),
        }
    }

    fn renew_holder(&mut self, appointment_id: &str, events: &mut Vec<Event>) -> Response {
        let now_ms = self.now_ms;
        let lock = self.locks.get_mut(appointment_id).expect("caller checked the holder");
        lock.last_activity_at_ms = now_ms;
        lock.expires_at_ms = now_ms.saturating_add(lock.ttl_ms);
        // Any renewal from the holder's tab is the confirmation a handed-over grant waits for.
        lock.claim_by_ms = None;
        let lock = lock.clone();
        self.reindex(appointment_id);
        events.push(Event::LockRenewed { lock: lock.clone() });
        Response::Granted { lock, renewed: true }
    }

    fn enqueue(
        &mut self,
        actor: &Actor,
        appointment_id: &str,
        lock_ttl_ms: u64,
        waiter_ttl_ms: u64,
        events: &mut Vec<Event>,
    ) -> Response {
        // One place per person: all their tabs share it. A made-up session id per request
        // must not let one user fill the queue ahead of everyone else.
        if let Some(index) =
            self.waiter_position(appointment_id, actor).or_else(|| self.place_of_user(appointment_id, actor))
        {
            let waiter = &mut self.queues.get_mut(appointment_id).expect("a waiter has a queue")[index];
            waiter.waiter_ttl_ms = waiter_ttl_ms;
            waiter.lock_ttl_ms = lock_ttl_ms;
            return self.refresh_waiter(appointment_id, index);
        }
        let id = self.shared_id(appointment_id);
        let queue = self.queues.entry(id).or_default();
        if queue.len() >= limits::QUEUE_LEN_MAX {
            return Response::Rejected(Rejection::QueueFull);
        }
        let waiter = Waiter {
            actor: Arc::new(actor.clone()),
            enqueued_at_ms: self.now_ms,
            expires_at_ms: self.now_ms.saturating_add(waiter_ttl_ms),
            waiter_ttl_ms,
            lock_ttl_ms,
        };
        // Admins go behind the last admin; users at the end.
        let index = if actor.is_admin() {
            queue.iter().position(|w| !w.actor.is_admin()).unwrap_or(queue.len())
        } else {
            queue.len()
        };
        queue.insert(index, waiter);
        let queue = queue.clone();
        self.reindex(appointment_id);
        events.push(Event::QueueChanged { appointment_id: appointment_id.to_string(), queue: queue.clone() });
        Response::Queued { position: index as u32 + 1, queue }
    }

    fn refresh_waiter(&mut self, appointment_id: &str, index: usize) -> Response {
        let now_ms = self.now_ms;
        let queue = self.queues.get_mut(appointment_id).expect("a waiter has a queue");
        let waiter = &mut queue[index];
        waiter.expires_at_ms = now_ms.saturating_add(waiter.waiter_ttl_ms);
        let queue = queue.clone();
        self.reindex(appointment_id);
        Response::Queued { position: index as u32 + 1, queue }
    }

    fn leave_queue(&mut self, actor: &Actor, appointment_id: &str, events: &mut Vec<Event>) {
        if let Some(index) = self.waiter_position(appointment_id, actor) {
            self.queues.get_mut(appointment_id).expect("a waiter has a queue").remove(index);
            self.queue_changed(appointment_id, events);
        }
    }

    fn waiter_position(&self, appointment_id: &str, actor: &Actor) -> Option<usize> {
        self.queues.get(appointment_id)?.iter().position(|w| w.actor.same_session(actor))
    }

    /// The place another tab of `actor`'s user holds, which this tab shares.
    fn place_of_user(&self, appointment_id: &str, actor: &Actor) -> Option<usize> {
        self.queues.get(appointment_id)?.iter().position(|w| w.actor.user_id == actor.user_id)
    }

    fn queue_changed(&mut self, appointment_id: &str, events: &mut Vec<Event>) {
        let queue = self.queues.get(appointment_id).cloned().unwrap_or_default();
        if queue.is_empty() {
            self.queues.remove(appointment_id);
        }
        self.reindex(appointment_id);
        events.push(Event::QueueChanged { appointment_id: appointment_id.to_string(), queue });
    }
}
