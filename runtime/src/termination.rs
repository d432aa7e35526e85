//! Why actors stop, and the [`Terminated`] notice watchers receive.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ActorId, Message};

/// Why an actor stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StopReason {
    /// It was stopped on purpose (`stop`, `Context::stop`, parent stop, system
    /// shutdown) after handling what was already queued.
    Normal,
    /// It was killed: queued messages were not handled.
    Killed,
    /// A handler or hook panicked or returned an error; the text says what happened.
    Failed(String),
    /// Its node went down or became unreachable.
    NodeDown,
}

impl StopReason {
    /// Whether the actor stopped because something went wrong.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed(_) | Self::NodeDown)
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
