//! Bearer-token authentication and the caller's identity.
//!
//! Two kinds of token, told apart by the header's `alg` ([`Authenticator`]):
//! - HS256 under the node's shared secret ([`JwtKeys`]): dev-mode tokens from
//!   `/auth/dev-login`, and tokens an organisation's own issuer signs with the secret.
//! - Tokens from an OpenID Connect identity provider ([`oidc`]): public-key signatures
//!   checked against its published keys ([`jwks`]).
//!
//! Expiry is checked against the node's injected clock, not jsonwebtoken's own reading of
//! the system time, so the simulation controls it (docs/design.md, pitfall 7).

pub mod jwks;
pub mod oidc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use lockd_raft::sm::{Actor, Role};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::AppState;
use crate::limits;
use crate::problem::Problem;

pub const ISSUER: &str = "lockd";
pub const AUDIENCE: &str = "lockd";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
    /// Not before (seconds), when the issuer sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued by a node's dev login: accepted only by nodes in dev mode, so a token minted on
    /// a `--dev` node is worth nothing on a production node that shares the secret.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dev: bool,
}

impl Claims {
    /// The claims of a token for `identity`, valid from `now_secs` for `ttl_secs`, unmarked.
    pub fn of(identity: &Identity, now_secs: u64, ttl_secs: u64) -> Claims {
        Claims {
            sub: identity.user_id.clone(),
            name: identity.name.clone(),
            email: identity.email.clone(),
            role: crate::dto::role_name(identity.role).into(),
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now_secs,
            exp: now_secs + ttl_secs,
            nbf: None,
            dev: false,
        }
    }
}

/// Who the token says the caller is. Never taken from anything else the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub role: Role,
}

impl Identity {
    pub fn in_session(self, session_id: String) -> Actor {
        Actor { user_id: self.user_id, session_id, name: self.name, email: self.email, role: self.role }
    }
}

/// Every way this node accepts a bearer token.
pub struct Authenticator {
    shared_secret: Option<Arc<JwtKeys>>,
    oidc: Option<oidc::OidcVerifier>,
}

impl Authenticator {
    /// HS256 tokens under the shared secret only (dev mode, the simulation, the tests).
    pub fn shared_secret(keys: Arc<JwtKeys>) -> Self {
        Authenticator { shared_secret: Some(keys), oidc: None }
    }

    /// IdP tokens, and HS256 ones too where `shared_secret` is given.
    pub fn oidc(verifier: oidc::OidcVerifier, shared_secret: Option<Arc<JwtKeys>>) -> Self {
        Authenticator { shared_secret, oidc: Some(verifier) }
    }

    /// The keys dev login signs with, on a node in dev mode.
    pub fn dev_keys(&self) -> Option<&JwtKeys> {
        self.shared_secret.as_deref().filter(|keys| keys.accept_dev)
    }

    pub fn oidc_verifier(&self) -> Option<&oidc::OidcVerifier> {
        self.oidc.as_ref()
    }

    pub async fn verify(&self, token: &str, now_secs: u64) -> Result<Identity, Problem> {
        self.verify_with_expiry(token, now_secs).await.map(|(identity, _)| identity)
    }

    /// The caller and the token's `exp` (seconds), for a connection that must end when its
    /// token does.
    pub async fn verify_with_expiry(&self, token: &str, now_secs: u64) -> Result<(Identity, u64), Problem> {
        if token.len() > limits::TOKEN_BYTES_MAX {
            return Err(Problem::unauthenticated("the token is too long"));
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Problem::unauthenticated(format!("invalid token: {e}")))?;
        match (header.alg, &self.shared_secret, &self.oidc) {
            (Algorithm::HS256, Some(keys), _) => keys.verify_with_expiry(token, now_secs),
            (Algorithm::HS256, None, _) => {
                Err(Problem::unauthenticated("this node takes no HS256 tokens: sign in with the identity provider"))
            }
            (_, _, Some(oidc)) => oidc.verify(token, &header, now_secs).await,
            (alg, _, None) => Err(Problem::unauthenticated(format!(
                "tokens signed with {alg:?} are not accepted: this node has no identity provider configured"
            ))),
        }
    }
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Whether dev-login tokens are accepted (dev mode only).
    accept_dev: bool,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Checked below against the injected clock.
        validation.validate_exp = false;
        JwtKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            accept_dev: false,
        }
    }

    /// Accepts the tokens [`JwtKeys::issue`] makes (a node in dev mode).
    pub fn accepting_dev_tokens(mut self) -> Self {
        self.accept_dev = true;
        self
    }

    /// A dev-mode token for `identity` (marked as such: see [`Claims::dev`]).
    pub fn issue(&self, identity: &Identity, now_secs: u64, ttl_secs: u64) -> String {
        self.sign(&Claims { dev: true, ..Claims::of(identity, now_secs, ttl_secs) })
    }

    /// `claims` signed with this node's secret (HS256).
    pub fn sign(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding).expect("HS256 signing cannot fail")
    }

    pub fn verify(&self, token: &str, now_secs: u64) -> Result<Identity, Problem> {
        self.verify_with_expiry(token, now_secs).map(|(identity, _)| identity)
    }

    /// Like [`JwtKeys::verify`], also answering the token's `exp` (seconds), for a connection
    /// that must end when its token does.
    pub fn verify_with_expiry(&self, token: &str, now_secs: u64) -> Result<(Identity, u64), Problem> {
        if token.len() > limits::TOKEN_BYTES_MAX {
            return Err(Problem::unauthenticated("the token is too long"));
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| Problem::unauthenticated(format!("invalid token: {e}")))?;
        let claims = data.claims;
        if claims.exp.saturating_add(limits::TOKEN_LEEWAY_SECS) <= now_secs {
            return Err(Problem::unauthenticated("the token has expired").with("tokenExpired", true.into()));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now_secs.saturating_add(limits::TOKEN_LEEWAY_SECS)) {
            return Err(Problem::unauthenticated("the token is not valid yet (nbf)"));
        }
        if claims.dev && !self.accept_dev {
            return Err(Problem::unauthenticated("a dev-mode token: this node is not in dev mode"));
        }
        let role = match claims.role.as_str() {
            "user" => Role::User,
            "admin" => Role::Admin,
            _ => return Err(Problem::unauthenticated("the token's role must be user or admin")),
        };
        let identity = Identity { user_id: claims.sub, name: claims.name, email: claims.email, role };
        // The token is signed, but its fields still go into the log: hold them to the limits.
        identity
            .clone()
            .in_session("check".into())
            .validate()
            .map_err(|reason| Problem::unauthenticated(format!("the token's claims are not acceptable: {reason}")))?;
        Ok((identity, claims.exp))
    }
}

impl FromRequestParts<AppState> for Identity {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .ok_or_else(|| Problem::unauthenticated("send Authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Problem::unauthenticated("the Authorization header must be Bearer <token>"))?;
        state.auth.verify(token.trim(), state.clock.now_ms() / 1000).await
    }
}

/// The caller in one tab: identity from the token, plus the tab's `X-Session-Id`.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let identity = Identity::from_request_parts(parts, state).await?;
        let session_id = parts
            .headers
            .get("x-session-id")
            .ok_or_else(|| Problem::invalid_input("send X-Session-Id (one per browser tab)"))?
            .to_str()
            .map_err(|_| Problem::invalid_input("X-Session-Id must be text"))?
            .to_owned();
        let actor = identity.in_session(session_id);
        actor.validate().map_err(Problem::invalid_input)?;
        Ok(Caller(actor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity { user_id: "alice".into(), name: "Alice".into(), email: "alice@example.com".into(), role: Role::Admin }
    }

    #[test]
    fn an_issued_token_verifies_to_the_same_identity() {
        let keys = JwtKeys::from_secret(b"secret").accepting_dev_tokens();
        let token = keys.issue(&alice(), 1_000, 60);
        assert_eq!(keys.verify(&token, 1_030).unwrap(), alice());
    }

    #[test]
    fn an_expired_token_is_refused_by_the_injected_clock() {
        let keys = JwtKeys::from_secret(b"secret").accepting_dev_tokens();
        let token = keys.issue(&alice(), 1_000, 60);
        let problem = keys.verify(&token, 1_060 + limits::TOKEN_LEEWAY_SECS).unwrap_err();
        assert_eq!(problem.code, "unauthenticated");
        assert!(problem.detail.contains("expired"));
    }

    #[test]
    fn a_dev_token_is_refused_by_a_node_not_in_dev_mode_even_with_the_same_secret() {
        let dev_node = JwtKeys::from_secret(b"secret").accepting_dev_tokens();
        let token = dev_node.issue(&alice(), 1_000, 60);
        let problem = JwtKeys::from_secret(b"secret").verify(&token, 1_000).unwrap_err();
        assert_eq!(problem.code, "unauthenticated");
        assert!(problem.detail.contains("dev"), "{}", problem.detail);
        // A token the organisation's issuer made with the shared secret has no mark.
        let plain = JwtKeys::from_secret(b"secret").sign(&Claims::of(&alice(), 1_000, 60));
        assert_eq!(JwtKeys::from_secret(b"secret").verify(&plain, 1_000).unwrap(), alice());
    }

    #[test]
    fn a_token_is_refused_before_its_not_before_time() {
        let keys = JwtKeys::from_secret(b"secret");
        let token = keys.sign(&Claims { nbf: Some(2_000), ..Claims::of(&alice(), 1_000, 3_600) });
        let early = keys.verify(&token, 2_000 - limits::TOKEN_LEEWAY_SECS - 1).unwrap_err();
        assert!(early.detail.contains("nbf"), "{}", early.detail);
        assert_eq!(keys.verify(&token, 2_000).unwrap(), alice());
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let token = JwtKeys::from_secret(b"other").issue(&alice(), 1_000, 60);
        assert!(JwtKeys::from_secret(b"secret").verify(&token, 1_000).is_err());
        assert!(JwtKeys::from_secret(b"secret").verify("not.a.jwt", 1_000).is_err());
    }
}
