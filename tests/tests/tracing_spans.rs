//! The server's `tracing` feature as a subscriber sees it: a user's event handler runs inside a
//! `socketio.event` span (socket id, namespace, event name), whose parent is the socket's span
//! (`socketio.socket`: socket id, namespace), whose parent is the engine connection's span
//! (`engineio.connection`: engine session id, transport); connection handlers run in the socket's span.
//!
//! A small subscriber records every span with its fields and parent, and, for each event that carries
//! a `probe` field, the chain of spans it was emitted in. It is the process's global subscriber, so this
//! file holds a single test.

#![allow(clippy::unwrap_used)]

use socketio_client::{ClientBuilder, Transport};
use socketio_e2e::client::start;
use socketio_server::parser::Value;
use socketio_server::{ServerConfig, Socket};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span: its name, its fields (as text) and its parent.
#[derive(Debug, Clone)]
struct SpanInfo {
    name: &'static str,
    fields: HashMap<String, String>,
    parent: Option<u64>,
}

/// Fields as text.
struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }
}

thread_local! {
    /// The spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

#[derive(Default)]
struct Recorder {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, SpanInfo>>,
    /// For each probe event: the probe's value and the spans it was in, innermost first.
    probes: Mutex<Vec<(String, Vec<SpanInfo>)>>,
}

impl Recorder {
    fn innermost() -> Option<u64> {
        ENTERED.with(|e| e.borrow().last().copied())
    }

    fn chain(&self, mut id: Option<u64>) -> Vec<SpanInfo> {
        let spans = self.spans.lock().unwrap();
        let mut chain = Vec::new();
        while let Some(span) = id.and_then(|id| spans.get(&id)) {
            chain.push(span.clone());
            id = span.parent;
        }
        chain
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = match attrs.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attrs.is_contextual() => Self::innermost(),
            None => None,
        };
        self.spans.lock().unwrap().insert(id, SpanInfo { name: attrs.metadata().name(), fields, parent });
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(info) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut info.fields));
        }
    }

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let Some(probe) = fields.remove("probe") else { return };
        let parent = match event.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if event.is_contextual() => Self::innermost(),
            None => None,
        };
        let chain = self.chain(parent);
        self.probes.lock().unwrap().push((probe, chain));
    }

    fn enter(&self, span: &Id) {
        ENTERED.with(|e| e.borrow_mut().push(span.into_u64()));
    }

    fn exit(&self, span: &Id) {
        ENTERED.with(|e| {
            let mut entered = e.borrow_mut();
            if let Some(at) = entered.iter().rposition(|id| *id == span.into_u64()) {
                entered.remove(at);
            }
        });
    }
}

async fn within<F: std::future::Future>(fut: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(10), fut).await.expect("in time")
}

/// The names of a chain of spans, innermost first.
fn names(chain: &[SpanInfo]) -> Vec<&'static str> {
    chain.iter().map(|s| s.name).collect()
}

#[tokio::test]
async fn handlers_run_in_event_socket_and_connection_spans() {
    let recorder = Arc::new(Recorder::default());
    tracing::subscriber::set_global_default(recorder.clone()).unwrap();

    let (io, addr) = start(ServerConfig::default()).await;
    io.of("/chat").on_connection(|socket: Socket| async move {
        tracing::info!(probe = format!("connected {}", socket.id()), "connection handler");
        socket.on("hello", |s: Socket, _args: Vec<Value>, ack| async move {
            tracing::info!(probe = format!("hello {}", s.id()), "before an await");
            tokio::task::yield_now().await;
            tracing::info!(probe = format!("hello again {}", s.id()), "after an await");
            if let Some(ack) = ack {
                let _ = ack.send((s.conn().id().to_string(),));
            }
        });
    });

    for transport in [Transport::Websocket, Transport::Polling] {
        let client = ClientBuilder::new(format!("http://{addr}/chat"))
            .transports(&[transport])
            .upgrade(false)
            .force_new(true)
            .build()
            .unwrap();
        within(client.connect()).await.unwrap();
        let sid = client.id().unwrap();
        let answer = within(client.emit_with_ack("hello", ())).await.unwrap();
        let engine_sid = answer[0].as_str().unwrap().to_string();
        let transport_name = if transport == Transport::Websocket { "websocket" } else { "polling" };

        let probes = recorder.probes.lock().unwrap().clone();
        let find = |probe: String| {
            probes.iter().find(|(p, _)| *p == probe).map(|(_, chain)| chain.clone()).unwrap_or_else(|| {
                panic!(
                    "no event {probe:?} recorded; got {:?}",
                    probes.iter().map(|p| &p.0).collect::<Vec<_>>()
                )
            })
        };

        // The event handler, before and after an await: event → socket → engine connection.
        for probe in [format!("hello {sid}"), format!("hello again {sid}")] {
            let chain = find(probe);
            assert_eq!(names(&chain), ["socketio.event", "socketio.socket", "engineio.connection"]);
            let (event, socket, connection) = (&chain[0].fields, &chain[1].fields, &chain[2].fields);
            assert_eq!(event["sid"], sid);
            assert_eq!(event["nsp"], "/chat");
            assert_eq!(event["event"], "hello");
            assert_eq!(socket["sid"], sid);
            assert_eq!(socket["nsp"], "/chat");
            assert_eq!(connection["sid"], engine_sid);
            assert_eq!(connection["transport"], transport_name);
        }

        // The connection handler: socket → engine connection.
        let chain = find(format!("connected {sid}"));
        assert_eq!(names(&chain), ["socketio.socket", "engineio.connection"]);
        assert_eq!(chain[0].fields["sid"], sid);
        assert_eq!(chain[1].fields["sid"], engine_sid);
        client.disconnect();
    }
    io.close().await;
}
