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
//! The `bot` example (`cargo run -p socketio --features client --example bot`) is a complete client that
//! joins a room, answers pings and reports its reconnections.
