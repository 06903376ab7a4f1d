//! Peer authentication: every RPC between nodes carries the cluster secret, and a node
//! rejects an RPC without it before it reaches Raft. The secret travels in the clear, so on
//! an untrusted network the peers' port must sit behind TLS (see docs/operations.md).

use std::sync::Arc;

use tonic::metadata::MetadataValue;
use tonic::{Request, Status};

const HEADER: &str = "x-lockd-cluster-secret";

pub(crate) fn sign<T>(request: &mut Request<T>, secret: &str) {
    if let Ok(value) = MetadataValue::try_from(secret) {
        request.metadata_mut().insert(HEADER, value);
    }
}

/// A tonic interceptor that admits only requests carrying `secret`.
#[derive(Clone)]
pub struct RequireSecret {
    secret: Arc<str>,
}

impl RequireSecret {
    pub fn new(secret: &str) -> Self {
        RequireSecret { secret: secret.into() }
    }
}

impl tonic::service::Interceptor for RequireSecret {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let presented = request.metadata().get(HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        if constant_time_eq(presented, self.secret.as_bytes()) {
            Ok(request)
        } else {
            Err(Status::unauthenticated("missing or wrong cluster secret"))
        }
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
        let mut check = RequireSecret::new("s3cret");
        let mut signed = Request::new(());
        sign(&mut signed, "s3cret");
        assert!(check.call(signed).is_ok());

        let mut wrong = Request::new(());
        sign(&mut wrong, "s3cres");
        assert_eq!(check.call(wrong).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert_eq!(check.call(Request::new(())).unwrap_err().code(), tonic::Code::Unauthenticated);
    }
}
