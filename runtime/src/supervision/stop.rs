//! Stopping an actor's children before it restarts or stops: all at once
//! for children spawned one by one, one at a time and last started first
//! for children a supervisor started in order, as Erlang/OTP's supervisor
//! shuts its children down.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::context::Child;
use crate::lifecycle::Lifecycle;
use crate::signal::Signal;
use crate::{Actor, ActorId, StopReason};

use super::restart::restarts;

impl<A: Actor> Lifecycle<A> {
    /// Stops every child (kills them if this actor was killed) and waits for them.
    ///
    /// A child stopped gracefully may fail while it drains its mailbox and
    /// then wait for this actor's decision, so the wait keeps reading the
    /// signal lane: such a child is restarted in place to finish draining
    /// (if its policy restarts it and the restart intensity allows) or
    /// dismissed with its failure. Other signals are postponed.
    pub(crate) async fn stop_children(&mut self, reason: &StopReason) {
        let children = std::mem::take(&mut self.ctx.children);
        let ordered = self.ctx.supervision.as_ref().is_some_and(|s| s.ordered);
        if !ordered {
            for child in children.values() {
                tell_to_stop(child, reason);
            }
        }
        // A failed child waits for a decision even when told to stop, so
        // that its queue can drain after a restart: give every one its answer.
        for (id, why) in self.waiting_failures() {
            self.decide_while_stopping(&children, id, &why, reason);
        }
        let mut in_order: Vec<&Child> = children.values().collect();
        if ordered {
            in_order.reverse();
        }
        for child in in_order {
            if ordered {
                tell_to_stop(child, reason);
            }
            let mut stopped = std::pin::pin!(child.actor.life().wait());
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    signal = self.cell.signals.recv() => match signal {
                        Signal::ChildFailed(id, why) => {
                            self.decide_while_stopping(&children, id, &why, reason);
                        }
                        other => self.books().postponed.push_back(other),
                    },
                }
            }
        }
    }

    /// Failed children still waiting for a decision: those that failed
    /// while this actor was failed, and reports postponed during a wait.
    fn waiting_failures(&mut self) -> Vec<(ActorId, StopReason)> {
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
    fn decide_while_stopping(
        &mut self,
        children: &BTreeMap<ActorId, Child>,
        id: ActorId,
        why: &StopReason,
        reason: &StopReason,
    ) {
        let Some(failed) = children.get(&id) else {
            return;
        };
        tell_to_stop(failed, reason);
        if matches!(reason, StopReason::Killed) || !restarts(failed.policy, why) {
            failed.actor.dismiss();
            return;
        }
        // No backoff: the delay would only hold up the stop.
        if self.ctx.supervision().admit_restart().is_some() {
            tracing::info!(child = %id, reason = %why, "restarting to drain before it stops");
            failed.actor.restart(Duration::ZERO, why.clone());
        } else {
            tracing::warn!(child = %id, reason = %why, "restart intensity exceeded while stopping; the child ends with its failure");
            failed.actor.dismiss();
        }
    }
}

fn tell_to_stop(child: &Child, reason: &StopReason) {
    match reason {
        StopReason::Killed => child.actor.kill(),
        _ => child.actor.stop(),
    }
}
