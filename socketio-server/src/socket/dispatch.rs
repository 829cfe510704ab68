//! What a socket does with the packets its client sends, and how it ends: events through their
//! middlewares to their handlers, acks to their waiters, and the disconnection sequence.

use super::*;

impl Socket {
    /// Handles a packet for this socket.
    pub(crate) fn on_packet(&self, packet: Packet) {
        match packet.data {
            PacketData::Event(args) => self.on_event(args, packet.id),
            PacketData::Ack(args) => {
                let target = packet
                    .id
                    .and_then(|id| self.0.acks.lock().unwrap_or_else(|e| e.into_inner()).remove(&id));
                match target {
                    Some(AckTarget::One(tx)) => {
                        let _ = tx.send(args);
                    }
                    Some(AckTarget::Broadcast(tx)) => {
                        let _ = tx.send(AckEvent::Response(args));
                    }
                    None => tracing::debug!(sid = %self.id(), "ack for an unknown id"),
                }
            }
            PacketData::Disconnect => self.on_close(DisconnectReason::ClientNamespaceDisconnect),
            PacketData::Connect(_) | PacketData::ConnectError(_) => {}
        }
    }

    /// Dispatches an event on the socket's handler task, so that everything one event triggers (packet
    /// middlewares, catch-all listeners, the start of its handlers) happens before the next event's.
    fn on_event(&self, args: Vec<Value>, id: Option<u64>) {
        let socket = self.clone();
        self.run_job(move || socket.start_event(args, id));
    }

    /// Without packet middlewares, dispatches the event at once; with some, returns the gate that runs
    /// them, then dispatches the event if they let it through.
    fn start_event(&self, args: Vec<Value>, id: Option<u64>) -> JobStart {
        let middlewares = self
            .own()
            .map(|own| own.packet_middlewares.read().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default();
        if middlewares.is_empty() || args.is_empty() {
            return JobStart::Run(self.dispatch_event(args, id));
        }
        let socket = self.clone();
        JobStart::Gate(Box::pin(async move {
            let mut args = args;
            for middleware in middlewares {
                match middleware(socket.clone(), args).await {
                    Ok(passed) => args = passed,
                    Err(e) => {
                        socket.report(e);
                        return Futures::new();
                    }
                }
            }
            socket.dispatch_event(args, id)
        }))
    }

    /// Runs the catch-all listeners of an event that passed the packet middlewares; returns its
    /// handlers' futures.
    fn dispatch_event(&self, mut args: Vec<Value>, id: Option<u64>) -> Futures {
        if args.is_empty() {
            return Futures::new();
        }
        let name = match args.remove(0) {
            Value::String(s) => s,
            other => other.to_string(),
        };
        // The catch-all listeners, the handlers' calls and their futures run inside the event's span.
        #[cfg(feature = "tracing")]
        let span = tracing::info_span!(
            parent: &self.0.span,
            "socketio.event",
            sid = %self.id(),
            nsp = %self.nsp(),
            event = %name
        );
        #[cfg(feature = "tracing")]
        let _entered = span.enter();
        if let Some(own) = self.own() {
            let any = own.any.read().unwrap_or_else(|e| e.into_inner()).clone();
            for listener in any {
                (listener.f)(self, &name, &args);
            }
        }
        // The namespace's handlers of the event (registered once for all its sockets), then the socket's.
        let mut handlers = self.0.nsp.event_handlers(&name);
        if let Some(own) = self.own() {
            let mut all = own.handlers.write().unwrap_or_else(|e| e.into_inner());
            if let Some(listeners) = all.get_mut(&name) {
                handlers.extend(listeners.iter().map(|l| l.f.clone()));
                listeners.retain(|l| !l.once);
                if listeners.is_empty() {
                    all.remove(&name);
                }
            }
        }
        let mut ack = id.map(|id| AckSender::new(self.clone(), id));
        let n = handlers.len();
        let mut futures = Futures::with_capacity(n);
        for (i, listener) in handlers.into_iter().enumerate() {
            // The last handler takes the arguments and the ack themselves.
            let (args, ack) = if i + 1 == n {
                (std::mem::take(&mut args), ack.take())
            } else {
                (args.clone(), ack.clone())
            };
            let fut = listener(self.clone(), args, ack);
            #[cfg(feature = "tracing")]
            let fut: BoxFuture = if span.is_disabled() {
                fut
            } else {
                Box::pin(tracing::Instrument::instrument(fut, span.clone()))
            };
            futures.push(fut);
        }
        futures
    }

    /// Disconnects the socket with `reason`. At once: it stops being connected and stops receiving packets.
    /// Then, on its handler task: the `disconnecting` handlers run to completion (the rooms are still
    /// readable), the socket leaves every room, pending acks fail, and the `disconnect` handlers run.
    /// Runs once.
    pub(crate) fn on_close(&self, reason: DisconnectReason) {
        if !self.0.connected.swap(false, Ordering::SeqCst) {
            return;
        }
        #[cfg(feature = "metrics")]
        self.0.nsp.sockets_gauge().decrement(1.0);
        self.0.nsp.forget_socket(self);
        self.0.client.remove(self);
        let socket = self.clone();
        self.run(Box::pin(async move {
            let mut disconnecting: Vec<DisconnectHandler> =
                socket.0.nsp.event_handlers("disconnecting").into_iter().map(as_lifecycle_handler).collect();
            if let Some(own) = socket.own() {
                disconnecting
                    .extend(own.disconnecting.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
            }
            for handler in disconnecting {
                handler(socket.clone(), reason).await;
            }
            let adapter = socket.0.nsp.adapter();
            if let (Some(pid), Some(_)) = (&socket.0.pid, socket.0.nsp.recovery()) {
                if reason.is_recoverable() {
                    adapter.persist_session(SessionState {
                        sid: socket.0.id.clone(),
                        pid: pid.clone(),
                        rooms: adapter.socket_rooms(&socket.0.id),
                        data: socket.data_value(),
                    });
                }
            }
            socket.leave_all_rooms();
            // Pending acks fail: their senders are dropped.
            socket.0.acks.lock().unwrap_or_else(|e| e.into_inner()).clear();
            let hooks = socket.0.nsp.hooks.socket_disconnected.get();
            for hook in hooks.unwrap_or_default() {
                hook(&socket, reason);
            }
            let mut disconnect: Vec<DisconnectHandler> =
                socket.0.nsp.event_handlers("disconnect").into_iter().map(as_lifecycle_handler).collect();
            if let Some(own) = socket.own() {
                disconnect.extend(own.disconnect.read().unwrap_or_else(|e| e.into_inner()).iter().cloned());
            }
            for handler in disconnect {
                socket.run(handler(socket.clone(), reason));
            }
            // Let the handler task finish what runs and end.
            socket.close_jobs();
        }));
    }

    /// Sends a CONNECT_ERROR for this socket's namespace.
    pub(crate) fn connect_error(&self, message: &str, data: Option<Value>) {
        let packet = if self.0.client.conn.protocol() == engineio_server::parser::ProtocolVersion::V3 {
            Packet {
                nsp: self.nsp().to_string(),
                id: None,
                data: PacketData::ConnectError(data.unwrap_or_else(|| Value::from(message))),
            }
        } else {
            Packet::connect_error(self.nsp(), message, data)
        };
        let frames = self.0.client.encode(&packet);
        self.0.client.write(&frames, &BroadcastFlags::default());
    }
}
