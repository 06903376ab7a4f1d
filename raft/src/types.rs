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

/// Checks a member address as peers dial it: `host:port`, the host an IP address (IPv6 in
/// brackets) or a DNS name (so a StatefulSet's stable names work), the port not 0.
pub fn check_member_addr(addr: &str) -> Result<(), String> {
    if addr.parse::<std::net::SocketAddr>().is_ok_and(|a| a.port() != 0) {
        return Ok(());
    }
    let bad = || Err(format!("`{addr}` is not host:port"));
    let Some((host, port)) = addr.rsplit_once(':') else { return bad() };
    if !port.parse::<u16>().is_ok_and(|p| p != 0) {
        return bad();
    }
    // RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 || !name.split('.').all(label_ok) || name.parse::<std::net::IpAddr>().is_ok() {
        return bad();
    }
    // All-numeric names are mistyped addresses, not names.
    if name.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_member_addr;

    #[test]
    fn member_addresses_are_ip_or_dns_name_with_a_port() {
        for good in [
            "127.0.0.1:9081",
            "[::1]:9081",
            "lockd-0.lockd.default.svc.cluster.local:9081",
            "node-2:8081",
            "lockd-1.:9081",
        ] {
            assert_eq!(check_member_addr(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "127.0.0.1",
            "127.0.0.1:0",
            "host:99999",
            "host:",
            ":9081",
            "-bad.example:1",
            "a..b:1",
            "under_score:1",
            "1.2.3:9081",
            "::1:9081",
            "host name:1",
            "http://host:1",
        ] {
            assert!(check_member_addr(bad).is_err(), "{bad}");
        }
    }
}

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
            Op::MoveLock { .. } => "move-lock",
            Op::DiscardDraft { .. } => "discard-draft",
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
