//! The data the lock state machine holds and answers with.
//!
//! Times are milliseconds since the Unix epoch in *cluster time* (the leader's stamp,
//! see `docs/adr/0003-time-model.md`), never a replica's own clock.

use std::sync::Arc;

use crate::limits;

pub type AppointmentId = String;
pub type UserId = String;
pub type SessionId = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    User,
    Admin,
}

/// Who asks: the identity the HTTP layer took from a verified JWT, plus the tab's session.
///
/// The state holds an actor behind an `Arc`: a lock's holder, its audit records and its
/// remembered answers share one copy (with 100,000 held locks, copies were ~20 % of memory).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor {
    pub user_id: UserId,
    /// One per browser tab: the lock belongs to a session, not to a user, so a second tab of
    /// the same user is a viewer.
    pub session_id: SessionId,
    pub name: String,
    pub email: String,
    pub role: Role,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The same tab of the same user. Both parts count: a session id is not a credential,
    /// so another user presenting it is someone else.
    pub fn same_session(&self, other: &Actor) -> bool {
        self.session_id == other.session_id && self.user_id == other.user_id
    }

    /// The key exactly-once retries are remembered under (ids never contain `/`).
    pub(crate) fn session_key(&self) -> String {
        format!("{}/{}", self.user_id, self.session_id)
    }

    pub fn validate(&self) -> Result<(), String> {
        check_id("userId", &self.user_id)?;
        check_id("sessionId", &self.session_id)?;
        check_text("name", &self.name, limits::NAME_CHARS_MAX, false)?;
        check_text("email", &self.email, limits::EMAIL_CHARS_MAX, false)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub appointment_id: AppointmentId,
    pub holder: Arc<Actor>,
    pub fencing_token: u64,
    pub acquired_at_ms: u64,
    pub last_activity_at_ms: u64,
    pub expires_at_ms: u64,
    /// The lease length the holder asked for; each renewal extends by this much.
    pub ttl_ms: u64,
    /// Set when the lock was handed from the queue to a waiter: the lease then ends here
    /// unless the holder confirms (renews) first, so a tab nobody is looking at does not
    /// keep the lock for a whole lease. `None` once confirmed, and for every other grant.
    pub claim_by_ms: Option<u64>,
}

/// A place in an appointment's wait queue. It has a lease of its own, so a tab that went
/// away does not get granted a lock nobody will use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiter {
    pub actor: Arc<Actor>,
    pub enqueued_at_ms: u64,
    pub expires_at_ms: u64,
    pub waiter_ttl_ms: u64,
    /// The lease the lock gets when it is handed to this waiter.
    pub lock_ttl_ms: u64,
}

/// Whether an appointment is still on. Cancelling is an edit like any other (the holder's
/// fenced save), so it is kept, can be reinstated, and its history stays in the audit trail.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AppointmentStatus {
    #[default]
    Scheduled,
    Cancelled,
}

/// The editable part of an appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentFields {
    pub title: String,
    pub starts_at_ms: u64,
    pub ends_at_ms: u64,
    pub client: String,
    pub location: String,
    pub notes: String,
    pub status: AppointmentStatus,
}

impl AppointmentFields {
    pub fn validate(&self) -> Result<(), String> {
        check_text("title", &self.title, limits::TITLE_CHARS_MAX, false)?;
        if self.title.trim().is_empty() {
            return Err("title must not be empty".into());
        }
        check_text("client", &self.client, limits::SHORT_FIELD_CHARS_MAX, false)?;
        check_text("location", &self.location, limits::SHORT_FIELD_CHARS_MAX, false)?;
        check_text("notes", &self.notes, limits::NOTES_CHARS_MAX, true)?;
        if self.ends_at_ms <= self.starts_at_ms {
            return Err("endsAt must be after startsAt".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appointment {
    pub id: AppointmentId,
    pub fields: AppointmentFields,
    /// Starts at 1 and grows by one with each accepted update (the `If-Match` value).
    pub version: u64,
    pub updated_by: UserId,
    /// The saver's display name when they saved, so nobody reads "bob saved version 2".
    pub updated_by_name: String,
    pub updated_at_ms: u64,
}

/// Unsaved form state of an editor who lost the lock, kept so nothing typed is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub appointment_id: AppointmentId,
    pub user_id: UserId,
    pub base_version: u64,
    /// What the person had in the form, as typed.
    pub text: DraftText,
    /// The version's values the form started from, when the client sent them: what the
    /// person's edits are relative to, for a merge field by field.
    pub base: Option<DraftText>,
    pub saved_at_ms: u64,
}

/// An appointment form's fields as text, valid or not: a draft keeps what was typed, a
/// half-typed time included, and is validated only when it is saved as the appointment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DraftText {
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    pub client: String,
    pub location: String,
    pub notes: String,
}

impl DraftText {
    /// Bounded like the fields it stands for; nothing else is required of it.
    pub fn validate(&self) -> Result<(), String> {
        check_text("title", &self.title, limits::TITLE_CHARS_MAX, false)?;
        check_text("startsAt", &self.starts_at, limits::DRAFT_TIME_CHARS_MAX, false)?;
        check_text("endsAt", &self.ends_at, limits::DRAFT_TIME_CHARS_MAX, false)?;
        check_text("client", &self.client, limits::SHORT_FIELD_CHARS_MAX, false)?;
        check_text("location", &self.location, limits::SHORT_FIELD_CHARS_MAX, false)?;
        check_text("notes", &self.notes, limits::NOTES_CHARS_MAX, true)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Granted,
    Released,
    Disconnected,
    Expired,
    TakenOver,
    /// The same person continued in another tab: the lock moved there under a new token.
    Moved,
    /// Handed from the queue and not confirmed within the claim window: passed on.
    Unclaimed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Cluster-wide sequence number, strictly increasing.
    pub seq: u64,
    pub at_ms: u64,
    pub appointment_id: AppointmentId,
    pub action: AuditAction,
    /// Who caused it; `None` for an expiry (the cluster's clock did).
    pub by: Option<Arc<Actor>>,
    /// The holder that lost the lock, if any.
    pub from: Option<Arc<Actor>>,
    pub from_fencing_token: Option<u64>,
    /// The token granted by this transition, if any.
    pub fencing_token: Option<u64>,
    pub reason: String,
}

impl AuditRecord {
    /// A record of `action` that names no one yet; the trail gives it its `seq` when it is
    /// appended.
    pub(crate) fn new(at_ms: u64, appointment_id: &str, action: AuditAction) -> Self {
        AuditRecord {
            seq: 0,
            at_ms,
            appointment_id: appointment_id.to_owned(),
            action,
            by: None,
            from: None,
            from_fencing_token: None,
            fencing_token: None,
            reason: String::new(),
        }
    }

    /// Caused by `actor`.
    pub(crate) fn by(self, actor: Arc<Actor>) -> Self {
        AuditRecord { by: Some(actor), ..self }
    }

    /// Ended `previous`'s tenure.
    pub(crate) fn displacing(self, previous: &Lock) -> Self {
        AuditRecord { from: Some(previous.holder.clone()), from_fencing_token: Some(previous.fencing_token), ..self }
    }

    /// Granted the lock under `fencing_token`.
    pub(crate) fn granting(self, fencing_token: u64) -> Self {
        AuditRecord { fencing_token: Some(fencing_token), ..self }
    }

    /// With the admin's stated reason.
    pub(crate) fn because(self, reason: &str) -> Self {
        AuditRecord { reason: reason.to_owned(), ..self }
    }
}

fn check_id(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().count() > limits::ID_CHARS_MAX {
        return Err(format!("{what} must be 1 to {} characters", limits::ID_CHARS_MAX));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | ':')) {
        return Err(format!("{what} may hold only letters, digits and - _ . @ :"));
    }
    Ok(())
}

/// The rules every replica holds an appointment id to (the HTTP layer adds its own).
pub fn validate_appointment_id(id: &str) -> Result<(), String> {
    check_id("appointment id", id)
}

pub(crate) fn check_text(what: &str, value: &str, chars_max: usize, multiline: bool) -> Result<(), String> {
    if value.chars().count() > chars_max {
        return Err(format!("{what} is longer than {chars_max} characters"));
    }
    let bad = |c: char| c.is_control() && !(multiline && (c == '\n' || c == '\t'));
    if value.chars().any(bad) {
        return Err(format!("{what} holds control characters"));
    }
    Ok(())
}
