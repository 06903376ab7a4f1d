//! Lock routes: status, acquire (or queue), heartbeat, release, takeover, audit.
//! Each handler authenticates, validates, builds one command, submits it and maps the answer.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lockd_raft::sm::{self, Op, ReleaseReason};
use serde_json::json;

use super::{JsonBody, OptionalJsonBody, ReadQuery, applied_or_problem, checked_id, fencing_token_header, request_id, unexpected};
use crate::auth::{Caller, Identity};
use crate::problem::Problem;
use crate::{AppState, dto, limits};

pub async fn lock_status(
    State(state): State<AppState>,
    _identity: Identity,
    Path(id): Path<String>,
    query: ReadQuery,
) -> Result<Response, Problem> {
    let id = checked_id(id)?;
    query.barrier(&state).await?;
    let server_time = state.server_time_ms();
    let body = state.node.state().read(|applied| {
        let sm = &applied.sm;
        sm.appointment(&id).map(|_| {
            let lock = sm.lock(&id);
            json!({
                "locked": lock.is_some(),
                "lock": lock.map(dto::Lock::from),
                "queue": dto::queue(sm.queue(&id)),
                "appliedIndex": applied.applied_index(),
                "serverTime": dto::rfc3339(server_time),
            })
        })
    });
    let body = body.ok_or_else(|| Problem::not_found("no such appointment"))?;
    Ok(Json(body).into_response())
}

pub async fn acquire(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(input): OptionalJsonBody<dto::AcquireInput>,
) -> Result<Response, Problem> {
    let appointment_id = checked_id(id)?;
    state.lock_attempt(&actor.user_id)?;
    let op = Op::Acquire {
        actor,
        appointment_id,
        ttl_ms: input.ttl_ms.unwrap_or(state.config.lock_ttl_ms),
        wait: input.wait,
        waiter_ttl_ms: state.config.waiter_ttl_ms,
    };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

pub async fn heartbeat(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let op = Op::Renew { actor, appointment_id: checked_id(id)? };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    lock_answer(&state, applied_or_problem(&state, applied.response)?)
}

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
    let records = state.node.state().read(|applied| {
        applied.sm.appointment(&id).map(|_| {
            let all: Vec<dto::AuditRecord> = applied.sm.audit(&id).map(dto::AuditRecord::from).collect();
            let skip = all.len().saturating_sub(limits::AUDIT_PAGE_MAX);
            all.into_iter().skip(skip).collect::<Vec<_>>()
        })
    });
    let records = records.ok_or_else(|| Problem::not_found("no such appointment"))?;
    Ok(Json(json!({ "appointmentId": id, "records": records })).into_response())
}

/// 200 with the lock for a grant or renewal, 202 with the position for a place in the queue.
fn lock_answer(state: &AppState, response: sm::Response) -> Result<Response, Problem> {
    let server_time = dto::rfc3339(state.server_time_ms());
    match response {
        sm::Response::Granted { lock, renewed } => Ok(Json(json!({
            "lock": dto::Lock::from(&lock),
            "fencingToken": lock.fencing_token,
            "expiresAt": dto::rfc3339(lock.expires_at_ms),
            "renewed": renewed,
            "serverTime": server_time,
        }))
        .into_response()),
        sm::Response::Queued { position, queue } => Ok((
            StatusCode::ACCEPTED,
            Json(json!({
                "queued": true,
                "position": position,
                "queue": dto::queue(&queue),
                "serverTime": server_time,
            })),
        )
            .into_response()),
        other => Err(unexpected(other)),
    }
}
