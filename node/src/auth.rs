//! How this node accepts user tokens, from the flags: HS256 under the shared secret, an
//! OpenID Connect identity provider, or both (ADR 25).

use std::sync::Arc;

use anyhow::{Context, bail};
use lockd_api::auth::jwks::{CachePolicy, FetchedJwks, JwksLocation, KeyCache};
use lockd_api::auth::oidc::{ClaimMapping, OidcSettings, OidcVerifier};
use lockd_api::auth::{Authenticator, JwtKeys};
use lockd_raft::clock::Clock;

use crate::config::{Args, read_secret};

/// The authenticator, and the IdP's key cache to keep fresh (None without an IdP).
pub fn authenticator(args: &Args, clock: Arc<dyn Clock>) -> anyhow::Result<(Authenticator, Option<Arc<KeyCache>>)> {
    let secret_given = args.jwt_secret.is_some() || args.jwt_secret_file.is_some();
    let shared_secret = if secret_given || args.dev || args.oidc_issuer.is_none() {
        let secret = read_secret(&args.jwt_secret, &args.jwt_secret_file, "jwt-secret")?;
        let keys = JwtKeys::from_secret(secret.as_bytes());
        Some(Arc::new(if args.dev { keys.accepting_dev_tokens() } else { keys }))
    } else {
        None
    };
    let Some(issuer) = &args.oidc_issuer else {
        return Ok((Authenticator::shared_secret(shared_secret.expect("required without an IdP")), None));
    };
    let issuer = issuer.trim().to_owned();
    if !(issuer.starts_with("https://") || issuer.starts_with("http://")) {
        bail!("--oidc-issuer must be an http(s) URL, not {issuer:?}");
    }
    if issuer.starts_with("http://") && !is_loopback_url(&issuer) {
        bail!("--oidc-issuer must use https (plain http only on loopback, for tests)");
    }
    let audience = args.oidc_audience.clone().context("--oidc-audience is required with --oidc-issuer")?;
    let location = match (&args.oidc_jwks_url, &args.oidc_jwks_file) {
        (Some(url), _) => JwksLocation::Url(url.clone()),
        (None, Some(path)) => JwksLocation::File(path.clone()),
        (None, None) => JwksLocation::Discovery { issuer: issuer.clone() },
    };
    let ca = match &args.oidc_ca_file {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?),
        None => None,
    };
    let source = FetchedJwks::new(location, ca.as_deref()).map_err(|e| anyhow::anyhow!("--oidc-ca-file: {e}"))?;
    let keys = Arc::new(KeyCache::new(Box::new(source), clock, CachePolicy::default()));
    let settings = OidcSettings {
        issuer,
        audience,
        claims: ClaimMapping {
            name: args.oidc_name_claim.clone(),
            email: args.oidc_email_claim.clone(),
            roles: args.oidc_roles_claim.clone(),
            admin_role: args.oidc_admin_role.clone(),
            user_role: args.oidc_user_role.clone(),
        },
        web_client_id: args.oidc_client_id.clone(),
        web_scopes: args.oidc_scopes.clone(),
    };
    Ok((Authenticator::oidc(OidcVerifier::new(settings, keys.clone()), shared_secret), Some(keys)))
}

fn is_loopback_url(url: &str) -> bool {
    let host = url.split("://").nth(1).unwrap_or_default().split(['/', ':']).next().unwrap_or_default();
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
