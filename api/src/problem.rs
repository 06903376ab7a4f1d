//! Every error the API answers: `application/problem+json` (RFC 9457) with a stable `code`.
//! One mapping from domain outcomes to status codes lives here and nowhere else.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockd_raft::node::SubmitError;
use lockd_raft::sm::Rejection;
use serde_json::{Map, Value, json};

use crate::dto;

#[derive(Debug)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members: the current lock, the current appointment, `serverTime`.
    pub extra: Map<String, Value>,
    pub retry_after_secs: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem { status, code, detail: detail.into(), extra: Map::new(), retry_after_secs: None }
    }

    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra.insert(key.to_owned(), value);
        self
    }

    pub fn invalid_input(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "invalid_input", detail)
    }

    /// The request fits the API document but breaks a rule the document states in words only
    /// (an end after the start, a title that is not blank): 422, so that 400 keeps meaning
    /// "the request breaks the document".
    pub fn unprocessable(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::NOT_FOUND, "not_found", detail)
    }

    /// Over a rate limit: try again after `wait` (`Retry-After` in whole seconds, at least 1).
    pub fn rate_limited(wait: std::time::Duration) -> Self {
        let retry_after_ms = wait.as_millis() as u64;
        let mut problem =
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many lock attempts; wait a moment")
                .with("retryAfterMs", retry_after_ms.into());
        problem.retry_after_secs = Some(retry_after_ms.div_ceil(1000).max(1));
        problem
    }

    /// A rejection decided by the state machine: nothing changed, and the answer carries the
    /// current state so the client can show it.
    pub fn from_rejection(rejection: Rejection, server_time_ms: u64) -> Self {
        let conflict = |code, detail: &str| Problem::new(StatusCode::CONFLICT, code, detail);
        let lock_json =
            |lock: &Option<lockd_raft::sm::Lock>| lock.as_ref().map_or(Value::Null, |l| json!(dto::Lock::from(l)));
        let problem = match rejection {
            Rejection::LockHeld { lock } => {
                let who = format!("{} ({})", lock.holder.name, lock.holder.email);
                conflict("lock_held", &format!("{who} is editing this appointment"))
                    .with("lock", json!(dto::Lock::from(&lock)))
            }
            Rejection::NotHolder { lock } => {
                conflict("not_holder", "this session does not hold the lock").with("lock", lock_json(&lock))
            }
            Rejection::StaleToken { lock } => {
                conflict("stale_token", "the fencing token is not the current grant's").with("lock", lock_json(&lock))
            }
            Rejection::VersionConflict { current } => conflict(
                "version_conflict",
                &format!("the appointment changed since version you edited; it is now at version {}", current.version),
            )
            .with("current", json!(dto::Appointment::from(&current))),
            Rejection::TakeoverConflict { lock } => {
                let who = format!("{} ({})", lock.holder.name, lock.holder.email);
                conflict("takeover_conflict", &format!("the lock changed hands first: {who} holds it now"))
                    .with("lock", json!(dto::Lock::from(&lock)))
            }
            Rejection::Forbidden => Problem::forbidden("this needs the admin role"),
            Rejection::NotFound => Problem::not_found("no such appointment"),
            Rejection::AlreadyExists { current } => conflict("already_exists", "an appointment with this id exists")
                .with("current", json!(dto::Appointment::from(&current))),
            Rejection::QueueFull => conflict("queue_full", "the wait queue for this appointment is full"),
            Rejection::CapacityExceeded => Problem::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "capacity_exceeded",
                "the cluster holds the most appointments it may",
            ),
            Rejection::InvalidInput { reason } => Problem::invalid_input(reason),
            Rejection::IdempotencyKeyReused => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another request (another operation, appointment or body); \
                 nothing was done: use a fresh key for a new request",
            ),
        };
        problem.with("serverTime", json!(dto::rfc3339(server_time_ms)))
    }
}

impl From<SubmitError> for Problem {
    fn from(e: SubmitError) -> Self {
        match e {
            SubmitError::NoLeader(_) => {
                let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "no_leader", e.to_string());
                p.retry_after_secs = Some(1);
                p
            }
            // The leader's check is the cluster-wide lock-attempt budget (ADR 22).
            SubmitError::Refused { retry_after } => Problem::rate_limited(retry_after),
            SubmitError::Fatal(_) => Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
        }
    }
}

/// The shape of every error answer (RFC 9457 problem+json), for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ProblemDoc {
    /// `https://lockd.dev/problems/<code>`
    r#type: String,
    title: String,
    status: u16,
    /// The stable code clients branch on: `invalid_input`, `unauthenticated`, `forbidden`,
    /// `not_found`, `lock_held`, `not_holder`, `stale_token`, `version_conflict`,
    /// `already_exists`, `rate_limited`, `no_leader`, `not_leader`, `payload_too_large`, …
    code: String,
    detail: String,
    /// Present on some codes: the current lock (`lock_held`), the current appointment
    /// (`version_conflict`).
    lock: Option<crate::dto::Lock>,
    #[schema(rename = "serverTime")]
    server_time: Option<String>,
    /// The appointment as it is now (`version_conflict`, `already_exists`).
    current: Option<crate::dto::Appointment>,
    /// How long to wait before trying again (`rate_limited`; `Retry-After` in seconds too).
    #[schema(rename = "retryAfterMs")]
    retry_after_ms: Option<u64>,
    /// The leader's HTTP address (`not_leader`).
    #[schema(rename = "leaderHttpAddr")]
    leader_http_addr: Option<String>,
    /// The token was valid but expired (`unauthenticated`): renew it and send again.
    #[schema(rename = "tokenExpired")]
    token_expired: Option<bool>,
}

/// The problem answers most operations share, as reusable OpenAPI response components
/// (`#/components/responses/...`), so each handler's annotation lists only what is its own.
#[allow(dead_code)]
pub mod responses {
    use super::ProblemDoc;

    /// No valid token: missing, malformed, forged or expired (`unauthenticated`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Unauthenticated(ProblemDoc);

    /// Admins only (`forbidden`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct Forbidden(ProblemDoc);

    /// Invalid input: malformed JSON, an unknown field, a bad id or an out-of-range value
    /// (`invalid_input`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct InvalidInput(ProblemDoc);

    /// No such appointment (`not_found`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NoSuchAppointment(ProblemDoc);

    /// Over the per-user lock-attempt limit; see `Retry-After` (`rate_limited`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct RateLimited(ProblemDoc);

    /// No leader took the write within the write timeout (`no_leader`).
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NoLeader(ProblemDoc);

    /// Membership changes go to the leader: `not_leader`, with `leaderHttpAddr`.
    #[derive(utoipa::ToResponse)]
    #[response(content_type = "application/problem+json")]
    pub struct NotLeader(ProblemDoc);
}

/// The code of a problem answer, for the request metrics.
#[derive(Debug, Clone, Copy)]
pub struct ProblemCode(pub &'static str);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("type".into(), json!(format!("https://lockd.dev/problems/{}", self.code)));
        body.insert("title".into(), json!(self.status.canonical_reason().unwrap_or("Error")));
        body.insert("status".into(), json!(self.status.as_u16()));
        body.insert("code".into(), json!(self.code));
        body.insert("detail".into(), json!(self.detail));
        body.extend(self.extra);
        let mut response = (self.status, Value::Object(body).to_string()).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        response.extensions_mut().insert(ProblemCode(self.code));
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
