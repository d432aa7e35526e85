//! [`AnyActorRef`]: a local actor whose type is not known statically.

use std::any::TypeId;
use std::fmt;
use std::sync::Arc;

use crate::cell::{AnyActor, Cell};
use crate::link::{self, LinkSignal, Peer};
use crate::remote::{LinkNotice, RemoteDelivery, Watcher};
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

    /// Hands the actor `notice` from `from`, an actor of the other node
    /// that `transport` reaches, about the link between them (see
    /// [`LinkNotice`]). For a [`LinkNotice::Linked`] the actor keeps an
    /// entry for `from` and, when its incarnation ends or it unlinks,
    /// answers through `transport` with
    /// [`RemoteDelivery::link_notice`]; a `Down` with a failure fails it
    /// with [`LinkError::PeerFailed`](crate::LinkError::PeerFailed).
    ///
    /// The network layer must check first that `from` lives on the node
    /// that sent the notice, and for `Linked` that the sender may address
    /// this actor. Returns `false` if the actor has stopped (nothing is
    /// kept then), or if `from` is an actor of this node, whose links
    /// never cross the wire.
    pub fn link_notice(
        &self,
        from: ActorId,
        notice: LinkNotice,
        transport: &Arc<dyn RemoteDelivery>,
    ) -> bool {
        if from.node() == self.id().node() {
            return false;
        }
        link::observe_token(notice.token());
        let signal = match notice {
            LinkNotice::Linked { token } => LinkSignal::Linked {
                peer: from,
                token,
                handle: Peer::Remote {
                    transport: Arc::clone(transport),
                    watcher: None,
                },
            },
            LinkNotice::Unlinked { token } => LinkSignal::Unlinked { peer: from, token },
            LinkNotice::Down { token, reason } => LinkSignal::Down {
                peer: from,
                token,
                reason,
            },
        };
        self.actor.link_signal(signal)
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
