//! Supervision: who restarts a failed actor, how, and how often.
//!
//! Every actor supervises the children it spawns. When a child fails (a
//! handler or hook panics, `on_start`/`on_restart` returns an error, or a
//! handler calls [`Context::fail`](crate::Context::fail)) it
//! stops handling messages and reports to its parent, which decides by its
//! [`SupervisorStrategy`]:
//!
//! * restart it (and, for one-for-all or rest-for-one, some siblings) in
//!   place: same [`ActorId`](crate::ActorId), same mailbox, so every ref
//!   stays valid and every queued message is still handled. The message
//!   whose handling failed is dropped; if it was an ask, the asker already
//!   got [`AskError::Failed`](crate::AskError::Failed);
//! * stop it, for a [`RestartPolicy::Temporary`] child;
//! * fail itself, when restarts exceed the intensity: its own parent then
//!   decides (escalation). A top-level actor that fails just stops.
//!
//! A restart builds fresh state with the child's factory when it was
//! spawned from a [`ChildSpec`]; a child spawned from a value keeps its state
//! and is told through [`Actor::on_restart`](crate::Actor::on_restart).
//! Either way its own children are stopped first, its timers cancelled, and
//! `on_restart` (by default: `on_start`) runs before the next message.
//!
//! A [`Supervisor`] also keeps Erlang/OTP's order: it starts its children
//! one at a time in list order (each `on_start` completes before the next
//! child is spawned), is up only once they all are, and stops them one at
//! a time, the last started first, each within its [`Shutdown`] timeout. A one-for-all or rest-for-one restart
//! takes the affected siblings down the same way (each waited for, its
//! `on_stop` run), then starts them again in start order, each `on_restart`
//! completing before the next begins. Children an actor spawns itself
//! with [`Context::spawn`](crate::Context::spawn) start concurrently.

mod child;
mod child_spec;
mod restart;
mod shutdown;
mod start;
mod stop;
mod strategy;
mod supervisor;
mod wait;

pub(crate) use child::{Child, SpawnSpec};
pub use child_spec::ChildSpec;
pub(crate) use child_spec::Factory;
pub(crate) use shutdown::brutal_kill;
pub use shutdown::Shutdown;
pub(crate) use start::PendingChild;
pub(crate) use strategy::Supervision;
pub use strategy::{Backoff, RestartPolicy, RestartScope, SupervisorStrategy};
pub use supervisor::{Supervisor, WhichChildren};
