//! [`Supervisor`]: a ready-made actor whose only job is to run children.

use std::fmt;

use crate::{
    Actor, ActorError, ActorId, ChildSpec, Context, Handler, Message, SpawnError, StopReason,
    SupervisorStrategy,
};

/// An actor that starts a list of children in order and restarts them by
/// its [`SupervisorStrategy`]. Supervisors nest: a child may itself be a
/// `Supervisor`, and a supervisor that exceeds its restart intensity fails,
/// so its own supervisor restarts it, and with it its whole subtree.
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
/// let children = supervisor.ask(proscenium_runtime::WhichChildren).await?;
/// assert_eq!(children.len(), 2);
/// assert!(system.lookup::<Worker>("worker-a").is_some());
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

    /// Adds a child, started after those added before it.
    pub fn child<A: Actor>(mut self, spec: ChildSpec<A>) -> Self {
        self.specs.push(Box::new(spec));
        self
    }
}

impl Actor for Supervisor {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.set_supervisor_strategy(self.strategy);
        for spec in &self.specs {
            spec.spawn(ctx)?;
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
    fn spawn(&self, ctx: &mut Context<Supervisor>) -> Result<ActorId, SpawnError>;
    fn clone_box(&self) -> Box<dyn AnyChildSpec>;
}

impl<A: Actor> AnyChildSpec for ChildSpec<A> {
    fn spawn(&self, ctx: &mut Context<Supervisor>) -> Result<ActorId, SpawnError> {
        ctx.spawn_with(self.clone()).map(|child| child.id())
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
