//! A child's place in its parent's tree: what a spawn needs to know about
//! its supervision ([`SpawnSpec`]), and the entry its parent keeps for it
//! ([`Child`]).

use std::sync::Arc;

use tokio::task::AbortHandle;

use crate::cell::AnyActor;
use crate::introspection::ActorKind;
use crate::{Actor, ActorRef, RestartPolicy, Shutdown};

use super::brutal_kill;
use super::child_spec::Factory;

/// Everything about a spawn besides the actor's initial state.
pub(crate) struct SpawnSpec<A: Actor> {
    pub(crate) name: Option<String>,
    /// The supervising actor; `None` for a top-level actor.
    pub(crate) parent: Option<Arc<dyn AnyActor>>,
    /// Rebuilds the state on restart; `None` keeps the state.
    pub(crate) factory: Option<Factory<A>>,
    pub(crate) policy: RestartPolicy,
    /// What snapshots show it as.
    pub(crate) kind: ActorKind,
    /// The per-core thread asked for; `None` lets the system place it.
    pub(crate) core: Option<usize>,
}

impl<A: Actor> SpawnSpec<A> {
    pub(crate) fn top_level(name: Option<String>) -> Self {
        Self {
            name,
            parent: None,
            factory: None,
            policy: RestartPolicy::Permanent,
            kind: ActorKind::Actor,
            core: None,
        }
    }

    /// A child's spec; `spawn_child` fills in the parent.
    pub(crate) fn child(
        name: Option<String>,
        factory: Option<Factory<A>>,
        policy: RestartPolicy,
    ) -> Self {
        Self {
            name,
            parent: None,
            factory,
            policy,
            kind: ActorKind::Actor,
            core: None,
        }
    }
}

/// A supervised child as its parent keeps it.
pub(crate) struct Child {
    pub(crate) actor: Arc<dyn AnyActor>,
    pub(crate) policy: RestartPolicy,
    pub(crate) shutdown: Shutdown,
    /// Its task, to kill it without waiting when its shutdown runs out.
    pub(crate) task: AbortHandle,
}

impl Child {
    /// The entry for a child just spawned (always a local actor).
    pub(crate) fn of<C: Actor>(
        (child, task): (&ActorRef<C>, AbortHandle),
        policy: RestartPolicy,
        shutdown: Shutdown,
    ) -> Option<Self> {
        let actor = Arc::clone(child.cell()?) as Arc<dyn AnyActor>;
        Some(Self {
            actor,
            policy,
            shutdown,
            task,
        })
    }

    /// Kills it at once: see [`Shutdown`].
    pub(crate) fn brutal_kill(&self) {
        brutal_kill(&*self.actor, &self.task);
    }
}
