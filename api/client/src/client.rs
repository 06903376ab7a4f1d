//! The client: one session (a "tab" in the API's words) of one caller, talking to any node of
//! a cluster. Writes go to the leader when the client knows it (no forward hop), to the next
//! node when one fails, and each write carries one idempotency key over all its tries, so a
//! retried write is applied once and answered as the first try would have been.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::lease::{Lease, Renew, Renewal};
use crate::transport::{Answer, Transport};
use crate::types::{
    Appointment, AppointmentInput, AppointmentList, ClusterStatus, LockGranted, LockStatus, Problem, Queued,
};

/// Where requests go first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// To the leader, learned from `/cluster/status` and again after a failure: a write
    /// saves the hop a follower would forward it over. The default.
    Leader,
    /// To this node (an index into the URLs) until it fails; the node forwards writes to the
    /// leader. What a browser does, and what the benchmark measures as "through any node".
    Through(usize),
}

/// Why a call did not give its answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster answered with a problem (`problem.code` says which).
    #[error("{} {}: {}", problem.status, problem.code, problem.detail)]
    Api { problem: Box<Problem> },
    /// No node gave an answer in any try. A write may or may not have been applied: retry it
    /// with the same idempotency key (`Client` does, within its tries) to find out.
    #[error("no answer after {tries} tries: {last}")]
    Unavailable { tries: usize, last: String },
    /// An answer this client does not understand (a newer or a different server).
    #[error("unexpected answer {status}: {body}")]
    Unexpected { status: u16, body: String },
    /// A bad argument, refused before anything was sent.
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The problem's stable code, when the cluster answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { problem } => Some(&problem.code),
            _ => None,
        }
    }
}

/// What an acquire got.
#[derive(Debug, Clone)]
#[expect(clippy::large_enum_variant, reason = "returned once per call and matched at once: no box to unwrap")]
pub enum Acquired {
    /// The lock is this session's, under `granted.fencing_token`.
    Granted(LockGranted),
    /// Held by someone else; with `wait`, this session is queued.
    Queued(Queued),
    /// Held by someone else (the problem carries the current lock).
    Held(Box<Problem>),
}

/// What a release found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Released, or it was already free.
    Released,
    /// Not this session's any more (its lease lapsed, or it was taken over): nothing changed.
    NotHolder,
}

/// How a client is built; `Client::builder(urls)` starts one.
pub struct ClientBuilder {
    urls: Vec<String>,
    bearer: Option<Arc<dyn Fn() -> String + Send + Sync>>,
    session_id: Option<String>,
    routing: Routing,
    tries: usize,
    request_timeout: Duration,
    retry_pause: Duration,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl ClientBuilder {
    /// A fixed bearer token.
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        let token: String = token.into();
        self.bearer = Some(Arc::new(move || token.clone()));
        self
    }

    /// A token provider, asked before every request: hand it the latest token your identity
    /// provider issued (it must not block).
    pub fn bearer_provider(mut self, provider: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.bearer = Some(Arc::new(provider));
        self
    }

    /// The session id (`X-Session-Id`): the lock belongs to a session, not to a user. One
    /// is made up when none is given.
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    pub fn routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// How many times a call is sent before it gives up: after no answer or `503`/`421`
    /// through the next node, after a `429` through the same one once the wait it asks for
    /// (at most 2 s) is over. At least 1; 3 by default.
    pub fn tries(mut self, tries: usize) -> Self {
        self.tries = tries.max(1);
        self
    }

    /// How long one try may take. 5 s by default.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The pause after every node failed once, before the next round. 100 ms by default.
    pub fn retry_pause(mut self, pause: Duration) -> Self {
        self.retry_pause = pause;
        self
    }

    /// HTTPS with this configuration (the URLs must be `https://`).
    pub fn tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        if self.urls.is_empty() {
            return Err(Error::Invalid("a client needs at least one node URL".into()));
        }
        let mut authorities = Vec::new();
        for url in &self.urls {
            let (scheme, authority) = url
                .trim_end_matches('/')
                .split_once("://")
                .ok_or_else(|| Error::Invalid(format!("{url}: not an http:// or https:// URL")))?;
            match (scheme, self.tls.is_some()) {
                ("http", false) | ("https", true) => {}
                ("https", false) => return Err(Error::Invalid(format!("{url}: https needs ClientBuilder::tls"))),
                _ => return Err(Error::Invalid(format!("{url}: the scheme must be http, or https with tls"))),
            }
            if authority.is_empty() || authority.contains('/') {
                return Err(Error::Invalid(format!("{url}: give the node's base URL, without a path")));
            }
            authorities.push(authority.to_owned());
        }
        let bearer = self.bearer.ok_or_else(|| Error::Invalid("a client needs a bearer token".into()))?;
        let session_id = self.session_id.unwrap_or_else(|| format!("lockd-client-{}", uuid::Uuid::new_v4().simple()));
        let preferred = match self.routing {
            Routing::Leader => UNKNOWN,
            Routing::Through(node) if node < authorities.len() => node,
            Routing::Through(node) => {
                return Err(Error::Invalid(format!("no node {node} among {}", authorities.len())));
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                transport: Transport::new(authorities, self.tls, self.request_timeout),
                bearer,
                session_id,
                routing: self.routing,
                tries: self.tries,
                retry_pause: self.retry_pause,
                preferred: AtomicUsize::new(preferred),
            }),
        })
    }
}

/// No node preferred yet (the leader is not known).
const UNKNOWN: usize = usize::MAX;

/// A session's client of a cluster. Cheap to clone: clones share connections and session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    bearer: Arc<dyn Fn() -> String + Send + Sync>,
    session_id: String,
    routing: Routing,
    tries: usize,
    retry_pause: Duration,
    /// The node tried first: the leader (`Routing::Leader`) or the last node that answered.
    preferred: AtomicUsize,
}

/// One request, as the retry loop sends it again.
struct Call {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    headers: Vec<(&'static str, String)>,
    /// A write: one idempotency key for all its tries.
    idempotency_key: Option<String>,
}

impl Call {
    fn read(path: String) -> Self {
        Call { method: Method::GET, path, body: None, headers: Vec::new(), idempotency_key: None }
    }

    fn write(method: Method, path: String, body: Option<Vec<u8>>) -> Self {
        Call { method, body, idempotency_key: Some(uuid::Uuid::new_v4().simple().to_string()), ..Call::read(path) }
    }

    fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// Options of an acquire.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcquireOptions {
    /// Join the queue when the lock is held (the answer is then `Acquired::Queued`).
    pub wait: bool,
    /// The lease, 1 s to 5 min; the cluster's default (5 min) when `None`.
    pub ttl_ms: Option<u64>,
}

impl Client {
    /// A client of the cluster whose nodes answer at `urls` (`http://host:port`, any order).
    pub fn builder<S: Into<String>>(urls: impl IntoIterator<Item = S>) -> ClientBuilder {
        ClientBuilder {
            urls: urls.into_iter().map(Into::into).collect(),
            bearer: None,
            session_id: None,
            routing: Routing::Leader,
            tries: 3,
            request_timeout: Duration::from_secs(5),
            retry_pause: Duration::from_millis(100),
            tls: None,
        }
    }

    pub fn session_id(&self) -> &str {
        &self.inner.session_id
    }

    /// How many nodes the client knows.
    pub fn nodes(&self) -> usize {
        self.inner.transport.nodes()
    }

    /// Sends the next calls to `node` first (an index into the URLs). With `Routing::Leader`
    /// the client goes back to the leader once it learns it again.
    pub fn prefer_node(&self, node: usize) {
        self.inner.preferred.store(node % self.nodes(), Ordering::Relaxed);
    }

    // --- Locks -------------------------------------------------------------------------

    /// Asks for the lock of `appointment_id`.
    pub async fn acquire(&self, appointment_id: &str, options: AcquireOptions) -> Result<Acquired, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body {
            wait: bool,
            #[serde(skip_serializing_if = "Option::is_none")]
            ttl_ms: Option<u64>,
        }
        let body = json(&Body { wait: options.wait, ttl_ms: options.ttl_ms })?;
        let call = Call::write(Method::POST, lock_path(appointment_id, "acquire-lock")?, Some(body));
        let answer = self.send(call).await?;
        match answer.status {
            StatusCode::OK => Ok(Acquired::Granted(parse(&answer)?)),
            StatusCode::ACCEPTED => Ok(Acquired::Queued(parse(&answer)?)),
            _ => match problem(answer) {
                Error::Api { problem } if problem.code == "lock_held" => Ok(Acquired::Held(problem)),
                error => Err(error),
            },
        }
    }

    /// Renews this session's lease (activity: the lock lapses after its ttl without one).
    /// A lock that is no longer this session's answers `Error::Api` with `not_holder`.
    pub async fn heartbeat(&self, appointment_id: &str) -> Result<LockGranted, Error> {
        let call = Call::write(Method::POST, lock_path(appointment_id, "heartbeat")?, None);
        let answer = self.send(call).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    /// Lets go of the lock granted under `fencing_token`.
    pub async fn release(&self, appointment_id: &str, fencing_token: u64) -> Result<Released, Error> {
        let call = Call::write(Method::DELETE, lock_path(appointment_id, "release-lock")?, None)
            .header("x-fencing-token", fencing_token.to_string());
        let answer = self.send(call).await?;
        match answer.status {
            StatusCode::NO_CONTENT => Ok(Released::Released),
            StatusCode::CONFLICT => Ok(Released::NotHolder),
            _ => Err(problem(answer)),
        }
    }

    /// Takes the lock from its holder (admins only; audited with `reason`). With
    /// `expected_fencing_token`, only if the lock is still the one the caller saw.
    pub async fn takeover(
        &self,
        appointment_id: &str,
        reason: &str,
        expected_fencing_token: Option<u64>,
    ) -> Result<LockGranted, Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            reason: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            expected_fencing_token: Option<u64>,
        }
        let body = json(&Body { reason, expected_fencing_token })?;
        let call = Call::write(Method::POST, lock_path(appointment_id, "takeover")?, Some(body));
        let answer = self.send(call).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    /// The lock and queue of `appointment_id`, as of every write this session saw.
    pub async fn lock_status(&self, appointment_id: &str) -> Result<LockStatus, Error> {
        let answer = self.send(Call::read(lock_path(appointment_id, "lock-status")?)).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    /// Keeps the lease of `granted` alive until the returned `Lease` is released or dropped,
    /// and says when it is at risk or lost (see `Lease`). `sent_at` is when the acquire was
    /// first sent: the lease is counted from then, which can only make it end early.
    pub fn keep_alive(&self, granted: &LockGranted, sent_at: tokio::time::Instant) -> Lease {
        let renewer = HeartbeatRenewer {
            client: self.clone(),
            appointment_id: granted.lock.appointment_id.clone(),
            fencing_token: granted.fencing_token,
        };
        Lease::start(
            self.clone(),
            granted.lock.appointment_id.clone(),
            granted.fencing_token,
            Duration::from_millis(granted.lock.ttl_ms),
            sent_at,
            renewer,
        )
    }

    // --- Appointments ----------------------------------------------------------------------

    pub async fn list(&self) -> Result<AppointmentList, Error> {
        let answer = self.send(Call::read("/appointments".into())).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    pub async fn get(&self, appointment_id: &str) -> Result<Appointment, Error> {
        let answer = self.send(Call::read(appointment_path(appointment_id)?)).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    pub async fn create(&self, input: &AppointmentInput) -> Result<Appointment, Error> {
        let answer = self.send(Call::write(Method::POST, "/appointments".into(), Some(json(input)?))).await?;
        match answer.status {
            StatusCode::CREATED => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    /// Saves `input` over version `expected_version`, under the lock granted as
    /// `fencing_token`. A stale version answers `version_conflict`; a stale token
    /// `stale_token`.
    pub async fn update(
        &self,
        appointment_id: &str,
        expected_version: u64,
        fencing_token: u64,
        input: &AppointmentInput,
    ) -> Result<Appointment, Error> {
        let call = Call::write(Method::PUT, appointment_path(appointment_id)?, Some(json(input)?))
            .header("if-match", format!("\"{expected_version}\""))
            .header("x-fencing-token", fencing_token.to_string());
        let answer = self.send(call).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    // --- Cluster -----------------------------------------------------------------------------

    /// What node `node` (an index into the URLs) knows of the cluster.
    pub async fn cluster_status(&self, node: usize) -> Result<ClusterStatus, Error> {
        let answer = self.send_once(node, Call::read("/cluster/status".into())).await?;
        match answer.status {
            StatusCode::OK => parse(&answer),
            _ => Err(problem(answer)),
        }
    }

    /// Whether node `node` is ready (`/readyz`): it knows a leader and has caught up.
    pub async fn ready(&self, node: usize) -> Result<bool, Error> {
        let answer = self.send_once(node, Call::read("/readyz".into())).await?;
        match answer.status {
            StatusCode::OK => Ok(true),
            StatusCode::SERVICE_UNAVAILABLE => Ok(false),
            _ => Err(problem(answer)),
        }
    }

    /// Node `node`'s metrics (`/metrics`), as the OpenMetrics text it serves.
    pub async fn metrics(&self, node: usize) -> Result<String, Error> {
        let answer = self.send_once(node, Call::read("/metrics".into())).await?;
        match answer.status {
            StatusCode::OK => Ok(String::from_utf8_lossy(&answer.body).into_owned()),
            _ => Err(problem(answer)),
        }
    }

    /// One try through node `node`, whatever the routing.
    async fn send_once(&self, node: usize, call: Call) -> Result<Answer, Error> {
        let node = node % self.nodes();
        let request = self.request(&call, node)?;
        let sent = self.inner.transport.send(node, request).await;
        sent.map_err(|last| Error::Unavailable { tries: 1, last: format!("node {node}: {last}") })
    }

    // --- Sending ------------------------------------------------------------------------------

    /// Sends `call` up to `tries` times, each try through the next node.
    async fn send(&self, call: Call) -> Result<Answer, Error> {
        let tries = self.inner.tries;
        let mut node = self.first_node().await;
        let mut last = String::new();
        let mut failed_nodes = 0;
        for attempt in 0..tries {
            let answer = match self.inner.transport.send(node, self.request(&call, node)?).await {
                Ok(answer) => answer,
                Err(error) => {
                    last = format!("node {node}: {error}");
                    node = self.next_node_after_failure(node, &mut failed_nodes).await;
                    continue;
                }
            };
            let last_try = attempt + 1 == tries;
            if answer.status == StatusCode::TOO_MANY_REQUESTS && !last_try {
                // Refused before anything was applied: wait as asked, then the same node again.
                last = format!("node {node}: rate limited");
                tokio::time::sleep(retry_after(&answer)).await;
            } else if worth_another_node(answer.status) && !last_try {
                last = format!("node {node}: {}", String::from_utf8_lossy(&answer.body));
                node = self.next_node_after_failure(node, &mut failed_nodes).await;
            } else {
                if !worth_another_node(answer.status) {
                    self.inner.preferred.store(node, Ordering::Relaxed);
                }
                return Ok(answer);
            }
        }
        Err(Error::Unavailable { tries, last })
    }

    /// The node after `node` failed; a pause once every node failed in turn.
    async fn next_node_after_failure(&self, node: usize, failed_nodes: &mut usize) -> usize {
        // The leader may have moved: learn it again before the next call.
        if self.inner.routing == Routing::Leader {
            self.inner.preferred.store(UNKNOWN, Ordering::Relaxed);
        }
        *failed_nodes += 1;
        if failed_nodes.is_multiple_of(self.nodes()) {
            tokio::time::sleep(self.inner.retry_pause).await;
        }
        (node + 1) % self.nodes()
    }

    /// The node to try first: the preferred one, or the leader learned now.
    async fn first_node(&self) -> usize {
        let preferred = self.inner.preferred.load(Ordering::Relaxed);
        if preferred != UNKNOWN {
            return preferred;
        }
        // Any node names the leader; ask each in turn until one does.
        for node in 0..self.nodes() {
            if let Ok(status) = self.cluster_status(node).await
                && let Some(leader) = self.leader_among_urls(&status)
            {
                self.inner.preferred.store(leader, Ordering::Relaxed);
                return leader;
            }
        }
        0
    }

    /// The index of the leader's URL, when the leader's HTTP address is one of them.
    fn leader_among_urls(&self, status: &ClusterStatus) -> Option<usize> {
        let leader = status.members.iter().find(|m| Some(m.node_id) == status.leader_id)?;
        (0..self.nodes()).find(|&node| self.inner.transport.authority(node) == leader.http_addr)
    }

    fn request(&self, call: &Call, node: usize) -> Result<Request<Full<Bytes>>, Error> {
        let mut request = Request::builder()
            .method(call.method.clone())
            .uri(&call.path)
            .header(header::HOST, self.inner.transport.authority(node))
            .header(header::AUTHORIZATION, format!("Bearer {}", (self.inner.bearer)()))
            .header("x-session-id", &self.inner.session_id);
        if let Some(key) = &call.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if call.body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let body = call.body.clone().map_or_else(Bytes::new, Bytes::from);
        request.body(Full::new(body)).map_err(|e| Error::Invalid(format!("building the request: {e}")))
    }
}

/// The longest a call waits out a rate limit before its next try.
const RATE_LIMIT_WAIT_MAX: Duration = Duration::from_secs(2);

/// How long a 429 asks to wait (`retryAfterMs` in the problem), within bounds.
fn retry_after(answer: &Answer) -> Duration {
    let asked = serde_json::from_slice::<Problem>(&answer.body)
        .ok()
        .and_then(|p| p.extra.get("retryAfterMs")?.as_u64())
        .unwrap_or(100);
    Duration::from_millis(asked).clamp(Duration::from_millis(10), RATE_LIMIT_WAIT_MAX)
}

/// Answers that another node may answer better: no leader known (503), or not this node's
/// to do (421). Every other answer is the cluster's word on the call.
fn worth_another_node(status: StatusCode) -> bool {
    status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::MISDIRECTED_REQUEST
}

/// Ids travel in the path: refuse what the server would refuse anyway, and what would
/// change the path's meaning, before sending.
fn appointment_path(appointment_id: &str) -> Result<String, Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '@' | ':' | '-');
    if appointment_id.is_empty()
        || appointment_id.len() > 64
        || !appointment_id.chars().all(allowed)
        || appointment_id.chars().all(|c| c == '.')
    {
        return Err(Error::Invalid(format!("{appointment_id:?} is not an appointment id")));
    }
    Ok(format!("/appointments/{appointment_id}"))
}

fn lock_path(appointment_id: &str, action: &str) -> Result<String, Error> {
    Ok(format!("{}/{action}", appointment_path(appointment_id)?))
}

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Invalid(e.to_string()))
}

fn parse<T: DeserializeOwned>(answer: &Answer) -> Result<T, Error> {
    serde_json::from_slice(&answer.body).map_err(|e| Error::Unexpected {
        status: answer.status.as_u16(),
        body: format!("{e}: {}", String::from_utf8_lossy(&answer.body)),
    })
}

fn problem(answer: Answer) -> Error {
    match serde_json::from_slice::<Problem>(&answer.body) {
        Ok(problem) => Error::Api { problem: Box::new(problem) },
        Err(_) => Error::Unexpected {
            status: answer.status.as_u16(),
            body: String::from_utf8_lossy(&answer.body).into_owned(),
        },
    }
}

/// Renews a lease by heartbeats of the session that holds it.
struct HeartbeatRenewer {
    client: Client,
    appointment_id: String,
    fencing_token: u64,
}

impl Renew for HeartbeatRenewer {
    async fn renew(&self) -> Renewal {
        match self.client.heartbeat(&self.appointment_id).await {
            Ok(granted) if granted.fencing_token == self.fencing_token => {
                Renewal::Renewed { ttl: Duration::from_millis(granted.lock.ttl_ms) }
            }
            // The session holds the lock again, under a later token: not this lease.
            Ok(_) => Renewal::NotHolder,
            Err(error) if error.code() == Some("not_holder") => Renewal::NotHolder,
            Err(error) => Renewal::Failed(error.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_would_change_the_path_are_refused_before_sending() {
        assert_eq!(appointment_path("appt-1").unwrap(), "/appointments/appt-1");
        assert_eq!(lock_path("a@b:c.d_e", "heartbeat").unwrap(), "/appointments/a@b:c.d_e/heartbeat");
        for bad in ["", ".", "..", "a/b", "a?b", "a b", "é", &"x".repeat(65)] {
            assert!(appointment_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_builder_refuses_what_cannot_work() {
        let build = |urls: &[&str]| Client::builder(urls.iter().copied()).bearer("t").build();
        assert!(build(&[]).is_err());
        assert!(build(&["127.0.0.1:1"]).is_err(), "no scheme");
        assert!(build(&["https://127.0.0.1:1"]).is_err(), "https without tls");
        assert!(build(&["http://127.0.0.1:1/api"]).is_err(), "a path");
        assert!(Client::builder(["http://127.0.0.1:1"]).build().is_err(), "no token");
        let client = build(&["http://127.0.0.1:1/", "http://127.0.0.1:2"]).unwrap();
        assert_eq!(client.nodes(), 2);
        assert!(client.session_id().starts_with("lockd-client-"));
        let pinned = Client::builder(["http://127.0.0.1:1"]).bearer("t").routing(Routing::Through(1)).build();
        assert!(pinned.is_err(), "node 1 of 1");
    }

    #[test]
    fn only_no_leader_and_misdirected_answers_move_to_another_node() {
        assert!(worth_another_node(StatusCode::SERVICE_UNAVAILABLE));
        assert!(worth_another_node(StatusCode::MISDIRECTED_REQUEST));
        for final_answer in [StatusCode::OK, StatusCode::CONFLICT, StatusCode::UNPROCESSABLE_ENTITY, StatusCode::GONE] {
            assert!(!worth_another_node(final_answer));
        }
    }
}
