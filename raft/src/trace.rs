//! The request id that follows a client request from the node that received it to the
//! leader that proposed it, so one id finds every log line of a write on every node.
//!
//! The HTTP layer runs each request inside [`scope`]; a write forwarded from there carries
//! the id in the gRPC metadata (`x-request-id`), and the leader's handler logs under it.
//! Outside a scope nothing is attached.

use tonic::metadata::MetadataValue;

/// The metadata key, the same name as the HTTP header.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `fut` with `request_id` as the current request's id.
pub async fn scope<F: std::future::Future>(request_id: String, fut: F) -> F::Output {
    REQUEST_ID.scope(request_id, fut).await
}

/// The current request's id, if running inside [`scope`].
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Puts the current request's id on an outgoing gRPC request.
pub fn attach<T>(request: &mut tonic::Request<T>) {
    if let Some(id) = current()
        && let Ok(value) = MetadataValue::try_from(id.as_str())
    {
        request.metadata_mut().insert(HEADER, value);
    }
}

/// The id an incoming gRPC request carries ("-" when none, or when it is not printable).
pub fn incoming<T>(request: &tonic::Request<T>) -> String {
    request
        .metadata()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|id| id.len() <= 128)
        .unwrap_or("-")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_travels_on_requests_made_inside_a_scope_only() {
        let mut outside = tonic::Request::new(());
        attach(&mut outside);
        assert_eq!(incoming(&outside), "-");
        let mut inside = tonic::Request::new(());
        scope("req-42".into(), async { attach(&mut inside) }).await;
        assert_eq!(incoming(&inside), "req-42");
    }
}
