//! The shared core of a local actor, pointed to by every `ActorRef`.

use std::any::{Any, TypeId};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;

use tracing::Span;

use crate::deadlock::Asker;
use crate::envelope::MessageEnvelope;
use crate::introspection::ActorState;
use crate::link::LinkSignal;
use crate::mailbox::MessageLane;
use crate::placement::Home;
use crate::signal::{Signal, SignalLane, TerminationSink, Watcher};
use crate::{Actor, ActorId, Handler, StopReason, Terminated};

/// Everything senders need to reach one local actor.
pub(crate) struct Cell<A: Actor> {
    /// Who this actor is, with the wait graph its asks are recorded in.
    /// Here rather than in the task's future, like the span: see
    /// [`actor_task`](crate::actor_task) for the 128 bytes an actor that
    /// saves.
    pub(crate) asker: Asker,
    /// The span every poll of the actor's task runs in.
    pub(crate) span: Span,
    pub(crate) mailbox: MessageLane<A>,
    pub(crate) signals: SignalLane<A>,
    /// The default deadline of an `ask`, copied from the system config, in
    /// nanoseconds (longer than 584 years saturates), so that it and `home`
    /// take the 16 bytes a `Duration` alone took. A cell of 384 bytes
    /// instead of 376 cost every idle actor 41 bytes in the spawn workload
    /// (glibc's chunks and tokio's 128-byte aligned tasks pack worse); a
    /// test in `system` holds the size.
    pub(crate) ask_timeout_nanos: u64,
    /// The thread this actor runs on, if it is pinned to one.
    pub(crate) home: Home,
    pub(crate) life: Life,
}

impl<A: Actor> Cell<A> {
    pub(crate) fn id(&self) -> ActorId {
        self.asker.id()
    }

    /// The default deadline of an `ask` to this actor.
    pub(crate) fn ask_timeout(&self) -> Duration {
        Duration::from_nanos(self.ask_timeout_nanos)
    }

    /// Queues `signal` and wakes the actor's task, wherever it waits: on
    /// the signal lane alone (during a supervision wait) or, idle, on the
    /// message lane, whose waker it registers for both lanes.
    pub(crate) fn signal(&self, signal: Signal<A>) -> Result<(), Signal<A>> {
        self.signals.send(signal)?;
        self.mailbox.wake_receiver();
        Ok(())
    }

    /// Registers `watcher`; if this actor is already gone, notifies it at once.
    pub(crate) fn add_watcher(&self, watcher: Watcher) {
        if let Err(Signal::Watch(watcher)) = self.signal(Signal::Watch(watcher)) {
            // The lane closes only after the final reason is set.
            watcher.notify(self.id(), self.life.reason().unwrap_or(StopReason::Normal));
        }
    }
}

/// How an actor's start ended, when and why it stopped, and what its end
/// must clean up.
///
/// One byte of flags (below) carries the start outcome, the end, whether
/// the actor has a registered name and whether its parent killed it, so
/// that a start costs one atomic operation. Reporting a failed start costs
/// every actor one `OnceLock` of a boxed reason: a `Once` and a pointer,
/// 16 bytes on 64-bit targets (a unit test below checks the number).
#[derive(Default)]
pub(crate) struct Life {
    /// Set once, when the actor has stopped handling anything.
    reason: OnceLock<StopReason>,
    /// Why the first start failed; set before [`START_FAILED`].
    start_failure: OnceLock<Box<StopReason>>,
    /// The flags below.
    state: AtomicU8,
    /// Restarts so far; written by the actor's task, read by snapshots.
    restarts: AtomicU32,
    /// Messages handled so far (notices included). Only the actor's task
    /// writes it, with a plain load and store rather than a locked add: a
    /// snapshot may read a count one message old, and the hot path pays
    /// no read-modify-write.
    handled: AtomicU64,
    /// Wakes `wait` and `wait_started`.
    changed: Notify,
}

/// The first start (`on_start`, and the children a supervisor starts in
/// order) completed.
const STARTED: u8 = 1;
/// The first start failed; the reason is in `start_failure`.
const START_FAILED: u8 = 1 << 1;
/// Every trace of the actor is cleaned up (names, watchers told).
const FINISHED: u8 = 1 << 2;
/// Someone waits for the start: only then does a start wake anyone, so an
/// actor nobody waits for starts without taking the `Notify`'s lock.
const START_AWAITED: u8 = 1 << 3;
/// The actor was registered under a name, so its stop sweeps the registry
/// (only named actors pay for that sweep).
const NAMED: u8 = 1 << 4;
/// Its parent killed it without waiting (a shutdown timeout ran out, or
/// `Shutdown::BrutalKill`): the task was aborted, and its cleanup must run
/// when the task's future is dropped.
const ABANDONED: u8 = 1 << 5;
/// It failed (or was taken down for a sibling) and waits for its
/// supervisor's decision or for its restart back-off; cleared once it
/// serves again.
const FAILED: u8 = 1 << 6;

impl Life {
    /// A life for an actor that is (or is not yet) registered under a name.
    pub(crate) fn new(named: bool) -> Self {
        let life = Self::default();
        if named {
            life.mark_named();
        }
        life
    }

    pub(crate) fn reason(&self) -> Option<StopReason> {
        self.reason.get().cloned()
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.reason.get().is_none()
    }

    pub(crate) fn set_reason(&self, reason: StopReason) {
        let _ = self.reason.set(reason);
    }

    pub(crate) fn mark_named(&self) {
        self.state.fetch_or(NAMED, Ordering::SeqCst);
    }

    pub(crate) fn is_named(&self) -> bool {
        self.state.load(Ordering::SeqCst) & NAMED != 0
    }

    /// Records that the first start completed.
    pub(crate) fn set_started(&self) {
        self.publish(STARTED);
    }

    /// Records that the first start failed, and why. Set before the actor
    /// reports the failure to its supervisor, so that a parent waiting for
    /// this start from inside its own hook is answered instead of waiting
    /// for a decision it cannot make while it waits.
    pub(crate) fn set_start_failed(&self, reason: StopReason) {
        if self.start_failure.set(Box::new(reason)).is_ok() {
            self.publish(START_FAILED);
        }
    }

    /// Sets `flag` and wakes whoever waits for the start.
    fn publish(&self, flag: u8) {
        // Both sides use one read-modify-write on `state`, so either the
        // waiter sees the flag or this sees the waiter.
        if self.state.fetch_or(flag, Ordering::SeqCst) & START_AWAITED != 0 {
            self.changed.notify_waiters();
        }
    }

    /// Records that the actor is down, waiting for its supervisor.
    pub(crate) fn set_failed(&self) {
        self.state.fetch_or(FAILED, Ordering::SeqCst);
    }

    /// Counts a restart, from the moment it begins.
    pub(crate) fn count_restart(&self) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
    }

    /// Restarts so far. Exact in the actor's own task, which is the only
    /// writer; a snapshot may read it one restart late.
    pub(crate) fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Relaxed)
    }

    /// Records a completed restart: the actor serves again.
    pub(crate) fn set_serving(&self) {
        self.state.fetch_and(!FAILED, Ordering::SeqCst);
    }

    /// Counts one message handled. Only the actor's task calls this.
    pub(crate) fn count_handled(&self) {
        let handled = self.handled.load(Ordering::Relaxed);
        self.handled.store(handled + 1, Ordering::Relaxed);
    }

    /// What a snapshot shows of this life: its phase and its counts.
    pub(crate) fn observe(&self, mailbox_closed: bool) -> (ActorState, u64, u32) {
        let state = self.state.load(Ordering::SeqCst);
        let phase = if state & FINISHED != 0 || self.reason.get().is_some() {
            ActorState::Stopped
        } else if state & FAILED != 0 {
            ActorState::Restarting
        } else if mailbox_closed {
            ActorState::Stopping
        } else if state & STARTED == 0 {
            ActorState::Starting
        } else {
            ActorState::Running
        };
        (
            phase,
            self.handled.load(Ordering::Relaxed),
            self.restarts.load(Ordering::Relaxed),
        )
    }

    /// Marks the actor as killed by its parent's abort of its task.
    pub(crate) fn abandon(&self) {
        self.state.fetch_or(ABANDONED, Ordering::SeqCst);
    }

    /// Whether its task was aborted on purpose and has not cleaned up yet.
    pub(crate) fn is_abandoned_unfinished(&self) -> bool {
        self.state.load(Ordering::SeqCst) & (ABANDONED | FINISHED) == ABANDONED
    }

    pub(crate) fn finish(&self) {
        self.state.fetch_or(FINISHED, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Waits until the actor has stopped and been cleaned up; returns why it stopped.
    pub(crate) async fn wait(&self) -> StopReason {
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking, so a `finish` in between is not missed.
            notified.as_mut().enable();
            if self.state.load(Ordering::SeqCst) & FINISHED != 0 {
                return self.reason().unwrap_or(StopReason::Normal);
            }
            notified.await;
        }
    }

    /// Waits for the outcome of the first start: `Ok` once it completed,
    /// the failure if it failed, the stop reason if the actor stopped first.
    pub(crate) async fn wait_started(&self) -> Result<(), StopReason> {
        loop {
            let notified = self.changed.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            let state = self.state.fetch_or(START_AWAITED, Ordering::SeqCst);
            if state & STARTED != 0 {
                return Ok(());
            }
            if state & START_FAILED != 0 {
                let failure = self.start_failure.get().map(|reason| (**reason).clone());
                return Err(failure.unwrap_or(StopReason::Normal));
            }
            if state & FINISHED != 0 {
                return Err(self.reason().unwrap_or(StopReason::Normal));
            }
            notified.await;
        }
    }
}

/// A local actor of any type, as the system and parents see it.
pub(crate) trait AnyActor: Send + Sync {
    fn id(&self) -> ActorId;
    fn life(&self) -> &Life;
    fn mailbox_len(&self) -> usize;
    fn mailbox_closed(&self) -> bool;
    fn stop(&self);
    fn kill(&self);
    fn child_terminated(&self, child: ActorId);
    fn child_failed(&self, child: ActorId, reason: StopReason);
    fn child_started(&self, child: ActorId);
    fn restart(&self, delay: Duration);
    fn take_down(&self, reason: StopReason);
    fn dismiss(&self);
    fn add_watcher(&self, watcher: Watcher);
    fn remove_watcher(&self, watcher: ActorId);
    /// Queues a link notice; false if the actor has stopped.
    fn link_signal(&self, signal: LinkSignal) -> bool;
    fn actor_type(&self) -> TypeId;
    fn actor_type_name(&self) -> &'static str;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<A: Actor> AnyActor for Cell<A> {
    fn id(&self) -> ActorId {
        self.asker.id()
    }

    fn life(&self) -> &Life {
        &self.life
    }

    fn mailbox_len(&self) -> usize {
        self.mailbox.len()
    }

    fn mailbox_closed(&self) -> bool {
        self.mailbox.is_closed()
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

    fn child_started(&self, child: ActorId) {
        let _ = self.signal(Signal::ChildStarted(child));
    }

    fn restart(&self, delay: Duration) {
        let _ = self.signal(Signal::Restart(delay));
    }

    fn take_down(&self, reason: StopReason) {
        let _ = self.signal(Signal::TakeDown(reason));
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

    fn link_signal(&self, signal: LinkSignal) -> bool {
        self.signal(Signal::Link(signal)).is_ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The number the comment on [`Life`] gives.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_start_failure_slot_costs_16_bytes() {
        assert_eq!(std::mem::size_of::<OnceLock<Box<StopReason>>>(), 16);
    }

    #[test]
    fn a_life_is_observed_through_its_phases() {
        let life = Life::new(false);
        let phase = |life: &Life, closed| life.observe(closed).0;
        assert_eq!(phase(&life, false), ActorState::Starting);
        life.set_started();
        life.count_handled();
        life.count_handled();
        assert_eq!(life.observe(false), (ActorState::Running, 2, 0));
        life.set_failed();
        assert_eq!(phase(&life, false), ActorState::Restarting);
        life.count_restart();
        life.set_serving();
        assert_eq!(life.observe(false), (ActorState::Running, 2, 1));
        assert_eq!(phase(&life, true), ActorState::Stopping);
        life.set_reason(StopReason::Normal);
        assert_eq!(phase(&life, true), ActorState::Stopped);
    }
}
