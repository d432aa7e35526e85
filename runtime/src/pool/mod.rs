//! Worker pools: N supervised actors of one type behind one handle.
//!
//! A [`Pool`] routes each message to one worker (or all) with a
//! [`Router`]; the routers share one shape, one file each:
//!
//! * [`RoundRobin`]: each worker in turn (the default);
//! * [`LeastLoaded`]: the worker with the shortest mailbox;
//! * [`ConsistentHash`]: by a key the message provides ([`Keyed`]), so
//!   equal keys meet the same worker;
//! * [`Broadcast`]: every worker; an ask takes the first reply.
//!
//! Routing happens in the sender's task, so a pool adds no hop: a message
//! goes straight into the chosen worker's mailbox.
//!
//! Routers see workers only as [`Routee`]s (a load to compare), so the
//! same routers also serve pools whose workers are [`Recipient`](crate::Recipient)s
//! on other nodes (the network layer's `ClusterPool`).

mod broadcast;
mod consistent_hash;
mod handle;
mod least_loaded;
mod manager;
mod round_robin;
mod router;

pub use broadcast::Broadcast;
pub use consistent_hash::{ConsistentHash, Keyed};
pub use handle::{Pool, PoolBuilder};
pub use least_loaded::LeastLoaded;
pub use round_robin::RoundRobin;
pub use router::{Route, Routee, Router};
