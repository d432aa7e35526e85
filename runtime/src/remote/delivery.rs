//! [`RemoteDelivery`], the one trait a network layer implements, and the
//! type-erased values its methods carry: an [`ActorRef`](crate::ActorRef)
//! to an actor on another node hands it every operation, with the message
//! erased to an [`AnyMessage`].

use std::any::{Any, TypeId};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use std::sync::Arc;

use crate::remote::{AnyActorRef, Seal, Watcher};
use crate::{ActorId, AskError, Message, StopReason};

/// A message of any type, on its way to another node.
pub struct AnyMessage {
    type_name: &'static str,
    value: Box<dyn Any + Send>,
}

impl AnyMessage {
    /// Erases `message`.
    pub fn new<M: Message>(message: M) -> Self {
        Self {
            type_name: std::any::type_name::<M>(),
            value: Box::new(message),
        }
    }

    /// The [`TypeId`] of the message inside, to look up its wire codec.
    pub fn type_id(&self) -> TypeId {
        (*self.value).type_id()
    }

    /// The Rust type name of the message inside, for errors and logs.
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// Borrows the message as `M`, if that is its type.
    pub fn downcast_ref<M: 'static>(&self) -> Option<&M> {
        self.value.downcast_ref()
    }

    /// Takes the message out as `M`, or gives `self` back if it is another type.
    ///
    /// # Errors
    ///
    /// Returns `self` unchanged when the message is not an `M`.
    pub fn downcast<M: 'static>(self) -> Result<M, Self> {
        let type_name = self.type_name;
        self.value
            .downcast::<M>()
            .map(|m| *m)
            .map_err(|value| Self { type_name, value })
    }
}

impl fmt::Debug for AnyMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyMessage")
            .field("type_name", &self.type_name)
            .finish_non_exhaustive()
    }
}

/// The reply to a remote ask, decoded and type-erased.
pub type AnyReply = Box<dyn Any + Send>;

/// The future a [`RemoteDelivery::ask`] returns.
pub type RemoteAsk = Pin<Box<dyn Future<Output = Result<AnyReply, AskError>> + Send>>;

/// The future a [`RemoteDelivery::wait_stopped`] returns.
pub type RemoteStopped = Pin<Box<dyn Future<Output = StopReason> + Send>>;

/// Why a message could not be handed to the network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Undeliverable {
    /// There is no live connection to the actor's node.
    NodeDown,
    /// This message type is not registered to cross the wire.
    NotRemote,
    /// The actor has stopped.
    Stopped,
}

/// What one end of a link across nodes tells the node of the other end
/// (see [`Context::link`](crate::Context::link)): sent with
/// [`RemoteDelivery::link_notice`], and handed to the actor at the other
/// end with [`AnyActorRef::link_notice`].
///
/// Every notice carries the link's token, which tells a notice of an old
/// link (one undone, or of an earlier incarnation) from one of the current
/// link: a notice whose token is older than the link it finds is ignored.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::remote::LinkNotice;
/// use proscenium_runtime::StopReason;
///
/// // The linking actor failed: the far end fails too.
/// let notice = LinkNotice::Down { token: 7, reason: StopReason::Failed("gone".into()) };
/// assert_eq!(notice.token(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkNotice {
    /// The sender linked to the receiver (with its ref, so the network
    /// layer checks that it may address the receiver).
    Linked {
        /// The new link's token.
        token: u64,
    },
    /// The sender undid the link.
    Unlinked {
        /// The token of the link undone.
        token: u64,
    },
    /// The incarnation of the sender that held the link ended with
    /// `reason`; a failure ([`StopReason::is_failure`]) fails the
    /// receiver, anything else only ends the link.
    Down {
        /// The token of the link that ended.
        token: u64,
        /// Why the sender's incarnation ended.
        reason: StopReason,
    },
}

impl LinkNotice {
    /// The token of the link the notice is about.
    pub fn token(&self) -> u64 {
        match self {
            Self::Linked { token } | Self::Unlinked { token } | Self::Down { token, .. } => *token,
        }
    }
}

/// A remote tell that was refused; the message comes back.
#[derive(Debug)]
pub struct RemoteSendError {
    /// Why it was refused.
    pub reason: Undeliverable,
    /// The message, untouched.
    pub message: AnyMessage,
}

impl RemoteSendError {
    /// The typed send error, with the message taken back out as an `M`.
    pub(crate) fn into_send_error<M: Message>(self) -> crate::SendError<M> {
        // The runtime hands the transport an `M` and gets the same value back.
        let message = self
            .message
            .downcast::<M>()
            .unwrap_or_else(|_| unreachable!("transport returned another message"));
        match self.reason {
            Undeliverable::NodeDown => crate::SendError::NodeDown(message),
            Undeliverable::NotRemote => crate::SendError::NotRemote(message),
            Undeliverable::Stopped => crate::SendError::Stopped(message),
        }
    }
}

/// Takes a decoded remote reply out as an `R`.
pub(crate) fn downcast_reply<R: 'static>(reply: AnyReply) -> Result<R, AskError> {
    reply.downcast::<R>().map(|r| *r).map_err(|_| {
        AskError::Remote(format!(
            "the reply is not a `{}`; both nodes must run the same message definitions",
            std::any::type_name::<R>()
        ))
    })
}

/// A [`Recipient`](crate::Recipient) of some message type, type-erased; see
/// [`RemoteDelivery::local_recipient`].
pub type AnyRecipient = Box<dyn Any + Send>;

/// Resolves once a remote tell has room to be queued; see
/// [`RemoteDelivery::tell_ready`].
pub type RemoteReady = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Delivers operations on [`ActorRef`](crate::ActorRef)s whose actor lives on
/// another node. Implemented by the network layer, never by actor code.
///
/// Implementations must not block: enqueue and return. They must fail asks
/// to a node that goes away with [`AskError::NodeDown`] promptly, and
/// notify every [`Watcher`] of an actor on such a node with
/// [`StopReason::NodeDown`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot deliver messages to remote actors",
    note = "implement `RemoteDelivery` for the network layer's connection type, or use the `proscenium-net` crate"
)]
pub trait RemoteDelivery: Send + Sync + fmt::Debug + 'static {
    /// Sends a message without waiting for a reply.
    ///
    /// # Errors
    ///
    /// Returns the message if there is no connection to the node or its type
    /// cannot cross the wire.
    fn tell(&self, to: ActorId, message: AnyMessage) -> Result<(), RemoteSendError>;

    /// Backpressure for [`tell`](Self::tell): `None` when a tell to `to`
    /// can be queued now, or a future that resolves once there is room (or
    /// the connection is gone, which the tell then reports). The default has
    /// room always.
    fn tell_ready(&self, to: ActorId) -> Option<RemoteReady> {
        let _ = to;
        None
    }

    /// Sends a message and resolves to the decoded reply, or an error once
    /// `timeout` passes or the node is lost.
    ///
    /// The message is queued before this returns, not when the future is
    /// first polled, so asks made one after another reach the node in that
    /// order even when their replies are awaited elsewhere
    /// ([`ask_all`](crate::ask_all) relies on it).
    fn ask(&self, to: ActorId, message: AnyMessage, timeout: Duration) -> RemoteAsk;

    /// Asks the actor to stop gracefully.
    fn stop(&self, to: ActorId);

    /// Asks the actor to stop at once.
    fn kill(&self, to: ActorId);

    /// Notifies `watcher` exactly once when `target` stops or its node is lost.
    fn watch(&self, target: ActorId, watcher: Watcher);

    /// Forgets the watch `watcher` made on `target`.
    fn unwatch(&self, target: ActorId, watcher: ActorId);

    /// Tells the node of `to`, an actor of another node, that `from`, an
    /// actor of this node, has news of the link between them: it linked,
    /// unlinked, or its incarnation holding the link ended (see
    /// [`LinkNotice`]). The node of `to` hands it to `to` with
    /// [`AnyActorRef::link_notice`], and must send `to` a
    /// [`LinkNotice::Down`] with [`StopReason::NodeDown`] for each link it
    /// holds this way if this node goes away, since `to` does not watch
    /// `from`.
    ///
    /// Fire and forget, like a tell; a notice to a node with no connection
    /// is dropped (the linking side's watch of `to` reports `NodeDown`).
    /// The default drops every notice: a transport without it keeps links
    /// one way, a watch of the remote actor.
    fn link_notice(&self, to: ActorId, from: ActorId, notice: LinkNotice) {
        let _ = (to, from, notice);
    }

    /// Whether the actor is believed alive (its node is connected and has not
    /// reported it stopped).
    fn is_alive(&self, target: ActorId) -> bool;

    /// Resolves once the actor has stopped, with the reason.
    fn wait_stopped(&self, target: ActorId) -> RemoteStopped;

    /// The length of `target`'s mailbox as its node last reported it, or
    /// `None` if it has not (see [`ActorRef::reported_mailbox_len`](crate::ActorRef::reported_mailbox_len)).
    /// The default knows of no reports.
    fn reported_mailbox_len(&self, target: ActorId) -> Option<usize> {
        let _ = target;
        None
    }

    /// A `Recipient<M>` for `actor`, a live actor of this node whose type
    /// is known only at run time, where `message` is `TypeId::of::<M>()`;
    /// `None` if `actor`'s type is not known to handle `M`.
    ///
    /// Only the network layer knows which actor types handle which message
    /// types (those registered to receive them from other nodes), so a
    /// recipient of a local actor read off the wire, one that went to
    /// another node and came back, is made here. The value must be a
    /// `Recipient<M>`. The default knows no types.
    fn local_recipient(&self, actor: &AnyActorRef, message: TypeId) -> Option<AnyRecipient> {
        let _ = (actor, message);
        None
    }

    /// The [`Seal`] a ref to `target` carries when it is written to the
    /// wire: for a ref to another node's actor, the seal it was read with;
    /// for an actor of this node (asked of the transport given to
    /// [`with_ref_resolver`](crate::remote::with_ref_resolver)), the one this node
    /// makes for it. The default, for transports that know no seals, is
    /// [`Seal::NONE`], which no node accepts.
    fn seal(&self, target: ActorId) -> Seal {
        let _ = target;
        Seal::NONE
    }

    /// Whether `seal` is the seal of `target`, an actor of this node, so
    /// that a ref to it read off the wire may reach it. A ref read with a
    /// wrong seal comes out as a ref to an actor that has stopped, exactly
    /// as one to an actor that is gone. The default, for transports that
    /// make no seals, accepts every seal.
    fn opens(&self, target: ActorId, seal: Seal) -> bool {
        let _ = (target, seal);
        true
    }

    /// The transport of a ref to `target`, an actor of another node, read
    /// off the wire with `seal`: it must carry `seal` in everything it
    /// sends to `target` and give it back from [`seal`](Self::seal).
    /// `None` (the default) uses this transport itself.
    fn sealed(&self, target: ActorId, seal: Seal) -> Option<Arc<dyn RemoteDelivery>> {
        let _ = (target, seal);
        None
    }
}
