//! WebSocket clients for the integration tests.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Cluster;

pub type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// The upgrade request for `path` of node `node`, authenticated with the `bearer.` subprotocol.
pub fn request(cluster: &Cluster, node: usize, path: &str, token: &str) -> Request {
    let url = cluster.url(node, path).replace("http://", "ws://");
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", format!("lockd, bearer.{token}").parse().unwrap());
    request
}

/// A socket on `path` of node `node` (see [`request`]).
pub async fn connect(cluster: &Cluster, node: usize, path: &str, token: &str) -> Socket {
    let (socket, response) =
        tokio_tungstenite::connect_async(request(cluster, node, path, token)).await.expect("websocket upgrade");
    assert_eq!(response.headers()["sec-websocket-protocol"], "lockd");
    socket
}

/// The next JSON message; fails after `limit`.
pub async fn next(socket: &mut Socket, limit: Duration) -> Value {
    loop {
        let frame =
            tokio::time::timeout(limit, socket.next()).await.expect("a message in time").expect("open").unwrap();
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Messages until one satisfies `wanted`; fails after `limit` in all.
pub async fn next_where(socket: &mut Socket, limit: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = next(socket, left).await;
        if wanted(&message) {
            return message;
        }
    }
}
