//! Lock routes: status, acquire (or queue), heartbeat, release, takeover, audit.
//! Each handler authenticates, validates, builds one command, submits it and maps the answer.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lockd_raft::sm::{self, Op, ReleaseReason};

use super::{
    JsonBody, OptionalJsonBody, Path, ReadQuery, WriteHeaders, applied_or_problem, checked_id, fencing_token_header,
    request_id, unexpected,
};
use crate::auth::{Caller, Identity};
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::{AppState, dto, limits};

#[utoipa::path(
    get,
    path = "/appointments/{id}/lock-status",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        ("stale" = Option<bool>, Query, description = "Answer from this node's applied state without the read barrier"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The lock and queue", body = crate::dto::LockStatus),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn lock_status(
    State(state): State<AppState>,
    _identity: Identity,
    Path(id): Path<String>,
    query: ReadQuery,
) -> Result<Response, Problem> {
    let id = checked_id(id)?;
    query.barrier(&state).await?;
    let server_time = state.server_time_ms();
    let body = state.node.read(|applied| {
        let sm = &applied.sm;
        sm.appointment(&id).map(|_| {
            let lock = sm.lock(&id);
            dto::LockStatus {
                locked: lock.is_some(),
                lock: lock.map(dto::Lock::from),
                queue: dto::queue(sm.queue(&id)),
                applied_index: applied.applied_index(),
                server_time: dto::rfc3339(server_time),
            }
        })
    });
    let body = body.ok_or_else(|| Problem::not_found("no such appointment"))?;
    Ok(Json(body).into_response())
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/acquire-lock",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    request_body(content = Option<crate::dto::AcquireInput>, description = "Optional: wait in the queue, a shorter lease"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Granted (or renewed for the same tab)", body = crate::dto::LockGranted),
        (status = 202, description = "Queued", body = crate::dto::Queued),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 409, description = "lock_held, with the holder", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 429, response = problems::RateLimited),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn acquire(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<dto::AcquireInput>,
) -> Result<Response, Problem> {
    let appointment_id = checked_id(id)?;
    let ttl_ms = checked_ttl_ms(&state, input.ttl_ms)?;
    state.lock_attempt(&actor.user_id)?;
    let op = Op::Acquire { actor, appointment_id, ttl_ms, wait: input.wait, waiter_ttl_ms: state.config.waiter_ttl_ms };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

/// The lease asked for, or the node's default. The state machine refuses a bad one too, but
/// only after it cost a replicated entry.
fn checked_ttl_ms(state: &AppState, ttl_ms: Option<u64>) -> Result<u64, Problem> {
    let ttl_ms = ttl_ms.unwrap_or(state.config.lock_ttl_ms);
    let ttl_range = lockd_raft::limits::LOCK_TTL_MS_MIN..=lockd_raft::limits::LOCK_TTL_MS_MAX;
    if !ttl_range.contains(&ttl_ms) {
        return Err(Problem::invalid_input(format!("ttlMs must be {} to {}", ttl_range.start(), ttl_range.end())));
    }
    Ok(ttl_ms)
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/continue-here",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    request_body(content = Option<crate::dto::ContinueHereInput>, description = "Optional: only if the lock is still this grant; a shorter lease"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The lock moved to this tab under a new fencing token (or was free and is granted)", body = crate::dto::LockGranted),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 409, description = "lock_held (another person holds it) or takeover_conflict (the lock changed since expectedFencingToken)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 429, response = problems::RateLimited),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn continue_here(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<dto::ContinueHereInput>,
) -> Result<Response, Problem> {
    let appointment_id = checked_id(id)?;
    let ttl_ms = checked_ttl_ms(&state, input.ttl_ms)?;
    state.lock_attempt(&actor.user_id)?;
    let op = Op::MoveLock { actor, appointment_id, ttl_ms, expected_fencing_token: input.expected_fencing_token };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/heartbeat",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    request_body(content = Option<crate::dto::HeartbeatInput>, description = "Optional: this tab believes it is queued"),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Lease renewed (or, for a waiting tab, the lock handed to it, still to be claimed)", body = crate::dto::LockGranted),
        (status = 202, description = "The place in the queue renewed", body = crate::dto::Queued),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 409, description = "not_holder", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn heartbeat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<dto::HeartbeatInput>,
) -> Result<Response, Problem> {
    let op = Op::Renew { actor, appointment_id: checked_id(id)?, waiting: input.waiting };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

#[utoipa::path(
    delete,
    path = "/appointments/{id}/release-lock",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
        ("X-Fencing-Token" = Option<u64>, Header, description = "The lock's fencing token"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Released (or already free); a waiter may have been granted"),
        (status = 401, response = problems::Unauthenticated),
        (status = 409, description = "not_holder or stale_token", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn release(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let op = Op::Release {
        actor,
        appointment_id: checked_id(id)?,
        fencing_token: fencing_token_header(&headers)?,
        reason: ReleaseReason::Released,
    };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    applied_or_problem(&state, applied.response)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    post,
    path = "/appointments/{id}/takeover",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    request_body = crate::dto::TakeoverInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The admin holds the lock; audited in the same entry", body = crate::dto::LockGranted),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 409, description = "The lock changed hands since expectedFencingToken (with the winner)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 429, response = problems::RateLimited),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn takeover(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<dto::TakeoverInput>,
) -> Result<Response, Problem> {
    // Checked here too so a user's request costs no log entry; the state machine decides.
    if !actor.is_admin() {
        return Err(Problem::forbidden("Request Control needs the admin role"));
    }
    crate::text::check_single_line("reason", &input.reason).map_err(Problem::invalid_input)?;
    state.lock_attempt(&actor.user_id)?;
    let op = Op::Takeover {
        actor,
        appointment_id: checked_id(id)?,
        ttl_ms: state.config.lock_ttl_ms,
        reason: input.reason,
        expected_fencing_token: input.expected_fencing_token,
    };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

#[utoipa::path(
    get,
    path = "/appointments/{id}/audit",
    tag = "locks",
    params(
        ("id" = String, Path, description = "Appointment id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointment's lock audit, the latest 256, oldest first", body = crate::dto::AuditTrail),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, response = problems::Forbidden),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn audit(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<String>,
    query: ReadQuery,
) -> Result<Response, Problem> {
    if identity.role != sm::Role::Admin {
        return Err(Problem::forbidden("the audit trail is for admins"));
    }
    let id = checked_id(id)?;
    query.barrier(&state).await?;
    let records = state.node.read(|applied| {
        applied.sm.appointment(&id).map(|_| {
            let all: Vec<dto::AuditRecord> = applied.sm.audit(&id).map(dto::AuditRecord::from).collect();
            let skip = all.len().saturating_sub(limits::AUDIT_PAGE_MAX);
            all.into_iter().skip(skip).collect::<Vec<_>>()
        })
    });
    let records = records.ok_or_else(|| Problem::not_found("no such appointment"))?;
    Ok(Json(dto::AuditTrail { appointment_id: id, records }).into_response())
}

/// `GET /audit`: which records, how many.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecentAuditQuery {
    /// Only records of this action (`taken_over`, `expired`, …); all when absent.
    action: Option<String>,
    /// At most this many, newest first (1 to 256, default 50).
    limit: Option<usize>,
    #[serde(default)]
    stale: bool,
}

const RECENT_AUDIT_DEFAULT: usize = 50;

fn audit_action(name: &str) -> Option<sm::AuditAction> {
    use sm::AuditAction as A;
    [A::Granted, A::Released, A::Disconnected, A::Expired, A::TakenOver, A::Moved, A::Unclaimed]
        .into_iter()
        .find(|action| dto::audit_action_name(*action) == name)
}

#[utoipa::path(
    get,
    path = "/audit",
    tag = "locks",
    params(RecentAuditQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The latest audit records across every appointment, newest first", body = crate::dto::RecentAudit),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, response = problems::Forbidden),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn recent_audit(
    State(state): State<AppState>,
    identity: Identity,
    super::Query(query): super::Query<RecentAuditQuery>,
) -> Result<Response, Problem> {
    if identity.role != sm::Role::Admin {
        return Err(Problem::forbidden("the audit trail is for admins"));
    }
    let action = match query.action.as_deref() {
        None => None,
        Some(name) => Some(audit_action(name).ok_or_else(|| {
            Problem::invalid_input(
                "action must be one of granted, released, disconnected, expired, taken_over, moved, unclaimed",
            )
        })?),
    };
    let limit = query.limit.unwrap_or(RECENT_AUDIT_DEFAULT);
    if !(1..=limits::AUDIT_PAGE_MAX).contains(&limit) {
        return Err(Problem::invalid_input(format!("limit must be 1 to {}", limits::AUDIT_PAGE_MAX)));
    }
    if !query.stale {
        state.node.read_barrier().await?;
    }
    let records: Vec<dto::AuditRecord> = state.node.read(|applied| {
        let keep = |r: &sm::AuditRecord| action.is_none_or(|a| r.action == a);
        applied.sm.recent_audit(limit, keep).into_iter().map(dto::AuditRecord::from).collect()
    });
    Ok(Json(dto::RecentAudit { records }).into_response())
}

/// 200 with the lock for a grant or renewal, 202 with the position for a place in the queue.
fn lock_answer(state: &AppState, response: sm::Response) -> Result<Response, Problem> {
    let server_time = dto::rfc3339(state.server_time_ms());
    match response {
        sm::Response::Granted { lock, renewed } => Ok(Json(dto::LockGranted {
            lock: dto::Lock::from(&lock),
            fencing_token: lock.fencing_token,
            expires_at: dto::rfc3339(lock.expires_at_ms),
            renewed,
            server_time,
        })
        .into_response()),
        sm::Response::Queued { position, queue } => Ok((
            StatusCode::ACCEPTED,
            Json(dto::Queued { queued: true, position, queue: dto::queue(&queue), server_time }),
        )
            .into_response()),
        other => Err(unexpected(other)),
    }
}
