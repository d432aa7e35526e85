//! [`Supervisor`]: a ready-made actor whose only job is to run children.

use std::fmt;

use crate::{
    Actor, ActorError, ActorId, ChildSpec, Context, Handler, Message, StopReason,
    SupervisorStrategy,
};

/// An actor that starts a list of children in order and restarts them by
/// its [`SupervisorStrategy`]. Supervisors nest: a child may itself be a
/// `Supervisor`, and a supervisor that exceeds its restart intensity fails,
/// so its own supervisor restarts it, and with it its whole subtree.
///
/// Order, as in Erlang/OTP:
///
/// * **Start.** Children start one at a time in list order: each child's
///   `on_start` has completed before the next child is spawned. The
///   supervisor is up (its [`wait_started`](crate::ActorRef::wait_started)
///   resolves, and it answers messages such as [`WhichChildren`]) once all
///   its children are; a nested supervisor counts as started once its own
///   children are.
/// * **Start failure.** If a child cannot be spawned or its `on_start`
///   fails, it is not restarted: it stops, then the children started before
///   it stop, last first, each waited for, and the supervisor's start
///   fails with a reason that names the child. Its own supervisor then
///   decides, by its strategy and intensity, as for any failure.
/// * **Restart.** Under one-for-all and rest-for-one, the affected siblings
///   of a failed child are taken down last started first, each waited for
///   and its `on_stop` run (a temporary one is stopped for good), then the
///   failed child and those siblings are restarted in start order, each
///   `on_restart` completing before the next begins. Messages queued for
///   them are kept. Meanwhile the supervisor handles no message.
/// * **Stop.** Stopping or restarting the supervisor stops its children one
///   at a time, the last started first.
///
/// Restarting a supervisor stops its children and starts them again, fresh,
/// from their specs.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, ChildSpec, Supervisor, SupervisorStrategy, System};
///
/// #[derive(Default)]
/// struct Worker;
/// impl Actor for Worker {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let supervisor = Supervisor::new(SupervisorStrategy::one_for_all())
///     .child(ChildSpec::new(Worker::default).name("worker-a"))
///     .child(ChildSpec::new(Worker::default).name("worker-b"));
/// let supervisor = system.spawn(supervisor)?;
/// supervisor.wait_started().await?; // both workers have started, in order
/// assert!(system.lookup::<Worker>("worker-a").is_some());
/// let children = supervisor.ask(proscenium_runtime::WhichChildren).await?;
/// assert_eq!(children.len(), 2);
/// # Ok(())
/// # }
/// ```
pub struct Supervisor {
    strategy: SupervisorStrategy,
    specs: Vec<Box<dyn AnyChildSpec>>,
}

impl Supervisor {
    /// A supervisor with no children yet, using `strategy`.
    pub fn new(strategy: SupervisorStrategy) -> Self {
        Self {
            strategy,
            specs: Vec::new(),
        }
    }

    /// Adds a child, spawned once those added before it have started
    /// (their `on_start` has completed).
    pub fn child<A: Actor>(mut self, spec: ChildSpec<A>) -> Self {
        self.specs.push(Box::new(spec));
        self
    }
}

impl Actor for Supervisor {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.set_supervisor_strategy(self.strategy);
        // Started by the runtime once this returns, one at a time.
        for spec in &self.specs {
            spec.start_in_order(ctx);
        }
        Ok(())
    }

    async fn on_restart(
        &mut self,
        ctx: &mut Context<Self>,
        _reason: &StopReason,
    ) -> Result<(), ActorError> {
        self.on_start(ctx).await
    }
}

/// Asks a [`Supervisor`] for the ids of its live children, in start order.
///
/// A supervisor answers only once it is up, so the answer lists every
/// child, each started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WhichChildren;

impl Message for WhichChildren {
    type Reply = Vec<ActorId>;
}

impl Handler<WhichChildren> for Supervisor {
    async fn handle(&mut self, _: WhichChildren, ctx: &mut Context<Self>) -> Vec<ActorId> {
        ctx.children().collect()
    }
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("strategy", &self.strategy)
            .field("children", &self.specs.len())
            .finish()
    }
}

/// A child spec of any actor type.
trait AnyChildSpec: Send + Sync {
    fn start_in_order(&self, ctx: &mut Context<Supervisor>);
    fn clone_box(&self) -> Box<dyn AnyChildSpec>;
}

impl<A: Actor> AnyChildSpec for ChildSpec<A> {
    fn start_in_order(&self, ctx: &mut Context<Supervisor>) {
        ctx.start_in_order(self.clone());
    }

    fn clone_box(&self) -> Box<dyn AnyChildSpec> {
        Box::new(self.clone())
    }
}

/// A copy with the same strategy and child specs, e.g. to build a nested
/// supervisor afresh in a [`ChildSpec`] factory: `ChildSpec::new(move || sup.clone())`.
impl Clone for Supervisor {
    fn clone(&self) -> Self {
        Self {
            strategy: self.strategy,
            specs: self.specs.iter().map(|s| s.clone_box()).collect(),
        }
    }
}
