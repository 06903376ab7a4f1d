//! Cluster routes: status, health, readiness, membership.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use lockd_raft::node::ReplicaRole;
use lockd_raft::types::NodeInfo;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::JsonBody;
use crate::auth::Identity;
use crate::problem::Problem;
use crate::problem::responses as problems;
use crate::{AppState, limits};

/// One member of the cluster.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub node_id: u64,
    /// Where its peers reach it (Raft over gRPC).
    pub raft_addr: String,
    /// Where clients reach it (HTTP and WebSocket).
    pub http_addr: String,
    /// A voter (else a learner catching up).
    pub voter: bool,
    pub leader: bool,
}

/// A node's part in Raft.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub enum RaftState {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
}

/// This node's view of the cluster: its Raft state, term, the leader, log indexes, members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterStatus {
    pub node_id: u64,
    pub state: RaftState,
    pub term: u64,
    /// The leader this node knows, if any.
    pub leader_id: Option<u64>,
    pub last_log_index: Option<u64>,
    pub committed_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    /// The last index removed from this node's log (behind a snapshot).
    pub purged_index: Option<u64>,
    pub members: Vec<Member>,
}

#[utoipa::path(
    get,
    path = "/cluster/status",
    tag = "cluster",
    responses(
        (status = 200, description = "Raft state, term, leader, indexes, members", body = ClusterStatus),
    ),
)]
pub async fn status(State(state): State<AppState>) -> Response {
    let s = state.node.status();
    let members = s
        .nodes
        .iter()
        .map(|(id, info)| Member {
            node_id: *id,
            raft_addr: info.raft_addr.clone(),
            http_addr: info.http_addr.clone(),
            voter: s.voters.contains(id),
            leader: s.leader == Some(*id),
        })
        .collect();
    Json(ClusterStatus {
        node_id: s.node_id,
        state: match s.state {
            ReplicaRole::Leader => RaftState::Leader,
            ReplicaRole::Follower => RaftState::Follower,
            ReplicaRole::Candidate => RaftState::Candidate,
            ReplicaRole::Learner => RaftState::Learner,
            ReplicaRole::Shutdown => RaftState::Shutdown,
        },
        term: s.term,
        leader_id: s.leader,
        last_log_index: s.last_log_index,
        committed_index: s.committed_index,
        applied_index: s.applied_index,
        snapshot_index: s.snapshot_index,
        purged_index: s.purged_index,
        members,
    })
    .into_response()
}

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "cluster",
    responses(
        (status = 200, description = "The process answers"),
    ),
)]
pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// Readiness: this node knows a leader and has applied up to the commit point it knows.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "cluster",
    responses(
        (status = 200, description = "A leader is known and this node caught up"),
        (status = 503, description = "Not ready"),
    ),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let s = state.node.status();
    let caught_up = match (s.applied_index, s.committed_index) {
        (Some(applied), Some(committed)) => applied >= committed,
        (_, None) => true,
        (None, Some(_)) => false,
    };
    let ready = s.leader.is_some() && caught_up;
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(json!({ "ready": ready, "leaderId": s.leader, "appliedIndex": s.applied_index }))).into_response()
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMember {
    #[serde(deserialize_with = "crate::dto::integral::u64")]
    pub node_id: u64,
    pub raft_addr: String,
    pub http_addr: String,
}

/// Adds a node: as a learner first, caught up, then promoted to voter. Admin only; on the
/// leader (a follower answers `not_leader` with the leader's HTTP address).
#[utoipa::path(
    post,
    path = "/cluster/members",
    tag = "cluster",
    request_body = AddMember,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Added and promoted to voter", body = Object),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, response = problems::Forbidden),
        (status = 409, description = "already_exists: that node is already a voter; address_in_use: another member has that raftAddr or httpAddr", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 421, response = problems::NotLeader),
        (status = 422, description = "An address that is not host:port (`invalid_input`), or nothing answers at raftAddr (`member_unreachable`)", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 503, description = "membership_change_failed", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 504, description = "member_not_caught_up: the new node did not catch up in time; it stays a learner", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn add_member(
    State(state): State<AppState>,
    identity: Identity,
    JsonBody(input): JsonBody<AddMember>,
) -> Result<Response, Problem> {
    if identity.role != lockd_raft::sm::Role::Admin {
        return Err(Problem::forbidden("changing membership needs the admin role"));
    }
    for addr in [&input.raft_addr, &input.http_addr] {
        lockd_raft::types::check_member_addr(addr)
            .map_err(|e| Problem::unprocessable(format!("raftAddr and httpAddr must be host:port: {e}")))?;
    }
    let s = state.node.status();
    require_leader(&s)?;
    if s.nodes.contains_key(&input.node_id) && s.voters.contains(&input.node_id) {
        return Err(Problem::new(StatusCode::CONFLICT, "already_exists", "that node id is already a voter"));
    }
    // Another member's address under a new id would make that member talk to itself as
    // the new one (the leader receiving its own entries). Compared as resolved, so that
    // `localhost:7001` is `127.0.0.1:7001`.
    for (id, info) in s.nodes.iter().filter(|(id, _)| **id != input.node_id) {
        if same_endpoint(&info.raft_addr, &input.raft_addr).await
            || same_endpoint(&info.http_addr, &input.http_addr).await
        {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "address_in_use",
                format!("node {id} already has that raftAddr or httpAddr; a new member needs its own"),
            ));
        }
    }
    // A learner nobody answers for would be retried for ever, and this request would wait for
    // it to catch up for ever: the new node must be listening on its peer port first.
    answers(&input.raft_addr).await.map_err(|e| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "member_unreachable",
            format!("nothing answers at raftAddr {}: {e}; start the node first", input.raft_addr),
        )
    })?;
    let info = NodeInfo { raft_addr: input.raft_addr, http_addr: input.http_addr };
    let catch_up = std::time::Duration::from_millis(limits::MEMBER_CATCH_UP_MS_MAX);
    match tokio::time::timeout(catch_up, state.node.add_member(input.node_id, info)).await {
        Ok(added) => added.map_err(|e| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "membership_change_failed", e))?,
        Err(_) => {
            return Err(Problem::new(
                StatusCode::GATEWAY_TIMEOUT,
                "member_not_caught_up",
                "the new node did not catch up in time; it stays a learner: check it, then add it again",
            ));
        }
    }
    Ok((StatusCode::OK, Json(json!({ "nodeId": input.node_id, "voter": true }))).into_response())
}

/// Whether two `host:port` addresses name the same endpoint: equal, or resolving to a
/// common socket address.
async fn same_endpoint(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let resolve = |addr: &str| {
        let addr = addr.to_owned();
        async move { tokio::net::lookup_host(addr).await.map(|found| found.collect::<Vec<_>>()).unwrap_or_default() }
    };
    let (a, b) = (resolve(a).await, resolve(b).await);
    a.iter().any(|x| b.contains(x))
}

/// Membership changes run on the leader; a follower names it (`421 not_leader`).
fn require_leader(s: &lockd_raft::node::ClusterStatus) -> Result<(), Problem> {
    if s.leader == Some(s.node_id) {
        return Ok(());
    }
    let leader_http = s.leader.and_then(|id| s.nodes.get(&id)).map(|n| n.http_addr.clone());
    Err(Problem::new(StatusCode::MISDIRECTED_REQUEST, "not_leader", "send membership changes to the leader")
        .with("leaderHttpAddr", json!(leader_http)))
}

/// Removes a node from the cluster (voter or learner). Admin only; on the leader. The last
/// voter cannot be removed. Stop the node's process afterwards; its id is never reused.
#[utoipa::path(
    delete,
    path = "/cluster/members/{nodeId}",
    tag = "cluster",
    params(
        ("nodeId" = u64, Path, description = "The node to remove"),
    ),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Removed", body = Object),
        (status = 401, response = problems::Unauthenticated),
        (status = 403, response = problems::Forbidden),
        (status = 404, description = "Not a member", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 409, description = "last_voter: the cluster would have no voter", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
        (status = 421, response = problems::NotLeader),
        (status = 503, description = "membership_change_failed", body = crate::problem::ProblemDoc, content_type = "application/problem+json"),
    ),
)]
pub async fn remove_member(
    State(state): State<AppState>,
    identity: Identity,
    super::Path(node_id): super::Path<u64>,
) -> Result<Response, Problem> {
    if identity.role != lockd_raft::sm::Role::Admin {
        return Err(Problem::forbidden("changing membership needs the admin role"));
    }
    let s = state.node.status();
    require_leader(&s)?;
    if !s.nodes.contains_key(&node_id) {
        return Err(Problem::not_found("no member has that node id"));
    }
    if s.voters.len() == 1 && s.voters.contains(&node_id) {
        return Err(Problem::new(StatusCode::CONFLICT, "last_voter", "the cluster would have no voter left"));
    }
    state
        .node
        .remove_member(node_id)
        .await
        .map_err(|e| Problem::new(StatusCode::SERVICE_UNAVAILABLE, "membership_change_failed", e))?;
    Ok((StatusCode::OK, Json(json!({ "nodeId": node_id, "removed": true }))).into_response())
}

/// Whether something accepts a TCP connection at `addr` (a name is resolved first) within
/// `MEMBER_PROBE_TIMEOUT_MS`: tried again every 100 ms meanwhile, for a node still starting.
async fn answers(addr: &str) -> Result<(), String> {
    let limit = std::time::Duration::from_millis(limits::MEMBER_PROBE_TIMEOUT_MS);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let error = match tokio::time::timeout_at(deadline, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {} ms", limits::MEMBER_PROBE_TIMEOUT_MS),
        };
        let retry_at = tokio::time::Instant::now() + std::time::Duration::from_millis(100);
        if retry_at >= deadline {
            return Err(error);
        }
        tokio::time::sleep_until(retry_at).await;
    }
}
