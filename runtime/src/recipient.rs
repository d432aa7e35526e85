//! [`Recipient`]: an address erased down to one message type.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::actor_ref::RemoteTarget;
use crate::deadlock;
use crate::gather::{Batch, Gatherable};
use crate::remote::RemoteDelivery;
use crate::{ActorId, ActorRef, AskError, Handler, Message, SendError, TrySendError};

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The address of some actor that handles `M`, whatever its type.
///
/// Use it where the sender must not depend on the receiver's type: a
/// subscriber list, a reply-to address, a plug-in point. It is made from any
/// `ActorRef<A>` where `A: Handler<M>`. Each `tell`/`ask` through it boxes
/// its future once, on top of what the same call on an `ActorRef` costs.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Context, Handler, Message, Recipient, System};
///
/// #[derive(Clone)]
/// struct Tick;
/// impl Message for Tick {
///     type Reply = u32;
/// }
///
/// struct Clock(u32);
/// impl Actor for Clock {}
/// impl Handler<Tick> for Clock {
///     async fn handle(&mut self, _: Tick, _: &mut Context<Self>) -> u32 {
///         self.0 += 1;
///         self.0
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let clock = system.spawn(Clock(0))?;
/// let subscribers: Vec<Recipient<Tick>> = vec![clock.clone().into(), clock.recipient()];
/// for s in &subscribers {
///     s.tell(Tick).await?;
/// }
/// assert_eq!(clock.ask(Tick).await?, 3);
/// # Ok(())
/// # }
/// ```
pub struct Recipient<M: Message> {
    target: Arc<dyn MessageTarget<M>>,
}

pub(crate) trait MessageTarget<M: Message>: Send + Sync + 'static {
    fn id(&self) -> ActorId;
    fn is_alive(&self) -> bool;
    fn reported_mailbox_len(&self) -> Option<usize>;
    fn try_tell(&self, message: M) -> Result<(), TrySendError<M>>;
    fn tell(&self, message: M) -> BoxFuture<'_, Result<(), SendError<M>>>;
    fn ask(
        &self,
        message: M,
        timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<M::Reply, AskError>>;
    /// The deadline of a plain `ask`.
    fn default_ask_timeout(&self) -> Duration;
    /// Queues `message` as entry `index` of an [`ask_all`](crate::ask_all) batch.
    fn gather_into<'a>(
        &'a self,
        batch: &'a mut Batch<M::Reply>,
        index: usize,
        message: M,
    ) -> BoxFuture<'a, ()>;
    /// The actor's node and transport, if it lives on another node: a
    /// ref written to the wire carries its transport's seal for it.
    fn remote(&self) -> Option<&RemoteTarget>;
}

impl<A: Handler<M>, M: Message> MessageTarget<M> for ActorRef<A> {
    fn id(&self) -> ActorId {
        ActorRef::id(self)
    }

    fn is_alive(&self) -> bool {
        ActorRef::is_alive(self)
    }

    fn reported_mailbox_len(&self) -> Option<usize> {
        ActorRef::reported_mailbox_len(self)
    }

    fn try_tell(&self, message: M) -> Result<(), TrySendError<M>> {
        ActorRef::try_tell(self, message)
    }

    fn tell(&self, message: M) -> BoxFuture<'_, Result<(), SendError<M>>> {
        Box::pin(ActorRef::tell(self, message))
    }

    fn ask(
        &self,
        message: M,
        timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<M::Reply, AskError>> {
        match timeout {
            Some(timeout) => Box::pin(ActorRef::ask_timeout(self, message, timeout)),
            None => Box::pin(ActorRef::ask(self, message)),
        }
    }

    fn default_ask_timeout(&self) -> Duration {
        ActorRef::default_ask_timeout(self)
    }

    fn gather_into<'a>(
        &'a self,
        batch: &'a mut Batch<M::Reply>,
        index: usize,
        message: M,
    ) -> BoxFuture<'a, ()> {
        Box::pin(Gatherable::gather_into(self, batch, index, message))
    }

    fn remote(&self) -> Option<&RemoteTarget> {
        match self.destination() {
            crate::actor_ref::Destination::Remote(remote) => Some(remote),
            crate::actor_ref::Destination::Local(_) => None,
        }
    }
}

/// A recipient on another node (or one read off the wire), reached by id
/// and message type through the transport, exactly as a remote `ActorRef`.
impl<M: Message> MessageTarget<M> for RemoteTarget {
    fn id(&self) -> ActorId {
        self.id
    }

    fn is_alive(&self) -> bool {
        self.transport.is_alive(self.id)
    }

    fn reported_mailbox_len(&self) -> Option<usize> {
        self.transport.reported_mailbox_len(self.id)
    }

    fn try_tell(&self, message: M) -> Result<(), TrySendError<M>> {
        RemoteTarget::try_tell(self, message)
    }

    fn tell(&self, message: M) -> BoxFuture<'_, Result<(), SendError<M>>> {
        Box::pin(RemoteTarget::tell(self, message))
    }

    fn ask(
        &self,
        message: M,
        timeout: Option<Duration>,
    ) -> BoxFuture<'_, Result<M::Reply, AskError>> {
        // As `ActorRef::ask_returning`: the wait is recorded, and a cycle
        // through an actor its transport knows is gone is no deadlock.
        let waiting = match deadlock::begin_wait(self.id) {
            Ok(waiting) => waiting,
            Err(_) if !self.transport.is_alive(self.id) => None,
            Err(cycle) => return Box::pin(std::future::ready(Err(AskError::Deadlock { cycle }))),
        };
        let reply = RemoteTarget::ask(self, message, timeout.unwrap_or(self.ask_timeout));
        Box::pin(async move {
            let _waiting = waiting;
            reply.await
        })
    }

    fn default_ask_timeout(&self) -> Duration {
        self.ask_timeout
    }

    fn gather_into<'a>(
        &'a self,
        batch: &'a mut Batch<M::Reply>,
        index: usize,
        message: M,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if batch.begin_wait(index, self.id, || !self.transport.is_alive(self.id)) {
                batch.send_remote(index, self, message);
            }
        })
    }

    fn remote(&self) -> Option<&RemoteTarget> {
        Some(self)
    }
}

impl<M: Message> Recipient<M> {
    /// Where this recipient's messages go.
    pub(crate) fn target(&self) -> &dyn MessageTarget<M> {
        &*self.target
    }

    /// A recipient for actor `id` on another node, reached through
    /// `transport`; see [`remote::recipient`](crate::remote::recipient).
    pub(crate) fn remote(
        id: ActorId,
        transport: Arc<dyn RemoteDelivery>,
        ask_timeout: Duration,
    ) -> Self {
        Self {
            target: Arc::new(RemoteTarget {
                id,
                transport,
                ask_timeout,
            }),
        }
    }

    /// The id of the actor behind this recipient.
    pub fn id(&self) -> ActorId {
        self.target.id()
    }

    /// Whether the actor has not stopped yet.
    pub fn is_alive(&self) -> bool {
        self.target.is_alive()
    }

    /// As [`ActorRef::reported_mailbox_len`]: the mailbox length now for a
    /// local actor, the one its node last reported for a remote one.
    pub fn reported_mailbox_len(&self) -> Option<usize> {
        self.target.reported_mailbox_len()
    }

    /// As [`ActorRef::tell`].
    ///
    /// # Errors
    ///
    /// Hands the message back if it cannot be delivered.
    pub async fn tell(&self, message: M) -> Result<(), SendError<M>> {
        self.target.tell(message).await
    }

    /// As [`ActorRef::try_tell`].
    ///
    /// # Errors
    ///
    /// Hands the message back if the mailbox is full or it cannot be delivered.
    pub fn try_tell(&self, message: M) -> Result<(), TrySendError<M>> {
        self.target.try_tell(message)
    }

    /// As [`ActorRef::ask`].
    ///
    /// # Errors
    ///
    /// As [`ActorRef::ask`].
    pub async fn ask(&self, message: M) -> Result<M::Reply, AskError> {
        self.target.ask(message, None).await
    }

    /// As [`ActorRef::ask_timeout`].
    ///
    /// # Errors
    ///
    /// As [`ActorRef::ask_timeout`].
    pub async fn ask_timeout(&self, message: M, timeout: Duration) -> Result<M::Reply, AskError> {
        self.target.ask(message, Some(timeout)).await
    }

    /// As [`ActorRef::blocking_tell`]: blocks the thread until the message
    /// is queued.
    ///
    /// # Errors
    ///
    /// Hands the message back if it cannot be delivered.
    ///
    /// # Panics
    ///
    /// Where a tokio runtime is current, as [`ActorRef::blocking_tell`].
    pub fn blocking_tell(&self, message: M) -> Result<(), SendError<M>> {
        crate::blocking::block_on("Recipient::blocking_tell", self.tell(message))
    }

    /// As [`ActorRef::blocking_ask`]: blocks the thread until the reply
    /// comes, for at most the default ask timeout.
    ///
    /// # Errors
    ///
    /// As [`ActorRef::ask`].
    ///
    /// # Panics
    ///
    /// Where a tokio runtime is current, as [`ActorRef::blocking_tell`].
    pub fn blocking_ask(&self, message: M) -> Result<M::Reply, AskError> {
        crate::blocking::block_on("Recipient::blocking_ask", self.ask(message))
    }

    /// As [`ActorRef::blocking_ask_timeout`]: blocks the thread until the
    /// reply comes, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`ActorRef::ask_timeout`].
    ///
    /// # Panics
    ///
    /// Where a tokio runtime is current, as [`ActorRef::blocking_tell`].
    pub fn blocking_ask_timeout(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError> {
        crate::blocking::block_on(
            "Recipient::blocking_ask_timeout",
            self.ask_timeout(message, timeout),
        )
    }
}

impl<A: crate::Actor> ActorRef<A> {
    /// This ref, erased down to the message type `M`.
    pub fn recipient<M: Message>(&self) -> Recipient<M>
    where
        A: Handler<M>,
    {
        Recipient::from(self.clone())
    }
}

impl<A: Handler<M>, M: Message> From<ActorRef<A>> for Recipient<M> {
    fn from(actor: ActorRef<A>) -> Self {
        Self {
            target: Arc::new(actor),
        }
    }
}

impl<M: Message> Clone for Recipient<M> {
    fn clone(&self) -> Self {
        Self {
            target: Arc::clone(&self.target),
        }
    }
}

impl<M: Message> fmt::Debug for Recipient<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recipient")
            .field("id", &self.id())
            .field("message", &std::any::type_name::<M>())
            .finish()
    }
}

impl<M: Message> PartialEq for Recipient<M> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<M: Message> Eq for Recipient<M> {}

impl<M: Message> Hash for Recipient<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}
