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

/// The ack of one received event: call [`send`](AckSender::send) once to answer.
#[derive(Debug, Clone)]
pub struct AckSender {
    pub(super) socket: Socket,
    pub(super) id: u64,
    pub(super) sent: Arc<AtomicBool>,
}

impl AckSender {
    /// Answers the event with `args`. Only the first answer is sent.
    pub fn send(self, args: impl IntoArgs) -> Result<(), EmitError> {
        if self.sent.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let packet = Packet::ack(self.socket.nsp(), self.id, args.into_args()?);
        self.socket.packet(&packet, &BroadcastFlags::default());
        Ok(())
    }
}
