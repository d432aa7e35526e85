//! [`AnyActorRef`]: a local actor whose type is not known statically.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use crate::cell::{AnyActor, Cell};
use crate::remote::Watcher;
use crate::{Actor, ActorId, ActorRef, StopReason};

/// A ref to a local actor of any type, found by id with
/// [`System::actor`](crate::System::actor).
///
/// It can stop, kill and watch the actor, and turn back into a typed
/// [`ActorRef`] with [`downcast`](Self::downcast). Network layers use it to
/// act on frames that name an actor only by id.
#[derive(Clone)]
pub struct AnyActorRef {
    actor: Arc<dyn AnyActor>,
}

impl AnyActorRef {
    pub(crate) fn new(actor: Arc<dyn AnyActor>) -> Self {
        Self { actor }
    }

    /// The actor's id.
    pub fn id(&self) -> ActorId {
        self.actor.id()
    }

    /// The [`TypeId`] of the actor's type.
    pub fn actor_type(&self) -> TypeId {
        self.actor.actor_type()
    }

    /// The Rust name of the actor's type.
    pub fn actor_type_name(&self) -> &'static str {
        self.actor.actor_type_name()
    }

    /// The typed ref, if the actor is an `A`.
    pub fn downcast<A: Actor>(&self) -> Option<ActorRef<A>> {
        Arc::clone(&self.actor)
            .into_any()
            .downcast::<Cell<A>>()
            .ok()
            .map(ActorRef::local)
    }

    /// Whether the actor has not stopped yet.
    pub fn is_alive(&self) -> bool {
        self.actor.life().is_alive()
    }

    /// As [`ActorRef::mailbox_len`]: how many messages wait in its mailbox now.
    pub fn mailbox_len(&self) -> usize {
        self.actor.mailbox_len()
    }

    /// As [`ActorRef::stop`].
    pub fn stop(&self) {
        self.actor.stop();
    }

    /// As [`ActorRef::kill`].
    pub fn kill(&self) {
        self.actor.kill();
    }

    /// Notifies `watcher` exactly once when the actor stops (at once if it has).
    pub fn watch(&self, watcher: Watcher) {
        self.actor.add_watcher(watcher);
    }

    /// Forgets the watch that `watcher` made.
    pub fn unwatch(&self, watcher: ActorId) {
        self.actor.remove_watcher(watcher);
    }

    /// As [`ActorRef::wait_stopped`].
    pub async fn wait_stopped(&self) -> StopReason {
        self.actor.life().wait().await
    }
}

impl fmt::Debug for AnyActorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyActorRef")
            .field("id", &self.id())
            .field("actor", &self.actor_type_name())
            .finish()
    }
}
