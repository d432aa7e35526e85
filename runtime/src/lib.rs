//! The actor runtime behind [Proscenium](https://docs.rs/proscenium): actors,
//! mailboxes, refs, watches, timers and the system that runs them.
//!
//! Most users depend on the `proscenium` facade crate, which re-exports this
//! one. A tour of the modules, one line each:
//!
//! * `actor`: the [`Actor`], [`Message`] and [`Handler`] traits users implement;
//! * `actor_ref`: [`ActorRef`], the typed address with `tell`, `ask`, `stop`, `kill`;
//! * `blocking`: how `blocking_tell` and `blocking_ask` wait, for code that is not async;
//! * `pool`: [`Pool`] of supervised workers, resizable, with pluggable [`Router`]s;
//! * `recipient`: [`Recipient`], an address erased down to one message type;
//! * `id`: [`ActorId`] and [`NodeId`], unique across nodes and restarts;
//! * `mailbox`: the two-lane [`Mailbox`] (messages, and signals that overtake them);
//! * `envelope`: a message plus its reply channel, erased to the actor type;
//! * `envelope_memory`: where envelopes are allocated: mimalloc, for bursts of messages;
//! * `context`: [`Context`], an actor's handle on itself: children, watches, timers;
//! * `lifecycle`: the task that runs one actor from `on_start` to cleanup;
//! * `link`: links between actors that fail together, and [`LinkError`];
//! * `supervision`: [`Supervisor`], [`ChildSpec`], strategies, restart policies, backoff;
//! * `termination`: [`StopReason`] and the [`Terminated`] notice;
//! * `failure`: [`Failure`], why an actor failed, with the typed error it failed with;
//! * `timer`: [`TimerHandle`] for `send_after` / `send_interval`;
//! * `stream`: [`StreamHandle`], a `Stream` whose items an actor receives as messages;
//! * `system`: [`System`], spawning, the name registry, shutdown;
//! * `placement`: [`Placement`], one shared tokio runtime or per-core threads of the system's own;
//! * `deadlock`: the wait-for graph that fails an ask closing a cycle;
//! * `deferred`: [`DeferredReply`], an ask answered later than its handler returns;
//! * `dead_letter`: [`DeadLetter`]s, messages accepted but never handled;
//! * `metrics`: counters, gauges and histograms through the `metrics` crate
//!   (feature `metrics`, turned on with `SystemBuilder::metrics`);
//! * [`remote`]: the seam a network layer plugs into ([`remote::RemoteDelivery`],
//!   refs on the wire, the hooks only a network layer calls); the one public module;
//! * `error`: every error type, each naming what to do about it.
//!
//! # The hot path
//!
//! A `tell` to a local actor takes no lock and makes one allocation (the
//! envelope, from mimalloc: see `envelope_memory`); see the `mailbox`
//! module docs for the details.
#![doc(test(attr(deny(warnings))))]

mod actor;
mod actor_ref;
mod actor_task;
mod blocking;
mod cell;
mod context;
mod dead_letter;
mod deadlock;
mod deferred;
mod envelope;
mod envelope_memory;
mod error;
mod failure;
mod gather;
mod id;
mod introspection;
mod lifecycle;
mod link;
mod mailbox;
#[cfg(feature = "metrics")]
mod metrics;
mod panic;
mod placement;
mod pool;
mod recipient;
pub mod remote;
mod signal;
mod stream;
mod supervision;
mod system;
mod termination;
mod timer;

pub use actor::{Actor, Handler, Message};
pub use actor_ref::{ActorRef, PendingReply};
pub use context::Context;
pub use dead_letter::{DeadLetter, DeadLetters};
pub use deferred::DeferredReply;
pub use error::{
    ActorError, AskError, BuildError, RegisterError, SendError, SpawnError, StartError,
    TrySendError,
};
pub use failure::Failure;
pub use gather::{ask_all, ask_all_timeout, AskTarget};
pub use id::{ActorId, NodeId, ParseActorIdError};
pub use introspection::{ActorKind, ActorSnapshot, ActorState, ActorTree, SystemSnapshot};
pub use link::LinkError;
pub use mailbox::Mailbox;
pub use placement::Placement;
pub use pool::{
    Broadcast, ConsistentHash, Keyed, LeastLoaded, Pool, PoolBuilder, RoundRobin, Route, Routee,
    Router,
};
pub use recipient::Recipient;
pub use stream::{StreamEnd, StreamHandle};
pub use supervision::{
    Backoff, ChildSpec, RestartPolicy, RestartScope, Shutdown, Supervisor, SupervisorStrategy,
    WhichChildren,
};
pub use system::{System, SystemBuilder};
pub use termination::{StopReason, Terminated};
pub use timer::TimerHandle;
