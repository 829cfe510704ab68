//! [`BroadcastOperator`]: `to`, `except`, `volatile`, `local`, `timeout`, then `emit` or a bulk operation.

use crate::args::{AckError, EmitError, IntoArgs};
use crate::namespace::NsInner;
use socketio_adapter::{AckEvent, BroadcastOptions};
use socketio_parser::{Packet, Value, RESERVED_EVENTS};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Targets a set of sockets of one namespace; built by `to`/`except`/`broadcast` on a namespace or socket.
#[derive(Clone)]
pub struct BroadcastOperator {
    nsp: Arc<NsInner>,
    opts: BroadcastOptions,
}

impl std::fmt::Debug for BroadcastOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BroadcastOperator").field("nsp", &self.nsp.name).field("opts", &self.opts).finish()
    }
}

impl BroadcastOperator {
    pub(crate) fn new(nsp: Arc<NsInner>, opts: BroadcastOptions) -> Self {
        BroadcastOperator { nsp, opts }
    }

    /// Adds target rooms: one (`"news"`, a `String`, a `&String`) or several (an array, a `Vec`, a
    /// slice), as Node's `to(room | rooms[])`.
    pub fn to(mut self, rooms: impl crate::IntoRooms) -> Self {
        self.opts.rooms.extend(rooms.into_rooms());
        self
    }

    /// Alias of [`to`](Self::to).
    pub fn within(self, rooms: impl crate::IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the members of the rooms (one or several, as [`to`](Self::to)).
    pub fn except(mut self, rooms: impl crate::IntoRooms) -> Self {
        self.opts.except.extend(rooms.into_rooms());
        self
    }

    /// Drops the packet for clients that cannot take it at once.
    pub fn volatile(mut self) -> Self {
        self.opts.flags.volatile = true;
        self
    }

    /// Only the sockets of this node.
    pub fn local(mut self) -> Self {
        self.opts.flags.local = true;
        self
    }

    /// Sets compression.
    pub fn compress(mut self, compress: bool) -> Self {
        self.opts.flags.compress = compress;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits for the answers.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.opts.flags.timeout = Some(timeout);
        self
    }

    /// Emits `event` to every targeted socket. The packet is encoded once (once per child namespace for
    /// a dynamic parent, which emits to each of its children).
    pub fn emit(&self, event: &str, args: impl IntoArgs) -> Result<(), EmitError> {
        crate::args::check_event(event)?;
        let args = crate::args::encode_args(event, args)?;
        for nsp in self.nsp.targets() {
            let packet = Packet::event(nsp.name.as_str(), event, args.clone());
            nsp.adapter().broadcast(packet, self.opts.clone())?;
        }
        Ok(())
    }

    /// Emits `event` with an ack request to every targeted socket and collects every answer. Resolves when
    /// every client answered; after the timeout, fails with the answers received so far.
    pub async fn emit_with_ack(&self, event: &str, args: impl IntoArgs) -> Result<Vec<Vec<Value>>, AckError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(crate::EmitError::Reserved(event.to_string()).into());
        }
        if self.nsp.is_parent.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(
                socketio_adapter::AdapterError::Unsupported("emitWithAck on a parent namespace").into()
            );
        }
        let adapter = self.nsp.adapter();
        let packet = Packet::event(self.nsp.name.as_str(), event, args.into_args()?);
        let (tx, mut rx) = mpsc::unbounded_channel();
        adapter.broadcast_with_ack(packet, self.opts.clone(), tx)?;
        let servers = if self.opts.flags.local { 1 } else { adapter.server_count().await };
        let mut responses = Vec::new();
        let mut expected = 0;
        let mut counted = 0;
        let collect = async {
            while counted < servers || responses.len() < expected {
                match rx.recv().await {
                    Some(AckEvent::ClientCount(n)) => {
                        expected += n;
                        counted += 1;
                    }
                    Some(AckEvent::Response(args)) => responses.push(args),
                    None => break,
                }
            }
        };
        match self.opts.flags.timeout {
            Some(t) => {
                if tokio::time::timeout(t, collect).await.is_err() {
                    return Err(AckError::Timeout(responses));
                }
            }
            None => collect.await,
        }
        Ok(responses)
    }

    /// [`emit_with_ack`](Self::emit_with_ack) with the answers read as Node's `emitWithAck` resolves
    /// them: one value per client, its first argument (`null` when it answered with none), deserialized
    /// into `T`. An answer that does not fit `T` fails the whole call with [`AckError::Args`]; after the
    /// timeout, [`AckError::Timeout`] carries the raw answers received so far.
    ///
    /// ```no_run
    /// # async fn f(io: socketio_server::SocketIo) -> Result<(), socketio_server::AckError> {
    /// // Node: const counts = await io.timeout(1000).emitWithAck("count");
    /// let counts: Vec<u32> =
    ///     io.timeout(std::time::Duration::from_secs(1)).emit_with_ack_as("count", ()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn emit_with_ack_as<T: serde::de::DeserializeOwned>(
        &self,
        event: &str,
        args: impl IntoArgs,
    ) -> Result<Vec<T>, AckError> {
        let answers = self.emit_with_ack(event, args).await?;
        answers.into_iter().map(crate::args::first_arg).collect()
    }

    /// The ids of the targeted sockets of this node.
    pub fn socket_ids(&self) -> Vec<String> {
        let targets = self.nsp.targets();
        targets.iter().flat_map(|nsp| nsp.adapter().sockets(&self.opts)).map(|s| s.to_string()).collect()
    }

    /// Every targeted socket, on every node (`fetchSockets`): what is known of it, and operations that
    /// reach it where it is.
    pub async fn fetch_sockets(&self) -> Result<Vec<crate::RemoteSocket>, AckError> {
        let mut all = Vec::new();
        for nsp in self.nsp.targets() {
            let infos = nsp.adapter().fetch_sockets(self.opts.clone()).await?;
            all.extend(infos.into_iter().map(|info| crate::RemoteSocket::new(info, nsp.clone())));
        }
        Ok(all)
    }

    /// Makes every targeted socket join `rooms` (`socketsJoin`).
    pub async fn sockets_join(&self, rooms: impl crate::IntoRooms) -> Result<(), AckError> {
        let rooms = rooms.into_rooms();
        for nsp in self.nsp.targets() {
            nsp.adapter().add_sockets(self.opts.clone(), rooms.clone()).await?;
        }
        Ok(())
    }

    /// Makes every targeted socket leave `rooms` (`socketsLeave`).
    pub async fn sockets_leave(&self, rooms: impl crate::IntoRooms) -> Result<(), AckError> {
        let rooms = rooms.into_rooms();
        for nsp in self.nsp.targets() {
            nsp.adapter().del_sockets(self.opts.clone(), rooms.clone()).await?;
        }
        Ok(())
    }

    /// Disconnects every targeted socket (`disconnectSockets`); with `close`, their whole connections.
    pub async fn disconnect_sockets(&self, close: bool) -> Result<(), AckError> {
        for nsp in self.nsp.targets() {
            nsp.adapter().disconnect_sockets(self.opts.clone(), close).await?;
        }
        Ok(())
    }
}
