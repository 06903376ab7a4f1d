//! The request id that follows a client request from the node that received it to the
//! leader that proposed it, so one id finds every log line of a write on every node.
//!
//! The HTTP layer runs each request inside [`scope`]; a write forwarded from there carries
//! the id (the forwarded write's `trace_id`; the gRPC metadata `x-request-id` when it goes to
//! a leader without batches), and the leader logs its proposal under it. Outside a scope
//! nothing is attached.

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

/// Puts `id` on an outgoing gRPC request.
pub fn attach_id<T>(request: &mut tonic::Request<T>, id: &str) {
    if let Ok(value) = MetadataValue::try_from(id) {
        request.metadata_mut().insert(HEADER, value);
    }
}

/// The id an incoming gRPC request carries ("-" when none, or when it is not printable).
pub fn incoming<T>(request: &tonic::Request<T>) -> String {
    request.metadata().get(HEADER).and_then(|v| v.to_str().ok()).map_or_else(|| "-".to_owned(), checked)
}

/// `id` as a log field: itself when short and printable, else "-" (it came from a peer).
pub fn checked(id: &str) -> String {
    let printable = !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic());
    if printable { id } else { "-" }.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_current_inside_a_scope_only_and_travels_as_metadata() {
        assert_eq!(current(), None);
        assert_eq!(scope("req-42".into(), async { current() }).await.as_deref(), Some("req-42"));
        let mut outgoing = tonic::Request::new(());
        assert_eq!(incoming(&outgoing), "-");
        attach_id(&mut outgoing, "req-42");
        assert_eq!(incoming(&outgoing), "req-42");
    }

    #[test]
    fn ids_from_peers_are_logged_only_when_short_and_printable() {
        assert_eq!(checked("req-42"), "req-42");
        assert_eq!(checked(&"x".repeat(128)), "x".repeat(128));
        assert_eq!(checked(&"x".repeat(129)), "-");
        assert_eq!(checked("two words"), "-");
        assert_eq!(checked("line\nbreak"), "-");
        assert_eq!(checked(""), "-");
    }
}
