//! Serving: standalone, in an axum app (tower `Layer`), in your own hyper service; CORS; TLS.
//!
//! The server answers on its path (`/socket.io/` by default, `ServerConfig::engine.path`) and leaves
//! every other request to you.
//!
//! # Standalone
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let io = SocketIo::new(ServerConfig::default());
//! let server = io.listen("0.0.0.0:3000".parse().unwrap()).await?;
//! println!("listening on {}", server.local_addr());
//! tokio::signal::ctrl_c().await?;
//! io.close().await; // closes every connection, as the reference's io.close()
//! # Ok(())
//! # }
//! ```
//!
//! # In an axum (or any tower) app
//!
//! [`SocketIo::layer`](crate::SocketIo::layer) is a `tower::Layer`: requests on the Socket.IO path go to
//! the server, all others to your router. State is shared the usual way: the router's state holds the
//! `SocketIo` (it is a cheap handle) so that HTTP handlers can emit, and the Socket.IO handlers capture
//! what they need. The `axum` example (`cargo run -p socketio --example axum`) is a complete app:
//!
//! ```no_run
//! use axum::{extract::State, routing::post, Router};
//! use socketio::prelude::*;
//!
//! #[derive(Clone)]
//! struct AppState {
//!     io: SocketIo,
//! }
//!
//! async fn announce(State(state): State<AppState>, body: String) -> &'static str {
//!     let _ = state.io.emit("announcement", (body,));
//!     "sent\n"
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> std::io::Result<()> {
//! let io = SocketIo::new(ServerConfig::default());
//! let app = Router::new()
//!     .route("/announce", post(announce))
//!     .with_state(AppState { io: io.clone() })
//!     .layer(io.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```
//!
//! Websocket upgrades work through `axum::serve` and hyper-util's connection builders, which keep
//! hyper's upgrade handle in the request.
//!
//! # In a hyper service
//!
//! [`SocketIo::handle`](crate::SocketIo::handle) answers one request; route to it yourself:
//!
//! ```
//! use socketio::prelude::*;
//!
//! async fn route(
//!     io: SocketIo,
//!     req: hyper::Request<hyper::body::Incoming>,
//! ) -> hyper::Response<socketio::engine::EngineBody> {
//!     // Anything outside /socket.io/ would go to the rest of your app; the engine answers 400 to
//!     // requests that are not its own.
//!     io.handle(req).await
//! }
//! # let _ = route;
//! ```
//!
//! # CORS
//!
//! Off unless configured, as in the reference server: browsers then only connect from the server's own
//! origin. `ServerConfig::engine.cors` takes the options of the `cors` package the Node server uses.
//! The engine applies them itself (to polling requests and their preflights) because it must answer
//! them before any other layer sees the body; for the rest of an axum app, `tower_http::cors` fits.
//!
//! ```
//! use socketio::engine::{CorsConfig, CorsOrigin};
//! use socketio::prelude::*;
//!
//! let mut config = ServerConfig::default();
//! config.engine.cors = Some(CorsConfig {
//!     origin: CorsOrigin::List(vec!["https://app.example.com".into()]),
//!     credentials: true,
//!     ..CorsConfig::default()
//! });
//! let io = SocketIo::new(config);
//! # let _ = io;
//! ```
//!
//! # TLS
//!
//! With the `tls` feature, `SocketIo::listen_tls(addr, rustls_config)` serves HTTPS and WSS.
