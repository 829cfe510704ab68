//! Acknowledgements: where a client's answer goes, and [`AckSender`] to answer a client.
use super::*;

/// Where the answer to an ack id goes.
pub(crate) enum AckTarget {
    One(oneshot::Sender<Vec<Value>>),
    Broadcast(mpsc::UnboundedSender<AckEvent>),
}

impl AckTarget {
    /// Whether nobody waits for the answer any more (the emit timed out or was dropped).
    pub(super) fn abandoned(&self) -> bool {
        match self {
            AckTarget::One(tx) => tx.is_closed(),
            AckTarget::Broadcast(tx) => tx.is_closed(),
        }
    }
}

/// Registers an ack expected from the client. Entries whose emitter stopped waiting (a broadcast that
/// timed out leaves one in every recipient) are pruned whenever the map doubles, so a client that
/// never answers costs bounded memory at amortized constant cost.
pub(crate) fn expect_ack(acks: &Mutex<HashMap<u64, AckTarget>>, id: u64, target: AckTarget) {
    let mut acks = acks.lock().unwrap_or_else(|e| e.into_inner());
    if acks.len() >= 8 && acks.len().is_power_of_two() {
        acks.retain(|_, t| !t.abandoned());
    }
    acks.insert(id, target);
}

/// The ack of one received event: call [`send`](AckSender::send) once to answer. Clones answer the
/// same event: only the first answer of them all is sent.
#[derive(Debug)]
pub struct AckSender {
    pub(super) socket: Socket,
    pub(super) id: u64,
    /// Whether one of the clones answered, shared once the sender is cloned: a sender never cloned is
    /// the only one, and its `send` consumes it.
    sent: std::sync::OnceLock<Arc<AtomicBool>>,
}

impl Clone for AckSender {
    fn clone(&self) -> Self {
        let sent = self.sent.get_or_init(|| Arc::new(AtomicBool::new(false))).clone();
        AckSender { socket: self.socket.clone(), id: self.id, sent: sent.into() }
    }
}

impl AckSender {
    pub(super) fn new(socket: Socket, id: u64) -> Self {
        AckSender { socket, id, sent: std::sync::OnceLock::new() }
    }

    /// Answers the event with `args`. Only the first answer is sent.
    pub fn send(self, args: impl IntoArgs) -> Result<(), EmitError> {
        if self.sent.get().is_some_and(|sent| sent.swap(true, Ordering::SeqCst)) {
            return Ok(());
        }
        let packet = Packet::ack(self.socket.nsp(), self.id, args.into_args()?);
        self.socket.packet(&packet, &BroadcastFlags::default());
        Ok(())
    }
}
