//! The server's metrics (feature `metrics`), reported through the [`metrics`] facade: install
//! any recorder (a Prometheus exporter, StatsD, your own) and they reach it; with no recorder installed
//! each update is a call that does nothing.
//!
//! Install the recorder **before** creating the [`SocketIo`](crate::SocketIo): the server takes the
//! handles of its per-packet counters from the recorder once, when it is created (and each namespace
//! and adapter when they are), so that counting a packet costs an increment and nothing more.
//!
//! | name | type | labels | meaning |
//! |---|---|---|---|
//! | `socketio_engine_connections` | gauge | | Engine.IO connections open now |
//! | `socketio_engine_connections_total` | counter | | Engine.IO connections opened |
//! | `socketio_engine_disconnections_total` | counter | `reason` | Engine.IO connections closed, by the engine's close reason (`transport close`, `ping timeout`, `forced close`, ...) |
//! | `socketio_sockets` | gauge | `nsp` | sockets connected now to each namespace |
//! | `socketio_packets_total` | counter | `direction` (`in`, `out`) | Engine.IO message packets received from clients and queued for them (heartbeats and handshakes not counted) |
//! | `socketio_bytes_total` | counter | `direction` (`in`, `out`) | the bytes of those packets' data (text length in bytes, or binary length) |
//! | `socketio_broadcasts_total` | counter | | local fan-outs: each broadcast delivered to this node's sockets (with connection state recovery on, a socket's own emits go through the adapter too) |
//! | `socketio_broadcast_recipients_total` | counter | | sockets those fan-outs reached |
//! | `socketio_adapter_requests_total` | counter | `kind` (`fetchSockets`, `serverSideEmit`, `allRooms`) | requests sent to the other nodes of a cluster (none on a single node) |
//! | `socketio_adapter_request_failures_total` | counter | `kind` | those that failed: some node did not answer in time |
//! | `socketio_adapter_bus_errors_total` | counter | | errors of a cluster bus (Redis, Postgres), as its `on_error` hooks hear of them |
//! | `socketio_recovery_total` | counter | `result` (`hit`, `miss`) | connection state recovery attempts: the session was restored, or not (expired, unknown, too old) |
//!
//! The adapter's counters need the `metrics` feature of `socketio-adapter`, which this crate's
//! `metrics` feature turns on.
//!
//! ```no_run
//! # fn install_your_recorder() {}
//! use socketio_server::{ServerConfig, SocketIo};
//!
//! # async fn run() -> std::io::Result<()> {
//! install_your_recorder(); // e.g. metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()
//! let io = SocketIo::new(ServerConfig::default());
//! io.listen("127.0.0.1:3000".parse().unwrap()).await?;
//! # Ok(()) }
//! ```

use ::metrics::{counter, gauge, Counter, Gauge};
use engineio_server::parser::{Packet, PacketData, PacketType};

/// The handles the engine bridge updates, taken from the recorder when the server is created.
pub(crate) struct EngineMetrics {
    connections: Gauge,
    connections_total: Counter,
    packets_in: Counter,
    packets_out: Counter,
    bytes_in: Counter,
    bytes_out: Counter,
}

impl EngineMetrics {
    pub(crate) fn new() -> Self {
        EngineMetrics {
            connections: gauge!("socketio_engine_connections"),
            connections_total: counter!("socketio_engine_connections_total"),
            packets_in: counter!("socketio_packets_total", "direction" => "in"),
            packets_out: counter!("socketio_packets_total", "direction" => "out"),
            bytes_in: counter!("socketio_bytes_total", "direction" => "in"),
            bytes_out: counter!("socketio_bytes_total", "direction" => "out"),
        }
    }

    /// An engine connection opened.
    pub(crate) fn connected(&self) {
        self.connections.increment(1.0);
        self.connections_total.increment(1);
    }

    /// An engine connection closed with `reason`.
    pub(crate) fn disconnected(&self, reason: engineio_server::CloseReason) {
        self.connections.decrement(1.0);
        counter!("socketio_engine_disconnections_total", "reason" => reason.as_str()).increment(1);
    }

    /// An engine packet received (`incoming`) or queued: message packets count, with their data's bytes.
    pub(crate) fn packet(&self, packet: &Packet, incoming: bool) {
        if packet.ty != PacketType::Message {
            return;
        }
        let bytes = match &packet.data {
            PacketData::Text(t) => t.len(),
            PacketData::Binary(b) => b.len(),
            PacketData::Empty => 0,
        };
        let (packets, total) =
            if incoming { (&self.packets_in, &self.bytes_in) } else { (&self.packets_out, &self.bytes_out) };
        packets.increment(1);
        total.increment(bytes as u64);
    }
}

/// The gauge of the sockets connected to namespace `nsp`.
pub(crate) fn sockets_gauge(nsp: &str) -> Gauge {
    gauge!("socketio_sockets", "nsp" => nsp.to_string())
}

/// A connection state recovery attempt: the session was restored (`hit`) or not.
pub(crate) fn recovery(hit: bool) {
    counter!("socketio_recovery_total", "result" => if hit { "hit" } else { "miss" }).increment(1);
}
