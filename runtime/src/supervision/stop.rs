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
    /// (if its policy restarts it) or stopped. Other signals are postponed.
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
            decide_while_stopping(&children, id, &why, reason);
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
                            decide_while_stopping(&children, id, &why, reason);
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
}

fn tell_to_stop(child: &Child, reason: &StopReason) {
    match reason {
        StopReason::Killed => child.actor.kill(),
        _ => child.actor.stop(),
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
