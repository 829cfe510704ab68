//! The admin UI's authentication and modes (`socketio_admin`), with the Rust client playing the
//! UI. The protocol itself (stats, notifications, commands) is checked against the official client and
//! the Node implementation in `conformance/tests/admin-ui.test.mjs`.

#![allow(clippy::unwrap_used)]

use socketio_admin::{instrument, AdminAuth, AdminError, AdminMode, AdminOptions, RedisStore};
use socketio_client::{ClientBuilder, Socket as ClientSocket, Transport};
use socketio_e2e::client::start;
use socketio_server::parser::Value;
use socketio_server::{ServerConfig, SocketIo};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

/// The bcrypt hash of "changeit" (cost 4, so that the tests stay fast).
const HASH: &str = "$2a$04$fLEqu3L7DGuxjayAFXUmduqjpMZ6WRNHrhJn1fRdH.uim4k5LUD8u";

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

async fn admin_server(options: AdminOptions) -> (SocketIo, SocketAddr) {
    let (io, addr) = start(ServerConfig::default()).await;
    instrument(&io, options).unwrap();
    (io, addr)
}

/// An admin client (not yet connected) whose events go to the returned channel as (name, args).
fn ui(
    addr: SocketAddr,
    auth: serde_json::Value,
) -> (ClientSocket, mpsc::UnboundedReceiver<(String, Vec<Value>)>) {
    let socket = ClientBuilder::new(format!("http://{addr}/admin"))
        .transports(&[Transport::Websocket])
        .force_new(true)
        .auth(auth)
        .build()
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    for event in ["session", "config", "all_sockets", "server_stats"] {
        let tx = tx.clone();
        socket.on(event, move |_s, e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((e.name.clone(), e.args.clone()));
            }
        });
    }
    (socket, rx)
}

async fn next_event(rx: &mut mpsc::UnboundedReceiver<(String, Vec<Value>)>, name: &str) -> Vec<Value> {
    loop {
        let (event, args) = within(rx.recv()).await.unwrap();
        if event == name {
            return args;
        }
    }
}

#[tokio::test]
async fn basic_auth_checks_the_password_and_hands_out_reusable_sessions() {
    let (_io, addr) = admin_server(AdminOptions::new(AdminAuth::basic("admin", HASH).unwrap())).await;
    for auth in [
        serde_json::json!({}),
        serde_json::json!({"username": "admin", "password": "wrong"}),
        serde_json::json!({"username": "admin"}),
        serde_json::json!({"username": "root", "password": "changeit"}),
        serde_json::json!({"sessionId": "0123456789abcdef"}),
    ] {
        let (socket, _) = ui(addr, auth.clone());
        let error = within(socket.connect()).await.unwrap_err();
        assert_eq!(error.message, "invalid credentials", "{auth}");
    }

    let (socket, mut events) = ui(addr, serde_json::json!({"username": "admin", "password": "changeit"}));
    within(socket.connect()).await.unwrap();
    let session = next_event(&mut events, "session").await;
    let session = session[0].as_str().unwrap().to_string();
    assert_eq!(session.len(), 16);
    assert!(session.chars().all(|c| c.is_ascii_hexdigit()), "{session}");
    let config = next_event(&mut events, "config").await;
    assert_eq!(config[0]["supportedFeatures"].as_array().unwrap().len(), 9);

    // The session id alone logs in again (as the UI does on reload).
    let (again, mut events) = ui(addr, serde_json::json!({"sessionId": session}));
    within(again.connect()).await.unwrap();
    next_event(&mut events, "config").await;
}

#[tokio::test]
async fn a_redis_store_shares_the_sessions_between_nodes() {
    socketio_e2e::require_redis!();
    let prefix = socketio_e2e::unique_key("admin-sessions");
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect(socketio_e2e::redis_url()).await.unwrap().prefix(prefix.clone());
        let mut options = AdminOptions::new(AdminAuth::basic("admin", HASH).unwrap());
        options.store = std::sync::Arc::new(store);
        nodes.push(admin_server(options).await);
    }
    let (socket, mut events) =
        ui(nodes[0].1, serde_json::json!({"username": "admin", "password": "changeit"}));
    within(socket.connect()).await.unwrap();
    let session = next_event(&mut events, "session").await[0].as_str().unwrap().to_string();

    // Stored as the reference's RedisStore stores it: `<prefix>#<id>` = "true", for a day.
    let client = redis::Client::open(socketio_e2e::redis_url()).unwrap();
    let mut redis = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}#{session}");
    let value: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut redis).await.unwrap();
    assert_eq!(value.as_deref(), Some("true"));
    let ttl: i64 = redis::cmd("TTL").arg(&key).query_async(&mut redis).await.unwrap();
    assert!((86_000..=86_400).contains(&ttl), "ttl {ttl}");

    // The other node takes the session; an unknown one, or one of another prefix, it refuses.
    let (again, mut events) = ui(nodes[1].1, serde_json::json!({"sessionId": session}));
    within(again.connect()).await.unwrap();
    next_event(&mut events, "config").await;
    let (guessed, _) = ui(nodes[1].1, serde_json::json!({"sessionId": format!("{session}0")}));
    assert_eq!(within(guessed.connect()).await.unwrap_err().message, "invalid credentials");
    let (_other_io, other_prefix) = admin_server({
        let mut options = AdminOptions::new(AdminAuth::basic("admin", HASH).unwrap());
        options.store = std::sync::Arc::new(RedisStore::connect(socketio_e2e::redis_url()).await.unwrap());
        options
    })
    .await;
    let (elsewhere, _) = ui(other_prefix, serde_json::json!({"sessionId": session}));
    assert_eq!(within(elsewhere.connect()).await.unwrap_err().message, "invalid credentials");

    // Once expired, a session is gone.
    let _: () = redis::cmd("EXPIRE").arg(&key).arg(0).query_async(&mut redis).await.unwrap();
    let (expired, _) = ui(nodes[1].1, serde_json::json!({"sessionId": session}));
    assert_eq!(within(expired.connect()).await.unwrap_err().message, "invalid credentials");
}

#[tokio::test]
async fn readonly_production_mode_only_reports_stats_and_ignores_commands() {
    let mut options = AdminOptions::new(AdminAuth::None);
    options.readonly = true;
    options.mode = AdminMode::Production;
    options.server_id = Some("solo".into());
    let (io, addr) = admin_server(options).await;
    let user =
        ClientBuilder::new(format!("http://{addr}/")).transports(&[Transport::Websocket]).build().unwrap();
    within(user.connect()).await.unwrap();
    let user_id = user.id().unwrap();

    let (admin, mut events) = ui(addr, serde_json::json!({}));
    within(admin.connect()).await.unwrap();
    let config = next_event(&mut events, "config").await;
    assert_eq!(config[0]["supportedFeatures"], Value::from(serde_json::json!(["AGGREGATED_EVENTS"])));
    admin.emit("join", ("/", "sneaky", user_id.clone())).unwrap();
    admin.emit("_disconnect", ("/", true)).unwrap();
    // Stats come every 2 s; by the next one the commands have long been read (and ignored).
    next_event(&mut events, "server_stats").await;
    let stats = next_event(&mut events, "server_stats").await;
    assert_eq!(stats[0]["serverId"], Value::from("solo"));
    let socket = io.of("/").socket(&user_id).expect("still connected");
    assert!(!socket.rooms().iter().any(|r| r.as_str() == "sneaky"));
    assert!(user.connected());
    // No all_sockets in production mode: nothing but config and stats arrived.
    while let Ok((event, _)) = events.try_recv() {
        assert!(event == "server_stats", "unexpected {event}");
    }
}

#[tokio::test]
async fn the_namespace_allow_list_hides_and_protects_other_namespaces() {
    let mut options = AdminOptions::new(AdminAuth::None);
    options.namespaces = Some(vec!["/chat".into()]);
    options.server_id = Some("listed".into());
    let (io, addr) = admin_server(options).await;
    let (hidden, chat) = (io.of("/"), io.of("/chat"));
    let mut users = Vec::new();
    for nsp in ["/", "/chat"] {
        let user = ClientBuilder::new(format!("http://{addr}{nsp}"))
            .transports(&[Transport::Websocket])
            .build()
            .unwrap();
        within(user.connect()).await.unwrap();
        users.push(user);
    }
    let (root_id, chat_id) = (users[0].id().unwrap(), users[1].id().unwrap());

    let (admin, mut events) = ui(addr, serde_json::json!({}));
    within(admin.connect()).await.unwrap();
    let all = next_event(&mut events, "all_sockets").await;
    let listed: Vec<(&str, &str)> = all[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["nsp"].as_str().unwrap(), s["id"].as_str().unwrap()))
        .collect();
    assert!(listed.contains(&("/chat", chat_id.as_str())), "{listed:?}");
    assert!(listed.iter().all(|(nsp, _)| *nsp != "/"), "the root namespace is not listed: {listed:?}");

    // A command on a namespace off the list is ignored; on a listed one it is carried out.
    admin.emit("join", ("/", "sneaky", root_id.clone())).unwrap();
    admin.emit("join", ("/chat", "team", chat_id.clone())).unwrap();
    let stats = next_event(&mut events, "server_stats").await;
    let names: Vec<&str> =
        stats[0]["namespaces"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
    assert_eq!(names.iter().filter(|n| **n == "/").count(), 0, "{names:?}");
    assert!(names.contains(&"/chat") && names.contains(&"/admin"), "{names:?}");
    next_event(&mut events, "server_stats").await;
    let in_room = |nsp: &socketio_server::Namespace, id: &str, room: &str| {
        nsp.socket(id).unwrap().rooms().iter().any(|r| r.as_str() == room)
    };
    assert!(in_room(&chat, &chat_id, "team"));
    assert!(!in_room(&hidden, &root_id, "sneaky"));
}

#[tokio::test]
async fn options_are_checked() {
    assert_eq!(AdminAuth::basic("admin", "changeit").unwrap_err(), AdminError::InvalidPasswordHash);
    let (io, _addr) = admin_server(AdminOptions::new(AdminAuth::None)).await;
    assert_eq!(
        instrument(&io, AdminOptions::new(AdminAuth::None)).unwrap_err(),
        AdminError::AlreadyInstrumented
    );
}

/// A store that counts its lookups.
#[derive(Default)]
struct CountingStore {
    lookups: std::sync::atomic::AtomicUsize,
}

#[socketio_admin::async_trait]
impl socketio_admin::AdminSessionStore for CountingStore {
    async fn contains(&self, _: &str) -> bool {
        self.lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        false
    }
    async fn save(&self, _: &str) {}
}

#[tokio::test]
async fn only_session_ids_of_a_sane_length_reach_the_store() {
    let store = std::sync::Arc::new(CountingStore::default());
    let mut options = AdminOptions::new(AdminAuth::basic("admin", HASH).unwrap());
    options.store = store.clone();
    let (_io, addr) = admin_server(options).await;
    for session in [String::new(), "f".repeat(100_000), "0123456789abcdef".to_string()] {
        let (socket, _) = ui(addr, serde_json::json!({"sessionId": session}));
        assert_eq!(within(socket.connect()).await.unwrap_err().message, "invalid credentials");
    }
    // Only the last one was looked up.
    assert_eq!(store.lookups.load(std::sync::atomic::Ordering::SeqCst), 1);
}
