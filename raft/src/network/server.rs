//! The receiving side of the Raft transport, and the leader's end of forwarded writes and
//! read-index requests. Handlers are thin: decode, hand to openraft or the node, encode.

use tonic::{Request, Response, Status};

use super::auth::{CertifiedAs, PeerGuard, check_sender};
use super::tls::PeerCertificates;
use super::wire::{Answering, Call, WireService};
use crate::codec::{self, pb};
use crate::limits;
use crate::node::{LockNode, ProposeError};
use crate::types::{NodeId, Snapshot};

pub struct RaftGrpc {
    node: LockNode,
    /// This node's id: a Raft RPC claiming to come from it came back to it through a member
    /// whose address is this node's (openraft, as leader, would panic on its own entries).
    own_id: NodeId,
}

impl RaftGrpc {
    pub fn new(node: LockNode) -> Self {
        let own_id = node.status().node_id;
        RaftGrpc { node, own_id }
    }

    /// `Err` when `sender` is this node itself.
    fn not_from_self(&self, sender: Option<NodeId>) -> Result<(), Status> {
        if sender == Some(self.own_id) {
            return Err(Status::failed_precondition(format!(
                "node {} received its own Raft request: another member's address is this node's",
                self.own_id
            )));
        }
        Ok(())
    }
}

/// The node a Raft RPC says it comes from: the leader (or candidate) of its vote.
fn claimed_by(vote: Option<&pb::Vote>) -> Option<NodeId> {
    vote.and_then(|v| v.leader_id.as_ref()).map(|leader| leader.node_id)
}

fn invalid(e: codec::CodecError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn fatal(e: impl std::fmt::Display) -> Status {
    Status::internal(e.to_string())
}

impl RaftGrpc {
    /// An append from the leader, on gRPC or the lean framing; `certified`: the members the
    /// caller's certificate names, under mutual TLS.
    async fn answer_append(
        &self,
        request: pb::AppendEntriesRequest,
        certified: Option<&CertifiedAs>,
    ) -> Result<pb::AppendEntriesResponse, Status> {
        let sender = claimed_by(request.vote.as_ref());
        self.not_from_self(sender)?;
        check_sender(certified, sender)?;
        let rpc = codec::raft::append_request_from_pb(request).map_err(invalid)?;
        let response = self.node.raft().append_entries(rpc).await.map_err(fatal)?;
        Ok(codec::raft::append_response_to_pb(&response))
    }

    async fn answer_forward_batch(&self, request: pb::ForwardBatchRequest) -> Result<pb::ForwardBatchResponse, Status> {
        let requests = request.requests;
        if requests.len() > limits::FORWARD_BATCH_MAX {
            return Err(Status::invalid_argument(format!(
                "more than {} writes in one batch",
                limits::FORWARD_BATCH_MAX
            )));
        }
        // Proposed together: openraft appends what is queued as one batch.
        let answers =
            futures::future::join_all(requests.into_iter().map(|request| self.forwarded(request, "-".to_owned())))
                .await;
        let responses = answers.into_iter().collect::<Result<Vec<_>, Status>>()?;
        Ok(pb::ForwardBatchResponse { responses })
    }

    async fn answer_read_index(&self) -> Result<pb::ReadIndexResponse, Status> {
        use pb::read_index_response::{Kind, NotLeader};
        let kind = match self.node.read_index_as_leader().await {
            Ok(index) => Kind::ReadIndex(index),
            Err(ProposeError::NotLeader { leader }) => Kind::NotLeader(NotLeader { leader_id: leader }),
            // Reads pass no admission check; should one ever refuse, the caller is told so.
            Err(e @ ProposeError::Refused { .. }) => return Err(fatal(e)),
            Err(ProposeError::Fatal(e)) => return Err(fatal(e)),
        };
        Ok(pb::ReadIndexResponse { kind: Some(kind) })
    }

    /// Proposes one forwarded write as the leader; logs under the client request's id: the
    /// write's own `trace_id`, else `fallback` (the call's metadata, for a `Forward` from a
    /// follower that predates `trace_id`; "-" when there is none).
    async fn forwarded(&self, request: pb::ForwardRequest, fallback: String) -> Result<pb::ForwardResponse, Status> {
        use pb::forward_response::{Applied, Kind, NotLeader, Refused};
        use tracing::Instrument;
        let trace_id = request.trace_id.as_deref().map_or(fallback, crate::trace::checked);
        async move {
            let op = request.op.ok_or_else(|| Status::invalid_argument("missing op"))?.try_into().map_err(invalid)?;
            let kind = match self.node.propose_as_leader(request.request_id, op).await {
                Ok(applied) => {
                    tracing::debug!(log_index = applied.log_index, "applied a forwarded write");
                    Kind::Applied(Applied { log_index: applied.log_index, response: Some((&applied.response).into()) })
                }
                Err(ProposeError::NotLeader { leader }) => Kind::NotLeader(NotLeader { leader_id: leader }),
                Err(ProposeError::Refused { retry_after }) => {
                    Kind::Refused(Refused { retry_after_ms: retry_after.as_millis() as u64 })
                }
                Err(ProposeError::Fatal(e)) => return Err(fatal(e)),
            };
            Ok(pb::ForwardResponse { kind: Some(kind) })
        }
        .instrument(tracing::info_span!("forwarded", request_id = %trace_id))
        .await
    }
}

#[tonic::async_trait]
impl pb::raft_service_server::RaftService for RaftGrpc {
    async fn append_entries(
        &self,
        request: Request<pb::AppendEntriesRequest>,
    ) -> Result<Response<pb::AppendEntriesResponse>, Status> {
        let certified = request.extensions().get::<CertifiedAs>().cloned();
        Ok(Response::new(self.answer_append(request.into_inner(), certified.as_ref()).await?))
    }

    async fn vote(&self, request: Request<pb::VoteRequest>) -> Result<Response<pb::VoteResponse>, Status> {
        let sender = claimed_by(request.get_ref().vote.as_ref());
        self.not_from_self(sender)?;
        check_sender(request.extensions().get::<CertifiedAs>(), sender)?;
        let rpc = codec::raft::vote_request_from_pb(request.into_inner()).map_err(invalid)?;
        let response = self.node.raft().vote(rpc).await.map_err(fatal)?;
        Ok(Response::new(codec::raft::vote_response_to_pb(&response)))
    }

    async fn install_snapshot(
        &self,
        request: Request<pb::InstallSnapshotRequest>,
    ) -> Result<Response<pb::InstallSnapshotResponse>, Status> {
        let sender = claimed_by(request.get_ref().vote.as_ref());
        self.not_from_self(sender)?;
        check_sender(request.extensions().get::<CertifiedAs>(), sender)?;
        let request = request.into_inner();
        let vote = codec::raft::vote_from_pb(request.vote.ok_or_else(|| Status::invalid_argument("missing vote"))?)
            .map_err(invalid)?;
        // Decode before handing over: openraft panics on a snapshot inconsistent with its
        // vote, so malformed bytes must be refused here.
        let (meta, _) = codec::decode_snapshot(&request.snapshot).map_err(invalid)?;
        let snapshot = Snapshot { meta, snapshot: request.snapshot };
        let response = self.node.raft().install_full_snapshot(vote, snapshot).await.map_err(fatal)?;
        Ok(Response::new(pb::InstallSnapshotResponse { vote: Some(codec::raft::vote_to_pb(&response.vote)) }))
    }

    async fn forward(&self, request: Request<pb::ForwardRequest>) -> Result<Response<pb::ForwardResponse>, Status> {
        let from_metadata = crate::trace::incoming(&request);
        Ok(Response::new(self.forwarded(request.into_inner(), from_metadata).await?))
    }

    async fn forward_batch(
        &self,
        request: Request<pb::ForwardBatchRequest>,
    ) -> Result<Response<pb::ForwardBatchResponse>, Status> {
        Ok(Response::new(self.answer_forward_batch(request.into_inner()).await?))
    }

    async fn read_index(
        &self,
        _request: Request<pb::ReadIndexRequest>,
    ) -> Result<Response<pb::ReadIndexResponse>, Status> {
        Ok(Response::new(self.answer_read_index().await?))
    }
}

/// The calls of the lean framing (`wire.rs`), answered by the same handlers as gRPC's.
pub struct PeerWire {
    pub grpc: RaftGrpc,
    pub guard: PeerGuard,
}

fn decode<M: prost::Message + Default>(body: &[u8]) -> Result<M, Status> {
    M::decode(body).map_err(|e| Status::invalid_argument(format!("undecodable request: {e}")))
}

impl WireService for PeerWire {
    fn admit(&self, hello: &[u8], certificates: &PeerCertificates) -> Result<Option<CertifiedAs>, Status> {
        self.guard.admit(hello, certificates)
    }

    fn answer<'a>(&'a self, call: Call, body: Vec<u8>, certified: Option<&'a CertifiedAs>) -> Answering<'a> {
        use prost::Message;
        Box::pin(async move {
            Ok(match call {
                Call::AppendEntries => self.grpc.answer_append(decode(&body)?, certified).await?.encode_to_vec(),
                Call::ForwardBatch => self.grpc.answer_forward_batch(decode(&body)?).await?.encode_to_vec(),
                Call::ReadIndex => self.grpc.answer_read_index().await?.encode_to_vec(),
                Call::Hello => return Err(Status::invalid_argument("a second hello")),
            })
        })
    }
}
