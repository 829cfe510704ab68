//! What the engine keeps of a request, and the HTTP helpers: queries, errors, CORS, compression.

use crate::config::{CorsConfig, CorsOrigin};
use crate::handler::ErrorCode;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Response, StatusCode, Uri};
use http_body_util::Full;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// The body of every response the engine writes.
pub type EngineBody = Full<Bytes>;

/// The peer address of a connection. Put it in the request extensions so the engine can report it
/// (the standalone server does this itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub SocketAddr);

/// Marks a request that came over TLS, so the engine reports it as `secure`. The standalone TLS
/// server sets it itself; put it in the request extensions when TLS ends in front of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Secure;

/// The request that opened a session (or was refused): method, URI, headers, peer address and time.
/// Cheap to clone.
#[derive(Clone)]
pub struct RequestInfo(Arc<RequestData>);

#[derive(Clone)]
struct RequestData {
    method: Method,
    uri: Uri,
    /// The headers as a map: hyper's, for a request being handled; built from `packed` on first use
    /// for a session's request.
    headers: OnceLock<Box<HeaderMap>>,
    /// A session's headers, packed (see [`RequestInfo::detached`]).
    packed: Option<PackedHeaders>,
    remote_addr: Option<SocketAddr>,
    secure: bool,
    time: SystemTime,
    /// The decoded query, on first use.
    query: OnceLock<Vec<(String, String)>>,
    /// What layers in front of the engine put in the request's extensions (a session, an
    /// authenticated user), kept from the request that opened the session.
    extensions: http::Extensions,
}

impl std::fmt::Debug for RequestInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInfo")
            .field("method", &self.0.method)
            .field("uri", &self.0.uri)
            .field("remote_addr", &self.0.remote_addr)
            .finish_non_exhaustive()
    }
}

impl RequestInfo {
    /// Captures what the engine keeps of a request.
    pub fn new(method: Method, uri: Uri, headers: HeaderMap, remote_addr: Option<SocketAddr>) -> Self {
        RequestInfo(Arc::new(RequestData {
            method,
            uri,
            headers: OnceLock::from(Box::new(headers)),
            packed: None,
            remote_addr,
            secure: false,
            time: SystemTime::now(),
            query: OnceLock::new(),
            extensions: http::Extensions::new(),
        }))
    }

    /// The same request, with the extensions that layers in front of the engine (tower or axum
    /// middleware: a session, an authenticated user) put in it. Only `Clone` values can be kept, which
    /// `http::Extensions` requires of every value anyway.
    pub fn with_extensions(mut self, extensions: http::Extensions) -> Self {
        Arc::make_mut(&mut self.0).extensions = extensions;
        self
    }

    /// The request's extensions as layers in front of the engine left them (see
    /// [`with_extensions`](Self::with_extensions)); Node apps read the same from `socket.request`
    /// (`socket.request.session`, `socket.request.user`).
    ///
    /// ```no_run
    /// # #[derive(Clone)] struct User(String);
    /// # fn f(socket: &engineio_server::Socket) {
    /// if let Some(User(name)) = socket.request().extensions().get::<User>() {
    ///     println!("{name} connected");
    /// }
    /// # }
    /// ```
    pub fn extensions(&self) -> &http::Extensions {
        &self.0.extensions
    }

    /// The same request with its own copy of the URI and headers. Hyper parses a request in place: its
    /// header values and URI share the connection's read buffer (8 KiB or more), so keeping them would
    /// keep that whole buffer alive for as long as the session lives. A session's request is copied once.
    ///
    /// The copy is packed: every name and value in one buffer, with their lengths. A `HeaderMap` (an
    /// entry of ~100 bytes per header, and a value allocation each) is built from it the first time
    /// [`headers`](Self::headers) is called; an idle session whose headers nobody reads holds the
    /// packed bytes only. The decoded query is likewise dropped, to be decoded again if asked for.
    pub fn detached(self) -> Self {
        let mut data = Arc::unwrap_or_clone(self.0);
        if let Some(headers) = data.headers.take() {
            data.packed = Some(PackedHeaders::pack(&headers));
        }
        data.query = OnceLock::new();
        if let Ok(uri) = data.uri.to_string().parse::<Uri>() {
            data.uri = uri;
        }
        RequestInfo(Arc::new(data))
    }

    /// The same request, marked as received over TLS (see [`Secure`]).
    pub fn secured(mut self) -> Self {
        Arc::make_mut(&mut self.0).secure = true;
        self
    }

    /// Whether the request came over TLS.
    pub fn secure(&self) -> bool {
        self.0.secure
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.0.method
    }

    /// The request URI (path and query).
    pub fn uri(&self) -> &Uri {
        &self.0.uri
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        self.0
            .headers
            .get_or_init(|| Box::new(self.0.packed.as_ref().map(PackedHeaders::unpack).unwrap_or_default()))
    }

    /// The peer address, when known.
    pub fn remote_addr(&self) -> Option<SocketAddr> {
        self.0.remote_addr
    }

    /// When the request arrived.
    pub fn time(&self) -> SystemTime {
        self.0.time
    }

    /// The decoded query parameters, in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        self.0.query.get_or_init(|| {
            let query = self.0.uri.query().unwrap_or_default();
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
        })
    }

    /// The first value of query parameter `name`.
    pub fn query(&self, name: &str) -> Option<&str> {
        if self.0.query.get().is_none() {
            // Read straight from the URI while nothing on the way needs decoding: the engine looks up
            // `sid`, `EIO` and `transport` on every request, which then decodes nothing and allocates
            // nothing.
            let plain = |s: &str| !s.contains(['%', '+']);
            let mut needs_decoding = false;
            for part in self.0.uri.query().unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
                let (key, value) = part.split_once('=').unwrap_or((part, ""));
                if !plain(key) {
                    needs_decoding = true;
                    break;
                }
                if key == name {
                    if plain(value) {
                        return Some(value);
                    }
                    needs_decoding = true;
                    break;
                }
            }
            if !needs_decoding {
                return None;
            }
        }
        self.query_pairs().iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A header as text, when present and visible ASCII.
    pub fn header(&self, name: impl header::AsHeaderName) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }
}

/// Headers packed for keeping: every name and value one after the other in one buffer, and the length
/// of each.
#[derive(Clone)]
struct PackedHeaders {
    bytes: Bytes,
    /// `(name length, value length)` of each header, in order.
    lengths: Box<[(u32, u32)]>,
}

impl PackedHeaders {
    fn pack(headers: &HeaderMap) -> Self {
        let size = headers.iter().map(|(n, v)| n.as_str().len() + v.len()).sum();
        let mut bytes = Vec::with_capacity(size);
        let mut lengths = Vec::with_capacity(headers.len());
        for (name, value) in headers {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(value.as_bytes());
            lengths.push((name.as_str().len() as u32, value.len() as u32));
        }
        PackedHeaders { bytes: Bytes::from(bytes), lengths: lengths.into_boxed_slice() }
    }

    /// The headers as a map; the values share the packed buffer.
    fn unpack(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(self.lengths.len());
        let mut at = 0;
        for &(name_len, value_len) in self.lengths.iter() {
            let (name_end, value_end) = (at + name_len as usize, at + name_len as usize + value_len as usize);
            let name = HeaderName::from_bytes(&self.bytes[at..name_end]);
            let value = HeaderValue::from_maybe_shared(self.bytes.slice(name_end..value_end));
            // Both were a valid name and value when packed.
            if let (Ok(name), Ok(value)) = (name, value) {
                headers.append(name, value);
            }
            at = value_end;
        }
        headers
    }
}

/// The JSON error response of a refused request: `{"code":N,"message":"..."}`.
pub(crate) fn error_response(code: ErrorCode, message: &str) -> Response<EngineBody> {
    let body = serde_json::json!({ "code": code as u8, "message": message }).to_string();
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = code.status();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// Marks a response that must not get the CORS headers (see [`upgrade_error_response`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct NoCors;

/// The answer to a refused websocket upgrade request, as the reference writes it on the raw socket:
/// `400 Bad Request`, `text/html`, the bare message, no CORS headers, and the connection closed.
pub(crate) fn upgrade_error_response(message: &str) -> Response<EngineBody> {
    let mut res = Response::new(Full::new(Bytes::from(message.to_owned())));
    *res.status_mut() = StatusCode::BAD_REQUEST;
    let headers = res.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    res.extensions_mut().insert(NoCors);
    res
}

/// Marks a request the reference drops without an answer (a polling POST still being read when its
/// session closes). The standalone server closes the connection without a response; through
/// [`crate::EngineIo::handle`] it is an empty `400` with `Connection: close`.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// The response of a request to drop (see [`DropConnection`]).
pub(crate) fn drop_connection_response() -> Response<EngineBody> {
    let mut res = empty_response(StatusCode::BAD_REQUEST);
    res.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    res.extensions_mut().insert(DropConnection);
    res
}

/// Adds `token` to the `Vary` header (one header, comma-separated, as the `vary` package writes it).
pub(crate) fn add_vary(headers: &mut HeaderMap, token: &str) {
    let current = headers.get(header::VARY).and_then(|v| v.to_str().ok()).unwrap_or("");
    if current.split(',').any(|t| t.trim().eq_ignore_ascii_case(token) || t.trim() == "*") {
        return;
    }
    let value = if current.trim().is_empty() { token.to_owned() } else { format!("{current}, {token}") };
    set_header(headers, header::VARY, &value);
}

/// A response with a status and no body.
pub(crate) fn empty_response(status: StatusCode) -> Response<EngineBody> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

/// Whether a header value holds only characters a field value may hold (the reference's
/// `checkInvalidHeaderChar`).
pub(crate) fn is_valid_header_value(v: &[u8]) -> bool {
    v.iter().all(|b| *b == b'\t' || (0x20..=0x7e).contains(b) || *b >= 0x80)
}

impl CorsConfig {
    /// The `Access-Control-Allow-Origin` value for a request from `origin`, or `None` when not allowed.
    fn allow_origin(&self, origin: Option<&str>) -> Option<String> {
        match &self.origin {
            CorsOrigin::Any => Some("*".into()),
            CorsOrigin::Fixed(o) => Some(o.clone()),
            CorsOrigin::Mirror => origin.map(str::to_owned),
            CorsOrigin::List(list) => origin.filter(|o| list.iter().any(|l| l == o)).map(str::to_owned),
            CorsOrigin::Predicate(p) => origin.filter(|o| p(o)).map(str::to_owned),
        }
    }

    /// Adds the CORS headers of a normal (non-preflight) response.
    pub(crate) fn apply(&self, request_headers: &HeaderMap, headers: &mut HeaderMap) {
        let origin = request_headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
        let mut allowed = false;
        if let Some(allow) = self.allow_origin(origin).and_then(|o| HeaderValue::from_str(&o).ok()) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            allowed = true;
        }
        if !matches!(self.origin, CorsOrigin::Any) {
            add_vary(headers, "Origin");
        }
        // Credentials only for origins named by the configuration: never with `*`, and never with an
        // origin reflected whatever it is (which would hand any site the user's cookies).
        let explicit =
            matches!(self.origin, CorsOrigin::Fixed(_) | CorsOrigin::List(_) | CorsOrigin::Predicate(_));
        if self.credentials && explicit && allowed {
            headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        }
        if !self.exposed_headers.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&self.exposed_headers.join(",")) {
                headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
            }
        }
    }

    /// The answer to a preflight `OPTIONS` request: 204 with the allowed methods and headers.
    pub(crate) fn preflight(&self, request_headers: &HeaderMap) -> Response<EngineBody> {
        let mut res = empty_response(StatusCode::NO_CONTENT);
        let headers = res.headers_mut();
        self.apply(request_headers, headers);
        if let Ok(v) = HeaderValue::from_str(&self.methods.join(",")) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
        }
        match &self.allowed_headers {
            Some(list) => {
                if let Ok(v) = HeaderValue::from_str(&list.join(",")) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
                }
            }
            None => {
                // As the `cors` package: the answer varies on the requested headers even when there are none.
                add_vary(headers, "Access-Control-Request-Headers");
                if let Some(v) = request_headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
                    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v.clone());
                }
            }
        }
        if let Some(max_age) = self.max_age {
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age));
        }
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        res
    }
}

/// A content coding the engine can compress with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
}

/// Picks gzip or deflate from `Accept-Encoding` by quality (gzip first on a tie), or none.
pub(crate) fn negotiate_coding(headers: &HeaderMap) -> Option<Coding> {
    let mut best: Option<(Coding, f32)> = None;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let coding = match name.as_str() {
                "gzip" | "*" => Coding::Gzip,
                "deflate" => Coding::Deflate,
                _ => continue,
            };
            if q > 0.0
                && best.is_none_or(|(c, bq)| {
                    q > bq || (q == bq && c == Coding::Deflate && coding == Coding::Gzip)
                })
            {
                best = Some((coding, q));
            }
        }
    }
    best.map(|(c, _)| c)
}

/// Compresses `data` with `coding`.
pub(crate) fn compress(coding: Coding, data: &[u8]) -> std::io::Result<Vec<u8>> {
    let level = flate2::Compression::default();
    match coding {
        Coding::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::with_capacity(data.len() / 2), level);
            e.write_all(data)?;
            e.finish()
        }
        Coding::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::with_capacity(data.len() / 2), level);
            e.write_all(data)?;
            e.finish()
        }
    }
}

/// Adds `name: value` unless the value is not a valid header.
pub(crate) fn set_header(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn coding_negotiation_follows_quality() {
        assert_eq!(negotiate_coding(&HeaderMap::new()), None);
        assert_eq!(negotiate_coding(&accept("gzip, deflate, br")), Some(Coding::Gzip));
        assert_eq!(negotiate_coding(&accept("deflate")), Some(Coding::Deflate));
        assert_eq!(negotiate_coding(&accept("gzip;q=0.5, deflate")), Some(Coding::Deflate));
        assert_eq!(negotiate_coding(&accept("gzip;q=0")), None);
        assert_eq!(negotiate_coding(&accept("identity")), None);
        assert_eq!(negotiate_coding(&accept("*")), Some(Coding::Gzip));
    }

    #[test]
    fn query_is_decoded() {
        let r = RequestInfo::new(
            Method::GET,
            "/engine.io/?EIO=4&transport=polling&x=a%20b".parse().unwrap(),
            HeaderMap::new(),
            None,
        );
        assert_eq!(r.query("EIO"), Some("4"));
        assert_eq!(r.query("x"), Some("a b"));
        assert_eq!(r.query("sid"), None);
        // Read from the URI as it is, or decoded: the same answers.
        let uri = "/e/?a=1&&b&c=x+y&d%41=2&e=3&a=4&f=%zz";
        let fresh = || RequestInfo::new(Method::GET, uri.parse().unwrap(), HeaderMap::new(), None);
        let decoded = fresh();
        assert_eq!(decoded.query_pairs().len(), 7);
        for name in ["a", "b", "c", "dA", "e", "f", "missing", ""] {
            assert_eq!(fresh().query(name), decoded.query(name), "{name}");
        }
        assert_eq!(fresh().query("a"), Some("1"));
        assert_eq!(fresh().query("b"), Some(""));
        assert_eq!(fresh().query("c"), Some("x y"));
        assert_eq!(fresh().query("dA"), Some("2"));
        assert_eq!(fresh().query("f"), Some("%zz"));
    }

    #[test]
    fn header_value_check_matches_the_reference() {
        assert!(is_valid_header_value(b"https://example.com"));
        assert!(is_valid_header_value("caf\u{e9}".as_bytes()));
        assert!(!is_valid_header_value(b"a\x00b"));
        assert!(!is_valid_header_value(b"a\nb"));
    }

    #[test]
    fn a_detached_request_keeps_every_header_and_the_query() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("example.com"));
        headers.append(header::COOKIE, HeaderValue::from_static("a=1"));
        headers.append(header::COOKIE, HeaderValue::from_static("b=2"));
        headers.insert("x-custom-name", HeaderValue::from_static(""));
        headers.insert("x-bytes", HeaderValue::from_bytes(b"caf\xe9 \t ok").unwrap());
        let uri: Uri = "/socket.io/?EIO=4&transport=websocket&token=a%20b&token=c".parse().unwrap();
        let r = RequestInfo::new(Method::GET, uri, headers.clone(), None);
        assert_eq!(r.query("EIO"), Some("4"));
        let d = r.detached();
        assert_eq!(d.headers(), &headers);
        let cookies: Vec<_> = d.headers().get_all(header::COOKIE).iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(d.header("x-custom-name"), Some(""));
        assert_eq!(d.headers().get("x-bytes").map(|v| v.as_bytes()), Some(&b"caf\xe9 \t ok"[..]));
        assert_eq!(
            d.query_pairs(),
            [("EIO", "4"), ("transport", "websocket"), ("token", "a b"), ("token", "c")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert_eq!(d.uri().path(), "/socket.io/");
        // No headers at all.
        let empty = RequestInfo::new(Method::GET, "/".parse().unwrap(), HeaderMap::new(), None).detached();
        assert!(empty.headers().is_empty());
    }
}
