//! The JSON shapes of the HTTP contract (camelCase, RFC 3339 UTC times), converted by hand
//! from the core's types. This crate is the only one that knows JSON.

use lockd_raft::sm;
use serde::{Deserialize, Serialize};

use crate::problem::Problem;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

pub fn rfc3339(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".into())
}

pub fn parse_rfc3339(what: &str, value: &str) -> Result<u64, String> {
    let t = OffsetDateTime::parse(value, &Rfc3339).map_err(|_| format!("{what} must be an RFC 3339 time"))?;
    let ms = t.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms).map_err(|_| format!("{what} must be after 1970"))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub user_id: String,
    pub session_id: String,
    pub name: String,
    pub email: String,
    /// `user` or `admin`.
    #[schema(value_type = String)]
    pub role: &'static str,
}

impl From<&sm::Actor> for Person {
    fn from(a: &sm::Actor) -> Self {
        Person {
            user_id: a.user_id.clone(),
            session_id: a.session_id.clone(),
            name: a.name.clone(),
            email: a.email.clone(),
            role: role_name(a.role),
        }
    }
}

pub fn role_name(role: sm::Role) -> &'static str {
    match role {
        sm::Role::User => "user",
        sm::Role::Admin => "admin",
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lock {
    pub appointment_id: String,
    pub holder: Person,
    pub fencing_token: u64,
    pub acquired_at: String,
    pub last_activity_at: String,
    pub expires_at: String,
    pub ttl_ms: u64,
    /// Set while a lock handed from the queue waits for its holder to confirm (a heartbeat,
    /// an acquire or a save): unconfirmed by then, it lapses and passes on.
    pub claim_by: Option<String>,
}

impl From<&sm::Lock> for Lock {
    fn from(l: &sm::Lock) -> Self {
        Lock {
            appointment_id: l.appointment_id.clone(),
            holder: l.holder.as_ref().into(),
            fencing_token: l.fencing_token,
            acquired_at: rfc3339(l.acquired_at_ms),
            last_activity_at: rfc3339(l.last_activity_at_ms),
            expires_at: rfc3339(l.expires_at_ms),
            ttl_ms: l.ttl_ms,
            claim_by: l.claim_by_ms.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Waiter {
    pub person: Person,
    pub position: u32,
    pub enqueued_at: String,
    pub expires_at: String,
}

pub fn queue(waiters: &[sm::Waiter]) -> Vec<Waiter> {
    waiters
        .iter()
        .enumerate()
        .map(|(i, w)| Waiter {
            person: w.actor.as_ref().into(),
            position: i as u32 + 1,
            enqueued_at: rfc3339(w.enqueued_at_ms),
            expires_at: rfc3339(w.expires_at_ms),
        })
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub id: String,
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    pub client: String,
    pub location: String,
    pub notes: String,
    /// `scheduled` or `cancelled`.
    #[schema(value_type = String)]
    pub status: &'static str,
    pub version: u64,
    pub updated_by: String,
    /// The saver's name when they saved (empty for versions saved before names were kept).
    pub updated_by_name: String,
    pub updated_at: String,
}

pub fn status_name(status: sm::AppointmentStatus) -> &'static str {
    match status {
        sm::AppointmentStatus::Scheduled => "scheduled",
        sm::AppointmentStatus::Cancelled => "cancelled",
    }
}

impl From<&sm::Appointment> for Appointment {
    fn from(a: &sm::Appointment) -> Self {
        Appointment {
            id: a.id.clone(),
            title: a.fields.title.clone(),
            starts_at: rfc3339(a.fields.starts_at_ms),
            ends_at: rfc3339(a.fields.ends_at_ms),
            client: a.fields.client.clone(),
            location: a.fields.location.clone(),
            notes: a.fields.notes.clone(),
            status: status_name(a.fields.status),
            version: a.version,
            updated_by: a.updated_by.clone(),
            updated_by_name: a.updated_by_name.clone(),
            updated_at: rfc3339(a.updated_at_ms),
        }
    }
}

/// An appointment with its lock, as the list and detail routes show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentWithLock {
    #[serde(flatten)]
    pub appointment: Appointment,
    pub lock: Option<Lock>,
    pub queue_length: usize,
    /// Tabs viewing the appointment now, across the cluster as this node knows it.
    pub viewers: usize,
}

/// `GET /appointments`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AppointmentList {
    pub appointments: Vec<AppointmentWithLock>,
    pub server_time: String,
}

/// `GET /appointments/{id}/audit`: the latest records, oldest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditTrail {
    pub appointment_id: String,
    pub records: Vec<AuditRecord>,
}

/// `GET /audit`: the latest records across appointments, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecentAudit {
    pub records: Vec<AuditRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub seq: u64,
    pub at: String,
    pub appointment_id: String,
    /// `granted`, `released`, `disconnected`, `expired`, `taken_over`, `moved` (the same
    /// person continued in another tab) or `unclaimed` (handed from the queue, not confirmed).
    #[schema(value_type = String)]
    pub action: &'static str,
    pub by: Option<Person>,
    pub from: Option<Person>,
    pub from_fencing_token: Option<u64>,
    pub fencing_token: Option<u64>,
    pub reason: String,
}

pub fn audit_action_name(action: sm::AuditAction) -> &'static str {
    match action {
        sm::AuditAction::Granted => "granted",
        sm::AuditAction::Released => "released",
        sm::AuditAction::Disconnected => "disconnected",
        sm::AuditAction::Expired => "expired",
        sm::AuditAction::TakenOver => "taken_over",
        sm::AuditAction::Moved => "moved",
        sm::AuditAction::Unclaimed => "unclaimed",
    }
}

impl From<&sm::AuditRecord> for AuditRecord {
    fn from(r: &sm::AuditRecord) -> Self {
        AuditRecord {
            seq: r.seq,
            at: rfc3339(r.at_ms),
            appointment_id: r.appointment_id.clone(),
            action: audit_action_name(r.action),
            by: r.by.as_deref().map(Into::into),
            from: r.from.as_deref().map(Into::into),
            from_fencing_token: r.from_fencing_token,
            fencing_token: r.fencing_token,
            reason: r.reason.clone(),
        }
    }
}

/// A form's fields as the person typed them, valid or not (a draft and its base).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftText {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
}

impl From<&sm::DraftText> for DraftText {
    fn from(t: &sm::DraftText) -> Self {
        DraftText {
            title: t.title.clone(),
            starts_at: t.starts_at.clone(),
            ends_at: t.ends_at.clone(),
            client: t.client.clone(),
            location: t.location.clone(),
            notes: t.notes.clone(),
        }
    }
}

impl From<DraftText> for sm::DraftText {
    fn from(t: DraftText) -> Self {
        sm::DraftText {
            title: t.title,
            starts_at: t.starts_at,
            ends_at: t.ends_at,
            client: t.client,
            location: t.location,
            notes: t.notes,
        }
    }
}

/// `PUT /appointments/{id}/draft`: what the form holds, as typed, and the values of the
/// version it started from (`base`), for a merge field by field later.
/// (Not `flatten`ed from `DraftText`: serde cannot refuse unknown fields through `flatten`.)
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DraftInput {
    #[serde(deserialize_with = "integral::u64")]
    pub base_version: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    pub base: Option<DraftText>,
}

impl DraftInput {
    pub fn into_parts(self) -> (u64, sm::DraftText, Option<sm::DraftText>) {
        let text = sm::DraftText {
            title: self.title,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            client: self.client,
            location: self.location,
            notes: self.notes,
        };
        (self.base_version, text, self.base.map(Into::into))
    }
}

/// The caller's draft, as typed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Draft {
    pub appointment_id: String,
    pub base_version: u64,
    pub saved_at: String,
    #[serde(flatten)]
    pub text: DraftText,
    pub base: Option<DraftText>,
}

impl From<&sm::Draft> for Draft {
    fn from(d: &sm::Draft) -> Self {
        Draft {
            appointment_id: d.appointment_id.clone(),
            base_version: d.base_version,
            saved_at: rfc3339(d.saved_at_ms),
            text: (&d.text).into(),
            base: d.base.as_ref().map(Into::into),
        }
    }
}

/// An appointment as a client sends it (create, update). Unknown fields are refused, not
/// ignored. `id` is accepted only on create (a draft is a `DraftInput`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppointmentInput {
    pub id: Option<String>,
    pub title: String,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(default)]
    pub client: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub notes: String,
    /// `scheduled` (the default) or `cancelled`. An update replaces every field, this one too.
    #[serde(default)]
    pub status: StatusInput,
}

#[derive(Debug, Default, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StatusInput {
    #[default]
    Scheduled,
    Cancelled,
}

impl AppointmentInput {
    /// The core's fields, or why not: 400 for what the API document states (lengths,
    /// characters, the time format), 422 for its rules in words (a title not blank, times
    /// from 1970 on and in order).
    pub fn into_fields(self) -> Result<sm::AppointmentFields, Problem> {
        for (what, value) in [("title", &self.title), ("client", &self.client), ("location", &self.location)] {
            crate::text::check_single_line(what, value).map_err(Problem::invalid_input)?;
        }
        let starts_at_ms = parse_time("startsAt", &self.starts_at)?;
        let ends_at_ms = parse_time("endsAt", &self.ends_at)?;
        let fields = sm::AppointmentFields {
            starts_at_ms,
            ends_at_ms,
            title: self.title,
            client: self.client,
            location: self.location,
            notes: self.notes,
            status: match self.status {
                StatusInput::Scheduled => sm::AppointmentStatus::Scheduled,
                StatusInput::Cancelled => sm::AppointmentStatus::Cancelled,
            },
        };
        let Err(refused) = fields.validate() else { return Ok(fields) };
        // The core checks bounds and the rules in words together. Asked again with the rules
        // in words kept (a title of as many visible characters, times in order), it tells
        // whether the request broke the document (400) or only those rules (422).
        let mut shaped = fields.clone();
        shaped.title = fields.title.chars().map(|c| if c.is_control() { c } else { 'x' }).collect();
        if shaped.title.is_empty() {
            // An empty title breaks the document (`minLength`), not only a rule in words.
            return Err(Problem::invalid_input(refused));
        }
        shaped.ends_at_ms = shaped.starts_at_ms.saturating_add(1);
        match shaped.validate() {
            Ok(()) => Err(Problem::unprocessable(refused)),
            Err(e) => Err(Problem::invalid_input(e)),
        }
    }
}

/// An RFC 3339 time (400 if it is not one) from 1970 on (422 if earlier).
fn parse_time(what: &str, value: &str) -> Result<u64, Problem> {
    let t = OffsetDateTime::parse(value, &Rfc3339)
        .map_err(|_| Problem::invalid_input(format!("{what} must be an RFC 3339 time")))?;
    u64::try_from(t.unix_timestamp_nanos() / 1_000_000)
        .map_err(|_| Problem::unprocessable(format!("{what} must be from 1970 on")))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcquireInput {
    #[serde(default)]
    pub wait: bool,
    #[serde(default, deserialize_with = "integral::option_u64")]
    pub ttl_ms: Option<u64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TakeoverInput {
    #[serde(default)]
    pub reason: String,
    #[serde(default, deserialize_with = "integral::option_u64")]
    pub expected_fencing_token: Option<u64>,
}

/// `POST …/heartbeat`, optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatInput {
    /// The tab believes it is queued: the heartbeat keeps its place and never confirms a lock
    /// handed to it meanwhile (that is the person's decision; ADR 23).
    #[serde(default)]
    pub waiting: bool,
}

/// `POST …/continue-here`: the lock moves from another tab of the caller to this one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContinueHereInput {
    /// Only if the lock is still this grant (409 `takeover_conflict` otherwise).
    #[serde(default, deserialize_with = "integral::option_u64")]
    pub expected_fencing_token: Option<u64>,
    #[serde(default, deserialize_with = "integral::option_u64")]
    pub ttl_ms: Option<u64>,
}

/// 200 from acquire-lock or heartbeat: the lock is this tab's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockGranted {
    pub lock: Lock,
    pub fencing_token: u64,
    pub expires_at: String,
    /// The tab already held it: the lease was renewed, the token kept.
    pub renewed: bool,
    pub server_time: String,
}

/// 202 from acquire-lock with `wait`: a place in the queue; the grant comes as an event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub queued: bool,
    /// Counts from 1.
    pub position: u32,
    pub queue: Vec<Waiter>,
    pub server_time: String,
}

/// `GET …/lock-status`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockStatus {
    pub locked: bool,
    pub lock: Option<Lock>,
    pub queue: Vec<Waiter>,
    pub applied_index: Option<u64>,
    pub server_time: String,
}

/// Whole numbers in request bodies as JSON Schema (and so the API document) counts them:
/// `5.0` is the integer 5. serde alone refuses it, and a client's JSON library may write it.
pub mod integral {
    use serde::de::{Deserialize, Deserializer, Error};

    /// 2^64, the first float past `u64::MAX`.
    const U64_END: f64 = 18_446_744_073_709_551_616.0;

    fn whole(number: serde_json::Number) -> Option<u64> {
        number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| f.fract() == 0.0 && (0.0..U64_END).contains(f)).map(|f| f as u64))
    }

    pub fn u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        let number = serde_json::Number::deserialize(deserializer)?;
        whole(number.clone()).ok_or_else(|| D::Error::custom(format!("{number} is not a whole number from 0")))
    }

    pub fn option_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
        match Option::<serde_json::Number>::deserialize(deserializer)? {
            None => Ok(None),
            Some(number) => whole(number.clone())
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number from 0"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        let parse = |json: &str| serde_json::from_str::<AcquireInput>(json).map(|a| a.ttl_ms);
        assert_eq!(parse(r#"{"ttlMs": 6000}"#).unwrap(), Some(6000));
        assert_eq!(parse(r#"{"ttlMs": 6000.0}"#).unwrap(), Some(6000));
        assert_eq!(parse(r#"{"ttlMs": null}"#).unwrap(), None);
        assert_eq!(parse("{}").unwrap(), None);
        for bad in
            [r#"{"ttlMs": 6000.5}"#, r#"{"ttlMs": -1}"#, r#"{"ttlMs": 1.8446744073709552e19}"#, r#"{"ttlMs": "6"}"#]
        {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_round_trip_through_rfc3339_in_utc() {
        let ms = 1_700_000_000_123;
        let text = rfc3339(ms);
        assert_eq!(text, "2023-11-14T22:13:20.123Z");
        assert_eq!(parse_rfc3339("t", &text), Ok(ms));
        assert_eq!(parse_rfc3339("t", "2023-11-14T23:13:20.123+01:00"), Ok(ms));
        assert!(parse_rfc3339("t", "yesterday").is_err());
        assert!(parse_rfc3339("t", "1969-12-31T23:59:59Z").is_err());
    }
}
