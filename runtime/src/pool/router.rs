//! The [`Router`] trait every pool routing strategy implements.

use std::fmt;

use crate::{Actor, ActorRef, Message, Recipient};

/// Where a pool sends one message.
pub enum Route<M> {
    /// To the worker at this index.
    One(usize),
    /// To every worker, each getting a copy made by this function.
    All(fn(&M) -> M),
}

impl<M> Route<M> {
    /// The chosen worker's index, or `None` for every worker.
    pub fn index(&self) -> Option<usize> {
        match self {
            Self::One(i) => Some(*i),
            Self::All(_) => None,
        }
    }
}

impl<M> fmt::Debug for Route<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::One(i) => f.debug_tuple("One").field(i).finish(),
            Self::All(_) => f.write_str("All"),
        }
    }
}

/// Chooses the worker(s) of a [`Pool`](crate::Pool) for each message of type `M`.
///
/// A router is a type parameter of the pool, so the compiler checks that
/// it can route each message type sent: [`ConsistentHash`](crate::ConsistentHash)
/// only takes messages with a [`Keyed`](crate::Keyed) key and
/// [`Broadcast`](crate::Broadcast) only takes `Clone` messages.
#[diagnostic::on_unimplemented(
    message = "the pool router `{Self}` cannot route messages of type `{M}`",
    note = "`ConsistentHash` needs `impl Keyed for {M}`; `Broadcast` needs `{M}: Clone`"
)]
pub trait Router<M>: Send + Sync + 'static {
    /// Picks the route for `message`. `workers` is never empty; an index
    /// past its end is wrapped around.
    fn route<W: Routee>(&self, message: &M, workers: &[W]) -> Route<M>;
}

/// Something a [`Router`] routes to: a worker of a local [`Pool`](crate::Pool)
/// (an [`ActorRef`]), a [`Recipient`], or a network layer's view of a worker
/// on another node.
///
/// Routers see only what this trait says about a worker, so the same
/// routers serve pools of local actors and pools spread over a cluster.
pub trait Routee {
    /// How many messages the worker has waiting, as well as is known here:
    /// its mailbox length for a local actor; for one on another node, what
    /// the network layer estimates (`0` when it knows nothing).
    /// [`LeastLoaded`](crate::LeastLoaded) picks the smallest.
    fn load(&self) -> usize;
}

impl<T: Routee + ?Sized> Routee for &T {
    fn load(&self) -> usize {
        (**self).load()
    }
}

impl<T: Routee + ?Sized> Routee for std::sync::Arc<T> {
    fn load(&self) -> usize {
        (**self).load()
    }
}

impl<A: Actor> Routee for ActorRef<A> {
    fn load(&self) -> usize {
        self.reported_mailbox_len().unwrap_or(0)
    }
}

impl<M: Message> Routee for Recipient<M> {
    fn load(&self) -> usize {
        self.reported_mailbox_len().unwrap_or(0)
    }
}
