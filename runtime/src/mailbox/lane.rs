//! The message lane: a thin wrapper over bounded and unbounded tokio queues.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use tokio::sync::mpsc;

use super::Mailbox;
use crate::envelope::BoxEnvelope;

/// The sending half of an actor's message lane.
pub(crate) struct MailboxSender<A> {
    queue: SenderQueue<A>,
    /// Set by [`close`](Self::close) when the actor is asked to stop, so that
    /// sends are refused at once, before the actor's task has seen the stop.
    closed: AtomicBool,
}

enum SenderQueue<A> {
    Bounded(mpsc::Sender<BoxEnvelope<A>>),
    /// tokio's unbounded sender cannot tell how much is queued, so the lane
    /// counts for itself; the bounded lane reads it off its free capacity.
    Unbounded(mpsc::UnboundedSender<BoxEnvelope<A>>, Arc<AtomicUsize>),
}

/// The receiving half, owned by the actor's task.
pub(crate) enum MailboxReceiver<A> {
    Bounded(mpsc::Receiver<BoxEnvelope<A>>),
    Unbounded(mpsc::UnboundedReceiver<BoxEnvelope<A>>, Arc<AtomicUsize>),
}

/// Creates a message lane of the given kind.
pub(crate) fn channel<A>(kind: Mailbox) -> (MailboxSender<A>, MailboxReceiver<A>) {
    match kind {
        Mailbox::Bounded(capacity) => {
            let (tx, rx) = mpsc::channel(capacity.max(1));
            (
                MailboxSender::new(SenderQueue::Bounded(tx)),
                MailboxReceiver::Bounded(rx),
            )
        }
        Mailbox::Unbounded => {
            let (tx, rx) = mpsc::unbounded_channel();
            let queued = Arc::new(AtomicUsize::new(0));
            (
                MailboxSender::new(SenderQueue::Unbounded(tx, queued.clone())),
                MailboxReceiver::Unbounded(rx, queued),
            )
        }
    }
}

/// Why room could not be reserved; nothing was allocated yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    Full,
    Closed,
}

/// Room for one message, reserved before the envelope is built.
pub(crate) enum Slot<'a, A> {
    Bounded(mpsc::Permit<'a, BoxEnvelope<A>>),
    Unbounded(&'a mpsc::UnboundedSender<BoxEnvelope<A>>, &'a AtomicUsize),
}

impl<A> Slot<'_, A> {
    /// Fills the reserved room. Only an unbounded lane can have closed meanwhile.
    pub(crate) fn send(self, envelope: BoxEnvelope<A>) -> Result<(), BoxEnvelope<A>> {
        match self {
            Self::Bounded(permit) => {
                permit.send(envelope);
                Ok(())
            }
            Self::Unbounded(tx, queued) => {
                queued.fetch_add(1, Ordering::Relaxed);
                tx.send(envelope).map_err(|e| {
                    queued.fetch_sub(1, Ordering::Relaxed);
                    e.0
                })
            }
        }
    }
}

impl<A> MailboxSender<A> {
    fn new(queue: SenderQueue<A>) -> Self {
        Self {
            queue,
            closed: AtomicBool::new(false),
        }
    }

    /// Refuses every send from now on. Messages already queued stay queued;
    /// the receiver closes its own end when it sees the stop.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits for room in the lane, then reserves it.
    pub(crate) async fn reserve(&self) -> Result<Slot<'_, A>, NoRoom> {
        match &self.queue {
            SenderQueue::Bounded(tx) if !self.is_closed() => {
                let permit = tx.reserve().await.map_err(|_| NoRoom::Closed)?;
                // The actor may have been stopped while this send waited.
                if self.is_closed() {
                    return Err(NoRoom::Closed);
                }
                Ok(Slot::Bounded(permit))
            }
            _ => self.try_reserve(),
        }
    }

    /// Reserves room if there is some now.
    pub(crate) fn try_reserve(&self) -> Result<Slot<'_, A>, NoRoom> {
        if self.is_closed() {
            return Err(NoRoom::Closed);
        }
        match &self.queue {
            SenderQueue::Bounded(tx) => tx.try_reserve().map(Slot::Bounded).map_err(|e| match e {
                mpsc::error::TrySendError::Full(()) => NoRoom::Full,
                mpsc::error::TrySendError::Closed(()) => NoRoom::Closed,
            }),
            SenderQueue::Unbounded(tx, _) if tx.is_closed() => Err(NoRoom::Closed),
            SenderQueue::Unbounded(tx, queued) => Ok(Slot::Unbounded(tx, queued)),
        }
    }

    /// How many messages wait in the lane (a snapshot).
    pub(crate) fn len(&self) -> usize {
        match &self.queue {
            SenderQueue::Bounded(tx) => tx.max_capacity() - tx.capacity(),
            SenderQueue::Unbounded(_, queued) => queued.load(Ordering::Relaxed),
        }
    }
}

impl<A> MailboxReceiver<A> {
    /// Polls for the next message; `None` once the lane is closed and empty.
    pub(crate) fn poll_recv(&mut self, cx: &mut TaskContext<'_>) -> Poll<Option<BoxEnvelope<A>>> {
        match self {
            Self::Bounded(rx) => rx.poll_recv(cx),
            Self::Unbounded(rx, queued) => {
                let polled = rx.poll_recv(cx);
                if let Poll::Ready(Some(_)) = &polled {
                    queued.fetch_sub(1, Ordering::Relaxed);
                }
                polled
            }
        }
    }

    /// Takes the next message if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<BoxEnvelope<A>> {
        match self {
            Self::Bounded(rx) => rx.try_recv().ok(),
            Self::Unbounded(rx, queued) => {
                let envelope = rx.try_recv().ok()?;
                queued.fetch_sub(1, Ordering::Relaxed);
                Some(envelope)
            }
        }
    }

    /// Refuses new messages; those already queued can still be taken.
    pub(crate) fn close(&mut self) {
        match self {
            Self::Bounded(rx) => rx.close(),
            Self::Unbounded(rx, _) => rx.close(),
        }
    }
}
