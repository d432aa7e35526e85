//! The message lane: the [`Queue`] plus a count that bounds it, closes it,
//! and tells the actor when it is drained.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context as TaskContext, Poll};

use atomic_waker::AtomicWaker;
use tokio::sync::Notify;

use super::queue::Queue;
use super::sync::{AtomicUsize, Ordering};
use super::Mailbox;
use crate::envelope::BoxEnvelope;
use crate::Actor;

/// Set in `state` once the lane refuses new messages.
const CLOSED: usize = 1;
/// Set in `state` once the actor has decided to stop when the lane is empty.
/// Apart from `CLOSED`: a kill closes the lane too, but must not let the
/// actor see an empty closed lane as a graceful end before the kill arrives.
const DRAINING: usize = 2;
/// Set in `state` by the actor's task when it is about to wait for a
/// message; the first sender to see it clears it and wakes the task. While
/// the task is busy, senders need not touch its waker at all.
const PARKED: usize = 4;
/// One message in `state`; the count sits above the three flags.
const ONE: usize = 8;

/// An actor's message lane, shared by its senders and its task.
///
/// Senders reserve room by counting themselves in `state` before they
/// build an envelope, then push it. Only the actor's task receives (see
/// [`try_recv`](Self::try_recv)).
pub(crate) struct MessageLane<A: Actor> {
    queue: Queue<A>,
    /// `ONE` × (queued + reserved messages), plus the flags. A lane is
    /// drained when this is exactly `CLOSED | DRAINING`: nothing queued and
    /// no sender left between reserving and pushing.
    state: AtomicUsize,
    /// Most messages queued at once; `usize::MAX >> 1` when unbounded.
    capacity: usize,
    /// The actor's task, woken by the first push after it marked itself
    /// `PARKED`.
    receiver: AtomicWaker,
    /// Senders waiting for room in a full bounded lane.
    room: Notify,
    /// How many senders wait on `room`, so that a receive wakes one only
    /// when somebody waits.
    blocked: AtomicUsize,
}

/// Why room could not be reserved; nothing was allocated yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    Full,
    Closed,
}

/// Room for one message, reserved before the envelope is built. Dropping it
/// unused gives the room back.
pub(crate) struct Slot<'a, A: Actor> {
    lane: &'a MessageLane<A>,
    /// This sender cleared `PARKED`, so it must wake the actor.
    wake: bool,
}

impl<A: Actor> Slot<'_, A> {
    /// Queues `envelope` in the reserved room and wakes the actor if it
    /// waits.
    pub(crate) fn send(self, envelope: BoxEnvelope<A>) {
        let (lane, wake) = (self.lane, self.wake);
        std::mem::forget(self);
        lane.queue.push(envelope);
        if wake {
            lane.receiver.wake();
        }
    }
}

impl<A: Actor> Drop for Slot<'_, A> {
    fn drop(&mut self) {
        self.lane.release();
        // A closed lane may be waiting for this reservation to drain.
        self.lane.receiver.wake();
    }
}

impl<A: Actor> MessageLane<A> {
    pub(crate) fn new(kind: Mailbox) -> Self {
        let capacity = match kind {
            Mailbox::Bounded(capacity) => capacity.clamp(1, usize::MAX >> 1),
            Mailbox::Unbounded => usize::MAX >> 1,
        };
        Self {
            queue: Queue::new(),
            state: AtomicUsize::new(0),
            capacity,
            receiver: AtomicWaker::new(),
            room: Notify::new(),
            blocked: AtomicUsize::new(0),
        }
    }

    /// Refuses every send from now on. Messages already queued stay queued
    /// and are still received.
    pub(crate) fn close(&self) {
        if self.state.fetch_or(CLOSED, Ordering::SeqCst) & CLOSED == 0 {
            self.room.notify_waiters();
        }
    }

    /// Closes the lane and lets the receiver see its end (`poll_recv`
    /// returns `None`) once what is queued has been received. For the actor's
    /// task, when it stops gracefully.
    pub(crate) fn close_and_drain(&self) {
        if self.state.fetch_or(CLOSED | DRAINING, Ordering::SeqCst) & CLOSED == 0 {
            self.room.notify_waiters();
        }
    }

    /// Reserves room if there is some now.
    pub(crate) fn try_reserve(&self) -> Result<Slot<'_, A>, NoRoom> {
        // SeqCst, not Relaxed: a sender that counted itself in `blocked`
        // and checks again must see a receive's release, or the receive
        // must see it in `blocked` (the two sides of `release`).
        let mut state = self.state.load(Ordering::SeqCst);
        loop {
            if state & CLOSED != 0 {
                return Err(NoRoom::Closed);
            }
            if state / ONE >= self.capacity {
                return Err(NoRoom::Full);
            }
            match self.state.compare_exchange_weak(
                state,
                (state + ONE) & !PARKED,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(Slot {
                        lane: self,
                        wake: state & PARKED != 0,
                    })
                }
                Err(actual) => state = actual,
            }
        }
    }

    /// Waits for room in the lane, then reserves it.
    ///
    /// Room that is there at once is taken in the first poll without
    /// building the wait, whose state (a `Notified` and a count) is large:
    /// only a sender that finds the lane full pays for it.
    pub(crate) fn reserve(&self) -> Reserve<'_, A> {
        Reserve {
            lane: self,
            waiting: None,
        }
    }

    /// Waits for room in a lane that was full, then reserves it.
    async fn wait_for_room(&self) -> Result<Slot<'_, A>, NoRoom> {
        loop {
            match self.try_reserve() {
                Err(NoRoom::Full) => {}
                reserved => return reserved,
            }
            let mut notified = pin!(self.room.notified());
            let _blocked = Blocked::new(&self.blocked);
            // Registered before checking again, so a receive in between
            // cannot be missed (it sees `blocked` and notifies).
            notified.as_mut().enable();
            match self.try_reserve() {
                Err(NoRoom::Full) => notified.await,
                reserved => return reserved,
            }
        }
    }

    /// Whether the lane refuses sends (the actor stops or has stopped).
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Relaxed) & CLOSED != 0
    }

    /// How many messages wait in the lane (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.state.load(Ordering::Relaxed) / ONE
    }

    /// Marks the actor's task as about to wait; returns the messages queued
    /// or reserved at that instant. Every sender that reserves later sees
    /// the mark, and the first of them wakes the task.
    fn park(&self) -> usize {
        self.state.fetch_or(PARKED, Ordering::SeqCst) / ONE
    }

    /// Takes the next message if one is queued.
    ///
    /// # Safety
    ///
    /// Only the actor's task may receive: the caller must be the lane's one
    /// consumer.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn try_recv(&self) -> Option<BoxEnvelope<A>> {
        // SAFETY: forwarded from the caller.
        let envelope = unsafe { self.queue.pop() }?;
        self.release();
        Some(envelope)
    }

    /// Polls for the next message; `None` once the lane is drained after
    /// [`close_and_drain`](Self::close_and_drain).
    ///
    /// # Safety
    ///
    /// As for [`try_recv`](Self::try_recv).
    #[allow(unsafe_code)]
    pub(crate) unsafe fn poll_recv(
        &self,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<BoxEnvelope<A>>> {
        // SAFETY (both calls): forwarded from the caller.
        if let Some(envelope) = unsafe { self.try_recv() } {
            return Poll::Ready(Some(envelope));
        }
        if self.is_drained() {
            return Poll::Ready(None);
        }
        self.receiver.register(cx.waker());
        let in_flight = self.park();
        // Check again: a push before the mark woke nobody.
        if let Some(envelope) = unsafe { self.try_recv() } {
            return Poll::Ready(Some(envelope));
        }
        if self.is_drained() {
            return Poll::Ready(None);
        }
        if in_flight > 0 {
            // A sender reserved before the mark and has not pushed yet; it
            // will not wake us, so look again after a yield.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }

    /// Wakes the receiver if it waits, for something that is not a
    /// message (a signal): message senders wake it themselves.
    pub(crate) fn wake_receiver(&self) {
        self.receiver.wake();
    }

    fn is_drained(&self) -> bool {
        self.state.load(Ordering::SeqCst) & !PARKED == CLOSED | DRAINING
    }

    /// Gives back one message's room, waking a sender that waits for it.
    fn release(&self) {
        self.state.fetch_sub(ONE, Ordering::SeqCst);
        // Pairs with the increment in `Blocked::new`: either that sender
        // sees the room when it checks again, or this sees the sender.
        if self.blocked.load(Ordering::SeqCst) > 0 {
            self.room.notify_one();
        }
    }
}

/// The future of [`MessageLane::reserve`].
pub(crate) struct Reserve<'a, A: Actor> {
    lane: &'a MessageLane<A>,
    /// The wait for room, built once the lane was found full.
    waiting: Option<WaitForRoom<'a, A>>,
}

/// [`MessageLane::wait_for_room`], boxed: only a full lane builds one.
type WaitForRoom<'a, A> = Pin<Box<dyn Future<Output = Result<Slot<'a, A>, NoRoom>> + Send + 'a>>;

impl<'a, A: Actor> Future for Reserve<'a, A> {
    type Output = Result<Slot<'a, A>, NoRoom>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if this.waiting.is_none() {
            match this.lane.try_reserve() {
                Err(NoRoom::Full) => {}
                reserved => return Poll::Ready(reserved),
            }
        }
        let lane = this.lane;
        this.waiting
            .get_or_insert_with(|| Box::pin(lane.wait_for_room()))
            .as_mut()
            .poll(cx)
    }
}

/// Counts a sender as waiting for room while it lives.
struct Blocked<'a>(&'a AtomicUsize);

impl<'a> Blocked<'a> {
    fn new(blocked: &'a AtomicUsize) -> Self {
        blocked.fetch_add(1, Ordering::SeqCst);
        Self(blocked)
    }
}

impl Drop for Blocked<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
