//! Pools across nodes: [`ClusterPool`] routes over the members of a
//! process group wherever they run, with the runtime's routers.
//!
//! * `handle`: [`ClusterPool`] and its builder: tell, ask, retries;
//! * `member`: the members routed to, followed through group events, and
//!   each one's load (reported depth plus what was sent since);
//! * `local`: [`Node::join_pool_to_group`](crate::Node::join_pool_to_group),
//!   a local `Pool`'s workers in a group as the pool changes;
//! * `error`: [`PoolTellError`] and [`PoolAskError`].

mod error;
mod handle;
mod local;
mod member;

pub use error::{PoolAskError, PoolTellError};
pub use handle::{ClusterPool, ClusterPoolBuilder};
