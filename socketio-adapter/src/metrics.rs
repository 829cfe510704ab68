//! The adapter's side of the server's metrics (feature `metrics`): local broadcasts and their
//! recipients, cluster requests and their failures, bus errors. Every name is documented, with the
//! server's, in `socketio_server::metrics`.

use metrics::{counter, Counter};

/// The counters of one adapter's local fan-outs, taken from the recorder once, when the adapter is made.
#[derive(Clone)]
pub(crate) struct BroadcastCounters {
    broadcasts: Counter,
    recipients: Counter,
}

impl BroadcastCounters {
    pub(crate) fn new() -> Self {
        BroadcastCounters {
            broadcasts: counter!("socketio_broadcasts_total"),
            recipients: counter!("socketio_broadcast_recipients_total"),
        }
    }

    /// One local fan-out that reached `recipients` sockets.
    pub(crate) fn record(&self, recipients: usize) {
        self.broadcasts.increment(1);
        self.recipients.increment(recipients as u64);
    }
}

/// A request sent to the other nodes of a cluster (`kind` as the Node adapters name the operation).
pub(crate) fn request(kind: &'static str) {
    counter!("socketio_adapter_requests_total", "kind" => kind).increment(1);
}

/// A cluster request that failed: not every node answered in time, or the request was dropped.
pub(crate) fn request_failed(kind: &'static str) {
    counter!("socketio_adapter_request_failures_total", "kind" => kind).increment(1);
}

/// An error of a bus, as its `on_error` hooks hear of it.
pub(crate) fn bus_error() {
    counter!("socketio_adapter_bus_errors_total").increment(1);
}
