//! `serverSideEmit` between servers: two `SocketIo` in one process joined by a small adapter that relays
//! server-side events (a stand-in for a cluster bus), which shows what a cluster adapter plugs into.

#![allow(clippy::unwrap_used)]

use async_trait::async_trait;
use socketio_server::adapter::{
    AckEvent, Adapter, AdapterError, BroadcastOptions, LocalNamespace, MemoryAdapter, Room, RoomEvent,
    SocketInfo,
};
use socketio_server::parser::{Packet, Value};
use socketio_server::{ServerConfig, SocketIo};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The namespaces of every node, as a bus would reach them.
type Bus = Arc<Mutex<Vec<Arc<dyn LocalNamespace>>>>;

/// The memory adapter for local work, plus relaying of server-side events to the other nodes.
struct Relay {
    local: Arc<MemoryAdapter>,
    me: Arc<dyn LocalNamespace>,
    bus: Bus,
}

impl Relay {
    fn others(&self) -> Vec<Arc<dyn LocalNamespace>> {
        let me = Arc::as_ptr(&self.me) as *const ();
        let nodes = self.bus.lock().unwrap().clone();
        nodes
            .into_iter()
            .filter(|n| Arc::as_ptr(n) as *const () != me && n.name() == self.me.name())
            .collect()
    }
}

#[async_trait]
impl Adapter for Relay {
    socketio_server::adapter::forward_membership!(local);

    fn broadcast(&self, packet: Packet, opts: BroadcastOptions) -> Result<(), AdapterError> {
        self.local.broadcast(packet, opts)
    }
    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> Result<(), AdapterError> {
        self.local.broadcast_with_ack(packet, opts, acks)
    }
    async fn server_count(&self) -> usize {
        self.others().len() + 1
    }
    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        self.local.fetch_sockets(opts).await
    }
    async fn add_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.local.add_sockets(opts, rooms).await
    }
    async fn del_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.local.del_sockets(opts, rooms).await
    }
    async fn disconnect_sockets(&self, opts: BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.local.disconnect_sockets(opts, close).await
    }
    async fn server_side_emit(&self, args: Vec<Value>) -> Result<(), AdapterError> {
        for node in self.others() {
            node.server_side_emit(args.clone(), None);
        }
        Ok(())
    }
    async fn server_side_emit_with_ack(&self, args: Vec<Value>) -> Result<Vec<Value>, AdapterError> {
        let others = self.others();
        let expected = others.len();
        let mut waiting = Vec::new();
        for node in others {
            let (tx, rx) = oneshot::channel();
            node.server_side_emit(args.clone(), Some(tx));
            waiting.push(rx);
        }
        let mut responses = Vec::new();
        let collect = async {
            for rx in waiting {
                if let Ok(answer) = rx.await {
                    responses.push(answer);
                }
            }
        };
        match tokio::time::timeout(Duration::from_millis(500), collect).await {
            Ok(()) if responses.len() == expected => Ok(responses),
            _ => Err(AdapterError::PartialTimeout { expected, responses }),
        }
    }
    fn on_room_event(&self, listener: Arc<dyn Fn(&RoomEvent) + Send + Sync>) {
        self.local.on_room_event(listener)
    }
}

fn node(bus: &Bus) -> SocketIo {
    let bus = bus.clone();
    let adapter = Arc::new(move |nsp: Arc<dyn LocalNamespace>| {
        bus.lock().unwrap().push(nsp.clone());
        Arc::new(Relay { local: MemoryAdapter::new(nsp.clone()), me: nsp, bus: bus.clone() })
            as Arc<dyn Adapter>
    });
    SocketIo::new(ServerConfig { adapter, ..ServerConfig::default() })
}

#[tokio::test]
async fn server_side_events_reach_the_other_nodes_and_answer() {
    let bus = Bus::default();
    let (a, b, c) = (node(&bus), node(&bus), node(&bus));
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    for (name, io) in [("b", &b), ("c", &c)] {
        let seen_tx = seen_tx.clone();
        io.on_server_event("hello", move |args, ack| {
            let seen_tx = seen_tx.clone();
            async move {
                let _ = seen_tx.send((name, args));
                if let Some(ack) = ack {
                    ack.send(&format!("{name} says hi")).unwrap();
                }
            }
        });
    }
    // Every other node's listeners get the arguments (which nodes a bus reaches is the adapter's part).
    a.server_side_emit("hello", ("world", 1)).await.unwrap();
    let mut got = vec![seen.recv().await.unwrap(), seen.recv().await.unwrap()];
    got.sort_by_key(|(name, _)| *name);
    assert_eq!(
        got,
        vec![
            ("b", vec![Value::from("world"), Value::from(1)]),
            ("c", vec![Value::from("world"), Value::from(1)])
        ]
    );

    // With acks: one answer per other node.
    let mut answers = a.server_side_emit_with_ack("hello", ()).await.unwrap();
    answers.sort_by_key(|v| v.to_string());
    assert_eq!(answers, vec![Value::from("b says hi"), Value::from("c says hi")]);

    // A node with no listener for the event does not answer: the others' answers come with the timeout.
    let _d = node(&bus);
    let err = a.server_side_emit_with_ack("hello", ()).await.unwrap_err();
    let partial = match err {
        socketio_server::AckError::Adapter(AdapterError::PartialTimeout { expected, responses }) => {
            assert_eq!(expected, 3);
            responses
        }
        other => panic!("expected a partial timeout, got {other:?}"),
    };
    assert_eq!(partial.len(), 2);

    // Reserved names are refused, as the reference does.
    assert!(a.server_side_emit("connect", ()).await.is_err());
}

#[tokio::test]
async fn a_single_node_has_no_one_to_emit_to() {
    let io = SocketIo::new(ServerConfig::default());
    let err = io.server_side_emit("hello", ()).await.unwrap_err();
    assert!(err.to_string().contains("serverSideEmit"), "{err}");
}
