//! How the Rust client runs its handlers, over real sockets against our server: as in socket.io-client,
//! each is started in the order its event arrived, and one that awaits (an ack that never comes) holds
//! back no other; a panicking handler leaves the socket working; the blocking facade keeps its order.

#![allow(clippy::unwrap_used)]

use socketio_client::{ClientBuilder, Socket as ClientSocket};
use socketio_e2e::client::start;
use socketio_server::parser::Value;
use socketio_server::{ServerConfig, Socket, SocketIo};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

/// A server that never answers `never-acked`, and on `send` emits each of its arguments as an event
/// (`[name, args...]` pairs), in order.
async fn server() -> (SocketIo, SocketAddr) {
    let (io, addr) = start(ServerConfig::default()).await;
    io.on_connection(|socket: Socket| async move {
        socket.on("send", |s: Socket, events: Vec<Value>, _| async move {
            for event in events {
                let Value::Array(mut parts) = event else { continue };
                let name = parts.remove(0);
                let _ = s.emit(name.as_str().unwrap(), parts);
            }
        });
        socket.on("burst", |s: Socket, (n,): (u64,), _| async move {
            for i in 0..n {
                let _ = s.emit("n", (i,));
            }
        });
    });
    (io, addr)
}

async fn client(addr: SocketAddr) -> ClientSocket {
    let socket = ClientBuilder::new(format!("http://{addr}/")).auto_connect(false).build().unwrap();
    within(socket.connect()).await.unwrap();
    socket
}

fn send(socket: &ClientSocket, events: &[&str]) {
    let events: Vec<Value> = events.iter().map(|name| Value::Array(vec![Value::from(*name)])).collect();
    socket.emit("send", events).unwrap();
}

#[tokio::test]
async fn a_handler_awaiting_an_ack_that_never_comes_holds_back_no_other_event() {
    let (_io, addr) = server().await;
    let socket = client(addr).await;
    let (tx, mut seen) = mpsc::unbounded_channel();
    let waiting = tx.clone();
    socket.on("first", move |s, _| {
        let tx = waiting.clone();
        async move {
            tx.send("first started").unwrap();
            // The server has no listener for it: no answer, ever.
            let _ = s.emit_with_ack("never-acked", ()).await;
            tx.send("first ended").unwrap();
        }
    });
    socket.on("second", move |_, _| {
        let tx = tx.clone();
        async move { tx.send("second").unwrap() }
    });
    send(&socket, &["first", "second"]);
    assert_eq!(within(seen.recv()).await.unwrap(), "first started");
    assert_eq!(within(seen.recv()).await.unwrap(), "second");
    // Still waiting: the pending handler was not dropped, it fails once the socket disconnects.
    socket.disconnect();
    assert_eq!(within(seen.recv()).await.unwrap(), "first ended");
}

#[tokio::test]
async fn a_connect_handler_awaiting_an_ack_that_never_comes_holds_back_no_event() {
    let (io, addr) = server().await;
    // The server greets every socket as soon as it connects.
    io.on_connection(|socket: Socket| async move {
        let _ = socket.emit("welcome", ());
    });
    let socket = ClientBuilder::new(format!("http://{addr}/")).auto_connect(false).build().unwrap();
    let (tx, mut seen) = mpsc::unbounded_channel();
    let connected = tx.clone();
    socket.on_connect(move |s| {
        let tx = connected.clone();
        async move {
            tx.send("connect").unwrap();
            let _ = s.emit_with_ack("never-acked", ("join",)).await;
            tx.send("joined").unwrap();
        }
    });
    socket.on("welcome", move |_, _| {
        let tx = tx.clone();
        async move { tx.send("welcome").unwrap() }
    });
    within(socket.connect()).await.unwrap();
    assert_eq!(within(seen.recv()).await.unwrap(), "connect");
    assert_eq!(within(seen.recv()).await.unwrap(), "welcome");
    // The connect handler was still waiting all along: its ack fails at the disconnection.
    socket.disconnect();
    assert_eq!(within(seen.recv()).await.unwrap(), "joined");
}

#[tokio::test]
async fn the_synchronous_parts_of_a_thousand_events_run_in_order() {
    let (_io, addr) = server().await;
    let socket = client(addr).await;
    let started = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let order = started.clone();
    socket.on("n", move |_, event| {
        let order = order.clone();
        let done = done_tx.clone();
        async move {
            let (i,): (u64,) = event.parse().unwrap();
            order.lock().unwrap().push(i);
            // Some finish at once, others after waits of different lengths: they end out of order.
            if i % 3 != 0 {
                tokio::time::sleep(Duration::from_millis((1000 - i) % 7)).await;
            }
            done.send(i).unwrap();
        }
    });
    socket.emit("burst", (1000,)).unwrap();
    let mut finished = Vec::new();
    while finished.len() < 1000 {
        finished.push(within(done.recv()).await.unwrap());
    }
    assert_eq!(*started.lock().unwrap(), (0..1000).collect::<Vec<u64>>());
    finished.sort_unstable();
    assert_eq!(finished, (0..1000).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_panicking_handler_is_reported_and_the_socket_goes_on() {
    let (_io, addr) = server().await;
    let socket = client(addr).await;
    let (tx, mut seen) = mpsc::unbounded_channel();
    socket.on("boom-now", |_, _| async move { panic!("a handler panics before awaiting") });
    socket.on("boom-later", |_, _| async move {
        tokio::task::yield_now().await;
        panic!("a handler panics after awaiting")
    });
    socket.on("after", move |_, _| {
        let tx = tx.clone();
        async move { tx.send("after").unwrap() }
    });
    send(&socket, &["boom-now", "boom-later", "after", "boom-now", "after"]);
    assert_eq!(within(seen.recv()).await.unwrap(), "after");
    assert_eq!(within(seen.recv()).await.unwrap(), "after");
    // Later events are still handled, and the socket still sends.
    send(&socket, &["after"]);
    assert_eq!(within(seen.recv()).await.unwrap(), "after");
    assert!(socket.connected());
}

#[test]
fn the_blocking_facade_keeps_its_order_and_its_synchronous_handlers() {
    use socketio_client::blocking;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (_io, addr) = runtime.block_on(server());
    let socket = blocking::Socket::connect(ClientBuilder::new(format!("http://{addr}/"))).unwrap();
    let (handled_tx, handled) = std::sync::mpsc::channel();
    socket.on("n", move |event| {
        let (i,): (u64,) = event.parse().unwrap();
        handled_tx.send(i).unwrap();
    });
    socket.emit("burst", (200,)).unwrap();
    let mut received = Vec::new();
    while received.len() < 200 {
        let event = socket.recv_timeout(Duration::from_secs(5)).expect("an event");
        assert_eq!(event.name, "n");
        received.push(event.args[0].as_u64().unwrap());
    }
    assert_eq!(received, (0..200).collect::<Vec<u64>>());
    // The synchronous handler ran for each one, in the same order.
    let handled: Vec<u64> = (0..200).map(|_| handled.recv_timeout(Duration::from_secs(5)).unwrap()).collect();
    assert_eq!(handled, (0..200).collect::<Vec<u64>>());
}

/// `on("connect")`, `on("connect_error")` and `on("disconnect")`, as a port from socket.io-client
/// writes them, are the lifecycle handlers.
#[tokio::test]
async fn connect_connect_error_and_disconnect_listeners_are_the_lifecycle_handlers() {
    let (io, addr) = server().await;
    io.of("/private").use_middleware(|_: Socket| async move {
        Err(socketio_server::ConnectError::new("not allowed")
            .with_data(Value::from(serde_json::json!({"code": 7}))))
    });
    let socket = ClientBuilder::new(format!("http://{addr}/")).auto_connect(false).build().unwrap();
    let (tx, mut seen) = mpsc::unbounded_channel();
    let connected = tx.clone();
    socket.on("connect", move |s, event| {
        let tx = connected.clone();
        async move { tx.send(format!("connect {} {}", event.args.len(), s.connected())).unwrap() }
    });
    socket.on("disconnect", move |_, event| {
        let tx = tx.clone();
        async move {
            let (reason,): (String,) = event.parse().unwrap();
            tx.send(format!("disconnect {reason}")).unwrap()
        }
    });
    within(socket.connect()).await.unwrap();
    assert_eq!(within(seen.recv()).await.unwrap(), "connect 0 true");
    socket.disconnect();
    assert_eq!(within(seen.recv()).await.unwrap(), "disconnect io client disconnect");

    let refused = ClientBuilder::new(format!("http://{addr}/private")).auto_connect(false).build().unwrap();
    let (tx, mut errors) = mpsc::unbounded_channel();
    refused.on("connect_error", move |_, event| {
        let tx = tx.clone();
        async move { tx.send(event.args).unwrap() }
    });
    let refusal = within(refused.connect()).await.unwrap_err();
    assert_eq!(refusal.message, "not allowed");
    let args = within(errors.recv()).await.unwrap();
    assert_eq!(args, vec![Value::from(serde_json::json!({"message": "not allowed", "data": {"code": 7}}))]);
}
