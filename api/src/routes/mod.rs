//! Route handlers, one file per family, and the input helpers they share.

pub mod appointments;
pub mod cluster;
pub mod locks;
pub mod login;
pub mod updates;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use lockd_raft::limits::REQUEST_ID_CHARS_MAX;
use lockd_raft::sm;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::problem::Problem;

/// A JSON body whose every failure (syntax, type, unknown field, size) is a problem+json
/// `invalid_input`. An empty body, or JSON `null`, reads as the type's default where the
/// route allows one.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> JsonBody<T> {
    fn parse_or_default(bytes: &[u8]) -> Result<T, Problem> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        Ok(parse::<Option<T>>(bytes)?.unwrap_or_default())
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes).map_err(|e| Problem::invalid_input(format!("malformed JSON body: {e}")))
}

async fn body_bytes(request: Request, state: &AppState) -> Result<Bytes, Problem> {
    let read = Bytes::from_request(request, state);
    let timeout = std::time::Duration::from_millis(crate::limits::HTTP_BODY_READ_TIMEOUT_MS);
    let Ok(read) = tokio::time::timeout(timeout, read).await else {
        return Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request body did not arrive in time",
        ));
    };
    read.map_err(|e| {
        Problem::new(
            e.status(),
            if e.status().as_u16() == 413 { "payload_too_large" } else { "invalid_input" },
            e.body_text(),
        )
    })
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(JsonBody(parse(&body_bytes(request, state).await?)?))
    }
}

/// axum's `Path`, its rejections (a segment that is not UTF-8, a node id that is not a number)
/// answered as problem+json `invalid_input` like every other bad input.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for Path<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(Problem::invalid_input(format!("bad path: {}", e.body_text()))),
        }
    }
}

/// axum's `Query`, its rejections answered as problem+json `invalid_input`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for Query<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::try_from_uri(&parts.uri) {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e) => Err(Problem::invalid_input(format!("bad query string: {}", e.body_text()))),
        }
    }
}

/// A JSON body that may be absent.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default> FromRequest<AppState> for OptionalJsonBody<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(OptionalJsonBody(JsonBody::<T>::parse_or_default(&body_bytes(request, state).await?)?))
    }
}

/// An appointment id as the core accepts it, and never `.` or `..` (or only dots): such an id
/// becomes a path segment that URL resolution removes (`/appointments/..` is `/`), so its
/// appointment could be reached only as `%2E%2E`. Checked at the edge, not in the state
/// machine, whose rules are a protocol every replica of every version must apply alike; every
/// route takes its id through here, so no new command can name one.
pub(crate) fn checked_id(id: String) -> Result<String, Problem> {
    sm::validate_appointment_id(&id).map_err(Problem::invalid_input)?;
    if id.chars().all(|c| c == '.') {
        return Err(Problem::invalid_input("appointment id must not be only dots"));
    }
    Ok(id)
}

/// The headers every write takes, for the OpenAPI document (read by `Caller` and
/// [`request_id`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(crate) struct WriteHeaders {
    /// The tab's session id
    #[param(rename = "X-Session-Id")]
    session_id: String,
    /// Exactly-once key of the write; reuse it on a retry
    #[param(rename = "Idempotency-Key")]
    idempotency_key: Option<String>,
}

/// The exactly-once key of a write: the client's `Idempotency-Key`, or a fresh one. A
/// fresh key still makes the node's own forwarding retries apply once.
pub(crate) fn request_id(headers: &HeaderMap) -> Result<String, Problem> {
    match headers.get("idempotency-key") {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(value) => {
            let key = value.to_str().map_err(|_| Problem::invalid_input("Idempotency-Key must be text"))?;
            let ok = !key.is_empty()
                && key.len() <= REQUEST_ID_CHARS_MAX
                && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
            if !ok {
                return Err(Problem::invalid_input(format!(
                    "Idempotency-Key must be 1 to {REQUEST_ID_CHARS_MAX} of letters, digits and - _ . :"
                )));
            }
            Ok(key.to_owned())
        }
    }
}

/// A whole number of at most 20 digits (a fencing token): nothing around it.
fn number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.len() <= 20 && text.bytes().all(|b| b.is_ascii_digit());
    if digits { text.parse().ok() } else { None }
}

pub(crate) fn fencing_token_header(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get("x-fencing-token") else { return Ok(None) };
    let token = value.to_str().ok().and_then(number);
    token.map(Some).ok_or_else(|| Problem::invalid_input("X-Fencing-Token must be a whole number"))
}

/// `If-Match` as the `ETag` gives it (`"7"`, weak `W/"7"`) or bare (`7`), up to 19 digits
/// (the OpenAPI document's pattern).
pub(crate) fn if_match_header(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get("if-match") else { return Ok(None) };
    let text = value.to_str().unwrap_or_default();
    let unquoted = text.strip_prefix("W/").unwrap_or(text).strip_prefix('"').and_then(|t| t.strip_suffix('"'));
    let digits = unquoted.unwrap_or(text);
    match number(digits) {
        Some(version) if digits.len() <= 19 => Ok(Some(version)),
        _ => Err(Problem::invalid_input("If-Match must be a version: \"7\", W/\"7\" or 7")),
    }
}

/// A state-machine answer, or its rejection as a problem.
pub(crate) fn applied_or_problem(state: &AppState, response: sm::Response) -> Result<sm::Response, Problem> {
    match response {
        sm::Response::Rejected(rejection) => Err(Problem::from_rejection(rejection, state.server_time_ms())),
        other => Ok(other),
    }
}

/// `?stale=true` answers from this node's applied state; by default a read first waits for
/// the read barrier (linearizable).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadQuery {
    #[serde(default)]
    pub stale: bool,
}

impl FromRequestParts<AppState> for ReadQuery {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> Result<Self, Self::Rejection> {
        let Query(query) = Query::<ReadQuery>::from_request_parts(parts, _state).await?;
        Ok(query)
    }
}

impl ReadQuery {
    pub(crate) async fn barrier(&self, state: &AppState) -> Result<(), Problem> {
        if !self.stale {
            state.node.read_barrier().await?;
        }
        Ok(())
    }
}

/// An answer the route's command cannot produce: a bug, reported as such.
pub(crate) fn unexpected(response: sm::Response) -> Problem {
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("unexpected answer {response:?}"))
}
