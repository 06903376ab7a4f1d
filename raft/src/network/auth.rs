//! Peer authentication, checked on every RPC before it reaches Raft, one of:
//! - **Mutual TLS** (ADR 26): the peer's certificate chains to the cluster's CA (checked in
//!   the handshake, `tls.rs`) and names the peer address of a current member; the members it
//!   names go into the request ([`CertifiedAs`]), and the Raft handlers refuse a vote, an
//!   append or a snapshot that claims to come from any other node.
//! - **The cluster secret** (dev mode and plain networks): every RPC carries it, in the
//!   clear.

use std::collections::BTreeSet;
use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

use super::tls::PeerCertificates;
use crate::types::NodeId;

const HEADER: &str = "x-lockd-cluster-secret";

pub(crate) fn sign<T>(request: &mut Request<T>, secret: Option<&str>) {
    if let Some(value) = secret.and_then(|s| MetadataValue::try_from(s).ok()) {
        request.metadata_mut().insert(HEADER, value);
    }
}

/// How peers prove they belong to the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAuth {
    /// Every RPC carries this secret.
    Secret(String),
    /// Mutual TLS with the cluster's CA (the channels and the listener do the handshake).
    Certificates,
}

impl PeerAuth {
    /// The secret requests carry, if any.
    pub fn secret(&self) -> Option<&str> {
        match self {
            PeerAuth::Secret(secret) => Some(secret),
            PeerAuth::Certificates => None,
        }
    }
}

/// The current members and their peer addresses.
pub type MembersFn = Arc<dyn Fn() -> Vec<(NodeId, String)> + Send + Sync>;

/// The members a request's certificate names (set by [`PeerGuard`] under mutual TLS).
#[derive(Debug, Clone)]
pub struct CertifiedAs(pub BTreeSet<NodeId>);

/// Refuses a call claiming to come from `claimed` if its connection's certificate names
/// members and `claimed` is not among them.
pub(crate) fn check_sender(certified: Option<&CertifiedAs>, claimed: Option<NodeId>) -> Result<(), Status> {
    match (certified, claimed) {
        (Some(CertifiedAs(named)), Some(id)) if !named.contains(&id) => Err(Status::permission_denied(format!(
            "the peer's certificate names node(s) {named:?}, but the request claims to come from node {id}"
        ))),
        _ => Ok(()),
    }
}

/// How the peer port admits a caller: checked for every gRPC call (the interceptor below)
/// and for every connection of the lean framing (its hello, `wire.rs`).
#[derive(Clone)]
pub enum PeerGuard {
    Secret(Arc<str>),
    Certificates(MembersFn),
}

impl PeerGuard {
    /// Admits a caller that presented `secret` on a connection with `certificates`; under
    /// mutual TLS, says which members it may speak for.
    pub fn admit(&self, secret: &[u8], certificates: &PeerCertificates) -> Result<Option<CertifiedAs>, Status> {
        match self {
            PeerGuard::Secret(expected) => match constant_time_eq(secret, expected.as_bytes()) {
                true => Ok(None),
                false => Err(Status::unauthenticated("missing or wrong cluster secret")),
            },
            PeerGuard::Certificates(members) => {
                if certificates.0.is_empty() {
                    return Err(Status::unauthenticated("peers must connect with mutual TLS"));
                }
                let members = members();
                // A node not yet in a cluster (a joiner before its first append) knows no
                // members: the CA, checked in the handshake, is all it can go by.
                if members.is_empty() {
                    return Ok(None);
                }
                let named = certificates.members_named(&members);
                if named.is_empty() {
                    return Err(Status::permission_denied("the peer's certificate names no member of this cluster"));
                }
                Ok(Some(CertifiedAs(named)))
            }
        }
    }
}

/// A tonic interceptor in front of every gRPC service between peers.
impl tonic::service::Interceptor for PeerGuard {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let secret = request.metadata().get(HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        let certificates = request.extensions().get::<PeerCertificates>().cloned().unwrap_or_default();
        if let Some(certified) = self.admit(secret, &certificates)? {
            request.extensions_mut().insert(certified);
        }
        Ok(request)
    }
}

/// Compares without an early exit, so the time taken does not reveal a matching prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use tonic::service::Interceptor;

    use super::*;

    #[test]
    fn only_the_right_secret_passes() {
        let mut check = PeerGuard::Secret("s3cret".into());
        let mut signed = Request::new(());
        sign(&mut signed, Some("s3cret"));
        assert!(check.call(signed).is_ok());

        let mut wrong = Request::new(());
        sign(&mut wrong, Some("s3cres"));
        assert_eq!(check.call(wrong).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(check.call(Request::new(())).unwrap_err().code(), tonic::Code::Unauthenticated);
    }
}
