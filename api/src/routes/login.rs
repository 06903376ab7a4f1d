//! `POST /auth/dev-login`: a signed token for a demo user. Exists only in dev mode.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lockd_raft::sm::Role;
use serde::Deserialize;
use serde_json::json;

use super::JsonBody;
use crate::auth::Identity;
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::{AppState, limits};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DevLogin {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: String,
}

#[utoipa::path(
    post,
    path = "/auth/dev-login",
    tag = "auth",
    request_body = DevLogin,
    responses(
        (status = 200, description = "A signed token for the demo identity: {token}", body = Object),
        (status = 400, response = problems::InvalidInput),
        (status = 404, description = "Dev mode is off", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn dev_login(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<DevLogin>,
) -> Result<Response, Problem> {
    if !state.config.dev_mode {
        return Err(Problem::not_found("dev login is off"));
    }
    let role = match input.role.as_str() {
        "user" => Role::User,
        "admin" => Role::Admin,
        _ => return Err(Problem::invalid_input("role must be user or admin")),
    };
    crate::text::check_single_line("name", &input.name).map_err(Problem::invalid_input)?;
    crate::text::check_single_line("email", &input.email).map_err(Problem::invalid_input)?;
    let identity = Identity { user_id: input.user_id, name: input.name, email: input.email, role };
    identity.clone().in_session("check".into()).validate().map_err(Problem::invalid_input)?;
    let now_secs = state.clock.now_ms() / 1000;
    let token = state.keys.issue(&identity, now_secs, limits::DEV_TOKEN_TTL_SECS);
    Ok(Json(json!({ "token": token, "expiresInSecs": limits::DEV_TOKEN_TTL_SECS })).into_response())
}
