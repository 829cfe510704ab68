//! Porting a Node `socket.io` 4.x app: what maps one to one, and what still differs and why.
//!
//! ## What maps one to one
//!
//! | Node | here |
//! |---|---|
//! | `io.on("connection", (socket) => …)` | [`SocketIo::on_connection`](crate::SocketIo::on_connection) |
//! | `socket.on("event", (a, b, ack) => …)` | `socket.on("event", \|socket, (a, b): (A, B), ack\| async move { … })` |
//! | a listener for every socket of a namespace | [`Namespace::on`](crate::Namespace::on) (registered once, not per socket) |
//! | `socket.on("disconnect", (reason) => …)`, `"disconnecting"` | the same names, or `on_disconnect` / `on_disconnecting` |
//! | `socket.emit("x", "hello")` | `socket.emit("x", "hello")` (one plain value, or a tuple for several) |
//! | `io.to(["a", "b"]).except("c").emit(…)` | `io.to(["a", "b"]).except("c").emit(…)` |
//! | `io.use((socket, next) => …)` | [`Namespace::use_middleware`](crate::Namespace::use_middleware) |
//! | `socket.request.user` set by an Express/connect middleware | `socket.conn().request().extensions()`, set by a tower/axum layer in front |
//! | `serveClient: true` | [`ServerConfig::serve_client`](crate::ServerConfig) with the bundle's folder |
//! | `io.close()` on shutdown | [`SocketIo::close`](crate::SocketIo::close), or `drain` to hand clients to other nodes |
//!
//! Handlers take their arguments as JavaScript hands them to a listener: a tuple of N takes the first N
//! arguments, a missing one is `null` (so an `Option` is `None`), extra ones are ignored, and `()` takes
//! any. A handler whose arguments still do not fit (a number where a `String` is declared) is not called:
//! the mismatch goes to the socket's `error` listeners ([`Socket::on_error`](crate::Socket::on_error))
//! and to `tracing`, and the client's ack waits (Node would call it with whatever came). Declare
//! `Option<T>` elements to answer a missing argument yourself (as the `chat` example does), and
//! `Vec<Value>` (or `Value` elements) where the handler passes on whatever it got or validates types
//! itself (as the reference app's `echo` and `to-room` do).
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! # fn setup(io: SocketIo) {
//! // Node: socket.on("join", (room, limit, ack) => …), with limit optional.
//! io.of("/").on("join", |socket: Socket, (room, limit): (String, Option<u32>), ack| async move {
//!     socket.join(room.clone());
//!     if let Some(ack) = ack {
//!         let _ = ack.send(("joined", room, limit.unwrap_or(100)));
//!     }
//! });
//! io.on_connection(|socket: Socket| async move {
//!     socket.on("disconnect", |_, (reason,): (String,), _| async move {
//!         println!("gone: {reason}");
//!     });
//! });
//! # }
//! ```
//!
//! ## What differs, and why
//!
//! - **Handlers are async and run concurrently.** Each is started in the order its event arrived, and
//!   the part before its first `.await` runs in that order; a handler awaiting something holds back no
//!   other (as JavaScript listeners). Work that must stay ordered belongs before the first `.await`.
//! - **Emits return a `Result`**, `Err` only for the caller's own mistakes, where Node would throw: a
//!   reserved event name, a value serde cannot turn into JSON or msgpack, or an adapter that failed to
//!   publish. Each is also logged at `warn` level, so `let _ = socket.emit(…)` hides nothing. An emit on
//!   a socket that has disconnected is `Ok` and does nothing, as in Node ([`Socket::connected`](crate::Socket::connected)
//!   tells, where it matters); `emit_with_ack` on it fails with `AckError::Disconnected`.
//! - **Acks**: `emit_with_ack` gives every argument of the answer (a broadcast, every client's:
//!   `Vec<Vec<Value>>`); `emit_with_ack_as::<T>` resolves as Node's `emitWithAck` does, with the first
//!   argument (of each client's answer, for a broadcast) deserialized into `T`.
//! - **Typed `socket.data`.** `set_data` takes any serializable value and `data::<T>()` reads it back;
//!   the value crosses nodes as JSON/msgpack as in Node, so only serializable state belongs there.
//!   Process-local state (handles, channels) goes in [`Socket::extensions`](crate::Socket::extensions).
//! - **One parser per server.** `ServerConfig::parser` picks JSON or msgpack for every namespace, as
//!   Node's `parser` option does; custom parsers implement the `Parser` trait.
//! - **Rust client (`socketio::client`)**: `io(url)` shares one connection per origin as the JS client
//!   does, with a connection of its own for a second socket on the same namespace; the URL's query goes
//!   with the handshake; `with_credentials(true)` keeps a cookie jar per manager (the JS client on
//!   Node.js keeps one per engine session).
