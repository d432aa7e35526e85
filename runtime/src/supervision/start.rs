//! Starting a supervisor's children one at a time, in list order, as
//! Erlang/OTP's `start_link` does: each child's `on_start` completes before
//! the next child is spawned, and the supervisor is up once they all are.

use std::convert::Infallible;
use std::fmt;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::cell::AnyActor;
use crate::lifecycle::{Exit, Lifecycle};
use crate::panic::catch_panic_sync;
use crate::signal::Signal;
use tokio::time::Instant;

use super::stop::stopped_by;
use super::{Child, SpawnSpec};
use crate::{Actor, ChildSpec, SpawnError, StopReason, System};

/// A child queued by a start hook: spawns it, under `parent`, when its turn comes.
pub(crate) struct PendingChild(Box<SpawnChild>);

/// Spawns a queued child under the given parent.
type SpawnChild =
    dyn FnOnce(&System, Arc<dyn AnyActor>) -> Result<Option<Child>, SpawnError> + Send + Sync;

impl PendingChild {
    pub(crate) fn new<C: Actor>(spec: ChildSpec<C>) -> Self {
        Self(Box::new(move |system, parent| {
            let ChildSpec {
                factory,
                policy,
                shutdown,
                name,
            } = spec;
            let mut spawn = SpawnSpec::child(name, Some(Arc::clone(&factory)), policy);
            spawn.parent = Some(parent);
            let (child, task) = system.spawn_child(factory(), spawn)?;
            Ok(Child::of((&child, task), policy, shutdown))
        }))
    }
}

impl fmt::Debug for PendingChild {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingChild").finish_non_exhaustive()
    }
}

/// How the wait for one child's start ended.
enum Started {
    Up,
    Failed(StopReason),
    /// This actor was killed meanwhile.
    Killed,
}

impl<A: Actor> Lifecycle<A> {
    /// Spawns the children the start hook queued, one at a time: each is
    /// spawned once the one before it has started. If one cannot be
    /// spawned or fails to start, it is stopped, then those started before
    /// it, last first, and this actor's start fails with why.
    ///
    /// Signals that arrive meanwhile are postponed until serving begins
    /// (as an OTP supervisor reads its mailbox only once its `init` has
    /// returned), except a kill, which ends the start at once.
    ///
    /// Most actors queue no children: they return at once, and only a start
    /// that has children to wait for allocates the (large) state of that
    /// wait, which would otherwise be part of every actor's start future.
    pub(crate) async fn start_queued_children(&mut self) -> Result<(), Exit> {
        let queued = self
            .ctx
            .supervision
            .as_ref()
            .is_some_and(|supervision| !supervision.pending.is_empty());
        if !queued {
            return Ok(());
        }
        Box::pin(self.start_each_queued_child()).await
    }

    /// [`start_queued_children`](Self::start_queued_children) for an actor
    /// that queued some.
    async fn start_each_queued_child(&mut self) -> Result<(), Exit> {
        let Some(supervision) = self.ctx.supervision.as_mut() else {
            return Ok(());
        };
        for pending in std::mem::take(&mut supervision.pending) {
            let parent = Arc::clone(&self.cell) as Arc<dyn AnyActor>;
            let system = self.ctx.system().clone();
            let child = match catch_panic_sync(|| (pending.0)(&system, parent)) {
                Ok(Ok(Some(child))) => child,
                Ok(Ok(None)) => continue,
                Ok(Err(error)) => {
                    let reason = format!("a child could not be spawned: {error}");
                    return Err(self.abandon_start(reason).await);
                }
                Err(panic) => {
                    let reason = format!("a child's factory panicked: {panic}");
                    return Err(self.abandon_start(reason).await);
                }
            };
            let actor = Arc::clone(&child.actor);
            self.ctx.children.insert(actor.id(), child);
            match self.await_start(&actor).await {
                Started::Up => {}
                Started::Failed(why) => {
                    // It waits for this actor's decision: it is not restarted.
                    if let Some(child) = self.ctx.children.remove(&actor.id()) {
                        actor.dismiss();
                        self.await_dismissed(&child).await;
                    }
                    let reason = format!("child {} failed to start ({why})", actor.id());
                    return Err(self.abandon_start(reason).await);
                }
                Started::Killed => return Err(Exit::Stop(StopReason::Killed)),
            }
        }
        Ok(())
    }

    /// Waits for `child`'s first start to end.
    async fn await_start(&mut self, child: &Arc<dyn AnyActor>) -> Started {
        let started = child.life().wait_started();
        let waited = self.wait_reading_signals(started, |this, signal| match signal {
            Signal::Kill => ControlFlow::Break(()),
            // Its own report of a failed start says what the outcome says;
            // a failure after it started is decided about once serving begins.
            other => this.postpone(other),
        });
        match waited.await {
            Ok(Ok(())) => Started::Up,
            Ok(Err(why)) => Started::Failed(why),
            Err(()) => Started::Killed,
        }
    }

    /// Waits until `child`, dismissed, has stopped, up to its shutdown
    /// timeout, after which it is killed; signals are postponed.
    async fn await_dismissed(&mut self, child: &Child) {
        let life = child.actor.life();
        let deadline = child.shutdown.grace().map(|grace| Instant::now() + grace);
        let waited = self.wait_reading_signals(stopped_by(life, deadline), |this, signal| {
            this.postpone::<Infallible>(signal)
        });
        let Ok(in_time) = waited.await;
        if in_time {
            return;
        }
        tracing::warn!(child = %child.actor.id(), "a child that failed to start did not stop within its shutdown timeout; killing it");
        child.brutal_kill();
        let waited = self.wait_reading_signals(life.wait(), |this, signal| {
            this.postpone::<Infallible>(signal)
        });
        let Ok(_) = waited.await;
    }

    /// Stops the children started so far, last first, and returns the
    /// failure that ends this actor's start.
    async fn abandon_start(&mut self, reason: String) -> Exit {
        tracing::error!(%reason, "a child did not start; stopping those started before it");
        let reason = StopReason::Failed(reason.into());
        self.stop_children(&StopReason::Normal).await;
        Exit::Fail(reason)
    }
}
