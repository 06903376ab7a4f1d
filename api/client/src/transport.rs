//! HTTP/1.1 connections to each node, on hyper directly. A client opens a connection to a node
//! when it first needs one, keeps it for the next request, and opens another only while the
//! ones it has are busy: a program with one client per task (the benchmark, a service with a
//! worker per lock) never shares a pool, and nothing is spent on what a request does not need.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;

/// Connections kept idle per node; more are closed after use.
const IDLE_PER_NODE_MAX: usize = 8;

/// The status and whole body of an answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

pub(crate) struct Transport {
    nodes: Vec<NodeConnections>,
    tls: Option<Arc<rustls::ClientConfig>>,
    request_timeout: Duration,
}

struct NodeConnections {
    /// `host:port`, the request's Host header and where to connect.
    authority: String,
    idle: Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Transport {
    pub fn new(authorities: Vec<String>, tls: Option<Arc<rustls::ClientConfig>>, request_timeout: Duration) -> Self {
        let nodes = authorities
            .into_iter()
            .map(|authority| NodeConnections { authority, idle: Mutex::new(Vec::new()) })
            .collect();
        Transport { nodes, tls, request_timeout }
    }

    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    pub fn authority(&self, node: usize) -> &str {
        &self.nodes[node].authority
    }

    /// Sends `request` to `node`. An error (no connection, a reset, no answer within the
    /// request timeout) drops the connection it used: its state is unknown.
    pub async fn send(&self, node: usize, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        let timeout = self.request_timeout;
        match tokio::time::timeout(timeout, self.exchange(node, request)).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer from {} within {timeout:?}", self.nodes[node].authority)),
        }
    }

    async fn exchange(&self, node: usize, request: Request<Full<Bytes>>) -> Result<Answer, String> {
        let connections = &self.nodes[node];
        let mut sender = match self.idle_connection(connections) {
            Some(sender) => sender,
            None => connect(&connections.authority, self.tls.as_ref()).await?,
        };
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        let mut idle = connections.idle.lock().expect("no panics while the idle list is held");
        if !sender.is_closed() && idle.len() < IDLE_PER_NODE_MAX {
            idle.push(sender);
        }
        Ok(Answer { status, body })
    }

    fn idle_connection(&self, connections: &NodeConnections) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = connections.idle.lock().expect("no panics while the idle list is held");
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }
}

async fn connect(authority: &str, tls: Option<&Arc<rustls::ClientConfig>>) -> Result<SendRequest<Full<Bytes>>, String> {
    let stream =
        tokio::net::TcpStream::connect(authority).await.map_err(|e| format!("connecting to {authority}: {e}"))?;
    // Small requests and answers: no Nagle delay (the nodes turn it off on their side too).
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let Some(tls) = tls else { return handshake(stream).await };
    let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host).to_owned();
    let name = rustls::pki_types::ServerName::try_from(host).map_err(|e| e.to_string())?;
    let stream =
        tokio_rustls::TlsConnector::from(tls.clone()).connect(name, stream).await.map_err(|e| e.to_string())?;
    handshake(stream).await
}

async fn handshake<I>(io: I) -> Result<SendRequest<Full<Bytes>>, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(io)).await.map_err(|e| e.to_string())?;
    // Ends when the sender is dropped or the node closes the connection.
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}
