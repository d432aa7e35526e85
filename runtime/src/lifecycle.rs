//! The actor task: start, serve messages and signals, fail and restart,
//! stop, clean up.
//!
//! One task per actor runs [`Lifecycle::run`]. It owns the actor's state,
//! its context and both lanes of its mailbox, so nothing in here needs a
//! lock. The flow:
//!
//! ```text
//! start ─► serve ─┬─► stop ──────────────────────────► finish
//!                 ├─► fail ─► report to parent, wait ─┬─► restart ─► serve
//!                 │                                   └─► stop ─► finish
//!                 └─► restart (ordered by the parent for a sibling) ─► serve
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::cell::Cell;
use crate::context::Child;
use crate::envelope::BoxEnvelope;
use crate::panic::{catch_panic, catch_panic_sync};
use crate::signal::{Signal, Watcher};
use crate::system::Factory;
use crate::{Actor, ActorId, AskError, Context, RestartPolicy, RestartStrategy, StopReason};

/// How many messages an actor handles in a row before it yields its worker
/// thread, so one busy actor cannot starve the others sharing that thread.
pub(crate) const MESSAGES_PER_TURN: u32 = 64;

/// An actor's task state.
pub(crate) struct Lifecycle<A: Actor> {
    actor: A,
    ctx: Context<A>,
    /// This actor's own cell, whose message and signal lanes the task reads.
    /// The task is the only receiver of its message lane.
    cell: Arc<Cell<A>>,
    /// Rebuilds the state on restart; `None` keeps it.
    factory: Option<Factory<A>>,
    policy: RestartPolicy,
    /// Made on first use: most actors are never watched and never see a
    /// failure, and every byte here is paid by every idle actor.
    books: Option<Box<Bookkeeping<A>>>,
}

/// The rarely used part of an actor's task state.
struct Bookkeeping<A: Actor> {
    /// Who to notify when this actor stops.
    watchers: Vec<Watcher>,
    /// `Terminated` notices that arrived while the actor was failed; handled
    /// after the restart, dropped if it stops instead.
    deferred: Vec<(ActorId, BoxEnvelope<A>)>,
    /// Signals read while waiting for children to stop, read again (before
    /// the lane) once the wait is over.
    postponed: VecDeque<Signal<A>>,
    /// Children that failed while this actor was failed itself; decided
    /// about when this actor restarts or stops, which stops its children.
    failed_children: Vec<(ActorId, StopReason)>,
}

impl<A: Actor> Default for Bookkeeping<A> {
    fn default() -> Self {
        Self {
            watchers: Vec::new(),
            deferred: Vec::new(),
            postponed: VecDeque::new(),
            failed_children: Vec::new(),
        }
    }
}

/// How a stretch of serving ended.
enum Exit {
    /// Stop for good.
    Stop(StopReason),
    /// Report to the supervisor and wait for its decision.
    Fail(StopReason),
    /// The supervisor restarts this actor along with a failed sibling.
    Restart(Duration, StopReason),
}

/// The supervisor's decision about a failed actor.
enum Directive {
    Restart(StopReason),
    Stop(StopReason),
}

/// What the task should look at next.
enum Next<A: Actor> {
    Signal(Signal<A>),
    Message(BoxEnvelope<A>),
    /// The mailbox was closed by a stop and is now empty.
    Drained,
}

impl<A: Actor> Lifecycle<A> {
    pub(crate) fn new(
        actor: A,
        ctx: Context<A>,
        cell: Arc<Cell<A>>,
        factory: Option<Factory<A>>,
        policy: RestartPolicy,
    ) -> Self {
        Self {
            actor,
            ctx,
            cell,
            factory,
            policy,
            books: None,
        }
    }

    fn books(&mut self) -> &mut Bookkeeping<A> {
        self.books.get_or_insert_with(Box::default)
    }

    fn pop_postponed(&mut self) -> Option<Signal<A>> {
        self.books.as_mut()?.postponed.pop_front()
    }

    /// Takes `field` out of the bookkeeping, if there is any.
    fn take_books<T: Default>(&mut self, field: fn(&mut Bookkeeping<A>) -> &mut T) -> T {
        self.books
            .as_mut()
            .map(|books| std::mem::take(field(books)))
            .unwrap_or_default()
    }

    /// Runs the actor from `on_start` to its last cleanup.
    ///
    /// Only `serve` runs inline: every other phase is boxed, so the task's
    /// resident future (its memory per idle actor) is the size of `serve`,
    /// not of the largest phase. Those phases run once or on failure only.
    ///
    /// An `async move` block rather than an `async fn`: an `async fn` keeps
    /// its by-value `self` twice in its state (the argument and the local
    /// it is moved into), which doubled the memory of every idle actor.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn run(mut self) -> impl Future<Output = ()> + Send {
        async move {
            // Nothing but `serve` is awaited inline, and no other local
            // lives across that await.
            if let Err(reason) = Box::pin(self.start()).await {
                return Box::pin(self.end(Exit::Fail(reason))).await;
            }
            let exit = self.serve().await;
            Box::pin(self.end(exit)).await;
        }
    }

    /// Follows an exit from serving through supervision and restarts to
    /// the final cleanup.
    ///
    /// An `async move` block, not an `async fn`, for the reason given on
    /// `run`: this future is allocated for every actor that stops, so its
    /// size is paid once per stop.
    #[allow(clippy::manual_async_fn)]
    fn end(mut self, mut exit: Exit) -> impl Future<Output = ()> + Send {
        async move {
            let reason = loop {
                exit = match exit {
                    Exit::Stop(reason) => break reason,
                    Exit::Restart(delay, reason) => {
                        match Box::pin(self.back_off(delay, reason)).await {
                            Directive::Restart(reason) => Box::pin(self.restart(reason)).await,
                            Directive::Stop(reason) => Exit::Stop(reason),
                        }
                    }
                    Exit::Fail(reason) => match Box::pin(self.supervise(reason)).await {
                        Directive::Restart(reason) => Box::pin(self.restart(reason)).await,
                        Directive::Stop(reason) => Exit::Stop(reason),
                    },
                };
            };
            let reason = self.finish(reason).await;
            self.notify_stopped(reason);
        }
    }

    async fn start(&mut self) -> Result<(), StopReason> {
        hook_result(
            "on_start",
            catch_panic(self.actor.on_start(&mut self.ctx)).await,
        )
    }

    /// Handles signals and messages until the actor stops, fails or restarts.
    async fn serve(&mut self) -> Exit {
        let mut handled_in_turn = 0;
        loop {
            if let Some(reason) = self.ctx.failure.take() {
                tracing::error!(%reason, "the actor failed itself");
                return Exit::Fail(StopReason::Failed(reason));
            }
            if std::mem::take(&mut self.ctx.stop_requested) {
                if let Some(exit) = self.stop_self() {
                    return exit;
                }
            }
            // One `handle` await for messages and notices alike keeps this
            // future, resident in every idle actor, small.
            let envelope = match next(&mut self.books, &self.cell).await {
                Next::Signal(signal) => match self.on_signal(signal) {
                    Ok(Some(notice)) => notice,
                    Ok(None) => continue,
                    Err(exit) => return exit,
                },
                Next::Message(envelope) => {
                    handled_in_turn += 1;
                    envelope
                }
                Next::Drained => return Exit::Stop(StopReason::Normal),
            };
            if let Err(panic) = self.handle(envelope).await {
                return Exit::Fail(StopReason::Failed(panic));
            }
            if handled_in_turn == MESSAGES_PER_TURN {
                handled_in_turn = 0;
                tokio::task::yield_now().await;
            }
        }
    }

    /// The actor called `Context::stop`: a supervised permanent child is
    /// restarted, anything else drains its mailbox and stops.
    fn stop_self(&mut self) -> Option<Exit> {
        if self.policy == RestartPolicy::Permanent && self.ctx.parent.is_some() {
            return Some(Exit::Fail(StopReason::Normal));
        }
        self.cell.mailbox.close_and_drain();
        None
    }

    /// Acts on one signal while serving: `Err` says how serving ends, `Ok`
    /// may hand back a `Terminated` notice to handle like a message.
    fn on_signal(&mut self, signal: Signal<A>) -> Result<Option<BoxEnvelope<A>>, Exit> {
        match signal {
            // Closing refuses new messages; `next` reports `Drained` once the
            // queued ones are handled.
            Signal::Stop | Signal::Dismiss => self.cell.mailbox.close_and_drain(),
            Signal::Kill => return Err(Exit::Stop(StopReason::Killed)),
            Signal::Restart(delay, reason) => return Err(Exit::Restart(delay, reason)),
            Signal::ChildFailed(child, reason) => {
                if let Some(reason) = self.on_child_failed(child, reason) {
                    return Err(Exit::Fail(reason));
                }
            }
            // A notice from an actor unwatched meanwhile is dropped.
            Signal::Terminated(id, envelope) => {
                return Ok(self.ctx.forget_watch(id).then_some(envelope));
            }
            other => self.on_bookkeeping(other),
        }
        Ok(None)
    }

    /// Signals that need no decision, whatever state the actor is in.
    fn on_bookkeeping(&mut self, signal: Signal<A>) {
        match signal {
            Signal::Watch(watcher) => {
                let watchers = &mut self.books().watchers;
                if watchers.iter().all(|w| w.id() != watcher.id()) {
                    watchers.push(watcher);
                }
            }
            Signal::Unwatch(watcher) => {
                if let Some(books) = &mut self.books {
                    books.watchers.retain(|w| w.id() != watcher);
                }
            }
            Signal::ChildTerminated(child) => {
                self.ctx.children.remove(&child);
            }
            Signal::Terminated(id, envelope) => self.books().deferred.push((id, envelope)),
            // A failed child of a failed actor is decided about when this
            // actor restarts or stops, which stops all its children.
            Signal::ChildFailed(child, reason) => {
                self.books().failed_children.push((child, reason));
            }
            Signal::Stop | Signal::Dismiss | Signal::Kill | Signal::Restart(..) => {}
        }
    }

    /// Decides about a failed child by this actor's strategy. Returns a
    /// reason when this actor must fail itself (intensity exceeded).
    fn on_child_failed(&mut self, child: ActorId, reason: StopReason) -> Option<StopReason> {
        let failed = Arc::clone(&self.ctx.children.get(&child)?.actor);
        let policy = self.ctx.children.get(&child)?.policy;
        if !restarts(policy, &reason) {
            failed.dismiss();
            return None;
        }
        let supervision = self.ctx.supervision();
        let strategy = supervision.strategy;
        let Some(delay) = supervision.admit_restart() else {
            // This actor fails in turn; the child will not be restarted by it.
            failed.dismiss();
            let (max, within) = strategy.intensity_limits();
            tracing::error!(%child, %reason, max, ?within, "restart intensity exceeded; escalating");
            return Some(StopReason::Failed(format!(
                "restart intensity exceeded: child {child} failed ({reason}) after {max} restarts within {within:?}"
            )));
        };
        tracing::info!(%child, %reason, ?delay, strategy = ?strategy.restart_strategy(), "restarting");
        let sibling_reason = StopReason::Failed(format!("restarted with failed sibling {child}"));
        let group = match strategy.restart_strategy() {
            RestartStrategy::OneForOne => self.ctx.children.range(child..=child),
            RestartStrategy::OneForAll => self.ctx.children.range(..),
            RestartStrategy::RestForOne => self.ctx.children.range(child..),
        };
        for (&id, sibling) in group {
            if id == child {
                sibling.actor.restart(delay, reason.clone());
            } else if sibling.policy == RestartPolicy::Temporary {
                sibling.actor.stop();
            } else {
                sibling.actor.restart(delay, sibling_reason.clone());
            }
        }
        None
    }

    /// Reports a failure to the parent and waits for its decision. Without
    /// a parent (a top-level actor) the actor stops.
    async fn supervise(&mut self, reason: StopReason) -> Directive {
        let Some(parent) = &self.ctx.parent else {
            return Directive::Stop(reason);
        };
        parent.child_failed(self.ctx.id(), reason.clone());
        loop {
            let signal = match self.pop_postponed() {
                Some(signal) => Some(signal),
                None => Some(self.cell.signals.recv().await),
            };
            match signal {
                Some(Signal::Restart(delay, _)) => return self.back_off(delay, reason).await,
                // A graceful stop still handles what was queued: refuse new
                // messages now and drain after the supervisor's restart.
                Some(Signal::Stop) => self.cell.mailbox.close_and_drain(),
                Some(Signal::Dismiss) | None => return Directive::Stop(reason),
                Some(Signal::Kill) => return Directive::Stop(StopReason::Killed),
                Some(other) => self.on_bookkeeping(other),
            }
        }
    }

    /// Waits `delay` before a restart, still obeying stop and kill.
    async fn back_off(&mut self, delay: Duration, reason: StopReason) -> Directive {
        if delay.is_zero() {
            return Directive::Restart(reason);
        }
        let sleep = tokio::time::sleep(delay);
        let mut sleep = std::pin::pin!(sleep);
        while let Some(signal) = self.pop_postponed() {
            match signal {
                Signal::Stop => self.cell.mailbox.close_and_drain(),
                Signal::Dismiss => return Directive::Stop(reason),
                Signal::Kill => return Directive::Stop(StopReason::Killed),
                other => self.on_bookkeeping(other),
            }
        }
        loop {
            tokio::select! {
                () = &mut sleep => return Directive::Restart(reason),
                signal = self.cell.signals.recv() => match Some(signal) {
                    Some(Signal::Stop) => self.cell.mailbox.close_and_drain(),
                    Some(Signal::Dismiss) | None => return Directive::Stop(reason),
                    Some(Signal::Kill) => return Directive::Stop(StopReason::Killed),
                    Some(other) => self.on_bookkeeping(other),
                },
            }
        }
    }

    /// Restarts in place: same id, same mailbox, queued messages kept.
    async fn restart(&mut self, reason: StopReason) -> Exit {
        self.stop_children(&reason).await;
        self.ctx.cancel_timers();
        self.ctx.restarts += 1;
        if let Some(factory) = &self.factory {
            match catch_panic_sync(|| factory()) {
                Ok(fresh) => self.actor = fresh,
                Err(panic) => {
                    return Exit::Fail(StopReason::Failed(format!("factory panicked: {panic}")))
                }
            }
        }
        let restarted = catch_panic(self.actor.on_restart(&mut self.ctx, &reason)).await;
        if let Err(reason) = hook_result("on_restart", restarted) {
            return Exit::Fail(reason);
        }
        for (id, envelope) in self.take_books(|books| &mut books.deferred) {
            if self.ctx.forget_watch(id) {
                if let Err(panic) = self.handle(envelope).await {
                    return Exit::Fail(StopReason::Failed(panic));
                }
            }
        }
        self.serve().await
    }

    /// Handles one message; a panic in the handler becomes `Err(message)`
    /// after the asker, if any, has been told.
    ///
    /// The turn is built before the returned future, so that future holds
    /// only the turn, not the envelope too (it is resident in every actor).
    fn handle(
        &mut self,
        envelope: BoxEnvelope<A>,
    ) -> impl Future<Output = Result<(), String>> + '_ {
        let message_type = envelope.message_type();
        tracing::trace!(message = message_type, "handling");
        let Self { actor, ctx, .. } = self;
        // Building the turn runs user code too (a handler that is not an
        // `async fn` may panic before returning its future).
        let turn = catch_panic_sync(|| envelope.handle(actor, ctx));
        async move {
            let mut turn = turn?;
            let result = poll_fn(|cx| match catch_panic_sync(|| turn.as_mut().poll(cx)) {
                Ok(poll) => poll.map(Ok),
                Err(panic) => Poll::Ready(Err(panic)),
            })
            .await;
            if let Err(panic) = &result {
                tracing::error!(message = message_type, panic = %panic, "handler panicked; the actor fails");
                turn.as_mut().fail(panic);
            }
            // Dropping a future that panicked may panic again; keep it in here.
            let _ = catch_panic_sync(move || drop(turn));
            result
        }
    }

    /// Stops children, runs `on_stop`, then tells everyone who needs to know.
    /// Returns the final reason (a panicking `on_stop` turns a normal stop
    /// into a failure).
    async fn finish(&mut self, mut reason: StopReason) -> StopReason {
        self.reject_queued(&reason);
        self.stop_children(&reason).await;
        self.ctx.cancel_timers();
        if let Err(panic) = catch_panic(self.actor.on_stop(&mut self.ctx, &reason)).await {
            tracing::error!(panic = %panic, "on_stop panicked");
            if !reason.is_failure() {
                reason = StopReason::Failed(format!("on_stop panicked: {panic}"));
            }
        }
        // Children spawned by `on_stop` itself go too.
        self.stop_children(&reason).await;
        match &reason {
            StopReason::Failed(why) => tracing::warn!(reason = %why, "actor failed"),
            _ => tracing::debug!(%reason, "actor stopped"),
        }
        reason
    }

    /// Refuses new messages; queued asks fail at once, queued tells become dead letters.
    #[allow(unsafe_code)]
    fn reject_queued(&mut self, reason: &StopReason) {
        self.cell.mailbox.close_and_drain();
        let id = self.ctx.id();
        // SAFETY: this task is the message lane's one receiver.
        while let Some(envelope) = unsafe { self.cell.mailbox.try_recv() } {
            let message_type = envelope.message_type();
            if envelope.reject(AskError::Stopped).is_some() {
                self.ctx
                    .system()
                    .dead_letter(id, message_type, reason.clone());
            }
        }
    }

    /// Stops every child (kills them if this actor was killed) and waits for them.
    ///
    /// A child stopped gracefully may fail while it drains its mailbox and
    /// then wait for this actor's decision, so the wait keeps reading the
    /// signal lane: such a child is restarted in place to finish draining
    /// (if its policy restarts it) or stopped. Other signals are postponed.
    async fn stop_children(&mut self, reason: &StopReason) {
        let children = std::mem::take(&mut self.ctx.children);
        for child in children.values() {
            match reason {
                StopReason::Killed => child.actor.kill(),
                _ => child.actor.stop(),
            }
        }
        // A failed child waits for a decision even when told to stop, so
        // that its queue can drain after a restart: give every one its answer.
        for (id, why) in self.take_books(|books| &mut books.failed_children) {
            decide_while_stopping(&children, id, &why, reason);
        }
        for child in children.values() {
            let mut stopped = std::pin::pin!(child.actor.life().wait());
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    signal = self.cell.signals.recv() => match signal {
                        Signal::ChildFailed(id, why) => decide_while_stopping(&children, id, &why, reason),
                        other => self.books().postponed.push_back(other),
                    },
                }
            }
        }
    }

    /// Publishes the final reason, notifies watchers and the parent, frees
    /// names, and wakes `wait_stopped`.
    fn notify_stopped(mut self, reason: StopReason) {
        let id = self.ctx.id();
        let cell = self.ctx.actor_ref().cell().cloned();
        let Some(cell) = cell else { return };
        // Order matters: the reason is set before the signal lane closes, so a
        // watch refused by the closed lane can still read it.
        cell.life.set_reason(reason.clone());
        let queued = cell.signals.close();
        let postponed = self.take_books(|books| &mut books.postponed);
        let mut watchers = self.take_books(|books| &mut books.watchers);
        for signal in postponed.into_iter().chain(queued) {
            if let Signal::Watch(watcher) = signal {
                watchers.push(watcher);
            }
        }
        for watcher in watchers {
            watcher.notify(id, reason.clone());
        }
        if let Some(parent) = self.ctx.parent.take() {
            parent.child_terminated(id);
        }
        self.ctx.system().forget(id, &cell.named);
        cell.life.finish();
    }
}

/// Decides about a child that failed while its parent stops it: a child
/// whose policy restarts it is restarted at once so it can drain its queue
/// before it stops; any other is dismissed (killed, if the parent was).
fn decide_while_stopping(
    children: &BTreeMap<ActorId, Child>,
    id: ActorId,
    why: &StopReason,
    reason: &StopReason,
) {
    let Some(failed) = children.get(&id) else {
        return;
    };
    if matches!(reason, StopReason::Killed) {
        failed.actor.kill();
    } else if restarts(failed.policy, why) {
        failed.actor.restart(Duration::ZERO, why.clone());
    } else {
        failed.actor.dismiss();
    }
}

/// Whether a child with `policy` that ended with `reason` is restarted.
/// Only permanent children report a normal end (stopping themselves).
fn restarts(policy: RestartPolicy, reason: &StopReason) -> bool {
    match policy {
        RestartPolicy::Permanent => true,
        RestartPolicy::Transient => reason.is_failure(),
        RestartPolicy::Temporary => false,
    }
}

/// Turns the outcome of a fallible, panicking hook into a failure reason.
fn hook_result(
    hook: &str,
    outcome: Result<Result<(), crate::ActorError>, String>,
) -> Result<(), StopReason> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(StopReason::Failed(format!("{hook} failed: {error}"))),
        Err(panic) => Err(StopReason::Failed(format!("{hook} panicked: {panic}"))),
    }
}

/// Waits for the next signal or message: signals come first, postponed ones
/// before those in the lane.
#[allow(unsafe_code)]
fn next<'a, A: Actor>(
    books: &'a mut Option<Box<Bookkeeping<A>>>,
    cell: &'a Cell<A>,
) -> impl Future<Output = Next<A>> + 'a {
    poll_fn(move |cx| {
        if let Some(signal) = books.as_mut().and_then(|books| books.postponed.pop_front()) {
            return Poll::Ready(Next::Signal(signal));
        }
        // Without a signal waiting this is one atomic load: no lock.
        if let Some(signal) = cell.signals.try_recv() {
            return Poll::Ready(Next::Signal(signal));
        }
        // SAFETY: only the actor's task calls `next`, and it is the message
        // lane's one receiver.
        match unsafe { cell.mailbox.poll_recv(cx) } {
            Poll::Ready(Some(envelope)) => Poll::Ready(Next::Message(envelope)),
            Poll::Ready(None) => Poll::Ready(Next::Drained),
            // Idle: wait for a message or a signal, whichever comes first.
            Poll::Pending => cell.signals.poll_recv(cx).map(Next::Signal),
        }
    })
}
