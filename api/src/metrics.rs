//! Prometheus metrics at `GET /metrics` (text exposition format), and the middleware that
//! gives every HTTP request an id (`x-request-id`, kept from the client when it sends a
//! sane one), a tracing span, and its place in the request metrics.
//!
//! Counters the core keeps (writes, applied events) and the Raft state are read at scrape
//! time; what only the HTTP layer sees is counted here.

use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lockd_raft::stages::{Stage, WriteStages};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tracing::Instrument;

use crate::AppState;
use crate::problem::ProblemCode;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabels {
    code: String,
}

/// What the HTTP layer counts itself.
pub struct HttpMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    problems: Family<CodeLabels, Counter>,
    lock_conflicts: Counter,
    pub ws_connections: Gauge,
    pub ws_frames_refused: Counter,
    pub ws_flood_closes: Counter,
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HttpMetrics")
    }
}

impl HttpMetrics {
    pub fn new() -> Self {
        // 0.5 ms to ~8 s: a local read to a write that waited out an election.
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new((0..15).map(|i| 0.0005 * 2f64.powi(i)))
        });
        let mut metrics = HttpMetrics {
            registry: Registry::with_prefix("lockd"),
            requests: Family::default(),
            durations,
            problems: Family::default(),
            lock_conflicts: Counter::default(),
            ws_connections: Gauge::default(),
            ws_frames_refused: Counter::default(),
            ws_flood_closes: Counter::default(),
        };
        // The registry holds handles to the same metrics (each is an Arc inside).
        let r = &mut metrics.registry;
        r.register("http_requests", "HTTP requests answered, by route and status", metrics.requests.clone());
        r.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            metrics.durations.clone(),
        );
        r.register("problems", "problem+json answers, by code", metrics.problems.clone());
        r.register("lock_conflicts", "Lock attempts answered lock_held (409)", metrics.lock_conflicts.clone());
        r.register("ws_connections", "WebSockets open on this node", metrics.ws_connections.clone());
        r.register(
            "ws_frames_refused",
            "Inbound WebSocket frames over a rate limit",
            metrics.ws_frames_refused.clone(),
        );
        r.register("ws_flood_closes", "WebSockets closed for flooding (1008)", metrics.ws_flood_closes.clone());
        metrics
    }

    fn observe(&self, method: &str, route: &str, status: StatusCode, seconds: f64, problem: Option<&ProblemCode>) {
        let labels = RequestLabels { method: method.to_owned(), route: route.to_owned(), status: status.as_u16() };
        self.requests.get_or_create(&labels).inc();
        self.durations.get_or_create(&RouteLabels { route: route.to_owned() }).observe(seconds);
        if let Some(ProblemCode(code)) = problem {
            self.problems.get_or_create(&CodeLabels { code: (*code).to_owned() }).inc();
            if *code == "lock_held" {
                self.lock_conflicts.inc();
            }
        }
    }
}

impl Default for HttpMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything read at scrape time from the node, the store and the presence layer.
struct NodeCollector(AppState);

impl std::fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeCollector")
    }
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: i64) -> std::fmt::Result {
    let gauge = ConstGauge::new(value);
    gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)
}

fn counter(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let counter = ConstCounter::new(value);
    counter.encode(encoder.encode_descriptor(name, help, None, counter.metric_type())?)
}

/// Each stage of a write as two counters, its passes and its seconds: their quotient is the
/// stage's mean (the benchmark's stage breakdown divides them).
fn write_stages(encoder: &mut DescriptorEncoder, stages: &WriteStages) -> std::fmt::Result {
    let descriptors = [
        ("lockd_write_stage", "Times a stage of a client write was passed on this node, by stage"),
        ("lockd_write_stage_seconds", "Time spent in a stage of a client write on this node, by stage"),
    ];
    for (which, (name, help)) in descriptors.into_iter().enumerate() {
        let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
        for stage in Stage::ALL {
            let (count, total) = stages.read(stage);
            let labels = [("stage", stage.name())];
            let metric = family.encode_family(&labels)?;
            if which == 0 {
                ConstCounter::new(count).encode(metric)?;
            } else {
                ConstCounter::new(total.as_secs_f64()).encode(metric)?;
            }
        }
    }
    Ok(())
}

impl Collector for NodeCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let state = &self.0;
        let status = state.node.status();
        let index = |i: Option<u64>| i.map_or(-1, |i| i as i64);
        gauge(&mut e, "lockd_raft_term", "Current Raft term", status.term as i64)?;
        gauge(
            &mut e,
            "lockd_raft_leader",
            "Node id of the leader this node knows (-1: none)",
            status.leader.map_or(-1, |l| l as i64),
        )?;
        gauge(
            &mut e,
            "lockd_raft_is_leader",
            "1 when this node leads",
            i64::from(status.leader == Some(status.node_id)),
        )?;
        gauge(&mut e, "lockd_raft_last_log_index", "Last index in this node's log", index(status.last_log_index))?;
        gauge(
            &mut e,
            "lockd_raft_commit_index",
            "Highest index this node knows committed",
            index(status.committed_index),
        )?;
        gauge(
            &mut e,
            "lockd_raft_applied_index",
            "Highest index applied to this node's state",
            index(status.applied_index),
        )?;
        gauge(
            &mut e,
            "lockd_raft_snapshot_index",
            "Index of this node's latest snapshot",
            index(status.snapshot_index),
        )?;
        gauge(&mut e, "lockd_raft_voters", "Voters in the membership", status.voters.len() as i64)?;
        let locks = state.node.read(|a| a.sm.appointments().filter(|ap| a.sm.lock(&ap.id).is_some()).count());
        gauge(&mut e, "lockd_locks_held", "Locks held in this node's applied state", locks as i64)?;

        let events = state.node.event_counts();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        counter(
            &mut e,
            "lockd_lock_grants",
            "Locks granted (acquire or hand-over), applied here",
            load(&events.acquired),
        )?;
        counter(&mut e, "lockd_lock_takeovers", "Admin takeovers, applied here", load(&events.taken_over))?;
        counter(
            &mut e,
            "lockd_lock_moves",
            "Locks moved to another tab of their holder, applied here",
            load(&events.moved),
        )?;
        counter(&mut e, "lockd_lock_expiries", "Leases that lapsed, applied here", load(&events.expired))?;
        counter(&mut e, "lockd_lock_releases", "Locks released by their holder, applied here", load(&events.released))?;
        counter(
            &mut e,
            "lockd_lock_releases_disconnected",
            "Locks released because the holder's tab went away, applied here",
            load(&events.released_disconnected),
        )?;
        counter(&mut e, "lockd_lock_renewals", "Lease renewals, applied here", load(&events.renewed))?;
        counter(
            &mut e,
            "lockd_appointment_changes",
            "Appointments created or updated, applied here",
            load(&events.appointment_changed),
        )?;

        let writes = state.node.write_stats();
        counter(&mut e, "lockd_writes_proposed", "Writes proposed by this node as the leader", load(&writes.proposed))?;
        let forward = state.node.forward_stats();
        counter(&mut e, "lockd_writes_forwarded", "Write attempts forwarded to the leader", load(&forward.writes))?;
        counter(
            &mut e,
            "lockd_writes_forward_failures",
            "Forward attempts that got no answer (and were retried)",
            load(&forward.failures),
        )?;
        counter(
            &mut e,
            "lockd_writes_forward_batches",
            "Batches of forwarded writes sent to the leader (writes forwarded / batches: the mean batch)",
            load(&forward.batches),
        )?;

        write_stages(&mut e, state.node.write_stages())?;

        let (local, remote) = state.presence.counts();
        gauge(&mut e, "lockd_presence_local_viewers", "Tabs viewing an appointment through this node", local as i64)?;
        gauge(&mut e, "lockd_presence_relayed_viewers", "Tabs on other nodes this node knows of", remote as i64)?;
        let relay = &state.relay_stats;
        counter(
            &mut e,
            "lockd_presence_batches_sent",
            "Presence batches streamed to peers",
            load(&relay.batches_sent),
        )?;
        counter(
            &mut e,
            "lockd_presence_viewer_updates_sent",
            "Viewer states (a pointer, a join) streamed to peers, summed over peers",
            load(&relay.viewers_sent),
        )?;
        counter(
            &mut e,
            "lockd_presence_batches_dropped",
            "Presence batches not sent to a full peer stream (pointer updates coalesced into later ones)",
            load(&relay.batches_dropped),
        )?;
        counter(
            &mut e,
            "lockd_presence_batches_received",
            "Presence batches received from peers",
            load(&relay.batches_received),
        )?;
        counter(
            &mut e,
            "lockd_presence_batches_refused",
            "Presence batches from peers refused as invalid",
            load(&relay.batches_refused),
        )?;
        Ok(())
    }
}

/// The text exposition of every metric of this node.
pub fn render(state: &AppState) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode_registry(&mut out, &state.metrics.registry)?;
    let mut scraped = Registry::default();
    scraped.register_collector(Box::new(NodeCollector(state.clone())));
    prometheus_client::encoding::text::encode_registry(&mut out, &scraped)?;
    prometheus_client::encoding::text::encode_eof(&mut out)?;
    Ok(out)
}

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "cluster",
    responses(
        (status = 200, description = "This node's metrics, OpenMetrics text", content_type = "application/openmetrics-text"),
    ),
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    match render(&state) {
        Ok(text) => ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// A client's request id if it is short and plain, else a fresh one.
fn request_id(request: &Request) -> String {
    let sane = |id: &&str| {
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    match request.headers().get(lockd_raft::trace::HEADER).and_then(|v| v.to_str().ok()).filter(sane) {
        Some(id) => id.to_owned(),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

/// Wraps every API request: its id (echoed in the answer, carried to the leader when the
/// request forwards a write), a span with it, and the request metrics.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let id = request_id(&request);
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().as_str().to_owned();
    let span = tracing::info_span!("http", request_id = %id, %method, %route);
    let started = Instant::now();
    let mut response = lockd_raft::trace::scope(id.clone(), next.run(request)).instrument(span.clone()).await;
    let status = response.status();
    state.metrics.observe(&method, &route, status, started.elapsed().as_secs_f64(), response.extensions().get());
    if status.is_server_error() {
        span.in_scope(|| tracing::warn!(status = status.as_u16(), "request failed"));
    } else {
        span.in_scope(|| tracing::debug!(status = status.as_u16(), "answered"));
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(lockd_raft::trace::HEADER, value);
    }
    response
}
