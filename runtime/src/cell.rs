//! The shared core of a local actor, pointed to by every `ActorRef`.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use crate::envelope::MessageEnvelope;
use crate::mailbox::MessageLane;
use crate::signal::{Signal, SignalLane, TerminationSink, Watcher};
use crate::{Actor, ActorId, Handler, StopReason, Terminated};

/// Everything senders need to reach one local actor.
pub(crate) struct Cell<A: Actor> {
    pub(crate) id: ActorId,
    pub(crate) mailbox: MessageLane<A>,
    pub(crate) signals: SignalLane<A>,
    /// The default deadline of an `ask`, copied from the system config.
    pub(crate) ask_timeout: Duration,
    pub(crate) life: Life,
    /// Set once the actor is registered under a name, so that only named
    /// actors pay for a registry sweep when they stop.
    pub(crate) named: AtomicBool,
}

impl<A: Actor> Cell<A> {
    pub(crate) fn signal(&self, signal: Signal<A>) -> Result<(), Signal<A>> {
        self.signals.send(signal)
    }

    /// Registers `watcher`; if this actor is already gone, notifies it at once.
    pub(crate) fn add_watcher(&self, watcher: Watcher) {
        if let Err(Signal::Watch(watcher)) = self.signal(Signal::Watch(watcher)) {
            // The lane closes only after the final reason is set.
            watcher.notify(self.id, self.life.reason().unwrap_or(StopReason::Normal));
        }
    }
}

/// When and why an actor stopped.
#[derive(Default)]
pub(crate) struct Life {
    /// Set once, when the actor has stopped handling anything.
    reason: OnceLock<StopReason>,
    /// Set after every trace of the actor is cleaned up (names, watchers told).
    finished: AtomicBool,
    finished_notify: Notify,
}

impl Life {
    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.reason.get().cloned()
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.reason.get().is_none()
    }

    pub(crate) fn set_reason(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
    }

    pub(crate) fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
        self.finished_notify.notify_waiters();
    }

    /// Waits until the actor has stopped and been cleaned up; returns why it stopped.
    pub(crate) async fn wait(&self) -> StopReason {
        loop {
            let notified = self.finished_notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking, so a `finish` in between is not missed.
            notified.as_mut().enable();
            if self.finished.load(Ordering::SeqCst) {
                return self.reason().unwrap_or(StopReason::Normal);
            }
            notified.await;
        }
    }
}

/// A local actor of any type, as the system and parents see it.
pub(crate) trait AnyActor: Send + Sync {
    fn id(&self) -> ActorId;
    fn life(&self) -> &Life;
    fn stop(&self);
    fn kill(&self);
    fn child_terminated(&self, child: ActorId);
    fn child_failed(&self, child: ActorId, reason: StopReason);
    fn restart(&self, delay: Duration, reason: StopReason);
    fn dismiss(&self);
    fn add_watcher(&self, watcher: Watcher);
    fn remove_watcher(&self, watcher: ActorId);
    fn actor_type(&self) -> TypeId;
    fn actor_type_name(&self) -> &'static str;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<A: Actor> AnyActor for Cell<A> {
    fn id(&self) -> ActorId {
        self.id
    }

    fn life(&self) -> &Life {
        &self.life
    }

    fn stop(&self) {
        // Refuse new messages now, not when the actor's task gets to the signal.
        self.mailbox.close();
        let _ = self.signal(Signal::Stop);
    }

    fn kill(&self) {
        self.mailbox.close();
        let _ = self.signal(Signal::Kill);
    }

    fn child_terminated(&self, child: ActorId) {
        let _ = self.signal(Signal::ChildTerminated(child));
    }

    fn child_failed(&self, child: ActorId, reason: StopReason) {
        let _ = self.signal(Signal::ChildFailed(child, reason));
    }

    fn restart(&self, delay: Duration, reason: StopReason) {
        let _ = self.signal(Signal::Restart(delay, reason));
    }

    fn dismiss(&self) {
        let _ = self.signal(Signal::Dismiss);
    }

    fn add_watcher(&self, watcher: Watcher) {
        Cell::add_watcher(self, watcher);
    }

    fn remove_watcher(&self, watcher: ActorId) {
        let _ = self.signal(Signal::Unwatch(watcher));
    }

    fn actor_type(&self) -> TypeId {
        TypeId::of::<A>()
    }

    fn actor_type_name(&self) -> &'static str {
        std::any::type_name::<A>()
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

/// Delivers [`Terminated`] to a local watcher on its signal lane, so a full
/// mailbox can neither delay nor drop it.
pub(crate) struct LocalWatcher<W: Actor>(pub(crate) Arc<Cell<W>>);

impl<W: Handler<Terminated>> TerminationSink for LocalWatcher<W> {
    fn notify(self: Box<Self>, terminated: Terminated) {
        let id = terminated.id;
        // A watcher that has stopped meanwhile needs no notice.
        let _ = self
            .0
            .signal(Signal::Terminated(id, MessageEnvelope::tell(terminated)));
    }
}
