//! Which message types may cross the wire, which actors handle them, and
//! which actor types may be spawned remotely.
//!
//! Sending needs only the message's codec (found by its Rust type); receiving
//! needs to know which local actor type handles which tag, because the frame
//! names the actor only by id. Both nodes must register the same types
//! under the same tags.

use std::any::TypeId;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use proscenium_runtime::remote::{
    with_ref_resolver, AnyActorRef, AnyMessage, AnyRecipient, AnyReply, RemoteDelivery, WaitFor,
};
use proscenium_runtime::{Actor, AskError, Handler, Message, Recipient, System, TrySendError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::spawner::SpawnRequest;

type Fold = foldhash::fast::RandomState;
use crate::{wire, MessageTag, WireError};

/// A message type that can be sent to an actor on another node.
///
/// Its [`TAG`](Self::TAG) names it on the wire; it must be the same on every
/// node and unique among remote message types. The message and its reply
/// travel as bincode; refs inside them (`ActorRef`, `Recipient`) come out on
/// the far side as refs that route back.
///
/// # Examples
///
/// ```
/// use proscenium_net::RemoteMessage;
/// use proscenium_runtime::Message;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Ping(u32);
/// impl Message for Ping {
///     type Reply = u32;
/// }
/// impl RemoteMessage for Ping {
///     const TAG: &'static str = "example::Ping";
/// }
/// # let _ = Ping(1).0;
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross the wire",
    note = "mark it `#[derive(Message, Serialize, Deserialize)]` with `#[message(remote)]` (or its `#[handlers]` method `#[handler(remote)]`), or implement `RemoteMessage` (a stable `TAG`) by hand; its reply must be `Serialize + Deserialize` too"
)]
pub trait RemoteMessage:
    Message<Reply: Serialize + DeserializeOwned> + Serialize + DeserializeOwned
{
    /// The stable name of this message type on the wire.
    const TAG: &'static str;
}

/// An actor type that other nodes may spawn on this one
/// ([`Node::spawn_remote`](crate::Node::spawn_remote)).
pub trait RemoteSpawn: Actor {
    /// What the spawner sends to build the actor; kept to rebuild it on restart.
    type Args: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    /// The stable name of this actor type on the wire.
    const TAG: &'static str;

    /// Builds the actor from its arguments.
    fn from_args(args: Self::Args) -> Self;
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What decoding an incoming message (or encoding a reply) needs: the
/// node's system and transport (to turn ids into refs and seal refs to its
/// own actors) and the size limit.
#[derive(Clone)]
pub(crate) struct DecodeCx {
    pub(crate) system: System,
    pub(crate) transport: Arc<dyn RemoteDelivery>,
    pub(crate) limit: u64,
}

impl DecodeCx {
    pub(crate) fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, WireError> {
        with_ref_resolver(&self.system, &self.transport, || {
            wire::decode(bytes, self.limit)
        })
    }

    /// Encodes `value` to at most `limit` bytes, sealing the refs inside it.
    pub(crate) fn encode<T: Serialize + ?Sized>(
        &self,
        value: &T,
        limit: u64,
    ) -> Result<Vec<u8>, WireError> {
        with_ref_resolver(&self.system, &self.transport, || wire::encode(value, limit))
    }
}

/// How to put one message type on the wire and read its reply.
#[derive(Clone, Copy)]
pub(crate) struct MessageCodec {
    pub(crate) tag: MessageTag,
    /// Appends the message, at most the limit's bytes of it, to the buffer.
    pub(crate) encode: fn(&AnyMessage, u64, &mut Vec<u8>) -> Result<(), WireError>,
    pub(crate) decode_reply: fn(&DecodeCx, &[u8]) -> Result<AnyReply, WireError>,
}

/// What became of a decoded remote tell.
pub(crate) enum TellOutcome {
    /// It is in the actor's mailbox.
    Queued,
    /// The actor has stopped; the tell is dropped.
    Stopped,
    /// The mailbox is full: the future queues it once there is room, and
    /// says whether it did (`false`: the actor stopped first).
    Full(BoxFuture<bool>),
}

/// Decodes and queues a tell, without waiting.
pub(crate) type DeliverTell = fn(&DecodeCx, AnyActorRef, &[u8]) -> Result<TellOutcome, WireError>;

/// The encoded reply to an ask, once the handler has answered.
pub(crate) type EncodedReply = BoxFuture<Result<Bytes, AskError>>;

/// Resolves once an ask is queued, to the future of its encoded reply.
pub(crate) type QueuedAsk = BoxFuture<Result<EncodedReply, AskError>>;

/// Queues a decoded ask, with the wait-for edges that lead to its asker.
pub(crate) type DeliverAsk =
    fn(&DecodeCx, AnyActorRef, &[u8], Vec<WaitFor>) -> Result<QueuedAsk, WireError>;

/// Makes a `Recipient<M>` for a local actor known to handle `M`.
pub(crate) type MakeRecipient = fn(&AnyActorRef) -> Option<AnyRecipient>;

#[derive(Clone, Copy)]
pub(crate) struct Delivery {
    pub(crate) tell: DeliverTell,
    pub(crate) ask: DeliverAsk,
    pub(crate) recipient: MakeRecipient,
}

/// Spawns a remote-spawnable actor from encoded arguments.
pub(crate) type SpawnFn = fn(&DecodeCx, &[u8]) -> Result<SpawnRequest, WireError>;

/// The remote-capable types a node knows.
///
/// # Examples
///
/// ```
/// use proscenium_net::{Registry, RemoteMessage};
/// use proscenium_runtime::{Actor, Context, Handler, Message};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Ping;
/// impl Message for Ping {
///     type Reply = ();
/// }
/// impl RemoteMessage for Ping {
///     const TAG: &'static str = "docs::Ping";
/// }
///
/// struct Ponger;
/// impl Actor for Ponger {}
/// impl Handler<Ping> for Ponger {
///     async fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
/// }
///
/// let mut registry = Registry::new();
/// registry.handler::<Ponger, Ping>();
/// assert!(registry.check().is_ok());
/// ```
#[derive(Default)]
pub struct Registry {
    // Looked up once or twice per remote message on each side: hashed with
    // foldhash, not SipHash. The keys are fixed when the node starts; a
    // peer chooses only what it looks up.
    codecs: HashMap<TypeId, MessageCodec, Fold>,
    deliveries: HashMap<(TypeId, MessageTag), Delivery, Fold>,
    spawners: HashMap<MessageTag, SpawnFn, Fold>,
    /// Every tag seen, with the type that claimed it, to catch collisions.
    names: HashMap<MessageTag, (&'static str, &'static str), Fold>,
    collisions: Vec<String>,
}

/// A registration that the `#[message(remote)]` and `#[actor(remote(..))]`
/// derives and `#[handler(remote)]` methods submit at link time, so nobody
/// registers remote types by hand.
/// [`Registry::discovered`] runs them all.
#[derive(Debug)]
pub struct RemoteRegistration {
    /// Adds the derived types to a registry.
    pub register: fn(&mut Registry),
}

inventory::collect!(RemoteRegistration);

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry of every remote type the derive macros declared anywhere
    /// in this program (the default of [`Node::builder`](crate::Node::builder)).
    pub fn discovered() -> Self {
        let mut registry = Self::new();
        for registration in inventory::iter::<RemoteRegistration> {
            (registration.register)(&mut registry);
        }
        registry
    }

    /// Lets `M` cross the wire from this node (sending only).
    pub fn message<M: RemoteMessage>(&mut self) -> &mut Self {
        let tag = self.claim(M::TAG, std::any::type_name::<M>());
        self.codecs.insert(
            TypeId::of::<M>(),
            MessageCodec {
                tag,
                encode: encode_any::<M>,
                decode_reply: decode_reply::<M>,
            },
        );
        self
    }

    /// Lets actors of type `A` on this node receive `M` from other nodes
    /// (and lets this node send `M`).
    pub fn handler<A: Handler<M>, M: RemoteMessage>(&mut self) -> &mut Self {
        self.message::<M>();
        let tag = MessageTag::from_name(M::TAG);
        self.deliveries.insert(
            (TypeId::of::<A>(), tag),
            Delivery {
                tell: deliver_tell::<A, M>,
                ask: deliver_ask::<A, M>,
                recipient: recipient_of::<A, M>,
            },
        );
        self
    }

    /// Lets other nodes spawn actors of type `A` on this node.
    pub fn spawnable<A: RemoteSpawn>(&mut self) -> &mut Self {
        let tag = self.claim(A::TAG, std::any::type_name::<A>());
        self.spawners.insert(tag, spawn_from_args::<A>);
        self
    }

    /// Reports tags claimed by two different types.
    ///
    /// # Errors
    ///
    /// A line per collision.
    pub fn check(&self) -> Result<(), Vec<String>> {
        if self.collisions.is_empty() {
            Ok(())
        } else {
            Err(self.collisions.clone())
        }
    }

    fn claim(&mut self, name: &'static str, type_name: &'static str) -> MessageTag {
        let tag = MessageTag::from_name(name);
        match self.names.get(&tag) {
            Some(&(_, owner)) if owner != type_name => self.collisions.push(format!(
                "tag `{name}` ({tag}) is claimed by both `{owner}` and `{type_name}`; give one a different TAG"
            )),
            _ => {
                self.names.insert(tag, (name, type_name));
            }
        }
        tag
    }

    pub(crate) fn codec(&self, message: TypeId) -> Option<MessageCodec> {
        self.codecs.get(&message).copied()
    }

    pub(crate) fn delivery(&self, actor: TypeId, tag: MessageTag) -> Option<Delivery> {
        self.deliveries.get(&(actor, tag)).copied()
    }

    pub(crate) fn spawner(&self, tag: MessageTag) -> Option<SpawnFn> {
        self.spawners.get(&tag).copied()
    }

    /// The Rust type registered under `tag`, for dead letters.
    pub(crate) fn type_name(&self, tag: MessageTag) -> Option<&'static str> {
        self.names.get(&tag).map(|&(_, type_name)| type_name)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.names.values().map(|(name, _)| *name).collect();
        names.sort_unstable();
        f.debug_struct("Registry").field("tags", &names).finish()
    }
}

// ===== monomorphised entry points =====

fn encode_any<M: RemoteMessage>(
    message: &AnyMessage,
    limit: u64,
    dst: &mut Vec<u8>,
) -> Result<(), WireError> {
    match message.downcast_ref::<M>() {
        Some(message) => wire::encode_into(message, limit, dst),
        None => Err(WireError::Unencodable {
            reason: "message of an unexpected type".into(),
        }),
    }
}

fn decode_reply<M: RemoteMessage>(cx: &DecodeCx, bytes: &[u8]) -> Result<AnyReply, WireError> {
    Ok(Box::new(cx.decode::<M::Reply>(bytes)?))
}

/// The actor was found by id, but it is not the type the registry said.
fn wrong_actor<A: Actor>(actor: &AnyActorRef) -> WireError {
    WireError::Malformed {
        reason: format!(
            "actor {} is a `{}`, not a `{}`",
            actor.id(),
            actor.actor_type_name(),
            std::any::type_name::<A>()
        ),
    }
}

fn recipient_of<A: Handler<M>, M: RemoteMessage>(actor: &AnyActorRef) -> Option<AnyRecipient> {
    let recipient: Recipient<M> = actor.downcast::<A>()?.into();
    Some(Box::new(recipient))
}

fn deliver_tell<A: Handler<M>, M: RemoteMessage>(
    cx: &DecodeCx,
    actor: AnyActorRef,
    payload: &[u8],
) -> Result<TellOutcome, WireError> {
    let message: M = cx.decode(payload)?;
    let actor = actor
        .downcast::<A>()
        .ok_or_else(|| wrong_actor::<A>(&actor))?;
    // Queue at once when there is room: only a full mailbox needs a future
    // (and its allocation) to wait in.
    match actor.try_tell(message) {
        Ok(()) => Ok(TellOutcome::Queued),
        Err(TrySendError::Full(message)) => Ok(TellOutcome::Full(Box::pin(async move {
            actor.tell(message).await.is_ok()
        }))),
        Err(_stopped) => Ok(TellOutcome::Stopped),
    }
}

fn deliver_ask<A: Handler<M>, M: RemoteMessage>(
    cx: &DecodeCx,
    actor: AnyActorRef,
    payload: &[u8],
    waits: Vec<WaitFor>,
) -> Result<QueuedAsk, WireError> {
    let message: M = cx.decode(payload)?;
    let actor = actor
        .downcast::<A>()
        .ok_or_else(|| wrong_actor::<A>(&actor))?;
    // `cx.limit` is the frame limit; the reply travels inside a frame.
    let limit = crate::frame::payload_limit(cx.limit as usize);
    let cx = cx.clone();
    Ok(Box::pin(async move {
        let pending = proscenium_runtime::remote::send_ask_waited(&actor, message, waits).await?;
        let reply: EncodedReply = Box::pin(async move {
            let reply = pending.recv().await?;
            cx.encode(&reply, limit)
                .map(Bytes::from)
                .map_err(|e| AskError::Remote(e.to_string()))
        });
        Ok(reply)
    }))
}

fn spawn_from_args<A: RemoteSpawn>(cx: &DecodeCx, bytes: &[u8]) -> Result<SpawnRequest, WireError> {
    let args: A::Args = cx.decode(bytes)?;
    Ok(Box::new(move |ctx| {
        let spec = proscenium_runtime::ChildSpec::new(move || A::from_args(args.clone()));
        ctx.spawn_with(spec).map(|child| child.id())
    }))
}
