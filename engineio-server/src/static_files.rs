//! Files the engine serves under its path beside its protocol: the Socket.IO server puts the official
//! client bundle there (`/socket.io/socket.io.js`, as Node's `serveClient`). Loaded once, served from
//! memory with an `ETag` (and `304` for a client that has the file), gzip-compressed when the client
//! accepts it.

use crate::request::EngineBody;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use std::collections::HashMap;

/// One file: its content, gzip-compressed copy, and content type.
#[derive(Clone)]
struct StaticFile {
    body: Bytes,
    gzipped: Option<Bytes>,
    content_type: &'static str,
}

/// The files served under the engine's path, by file name (`socket.io.js`), and names answered `404`
/// with a hint (files the server knows of but was not given).
#[derive(Clone, Default)]
pub struct StaticFiles {
    files: HashMap<String, StaticFile>,
    hints: HashMap<String, String>,
    etag: String,
}

impl std::fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.files.keys().collect();
        names.sort();
        f.debug_struct("StaticFiles").field("files", &names).field("etag", &self.etag).finish()
    }
}

impl StaticFiles {
    /// No files yet; `version` makes their `ETag` (`"<version>"`, as Node's `serveClient` does with the
    /// client's version).
    pub fn new(version: &str) -> Self {
        StaticFiles { files: HashMap::new(), hints: HashMap::new(), etag: format!("\"{version}\"") }
    }

    /// Serves `body` as `name` with `content_type`.
    pub fn add(&mut self, name: &str, body: Bytes, content_type: &'static str) {
        let gzipped = crate::request::compress(crate::request::Coding::Gzip, &body).ok().map(Bytes::from);
        self.files.insert(name.to_string(), StaticFile { body, gzipped, content_type });
        self.hints.remove(name);
    }

    /// Answers `name`, when it has not been added, with `404` and `hint` (what to configure).
    pub fn missing(&mut self, name: &str, hint: &str) {
        if !self.files.contains_key(name) {
            self.hints.insert(name.to_string(), hint.to_string());
        }
    }

    /// The answer to a `GET` of `name`, if it is one of these files or hints.
    pub(crate) fn respond(&self, name: &str, headers: &HeaderMap) -> Option<Response<EngineBody>> {
        if let Some(hint) = self.hints.get(name) {
            let mut res = Response::new(Full::new(Bytes::from(hint.clone())));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            return Some(res);
        }
        let file = self.files.get(name)?;
        let etag = HeaderValue::from_str(&self.etag).ok();
        let weak = format!("W/{}", self.etag);
        let sent = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok());
        if sent.is_some_and(|tag| tag == self.etag || tag == weak) {
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            return Some(res);
        }
        let gzip = headers
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|c| c.trim().split(';').next() == Some("gzip")));
        let body = match (&file.gzipped, gzip) {
            (Some(gzipped), true) => gzipped.clone(),
            _ => file.body.clone(),
        };
        let mut res = Response::new(Full::new(body));
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=0"));
        if let Some(etag) = etag {
            h.insert(header::ETAG, etag);
        }
        if gzip && file.gzipped.is_some() {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Some(res)
    }
}
