//! openraft's type configuration for lockd, and the node address record.

use std::fmt;

use crate::sm::{Command, Op, Response};

/// Where a member listens. Part of the membership, so every node knows every peer's addresses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeInfo {
    /// gRPC: Raft RPCs, forwarded writes, read-index requests.
    pub raft_addr: String,
    /// HTTP: the API and the web app, for status pages and redirects.
    pub http_addr: String,
}

pub type NodeId = u64;

openraft::declare_raft_types!(
    /// lockd's Raft: log entries carry a [`Command`], applying one answers a [`Response`].
    pub TypeConfig:
        D = Command,
        R = Response,
        NodeId = NodeId,
        Node = NodeInfo,
        AsyncRuntime = crate::runtime::LockdRuntime,
);

pub type LogId = openraft::type_config::alias::LogIdOf<TypeConfig>;
pub type Vote = openraft::type_config::alias::VoteOf<TypeConfig>;
pub type Entry = openraft::type_config::alias::EntryOf<TypeConfig>;
pub type LeaderId = openraft::type_config::alias::LeaderIdOf<TypeConfig>;
pub type StoredMembership = openraft::type_config::alias::StoredMembershipOf<TypeConfig>;
pub type Membership = openraft::Membership<NodeId, NodeInfo>;
pub type SnapshotMeta = openraft::type_config::alias::SnapshotMetaOf<TypeConfig>;
pub type Snapshot = openraft::type_config::alias::SnapshotOf<TypeConfig, SnapshotData>;
/// A snapshot travels and rests as its encoded bytes (`codec::encode_snapshot`).
pub type SnapshotData = Vec<u8>;

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.op {
            Op::Acquire { .. } => "acquire",
            Op::Renew { .. } => "renew",
            Op::Release { .. } => "release",
            Op::Takeover { .. } => "takeover",
            Op::CreateAppointment { .. } => "create-appointment",
            Op::UpdateAppointment { .. } => "update-appointment",
            Op::SaveDraft { .. } => "save-draft",
            Op::Tick => "tick",
        };
        write!(f, "{kind}@{}", self.issued_at_ms)?;
        if let Some(id) = self.op.appointment_id() {
            write!(f, " {id}")?;
        }
        Ok(())
    }
}
