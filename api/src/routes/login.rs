//! Sign-in: `GET /auth/config` tells the web app how to sign in (the IdP, dev login or
//! both); `POST /auth/dev-login` hands out a token for a demo user, in dev mode only.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use lockd_raft::sm::Role;
use serde::{Deserialize, Serialize};

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
        (status = 200, description = "A signed token for the demo identity", body = DevToken),
        (status = 400, response = problems::InvalidInput),
        (status = 404, description = "Dev mode is off", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn dev_login(
    State(state): State<AppState>,
    JsonBody(input): JsonBody<DevLogin>,
) -> Result<Response, Problem> {
    let Some(keys) = state.auth.dev_keys().filter(|_| state.config.dev_mode) else {
        return Err(Problem::not_found("dev login is off"));
    };
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
    let token = keys.issue(&identity, now_secs, limits::DEV_TOKEN_TTL_SECS);
    Ok(Json(DevToken { token, expires_in_secs: limits::DEV_TOKEN_TTL_SECS }).into_response())
}

/// A dev token: a bearer token for the demo identity, valid for `expiresInSecs`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DevToken {
    pub token: String,
    pub expires_in_secs: u64,
}

/// How the web app signs in on this node.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthConfig {
    /// `POST /auth/dev-login` is served (dev mode).
    pub dev_login: bool,
    /// Sign-in with the organisation's identity provider, when one is configured for the web app.
    pub oidc: Option<OidcClientConfig>,
}

/// What an OpenID Connect client needs to sign in (authorization code with PKCE).
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcClientConfig {
    /// The issuer; its discovery document is at `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Space-separated scopes to ask for.
    pub scopes: String,
}

#[utoipa::path(
    get,
    path = "/auth/config",
    tag = "auth",
    responses((status = 200, description = "How to sign in", body = AuthConfig)),
)]
pub async fn auth_config(State(state): State<AppState>) -> Json<AuthConfig> {
    let oidc = state.auth.oidc_verifier().and_then(|verifier| {
        let settings = verifier.settings();
        settings.web_client_id.as_ref().map(|client_id| OidcClientConfig {
            issuer: settings.issuer.clone(),
            client_id: client_id.clone(),
            scopes: settings.web_scopes.clone(),
        })
    });
    Json(AuthConfig { dev_login: state.config.dev_mode && state.auth.dev_keys().is_some(), oidc })
}

/// The signed-in person as this node sees their token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Me {
    pub user_id: String,
    pub name: String,
    pub email: String,
    /// `user` or `admin`.
    #[schema(value_type = String)]
    pub role: &'static str,
}

#[utoipa::path(
    get,
    path = "/auth/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Who the token says the caller is, and their role", body = Me),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, description = "Signed in at the identity provider without a lockd role (`no_access`)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "The identity provider's keys are unavailable (`identity_provider_unavailable`)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn me(identity: Identity) -> Json<Me> {
    Json(Me {
        role: crate::dto::role_name(identity.role),
        user_id: identity.user_id,
        name: identity.name,
        email: identity.email,
    })
}
