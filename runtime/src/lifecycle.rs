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
//!                 ├─► take down (ordered by the parent for a failed
//!                 │   sibling): stop children, on_stop ─► report, wait (as fail)
//!                 └─► restart a group of children in order ─► serve
//! ```
//!
//! How a parent decides about its children, starts them in order and stops
//! them lives in [`supervision`](crate::supervision).

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::cell::Cell;
use crate::envelope::{fail_unanswered, BoxEnvelope, BoxTurn};
use crate::link::LinkSignal;
use crate::panic::{catch_panic, catch_panic_sync};
use crate::signal::{Signal, Watcher};
use crate::supervision::Factory;
use crate::{Actor, ActorId, AskError, Context, Failure, RestartPolicy, StopReason};

/// How many messages an actor handles in a row before it yields its worker
/// thread, so one busy actor cannot starve the others sharing that thread.
pub(crate) const MESSAGES_PER_TURN: u32 = 64;

/// An actor's task state.
pub(crate) struct Lifecycle<A: Actor> {
    actor: A,
    pub(crate) ctx: Context<A>,
    /// This actor's own cell, whose message and signal lanes the task reads.
    /// The task is the only receiver of its message lane.
    pub(crate) cell: Arc<Cell<A>>,
    /// Rebuilds the state on restart; `None` keeps it.
    factory: Option<Factory<A>>,
    policy: RestartPolicy,
    /// Made on first use: most actors are never watched and never see a
    /// failure, and every byte here is paid by every idle actor.
    books: Option<Box<Bookkeeping<A>>>,
    /// This actor's metric handles; `None` unless the system's metrics are
    /// on, so that a message then costs one branch.
    #[cfg(feature = "metrics")]
    metrics: Option<Box<crate::metrics::ActorMetrics>>,
}

/// The rarely used part of an actor's task state.
pub(crate) struct Bookkeeping<A: Actor> {
    /// Who to notify when this actor stops.
    watchers: Vec<Watcher>,
    /// `Terminated` notices that arrived while the actor was failed; handled
    /// after the restart, dropped if it stops instead.
    deferred: Vec<(ActorId, BoxEnvelope<A>)>,
    /// Signals read while waiting for children to start or stop, read
    /// again (before the lane) once the wait is over.
    pub(crate) postponed: VecDeque<Signal<A>>,
    /// Children that failed while this actor was failed itself; decided
    /// about when this actor restarts or stops, which stops its children.
    pub(crate) failed_children: Vec<(ActorId, StopReason)>,
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
pub(crate) enum Exit {
    /// Stop for good.
    Stop(StopReason),
    /// Report to the supervisor and wait for its decision.
    Fail(StopReason),
    /// The supervisor restarts this actor along with a failed sibling:
    /// go down cleanly, then wait for its decision.
    TakeDown(StopReason),
    /// A child failed and its strategy restarts a group of children: stop
    /// serving until they are restarted, one at a time.
    RestartGroup(ActorId, StopReason),
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

/// An error the handler of a tell returned: nobody receives it.
struct UnreadError {
    message_type: &'static str,
    error: String,
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
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    #[cfg(feature = "metrics")]
    pub(crate) fn with_metrics(
        mut self,
        metrics: Option<Box<crate::metrics::ActorMetrics>>,
    ) -> Self {
        self.metrics = metrics;
        self
    }

    pub(crate) fn books(&mut self) -> &mut Bookkeeping<A> {
        self.books.get_or_insert_with(Box::default)
    }

    /// Whether the bookkeeping was ever needed: without it, nothing is
    /// postponed, watched, deferred or waiting for a decision.
    pub(crate) fn has_books(&self) -> bool {
        self.books.is_some()
    }

    fn pop_postponed(&mut self) -> Option<Signal<A>> {
        self.books.as_mut()?.postponed.pop_front()
    }

    /// Takes `field` out of the bookkeeping, if there is any.
    pub(crate) fn take_books<T: Default>(&mut self, field: fn(&mut Bookkeeping<A>) -> &mut T) -> T {
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
            if let Err(exit) = Box::pin(self.start()).await {
                return Box::pin(self.end(exit)).await;
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
            // `on_stop` has run for the current state (it was taken down for
            // a sibling's restart), so the final stop does not run it again.
            let mut on_stop_ran = false;
            let reason = loop {
                exit = match exit {
                    Exit::Stop(reason) => break reason,
                    Exit::Fail(reason) => {
                        // Links are per incarnation: this one is over.
                        self.ctx.break_links(&reason);
                        match Box::pin(self.supervise(self.failed(reason))).await {
                            Directive::Restart(reason) => Box::pin(self.restart(reason)).await,
                            Directive::Stop(reason) => Exit::Stop(reason),
                        }
                    }
                    Exit::TakeDown(reason) => {
                        self.ctx.break_links(&reason);
                        Box::pin(self.take_down(&reason)).await;
                        match Box::pin(self.supervise(reason)).await {
                            Directive::Restart(reason) => Box::pin(self.restart(reason)).await,
                            Directive::Stop(reason) => {
                                on_stop_ran = true;
                                Exit::Stop(reason)
                            }
                        }
                    }
                    Exit::RestartGroup(child, reason) => {
                        match Box::pin(self.restart_group(child, reason)).await {
                            Some(exit) => exit,
                            None => Box::pin(self.serve()).await,
                        }
                    }
                };
            };
            let reason = self.finish(reason, on_stop_ran).await;
            self.notify_stopped(reason);
        }
    }

    /// Runs `on_start`, then starts the children it queued, in order; the
    /// actor is up (and says so to whoever waits) once all that is done.
    async fn start(&mut self) -> Result<(), Exit> {
        let started = match hook_result(
            "on_start",
            catch_panic(self.actor.on_start(&mut self.ctx)).await,
        ) {
            Ok(()) => self.start_queued_children().await,
            Err(reason) => Err(Exit::Fail(reason)),
        };
        match &started {
            Ok(()) => self.cell.life.set_started(),
            Err(Exit::Fail(reason) | Exit::Stop(reason)) => {
                self.cell.life.set_start_failed(reason.clone());
            }
            Err(_) => {}
        }
        started
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
            if let Err(panic) = self.handle_and_report(envelope).await {
                return Exit::Fail(StopReason::Failed(Failure::panic(panic)));
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
            Signal::TakeDown(reason) => return Err(Exit::TakeDown(reason)),
            Signal::ChildFailed(child, reason) => {
                if let Some(exit) = self.on_child_failed(child, reason) {
                    return Err(exit);
                }
            }
            // A notice from an actor unwatched meanwhile is dropped.
            Signal::Terminated(id, envelope) => {
                return Ok(self.ctx.forget_watch(id).then_some(envelope));
            }
            Signal::Link(signal) => {
                if let Some(reason) = self.ctx.on_link_signal(signal) {
                    tracing::error!(%reason, "a linked actor failed; the actor fails");
                    return Err(Exit::Fail(reason));
                }
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
            // Failed already: a linked actor's failure changes nothing, and
            // the links of this incarnation are gone.
            Signal::Link(signal) => {
                let _ = self.ctx.on_link_signal(signal);
            }
            // A failed child of a failed actor is decided about when this
            // actor restarts or stops, which stops all its children.
            Signal::ChildFailed(child, reason) => {
                self.books().failed_children.push((child, reason));
            }
            // Only a group restart waits for a child's restart; a take-down
            // reaching an actor that is down already, or a restart one that
            // is serving (only a failed actor is told to restart), has
            // nothing to do.
            Signal::Stop
            | Signal::Dismiss
            | Signal::Kill
            | Signal::Restart(..)
            | Signal::ChildStarted(_)
            | Signal::TakeDown(_) => {}
        }
    }

    /// Reports a failure to the parent and waits for its decision. Without
    /// a parent (a top-level actor) the actor stops.
    async fn supervise(&mut self, reason: StopReason) -> Directive {
        let Some(parent) = &self.ctx.parent else {
            return Directive::Stop(reason);
        };
        self.cell.life.set_failed();
        parent.child_failed(self.ctx.id(), reason.clone());
        loop {
            let signal = match self.pop_postponed() {
                Some(signal) => Some(signal),
                None => Some(self.cell.signals.recv().await),
            };
            match signal {
                Some(Signal::Restart(delay)) => return self.back_off(delay, reason).await,
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

    /// Takes the actor down for a restart with a failed sibling, as a stop
    /// would but keeping its task and mailbox: its children stop (and are
    /// waited for), its timers are cancelled, and `on_stop` runs.
    async fn take_down(&mut self, reason: &StopReason) {
        self.stop_children(reason).await;
        self.ctx.cancel_timers();
        if let Err(panic) = catch_panic(self.actor.on_stop(&mut self.ctx, reason)).await {
            // It is restarted anyway: a fresh start is the cure for that too.
            tracing::error!(panic = %panic, "on_stop panicked while taken down for a restart");
        }
    }

    /// Restarts in place: same id, same mailbox, queued messages kept.
    async fn restart(&mut self, reason: StopReason) -> Exit {
        self.stop_children(&reason).await;
        self.ctx.cancel_timers();
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.metrics {
            metrics.restarted();
        }
        self.cell.life.count_restart();
        if let Some(factory) = &self.factory {
            match catch_panic_sync(|| factory()) {
                Ok(fresh) => self.actor = fresh,
                Err(panic) => {
                    let panic = Failure::panic(format!("factory panicked: {panic}"));
                    return Exit::Fail(StopReason::Failed(panic));
                }
            }
        }
        let restarted = catch_panic(self.actor.on_restart(&mut self.ctx, &reason)).await;
        if let Err(reason) = hook_result("on_restart", restarted) {
            return Exit::Fail(reason);
        }
        if let Err(exit) = self.start_queued_children().await {
            return exit;
        }
        self.cell.life.set_serving();
        // A parent restarting a group in order waits for this.
        if let Some(parent) = &self.ctx.parent {
            parent.child_started(self.ctx.id());
        }
        for (id, envelope) in self.take_books(|books| &mut books.deferred) {
            if self.ctx.forget_watch(id) {
                if let Err(panic) = self.handle_and_report(envelope).await {
                    return Exit::Fail(StopReason::Failed(Failure::panic(panic)));
                }
            }
        }
        self.serve().await
    }

    /// Handles one message as [`handle`](Self::handle) does, and logs an
    /// error the handler of a tell returned: nobody else would see it.
    async fn handle_and_report(&mut self, envelope: BoxEnvelope<A>) -> Result<(), String> {
        self.cell.life.count_handled();
        // Metrics off: one branch, then the same path as without the feature.
        #[cfg(feature = "metrics")]
        let handled = if self.metrics.is_some() {
            self.handle_measured(envelope).await
        } else {
            self.handle(envelope).await
        };
        #[cfg(not(feature = "metrics"))]
        let handled = self.handle(envelope).await;
        if let Some(unread) = handled? {
            tracing::warn!(
                actor = %self.ctx.id(),
                message = unread.message_type,
                error = %unread.error,
                "the handler of a tell returned an error, which nobody receives",
            );
        }
        Ok(())
    }

    /// [`handle`](Self::handle), timed and counted. The start time lives in
    /// the boxed handles, not in this future, which is resident in every actor.
    #[cfg(feature = "metrics")]
    async fn handle_measured(
        &mut self,
        envelope: BoxEnvelope<A>,
    ) -> Result<Option<UnreadError>, String> {
        if let Some(metrics) = &mut self.metrics {
            metrics.handling();
        }
        let handled = self.handle(envelope).await;
        if let Some(metrics) = &mut self.metrics {
            metrics.handled(handled.is_err());
        }
        handled
    }

    /// Handles one message; a panic in the handler becomes `Err(message)`
    /// after the asker, if any, has been told. `Ok` carries an error the
    /// handler of a tell returned.
    ///
    /// Building the turn runs user code too (a handler that is not an
    /// `async fn` may panic before returning its future), and so may
    /// dropping it. The first poll builds the turn, polls it and, if it is
    /// done, drops it, all inside one panic frame: a handler that finishes
    /// at once (most do) costs one frame, not three.
    fn handle(
        &mut self,
        envelope: BoxEnvelope<A>,
    ) -> impl Future<Output = Result<Option<UnreadError>, String>> + '_ {
        let message_type = envelope.message_type();
        tracing::trace!(message = message_type, "handling");
        let Self { actor, ctx, .. } = self;
        let mut unbuilt = Some((envelope, actor, ctx));
        let mut turn = None;
        poll_fn(move |cx| {
            let mut done = None;
            let polled = catch_panic_sync(|| {
                if let Some((envelope, actor, ctx)) = unbuilt.take() {
                    turn = Some(envelope.handle(actor, ctx));
                }
                if let Some(Poll::Ready(unread)) = turn.as_mut().map(|turn| turn.poll(cx)) {
                    done = Some(unread);
                    turn = None;
                }
            });
            let result = match (done, polled) {
                // A panic while dropping a finished turn fails nothing: its
                // reply, if any, is sent.
                (Some(unread), _) => Ok(unread),
                (None, Ok(())) => return Poll::Pending,
                (None, Err(panic)) => Err(handler_panicked(turn.take(), message_type, panic)),
            };
            Poll::Ready(result.map(|unread| {
                unread.map(|error| UnreadError {
                    message_type,
                    error,
                })
            }))
        })
    }

    /// Counts a failure (a permanent child that stopped itself exits as
    /// failed too, with a normal reason, to be restarted: not a failure).
    fn failed(&self, reason: StopReason) -> StopReason {
        #[cfg(feature = "metrics")]
        if let (Some(metrics), true) = (&self.metrics, reason.is_failure()) {
            metrics.failed();
        }
        reason
    }

    /// Stops children, runs `on_stop`, then tells everyone who needs to know.
    /// Returns the final reason (a panicking `on_stop` turns a normal stop
    /// into a failure). `on_stop_ran`: this state, taken down for a
    /// sibling's restart, has had its `on_stop` already.
    async fn finish(&mut self, mut reason: StopReason, on_stop_ran: bool) -> StopReason {
        self.reject_queued(&reason);
        self.stop_children(&reason).await;
        self.ctx.cancel_timers();
        let stopped = if on_stop_ran {
            Ok(())
        } else {
            catch_panic(self.actor.on_stop(&mut self.ctx, &reason)).await
        };
        if let Err(panic) = stopped {
            tracing::error!(panic = %panic, "on_stop panicked");
            if !reason.is_failure() {
                reason = StopReason::Failed(Failure::panic(format!("on_stop panicked: {panic}")));
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

    /// Publishes the final reason, notifies watchers and the parent, frees
    /// names, and wakes `wait_stopped`.
    fn notify_stopped(&mut self, reason: StopReason) {
        let id = self.ctx.id();
        let cell = self.ctx.actor_ref().cell().cloned();
        let Some(cell) = cell else { return };
        // Order matters: the reason is set before the signal lane closes, so a
        // watch refused by the closed lane can still read it.
        cell.life.set_reason(reason.clone());
        let queued = cell.signals.close();
        let postponed = self.take_books(|books| &mut books.postponed);
        let mut watchers = self.take_books(|books| &mut books.watchers);
        self.ctx.break_links(&reason);
        for signal in postponed.into_iter().chain(queued) {
            match signal {
                Signal::Watch(watcher) => watchers.push(watcher),
                // Linked while stopping: that link ends with this stop.
                Signal::Link(LinkSignal::Linked {
                    peer,
                    token,
                    handle,
                }) => handle.down(peer, id, token, &reason),
                _ => {}
            }
        }
        for watcher in watchers {
            watcher.notify(id, reason.clone());
        }
        if let Some(parent) = self.ctx.parent.take() {
            parent.child_terminated(id);
        }
        self.ctx.system().forget(id, cell.life.is_named());
        cell.life.finish();
    }
}

/// The end of an actor its parent killed without waiting (see
/// [`Shutdown`](crate::Shutdown)): its task was aborted wherever it was
/// waiting, and dropping its future runs the cleanup it never reached.
/// Anything else that drops the task (the tokio runtime shutting down)
/// leaves the actor as it was.
impl<A: Actor> Drop for Lifecycle<A> {
    fn drop(&mut self) {
        if !self.cell.life.is_abandoned_unfinished() {
            return;
        }
        // Aborted, the task is dropped outside its poll, so outside the span.
        let cell = Arc::clone(&self.cell);
        let _span = cell.span.enter();
        tracing::warn!(actor = %self.ctx.id(), "killed by its parent without waiting");
        // Its children go the same way, without waiting either.
        for child in std::mem::take(&mut self.ctx.children).values() {
            child.brutal_kill();
        }
        self.ctx.cancel_timers();
        self.reject_queued(&StopReason::Killed);
        self.notify_stopped(StopReason::Killed);
    }
}

/// Tells the asker, if any, that the handler of `message_type` panicked,
/// through its turn, or, when the panic came before there was a turn,
/// through the channel the envelope kept aside; and drops the turn.
fn handler_panicked(turn: Option<BoxTurn<'_>>, message_type: &str, panic: String) -> String {
    tracing::error!(message = message_type, panic = %panic, "handler panicked; the actor fails");
    match turn {
        Some(mut turn) => {
            turn.fail(&panic);
            // Dropping a future that panicked may panic again; keep it in here.
            let _ = catch_panic_sync(move || drop(turn));
        }
        None => fail_unanswered(&panic),
    }
    panic
}

/// Turns the outcome of a fallible, panicking hook into a failure reason.
fn hook_result(
    hook: &str,
    outcome: Result<Result<(), crate::ActorError>, String>,
) -> Result<(), StopReason> {
    match outcome {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(StopReason::Failed(Failure::caused_by(
            format!("{hook} failed: {error}"),
            error.into_inner(),
        ))),
        Err(panic) => Err(StopReason::Failed(Failure::panic(format!(
            "{hook} panicked: {panic}"
        )))),
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
            // Idle, with this task's waker registered on the message lane,
            // which a signal wakes too (`Cell::signal`): one registration
            // serves both lanes. Checked again after it, because a signal
            // sent before it woke nobody.
            Poll::Pending => match cell.signals.try_recv() {
                Some(signal) => Poll::Ready(Next::Signal(signal)),
                None => Poll::Pending,
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Idle;
    impl Actor for Idle {}

    /// The size of what `f` returns, without calling it.
    fn size_of_output<T, R>(_: &impl FnOnce(T) -> R) -> usize {
        std::mem::size_of::<R>()
    }

    /// Every actor boxes its start and its end phase (so that only `serve`
    /// stays resident in its task), and a box is allocated and copied at
    /// its full size. The waits for children are boxed apart, only when
    /// there are children: inline, they made the two phases 1,232 and
    /// 1,224 bytes for an actor without state, past glibc's per-thread
    /// cache (1,032 bytes), which cost a spawn and stop about 700
    /// instructions.
    #[test]
    fn an_actor_without_children_starts_and_ends_in_small_boxes() {
        let start = size_of_output(&|lifecycle: &mut Lifecycle<Idle>| lifecycle.start());
        let end = size_of_output(&|(lifecycle, exit): (Lifecycle<Idle>, Exit)| lifecycle.end(exit));
        assert!(start <= 128, "the start phase is {start} bytes");
        assert!(end <= 512, "the end phase is {end} bytes");
    }
}
