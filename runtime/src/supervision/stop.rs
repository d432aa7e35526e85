//! Stopping an actor's children before it restarts or stops: all at once
//! for children spawned one by one, one at a time and last started first
//! for children a supervisor started in order, as Erlang/OTP's supervisor
//! shuts its children down, each within its [`Shutdown`](crate::Shutdown)
//! timeout, after which it is killed.

use std::convert::Infallible;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::cell::Life;
use crate::lifecycle::Lifecycle;
use crate::signal::Signal;
use crate::{Actor, ActorId, Shutdown, StopReason};

use super::restart::restarts;
use super::Child;

impl<A: Actor> Lifecycle<A> {
    /// Stops every child (kills them if this actor was killed) and waits for
    /// each, up to its shutdown timeout; one still running then is killed
    /// without waiting for what it does (see [`Shutdown`]).
    ///
    /// A child stopped gracefully may fail while it drains its mailbox and
    /// then wait for this actor's decision, so the wait keeps reading the
    /// signal lane: such a child is restarted in place to finish draining
    /// (if its policy restarts it and the restart intensity allows) or
    /// dismissed with its failure. Other signals are postponed.
    ///
    /// The children stay in the context until they have all stopped, so
    /// that if this actor is itself killed meanwhile, they are killed with it.
    pub(crate) async fn stop_children(&mut self, reason: &StopReason) {
        // Most actors have no children: every stop comes here twice, and
        // the walk cost them 378 instructions a time. Reports of children
        // already gone are dropped, as the walk drops them. The walk's
        // state is boxed so that the stop of an actor without children
        // does not carry it (nor copy it into the boxed end phase).
        if self.ctx.children.is_empty() {
            let _gone = self.waiting_failures();
            return;
        }
        Box::pin(self.stop_each_child(reason)).await;
    }

    /// [`stop_children`](Self::stop_children) for an actor that has some.
    async fn stop_each_child(&mut self, reason: &StopReason) {
        let ordered = self.ctx.supervision.as_ref().is_some_and(|s| s.ordered);
        let mut in_order: Vec<ActorId> = self.ctx.children.keys().copied().collect();
        let told_at = Instant::now();
        if !ordered {
            for child in self.ctx.children.values() {
                tell_to_stop(child, reason);
            }
        }
        // A failed child waits for a decision even when told to stop, so
        // that its queue can drain after a restart: give every one its answer.
        for (id, why) in self.waiting_failures() {
            self.decide_while_stopping(id, &why, reason);
        }
        if ordered {
            in_order.reverse();
        }
        for id in in_order {
            let Some(child) = self.ctx.children.get(&id) else {
                continue;
            };
            let (actor, shutdown) = (Arc::clone(&child.actor), child.shutdown);
            // Children stopped all at once have been counting since then.
            let mut since = told_at;
            if ordered {
                tell_to_stop(child, reason);
                since = Instant::now();
            }
            // A brutal kill was done when it was told: wait for its cleanup.
            let deadline = match shutdown {
                Shutdown::BrutalKill => None,
                _ => shutdown.grace().map(|grace| since + grace),
            };
            let stopped = self.await_child_stop(actor.life(), deadline, reason).await;
            if !stopped {
                if let Some(child) = self.ctx.children.get(&id) {
                    tracing::warn!(child = %id, ?shutdown, "a child did not stop within its shutdown timeout; killing it");
                    child.brutal_kill();
                }
                self.await_child_stop(actor.life(), None, reason).await;
            }
        }
        self.ctx.children.clear();
    }

    /// Waits until the child whose life this is has stopped, or `deadline`
    /// passes (`false`), deciding about children that fail meanwhile.
    async fn await_child_stop(
        &mut self,
        life: &Life,
        deadline: Option<Instant>,
        reason: &StopReason,
    ) -> bool {
        let waited = self
            .wait_reading_signals(stopped_by(life, deadline), |this, signal| match signal {
                Signal::ChildFailed(id, why) => {
                    this.decide_while_stopping(id, &why, reason);
                    ControlFlow::<Infallible>::Continue(())
                }
                other => this.postpone(other),
            })
            .await;
        let Ok(stopped) = waited;
        stopped
    }

    /// Failed children still waiting for a decision: those that failed
    /// while this actor was failed, and reports postponed during a wait.
    fn waiting_failures(&mut self) -> Vec<(ActorId, StopReason)> {
        // Every stop asks twice; most actors never needed the bookkeeping.
        if !self.has_books() {
            return Vec::new();
        }
        let mut failures = self.take_books(|books| &mut books.failed_children);
        let postponed = self.take_books(|books| &mut books.postponed);
        for signal in postponed {
            match signal {
                Signal::ChildFailed(id, why) => failures.push((id, why)),
                other => self.books().postponed.push_back(other),
            }
        }
        failures
    }

    /// Decides about a child that failed while this actor stops it. It is
    /// told to stop first, so it accepts no new message whatever comes
    /// next. Then a child whose policy restarts it is restarted at once, so
    /// that it can handle what it had accepted before it stops, if the
    /// restart intensity allows: restarts made while stopping count like
    /// any other, which bounds them (a child whose restart always fails
    /// would otherwise be restarted forever and the stop never end). Any
    /// other child is dismissed and ends with its failure; this actor does
    /// not escalate, it is stopping anyway.
    fn decide_while_stopping(&mut self, id: ActorId, why: &StopReason, reason: &StopReason) {
        let Some(failed) = self.ctx.children.get(&id) else {
            return;
        };
        tell_to_stop(failed, reason);
        if failed.shutdown == Shutdown::BrutalKill {
            return;
        }
        let (failed, policy) = (Arc::clone(&failed.actor), failed.policy);
        if matches!(reason, StopReason::Killed) || !restarts(policy, why) {
            failed.dismiss();
            return;
        }
        // No backoff: the delay would only hold up the stop.
        if self.ctx.supervision().admit_restart().is_some() {
            tracing::info!(child = %id, reason = %why, "restarting to drain before it stops");
            failed.restart(Duration::ZERO);
        } else {
            tracing::warn!(child = %id, reason = %why, "restart intensity exceeded while stopping; the child ends with its failure");
            failed.dismiss();
        }
    }
}

/// Waits until the actor whose life this is has stopped (`true`), or
/// `deadline` passes (`false`).
pub(super) async fn stopped_by(life: &Life, deadline: Option<Instant>) -> bool {
    match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, life.wait()).await.is_ok(),
        None => {
            life.wait().await;
            true
        }
    }
}

/// Tells `child` to stop as `reason` and its [`Shutdown`] say: a kill if
/// this actor was killed, a graceful stop, or, for
/// [`Shutdown::BrutalKill`], a kill that waits for nothing.
fn tell_to_stop(child: &Child, reason: &StopReason) {
    match (child.shutdown, reason) {
        (Shutdown::BrutalKill, _) => child.brutal_kill(),
        (_, StopReason::Killed) => child.actor.kill(),
        _ => child.actor.stop(),
    }
}
