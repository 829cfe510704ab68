//! `ServerConfig::serve_client`: the client bundle under the server's path, as Node's `serveClient`,
//! with its `ETag`, `304` and gzip; a clear `404` for what is not served.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::{start, Client};
use socketio_server::ServerConfig;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 GET: the status, the headers (lower-case names) and the body.
async fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn the_client_bundle_is_served_with_its_etag_and_gzip() {
    // A package folder as npm lays it out: package.json, and the bundle in client-dist.
    let package = std::env::temp_dir().join(format!("socketio-serve-client-{}", std::process::id()));
    let dist = package.join("client-dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(package.join("package.json"), r#"{"name":"socket.io","version":"9.8.7"}"#).unwrap();
    let script = "/* the client */ ".repeat(200);
    std::fs::write(dist.join("socket.io.js"), &script).unwrap();
    std::fs::write(dist.join("socket.io.js.map"), "{}").unwrap();
    let config = ServerConfig { serve_client: Some(dist.clone()), ..ServerConfig::default() };
    let (_io, addr) = start(config).await;

    let (status, headers, body) = get(addr, "/socket.io/socket.io.js", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/javascript; charset=utf-8"));
    assert_eq!(header(&headers, "etag"), Some("\"9.8.7\""));
    assert_eq!(header(&headers, "cache-control"), Some("public, max-age=0"));
    assert_eq!(body, script.as_bytes());
    let (status, headers, _) = get(addr, "/socket.io/socket.io.js.map", &[]).await;
    assert_eq!((status, header(&headers, "content-type")), (200, Some("application/json; charset=utf-8")));
    // A client that has it gets 304, with the strong or the weak tag.
    for tag in ["\"9.8.7\"", "W/\"9.8.7\""] {
        let (status, _, body) = get(addr, "/socket.io/socket.io.js", &[("If-None-Match", tag)]).await;
        assert_eq!((status, body.len()), (304, 0));
    }
    // Compressed for a client that accepts gzip.
    let (status, headers, body) =
        get(addr, "/socket.io/socket.io.js", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!((status, header(&headers, "content-encoding")), (200, Some("gzip")));
    let mut unzipped = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut unzipped).unwrap();
    assert_eq!(unzipped, script);
    // A file of the bundle that the folder lacks: 404, saying why.
    let (status, _, body) = get(addr, "/socket.io/socket.io.min.js", &[]).await;
    assert_eq!(status, 404);
    assert!(String::from_utf8_lossy(&body).contains("serve_client"));
    // The protocol still works beside it.
    let (_client, sid) = Client::connect(addr, "/", None).await;
    assert_eq!(sid.len(), 20);
    let _ = std::fs::remove_dir_all(&package);
}

#[tokio::test]
async fn without_serve_client_the_bundle_is_a_clear_404() {
    let (_io, addr) = start(ServerConfig::default()).await;
    let (status, headers, body) = get(addr, "/socket.io/socket.io.js", &[]).await;
    assert_eq!(status, 404);
    assert_eq!(header(&headers, "content-type"), Some("text/plain; charset=utf-8"));
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("ServerConfig::serve_client") && text.contains("client-dist"), "{text}");
    // Other names under the path are still the engine's: an unknown transport.
    let (status, _, body) = get(addr, "/socket.io/?EIO=4&transport=carrier-pigeon", &[]).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("Transport unknown"));
}
