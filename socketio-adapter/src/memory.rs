//! [`MemoryAdapter`]: rooms and broadcasts within one process.

use crate::types::{
    AckEvent, Adapter, AdapterError, BroadcastOptions, LocalNamespace, RestoredSession, Room, RoomEvent,
    SessionState, Sid, SocketInfo,
};
use async_trait::async_trait;
use socketio_parser::{Packet, PacketData, Str, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

type Listener = Arc<dyn Fn(&RoomEvent) + Send + Sync>;

#[derive(Default)]
struct Rooms {
    rooms: HashMap<Room, SmallSet>,
    sids: HashMap<Sid, SmallSet>,
}

/// A set of ids that keeps a single element inline and needs a hash table only from the second on:
/// every socket's own room has one member, and an idle socket is in that room only, so most sets of
/// the index hold one element (a hash set of one would allocate a table of four).
#[derive(Default)]
enum SmallSet {
    #[default]
    Empty,
    One(Str),
    Many(HashSet<Str>),
}

impl SmallSet {
    /// Adds `item`; `false` when it was there already.
    fn insert(&mut self, item: Str) -> bool {
        match self {
            SmallSet::Empty => {
                *self = SmallSet::One(item);
                true
            }
            SmallSet::One(first) if *first == item => false,
            SmallSet::One(_) => {
                let SmallSet::One(first) = std::mem::take(self) else { return false };
                *self = SmallSet::Many(HashSet::from([first, item]));
                true
            }
            SmallSet::Many(set) => set.insert(item),
        }
    }

    /// Removes `item`; `false` when it was not there.
    fn remove(&mut self, item: &Str) -> bool {
        match self {
            SmallSet::One(first) if first == item => {
                *self = SmallSet::Empty;
                true
            }
            SmallSet::Many(set) => set.remove(item),
            _ => false,
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            SmallSet::Empty => true,
            SmallSet::One(_) => false,
            SmallSet::Many(set) => set.is_empty(),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Str> {
        let (one, many) = match self {
            SmallSet::Empty => (None, None),
            SmallSet::One(item) => (Some(item), None),
            SmallSet::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

impl Rooms {
    /// The sockets `opts` targets: members of the rooms (or every socket), minus members of `except`.
    fn targets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        let except: HashSet<&Sid> =
            opts.except.iter().filter_map(|r| self.rooms.get(r)).flat_map(|members| members.iter()).collect();
        if opts.rooms.is_empty() {
            return self.sids.keys().filter(|s| !except.contains(s)).cloned().collect();
        }
        if let (Some(room), 1, true) = (opts.rooms.first(), opts.rooms.len(), except.is_empty()) {
            // One room, nobody excluded: its members as they are, without deduplication.
            return self.rooms.get(room).map(|m| m.iter().cloned().collect()).unwrap_or_default();
        }
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for members in opts.rooms.iter().filter_map(|r| self.rooms.get(r)) {
            for sid in members.iter() {
                if !except.contains(sid) && seen.insert(sid) {
                    out.push(sid.clone());
                }
            }
        }
        out
    }

    fn leave(&mut self, room: &Room, sid: &Sid, events: &mut Vec<RoomEvent>) {
        if let Some(members) = self.rooms.get_mut(room) {
            if members.remove(sid) {
                events.push(RoomEvent::Leave(room.clone(), sid.clone()));
            }
            if members.is_empty() {
                self.rooms.remove(room);
                events.push(RoomEvent::Delete(room.clone()));
            }
        }
    }
}

/// An event kept for connection state recovery.
struct StoredPacket {
    offset: Str,
    rooms: Vec<Room>,
    except: Vec<Room>,
    data: Vec<Value>,
    emitted_at: Instant,
}

/// What connection state recovery keeps: recent events and disconnected sessions, for `window`.
struct Recovery {
    window: Duration,
    packets: Mutex<VecDeque<StoredPacket>>,
    sessions: Mutex<HashMap<Str, (SessionState, Instant)>>,
    next: AtomicU64,
    /// Makes offsets unique across restarts of the process.
    epoch: u64,
}

impl Recovery {
    fn new(window: Duration) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Recovery {
            window,
            packets: Mutex::new(VecDeque::new()),
            sessions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
            epoch,
        }
    }

    /// Appends a fresh offset to an event's data and keeps it.
    fn store(&self, data: &mut Vec<Value>, opts: &BroadcastOptions) {
        let offset = Str::from(format!("{:x}-{:x}", self.epoch, self.next.fetch_add(1, Ordering::SeqCst)));
        data.push(Value::String(offset.to_string()));
        let now = Instant::now();
        let mut packets = self.packets.lock().unwrap_or_else(|e| e.into_inner());
        while packets.front().is_some_and(|p| now.duration_since(p.emitted_at) > self.window) {
            packets.pop_front();
        }
        packets.push_back(StoredPacket {
            offset,
            rooms: opts.rooms.iter().cloned().collect(),
            except: opts.except.iter().cloned().collect(),
            data: data.clone(),
            emitted_at: now,
        });
    }

    fn persist(&self, session: SessionState) {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, (_, at)| now.duration_since(*at) <= self.window);
        sessions.insert(session.pid.clone(), (session, now));
    }

    fn restore(&self, pid: &str, offset: &str) -> Option<RestoredSession> {
        let (state, at) = self.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(pid)?;
        if at.elapsed() > self.window {
            return None;
        }
        let packets = self.packets.lock().unwrap_or_else(|e| e.into_inner());
        let index = packets.iter().position(|p| p.offset == offset)?;
        let missed_packets = packets
            .iter()
            .skip(index + 1)
            .filter(|p| {
                let included = p.rooms.is_empty() || state.rooms.iter().any(|r| p.rooms.contains(r));
                let excluded = state.rooms.iter().any(|r| p.except.contains(r));
                included && !excluded
            })
            .map(|p| p.data.clone())
            .collect();
        Some(RestoredSession { state, missed_packets })
    }
}

/// The in-memory adapter of the reference server: room membership in maps, broadcasts written straight to
/// the local sockets, each packet encoded once whatever the number of recipients. With connection state
/// recovery on (see [`LocalNamespace::recovery_window`]), it also keeps recent events (each with an offset
/// appended) and disconnected sessions, as the reference's session-aware adapter does.
pub struct MemoryAdapter {
    nsp: Arc<dyn LocalNamespace>,
    state: Mutex<Rooms>,
    listeners: RwLock<Vec<Listener>>,
    recovery: Option<Recovery>,
    #[cfg(feature = "metrics")]
    counters: crate::metrics::BroadcastCounters,
}

impl std::fmt::Debug for MemoryAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryAdapter").field("nsp", &self.nsp.name()).finish_non_exhaustive()
    }
}

impl MemoryAdapter {
    /// The adapter of namespace `nsp`.
    pub fn new(nsp: Arc<dyn LocalNamespace>) -> Arc<Self> {
        let recovery = nsp.recovery_window().map(Recovery::new);
        Arc::new(MemoryAdapter {
            nsp,
            state: Mutex::new(Rooms::default()),
            listeners: RwLock::new(Vec::new()),
            recovery,
            #[cfg(feature = "metrics")]
            counters: crate::metrics::BroadcastCounters::new(),
        })
    }

    /// The adapter of namespace `nsp`, keeping nothing for connection state recovery (for a cluster
    /// adapter whose bus keeps the sessions and the missed broadcasts).
    pub fn without_recovery(nsp: Arc<dyn LocalNamespace>) -> Arc<Self> {
        Arc::new(MemoryAdapter {
            nsp,
            state: Mutex::new(Rooms::default()),
            listeners: RwLock::new(Vec::new()),
            recovery: None,
            #[cfg(feature = "metrics")]
            counters: crate::metrics::BroadcastCounters::new(),
        })
    }

    /// The factory to give the server.
    pub fn factory() -> crate::AdapterFactory {
        Arc::new(|nsp| MemoryAdapter::new(nsp) as Arc<dyn Adapter>)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn emit(&self, events: Vec<RoomEvent>) {
        if events.is_empty() {
            return;
        }
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner()).clone();
        for event in &events {
            for listener in &listeners {
                listener(event);
            }
        }
    }

    /// The local part of a broadcast with acks: sends to the targets, reports how many there were.
    pub fn broadcast_with_ack_local(
        &self,
        packet: Packet,
        opts: &BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> usize {
        let id = self.nsp.next_ack_id();
        let packet = packet.with_ack_id(id);
        let frames = self.nsp.encode(&packet);
        let targets = self.lock().targets(opts);
        let count = self.nsp.send_many_with_ack(&targets, &packet, &frames, &opts.flags, id, &acks);
        let _ = acks.send(AckEvent::ClientCount(count));
        #[cfg(feature = "metrics")]
        self.counters.record(count);
        count
    }

    /// The local part of a broadcast: encodes once, writes to every target.
    pub fn broadcast_local(&self, packet: &Packet, opts: &BroadcastOptions) {
        let frames = self.nsp.encode(packet);
        let targets = self.lock().targets(opts);
        let _reached = self.nsp.send_many(&targets, packet, &frames, &opts.flags);
        #[cfg(feature = "metrics")]
        self.counters.record(_reached);
    }

    /// The local part of `fetchSockets`.
    pub fn fetch_sockets_local(&self, opts: &BroadcastOptions) -> Vec<SocketInfo> {
        let targets = self.lock().targets(opts);
        targets.iter().filter_map(|sid| self.nsp.socket_info(sid)).collect()
    }

    /// The local part of `socketsJoin`.
    pub fn add_sockets_local(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let targets = self.lock().targets(opts);
        for sid in &targets {
            self.add_all(sid, rooms);
        }
    }

    /// The local part of `socketsLeave`.
    pub fn del_sockets_local(&self, opts: &BroadcastOptions, rooms: &[Room]) {
        let targets = self.lock().targets(opts);
        for sid in &targets {
            for room in rooms {
                self.del(sid, room);
            }
        }
    }

    /// The local part of `disconnectSockets`.
    pub fn disconnect_sockets_local(&self, opts: &BroadcastOptions, close: bool) {
        let targets = self.lock().targets(opts);
        for sid in &targets {
            self.nsp.disconnect(sid, close);
        }
    }
}

#[async_trait]
impl Adapter for MemoryAdapter {
    fn add_all(&self, sid: &Sid, rooms: &[Room]) {
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            let joined = st.sids.entry(sid.clone()).or_default();
            for room in rooms {
                joined.insert(room.clone());
            }
            for room in rooms {
                let members = st.rooms.entry(room.clone()).or_insert_with(|| {
                    events.push(RoomEvent::Create(room.clone()));
                    SmallSet::Empty
                });
                if members.insert(sid.clone()) {
                    events.push(RoomEvent::Join(room.clone(), sid.clone()));
                }
            }
        }
        self.emit(events);
    }

    fn del(&self, sid: &Sid, room: &Room) {
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            if let Some(rooms) = st.sids.get_mut(sid) {
                rooms.remove(room);
            }
            st.leave(room, sid, &mut events);
        }
        self.emit(events);
    }

    fn del_all(&self, sid: &Sid) {
        let mut events = Vec::new();
        {
            let mut st = self.lock();
            if let Some(rooms) = st.sids.remove(sid) {
                for room in rooms.iter() {
                    st.leave(room, sid, &mut events);
                }
            }
        }
        self.emit(events);
    }

    fn socket_rooms(&self, sid: &Sid) -> Vec<Room> {
        self.lock().sids.get(sid).map(|r| r.iter().cloned().collect()).unwrap_or_default()
    }

    fn sockets(&self, opts: &BroadcastOptions) -> Vec<Sid> {
        self.lock().targets(opts)
    }

    fn rooms(&self) -> Vec<Room> {
        self.lock().rooms.keys().cloned().collect()
    }

    fn broadcast(&self, mut packet: Packet, opts: BroadcastOptions) -> Result<(), AdapterError> {
        // Events without ack and not volatile are kept for recovery, with their offset appended.
        if let (Some(recovery), PacketData::Event(data), None, false) =
            (&self.recovery, &mut packet.data, packet.id, opts.flags.volatile)
        {
            recovery.store(data, &opts);
        }
        self.broadcast_local(&packet, &opts);
        Ok(())
    }

    fn broadcast_with_ack(
        &self,
        packet: Packet,
        opts: BroadcastOptions,
        acks: mpsc::UnboundedSender<AckEvent>,
    ) -> Result<(), AdapterError> {
        self.broadcast_with_ack_local(packet, &opts, acks);
        Ok(())
    }

    async fn fetch_sockets(&self, opts: BroadcastOptions) -> Result<Vec<SocketInfo>, AdapterError> {
        Ok(self.fetch_sockets_local(&opts))
    }

    async fn add_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.add_sockets_local(&opts, &rooms);
        Ok(())
    }

    async fn del_sockets(&self, opts: BroadcastOptions, rooms: Vec<Room>) -> Result<(), AdapterError> {
        self.del_sockets_local(&opts, &rooms);
        Ok(())
    }

    async fn disconnect_sockets(&self, opts: BroadcastOptions, close: bool) -> Result<(), AdapterError> {
        self.disconnect_sockets_local(&opts, close);
        Ok(())
    }

    fn persist_session(&self, session: SessionState) {
        if let Some(recovery) = &self.recovery {
            recovery.persist(session);
        }
    }

    async fn restore_session(
        &self,
        pid: &str,
        offset: &str,
    ) -> Result<Option<RestoredSession>, AdapterError> {
        Ok(self.recovery.as_ref().and_then(|r| r.restore(pid, offset)))
    }

    fn on_room_event(&self, listener: Arc<dyn Fn(&RoomEvent) + Send + Sync>) {
        self.listeners.write().unwrap_or_else(|e| e.into_inner()).push(listener);
    }
}

/// Implements the room-membership methods of [`Adapter`](crate::Adapter) (`add_all`, `del`, `del_all`,
/// `socket_rooms`, `sockets`, `rooms`) by forwarding them to a [`MemoryAdapter`] field, as cluster
/// adapters do: membership is local; only delivery and bulk operations cross nodes.
///
/// ```ignore
/// impl Adapter for MyAdapter {
///     socketio_adapter::forward_membership!(local);
///     // ... broadcast, fetch_sockets, ...
/// }
/// ```
#[macro_export]
macro_rules! forward_membership {
    ($field:ident) => {
        fn add_all(&self, sid: &$crate::Sid, rooms: &[$crate::Room]) {
            self.$field.add_all(sid, rooms)
        }

        fn del(&self, sid: &$crate::Sid, room: &$crate::Room) {
            self.$field.del(sid, room)
        }

        fn del_all(&self, sid: &$crate::Sid) {
            self.$field.del_all(sid)
        }

        fn socket_rooms(&self, sid: &$crate::Sid) -> Vec<$crate::Room> {
            self.$field.socket_rooms(sid)
        }

        fn sockets(&self, opts: &$crate::BroadcastOptions) -> Vec<$crate::Sid> {
            self.$field.sockets(opts)
        }

        fn rooms(&self) -> Vec<$crate::Room> {
            self.$field.rooms()
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::RecordingNamespace;
    use socketio_parser::Value;

    fn sids(mut v: Vec<Sid>) -> Vec<String> {
        v.sort();
        v.into_iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn targets_follow_rooms_and_exceptions() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        a.add_all(&"s1".into(), &["s1".into(), "red".into()]);
        a.add_all(&"s2".into(), &["s2".into(), "red".into(), "blue".into()]);
        a.add_all(&"s3".into(), &["s3".into(), "blue".into()]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default())), ["s1", "s2", "s3"]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().to("red"))), ["s1", "s2"]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().to("red").to("blue"))), ["s1", "s2", "s3"]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().to("red").except("blue"))), ["s1"]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().except("s2"))), ["s1", "s3"]);
        assert!(a.sockets(&BroadcastOptions::default().to("nobody")).is_empty());
        let mut rooms = a.socket_rooms(&"s2".into());
        rooms.sort();
        assert_eq!(rooms, vec![Room::from("blue"), Room::from("red"), Room::from("s2")]);
    }

    #[test]
    fn rooms_of_one_member_grow_and_shrink_through_every_size() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        let red = || BroadcastOptions::default().to("red");
        for sid in ["s1", "s2", "s3"] {
            a.add_all(&sid.into(), &[sid.into(), "red".into()]);
        }
        a.add_all(&"s1".into(), &["red".into()]); // joining twice changes nothing
        assert_eq!(sids(a.sockets(&red())), ["s1", "s2", "s3"]);
        a.del(&"s2".into(), &"red".into());
        a.del(&"s2".into(), &"red".into());
        assert_eq!(sids(a.sockets(&red())), ["s1", "s3"]);
        a.del_all(&"s1".into());
        assert_eq!(sids(a.sockets(&red())), ["s3"]);
        assert_eq!(a.socket_rooms(&"s1".into()), Vec::<Room>::new());
        a.del(&"s3".into(), &"red".into());
        assert!(a.sockets(&red()).is_empty());
        assert!(!a.rooms().contains(&Room::from("red")));
        // From empty to one again, and the socket's own room throughout.
        a.add_all(&"s3".into(), &["red".into()]);
        assert_eq!(sids(a.sockets(&red())), ["s3"]);
        let mut rooms = a.socket_rooms(&"s3".into());
        rooms.sort();
        assert_eq!(rooms, vec![Room::from("red"), Room::from("s3")]);
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().to("s2"))), ["s2"]);
    }

    #[test]
    fn room_events_as_the_reference_emits_them() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        a.on_room_event(Arc::new(move |e| sink.lock().unwrap().push(e.clone())));
        a.add_all(&"s1".into(), &["r".into()]);
        a.add_all(&"s2".into(), &["r".into()]);
        a.add_all(&"s2".into(), &["r".into()]);
        a.del(&"s1".into(), &"r".into());
        a.del_all(&"s2".into());
        a.del_all(&"s2".into());
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                RoomEvent::Create("r".into()),
                RoomEvent::Join("r".into(), "s1".into()),
                RoomEvent::Join("r".into(), "s2".into()),
                RoomEvent::Leave("r".into(), "s1".into()),
                RoomEvent::Leave("r".into(), "s2".into()),
                RoomEvent::Delete("r".into()),
            ]
        );
        assert!(a.rooms().is_empty());
    }

    #[tokio::test]
    async fn broadcast_encodes_once_and_writes_to_each_target() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        for s in ["s1", "s2", "s3"] {
            a.add_all(&s.into(), &[s.into()]);
        }
        a.add_all(&"s1".into(), &["r".into()]);
        a.add_all(&"s2".into(), &["r".into()]);
        let packet = Packet::event("/", "hi", vec![Value::from(1)]);
        a.broadcast(packet, BroadcastOptions::default().to("r")).unwrap();
        assert_eq!(nsp.encodes(), 1);
        assert_eq!(sids(nsp.sent_to()), ["s1", "s2"]);
    }

    #[tokio::test]
    async fn broadcast_with_ack_reports_the_client_count() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        a.add_all(&"s1".into(), &["s1".into()]);
        a.add_all(&"s2".into(), &["s2".into()]);
        let (tx, mut rx) = mpsc::unbounded_channel();
        a.broadcast_with_ack(Packet::event("/", "q", vec![]), BroadcastOptions::default(), tx).unwrap();
        assert_eq!(rx.recv().await, Some(AckEvent::ClientCount(2)));
        assert_eq!(a.server_count().await, 1);
        assert_eq!(a.server_side_emit(vec![]).await, Err(AdapterError::Unsupported("serverSideEmit")));
    }

    #[tokio::test]
    async fn recovery_keeps_offsets_and_gives_back_missed_packets() {
        let nsp = RecordingNamespace::with_recovery("/", Duration::from_secs(60));
        let a = MemoryAdapter::new(nsp.clone());
        a.add_all(&"s1".into(), &["s1".into(), "red".into()]);
        let first = Packet::event("/", "e", vec![Value::from(0)]);
        a.broadcast(first, BroadcastOptions::default()).unwrap();
        let offset = nsp.last_sent_data().last().and_then(Value::as_str).unwrap().to_string();
        a.persist_session(SessionState {
            sid: "s1".into(),
            pid: "p1".into(),
            rooms: vec!["s1".into(), "red".into()],
            data: Value::Null,
        });
        a.del_all(&"s1".into());
        a.broadcast(Packet::event("/", "e", vec![Value::from(1)]), BroadcastOptions::default().to("red"))
            .unwrap();
        a.broadcast(Packet::event("/", "e", vec![Value::from(2)]), BroadcastOptions::default().to("blue"))
            .unwrap();
        a.broadcast(Packet::event("/", "e", vec![Value::from(3)]), BroadcastOptions::default().except("red"))
            .unwrap();
        a.broadcast(
            Packet::event("/", "e", vec![Value::from(4)]).with_ack_id(1),
            BroadcastOptions::default(),
        )
        .unwrap();
        a.broadcast(Packet::event("/", "e", vec![Value::from(5)]), BroadcastOptions::default()).unwrap();
        let restored = a.restore_session("p1", &offset).await.unwrap().unwrap();
        assert_eq!(restored.state.sid, "s1");
        let missed: Vec<Value> = restored.missed_packets.iter().map(|d| d[1].clone()).collect();
        assert_eq!(
            missed,
            vec![Value::from(1), Value::from(5)],
            "only what the session's rooms would have got"
        );
        assert!(
            restored.missed_packets.iter().all(|d| d.last().and_then(Value::as_str).is_some()),
            "offsets travel last"
        );
        assert!(a.restore_session("p1", &offset).await.unwrap().is_none(), "a session is restored once");
        a.persist_session(SessionState {
            sid: "s2".into(),
            pid: "p2".into(),
            rooms: vec![],
            data: Value::Null,
        });
        assert!(a.restore_session("p2", "unknown-offset").await.unwrap().is_none());
    }

    #[tokio::test]
    async fn recovery_forgets_after_the_window() {
        let nsp = RecordingNamespace::with_recovery("/", Duration::from_millis(20));
        let a = MemoryAdapter::new(nsp.clone());
        a.add_all(&"s1".into(), &["s1".into()]);
        a.broadcast(Packet::event("/", "e", vec![]), BroadcastOptions::default()).unwrap();
        let offset = nsp.last_sent_data().last().and_then(Value::as_str).unwrap().to_string();
        a.persist_session(SessionState {
            sid: "s1".into(),
            pid: "p1".into(),
            rooms: vec![],
            data: Value::Null,
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(a.restore_session("p1", &offset).await.unwrap().is_none(), "expired");
    }

    #[tokio::test]
    async fn bulk_operations_act_on_the_targets() {
        let nsp = RecordingNamespace::new("/");
        let a = MemoryAdapter::new(nsp.clone());
        a.add_all(&"s1".into(), &["s1".into(), "r".into()]);
        a.add_all(&"s2".into(), &["s2".into()]);
        a.add_sockets(BroadcastOptions::default().to("r"), vec!["joined".into()]).await.unwrap();
        assert_eq!(sids(a.sockets(&BroadcastOptions::default().to("joined"))), ["s1"]);
        a.del_sockets(BroadcastOptions::default(), vec!["joined".into()]).await.unwrap();
        assert!(a.sockets(&BroadcastOptions::default().to("joined")).is_empty());
        a.disconnect_sockets(BroadcastOptions::default().except("r"), true).await.unwrap();
        assert_eq!(nsp.disconnected(), vec![("s2".to_string(), true)]);
        let infos = a.fetch_sockets(BroadcastOptions::default().to("r")).await.unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].id, "s1");
    }
}
