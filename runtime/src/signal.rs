//! The signal lane: control notices that overtake queued messages.

use std::fmt;
use std::time::Duration;

use crate::envelope::BoxEnvelope;
use crate::link::LinkSignal;
use crate::{Actor, ActorId, StopReason, Terminated};

/// A control notice for actor `A`, read before any queued message.
pub(crate) enum Signal<A: Actor> {
    /// Refuse new messages, handle those already queued, then stop.
    Stop,
    /// Stop after the current message; queued messages are not handled.
    Kill,
    /// Send a [`Terminated`] to `watcher` when this actor stops.
    Watch(Watcher),
    /// Forget the watch that `watcher` made.
    Unwatch(ActorId),
    /// A child of this actor has stopped.
    ChildTerminated(ActorId),
    /// A child of this actor has failed (or, if permanent, stopped itself)
    /// and waits for a [`Signal::Restart`] or a [`Signal::Stop`].
    ChildFailed(ActorId, StopReason),
    /// Restart in place after the delay. The reason handed to `on_restart`
    /// is the failure the actor reported.
    Restart(Duration),
    /// A child of this actor has restarted (its `on_restart` and, for a
    /// supervisor, its children's starts completed).
    ChildStarted(ActorId),
    /// The supervisor restarts this actor together with a failed sibling:
    /// stop serving, stop its children, run `on_stop`, then report as
    /// failed and wait for the [`Signal::Restart`] (or a stop).
    TakeDown(StopReason),
    /// The supervisor will not restart this failed actor: stop now, with
    /// the failure as the reason. (A plain `Stop` to a failed actor waits
    /// for the supervisor's decision, so the queue can still drain.)
    Dismiss,
    /// An actor this one watches has stopped; the envelope holds the notice.
    Terminated(ActorId, BoxEnvelope<A>),
    /// News from the other side of a link (see the `link` module).
    Link(LinkSignal),
}

/// Delivers a [`Terminated`] notice to a watcher, wherever it lives.
pub(crate) trait TerminationSink: Send + Sync {
    fn notify(self: Box<Self>, terminated: Terminated);
}

/// One watch on an actor: who watches, and how to tell them it stopped.
///
/// Handed to a [`RemoteDelivery`](crate::remote::RemoteDelivery) when the watched
/// actor lives on another node; the network layer calls
/// [`notify`](Self::notify) once that actor stops or its node goes down.
pub struct Watcher {
    id: ActorId,
    sink: Box<dyn TerminationSink>,
}

impl Watcher {
    pub(crate) fn new(id: ActorId, sink: Box<dyn TerminationSink>) -> Self {
        Self { id, sink }
    }

    /// A watch made by `id` (on another node, typically) that runs `notify`
    /// when the watched actor stops. For network layers.
    pub fn from_fn(id: ActorId, notify: impl FnOnce(Terminated) + Send + Sync + 'static) -> Self {
        Self::new(id, Box::new(FnSink(Some(notify))))
    }

    /// The watching actor.
    pub fn id(&self) -> ActorId {
        self.id
    }

    /// Tells the watcher that `target` stopped with `reason`. Consumes the
    /// watch, so each watch yields exactly one notice.
    pub fn notify(self, target: ActorId, reason: StopReason) {
        self.sink.notify(Terminated { id: target, reason });
    }
}

impl fmt::Debug for Watcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watcher")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A [`TerminationSink`] that runs a closure.
struct FnSink<F>(Option<F>);

impl<F: FnOnce(Terminated) + Send + Sync> TerminationSink for FnSink<F> {
    fn notify(mut self: Box<Self>, terminated: Terminated) {
        if let Some(notify) = self.0.take() {
            notify(terminated);
        }
    }
}

// ===== impl SignalLane =====

/// The signal lane of one actor: a queue behind a lock, which is fine
/// because signals are rare, plus a flag the actor reads before every
/// message, so the common case (no signal) costs one atomic load and
/// neither a lock nor an allocation. The queue allocates on first use, so
/// an actor that never gets a signal pays only for the empty lane.
pub(crate) struct SignalLane<A: Actor> {
    state: std::sync::Mutex<LaneState<A>>,
    /// True while the queue may hold signals; written under the lock.
    pending: std::sync::atomic::AtomicBool,
    /// The actor task, woken when a signal arrives.
    waker: atomic_waker::AtomicWaker,
}

struct LaneState<A: Actor> {
    queue: std::collections::VecDeque<Signal<A>>,
    /// Set when the actor has stopped; sends are refused from then on.
    closed: bool,
}

impl<A: Actor> SignalLane<A> {
    pub(crate) fn new() -> Self {
        Self {
            state: std::sync::Mutex::new(LaneState {
                queue: std::collections::VecDeque::new(),
                closed: false,
            }),
            pending: std::sync::atomic::AtomicBool::new(false),
            waker: atomic_waker::AtomicWaker::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LaneState<A>> {
        // No code runs user logic under this lock, so poisoning is harmless.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues `signal`; hands it back if the actor has stopped.
    pub(crate) fn send(&self, signal: Signal<A>) -> Result<(), Signal<A>> {
        let mut state = self.lock();
        if state.closed {
            return Err(signal);
        }
        state.queue.push_back(signal);
        self.pending
            .store(true, std::sync::atomic::Ordering::Release);
        drop(state);
        self.waker.wake();
        Ok(())
    }

    /// Takes the next signal, if any.
    ///
    /// Inlined, so that the check the actor makes before every message is
    /// one load where it is made, not a call (24 instructions a check, two
    /// checks a ring hop); the locked part stays out of line.
    #[inline]
    pub(crate) fn try_recv(&self) -> Option<Signal<A>> {
        if !self.pending.load(std::sync::atomic::Ordering::Acquire) {
            return None;
        }
        self.take_pending()
    }

    #[cold]
    #[inline(never)]
    fn take_pending(&self) -> Option<Signal<A>> {
        let mut state = self.lock();
        let signal = state.queue.pop_front();
        if state.queue.is_empty() {
            self.pending
                .store(false, std::sync::atomic::Ordering::Release);
        }
        signal
    }

    /// The next signal, or `Pending` with the task registered for a wake-up.
    pub(crate) fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Signal<A>> {
        if let Some(signal) = self.try_recv() {
            return std::task::Poll::Ready(signal);
        }
        self.waker.register(cx.waker());
        // Check again: a signal sent before the registration woke nobody.
        match self.try_recv() {
            Some(signal) => std::task::Poll::Ready(signal),
            None => std::task::Poll::Pending,
        }
    }

    /// Waits for the next signal.
    pub(crate) async fn recv(&self) -> Signal<A> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Refuses every later signal and returns those still queued.
    pub(crate) fn close(&self) -> std::collections::VecDeque<Signal<A>> {
        let mut state = self.lock();
        state.closed = true;
        self.pending
            .store(false, std::sync::atomic::Ordering::Release);
        std::mem::take(&mut state.queue)
    }
}
