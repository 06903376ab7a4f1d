//! Simulated users. Each is a turmoil client host with one session (a browser tab) that talks
//! HTTP to its home node, and to another node when that one stops answering. They race for
//! a few appointments: acquire (some join the queue), renew, update with their token and
//! version, release or walk away, admins take over; they read lock status; they retry a
//! write that timed out with the same request id. Every answer goes to the checker.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use lockd_api::auth::{Identity, JwtKeys};
use lockd_raft::sm::Role;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use crate::checker::Checker;
use crate::clock::{EPOCH_MS, sim_elapsed_ms};
use crate::net::{HttpAnswer, send};

pub const HTTP_PORT: u16 = 8000;
/// A request that has not answered by then is retried (same request id) on another node.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
const ATTEMPTS_MAX: usize = 3;

pub struct User {
    pub index: usize,
    pub nodes: Vec<String>,
    pub appointments: usize,
    pub until_ms: u64,
    pub seed: u64,
    pub keys: Arc<JwtKeys>,
    pub checker: Arc<Checker>,
    /// The first user creates the appointments everyone races for.
    pub creates_appointments: bool,
}

/// What one user did, for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub requests: u64,
    pub retries: u64,
    pub unknown_outcomes: u64,
}

struct Session {
    user_id: String,
    session_id: String,
    /// Tabs this person has opened after the first ("continue here" moves the lock to one).
    tabs_opened: u32,
    token: String,
    role: Role,
    nodes: Vec<String>,
    home: usize,
    next_request: u64,
    rng: SmallRng,
    checker: Arc<Checker>,
    tally: Tally,
}

/// An answer the log decided (so its request must have been applied), as opposed to a
/// refusal at the edge or an unknown outcome.
fn decided(status: StatusCode) -> bool {
    matches!(status.as_u16(), 200 | 201 | 202 | 204 | 404 | 409)
}

impl Session {
    fn node(&self) -> &str {
        &self.nodes[self.home % self.nodes.len()]
    }

    fn session_key(&self) -> String {
        format!("{}/{}", self.user_id, self.session_id)
    }

    fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<&Value>,
    ) -> Request<Full<Bytes>> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!("http://{}:{HTTP_PORT}{path}", self.node()))
            .header("authorization", format!("Bearer {}", self.token))
            .header("x-session-id", &self.session_id)
            // Else the node draws a random trace id, which a forwarded write carries to the
            // leader in its gRPC metadata: an unseeded input with a varying encoded size.
            .header("x-request-id", format!("{}-{}", self.session_id, self.tally.requests));
        for (name, value) in headers {
            builder = builder.header(*name, value);
        }
        let body = match body {
            Some(body) => {
                builder = builder.header("content-type", "application/json");
                Bytes::from(body.to_string())
            }
            None => Bytes::new(),
        };
        builder.body(Full::new(body)).expect("well-formed request")
    }

    /// A write with a fresh request id, retried with the same id on a timeout or a lost
    /// connection. `None`: the outcome is unknown (it may or may not have applied).
    async fn write(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: Option<Value>,
    ) -> Option<HttpAnswer> {
        self.next_request += 1;
        let request_id = format!("r{}", self.next_request);
        let mut headers = headers.to_vec();
        headers.push(("idempotency-key", request_id.clone()));
        for attempt in 0..ATTEMPTS_MAX {
            if attempt > 0 {
                self.tally.retries += 1;
                self.home += 1;
            }
            self.tally.requests += 1;
            let request = self.request(method.clone(), path, &headers, body.as_ref());
            let answer = tokio::time::timeout(ATTEMPT_TIMEOUT, send(self.node(), HTTP_PORT, request)).await;
            match answer {
                Ok(Ok(answer)) if decided(answer.status) => {
                    let key = format!("{}/{request_id}", self.session_key());
                    self.checker.write_acked(&key, sim_elapsed_ms());
                    return Some(answer);
                }
                // 503 (no leader in time) and transport failures: same request id, again.
                Ok(Ok(_)) | Ok(Err(_)) | Err(_) => {}
            }
        }
        self.tally.unknown_outcomes += 1;
        None
    }

    /// A linearizable read; checks it reflects every write acknowledged before it began.
    async fn read(&mut self, path: &str) -> Option<Value> {
        let floor = self.checker.read_floor();
        self.tally.requests += 1;
        let request = self.request(Method::GET, path, &[], None);
        let answer = tokio::time::timeout(ATTEMPT_TIMEOUT, send(self.node(), HTTP_PORT, request)).await;
        match answer {
            Ok(Ok(answer)) if answer.status == StatusCode::OK => {
                if let Some(index) = answer.body.get("appliedIndex").and_then(Value::as_u64) {
                    self.checker.read_answered(floor, index, self.node());
                }
                Some(answer.body)
            }
            _ => {
                self.home += 1;
                None
            }
        }
    }

    async fn think(&mut self, min_ms: u64, max_ms: u64) {
        let ms = self.rng.random_range(min_ms..=max_ms);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Acquire, maybe edit, then release or walk away (the lease then expires).
    async fn edit(&mut self, appointment: &str) {
        let wait = self.rng.random_bool(0.3);
        let ttl_ms = self.rng.random_range(1_000..=4_000u64);
        let path = format!("/appointments/{appointment}/acquire-lock");
        let Some(answer) = self.write(Method::POST, &path, &[], Some(json!({ "wait": wait, "ttlMs": ttl_ms }))).await
        else {
            return;
        };
        if answer.status != StatusCode::OK {
            return;
        }
        let Some(token) = answer.body.get("fencingToken").and_then(Value::as_u64) else { return };
        self.checker.grant_acked(&self.session_key(), token);
        self.hold(appointment, token).await;
    }

    async fn hold(&mut self, appointment: &str, mut token: u64) {
        for _ in 0..self.rng.random_range(0..=2) {
            self.think(50, 600).await;
            match self.rng.random_range(0..9) {
                0..3 => {
                    let path = format!("/appointments/{appointment}/heartbeat");
                    self.write(Method::POST, &path, &[], None).await;
                }
                3 => match self.continue_in_another_tab(appointment, token).await {
                    Some(moved) => token = moved,
                    None => return,
                },
                _ => self.update(appointment, token).await,
            }
        }
        if self.rng.random_bool(0.75) {
            let path = format!("/appointments/{appointment}/release-lock");
            self.write(Method::DELETE, &path, &[("x-fencing-token", token.to_string())], None).await;
        }
    }

    /// A protected write with this session's token and the version it just read.
    async fn update(&mut self, appointment: &str, token: u64) {
        let Some(current) = self.read(&format!("/appointments/{appointment}")).await else { return };
        let Some(version) = current.get("version").and_then(Value::as_u64) else { return };
        // Sometimes a version that is already stale, as a slow tab would send.
        let sent_version = if self.rng.random_bool(0.1) { version.saturating_sub(1) } else { version };
        let body = json!({
            "title": format!("Visit {}", self.rng.random_range(0..1000)),
            "startsAt": "2027-02-01T09:00:00Z",
            "endsAt": "2027-02-01T10:00:00Z",
            "client": self.user_id,
            "location": "Room 1",
            "notes": "",
        });
        let headers = [("if-match", sent_version.to_string()), ("x-fencing-token", token.to_string())];
        self.write(Method::PUT, &format!("/appointments/{appointment}"), &headers, Some(body)).await;
    }

    /// The same person opens the appointment in a new tab and continues there: the lock moves
    /// to the new tab under a new token, and the old tab is left behind (closed). `None` when
    /// the lock did not move (it changed hands meanwhile, or the answer is unknown).
    async fn continue_in_another_tab(&mut self, appointment: &str, token: u64) -> Option<u64> {
        self.tabs_opened += 1;
        let first_tab = self.session_id.split('-').next().unwrap_or_default().to_owned();
        self.session_id = format!("{first_tab}-{}", self.tabs_opened);
        let path = format!("/appointments/{appointment}/continue-here");
        let answer = self.write(Method::POST, &path, &[], Some(json!({ "expectedFencingToken": token }))).await?;
        let moved =
            answer.body.get("fencingToken").and_then(Value::as_u64).filter(|_| answer.status == StatusCode::OK)?;
        self.checker.grant_acked(&self.session_key(), moved);
        Some(moved)
    }

    async fn take_over(&mut self, appointment: &str) {
        let status = self.read(&format!("/appointments/{appointment}/lock-status")).await;
        let expected = status.as_ref().and_then(|s| s.pointer("/lock/fencingToken")).and_then(Value::as_u64);
        let body = json!({ "reason": "simulated admin", "expectedFencingToken": expected });
        let path = format!("/appointments/{appointment}/takeover");
        let Some(answer) = self.write(Method::POST, &path, &[], Some(body)).await else { return };
        if answer.status == StatusCode::OK
            && let Some(token) = answer.body.get("fencingToken").and_then(Value::as_u64)
        {
            self.checker.grant_acked(&self.session_key(), token);
            self.hold(appointment, token).await;
        }
    }

    async fn create_appointments(&mut self, count: usize) {
        for n in 0..count {
            let body = json!({
                "id": format!("a{n}"),
                "title": format!("Appointment {n}"),
                "startsAt": "2027-02-01T09:00:00Z",
                "endsAt": "2027-02-01T10:00:00Z",
            });
            // Until the cluster decides it (201, or 409 when a retry finds it made).
            while self.write(Method::POST, "/appointments", &[], Some(body.clone())).await.is_none() {
                self.think(100, 300).await;
            }
        }
    }
}

pub async fn run_user(user: User) -> Tally {
    let role = if user.index % 4 == 3 { Role::Admin } else { Role::User };
    let user_id = format!("u{}", user.index);
    let identity = Identity {
        user_id: user_id.clone(),
        name: format!("User {}", user.index),
        email: format!("u{}@example.com", user.index),
        role,
    };
    // Long enough for any clock jump the schedule makes.
    let token = user.keys.issue(&identity, (EPOCH_MS / 1000).saturating_sub(3600), 24 * 3600);
    let mut session = Session {
        user_id,
        session_id: format!("tab{}", user.index),
        tabs_opened: 0,
        token,
        role,
        home: user.index,
        nodes: user.nodes,
        next_request: 0,
        rng: SmallRng::seed_from_u64(user.seed),
        checker: user.checker,
        tally: Tally::default(),
    };
    if user.creates_appointments {
        session.create_appointments(user.appointments).await;
    }
    while sim_elapsed_ms() < user.until_ms {
        let appointment = format!("a{}", session.rng.random_range(0..user.appointments));
        match session.rng.random_range(0..100) {
            0..50 => session.edit(&appointment).await,
            50..62 if session.role == Role::Admin => session.take_over(&appointment).await,
            50..80 => {
                session.read(&format!("/appointments/{appointment}/lock-status")).await;
            }
            _ => {}
        }
        session.think(10, 400).await;
    }
    session.tally
}
