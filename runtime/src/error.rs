//! Errors of the runtime: one type per operation, each saying what to do.
//!
//! A failed send hands the undelivered message back (`into_inner`), as
//! `tokio::sync::mpsc` does, so nothing is lost silently.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{ActorId, StopReason};

/// A [`tell`](crate::ActorRef::tell) that could not be delivered; holds the message.
#[derive(PartialEq, Eq, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError<M> {
    /// The actor has stopped or is stopping and accepts no more messages.
    #[error("the actor has stopped; spawn a new one or look the name up again")]
    Stopped(M),
    /// The actor lives on a node this one has no connection to.
    #[error("the actor's node is unreachable; wait for it to come back or pick another node")]
    NodeDown(M),
    /// The actor lives on another node and this message type cannot cross the wire.
    #[error("this message type cannot be sent to another node; mark it `#[message(remote)]`")]
    NotRemote(M),
}

impl<M> SendError<M> {
    /// Takes back the message that was not delivered.
    pub fn into_inner(self) -> M {
        match self {
            Self::Stopped(m) | Self::NodeDown(m) | Self::NotRemote(m) => m,
        }
    }
}

impl<M> fmt::Debug for SendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Stopped(_) => "Stopped",
            Self::NodeDown(_) => "NodeDown",
            Self::NotRemote(_) => "NotRemote",
        };
        write!(f, "SendError::{kind}(..)")
    }
}

/// A [`try_tell`](crate::ActorRef::try_tell) that could not be delivered now; holds the message.
#[derive(PartialEq, Eq, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum TrySendError<M> {
    /// The bounded mailbox is full; retry later or use `tell`, which waits for room.
    #[error("the mailbox is full; retry later or use `tell`, which waits for room")]
    Full(M),
    /// The message could not be delivered at all; see [`SendError`].
    #[error(transparent)]
    Send(SendError<M>),
}

impl<M> TrySendError<M> {
    /// Takes back the message that was not delivered.
    pub fn into_inner(self) -> M {
        match self {
            Self::Full(m) => m,
            Self::Send(e) => e.into_inner(),
        }
    }

    /// Whether the mailbox was only full, so a later attempt may succeed.
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }
}

impl<M> From<SendError<M>> for TrySendError<M> {
    fn from(e: SendError<M>) -> Self {
        Self::Send(e)
    }
}

impl<M> fmt::Debug for TrySendError<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("TrySendError::Full(..)"),
            Self::Send(e) => write!(f, "TrySendError::Send({e:?})"),
        }
    }
}

/// An [`ask`](crate::ActorRef::ask) that produced no reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum AskError {
    /// The actor was not alive, or stopped before it replied.
    #[error("the actor stopped before replying; spawn a new one or look the name up again")]
    Stopped,
    /// No reply came within the deadline; the message may still be handled later.
    #[error("no reply within {0:?}; use `ask_timeout` with a longer deadline if the work is slow")]
    Timeout(Duration),
    /// The handler panicked while handling this message, which failed the
    /// actor. (An `Err` the handler returns is its reply, and one that calls
    /// [`Context::fail`](crate::Context::fail) still sends its reply.)
    #[error("the actor failed while handling the message: {reason}")]
    Failed {
        /// What the failure said, e.g. the panic message.
        reason: String,
    },
    /// Waiting would close a cycle of actors that all wait on each other.
    #[error("deadlock: this ask would close the wait cycle {}; restructure so one side tells instead of asking", DisplayCycle(cycle))]
    Deadlock {
        /// The actors in the cycle, starting with the asker.
        cycle: Vec<ActorId>,
    },
    /// The actor's node went down or could not be reached.
    #[error("the actor's node is down; the ask was not answered")]
    NodeDown,
    /// The actor is on another node and this message type cannot cross the wire.
    #[error(
        "message type `{message}` cannot be sent to another node; mark it `#[message(remote)]`"
    )]
    NotRemote {
        /// The Rust type name of the message.
        message: String,
    },
    /// The remote side could not process the request (e.g. it does not know the message type).
    #[error("the remote node rejected the ask: {0}")]
    Remote(String),
    /// The handler deferred its reply
    /// ([`Context::defer_reply`](crate::Context::defer_reply)) and the
    /// [`DeferredReply`](crate::DeferredReply) was dropped without an
    /// answer: by the task it was given to, or with the actor that kept it
    /// when that actor stopped or was restarted with fresh state.
    #[error("the actor deferred its reply and dropped it unanswered; make sure every path that takes `defer_reply()` ends in `send`")]
    Unanswered,
}

struct DisplayCycle<'a>(&'a [ActorId]);

impl fmt::Display for DisplayCycle<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for id in self.0 {
            write!(f, "{id} -> ")?;
        }
        match self.0.first() {
            Some(first) => write!(f, "{first}"),
            None => f.write_str("(empty)"),
        }
    }
}

/// An actor could not be spawned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// Another live actor is already registered under this name.
    #[error("the name `{0}` is taken by a live actor; pick another or stop that actor first")]
    NameTaken(String),
    /// The system is shutting down and accepts no new actors.
    #[error("the actor system is shut down; create a new `System` to spawn actors")]
    ShutDown,
    /// `spawn_default_named` was called for an actor type without a default name.
    #[error("`{0}` has no default name; add `#[actor(name = \"...\")]` or call `spawn_named`")]
    NoDefaultName(String),
    /// `spawn_on` named a core the system does not have.
    #[error(
        "there is no core {core}: the system has {cores} per-core threads (0 under \
         `Placement::Shared`); pick a core below that, or call `spawn` to let the system place it"
    )]
    NoSuchCore {
        /// The core asked for.
        core: usize,
        /// How many the system has.
        cores: usize,
    },
}

/// A [`System`](crate::System) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Shared placement needs a tokio runtime, and none was given or current.
    #[error(
        "no tokio runtime to run the actors on: build the system inside one, give one with \
         `SystemBuilder::runtime`, or choose `Placement::PerCore`, which brings its own"
    )]
    NoRuntime,
    /// A per-core thread's tokio runtime could not be built.
    #[error("could not build a per-core tokio runtime ({0}); check the process's limits on files and memory")]
    Runtime(#[source] std::io::Error),
    /// A per-core thread could not be started.
    #[error("could not start a per-core thread ({0}); ask for fewer threads or raise the process's thread limit")]
    Thread(#[source] std::io::Error),
}

/// An actor that [`wait_started`](crate::ActorRef::wait_started) found
/// not up: its first start did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// Its start failed: `on_start` panicked or returned an error, or, for
    /// a [`Supervisor`](crate::Supervisor), a child did not start (the
    /// reason names it). Its supervisor, if any, decides what comes next.
    #[error("the actor failed to start: {reason}; the reason names the hook or child to fix")]
    Failed {
        /// What went wrong, as in [`StopReason::Failed`].
        reason: String,
    },
    /// It stopped (was killed, or its node went down) before its start completed.
    #[error("the actor stopped before it started ({0})")]
    Stopped(StopReason),
}

impl From<StopReason> for StartError {
    fn from(reason: StopReason) -> Self {
        match reason {
            StopReason::Failed(failure) => Self::Failed {
                reason: failure.message().to_owned(),
            },
            other => Self::Stopped(other),
        }
    }
}

/// A name could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another live actor is already registered under this name.
    #[error("the name `{0}` is taken by a live actor; pick another or stop that actor first")]
    NameTaken(String),
    /// The actor to register has already stopped.
    #[error("the actor has stopped and cannot be registered")]
    Stopped,
    /// Only actors of this system can be registered in it.
    #[error("the actor belongs to another system or node; register it there")]
    NotLocal,
}

/// Why a lifecycle hook failed; returned from [`Actor::on_start`](crate::Actor::on_start).
///
/// Any error type converts into it with `?`, and so do `&str` and `String`.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::ActorError;
///
/// fn open() -> Result<(), ActorError> {
///     std::fs::metadata("/definitely/not/here")?;
///     Ok(())
/// }
/// assert!(open().is_err());
/// let e = ActorError::from("port already bound");
/// assert_eq!(e.to_string(), "port already bound");
/// ```
pub struct ActorError(Box<dyn std::error::Error + Send + Sync>);

impl ActorError {
    /// The underlying error.
    pub fn source(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }

    /// The underlying error, to keep in a [`Failure`](crate::Failure).
    pub(crate) fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        self.0
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<E> for ActorError {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl fmt::Debug for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for ActorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
