//! Refs inside messages: how `ActorRef` and `Recipient` cross the wire.
//!
//! A ref serializes as its [`ActorId`]. Reading it back needs to know where
//! the reader runs, so deserialization only works inside
//! [`with_ref_resolver`], which the network layer wraps around decoding: an
//! id of a live actor of this node becomes a local ref (or recipient), so a
//! ref that went to another node and came back is the local one again; any
//! other id becomes a remote ref through the node's transport. A ref to an
//! actor of this node that has stopped comes back as a ref whose sends fail
//! with `Stopped`.

use std::any::TypeId;
use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::remote::{AnyMessage, RemoteAsk, RemoteSendError, RemoteStopped, Undeliverable};
use crate::{
    Actor, ActorId, ActorRef, AnyActorRef, AskError, Message, Recipient, RemoteDelivery,
    StopReason, System, Watcher,
};

thread_local! {
    static RESOLVER: RefCell<Option<Resolver>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct Resolver {
    system: System,
    transport: Arc<dyn RemoteDelivery>,
}

/// Runs `decode` so that refs deserialized inside it resolve against
/// `system` (ids of its node) and `transport` (every other id).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use proscenium_runtime::{with_ref_resolver, RemoteDelivery, System};
///
/// // A network layer decodes every incoming payload like this.
/// fn decode<T: serde::de::DeserializeOwned>(
///     system: &System,
///     transport: &Arc<dyn RemoteDelivery>,
///     decode_payload: fn() -> T,
/// ) -> T {
///     with_ref_resolver(system, transport, decode_payload)
/// }
/// # let _ = decode::<u8>;
/// ```
pub fn with_ref_resolver<R>(
    system: &System,
    transport: &Arc<dyn RemoteDelivery>,
    decode: impl FnOnce() -> R,
) -> R {
    let resolver = Resolver {
        system: system.clone(),
        transport: Arc::clone(transport),
    };
    let previous = RESOLVER.with(|cell| cell.replace(Some(resolver)));
    // Restore on the way out, also if `decode` panics.
    struct Restore(Option<Resolver>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            RESOLVER.with(|cell| *cell.borrow_mut() = previous);
        }
    }
    let _restore = Restore(previous);
    decode()
}

impl Resolver {
    /// The way to an actor that is not a live actor of this node: the
    /// node's transport, or, for an actor of this very node run that has
    /// stopped, [`Stopped`].
    fn transport_for(&self, id: ActorId) -> Arc<dyn RemoteDelivery> {
        if id.node() == self.system.node_id() {
            Arc::new(Stopped)
        } else {
            Arc::clone(&self.transport)
        }
    }
}

fn current_resolver<E: serde::de::Error>() -> Result<Resolver, E> {
    RESOLVER.with(|cell| cell.borrow().clone()).ok_or_else(|| {
        E::custom("actor refs can only be deserialized by a node (inside `with_ref_resolver`)")
    })
}

impl<A: Actor> Serialize for ActorRef<A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.id().serialize(serializer)
    }
}

impl<'de, A: Actor> Deserialize<'de> for ActorRef<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = ActorId::deserialize(deserializer)?;
        let resolver = current_resolver::<D::Error>()?;
        if id.node() == resolver.system.node_id() {
            if let Some(local) = resolver.system.actor(id) {
                return local.downcast::<A>().ok_or_else(|| {
                    D::Error::custom(format!(
                        "actor {id} is a `{}`, not a `{}`",
                        local.actor_type_name(),
                        std::any::type_name::<A>()
                    ))
                });
            }
        }
        Ok(ActorRef::remote(
            id,
            resolver.transport_for(id),
            resolver.system.ask_timeout(),
        ))
    }
}

impl<M: Message> Serialize for Recipient<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.id().serialize(serializer)
    }
}

impl<'de, M: Message> Deserialize<'de> for Recipient<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = ActorId::deserialize(deserializer)?;
        let resolver = current_resolver::<D::Error>()?;
        if id.node() == resolver.system.node_id() {
            if let Some(local) = resolver.system.actor(id) {
                return local_recipient(&resolver, &local);
            }
        }
        Ok(Recipient::remote(
            id,
            resolver.transport_for(id),
            resolver.system.ask_timeout(),
        ))
    }
}

/// The recipient of `M` for a live actor of this node. The actor's type is
/// not on the wire, and only the network layer knows which types handle
/// `M`, so the transport makes it.
fn local_recipient<M: Message, E: serde::de::Error>(
    resolver: &Resolver,
    actor: &AnyActorRef,
) -> Result<Recipient<M>, E> {
    resolver
        .transport
        .local_recipient(actor, TypeId::of::<M>())
        .and_then(|recipient| recipient.downcast::<Recipient<M>>().ok())
        .map(|recipient| *recipient)
        .ok_or_else(|| {
            E::custom(format!(
                "actor {} is a `{}`, which this node has not registered to receive `{}` \
                 from other nodes; register it (`#[actor(remote(..))]`)",
                actor.id(),
                actor.actor_type_name(),
                std::any::type_name::<M>()
            ))
        })
}

/// The target of a ref read off the wire that names an actor of this node
/// that has stopped: everything fails or reports the stop at once, as for
/// a local ref to a stopped actor. Its stop reason is gone with it, so
/// waits and watches report [`StopReason::Normal`], as a node does for a
/// watch of an actor it no longer has.
#[derive(Debug)]
struct Stopped;

impl RemoteDelivery for Stopped {
    fn tell(&self, _: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
        Err(RemoteSendError {
            reason: Undeliverable::Stopped,
            message,
        })
    }

    fn ask(&self, _: ActorId, _: AnyMessage, _: Duration) -> RemoteAsk {
        Box::pin(std::future::ready(Err(AskError::Stopped)))
    }

    fn stop(&self, _: ActorId) {}

    fn kill(&self, _: ActorId) {}

    fn watch(&self, target: ActorId, watcher: Watcher) {
        watcher.notify(target, StopReason::Normal);
    }

    fn unwatch(&self, _: ActorId, _: ActorId) {}

    fn is_alive(&self, _: ActorId) -> bool {
        false
    }

    fn wait_stopped(&self, _: ActorId) -> RemoteStopped {
        Box::pin(std::future::ready(StopReason::Normal))
    }
}
