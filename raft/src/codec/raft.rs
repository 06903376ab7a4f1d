//! openraft's types <-> protobuf, by hand (ADR 2).
//!
//! `Option<LogId>` stays a message field: `(term 0, node 0, index 0)` is a real log id
//! (the membership entry `initialize` writes), distinct from "none".

use std::collections::{BTreeMap, BTreeSet};

use openraft::EntryPayload;
use openraft::entry::RaftEntry;
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, VoteRequest, VoteResponse};

use super::pb;
use super::{CodecError, need};
use crate::types::{
    Entry, LeaderId, LogId, Membership, NodeId, NodeInfo, SnapshotMeta, StoredMembership, TypeConfig, Vote,
};

pub fn log_id_to_pb(id: &LogId) -> pb::LogId {
    pb::LogId {
        leader_id: Some(pb::LeaderId { term: id.leader_id.term, node_id: id.leader_id.node_id }),
        index: id.index,
    }
}

pub fn log_id_from_pb(id: pb::LogId) -> Result<LogId, CodecError> {
    let leader = need(id.leader_id, "LogId.leader_id")?;
    Ok(LogId::new(LeaderId { term: leader.term, node_id: leader.node_id }, id.index))
}

fn optional_log_id(id: Option<pb::LogId>) -> Result<Option<LogId>, CodecError> {
    id.map(log_id_from_pb).transpose()
}

pub fn vote_to_pb(v: &Vote) -> pb::Vote {
    pb::Vote {
        leader_id: Some(pb::LeaderId { term: v.leader_id.term, node_id: v.leader_id.node_id }),
        committed: v.committed,
    }
}

pub fn vote_from_pb(v: pb::Vote) -> Result<Vote, CodecError> {
    let leader = need(v.leader_id, "Vote.leader_id")?;
    Ok(Vote { leader_id: LeaderId { term: leader.term, node_id: leader.node_id }, committed: v.committed })
}

fn vote(v: Option<pb::Vote>, what: &'static str) -> Result<Vote, CodecError> {
    vote_from_pb(need(v, what)?)
}

pub fn membership_to_pb(m: &Membership) -> pb::Membership {
    pb::Membership {
        configs: m.get_joint_config().iter().map(|ids| pb::NodeIdSet { ids: ids.iter().copied().collect() }).collect(),
        nodes: m
            .nodes()
            .map(|(id, n)| (*id, pb::Node { raft_addr: n.raft_addr.clone(), http_addr: n.http_addr.clone() }))
            .collect(),
    }
}

pub fn membership_from_pb(m: pb::Membership) -> Result<Membership, CodecError> {
    let configs: Vec<BTreeSet<NodeId>> = m.configs.into_iter().map(|set| set.ids.into_iter().collect()).collect();
    let nodes: BTreeMap<NodeId, NodeInfo> =
        m.nodes.into_iter().map(|(id, n)| (id, NodeInfo { raft_addr: n.raft_addr, http_addr: n.http_addr })).collect();
    Membership::new(configs, nodes).map_err(|e| CodecError::Invalid(format!("membership: {e}")))
}

pub fn stored_membership_to_pb(m: &StoredMembership) -> pb::StoredMembership {
    pb::StoredMembership {
        log_id: m.log_id().as_ref().map(log_id_to_pb),
        membership: Some(membership_to_pb(m.membership())),
    }
}

pub fn stored_membership_from_pb(m: pb::StoredMembership) -> Result<StoredMembership, CodecError> {
    Ok(StoredMembership::new(
        optional_log_id(m.log_id)?,
        membership_from_pb(need(m.membership, "StoredMembership.membership")?)?,
    ))
}

pub fn entry_to_pb(e: &Entry) -> pb::Entry {
    use pb::entry::Payload;
    let payload = match &e.payload {
        EntryPayload::Blank => Payload::Blank(pb::Tick {}),
        EntryPayload::Normal(command) => Payload::Normal(command.into()),
        EntryPayload::Membership(m) => Payload::Membership(membership_to_pb(m)),
    };
    pb::Entry { log_id: Some(log_id_to_pb(&e.log_id)), payload: Some(payload) }
}

pub fn entry_from_pb(e: pb::Entry) -> Result<Entry, CodecError> {
    use pb::entry::Payload;
    let log_id = log_id_from_pb(need(e.log_id, "Entry.log_id")?)?;
    let payload = match need(e.payload, "Entry.payload")? {
        Payload::Blank(_) => EntryPayload::Blank,
        Payload::Normal(command) => EntryPayload::Normal(command.try_into()?),
        Payload::Membership(m) => EntryPayload::Membership(membership_from_pb(m)?),
    };
    Ok(Entry::new(log_id, payload))
}

pub fn snapshot_meta_to_pb(meta: &SnapshotMeta) -> pb::SnapshotMeta {
    pb::SnapshotMeta {
        last_log_id: meta.last_log_id.as_ref().map(log_id_to_pb),
        last_membership: Some(stored_membership_to_pb(&meta.last_membership)),
        snapshot_id: String::new(),
    }
}

pub fn snapshot_meta_from_pb(meta: pb::SnapshotMeta) -> Result<SnapshotMeta, CodecError> {
    Ok(SnapshotMeta {
        last_log_id: optional_log_id(meta.last_log_id)?,
        last_membership: stored_membership_from_pb(need(meta.last_membership, "SnapshotMeta.last_membership")?)?,
    })
}

pub fn append_request_to_pb(r: &AppendEntriesRequest<TypeConfig>) -> pb::AppendEntriesRequest {
    pb::AppendEntriesRequest {
        vote: Some(vote_to_pb(&r.vote)),
        prev_log_id: r.prev_log_id.as_ref().map(log_id_to_pb),
        entries: r.entries.iter().map(entry_to_pb).collect(),
        leader_commit: r.leader_commit.as_ref().map(log_id_to_pb),
    }
}

pub fn append_request_from_pb(r: pb::AppendEntriesRequest) -> Result<AppendEntriesRequest<TypeConfig>, CodecError> {
    Ok(AppendEntriesRequest {
        vote: vote(r.vote, "AppendEntriesRequest.vote")?,
        prev_log_id: optional_log_id(r.prev_log_id)?,
        entries: r.entries.into_iter().map(entry_from_pb).collect::<Result<_, _>>()?,
        leader_commit: optional_log_id(r.leader_commit)?,
    })
}

pub fn append_response_to_pb(r: &AppendEntriesResponse<TypeConfig>) -> pb::AppendEntriesResponse {
    use pb::append_entries_response::{Empty, Kind, PartialSuccess};
    let kind = match r {
        AppendEntriesResponse::Success => Kind::Success(Empty {}),
        AppendEntriesResponse::PartialSuccess(matching) => {
            Kind::PartialSuccess(PartialSuccess { matching: matching.as_ref().map(log_id_to_pb) })
        }
        AppendEntriesResponse::Conflict => Kind::Conflict(Empty {}),
        AppendEntriesResponse::HigherVote(v) => Kind::HigherVote(vote_to_pb(v)),
    };
    pb::AppendEntriesResponse { kind: Some(kind) }
}

pub fn append_response_from_pb(r: pb::AppendEntriesResponse) -> Result<AppendEntriesResponse<TypeConfig>, CodecError> {
    use pb::append_entries_response::Kind;
    Ok(match need(r.kind, "AppendEntriesResponse.kind")? {
        Kind::Success(_) => AppendEntriesResponse::Success,
        Kind::PartialSuccess(p) => AppendEntriesResponse::PartialSuccess(optional_log_id(p.matching)?),
        Kind::Conflict(_) => AppendEntriesResponse::Conflict,
        Kind::HigherVote(v) => AppendEntriesResponse::HigherVote(vote_from_pb(v)?),
    })
}

pub fn vote_request_to_pb(r: &VoteRequest<TypeConfig>) -> pb::VoteRequest {
    pb::VoteRequest {
        vote: Some(vote_to_pb(&r.vote)),
        last_log_id: r.last_log_id.as_ref().map(log_id_to_pb),
        leadership_transfer: r.leadership_transfer,
    }
}

pub fn vote_request_from_pb(r: pb::VoteRequest) -> Result<VoteRequest<TypeConfig>, CodecError> {
    Ok(VoteRequest {
        vote: vote(r.vote, "VoteRequest.vote")?,
        last_log_id: optional_log_id(r.last_log_id)?,
        leadership_transfer: r.leadership_transfer,
    })
}

pub fn vote_response_to_pb(r: &VoteResponse<TypeConfig>) -> pb::VoteResponse {
    pb::VoteResponse {
        vote: Some(vote_to_pb(&r.vote)),
        vote_granted: r.vote_granted,
        last_log_id: r.last_log_id.as_ref().map(log_id_to_pb),
    }
}

pub fn vote_response_from_pb(r: pb::VoteResponse) -> Result<VoteResponse<TypeConfig>, CodecError> {
    Ok(VoteResponse {
        vote: vote(r.vote, "VoteResponse.vote")?,
        vote_granted: r.vote_granted,
        last_log_id: optional_log_id(r.last_log_id)?,
    })
}
