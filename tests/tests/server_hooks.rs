//! The server-wide hooks that extensions build on (the admin UI among them): what they report, and when,
//! as a client's actions trigger them.

#![allow(clippy::unwrap_used)]

use socketio_client::{ClientBuilder, Transport};
use socketio_e2e::client::{start, Client};
use socketio_server::engine::{CloseReason, Handler, SessionEvent, Socket as Connection, TransportKind};
use socketio_server::parser::{Packet, Value};
use socketio_server::{ServerConfig, Socket};
use std::time::Duration;
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

#[tokio::test]
async fn connected_and_disconnected_hooks_follow_sockets_of_every_namespace() {
    let (io, addr) = start(ServerConfig::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    {
        let tx = tx.clone();
        io.on_socket_connected(move |socket| {
            tx.send(format!("connected {}", socket.nsp())).unwrap();
        });
    }
    {
        let tx = tx.clone();
        io.on_socket_disconnected(move |socket, reason| {
            // The socket has left its rooms by now.
            let rooms = socket.rooms().len();
            tx.send(format!("disconnected {} {} rooms={rooms}", socket.nsp(), reason.as_str())).unwrap();
        });
    }
    for name in ["/", "/chat"] {
        let tx = tx.clone();
        io.of(name).on_connection(move |socket: Socket| {
            let tx = tx.clone();
            async move {
                tx.send(format!("handler {}", socket.nsp())).unwrap();
                let tx = tx.clone();
                socket.on_disconnect(move |socket, _| {
                    let tx = tx.clone();
                    async move { tx.send(format!("own disconnect handler {}", socket.nsp())).unwrap() }
                });
            }
        });
    }

    let (mut client, main_sid) = Client::connect(addr, "/", None).await;
    let chat_sid = client.join("/chat", None).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(within(rx.recv()).await.unwrap());
    }
    // Each namespace's hook runs before the namespace's connection handlers.
    assert_eq!(seen, ["connected /", "handler /", "connected /chat", "handler /chat"]);

    // Both sockets belong to one engine connection.
    let main = io.sockets().socket(&main_sid).unwrap();
    let mut sockets: Vec<String> =
        io.connection_sockets(main.conn().id()).iter().map(|s| s.id().to_string()).collect();
    sockets.sort();
    let mut expected = vec![main_sid.clone(), chat_sid.clone()];
    expected.sort();
    assert_eq!(sockets, expected);

    client.send(Packet::disconnect("/chat")).await;
    assert_eq!(within(rx.recv()).await.unwrap(), "disconnected /chat client namespace disconnect rooms=0");
    assert_eq!(within(rx.recv()).await.unwrap(), "own disconnect handler /chat");
    client.close().await;
    assert_eq!(within(rx.recv()).await.unwrap(), "disconnected / transport close rooms=0");
    assert_eq!(within(rx.recv()).await.unwrap(), "own disconnect handler /");
    assert!(io.connection_sockets(main.conn().id()).is_empty(), "none once the connection closed");
}

#[tokio::test]
async fn data_hooks_see_changes_and_add_to_what_fetch_sockets_returns() {
    let (io, addr) = start(ServerConfig::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    io.on_socket_data(move |socket| tx.send(socket.data_value()).unwrap());
    io.on_fetched_data(|socket, data| {
        if let Value::Object(map) = data {
            map.insert("nsp".into(), Value::from(socket.nsp()));
        }
    });
    io.on_connection(|socket: Socket| async move {
        socket.set_data(&serde_json::json!({ "name": "ada" })).unwrap();
    });
    let (_client, sid) = Client::connect(addr, "/", None).await;
    assert_eq!(within(rx.recv()).await.unwrap(), Value::from(serde_json::json!({ "name": "ada" })));

    let fetched = within(io.fetch_sockets()).await.unwrap();
    assert_eq!(fetched.len(), 1);
    assert_eq!(fetched[0].id, sid);
    assert_eq!(fetched[0].data, Value::from(serde_json::json!({ "name": "ada", "nsp": "/" })));
    // The socket's own data is left as it was.
    let socket = io.sockets().socket(&sid).unwrap();
    assert_eq!(socket.data_value(), Value::from(serde_json::json!({ "name": "ada" })));
}

/// What an engine handler saw, in order.
#[derive(Debug, PartialEq)]
enum Seen {
    Connection(TransportKind),
    Upgrade,
    /// A message packet from the client (in) or to it (out).
    Message {
        incoming: bool,
    },
    Close(CloseReason),
}

struct Recorder(mpsc::UnboundedSender<Seen>);

impl Handler for Recorder {
    fn on_connection(&self, conn: &Connection) {
        let _ = self.0.send(Seen::Connection(conn.transport()));
    }

    fn on_close(&self, _conn: &Connection, reason: CloseReason, _description: Option<&str>) {
        let _ = self.0.send(Seen::Close(reason));
    }

    fn on_session_event(&self, _conn: &Connection, event: SessionEvent<'_>) {
        let is_message = |p: &socketio_server::engine::parser::Packet| {
            p.ty == socketio_server::engine::parser::PacketType::Message
        };
        let seen = match event {
            SessionEvent::Upgrade(_) => Seen::Upgrade,
            SessionEvent::Packet(p) if is_message(p) => Seen::Message { incoming: true },
            SessionEvent::PacketCreate(p) if is_message(p) => Seen::Message { incoming: false },
            _ => return,
        };
        let _ = self.0.send(seen);
    }
}

#[tokio::test]
async fn engine_handlers_added_later_see_connections_upgrades_messages_and_closes() {
    let (io, addr) = start(ServerConfig::default()).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    io.add_engine_handler(Recorder(tx));
    io.on_connection(|socket: Socket| async move {
        socket.on("echo", |_socket, args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
    });

    let socket = ClientBuilder::new(format!("http://{addr}/"))
        .transports(&[Transport::Polling, Transport::Websocket])
        .force_new(true)
        .build()
        .unwrap();
    within(socket.connect()).await.unwrap();
    assert_eq!(within(rx.recv()).await.unwrap(), Seen::Connection(TransportKind::Polling));
    // The CONNECT packet in, its answer out; then, sooner or later, the upgrade.
    loop {
        match within(rx.recv()).await.unwrap() {
            Seen::Message { .. } => {}
            Seen::Upgrade => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(within(socket.emit_with_ack("echo", ("x",))).await.unwrap(), vec![Value::from("x")]);
    assert_eq!(within(rx.recv()).await.unwrap(), Seen::Message { incoming: true });
    assert_eq!(within(rx.recv()).await.unwrap(), Seen::Message { incoming: false });

    socket.disconnect();
    loop {
        match within(rx.recv()).await.unwrap() {
            // The client's DISCONNECT packet, then its connection closing.
            Seen::Message { incoming: true } => {}
            Seen::Close(reason) => {
                assert!(
                    matches!(reason, CloseReason::TransportClose | CloseReason::ForcedClose),
                    "{reason:?}"
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
