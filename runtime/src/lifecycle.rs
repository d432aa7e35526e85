//! The actor task: start, serve messages and signals, stop, clean up.
//!
//! One task per actor runs [`Lifecycle::run`]. It owns the actor's state,
//! its context and both lanes of its mailbox, so nothing in here needs a lock.

use std::future::poll_fn;
use std::task::Poll;

use tokio::sync::mpsc;

use crate::envelope::BoxEnvelope;
use crate::mailbox::MailboxReceiver;
use crate::panic::{catch_panic, catch_panic_sync};
use crate::signal::{Signal, Watcher};
use crate::{Actor, AskError, Context, StopReason};

/// How many messages an actor handles in a row before it yields its worker
/// thread, so one busy actor cannot starve the others sharing that thread.
pub(crate) const MESSAGES_PER_TURN: u32 = 64;

/// An actor's task state.
pub(crate) struct Lifecycle<A: Actor> {
    actor: A,
    ctx: Context<A>,
    mailbox: MailboxReceiver<A>,
    signals: mpsc::UnboundedReceiver<Signal<A>>,
    /// Who to notify when this actor stops.
    watchers: Vec<Watcher>,
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
        mailbox: MailboxReceiver<A>,
        signals: mpsc::UnboundedReceiver<Signal<A>>,
    ) -> Self {
        Self {
            actor,
            ctx,
            mailbox,
            signals,
            watchers: Vec::new(),
        }
    }

    /// Runs the actor from `on_start` to its last cleanup.
    pub(crate) async fn run(mut self) {
        let reason = match self.start().await {
            Ok(()) => self.serve().await,
            Err(reason) => StopReason::Failed(reason),
        };
        self.finish(reason).await;
    }

    async fn start(&mut self) -> Result<(), String> {
        match catch_panic(self.actor.on_start(&mut self.ctx)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(format!("on_start failed: {error}")),
            Err(panic) => Err(format!("on_start panicked: {panic}")),
        }
    }

    /// Handles signals and messages until the actor stops; returns why.
    async fn serve(&mut self) -> StopReason {
        let mut handled_in_turn = 0;
        loop {
            match next(&mut self.signals, &mut self.mailbox).await {
                Next::Signal(signal) => {
                    if let Some(reason) = self.on_signal(signal).await {
                        return reason;
                    }
                }
                Next::Message(envelope) => {
                    if let Err(panic) = self.handle(envelope).await {
                        return StopReason::Failed(panic);
                    }
                    handled_in_turn += 1;
                    if handled_in_turn == MESSAGES_PER_TURN {
                        handled_in_turn = 0;
                        tokio::task::yield_now().await;
                    }
                }
                Next::Drained => return StopReason::Normal,
            }
        }
    }

    /// Acts on one signal; returns a reason when the actor must stop now.
    async fn on_signal(&mut self, signal: Signal<A>) -> Option<StopReason> {
        match signal {
            // Closing refuses new messages; `next` reports `Drained` once the
            // queued ones are handled.
            Signal::Stop => self.mailbox.close(),
            Signal::Kill => return Some(StopReason::Killed),
            Signal::Watch(watcher) => {
                if self.watchers.iter().all(|w| w.id() != watcher.id()) {
                    self.watchers.push(watcher);
                }
            }
            Signal::Unwatch(watcher) => self.watchers.retain(|w| w.id() != watcher),
            Signal::ChildTerminated(child) => {
                self.ctx.children.remove(&child);
            }
            Signal::Terminated(id, envelope) => {
                if self.ctx.watching.remove(&id) {
                    if let Err(panic) = self.handle(envelope).await {
                        return Some(StopReason::Failed(panic));
                    }
                }
            }
        }
        None
    }

    /// Handles one message; a panic in the handler becomes `Err(message)`
    /// after the asker, if any, has been told.
    async fn handle(&mut self, envelope: BoxEnvelope<A>) -> Result<(), String> {
        let message_type = envelope.message_type();
        tracing::trace!(message = message_type, "handling");
        let Self { actor, ctx, .. } = self;
        // Building the turn runs user code too (a handler that is not an
        // `async fn` may panic before returning its future).
        let mut turn = catch_panic_sync(|| envelope.handle(actor, ctx))?;
        let result = catch_panic(turn.as_mut()).await;
        if let Err(panic) = &result {
            tracing::error!(message = message_type, panic = %panic, "handler panicked; the actor fails");
            turn.as_mut().fail(panic);
        }
        // Dropping a future that panicked may panic again; keep it in here.
        let _ = catch_panic_sync(move || drop(turn));
        result
    }

    /// Stops children, runs `on_stop`, then tells everyone who needs to know.
    async fn finish(mut self, mut reason: StopReason) {
        self.reject_queued(&reason);
        self.stop_children(&reason).await;
        self.ctx.cancel_timers();
        if let Err(panic) = catch_panic(self.actor.on_stop(&mut self.ctx, &reason)).await {
            tracing::error!(panic = %panic, "on_stop panicked");
            if !reason.is_failure() {
                reason = StopReason::Failed(format!("on_stop panicked: {panic}"));
            }
        }
        match &reason {
            StopReason::Failed(why) => tracing::warn!(reason = %why, "actor failed"),
            _ => tracing::debug!(%reason, "actor stopped"),
        }
        self.notify_stopped(reason);
    }

    /// Refuses new messages; queued asks fail at once, queued tells become dead letters.
    fn reject_queued(&mut self, reason: &StopReason) {
        self.mailbox.close();
        let id = self.ctx.id();
        while let Some(envelope) = self.mailbox.try_recv() {
            let message_type = envelope.message_type();
            if envelope.reject(AskError::Stopped).is_some() {
                self.ctx
                    .system()
                    .dead_letter(id, message_type, reason.clone());
            }
        }
    }

    /// Stops every child (kills them if this actor was killed) and waits for them.
    async fn stop_children(&mut self, reason: &StopReason) {
        let children: Vec<_> = self.ctx.children.drain().map(|(_, child)| child).collect();
        for child in &children {
            match reason {
                StopReason::Killed => child.kill(),
                _ => child.stop(),
            }
        }
        for child in children {
            child.life().wait().await;
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
        self.signals.close();
        while let Ok(signal) = self.signals.try_recv() {
            if let Signal::Watch(watcher) = signal {
                self.watchers.push(watcher);
            }
        }
        for watcher in self.watchers.drain(..) {
            watcher.notify(id, reason.clone());
        }
        if let Some(parent) = self.ctx.parent.take() {
            parent.child_terminated(id);
        }
        self.ctx.system().forget(id, &cell.named);
        cell.life.finish();
    }
}

/// Waits for the next signal or message; signals always come first.
async fn next<A: Actor>(
    signals: &mut mpsc::UnboundedReceiver<Signal<A>>,
    mailbox: &mut MailboxReceiver<A>,
) -> Next<A> {
    poll_fn(|cx| {
        // The cell holds a signal sender for as long as the actor runs, so
        // `Ready(None)` cannot happen here.
        if let Poll::Ready(Some(signal)) = signals.poll_recv(cx) {
            return Poll::Ready(Next::Signal(signal));
        }
        mailbox.poll_recv(cx).map(|envelope| match envelope {
            Some(envelope) => Next::Message(envelope),
            None => Next::Drained,
        })
    })
    .await
}
