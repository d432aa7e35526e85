//! Dead letters: messages that were accepted but never handled.

use tokio::sync::broadcast;

use crate::{ActorId, StopReason};

/// A message that was queued for an actor but never handled, e.g. because
/// the actor was killed or failed with it still in its mailbox; or a remote
/// tell whose connection broke before the other node acknowledged it (see
/// [`possibly_delivered`](Self::possibly_delivered)).
///
/// Messages refused at send time are not dead letters: the sender gets them
/// back in the [`SendError`](crate::SendError).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The actor the message was for.
    pub recipient: ActorId,
    /// The Rust type name of the message.
    pub message_type: &'static str,
    /// Why the recipient did not handle it.
    pub reason: StopReason,
    /// Whether the message may have been handled after all. Always `false`
    /// for a local actor; `true` for a remote tell that was already written
    /// to its connection when the connection broke, before the receiving
    /// node acknowledged it: it may or may not have arrived, and the
    /// sending node cannot tell which (delivery is at most once).
    pub possibly_delivered: bool,
}

/// A subscription to a system's dead letters; see
/// [`System::dead_letters`](crate::System::dead_letters).
///
/// Each subscriber sees the dead letters published after it subscribed. A
/// subscriber that falls more than [`DeadLetters::CAPACITY`] behind skips
/// the oldest ones (a `tracing` warning says how many).
#[derive(Debug)]
pub struct DeadLetters {
    rx: broadcast::Receiver<DeadLetter>,
}

impl DeadLetters {
    /// How many unread dead letters a subscriber can fall behind by.
    pub const CAPACITY: usize = 1024;

    pub(crate) fn new(rx: broadcast::Receiver<DeadLetter>) -> Self {
        Self { rx }
    }

    /// Waits for the next dead letter; `None` once the system is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a dead letter is never lost by dropping this future.
    pub async fn recv(&mut self) -> Option<DeadLetter> {
        loop {
            match self.rx.recv().await {
                Ok(letter) => return Some(letter),
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "dead-letter subscriber fell behind");
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Takes the next dead letter if one is waiting.
    pub fn try_recv(&mut self) -> Option<DeadLetter> {
        loop {
            match self.rx.try_recv() {
                Ok(letter) => return Some(letter),
                Err(broadcast::error::TryRecvError::Lagged(skipped)) => {
                    tracing::warn!(skipped, "dead-letter subscriber fell behind");
                }
                Err(_) => return None,
            }
        }
    }
}
