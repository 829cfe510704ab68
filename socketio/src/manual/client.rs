//! The Rust client: connects to any Socket.IO 4.x server (Node or Rust), over websocket or polling with
//! upgrade, reconnects with backoff, multiplexes namespaces on one connection, and recovers its session
//! when the server has connection state recovery.
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let socket = ClientBuilder::new("http://localhost:3000/chat")
//!     .auth(serde_json::json!({ "token": "s3cret" }))
//!     .build()?;
//! socket.on("chat message", |_socket, event| async move {
//!     println!("{:?}", event.args);
//! });
//! socket.on_disconnect(|_socket, reason| async move {
//!     println!("disconnected: {reason}");
//! });
//! socket.connect().await?;
//! socket.emit("chat message", ("hello from Rust",))?;
//! // An acknowledged emit: waits for the server's answer.
//! let answer = socket.emit_with_ack("sum", (1, 2, 3)).await?;
//! println!("sum = {answer:?}");
//! socket.disconnect();
//! # Ok(())
//! # }
//! ```
//!
//! ## URLs, connections and cookies, as in socket.io-client
//!
//! - The URL's path is the namespace and its query goes with every Engine.IO request:
//!   `ClientBuilder::new("https://host/chat?token=abc")` joins `/chat` and the server finds `token` in
//!   `socket.handshake().query`. Parameters given with `.query(key, value)` are sent as well and replace
//!   a URL parameter of the same name (socket.io-client drops its `query` option when the URL has a
//!   query; here both are sent).
//! - Sockets of the same origin and path share one connection (one manager), and a socket that joins
//!   a shared connection takes that connection's options (query, headers, transports, credentials),
//!   not its own. A second socket for a namespace that the shared connection already has gets a
//!   connection of its own, as `io()` does, so that its own `auth` reaches the server; `force_new(true)`
//!   or `multiplex(false)` always give a connection of its own.
//! - `.with_credentials(true)` keeps the cookies the server (or a load balancer in front of it) sets,
//!   on the handshake, the polls, the posts and the websocket upgrade, and sends them back with the
//!   later requests of the connection and its reconnections, as `withCredentials` does in
//!   engine.io-client on Node.js. Behind a load balancer with cookie stickiness, polling needs it:
//!   without it the polls after the handshake may reach another node, which answers
//!   `Session ID unknown` (a `transport error`). `Path`, `Secure`, `Expires` and `Max-Age` are honoured;
//!   the jar is `socket.manager().options().engine.cookies`.
//!
//! ```no_run
//! # use socketio::prelude::*;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let socket = ClientBuilder::new("https://example.com/chat?token=abc")
//!     .with_credentials(true)
//!     .build()?;
//! # Ok(())
//! # }
//! ```
//!
//! ## How handlers run
//!
//! As in socket.io-client, and as on the server: every handler of a socket (events, `on_connect`,
//! `on_connect_error`, `on_disconnect`) is started in the order its event arrived, and the part of it
//! before its first `.await` runs in that order, before the next event's handlers start. From its first
//! `.await` on, a handler runs alongside the others, so a handler awaiting an answer that never comes
//! (an ack of a server without that listener) holds back no other event:
//!
//! ```no_run
//! # use socketio::prelude::*;
//! # use std::time::Duration;
//! # fn setup(socket: socketio::client::Socket) {
//! socket.on_connect(|socket| async move {
//!     // Waits up to 5 s; `ping` below is answered meanwhile.
//!     if socket.timeout(Duration::from_secs(5)).emit_with_ack("join", ("bots",)).await.is_err() {
//!         println!("join was not acknowledged");
//!     }
//! });
//! socket.on("ping", |_socket, mut event| async move {
//!     let _ = event.ack(("pong",));
//! });
//! # }
//! ```
//!
//! Work that must stay in order goes before the first `.await` (or through a channel to one task). A
//! handler that panics is reported through `tracing` and the socket goes on. The blocking facade
//! (`socketio::client::blocking`) takes synchronous handlers: they run one after the other, in order.
//!
//! The `bot` example (`cargo run -p socketio --features client --example bot`) is a complete client that
//! asks to join a room (and says when a server does not acknowledge it), answers pings and reports its
//! reconnections.
