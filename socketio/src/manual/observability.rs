//! Observability: `tracing` spans and metrics.
//!
//! # Logs and spans (feature `tracing`)
//!
//! Every crate logs through [`tracing`](https://docs.rs/tracing) events (refused requests, bus errors,
//! closed sessions); install any subscriber to see them. With the `tracing` feature, the work is also
//! wrapped in spans, so that your handlers' own events carry their context:
//!
//! | span | fields | around |
//! |---|---|---|
//! | `engineio.connection` | `sid`, `transport` (updated on upgrade) | the session's task, its polling requests, the upgrade |
//! | `socketio.socket` | `sid`, `nsp` | middlewares, connection and disconnect handlers of a socket |
//! | `socketio.event` | `sid`, `nsp`, `event` | each handled event's listeners |
//!
//! Without the feature, no span code is compiled. With it, a server whose subscriber is off pays one
//! check per event.
//!
//! # Metrics (feature `metrics`)
//!
//! Counters and gauges go to the [`metrics`](https://docs.rs/metrics) facade: connections, sockets per
//! namespace, packets and bytes in and out, broadcast fan-out, cluster requests and their failures, bus
//! errors, recovery hits and misses. The list, with names and labels, is on
//! `socketio::server::metrics`. Install a recorder first (for Prometheus,
//! `metrics-exporter-prometheus`), then create the server:
//!
//! ```no_run
//! use socketio::prelude::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let prometheus = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
//! let io = SocketIo::new(ServerConfig::default());
//! // Serve this text on /metrics for Prometheus to scrape.
//! println!("{}", prometheus.render());
//! # let _ = io;
//! # Ok(())
//! # }
//! ```
//!
//! The `metrics` example is the whole program: `cargo run -p socketio --features metrics --example
//! metrics`, then `curl http://localhost:9000/metrics`.
