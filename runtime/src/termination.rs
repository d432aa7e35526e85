//! Why actors stop, and the [`Terminated`] notice watchers receive.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ActorId, Failure, Message};

/// Why an actor stopped.
///
/// Equality compares a [`Failure`] by its message only (see its docs).
/// Serialized (in `Terminated` frames between nodes) a failure is its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// It was stopped on purpose (`stop`, `Context::stop`, parent stop, system
    /// shutdown) after handling what was already queued.
    Normal,
    /// It was killed: queued messages were not handled.
    Killed,
    /// A handler or hook panicked, a hook returned an error, or the actor
    /// called [`Context::fail`](crate::Context::fail). The [`Failure`]
    /// says what happened and, when the failure was made in this process
    /// from an error, keeps that error for
    /// [`downcast_ref`](Failure::downcast_ref); from another node only its
    /// text arrives.
    Failed(Failure),
    /// Its node went down or became unreachable.
    NodeDown,
}

impl StopReason {
    /// Whether the actor stopped because something went wrong.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::NodeDown)
    }

    /// The failure, if the actor failed (`NodeDown` has none: nothing is
    /// known of why the node went).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed(failure) => Some(failure),
            _ => None,
        }
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Normal => f.write_str("stopped normally"),
            Self::Killed => f.write_str("killed"),
            Self::Failed(reason) => write!(f, "failed: {reason}"),
            Self::NodeDown => f.write_str("node down"),
        }
    }
}

/// Sent to a watcher exactly once when the actor it watches stops.
///
/// See [`Context::watch`](crate::Context::watch). A watching actor implements
/// `Handler<Terminated>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Terminated {
    /// The actor that stopped.
    pub id: ActorId,
    /// Why it stopped.
    pub reason: StopReason,
}

impl Message for Terminated {
    type Reply = ();
}
