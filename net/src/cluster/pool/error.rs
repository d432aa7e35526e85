//! The errors of a [`ClusterPool`](super::ClusterPool): one per operation,
//! the message handed back where it was never sent.

use std::fmt;

use proscenium_runtime::{AskError, SendError};

/// Why a [`ClusterPool::tell`](super::ClusterPool::tell) did not deliver;
/// the message comes back.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum PoolTellError<M> {
    /// No member of the group is reachable from this node now.
    #[error("the pool's group `{group}` has no reachable member; start workers and join them to it, or wait for a `GroupEvent::Joined`")]
    NoMembers {
        /// The group the pool routes over.
        group: String,
        /// The message, never sent.
        message: M,
    },
    /// Every member tried refused it (its node went away, it stopped, or
    /// the type cannot cross the wire); the last refusal.
    #[error(transparent)]
    Send(SendError<M>),
}

impl<M> PoolTellError<M> {
    /// Takes back the message that was not delivered.
    pub fn into_inner(self) -> M {
        match self {
            Self::NoMembers { message, .. } => message,
            Self::Send(error) => error.into_inner(),
        }
    }
}

impl<M> fmt::Debug for PoolTellError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoMembers { group, .. } => f
                .debug_struct("NoMembers")
                .field("group", group)
                .finish_non_exhaustive(),
            Self::Send(error) => f.debug_tuple("Send").field(error).finish(),
        }
    }
}

/// Why a [`ClusterPool::ask`](super::ClusterPool::ask) got no reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoolAskError {
    /// No member of the group is reachable from this node now; the
    /// message was not sent.
    #[error("the pool's group `{group}` has no reachable member; start workers and join them to it, or wait for a `GroupEvent::Joined`")]
    NoMembers {
        /// The group the pool routes over.
        group: String,
    },
    /// The member asked did not answer: [`AskError::NodeDown`] when its
    /// node died with the ask in flight (the work may or may not have been
    /// done; see [`ClusterPoolBuilder::retry_asks`](super::ClusterPoolBuilder::retry_asks)),
    /// or any other ask error.
    #[error(transparent)]
    Ask(#[from] AskError),
}
