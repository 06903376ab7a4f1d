//! A benchmark client's own HTTP/1.1 connections, one per node, for the timed requests
//! (acquire, release). The load generator shares the cores with the servers it measures, so
//! what it spends per request is taken from them: a connection owned by one client needs no
//! shared pool, and an answer is read only for the fields the workload checks.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

/// How long one request may take before the client gives up on it (and on its connection).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One request of a benchmark client.
pub struct Call<'a> {
    pub method: Method,
    pub path: String,
    pub bearer: &'a str,
    pub session: &'a str,
    pub fencing_token: Option<u64>,
    pub json_body: Option<&'static str>,
}

/// At most one connection per node, opened when first needed and again after a failure.
pub struct Connections {
    /// `host:port` of each node's HTTP address.
    authorities: Vec<String>,
    senders: Vec<Option<SendRequest<Full<Bytes>>>>,
    /// HTTPS with this config (`https://` URLs).
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Connections {
    pub fn new(urls: &[String], tls: Option<Arc<rustls::ClientConfig>>) -> Connections {
        let authorities: Vec<String> = urls
            .iter()
            .map(|url| url.trim_start_matches("http://").trim_start_matches("https://").to_owned())
            .collect();
        let senders = authorities.iter().map(|_| None).collect();
        Connections { authorities, senders, tls }
    }

    /// How many nodes there are.
    pub fn nodes(&self) -> usize {
        self.authorities.len()
    }

    /// Sends `call` to node `node`; the status and the whole body. An error (no connection,
    /// a reset, a timeout) drops the connection: its state is unknown.
    pub async fn send(&mut self, node: usize, call: Call<'_>) -> Result<(StatusCode, Bytes), String> {
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, self.exchange(node, call)).await;
        let answer = answer.unwrap_or_else(|_| Err(format!("no answer in {REQUEST_TIMEOUT:?}")));
        if answer.is_err() {
            self.senders[node] = None;
        }
        answer
    }

    async fn exchange(&mut self, node: usize, call: Call<'_>) -> Result<(StatusCode, Bytes), String> {
        let authority = &self.authorities[node];
        let mut request = Request::builder()
            .method(call.method)
            .uri(call.path)
            .header(hyper::header::HOST, authority.as_str())
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", call.bearer))
            .header("x-session-id", call.session);
        if let Some(token) = call.fencing_token {
            request = request.header("x-fencing-token", token);
        }
        if call.json_body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let body = call.json_body.map_or_else(Bytes::new, |json| Bytes::from_static(json.as_bytes()));
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let sender = match &mut self.senders[node] {
            Some(sender) if !sender.is_closed() => sender,
            slot => slot.insert(connect(authority, self.tls.as_ref()).await?),
        };
        sender.ready().await.map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok((status, body))
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
