//! Mailboxes: the queue in front of every actor.
//!
//! Each actor has two lanes:
//!
//! * the **message lane**, which carries user messages in the order each
//!   sender sent them. It is bounded by default ([`Mailbox::DEFAULT_CAPACITY`]),
//!   so a fast sender waits in [`tell`](crate::ActorRef::tell) instead of
//!   growing memory without bound; [`Mailbox::Unbounded`] is there on request;
//! * the **signal lane**, unbounded and always read first, which carries
//!   stop, kill, watch and termination notices. A flooded message lane never
//!   delays a signal.
//!
//! # Cost of a message
//!
//! A `tell` takes no lock and makes one allocation: the boxed envelope that
//! carries the message (and, for an `ask`, its reply channel). The envelope
//! is itself the node of a lock-free intrusive queue (`queue.rs`), so
//! queueing it allocates nothing more, and an idle actor's lane owns no
//! buffer. Room is reserved (one compare-and-swap on a counter) before the
//! envelope is built, so a full mailbox costs no allocation. On the actor's
//! side, handling a message boxes the handler's future once, because each
//! message type has its own future type.

mod lane;
#[cfg(all(test, loom))]
mod loom_tests;
mod queue;
mod sync;

pub(crate) use lane::{MessageLane, NoRoom};
pub(crate) use queue::Link;

/// The kind and size of an actor's message lane.
///
/// Returned by [`Actor::mailbox`](crate::Actor::mailbox).
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Mailbox};
///
/// struct Logger;
/// impl Actor for Logger {
///     fn mailbox() -> Mailbox {
///         Mailbox::Unbounded
///     }
/// }
///
/// # let _ = Logger;
/// assert_eq!(Logger::mailbox(), Mailbox::Unbounded);
/// assert_eq!(Mailbox::default(), Mailbox::Bounded(Mailbox::DEFAULT_CAPACITY));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    /// At most this many queued messages; senders wait (or `try_tell` fails) when full.
    /// A capacity of zero is raised to one.
    Bounded(usize),
    /// No limit: senders never wait. Use only where the producer is known to be slower.
    Unbounded,
}

impl Mailbox {
    /// Capacity of the default bounded mailbox.
    pub const DEFAULT_CAPACITY: usize = 1024;
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::Bounded(Self::DEFAULT_CAPACITY)
    }
}
