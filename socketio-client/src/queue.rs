//! Unbounded queues whose items are boxed. A tokio channel allocates its first block of 32 slots when
//! it is created, so a queue of items of ~100 bytes costs 3 KB before anything is sent; an idle client
//! connection has half a dozen queues. Boxed items keep each block at 32 pointers; the extra allocation
//! per item is cheap next to the network write it stands for.

use tokio::sync::mpsc;

/// The sending half; cloning it adds a sender.
pub struct Sender<T>(mpsc::UnboundedSender<Box<T>>);

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender(self.0.clone())
    }
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("queue::Sender").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Queues `item`; gives it back when the receiver is gone.
    pub fn send(&self, item: T) -> Result<(), T> {
        self.0.send(Box::new(item)).map_err(|e| *e.0)
    }
}

/// The receiving half.
pub struct Receiver<T>(mpsc::UnboundedReceiver<Box<T>>);

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("queue::Receiver").finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// The next item, or `None` once every sender is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<T> {
        self.0.recv().await.map(|item| *item)
    }

    /// The next item if one is queued now.
    pub fn try_recv(&mut self) -> Option<T> {
        self.0.try_recv().ok().map(|item| *item)
    }
}

/// A new queue.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Sender(tx), Receiver(rx))
}
