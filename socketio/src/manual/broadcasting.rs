//! Rooms and broadcasting.
//!
//! A socket joins and leaves **rooms** (names of your choosing; each socket is also in a room named by
//! its own id). Broadcast operators pick the recipients: `to` (rooms to include; several calls add up),
//! `except` (rooms to leave out), `broadcast()` (everyone but the sender), `local()` (this node only, in
//! a cluster), `volatile()` (may be dropped when the client is not ready), `timeout()` with
//! `emit_with_ack` (collect an answer from every recipient).
//!
//! ```
//! use socketio::prelude::*;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let io = SocketIo::new(ServerConfig::default());
//! io.on_connection(|socket| async move {
//!     socket.on("join", |socket, (room,): (String,), _ack| async move {
//!         socket.join(room.clone());
//!         // Everyone in the room but the newcomer.
//!         let _ = socket.to(room.clone()).emit("joined", (socket.id(),));
//!     });
//!     socket.on("shout", |socket, (room, text): (String, String), _ack| async move {
//!         // Everyone in the room (the sender too), except the muted.
//!         let _ = socket.namespace().to(room).except("muted").emit("shout", (text,));
//!     });
//! });
//!
//! // From outside any handler: the whole namespace, a room, with acknowledgements.
//! let _ = io.emit("announcement", ("maintenance at noon",));
//! let answers = io.to("lobby").timeout(Duration::from_secs(2)).emit_with_ack("ready?", ()).await;
//! println!("{answers:?}");
//! # }
//! ```
//!
//! # Acting on sockets in bulk
//!
//! The same operators fetch and move sockets, across the cluster when an adapter connects several
//! nodes:
//!
//! ```
//! use socketio::prelude::*;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), AckError> {
//! let io = SocketIo::new(ServerConfig::default());
//! // Every socket of the room "lobby" joins "game-1", then the room is listed.
//! io.to("lobby").sockets_join("game-1").await?;
//! for socket in io.to("game-1").fetch_sockets().await? {
//!     println!("{} is in {:?}", socket.id, socket.rooms);
//! }
//! // Close every connection of the room.
//! io.to("game-1").disconnect_sockets(true).await?;
//! # Ok(())
//! # }
//! ```
