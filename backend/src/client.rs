//! A small keep-alive HTTP/1.1 client for the backend's API, playing both callers: a game (logins)
//! and a sealnet server (signed webhook calls). The load generator and the tests use it; a real
//! server has its own.

use std::fmt;
use std::net::SocketAddr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::signature::{Signer, SIGNATURE_HEADER, TIMESTAMP_HEADER};

#[derive(Debug)]
pub struct ClientError(pub String);

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

fn error(context: &str) -> impl FnOnce(hyper::Error) -> ClientError + '_ {
    move |e| ClientError(format!("{context}: {e}"))
}

/// A reply: its status and whole body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON (`Null` if it is not JSON, which no test expects).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One TCP connection; requests on it go one after another.
pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection, ClientError> {
        let stream = TcpStream::connect(addr).await.map_err(|e| ClientError(format!("connect to {addr}: {e}")))?;
        stream.set_nodelay(true).map_err(|e| ClientError(format!("set TCP_NODELAY: {e}")))?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(error("handshake"))?;
        tokio::spawn(async move {
            // Ends when the connection closes; its errors surface on the next request.
            let _ = connection.await;
        });
        Ok(Connection { sender, host: addr.to_string() })
    }

    /// Sends a request with `headers` and `body` and reads the whole reply.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<Bytes>,
    ) -> Result<Reply, ClientError> {
        let mut request = Request::builder().method(method).uri(path).header(HOST, &self.host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body.into())).map_err(|e| ClientError(format!("request: {e}")))?;
        self.sender.ready().await.map_err(error("connection"))?;
        let response = self.sender.send_request(request).await.map_err(error("send"))?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await.map_err(error("read reply"))?.to_bytes();
        Ok(Reply { status, body })
    }

    /// POSTs `value` as JSON: what a game's login calls look like.
    pub async fn post_json(&mut self, path: &str, value: &serde_json::Value) -> Result<Reply, ClientError> {
        let body = serde_json::to_vec(value).map_err(|e| ClientError(e.to_string()))?;
        self.send(Method::POST, path, &[("content-type", "application/json")], body).await
    }

    /// POSTs a webhook body to `/auth`, signed with `signer` at `timestamp` (seconds since the epoch).
    pub async fn webhook(&mut self, signer: &Signer, timestamp: i64, body: &[u8]) -> Result<Reply, ClientError> {
        let timestamp = timestamp.to_string();
        let signature = signer.sign(&timestamp, body);
        let headers = [
            (CONTENT_TYPE.as_str(), "application/json"),
            (TIMESTAMP_HEADER, timestamp.as_str()),
            (SIGNATURE_HEADER, signature.as_str()),
        ];
        self.send(Method::POST, "/auth", &headers, body.to_vec()).await
    }
}

/// A webhook request body as a sealnet server sends it (docs/auth.md §2) for `token`.
pub fn webhook_body(app_id: &str, token: &[u8]) -> Vec<u8> {
    let body = serde_json::json!({
        "AppId": app_id,
        "AppVersion": "1.0",
        "ConnectionToken": STANDARD.encode(token),
        "AuthParams": {},
        "ClientAddress": "127.0.0.1:50000",
        "Static": {},
    });
    serde_json::to_vec(&body).expect("a JSON value serialises")
}

/// A connection token as a game might build it: the 16 session-id bytes, then its own flags.
pub fn connection_token(session: &crate::session_id::SessionId, flags: &[u8]) -> Vec<u8> {
    let mut token = session.as_bytes().to_vec();
    token.extend_from_slice(flags);
    token
}
