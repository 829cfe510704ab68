//! The hostile-input catalogue, through real sockets: each bad input ends with a clean outcome (a clear
//! error, or only the offending connection closed), and a bystander connected beside it goes on
//! unaffected. Engine-level cases (oversized POSTs and frames, a client that stops reading, concurrent
//! transports for one sid) are in engineio-server's tests; parser-level ones in socketio-parser's.

#![allow(clippy::unwrap_used)]

use socketio_e2e::client::{start, Client};
use socketio_server::parser::{JsonParser, Value};
use socketio_server::{ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A server whose `/` answers `echo` with its arguments through the ack.
async fn echo_server(config: ServerConfig) -> (SocketIo, SocketAddr) {
    let (io, addr) = start(config).await;
    io.on_connection(|socket: Socket| async move {
        socket.on("echo", |_s, args: Vec<Value>, ack| async move {
            if let Some(ack) = ack {
                let _ = ack.send(args);
            }
        });
    });
    (io, addr)
}

/// The bystander still gets its echo.
async fn still_served(bystander: &mut Client) {
    bystander.send_raw(r#"4231["echo","still here"]"#).await;
    let (id, args) = bystander.recv_ack().await;
    assert_eq!((id, args), (31, vec![Value::from("still here")]));
}

#[tokio::test]
async fn malformed_packets_close_only_their_own_connection() {
    let (io, addr) = echo_server(ServerConfig::default()).await;
    let (mut bystander, _) = Client::connect(addr, "/", None).await;
    let deep = format!(r#"42["echo",{}{}]"#, "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, Vec<Message>)> = vec![
        ("10^6 attachments announced, none sent", vec![Message::Text(r#"451000000-["echo"]"#.into())]),
        (
            "attachments beyond the cap",
            vec![Message::Text(r#"4511-["echo",{"_placeholder":true,"num":0}]"#.into())],
        ),
        ("JSON nested 10^5 deep", vec![Message::Text(deep.into())]),
        ("an ack id beyond u64", vec![Message::Text(r#"4299999999999999999999999["echo"]"#.into())]),
        ("a binary frame with no attachment pending", vec![Message::Binary(vec![1u8, 2, 3].into())]),
        (
            "a text packet in the middle of a binary one",
            vec![
                Message::Text(r#"451-["echo",{"_placeholder":true,"num":0}]"#.into()),
                Message::Text(r#"42["echo"]"#.into()),
            ],
        ),
        ("an unknown packet type", vec![Message::Text("49".into())]),
    ];
    for (what, messages) in cases {
        let (mut client, _) = Client::connect(addr, "/", None).await;
        for message in messages {
            client.send_message(message).await;
        }
        tokio::time::timeout(Duration::from_secs(5), client.closed())
            .await
            .unwrap_or_else(|_| panic!("{what}: the connection was not closed"));
        still_served(&mut bystander).await;
    }
    assert_eq!(io.engine().clients_count(), 1, "only the bystander is left");
}

#[tokio::test]
async fn the_largest_ack_id_comes_back_as_it_was_sent() {
    let (_io, addr) = echo_server(ServerConfig::default()).await;
    let (mut client, _) = Client::connect(addr, "/", None).await;
    client.send_raw(&format!(r#"42{}["echo",1]"#, u64::MAX)).await;
    assert_eq!(client.recv_ack().await, (u64::MAX, vec![Value::from(1)]));
}

#[tokio::test]
async fn a_one_megabyte_namespace_name_is_too_large_or_an_invalid_namespace() {
    // With the default 1 MB buffer, the CONNECT packet of such a name is too large: only that
    // connection closes (the engine's cap; see engineio-server's tests).
    let (io, addr) = echo_server(ServerConfig::default()).await;
    let mut bystander = Client::open(addr, Arc::new(JsonParser::default())).await;
    bystander.join("/", None).await.unwrap();
    let mut client = Client::open(addr, Arc::new(JsonParser::default())).await;
    let name = format!("/{}", "n".repeat(1 << 20));
    // (The server may close the connection before the frame is all written: the send's outcome is not
    // the point.)
    client.send_message(Message::Text(format!("40{name},").into())).await;
    client.closed().await;
    still_served(&mut bystander).await;
    assert_eq!(io.engine().clients_count(), 1);

    // With a buffer that lets it through, it is an unknown namespace.
    let mut config = ServerConfig::default();
    config.engine.max_http_buffer_size = 2 << 20;
    let (io, addr) = echo_server(config).await;
    let created = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = created.clone();
    io.on_new_namespace(move |nsp| seen.lock().unwrap().push(nsp.name().len()));
    let mut client = Client::open(addr, Arc::new(JsonParser::default())).await;
    let err = client.join(&name, None).await.unwrap_err();
    assert_eq!(err, Value::from(serde_json::json!({"message": "Invalid namespace"})));
    // The connection stays usable, and nothing was created for that name.
    assert!(client.join("/", None).await.is_ok());
    still_served(&mut client).await;
    assert_eq!(io.engine().clients_count(), 1);
    assert_eq!(*created.lock().unwrap(), Vec::<usize>::new());
}

#[tokio::test]
async fn thousands_of_namespaces_on_one_connection() {
    let (io, addr) = echo_server(ServerConfig::default()).await;
    let rooms = io.of_regex(r"^/n-\d+$").unwrap();
    let (mut bystander, _) = Client::connect(addr, "/", None).await;
    let mut client = Client::open(addr, Arc::new(JsonParser::default())).await;
    for i in 0..2_000 {
        client.join(&format!("/n-{i}"), None).await.unwrap();
        // Unknown ones are refused, and nothing is created for them.
        if i % 100 == 0 {
            assert!(client.join(&format!("/unknown-{i}"), None).await.is_err());
        }
    }
    still_served(&mut bystander).await;
    client.close().await;
    // Every child's socket goes with the connection.
    tokio::time::timeout(Duration::from_secs(10), async {
        while io.engine().clients_count() > 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the connection's sockets are gone");
    assert!(rooms.sockets().is_empty());
}

#[tokio::test]
async fn connections_that_never_send_connect_are_closed_by_the_connect_timeout() {
    let config = ServerConfig { connect_timeout: Duration::from_millis(200), ..ServerConfig::default() };
    let (io, addr) = echo_server(config).await;
    let (mut joined, _) = Client::connect(addr, "/", None).await;
    let mut idle = Vec::new();
    for _ in 0..200 {
        idle.push(Client::open(addr, Arc::new(JsonParser::default())).await);
    }
    for client in &mut idle {
        tokio::time::timeout(Duration::from_secs(5), client.closed())
            .await
            .expect("closed by connectTimeout");
    }
    assert_eq!(io.engine().clients_count(), 1);
    still_served(&mut joined).await;
}
