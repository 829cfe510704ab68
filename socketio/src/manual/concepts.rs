//! Concepts: the server, namespaces, sockets, events, acknowledgements, middlewares (of connections and
//! of packets).
//!
//! A [`SocketIo`](crate::SocketIo) server carries Socket.IO over Engine.IO connections (HTTP
//! long-polling, upgraded to a websocket when the client can). Each client connection joins one or more
//! **namespaces** (`/` by default; `io.of("/chat")` for others); its presence in a namespace is a
//! [`Socket`](crate::Socket), with an id of its own.
//!
//! # Events and acknowledgements
//!
//! An event has a name and any number of JSON-like arguments (binary included). Handlers take the
//! arguments deserialized into the type you name: a tuple for several, a `Vec<Value>` for any.
//! When the client asked for an acknowledgement, the handler gets an [`AckSender`](crate::server::AckSender).
//!
//! ```
//! use socketio::prelude::*;
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Move {
//!     x: i32,
//!     y: i32,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_connection(|socket| async move {
//!     // One argument, an object.
//!     socket.on("move", |socket, (m,): (Move,), _ack| async move {
//!         let _ = socket.broadcast().emit("moved", (socket.id(), m.x, m.y));
//!     });
//!     // Any arguments; answer through the acknowledgement.
//!     socket.on("sum", |_socket, numbers: Vec<i64>, ack| async move {
//!         if let Some(ack) = ack {
//!             let _ = ack.send((numbers.iter().sum::<i64>(),));
//!         }
//!     });
//!     // Ask the client, and wait for its answer at most 5 s.
//!     let reply = socket.timeout(std::time::Duration::from_secs(5)).emit_with_ack("hello?", ()).await;
//!     if let Ok(args) = reply {
//!         println!("the client said {args:?}");
//!     }
//! });
//! # }
//! ```
//!
//! Arguments that do not fit the handler's type are not an error the client sees: the handler is not
//! called, as a JavaScript handler would get `undefined` fields.
//!
//! # Middlewares and connection errors
//!
//! A namespace's middlewares run in order for each connection attempt; the first error refuses it, and
//! the client gets a `connect_error` with the message (and optional `data`) you chose, and nothing more.
//!
//! ```
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! let admin = io.of("/admin");
//! admin.use_middleware(|socket: Socket| async move {
//!     match socket.handshake().auth.get("token").and_then(Value::as_str) {
//!         Some("s3cret") => Ok(()),
//!         _ => Err(ConnectError::new("not authorized")
//!             .with_data(Value::from(serde_json::json!({ "retry": false })))),
//!     }
//! });
//! admin.on_connection(|socket| async move {
//!     socket.on_disconnect(|_socket, reason| async move {
//!         println!("admin left: {reason}");
//!     });
//! });
//! # }
//! ```
//!
//! # Packet middlewares and the `error` event
//!
//! A socket's packet middlewares (`socket.use`) see each incoming event as `[name, ...args]`, one after
//! the other, and pass it on (changed or not) or refuse it with a [`SocketError`](crate::server::SocketError):
//! a refused event reaches no listener, and the error, with its message and data, goes to the socket's
//! `on_error` listeners. They are async: a middleware may look something up before it answers, and the
//! socket's later events wait for it, so that listeners still see events in the order they came.
//!
//! ```
//! use socketio::prelude::*;
//! use socketio::server::SocketError;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_connection(|socket| async move {
//!     socket.use_packet_middleware(|socket, packet: Vec<Value>| async move {
//!         let muted = socket.data::<bool>().unwrap_or(false);
//!         if muted && packet[0] == "chat message" {
//!             return Err(SocketError::new("muted").with_data(Value::from("chat message")));
//!         }
//!         Ok(packet)
//!     });
//!     socket.on_error(|socket, error| {
//!         let _ = socket.emit("refused", (error.message.clone(), error.data.clone()));
//!     });
//! });
//! # }
//! ```
//!
//! # Dynamic namespaces
//!
//! `of_regex` (or `of_dynamic` with any async predicate) accepts namespaces that match when a client
//! first connects to them; each becomes a child namespace sharing the parent's handlers.
//!
//! ```
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! let workspaces = io.of_regex(r"^/workspace-\d+$").expect("a valid pattern");
//! workspaces.on_connection(|socket| async move {
//!     let _ = socket.emit("welcome", (socket.nsp(),));
//! });
//! # }
//! ```
//!
//! # Data and extensions
//!
//! `socket.set_data(&value)` keeps serializable data with the socket: it travels with `fetch_sockets`
//! to other nodes and survives connection state recovery. `socket.extensions()` holds any Rust value,
//! local to this node.
