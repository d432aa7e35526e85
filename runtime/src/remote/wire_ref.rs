//! Refs inside messages: how `ActorRef` and `Recipient` cross the wire.
//!
//! A ref serializes as its [`ActorId`] and a [`Seal`], the unguessable part
//! that makes the ref a capability: a node reaches one of its actors from
//! the wire only with the seal it made for it. Both directions need to know
//! where the ref is read or written, so both work only inside
//! [`with_ref_resolver`], which the network layer wraps around encoding and
//! decoding: writing a ref to an actor of this node seals it with the
//! node's transport ([`RemoteDelivery::seal`]); a ref to another node's
//! actor carries the seal it was read with. Reading back, an id of a live
//! actor of this node with the right seal becomes a local ref (or
//! recipient), so a ref that went to another node and came back is the
//! local one again; any other id becomes a remote ref through the node's
//! transport, which keeps its seal ([`RemoteDelivery::sealed`]). A ref to
//! an actor of this node that has stopped, or one whose seal is wrong (an
//! id guessed, not given), comes back as a ref whose sends fail with
//! `Stopped`: the two cannot be told apart.

use std::any::TypeId;
use std::cell::Cell;
use std::sync::Arc;
use std::time::Duration;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::actor_ref::{Destination, RemoteTarget};
use crate::remote::{
    AnyActorRef, AnyMessage, RemoteAsk, RemoteDelivery, RemoteSendError, RemoteStopped,
    Undeliverable, Watcher,
};
use crate::{Actor, ActorId, ActorRef, AskError, Message, Recipient, StopReason, System};

thread_local! {
    /// The innermost [`with_ref_resolver`] running on this thread, as
    /// pointers to its arguments rather than clones of them: a scope runs
    /// around every remote message encoded or decoded, and most messages
    /// hold no ref, so cloning a `System` and a transport (four atomic
    /// operations) for each was most of what a scope cost.
    static RESOLVER: Cell<Option<ScopedResolver>> = const { Cell::new(None) };
}

/// The arguments of a running [`with_ref_resolver`].
#[derive(Clone, Copy)]
struct ScopedResolver {
    system: *const System,
    transport: *const Arc<dyn RemoteDelivery>,
}

impl ScopedResolver {
    /// Calls `f` with the resolver of the innermost scope on this thread.
    #[allow(unsafe_code)]
    fn with_current<R>(f: impl FnOnce(&System, &Arc<dyn RemoteDelivery>) -> R) -> Option<R> {
        let scoped = RESOLVER.with(Cell::get)?;
        // SAFETY: `with_ref_resolver` sets these pointers from references
        // that outlive its call, and puts the previous value back before it
        // returns or unwinds; this thread is inside that call, so they
        // point to live values. Only shared references are made.
        let (system, transport) = unsafe { (&*scoped.system, &*scoped.transport) };
        Some(f(system, transport))
    }
}

#[derive(Clone)]
struct Resolver {
    system: System,
    transport: Arc<dyn RemoteDelivery>,
}

/// The unguessable part of a ref on the wire, which makes it a capability.
///
/// A network layer makes one for each actor of its node that it writes to
/// the wire (a keyed hash of the actor's id under a key of that node run;
/// see [`RemoteDelivery::seal`]) and reaches an actor from the wire only
/// with that seal ([`RemoteDelivery::opens`]). Actor ids are easy to guess
/// (a node number and a counter); seals are not, so a peer reaches only
/// the actors whose refs it was given. A seal means something only to the
/// node that made it; it is not shown by `Debug`, so logs do not leak it.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::remote::Seal;
///
/// let seal = Seal::new([7; 8]);
/// assert_eq!(seal.to_bytes(), [7; 8]);
/// assert_ne!(seal, Seal::NONE);
/// assert_eq!(format!("{seal:?}"), "Seal(..)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Seal([u8; 8]);

impl Seal {
    /// The seal of a ref whose maker knows none; no node accepts it.
    pub const NONE: Seal = Seal([0; 8]);

    /// A seal from its bytes.
    pub const fn new(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// The seal's bytes.
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }
}

impl std::fmt::Debug for Seal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seal(..)")
    }
}

/// Runs `decode` so that refs deserialized inside it resolve against
/// `system` (ids of its node) and `transport` (every other id), and refs
/// to `system`'s actors serialized inside it are sealed by `transport`.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use proscenium_runtime::remote::{with_ref_resolver, RemoteDelivery};
/// use proscenium_runtime::System;
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
    let scoped = ScopedResolver { system, transport };
    let previous = RESOLVER.with(|cell| cell.replace(Some(scoped)));
    // Restore on the way out, also if `decode` panics: the pointers must
    // not outlive this call.
    struct Restore(Option<ScopedResolver>);
    impl Drop for Restore {
        fn drop(&mut self) {
            RESOLVER.with(|cell| cell.set(self.0));
        }
    }
    let _restore = Restore(previous);
    decode()
}

impl Resolver {
    /// The way to an actor that is not a live actor of this node reached
    /// with its seal: the node's transport, keeping the seal, or, for an
    /// id of this very node run (an actor that has stopped, or a seal that
    /// is wrong), [`Stopped`].
    fn transport_for(&self, id: ActorId, seal: Seal) -> Arc<dyn RemoteDelivery> {
        if id.node() == self.system.node_id() {
            Arc::new(Stopped)
        } else {
            self.transport
                .sealed(id, seal)
                .unwrap_or_else(|| Arc::clone(&self.transport))
        }
    }

    /// The live local actor a ref read off the wire names, if it is one of
    /// this node's and its seal is right.
    fn local(&self, id: ActorId, seal: Seal) -> Option<AnyActorRef> {
        (id.node() == self.system.node_id() && self.transport.opens(id, seal))
            .then(|| self.system.actor(id))
            .flatten()
    }
}

/// The seal to write with a ref to `id`: its transport's if the actor is on
/// another node, else the one the node writing it makes.
fn seal_for<E: serde::ser::Error>(id: ActorId, remote: Option<&RemoteTarget>) -> Result<Seal, E> {
    if let Some(remote) = remote {
        return Ok(remote.transport.seal(remote.id));
    }
    ScopedResolver::with_current(|_, transport| transport.seal(id)).ok_or_else(|| {
        E::custom("actor refs can only be serialized by a node (inside `with_ref_resolver`)")
    })
}

fn current_resolver<E: serde::de::Error>() -> Result<Resolver, E> {
    ScopedResolver::with_current(|system, transport| Resolver {
        system: system.clone(),
        transport: Arc::clone(transport),
    })
    .ok_or_else(|| {
        E::custom("actor refs can only be deserialized by a node (inside `with_ref_resolver`)")
    })
}

impl<A: Actor> Serialize for ActorRef<A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let remote = match self.destination() {
            Destination::Remote(remote) => Some(remote),
            Destination::Local(_) => None,
        };
        let id = self.id();
        (id, seal_for::<S::Error>(id, remote)?).serialize(serializer)
    }
}

impl<'de, A: Actor> Deserialize<'de> for ActorRef<A> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, seal) = <(ActorId, Seal)>::deserialize(deserializer)?;
        let resolver = current_resolver::<D::Error>()?;
        if let Some(local) = resolver.local(id, seal) {
            return local.downcast::<A>().ok_or_else(|| {
                D::Error::custom(format!(
                    "actor {id} is a `{}`, not a `{}`",
                    local.actor_type_name(),
                    std::any::type_name::<A>()
                ))
            });
        }
        Ok(ActorRef::remote(
            id,
            resolver.transport_for(id, seal),
            resolver.system.ask_timeout(),
        ))
    }
}

impl<M: Message> Serialize for Recipient<M> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let id = self.id();
        (id, seal_for::<S::Error>(id, self.target().remote())?).serialize(serializer)
    }
}

impl<'de, M: Message> Deserialize<'de> for Recipient<M> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (id, seal) = <(ActorId, Seal)>::deserialize(deserializer)?;
        let resolver = current_resolver::<D::Error>()?;
        if let Some(local) = resolver.local(id, seal) {
            return local_recipient(&resolver, &local);
        }
        Ok(Recipient::remote(
            id,
            resolver.transport_for(id, seal),
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
                 from other nodes; register it (`#[actor(remote(..))]` or `#[handler(remote)]`)",
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

#[cfg(test)]
mod tests {
    use std::panic::{catch_unwind, AssertUnwindSafe};

    use super::*;

    /// The transport refs resolve against now, if any scope is running.
    fn current() -> Option<Arc<dyn RemoteDelivery>> {
        current_resolver::<serde::de::value::Error>()
            .ok()
            .map(|resolver| resolver.transport)
    }

    fn is_current(transport: &Arc<dyn RemoteDelivery>) -> bool {
        current().is_some_and(|current| Arc::ptr_eq(&current, transport))
    }

    #[tokio::test]
    async fn scopes_nest_and_end_with_their_call_even_when_it_panics() {
        let system = System::new();
        let outer: Arc<dyn RemoteDelivery> = Arc::new(Stopped);
        let inner: Arc<dyn RemoteDelivery> = Arc::new(Stopped);
        assert!(current().is_none(), "no scope: refs cannot be read");
        with_ref_resolver(&system, &outer, || {
            assert!(is_current(&outer));
            with_ref_resolver(&system, &inner, || assert!(is_current(&inner)));
            assert!(is_current(&outer), "the outer scope is back");
            let panicked = catch_unwind(AssertUnwindSafe(|| {
                with_ref_resolver(&system, &inner, || panic!("a message's decoder panicked"))
            }));
            assert!(panicked.is_err());
            assert!(is_current(&outer), "also after a panic");
        });
        assert!(current().is_none(), "the scope ended with its call");
    }
}
