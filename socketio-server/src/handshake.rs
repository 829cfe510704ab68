//! [`Handshake`]: what the server knows of a socket's connection, as `socket.handshake` shows it.

use engineio_server::RequestInfo;
use socketio_parser::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The connection details of a socket (`socket.handshake`).
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The request headers of the connection (names in lower case).
    pub headers: http::HeaderMap,
    /// When the socket connected, as text.
    pub time: String,
    /// The client address (`ip:port`), when known.
    pub address: Option<String>,
    /// Whether the request came from another origin (an `Origin` header was present).
    pub xdomain: bool,
    /// Whether the connection was encrypted.
    pub secure: bool,
    /// When the socket connected, in milliseconds since the Unix epoch.
    pub issued: u64,
    /// The request URL (path and query).
    pub url: String,
    /// The query parameters of the request.
    pub query: Map,
    /// The `auth` payload of the CONNECT packet (`{}` when none).
    pub auth: Value,
}

impl Handshake {
    pub(crate) fn new(request: &RequestInfo, auth: Value) -> Self {
        let issued = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let query = request.query_pairs().iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        Handshake {
            headers: request.headers().clone(),
            time: format!("{issued}"),
            address: request.remote_addr().map(|a| a.ip().to_string()),
            xdomain: request.headers().contains_key(http::header::ORIGIN),
            secure: false,
            issued,
            url: request.uri().to_string(),
            query,
            auth,
        }
    }

    /// The handshake as the reference serializes it (for `fetchSockets` across nodes).
    pub fn to_value(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_string(), Value::from(v));
            }
        }
        let mut m = Map::new();
        m.insert("headers".into(), Value::Object(headers));
        m.insert("time".into(), Value::from(self.time.as_str()));
        m.insert("address".into(), self.address.clone().map(Value::from).unwrap_or(Value::Null));
        m.insert("xdomain".into(), Value::Bool(self.xdomain));
        m.insert("secure".into(), Value::Bool(self.secure));
        m.insert("issued".into(), Value::from(self.issued));
        m.insert("url".into(), Value::from(self.url.as_str()));
        m.insert("query".into(), Value::Object(self.query.clone()));
        m.insert("auth".into(), self.auth.clone());
        Value::Object(m)
    }
}
