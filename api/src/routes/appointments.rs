//! Appointment routes: list, get, create, the fenced update, and the caller's draft.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lockd_raft::sm::{self, Op};

use super::{
    JsonBody, Path, ReadQuery, WriteHeaders, applied_or_problem, checked_id, fencing_token_header, if_match_header,
    request_id, unexpected,
};
use crate::auth::{Caller, Identity};
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::{AppState, dto};

fn with_lock(sm: &sm::LockStateMachine, appointment: &sm::Appointment, viewers: usize) -> dto::AppointmentWithLock {
    dto::AppointmentWithLock {
        appointment: appointment.into(),
        lock: sm.lock(&appointment.id).map(dto::Lock::from),
        queue_length: sm.queue(&appointment.id).len(),
        viewers,
    }
}

fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).expect("digits and quotes are a valid header")
}

#[utoipa::path(
    get,
    path = "/appointments",
    tag = "appointments",
    params(
        ("stale" = Option<bool>, Query, description = "Answer from this node's applied state without the read barrier"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every appointment with its lock", body = crate::dto::AppointmentList),
        (status = 401, response = problems::Unauthenticated),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn list(State(state): State<AppState>, _identity: Identity, query: ReadQuery) -> Result<Response, Problem> {
    query.barrier(&state).await?;
    let server_time = dto::rfc3339(state.server_time_ms());
    let viewers = state.presence.viewer_counts();
    let items: Vec<dto::AppointmentWithLock> = state.node.read(|applied| {
        applied
            .sm
            .appointments()
            .map(|a| with_lock(&applied.sm, a, viewers.get(&*a.id).copied().unwrap_or(0)))
            .collect()
    });
    Ok(Json(dto::AppointmentList { appointments: items, server_time }).into_response())
}

#[utoipa::path(
    get,
    path = "/appointments/{id}",
    tag = "appointments",
    params(
        ("id" = String, Path, description = "Appointment id"),
        ("stale" = Option<bool>, Query, description = "Answer from this node's applied state without the read barrier"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The appointment with its lock; ETag is its version", body = crate::dto::AppointmentWithLock),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    _identity: Identity,
    Path(id): Path<String>,
    query: ReadQuery,
) -> Result<Response, Problem> {
    let id = checked_id(id)?;
    query.barrier(&state).await?;
    let viewers = state.presence.viewer_count(&id);
    let found =
        state.node.read(|applied| applied.sm.appointment(&id).map(|a| (a.version, with_lock(&applied.sm, a, viewers))));
    let (version, body) = found.ok_or_else(|| Problem::not_found("no such appointment"))?;
    Ok(([(header::ETAG, etag(version))], Json(body)).into_response())
}

#[utoipa::path(
    post,
    path = "/appointments",
    tag = "appointments",
    params(
        WriteHeaders,
    ),
    request_body = crate::dto::AppointmentInput,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Created", body = crate::dto::Appointment),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 409, description = "already_exists", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    Caller(actor): Caller,
    headers: HeaderMap,
    JsonBody(input): JsonBody<dto::AppointmentInput>,
) -> Result<Response, Problem> {
    let appointment_id = match input.id.clone() {
        Some(id) => checked_id(id)?,
        None => uuid::Uuid::new_v4().to_string(),
    };
    let fields = input.into_fields()?;
    let op = Op::CreateAppointment { actor, appointment_id, fields };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    match applied_or_problem(&state, applied.response)? {
        sm::Response::AppointmentSaved(a) => {
            let location = HeaderValue::from_str(&format!("/appointments/{}", a.id)).expect("ids are header-safe");
            Ok((
                StatusCode::CREATED,
                [(header::LOCATION, location), (header::ETAG, etag(a.version))],
                Json(dto::Appointment::from(&a)),
            )
                .into_response())
        }
        other => Err(unexpected(other)),
    }
}

#[utoipa::path(
    put,
    path = "/appointments/{id}",
    tag = "appointments",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
        ("X-Fencing-Token" = u64, Header, description = "The lock's fencing token"),
        ("If-Match" = String, Header, description = "The appointment version the change is based on, as the ETag gives it (`\"7\"`) or bare (`7`)"),
    ),
    request_body = crate::dto::AppointmentInput,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved; the lease is renewed", body = crate::dto::Appointment),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 409, description = "not_holder, stale_token or version_conflict (with the current appointment)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 428, description = "No If-Match: a save must say which version it changes", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn update(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<dto::AppointmentInput>,
) -> Result<Response, Problem> {
    let appointment_id = checked_id(id)?;
    let expected_version = if_match_header(&headers)?
        .ok_or_else(|| Problem::new(StatusCode::PRECONDITION_REQUIRED, "invalid_input", "send If-Match: <version>"))?;
    let fencing_token =
        fencing_token_header(&headers)?.ok_or_else(|| Problem::invalid_input("send X-Fencing-Token: <token>"))?;
    if input.id.as_ref().is_some_and(|body_id| *body_id != appointment_id) {
        return Err(Problem::unprocessable("the body may not change the id"));
    }
    let fields = input.into_fields()?;
    let op = Op::UpdateAppointment { actor, appointment_id, fencing_token, expected_version, fields };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    match applied_or_problem(&state, applied.response)? {
        sm::Response::AppointmentSaved(a) => {
            Ok(([(header::ETAG, etag(a.version))], Json(dto::Appointment::from(&a))).into_response())
        }
        other => Err(unexpected(other)),
    }
}

#[utoipa::path(
    put,
    path = "/appointments/{id}/draft",
    tag = "appointments",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    request_body = crate::dto::DraftInput,
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller's draft, kept as typed"),
        (status = 400, response = problems::InvalidInput),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn save_draft(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonBody(input): JsonBody<dto::DraftInput>,
) -> Result<Response, Problem> {
    let appointment_id = checked_id(id)?;
    let (base_version, text, base) = input.into_parts();
    // Bounds only: a draft is what was typed, checked as an appointment when it is saved.
    text.validate().map_err(Problem::invalid_input)?;
    if let Some(base) = &base {
        base.validate().map_err(|e| Problem::invalid_input(format!("base: {e}")))?;
    }
    let op = Op::SaveDraft { actor, appointment_id, base_version, text, base };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    applied_or_problem(&state, applied.response)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(
    get,
    path = "/appointments/{id}/draft",
    tag = "appointments",
    params(
        ("id" = String, Path, description = "Appointment id"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's draft", body = crate::dto::Draft),
        (status = 204, description = "The caller has no draft of this appointment"),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
    ),
)]
pub async fn get_draft(
    State(state): State<AppState>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = checked_id(id)?;
    state.node.read_barrier().await?;
    let draft = state.node.read(|applied| {
        applied.sm.appointment(&id).map(|_| applied.sm.draft(&id, &identity.user_id).map(dto::Draft::from))
    });
    // No draft is an ordinary answer (every page open asks), not an error.
    match draft.ok_or_else(|| Problem::not_found("no such appointment"))? {
        Some(draft) => Ok(Json(draft).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

#[utoipa::path(
    delete,
    path = "/appointments/{id}/draft",
    tag = "appointments",
    params(
        ("id" = String, Path, description = "Appointment id"),
        WriteHeaders,
    ),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The caller's draft is gone (or there was none)"),
        (status = 401, response = problems::Unauthenticated),
        (status = 404, response = problems::NoSuchAppointment),
        (status = 503, response = problems::NoLeader),
    ),
)]
pub async fn discard_draft(
    State(state): State<AppState>,
    Caller(actor): Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let op = Op::DiscardDraft { actor, appointment_id: checked_id(id)? };
    let applied = state.node.submit(request_id(&headers)?, op).await?;
    applied_or_problem(&state, applied.response)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
