//! Deciding about a failed child, and restarting a group of children in
//! order: for one-for-all and rest-for-one, as Erlang/OTP's supervisor
//! does, the affected siblings go down last started first, each waited
//! for, then all start again first started first, each `on_restart`
//! completing before the next begins.

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use crate::cell::AnyActor;
use crate::lifecycle::{Exit, Lifecycle};
use crate::signal::Signal;
use crate::{Actor, ActorId, RestartPolicy, RestartScope, StopReason};

/// Whether a child with `policy` that ended with `reason` is restarted.
/// Only permanent children report a normal end (stopping themselves).
pub(crate) fn restarts(policy: RestartPolicy, reason: &StopReason) -> bool {
    match policy {
        RestartPolicy::Permanent => true,
        RestartPolicy::Transient => reason.is_failure(),
        RestartPolicy::Temporary => false,
    }
}

/// A child restarted with a group, as the restart sees it.
struct Member {
    id: ActorId,
    actor: Arc<dyn AnyActor>,
    policy: RestartPolicy,
}

/// How the wait for one member ended.
enum Waited {
    /// It is down (taken down or failed), or up again (restarted).
    Done,
    /// It stopped for good meanwhile.
    Gone,
    /// Its restart failed, for this reason.
    Failed(StopReason),
    /// This actor was killed meanwhile.
    Killed,
}

impl<A: Actor> Lifecycle<A> {
    /// Decides about a failed child by this actor's strategy. Returns how
    /// serving ends: to fail (intensity exceeded), or to restart a group.
    pub(crate) fn on_child_failed(&mut self, child: ActorId, reason: StopReason) -> Option<Exit> {
        let failed = self.ctx.children.get(&child)?;
        let (failed, policy) = (Arc::clone(&failed.actor), failed.policy);
        if !restarts(policy, &reason) {
            failed.dismiss();
            return None;
        }
        match self.ctx.supervision().strategy.scope() {
            RestartScope::OneForOne => {
                let Some(delay) = self.admit_restart(child, &reason) else {
                    failed.dismiss();
                    return Some(Exit::Fail(intensity_exceeded(self, child, &reason)));
                };
                failed.restart(delay);
                None
            }
            RestartScope::OneForAll | RestartScope::RestForOne => {
                Some(Exit::RestartGroup(child, reason))
            }
        }
    }

    /// Counts one more restart; `None` when it would exceed the intensity.
    fn admit_restart(&mut self, child: ActorId, reason: &StopReason) -> Option<Duration> {
        let supervision = self.ctx.supervision();
        let delay = supervision.admit_restart()?;
        let strategy = supervision.strategy.scope();
        tracing::info!(%child, %reason, ?delay, ?strategy, "restarting");
        Some(delay)
    }

    /// Restarts the group that `failed`'s failure affects, in order, then
    /// returns to serving (`None`), unless this actor must fail (intensity
    /// exceeded) or was killed meanwhile.
    ///
    /// If a member's restart fails, that is a new failure: the group it
    /// affects is restarted the same way, counting another restart.
    pub(crate) async fn restart_group(
        &mut self,
        mut failed: ActorId,
        mut reason: StopReason,
    ) -> Option<Exit> {
        // Members waiting for a decision: failed, or taken down.
        let mut down = HashSet::from([failed]);
        loop {
            let Some(delay) = self.admit_restart(failed, &reason) else {
                return Some(self.give_up(failed, &reason, down));
            };
            let group = self.group(failed);
            self.note_failed_members(&group, &mut down);
            let sibling =
                StopReason::Failed(format!("restarted with failed sibling {failed}").into());
            for member in group.iter().rev() {
                if down.contains(&member.id) {
                    continue;
                }
                match self
                    .take_down_member(member, &sibling, &group, &mut down)
                    .await
                {
                    Waited::Done => {
                        down.insert(member.id);
                    }
                    Waited::Killed => return Some(Exit::Stop(StopReason::Killed)),
                    Waited::Gone | Waited::Failed(_) => {}
                }
            }
            let mut delay = Some(delay);
            let mut failed_again = None;
            for member in &group {
                if !down.remove(&member.id) {
                    continue;
                }
                if member.policy == RestartPolicy::Temporary {
                    // Failed on its own while the others went down.
                    member.actor.dismiss();
                    continue;
                }
                member.actor.restart(delay.take().unwrap_or_default());
                match self.await_restart(member).await {
                    Waited::Done | Waited::Gone => {}
                    Waited::Failed(why) => {
                        failed_again = Some((member.id, why));
                        break;
                    }
                    Waited::Killed => return Some(Exit::Stop(StopReason::Killed)),
                }
            }
            let (id, why) = failed_again?;
            down.insert(id);
            (failed, reason) = (id, why);
        }
    }

    /// The children `failed`'s failure restarts, in start order.
    fn group(&mut self, failed: ActorId) -> Vec<Member> {
        let children = match self.ctx.supervision().strategy.scope() {
            RestartScope::OneForOne => self.ctx.children.range(failed..=failed),
            RestartScope::OneForAll => self.ctx.children.range(..),
            RestartScope::RestForOne => self.ctx.children.range(failed..),
        };
        children
            .map(|(&id, child)| Member {
                id,
                actor: Arc::clone(&child.actor),
                policy: child.policy,
            })
            .collect()
    }

    /// Members whose failure report was postponed by an earlier wait are
    /// down already: they wait for the decision this restart makes.
    fn note_failed_members(&mut self, group: &[Member], down: &mut HashSet<ActorId>) {
        let postponed = self.take_books(|books| &mut books.postponed);
        for signal in postponed {
            match signal {
                Signal::ChildFailed(id, _) if group.iter().any(|m| m.id == id) => {
                    down.insert(id);
                }
                other => self.books().postponed.push_back(other),
            }
        }
    }

    /// Takes `member` down (a temporary one stops for good) and waits for it.
    async fn take_down_member(
        &mut self,
        member: &Member,
        reason: &StopReason,
        group: &[Member],
        down: &mut HashSet<ActorId>,
    ) -> Waited {
        let temporary = member.policy == RestartPolicy::Temporary;
        if temporary {
            member.actor.stop();
        } else {
            member.actor.take_down(reason.clone());
        }
        let stopped = member.actor.life().wait();
        let waited = self.wait_reading_signals(stopped, |this, signal| match signal {
            // A temporary member that fails while it drains ends there.
            Signal::ChildFailed(id, _) if id == member.id && temporary => {
                member.actor.dismiss();
                ControlFlow::Continue(())
            }
            // Down: taken down, or failed on its own just before.
            Signal::ChildFailed(id, _) if id == member.id => ControlFlow::Break(Waited::Done),
            // Another member that failed on its own is down already.
            Signal::ChildFailed(id, _) if group.iter().any(|m| m.id == id) => {
                down.insert(id);
                ControlFlow::Continue(())
            }
            Signal::Kill => ControlFlow::Break(Waited::Killed),
            other => this.postpone(other),
        });
        waited.await.err().unwrap_or(Waited::Gone)
    }

    /// Waits until `member`, told to restart, is up again (or failed).
    async fn await_restart(&mut self, member: &Member) -> Waited {
        let stopped = member.actor.life().wait();
        let waited = self.wait_reading_signals(stopped, |this, signal| match signal {
            Signal::ChildStarted(id) if id == member.id => ControlFlow::Break(Waited::Done),
            Signal::ChildFailed(id, why) if id == member.id => {
                ControlFlow::Break(Waited::Failed(why))
            }
            Signal::Kill => ControlFlow::Break(Waited::Killed),
            // A member up again that fails anew is decided about once this
            // restart is over.
            other => this.postpone(other),
        });
        waited.await.err().unwrap_or(Waited::Gone)
    }

    /// Past the intensity: the failed child is stopped, the others that
    /// are down wait for the decision this actor's own restart or stop
    /// makes, and this actor fails.
    fn give_up(&mut self, failed: ActorId, reason: &StopReason, down: HashSet<ActorId>) -> Exit {
        if let Some(child) = self.ctx.children.get(&failed) {
            child.actor.dismiss();
        }
        let waiting = down.into_iter().filter(|&id| id != failed);
        let waiting: Vec<_> = waiting.map(|id| (id, reason.clone())).collect();
        self.books().failed_children.extend(waiting);
        Exit::Fail(intensity_exceeded(self, failed, reason))
    }
}

/// The reason a supervisor fails with when restarts exceed its intensity.
fn intensity_exceeded<A: Actor>(
    lifecycle: &mut Lifecycle<A>,
    child: ActorId,
    reason: &StopReason,
) -> StopReason {
    let (max, within) = lifecycle.ctx.supervision().strategy.intensity_limits();
    tracing::error!(%child, %reason, max, ?within, "restart intensity exceeded; escalating");
    StopReason::Failed(
        format!(
            "restart intensity exceeded: child {child} failed ({reason}) after {max} restarts within {within:?}"
        )
        .into(),
    )
}
