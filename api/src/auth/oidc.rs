//! Tokens from the organisation's identity provider (OpenID Connect): RS*/PS*/ES256/ES384/EdDSA
//! signatures checked against the IdP's published keys ([`super::jwks`]), issuer and
//! audience checked, and the person read from configurable claims (ADR 25).
//!
//! Identity: `sub` is the user id. The display name, email and roles come from claim paths
//! the operator names (`name`, `email`, `realm_access.roles`, `groups`,
//! `https://example.com/roles`): a path is first looked up as one claim name, then as
//! dot-separated steps, so namespaced claims with dots in them work too. A person holding
//! the admin role is an admin; with a user role configured, anyone holding neither is
//! refused with 403 `no_access` (signed in, but not a lockd user).
//!
//! Display text from the IdP is shown, not trusted: invisible formatting characters are
//! dropped and over-long names cut, rather than locking a person out because their
//! directory entry has a zero-width space in it.

use std::sync::Arc;

use axum::http::StatusCode;
use jsonwebtoken::{Header, Validation};
use lockd_raft::sm::Role;
use serde_json::{Map, Value};

use super::Identity;
use super::jwks::{KeyCache, KeyError, is_public_key_algorithm};
use crate::limits;
use crate::problem::Problem;

/// Where the person's details are in the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimMapping {
    pub name: String,
    pub email: String,
    pub roles: String,
    /// The role (or group) that makes a person an admin.
    pub admin_role: String,
    /// If set, the role (or group) a person needs to use lockd at all.
    pub user_role: Option<String>,
}

impl Default for ClaimMapping {
    fn default() -> Self {
        ClaimMapping {
            name: "name".into(),
            email: "email".into(),
            roles: "roles".into(),
            admin_role: "lockd-admin".into(),
            user_role: None,
        }
    }
}

/// What the node checks tokens against, and what it tells the web app to sign in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// Must equal the token's `iss` exactly.
    pub issuer: String,
    /// Must be one of the token's `aud`.
    pub audience: String,
    pub claims: ClaimMapping,
    /// The web app's client id at the IdP; None: the web app does not offer IdP sign-in.
    pub web_client_id: Option<String>,
    /// Scopes the web app asks for.
    pub web_scopes: String,
}

pub struct OidcVerifier {
    settings: OidcSettings,
    keys: Arc<KeyCache>,
}

impl OidcVerifier {
    pub fn new(settings: OidcSettings, keys: Arc<KeyCache>) -> Self {
        OidcVerifier { settings, keys }
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    pub fn keys(&self) -> &Arc<KeyCache> {
        &self.keys
    }

    /// The caller and the token's `exp` (seconds), or why not.
    pub async fn verify(&self, token: &str, header: &Header, now_secs: u64) -> Result<(Identity, u64), Problem> {
        if !is_public_key_algorithm(header.alg) {
            return Err(Problem::unauthenticated(format!("tokens signed with {:?} are not accepted", header.alg)));
        }
        let key = self.keys.key_for(header.kid.as_deref(), header.alg).await.map_err(|e| match e {
            KeyError::Unknown(why) => Problem::unauthenticated(format!("invalid token: {why}")),
            KeyError::Unavailable(why) => {
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "identity_provider_unavailable", why)
            }
        })?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.settings.issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| Problem::unauthenticated(format!("invalid token: {e}")))?
            .claims;
        let seconds = |name: &str| claims.get(name).and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f as u64)));
        let exp = seconds("exp").ok_or_else(|| Problem::unauthenticated("the token's exp is not a number"))?;
        if exp.saturating_add(limits::TOKEN_LEEWAY_SECS) <= now_secs {
            return Err(Problem::unauthenticated("the token has expired").with("tokenExpired", true.into()));
        }
        if seconds("nbf").is_some_and(|nbf| nbf > now_secs.saturating_add(limits::TOKEN_LEEWAY_SECS)) {
            return Err(Problem::unauthenticated("the token is not valid yet (nbf)"));
        }
        Ok((self.identity(&claims)?, exp))
    }

    fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, Problem> {
        let mapping = &self.settings.claims;
        let text = |path: &str| claim(claims, path).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let user_id = text("sub").ok_or_else(|| Problem::unauthenticated("the token's sub is empty"))?.to_owned();
        let name = text(&mapping.name).or_else(|| text("preferred_username")).or_else(|| text("email"));
        let name = name.unwrap_or(&user_id).to_owned();
        let email = text(&mapping.email).unwrap_or_default();
        let roles = roles(claim(claims, &mapping.roles));
        let role = if roles.iter().any(|r| *r == mapping.admin_role) {
            Role::Admin
        } else if mapping.user_role.as_ref().is_none_or(|needed| roles.iter().any(|r| r == needed)) {
            Role::User
        } else {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "no_access",
                format!(
                    "you are signed in, but your account has neither the `{}` nor the `{}` role lockd needs",
                    mapping.user_role.as_deref().unwrap_or_default(),
                    mapping.admin_role
                ),
            ));
        };
        let email = crate::text::display_text(email, lockd_raft::limits::EMAIL_CHARS_MAX);
        let identity = Identity {
            user_id,
            name: crate::text::display_text(&name, lockd_raft::limits::NAME_CHARS_MAX),
            // An address cut short is a wrong address: better none.
            email: if email.chars().count() == lockd_raft::limits::EMAIL_CHARS_MAX { String::new() } else { email },
            role,
        };
        identity
            .clone()
            .in_session("check".into())
            .validate()
            .map_err(|reason| Problem::unauthenticated(format!("the token's claims are not acceptable: {reason}")))?;
        Ok(identity)
    }
}

/// The claim at `path`: the whole path as one claim name first (namespaced claims are URLs
/// with dots), then as dot-separated steps into nested objects.
pub fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    let mut steps = path.split('.');
    let mut value = claims.get(steps.next()?)?;
    for step in steps {
        value = value.as_object()?.get(step)?;
    }
    Some(value)
}

/// Roles as a list of strings, or one string of space- or comma-separated names.
fn roles(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(text)) => text.split([' ', ',']).filter(|s| !s.is_empty()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;

    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, encode};
    use lockd_raft::clock::SystemClock;
    use serde_json::json;

    use super::super::jwks::{CachePolicy, JwksSource};
    use super::*;

    /// A P-256 key pair: the private half signs test tokens, the public half is the IdP's set.
    struct TestKey {
        pkcs8_der: Vec<u8>,
        jwk: Jwk,
        alg: Algorithm,
    }

    impl TestKey {
        fn encoding(&self) -> EncodingKey {
            match self.alg {
                Algorithm::EdDSA => EncodingKey::from_ed_der(&self.pkcs8_der),
                _ => EncodingKey::from_ec_der(&self.pkcs8_der),
            }
        }
    }

    /// An Ed25519 key pair (EdDSA), as an IdP such as Okta or a custom issuer may publish.
    fn ed25519_key(kid: &str) -> TestKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
        let x = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, pair.public_key_raw());
        let jwk = serde_json::from_value(json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": x})).unwrap();
        TestKey { pkcs8_der: pair.serialize_der(), jwk, alg: Algorithm::EdDSA }
    }

    fn test_key(kid: &str) -> TestKey {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        // The uncompressed point: 04 || x || y.
        let point = pair.public_key_raw();
        let b64 = |bytes: &[u8]| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
        let jwk = serde_json::from_value(json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        }))
        .unwrap();
        TestKey { pkcs8_der: pair.serialize_der(), jwk, alg: Algorithm::ES256 }
    }

    struct Fixed(JwkSet);
    impl JwksSource for Fixed {
        fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send + '_>> {
            let set = self.0.clone();
            Box::pin(async move { Ok(set) })
        }
    }

    fn verifier(keys: &[&TestKey], user_role: Option<&str>) -> OidcVerifier {
        let set = JwkSet { keys: keys.iter().map(|k| k.jwk.clone()).collect() };
        // No rate limit on refetches here: the cache's own tests cover it.
        let policy = CachePolicy { refetch_min_interval_ms: 0, ..CachePolicy::default() };
        let cache = KeyCache::new(Box::new(Fixed(set)), Arc::new(SystemClock), policy);
        let settings = OidcSettings {
            issuer: "https://idp.example".into(),
            audience: "urn:lockd".into(),
            claims: ClaimMapping {
                roles: "realm_access.roles".into(),
                user_role: user_role.map(Into::into),
                ..ClaimMapping::default()
            },
            web_client_id: None,
            web_scopes: "openid".into(),
        };
        OidcVerifier::new(settings, Arc::new(cache))
    }

    fn now() -> u64 {
        SystemClock.now_ms() / 1000
    }

    fn sign(key: &TestKey, claims: Value) -> String {
        let mut header = Header::new(key.alg);
        header.kid = key.jwk.common.key_id.clone();
        encode(&header, &claims, &key.encoding()).unwrap()
    }

    fn claims(roles: &[&str]) -> Value {
        json!({
            "iss": "https://idp.example", "aud": ["urn:lockd", "other"], "sub": "f81d4fae-7dec",
            "exp": now() + 300, "iat": now(), "name": "Ada\u{200B} Lovelace", "email": "ada@example.com",
            "realm_access": { "roles": roles },
        })
    }

    async fn check(v: &OidcVerifier, token: &str) -> Result<(Identity, u64), Problem> {
        let header = jsonwebtoken::decode_header(token).unwrap();
        v.verify(token, &header, now()).await
    }

    use lockd_raft::clock::Clock;

    #[tokio::test]
    async fn a_token_from_the_idp_maps_to_the_person_and_their_role() {
        let key = test_key("k1");
        let v = verifier(&[&key], Some("lockd-user"));
        let (who, _) = check(&v, &sign(&key, claims(&["lockd-admin"]))).await.unwrap();
        assert_eq!(who.user_id, "f81d4fae-7dec");
        assert_eq!(who.name, "Ada Lovelace", "the zero-width space is dropped, not refused");
        assert_eq!(who.role, Role::Admin);
        let (who, _) = check(&v, &sign(&key, claims(&["lockd-user"]))).await.unwrap();
        assert_eq!(who.role, Role::User);
        let refused = check(&v, &sign(&key, claims(&["other"]))).await.unwrap_err();
        assert_eq!((refused.status.as_u16(), refused.code), (403, "no_access"));
    }

    #[tokio::test]
    async fn eddsa_and_es256_keys_of_one_set_each_verify_their_own_tokens() {
        let (ec, ed) = (test_key("ec"), ed25519_key("ed"));
        let v = verifier(&[&ec, &ed], None);
        assert_eq!(check(&v, &sign(&ed, claims(&[]))).await.unwrap().0.user_id, "f81d4fae-7dec");
        assert_eq!(check(&v, &sign(&ec, claims(&[]))).await.unwrap().0.user_id, "f81d4fae-7dec");
        // An EdDSA token naming the EC key's kid finds no key for its algorithm.
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some("ec".into());
        let token = encode(&header, &claims(&[]), &ed.encoding()).unwrap();
        assert_eq!(check(&v, &token).await.unwrap_err().code, "unauthenticated");
    }

    #[tokio::test]
    async fn wrong_issuer_audience_expiry_or_key_are_refused() {
        let key = test_key("k1");
        let stranger = test_key("k1");
        let v = verifier(&[&key], None);
        let with = |field: &str, value: Value| {
            let mut c = claims(&[]);
            c[field] = value;
            c
        };
        for (why, token) in [
            ("issuer", sign(&key, with("iss", json!("https://evil.example")))),
            ("audience", sign(&key, with("aud", json!("someone-else")))),
            ("expired", sign(&key, with("exp", json!(now() - 600)))),
            ("not yet", sign(&key, with("nbf", json!(now() + 600)))),
            ("stranger's key, same kid", sign(&stranger, claims(&[]))),
            ("no sub", sign(&key, with("sub", json!("")))),
        ] {
            let problem = check(&v, &token).await.unwrap_err();
            assert_eq!((problem.status.as_u16(), problem.code), (401, "unauthenticated"), "{why}: {}", problem.detail);
        }
        let mut unknown = Header::new(Algorithm::ES256);
        unknown.kid = Some("k9".into());
        let token = encode(&unknown, &claims(&[]), &key.encoding()).unwrap();
        assert!(check(&v, &token).await.unwrap_err().detail.contains("k9"));
    }

    #[tokio::test]
    async fn an_hmac_token_is_refused_even_if_signed_with_a_public_key() {
        // The classic confusion: HS256 "signed" with the IdP's public key material.
        let key = test_key("k1");
        let v = verifier(&[&key], None);
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("k1".into());
        let token = encode(
            &header,
            &claims(&[]),
            &EncodingKey::from_secret(key.jwk.common.key_id.as_ref().unwrap().as_bytes()),
        )
        .unwrap();
        let problem = check(&v, &token).await.unwrap_err();
        assert!(problem.detail.contains("not accepted"), "{}", problem.detail);
    }

    #[test]
    fn claim_paths_find_nested_and_namespaced_claims() {
        let c = json!({"realm_access": {"roles": ["a"]}, "https://example.com/roles": ["b"], "groups": "x y,z"});
        let c = c.as_object().unwrap();
        assert_eq!(roles(claim(c, "realm_access.roles")), vec!["a"]);
        assert_eq!(roles(claim(c, "https://example.com/roles")), vec!["b"]);
        assert_eq!(roles(claim(c, "groups")), vec!["x", "y", "z"]);
        assert!(claim(c, "realm_access.missing").is_none());
    }
}
