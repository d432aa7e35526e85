//! The seam between the runtime and a network layer: everything a network
//! layer uses, and actor code never does.
//!
//! The runtime knows nothing of sockets. An [`ActorRef`](crate::ActorRef)
//! to an actor on another node holds an `Arc<dyn RemoteDelivery>` and hands
//! it every operation, with the message type-erased as an [`AnyMessage`].
//! The network layer decides which message types may cross the wire,
//! encodes them, and turns connection loss into
//! [`AskError::NodeDown`](crate::AskError::NodeDown) and
//! [`StopReason::NodeDown`](crate::StopReason::NodeDown). Application code
//! gets remote refs from lookups and messages, and never names this module;
//! `proscenium-net` is its one user.
//!
//! What is here, one line per part:
//!
//! * `delivery`: [`RemoteDelivery`], the one trait a network layer
//!   implements, with the types its methods take and return
//!   ([`AnyMessage`], [`RemoteAsk`], [`RemoteSendError`], ...), and
//!   [`LinkNotice`], what the two ends of a link across nodes tell each
//!   other;
//! * `wire_ref`: how refs inside messages cross the wire
//!   ([`with_ref_resolver`], [`Seal`]);
//! * `any_ref`: [`AnyActorRef`], a local actor found by id, type unknown;
//! * `hooks`: the entry points into the runtime's own types that only a
//!   network layer calls ([`actor_ref`], [`recipient`], [`send_ask_waited`],
//!   [`publish_dead_letter`], [`register_node_name`]);
//! * [`Watcher`] (a watch handed across the seam) and [`WaitFor`] with
//!   [`waits_leading_to`] (wait-for edges that travel with remote asks, so
//!   deadlock detection spans nodes), defined with the signal lane and the
//!   deadlock detector they belong to.
//!
//! # Examples
//!
//! A ref to an actor on another node is a ref whose operations go to a
//! [`RemoteDelivery`]:
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use proscenium_runtime::remote::{self, RemoteDelivery};
//! use proscenium_runtime::{Actor, ActorId, ActorRef, NodeId};
//!
//! struct Worker;
//! impl Actor for Worker {}
//!
//! fn remote_worker(transport: Arc<dyn RemoteDelivery>) -> ActorRef<Worker> {
//!     let id = ActorId::new(NodeId::new(2, 1), 7);
//!     remote::actor_ref(id, transport, Duration::from_secs(5))
//! }
//! # let _ = remote_worker;
//! ```

mod any_ref;
mod delivery;
mod hooks;
mod wire_ref;

pub use crate::deadlock::{waits_leading_to, WaitFor};
pub use crate::signal::Watcher;
pub use any_ref::AnyActorRef;
pub use delivery::{
    AnyMessage, AnyRecipient, AnyReply, LinkNotice, RemoteAsk, RemoteDelivery, RemoteReady,
    RemoteSendError, RemoteStopped, Undeliverable,
};
pub use hooks::{actor_ref, publish_dead_letter, recipient, register_node_name, send_ask_waited};
pub use wire_ref::{with_ref_resolver, Seal};

pub(crate) use delivery::downcast_reply;
