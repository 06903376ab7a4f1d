//! The identity provider's signing keys: fetched from its JWKS (by discovery, a URL or a
//! file), cached, refreshed, and fetched again when a token names a key we have not seen.
//!
//! The policy, in the order a request meets it (ADR 25):
//! - A known `kid` whose key set is fresh enough is used without any I/O.
//! - An unknown `kid` (the IdP rotated) fetches the set again, at most once per
//!   `refetch_min_interval_ms` for the whole node, one fetch at a time: a client sending
//!   made-up `kid`s costs the IdP one request per interval, not one per token. A request that
//!   meets the limit waits for it (at most the interval) and shares the next fetch, so a token
//!   under a key the IdP has just started using is accepted a moment late, never refused: a
//!   refusal would look the same as a forged token to the client.
//! - A background task refreshes the set every `refresh_every_ms`, so a key the IdP stopped
//!   publishing stops being accepted; while the IdP is unreachable the last set keeps being
//!   served, for at most `stale_max_ms` after its last successful fetch. After that every
//!   token is refused with 503 `identity_provider_unavailable` rather than trusting keys
//!   that may have been withdrawn long ago.
//!
//! Times come from the node's injected clock. Keys that could forge tokens under a public
//! algorithm are never taken from a key set: symmetric (`oct`) keys, encryption keys and
//! curves we do not verify are skipped.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use lockd_raft::clock::Clock;
use serde::Deserialize;

use crate::limits;

/// Where the key set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksLocation {
    /// `{issuer}/.well-known/openid-configuration`, then its `jwks_uri`.
    Discovery {
        issuer: String,
    },
    Url(String),
    /// A file in JWKS format, read again on every refresh (rotate by replacing it).
    File(PathBuf),
}

/// Fetches a key set. The production sources speak HTTP or read a file; tests plug in their own.
pub trait JwksSource: Send + Sync + 'static {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send + '_>>;
}

/// The timing policy of [`KeyCache`]; `Default` has the documented values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    pub refetch_min_interval_ms: u64,
    pub refresh_every_ms: u64,
    pub stale_max_ms: u64,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            refetch_min_interval_ms: limits::JWKS_REFETCH_MIN_INTERVAL_MS,
            refresh_every_ms: limits::JWKS_REFRESH_EVERY_MS,
            stale_max_ms: limits::JWKS_STALE_MAX_MS,
        }
    }
}

/// One verification key and the algorithms it may verify.
pub struct VerifyingKey {
    pub kid: Option<String>,
    pub key: DecodingKey,
    pub algorithms: Vec<Algorithm>,
}

/// Why no key could be found for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The set is fresh and holds no key for this `kid` and algorithm.
    Unknown(String),
    /// No usable set: never fetched, or last fetched longer ago than allowed.
    Unavailable(String),
}

#[derive(Default)]
struct Keys {
    keys: Vec<Arc<VerifyingKey>>,
    /// When the set was last fetched successfully.
    fetched_at_ms: Option<u64>,
    /// When a fetch was last started, successful or not.
    attempted_at_ms: Option<u64>,
    last_error: Option<String>,
}

pub struct KeyCache {
    source: Box<dyn JwksSource>,
    clock: Arc<dyn Clock>,
    policy: CachePolicy,
    keys: RwLock<Keys>,
    /// Held while a fetch runs: concurrent misses wait for it instead of fetching again.
    fetching: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub fn new(source: Box<dyn JwksSource>, clock: Arc<dyn Clock>, policy: CachePolicy) -> Self {
        KeyCache { source, clock, policy, keys: RwLock::default(), fetching: tokio::sync::Mutex::new(()) }
    }

    /// The key that verifies a token with this header's `kid` and `alg`.
    pub async fn key_for(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<VerifyingKey>, KeyError> {
        if let Some(key) = self.lookup(kid, alg) {
            return Ok(key);
        }
        let wait_ms = self.until_refetch_allowed_ms();
        if wait_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
            // Another request may have fetched while this one waited.
            if let Some(key) = self.lookup(kid, alg) {
                return Ok(key);
            }
        }
        self.refetch_if_due().await;
        if let Some(key) = self.lookup(kid, alg) {
            return Ok(key);
        }
        let keys = self.keys.read().expect("not poisoned");
        if !self.is_fresh(&keys) {
            let why = keys.last_error.clone().unwrap_or_else(|| "its keys have not been fetched yet".into());
            return Err(KeyError::Unavailable(why));
        }
        Err(KeyError::Unknown(match kid {
            Some(kid) => format!("no {alg:?} key with kid `{kid}` in the identity provider's key set"),
            None => format!("the token names no kid and the key set has no single {alg:?} key"),
        }))
    }

    /// Fetches the set now (the periodic refresh and start-up), whatever the rate limit says.
    pub async fn refresh(&self) -> Result<(), String> {
        let _fetching = self.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Keeps the set fresh until the task is dropped: every `refresh_every_ms` while fetches
    /// succeed, every `refetch_min_interval_ms` while they fail.
    pub async fn refresh_forever(self: Arc<Self>) {
        loop {
            let wait_ms = match self.refresh().await {
                Ok(()) => self.policy.refresh_every_ms,
                Err(e) => {
                    tracing::warn!(error = %e, "fetching the identity provider's keys failed");
                    self.policy.refetch_min_interval_ms.min(self.policy.refresh_every_ms)
                }
            };
            tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
        }
    }

    /// Seconds since the keys were last fetched, for `/metrics` and logs; None before the first.
    pub fn age_ms(&self) -> Option<u64> {
        let keys = self.keys.read().expect("not poisoned");
        keys.fetched_at_ms.map(|at| self.clock.now_ms().saturating_sub(at))
    }

    fn is_fresh(&self, keys: &Keys) -> bool {
        keys.fetched_at_ms.is_some_and(|at| self.clock.now_ms().saturating_sub(at) <= self.policy.stale_max_ms)
    }

    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        let keys = self.keys.read().expect("not poisoned");
        if !self.is_fresh(&keys) {
            return None;
        }
        let mut fitting = keys.keys.iter().filter(|k| k.algorithms.contains(&alg));
        match kid {
            Some(kid) => fitting.find(|k| k.kid.as_deref() == Some(kid)).cloned(),
            // No kid: only if exactly one key could have signed it.
            None => match (fitting.next(), fitting.next()) {
                (Some(only), None) => Some(only.clone()),
                _ => None,
            },
        }
    }

    /// How long until the rate limit allows the next fetch (0: now).
    fn until_refetch_allowed_ms(&self) -> u64 {
        let keys = self.keys.read().expect("not poisoned");
        keys.attempted_at_ms
            .map_or(0, |at| (at + self.policy.refetch_min_interval_ms).saturating_sub(self.clock.now_ms()))
    }

    async fn refetch_if_due(&self) {
        let due = |keys: &Keys| {
            keys.attempted_at_ms
                .is_none_or(|at| self.clock.now_ms().saturating_sub(at) >= self.policy.refetch_min_interval_ms)
        };
        if !due(&self.keys.read().expect("not poisoned")) {
            return;
        }
        let _fetching = self.fetching.lock().await;
        // Another request may have fetched while this one waited.
        if due(&self.keys.read().expect("not poisoned")) {
            let _ = self.fetch_locked().await;
        }
    }

    async fn fetch_locked(&self) -> Result<(), String> {
        self.keys.write().expect("not poisoned").attempted_at_ms = Some(self.clock.now_ms());
        let fetched = self.source.fetch().await.and_then(|set| {
            let usable: Vec<_> = set.keys.iter().filter_map(verifying_key).map(Arc::new).collect();
            if usable.is_empty() {
                Err(format!("the key set holds no usable signing key ({} keys)", set.keys.len()))
            } else {
                Ok(usable)
            }
        });
        let mut keys = self.keys.write().expect("not poisoned");
        match fetched {
            Ok(usable) => {
                tracing::debug!(keys = usable.len(), "fetched the identity provider's keys");
                keys.keys = usable;
                keys.fetched_at_ms = Some(self.clock.now_ms());
                keys.last_error = None;
                Ok(())
            }
            Err(e) => {
                keys.last_error = Some(format!("the identity provider's keys could not be fetched: {e}"));
                Err(e)
            }
        }
    }
}

const RSA_ALGORITHMS: &[Algorithm] =
    &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512];

/// Whether a key from a public key set may verify `alg`: never `none`, never HS* (a shared
/// secret is not what a public key set can carry).
pub fn is_public_key_algorithm(alg: Algorithm) -> bool {
    RSA_ALGORITHMS.contains(&alg) || matches!(alg, Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA)
}

/// The key in `jwk` if it can verify signatures under an algorithm we accept.
fn verifying_key(jwk: &Jwk) -> Option<VerifyingKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let by_type: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => RSA_ALGORITHMS,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[Algorithm::ES256],
            EllipticCurve::P384 => &[Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => &[Algorithm::EdDSA],
        // Symmetric keys would let anyone who reads the set sign tokens.
        _ => return None,
    };
    let algorithms: Vec<Algorithm> = match jwk.common.key_algorithm {
        None => by_type.to_vec(),
        Some(declared) => by_type.iter().copied().filter(|a| same_algorithm(*a, declared)).collect(),
    };
    if algorithms.is_empty() {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(VerifyingKey { kid: jwk.common.key_id.clone(), key, algorithms })
}

fn same_algorithm(alg: Algorithm, declared: KeyAlgorithm) -> bool {
    format!("{alg:?}") == format!("{declared:?}")
}

/// The production source: HTTP(S) for discovery and URLs, the file system for files.
pub struct FetchedJwks {
    location: JwksLocation,
    http: reqwest::Client,
}

impl FetchedJwks {
    /// `extra_root_pem`: a CA to trust beside the system's (an IdP with a private CA).
    pub fn new(location: JwksLocation, extra_root_pem: Option<&[u8]>) -> Result<Self, String> {
        let mut http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(limits::JWKS_FETCH_TIMEOUT_MS))
            .connect_timeout(std::time::Duration::from_millis(limits::JWKS_FETCH_TIMEOUT_MS))
            .redirect(reqwest::redirect::Policy::limited(3));
        if let Some(pem) = extra_root_pem {
            for cert in reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("the CA file: {e}"))? {
                http = http.add_root_certificate(cert);
            }
        }
        Ok(FetchedJwks { location, http: http.build().map_err(|e| e.to_string())? })
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self.http.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("GET {url}: {}", response.status()));
        }
        let body = response.bytes().await.map_err(|e| format!("GET {url}: {e}"))?;
        if body.len() > limits::JWKS_BYTES_MAX {
            return Err(format!("GET {url}: larger than {} bytes", limits::JWKS_BYTES_MAX));
        }
        serde_json::from_slice(&body).map_err(|e| format!("GET {url}: {e}"))
    }

    async fn fetch_now(&self) -> Result<JwkSet, String> {
        match &self.location {
            JwksLocation::Discovery { issuer } => {
                #[derive(Deserialize)]
                struct Discovery {
                    issuer: String,
                    jwks_uri: String,
                }
                let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
                let discovery: Discovery = self.get_json(&url).await?;
                // OpenID Connect Discovery 1.0, section 4.3.
                if discovery.issuer != *issuer {
                    return Err(format!("{url} names issuer `{}`, not `{issuer}`", discovery.issuer));
                }
                self.get_json(&discovery.jwks_uri).await
            }
            JwksLocation::Url(url) => self.get_json(url).await,
            JwksLocation::File(path) => {
                let text = tokio::fs::read(path).await.map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
            }
        }
    }
}

impl JwksSource for FetchedJwks {
    fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send + '_>> {
        Box::pin(self.fetch_now())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    /// The node's clock as tokio's (paused in these tests): a wait for the rate limit passes
    /// in no real time, and `tokio::time::advance` moves both.
    struct TokioClock(tokio::time::Instant);
    impl Clock for TokioClock {
        fn now_ms(&self) -> u64 {
            1_000_000 + self.0.elapsed().as_millis() as u64
        }
    }

    fn clock() -> Arc<TokioClock> {
        Arc::new(TokioClock(tokio::time::Instant::now()))
    }

    async fn advance_ms(ms: u64) {
        tokio::time::advance(std::time::Duration::from_millis(ms)).await;
    }

    /// A source whose answer the test sets, counting fetches.
    #[derive(Clone)]
    struct FakeSource {
        answer: Arc<Mutex<Result<JwkSet, String>>>,
        fetches: Arc<AtomicU64>,
    }
    impl FakeSource {
        fn new() -> Self {
            FakeSource { answer: Arc::new(Mutex::new(Err("not set".into()))), fetches: Arc::default() }
        }
    }
    impl JwksSource for FakeSource {
        fn fetch(&self) -> Pin<Box<dyn Future<Output = Result<JwkSet, String>> + Send + '_>> {
            self.fetches.fetch_add(1, Ordering::SeqCst);
            let answer = self.answer.lock().unwrap().clone();
            Box::pin(async move { answer })
        }
    }

    fn ec_key(kid: &str) -> Jwk {
        // A real P-256 public key (RFC 7515, appendix A.3).
        serde_json::from_value(serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
        }))
        .unwrap()
    }

    fn set(keys: Vec<Jwk>) -> Result<JwkSet, String> {
        Ok(JwkSet { keys })
    }

    fn cache(source: &FakeSource, clock: &Arc<TokioClock>) -> KeyCache {
        let policy =
            CachePolicy { refetch_min_interval_ms: 10_000, refresh_every_ms: 300_000, stale_max_ms: 3_600_000 };
        KeyCache::new(Box::new(source.clone()), clock.clone(), policy)
    }

    #[tokio::test(start_paused = true)]
    async fn an_unknown_kid_fetches_again_at_most_once_per_interval() {
        let clock = clock();
        let source = FakeSource::new();
        *source.answer.lock().unwrap() = set(vec![ec_key("k1")]);
        let cache = Arc::new(cache(&source, &clock));
        cache.refresh().await.unwrap();
        assert!(cache.key_for(Some("k1"), Algorithm::ES256).await.is_ok());
        assert_eq!(source.fetches.load(Ordering::SeqCst), 1, "a known kid costs no fetch");

        // The IdP rotates right after a fetch: the token under the new key waits for the
        // rate limit and is accepted, not refused.
        advance_ms(1_000).await;
        *source.answer.lock().unwrap() = set(vec![ec_key("k2"), ec_key("k1")]);
        let started = tokio::time::Instant::now();
        assert!(cache.key_for(Some("k2"), Algorithm::ES256).await.is_ok());
        assert_eq!(started.elapsed().as_millis(), 9_000, "it waited out the rest of the interval");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 2);

        // A flood of made-up kids at once shares one fetch after the interval.
        let flood = (0..100).map(|i| {
            let cache = cache.clone();
            async move { cache.key_for(Some(&format!("forged-{i}")), Algorithm::ES256).await }
        });
        let answers = futures::future::join_all(flood).await;
        let errors: Vec<Option<KeyError>> = answers.iter().map(|a| a.as_ref().err().cloned()).collect();
        assert!(errors.iter().all(|e| matches!(e, Some(KeyError::Unknown(_)))), "{errors:?}");
        assert_eq!(source.fetches.load(Ordering::SeqCst), 3, "100 unknown kids, one fetch");
        // One after another, they cost one fetch per interval.
        let started = tokio::time::Instant::now();
        for i in 0..3 {
            assert!(cache.key_for(Some(&format!("again-{i}")), Algorithm::ES256).await.is_err());
        }
        assert_eq!(source.fetches.load(Ordering::SeqCst), 6);
        assert!(started.elapsed().as_millis() >= 30_000);
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_keys_are_served_while_the_idp_is_down_for_a_bounded_time() {
        let clock = clock();
        let source = FakeSource::new();
        *source.answer.lock().unwrap() = set(vec![ec_key("k1")]);
        let cache = cache(&source, &clock);
        cache.refresh().await.unwrap();
        *source.answer.lock().unwrap() = Err("connection refused".into());
        advance_ms(3_600_000).await;
        assert!(cache.refresh().await.is_err());
        assert!(cache.key_for(Some("k1"), Algorithm::ES256).await.is_ok(), "stale but within the bound");
        advance_ms(1).await;
        let err = cache.key_for(Some("k1"), Algorithm::ES256).await.err().unwrap();
        assert!(matches!(&err, KeyError::Unavailable(why) if why.contains("connection refused")), "{err:?}");
        // The IdP comes back: the next due fetch serves again.
        advance_ms(10_000).await;
        *source.answer.lock().unwrap() = set(vec![ec_key("k1")]);
        assert!(cache.key_for(Some("k1"), Algorithm::ES256).await.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_key_the_idp_stops_publishing_stops_verifying_at_the_next_refresh() {
        let clock = clock();
        let source = FakeSource::new();
        *source.answer.lock().unwrap() = set(vec![ec_key("old"), ec_key("new")]);
        let cache = cache(&source, &clock);
        cache.refresh().await.unwrap();
        assert!(cache.key_for(Some("old"), Algorithm::ES256).await.is_ok());
        *source.answer.lock().unwrap() = set(vec![ec_key("new")]);
        cache.refresh().await.unwrap();
        assert!(matches!(cache.key_for(Some("old"), Algorithm::ES256).await, Err(KeyError::Unknown(_))));
    }

    #[test]
    fn symmetric_encryption_and_mismatched_keys_are_never_used() {
        let oct: Jwk = serde_json::from_value(serde_json::json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0"})).unwrap();
        assert!(verifying_key(&oct).is_none(), "an HMAC key in a public set would let anyone sign");
        let mut enc = ec_key("e");
        enc.common.public_key_use = Some(PublicKeyUse::Encryption);
        assert!(verifying_key(&enc).is_none());
        let mut declared_rsa = ec_key("d");
        declared_rsa.common.key_algorithm = Some(KeyAlgorithm::RS256);
        assert!(verifying_key(&declared_rsa).is_none(), "an EC key declared for RS256 fits nothing");
        let ok = verifying_key(&ec_key("k")).unwrap();
        assert_eq!(ok.algorithms, vec![Algorithm::ES256]);
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_kid_only_a_single_fitting_key_is_used() {
        let clock = clock();
        let source = FakeSource::new();
        *source.answer.lock().unwrap() = set(vec![ec_key("k1")]);
        let cache = cache(&source, &clock);
        cache.refresh().await.unwrap();
        assert!(cache.key_for(None, Algorithm::ES256).await.is_ok());
        assert!(cache.key_for(None, Algorithm::RS256).await.is_err(), "no RSA key");
        *source.answer.lock().unwrap() = set(vec![ec_key("k1"), ec_key("k2")]);
        cache.refresh().await.unwrap();
        assert!(cache.key_for(None, Algorithm::ES256).await.is_err(), "two could have signed it");
    }
}
