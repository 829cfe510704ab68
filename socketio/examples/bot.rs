//! A bot on the Rust client: connects to the URL given on the command line, asks to join a room,
//! answers `ping` with an ack, prints what it receives, and reconnects when the server restarts.
//!
//! ```text
//! cargo run -p socketio --features client --example bot -- http://localhost:3000/ [room]
//! ```
//!
//! Against the reference app (`cargo run -p socketio --example reference -- --port 3000`), the bot joins
//! its room through the app's `join` event. Any other server works too: a server without a `join`
//! event never acknowledges it, and the bot says so after 5 s, while it answers `ping` all along
//! (handlers never hold each other back, as in socket.io-client).

use socketio::client::{AckError, ClientBuilder, ManagerEvent};
use socketio::parser::Value;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "http://localhost:3000/".to_string());
    let room = args.next().unwrap_or_else(|| "bots".to_string());
    let socket = match ClientBuilder::new(url.clone()).auto_connect(false).build() {
        Ok(socket) => socket,
        Err(e) => {
            eprintln!("bot: {e}");
            std::process::exit(2);
        }
    };
    socket.manager().on(|event| match event {
        ManagerEvent::ReconnectAttempt(n) => println!("reconnecting (attempt {n})"),
        ManagerEvent::Reconnect(n) => println!("reconnected after {n} attempt(s)"),
        ManagerEvent::Close(reason) => println!("connection closed: {reason}"),
        _ => {}
    });
    // Each (re)connection: join the room again (a new session has no rooms).
    let joined_room = room.clone();
    socket.on_connect(move |socket| {
        let room = joined_room.clone();
        async move {
            println!("connected as {}", socket.id().unwrap_or_default());
            let join = socket.timeout(Duration::from_secs(5)).emit_with_ack("join", (room.as_str(),));
            match join.await {
                Ok(_) => println!("joined {room}"),
                Err(AckError::Timeout) => {
                    println!(
                        "the server did not acknowledge joining {room} within 5 s (has it a `join` event?)"
                    )
                }
                Err(e) => println!("could not join {room}: {e}"),
            }
        }
    });
    socket.on_connect_error(|_socket, error| async move { println!("connect error: {error}") });
    socket.on_disconnect(|_socket, reason| async move { println!("disconnected: {reason}") });
    socket.on("ping", |_socket, mut event| async move {
        println!("ping {:?}", event.args);
        let _ = event.ack(("pong",));
    });
    socket.on_any(|name, args: &[Value]| println!("received {name} {args:?}"));
    socket.open();
    println!("bot for {url}; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    socket.disconnect();
}
