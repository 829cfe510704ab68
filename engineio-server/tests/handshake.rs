//! Handshakes and refused requests: error codes, hooks, CORS, cookie, id generation.

#![allow(clippy::unwrap_used)]

mod common;

use common::{start, Event};
use engineio_server::{CookieConfig, CorsConfig, CorsOrigin, EngineConfig, TransportKind};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn polling_handshake_announces_the_reference_defaults() {
    let mut server = start(EngineConfig::default()).await;
    let (sid, h) = server.handshake().await;
    assert_eq!(h.upgrades, vec!["websocket"]);
    assert_eq!((h.ping_interval, h.ping_timeout, h.max_payload), (25000, 20000, Some(1_000_000)));
    // 128 random bits, URL-safe base64 without padding.
    assert_eq!(sid.len(), 22);
    assert!(sid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{sid}");
    assert_eq!(
        server
            .wait_for(|e| match e {
                Event::Connection(s) => Some(s.clone()),
                _ => None,
            })
            .await,
        sid
    );
    assert_eq!(server.engine.clients_count(), 1);
    let (other, _) = server.handshake().await;
    assert_ne!(sid, other);
    assert_eq!(server.engine.clients_count(), 2);
}

#[tokio::test]
async fn upgrades_follow_the_transports_and_allow_upgrades() {
    let server =
        start(EngineConfig { transports: vec![TransportKind::Polling], ..EngineConfig::default() }).await;
    assert!(server.handshake().await.1.upgrades.is_empty());
    let server = start(EngineConfig { allow_upgrades: false, ..EngineConfig::default() }).await;
    assert!(server.handshake().await.1.upgrades.is_empty());
}

#[tokio::test]
async fn refused_requests_get_the_reference_codes_and_events() {
    let mut server = start(EngineConfig::default()).await;
    let cases: Vec<(&str, &str, u16, u8, &str)> = vec![
        ("GET", "/engine.io/?EIO=4&transport=carrier-pigeon", 400, 0, "Transport unknown"),
        ("GET", "/engine.io/?EIO=4", 400, 0, "Transport unknown"),
        ("GET", "/engine.io/?EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown"),
        ("POST", "/engine.io/?EIO=4&transport=polling", 400, 2, "Bad handshake method"),
        ("PUT", "/engine.io/?EIO=4&transport=polling", 400, 2, "Bad handshake method"),
        ("GET", "/engine.io/?EIO=4&transport=websocket", 400, 3, "Bad request"),
        ("GET", "/engine.io/?EIO=3&transport=polling", 400, 5, "Unsupported protocol version"),
        ("GET", "/engine.io/?transport=polling", 400, 5, "Unsupported protocol version"),
    ];
    for (method, path, status, code, message) in cases {
        let res = server.request(method, path, &[], b"").await;
        assert_eq!(res.status, status, "{method} {path}");
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(res.json(), serde_json::json!({"code": code, "message": message}), "{method} {path}");
        let (c, m) = server
            .wait_for(|e| match e {
                Event::ConnectionError(c, m, _) => Some((*c, m.clone())),
                _ => None,
            })
            .await;
        assert_eq!((c, m.as_str()), (code, message));
    }
    assert_eq!(server.engine.clients_count(), 0);
}

#[tokio::test]
async fn connection_error_context_names_the_problem() {
    let mut server = start(EngineConfig::default()).await;
    server.get("/engine.io/?EIO=4&transport=polling&sid=abc").await;
    let ctx = server
        .wait_for(|e| match e {
            Event::ConnectionError(1, _, c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ctx, serde_json::json!({"sid": "abc"}));
    let (sid, _) = server.handshake().await;
    // A polling session asked for with another transport and no upgrade: TRANSPORT_MISMATCH.
    let res = server.get(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}")).await;
    assert_eq!(res.json()["code"], 3);
    let ctx = server
        .wait_for(|e| match e {
            Event::ConnectionError(3, _, c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ctx["name"], "TRANSPORT_MISMATCH");
    assert_eq!(ctx["previousTransport"], "polling");
    // The same session with another protocol revision: PROTOCOL_MISMATCH.
    let res = server.get(&format!("/engine.io/?EIO=3&transport=polling&sid={sid}")).await;
    assert_eq!(res.json()["code"], 3);
    let ctx = server
        .wait_for(|e| match e {
            Event::ConnectionError(3, _, c) => Some(c.clone()),
            _ => None,
        })
        .await;
    assert_eq!(ctx["name"], "PROTOCOL_MISMATCH");
}

#[tokio::test]
async fn allow_request_refuses_with_403_and_its_message() {
    let config = EngineConfig {
        allow_request: Some(Arc::new(|req: engineio_server::RequestInfo| {
            let token = req.query("token").map(str::to_owned);
            Box::pin(async move {
                // An async hook: it may look things up before deciding.
                tokio::time::sleep(Duration::from_millis(1)).await;
                match token.as_deref() {
                    Some("good") => Ok(()),
                    _ => Err("invalid token".to_string()),
                }
            })
        })),
        ..EngineConfig::default()
    };
    let mut server = start(config).await;
    let res = server.get("/engine.io/?EIO=4&transport=polling&token=bad").await;
    assert_eq!(res.status, 403);
    assert_eq!(res.json(), serde_json::json!({"code": 4, "message": "invalid token"}));
    let code = server
        .wait_for(|e| match e {
            Event::ConnectionError(c, _, _) => Some(*c),
            _ => None,
        })
        .await;
    assert_eq!(code, 4);
    let res = server.get("/engine.io/?EIO=4&transport=polling&token=good").await;
    assert_eq!(res.status, 200);
    assert!(res.text().starts_with("0{"));
}

#[tokio::test]
async fn generate_id_hook_names_sessions() {
    let config = EngineConfig {
        generate_id: Some(Arc::new(|req: &engineio_server::RequestInfo| {
            format!("custom-{}", req.query("n").unwrap_or("0"))
        })),
        ..EngineConfig::default()
    };
    let server = start(config).await;
    let res = server.get("/engine.io/?EIO=4&transport=polling&n=7").await;
    assert!(res.text().contains(r#""sid":"custom-7""#), "{}", res.text());
    assert!(server.engine.socket("custom-7").is_some());
    // A duplicate id is refused rather than hijacking the first session.
    let res = server.get("/engine.io/?EIO=4&transport=polling&n=7").await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn cors_is_off_unless_configured() {
    let server = start(EngineConfig::default()).await;
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://a.example")], b"")
        .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("access-control-allow-origin"), None);
    // Without CORS, a preflight is just a non-GET handshake.
    let res = server
        .request("OPTIONS", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://a.example")], b"")
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["code"], 2);
}

#[tokio::test]
async fn cors_any_origin_and_preflight() {
    let server = start(EngineConfig { cors: Some(CorsConfig::default()), ..EngineConfig::default() }).await;
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://a.example")], b"")
        .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let res = server
        .request(
            "OPTIONS",
            "/engine.io/?EIO=4&transport=polling",
            &[("Origin", "https://a.example"), ("Access-Control-Request-Headers", "x-token")],
            b"",
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    assert_eq!(res.header("access-control-allow-methods"), Some("GET,HEAD,PUT,PATCH,POST,DELETE"));
    assert_eq!(res.header("access-control-allow-headers"), Some("x-token"));
    // Error responses carry the CORS headers too, so the page can read them.
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=nope", &[("Origin", "https://a.example")], b"")
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn credentials_need_an_explicit_origin() {
    for origin in [CorsOrigin::Any, CorsOrigin::Mirror] {
        let cors = CorsConfig { origin, credentials: true, ..CorsConfig::default() };
        let server = start(EngineConfig { cors: Some(cors), ..EngineConfig::default() }).await;
        let res = server
            .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://any.example")], b"")
            .await;
        assert_eq!(res.status, 200);
        assert!(res.header("access-control-allow-origin").is_some());
        assert_eq!(res.header("access-control-allow-credentials"), None);
    }
    let cors = CorsConfig {
        origin: CorsOrigin::Fixed("https://app.example".into()),
        credentials: true,
        ..CorsConfig::default()
    };
    let server = start(EngineConfig { cors: Some(cors), ..EngineConfig::default() }).await;
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://app.example")], b"")
        .await;
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
}

#[tokio::test]
async fn cors_origin_list_with_credentials() {
    let cors = CorsConfig {
        origin: CorsOrigin::List(vec!["https://good.example".into()]),
        credentials: true,
        max_age: Some(600),
        ..CorsConfig::default()
    };
    let server = start(EngineConfig { cors: Some(cors), ..EngineConfig::default() }).await;
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://good.example")], b"")
        .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("https://good.example"));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(res.header("vary"), Some("Origin"));
    let res = server
        .request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://evil.example")], b"")
        .await;
    assert_eq!(res.header("access-control-allow-origin"), None);
    assert_eq!(res.header("access-control-allow-credentials"), None);
    let res = server
        .request("OPTIONS", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://good.example")], b"")
        .await;
    assert_eq!(res.header("access-control-max-age"), Some("600"));
    let pred = CorsConfig {
        origin: CorsOrigin::Predicate(Arc::new(|o| o.ends_with(".ok"))),
        ..CorsConfig::default()
    };
    let server = start(EngineConfig { cors: Some(pred), ..EngineConfig::default() }).await;
    let res =
        server.request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", "http://x.ok")], b"").await;
    assert_eq!(res.header("access-control-allow-origin"), Some("http://x.ok"));
}

#[tokio::test]
async fn cookie_is_set_on_the_handshake_only() {
    let server =
        start(EngineConfig { cookie: Some(CookieConfig::default()), ..EngineConfig::default() }).await;
    let res = server.get("/engine.io/?EIO=4&transport=polling").await;
    let sid = serde_json::from_str::<serde_json::Value>(&res.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(res.header("set-cookie"), Some(format!("io={sid}; Path=/; HttpOnly; SameSite=Lax").as_str()));
    let res = server.post(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}"), b"4x").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("set-cookie"), None);
    let server = start(EngineConfig::default()).await;
    assert_eq!(server.get("/engine.io/?EIO=4&transport=polling").await.header("set-cookie"), None);
}

struct HeaderHooks;

impl engineio_server::Handler for HeaderHooks {
    fn on_initial_headers(&self, headers: &mut http::HeaderMap, _req: &engineio_server::RequestInfo) {
        headers.insert("x-initial", http::HeaderValue::from_static("1"));
    }
    fn on_headers(&self, headers: &mut http::HeaderMap, _req: &engineio_server::RequestInfo) {
        headers.insert("x-every", http::HeaderValue::from_static("1"));
    }
}

#[tokio::test]
async fn header_hooks_edit_transport_responses() {
    let engine = engineio_server::EngineIo::new(EngineConfig::default(), HeaderHooks);
    let handle = engine.listen("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let (tx, events) = tokio::sync::mpsc::unbounded_channel::<Event>();
    drop(tx);
    let server = common::TestServer { engine, addr: handle.local_addr(), events, _handle: handle };
    let res = server.get("/engine.io/?EIO=4&transport=polling").await;
    assert_eq!((res.header("x-initial"), res.header("x-every")), (Some("1"), Some("1")));
    let sid = serde_json::from_str::<serde_json::Value>(&res.text()[1..]).unwrap()["sid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = server.post(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}"), b"4x").await;
    assert_eq!((res.header("x-initial"), res.header("x-every")), (None, Some("1")));
}

#[tokio::test]
async fn other_paths_are_not_the_engine() {
    let server = start(EngineConfig::default()).await;
    assert_eq!(server.get("/other?EIO=4&transport=polling").await.status, 404);
    let server = start(EngineConfig { path: "/socket.io".into(), ..EngineConfig::default() }).await;
    assert_eq!(server.get("/socket.io/?EIO=4&transport=polling").await.status, 200);
    assert_eq!(server.get("/engine.io/?EIO=4&transport=polling").await.status, 404);
}

/// A websocket upgrade request's answer: status, headers and body, when the server does not switch.
async fn refused_upgrade(server: &common::TestServer, query: &str) -> (u16, Vec<(String, String)>, String) {
    use tokio_tungstenite::tungstenite::Error;
    let url = format!("ws://{}/engine.io/?{query}", server.addr);
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url).unwrap();
    request.headers_mut().insert("origin", "https://a.example".parse().unwrap());
    match tokio_tungstenite::connect_async(request).await {
        Err(Error::Http(res)) => {
            let headers = res
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect();
            let body = String::from_utf8_lossy(res.body().as_deref().unwrap_or_default()).into_owned();
            (res.status().as_u16(), headers, body)
        }
        Err(e) => panic!("expected an HTTP refusal, got {e}"),
        Ok(_) => panic!("expected an HTTP refusal, the websocket opened"),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn refused_upgrade_requests_get_a_bare_400_as_the_reference_writes_it() {
    let config = EngineConfig {
        cors: Some(CorsConfig::default()),
        allow_request: Some(Arc::new(|req: engineio_server::RequestInfo| {
            let refused = req.query("deny").is_some();
            Box::pin(async move {
                if refused {
                    Err("Forbidden".to_string())
                } else {
                    Ok(())
                }
            })
        })),
        ..EngineConfig::default()
    };
    let mut server = start(config).await;
    for (query, message) in [
        ("EIO=4&transport=websocket&sid=nope", "Session ID unknown"),
        ("EIO=4&transport=nope", "Transport unknown"),
        ("EIO=4&transport=websocket&deny=1", "Forbidden"),
        ("EIO=3&transport=websocket", "Unsupported protocol version"),
    ] {
        let (status, headers, body) = refused_upgrade(&server, query).await;
        // 400 whatever the code (403 included), the bare message, no CORS headers, and no keep-alive.
        assert_eq!((status, body.as_str()), (400, message), "{query}");
        assert_eq!(header(&headers, "content-type"), Some("text/html"), "{query}");
        assert_eq!(header(&headers, "connection"), Some("close"), "{query}");
        assert_eq!(header(&headers, "access-control-allow-origin"), None, "{query}");
    }
    // The connection_error event still has the code.
    let code = server
        .wait_for(|e| match e {
            Event::ConnectionError(c, m, _) if m == "Forbidden" => Some(*c),
            _ => None,
        })
        .await;
    assert_eq!(code, 4);
    // Without the websocket transport, an upgrade request is a plain request: the JSON error.
    let server =
        start(EngineConfig { transports: vec![TransportKind::Polling], ..EngineConfig::default() }).await;
    let (status, _, body) = refused_upgrade(&server, "EIO=4&transport=websocket").await;
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!({"code": 0, "message": "Transport unknown"})
    );
}

#[tokio::test]
async fn cors_fixed_origin_and_vary() {
    let cors = CorsConfig { origin: CorsOrigin::Fixed("https://a.example".into()), ..CorsConfig::default() };
    let server = start(EngineConfig { cors: Some(cors), ..EngineConfig::default() }).await;
    // The same origin whoever asks (the browser enforces it), varying on Origin.
    for origin in ["https://a.example", "https://b.example"] {
        let res =
            server.request("GET", "/engine.io/?EIO=4&transport=polling", &[("Origin", origin)], b"").await;
        assert_eq!(res.header("access-control-allow-origin"), Some("https://a.example"));
        assert_eq!(res.header("vary"), Some("Origin"));
    }
    // A preflight varies on the requested headers even when there are none, in one Vary header.
    let res = server
        .request("OPTIONS", "/engine.io/?EIO=4&transport=polling", &[("Origin", "https://b.example")], b"")
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some("https://a.example"));
    assert_eq!(res.header("vary"), Some("Origin, Access-Control-Request-Headers"));
    assert_eq!(res.header("access-control-allow-headers"), None);
}
