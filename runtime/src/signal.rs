//! The signal lane: control notices that overtake queued messages.

use std::fmt;
use std::time::Duration;

use crate::envelope::BoxEnvelope;
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
    /// Restart in place after the delay; the reason is handed to `on_restart`.
    Restart(Duration, StopReason),
    /// The supervisor will not restart this failed actor: stop now, with
    /// the failure as the reason. (A plain `Stop` to a failed actor waits
    /// for the supervisor's decision, so the queue can still drain.)
    Dismiss,
    /// An actor this one watches has stopped; the envelope holds the notice.
    Terminated(ActorId, BoxEnvelope<A>),
}

/// Delivers a [`Terminated`] notice to a watcher, wherever it lives.
pub(crate) trait TerminationSink: Send + Sync {
    fn notify(self: Box<Self>, terminated: Terminated);
}

/// One watch on an actor: who watches, and how to tell them it stopped.
///
/// Handed to a [`RemoteDelivery`](crate::RemoteDelivery) when the watched
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
