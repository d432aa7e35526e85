//! [`RemoteStop`]: whether peers may stop and kill this node's actors
//! through the refs they were given, and the actors that opted in.
//!
//! Refs are capabilities (see `seal`): a peer can only address actors
//! whose refs it was given. What it may do with such a ref is, by default,
//! all that local code may do: tell, ask, watch, stop and kill. A node that
//! hands refs to peers it trusts less (a service whose callers send refs
//! to reply to, say) can keep stop and kill for itself: with
//! [`RemoteStop::OptIn`], a peer's stop or kill reaches only actors that
//! opted in ([`Node::allow_remote_stop`](crate::Node::allow_remote_stop))
//! and actors that peers spawned here.

use std::sync::Arc;

use dashmap::DashSet;
use proscenium_runtime::remote::{AnyActorRef, Watcher};
use proscenium_runtime::{Actor, ActorId, ActorRef};

use crate::Node;

/// Whether peers may stop and kill this node's actors; see
/// [`NodeBuilder::remote_stop`](crate::NodeBuilder::remote_stop).
///
/// Either way a peer can only reach actors whose refs it was given, and
/// local code may always stop and kill its actors.
///
/// # Examples
///
/// ```
/// use proscenium_net::{Node, RemoteStop};
///
/// let builder = Node::builder("billing").remote_stop(RemoteStop::OptIn);
/// # let _ = builder;
/// assert_eq!(RemoteStop::default(), RemoteStop::Allowed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RemoteStop {
    /// A peer that holds an actor's ref may stop or kill it, as local code
    /// that holds it may (the default): a remote ref works like a local one.
    #[default]
    Allowed,
    /// A peer's stop or kill reaches only the actors that opted in with
    /// [`Node::allow_remote_stop`](crate::Node::allow_remote_stop), and
    /// the actors peers spawned here
    /// ([`Node::spawn_remote`](crate::Node::spawn_remote)); to any other
    /// actor it does nothing, and is counted in
    /// [`NodeStats::remote_stops_refused`](crate::NodeStats::remote_stops_refused).
    OptIn,
}

/// The node's [`RemoteStop`] setting and the actors that opted in.
#[derive(Debug)]
pub(crate) struct StopExposure {
    policy: RemoteStop,
    /// Actors a peer may stop under [`RemoteStop::OptIn`]; each leaves
    /// when it stops.
    opted_in: Arc<DashSet<ActorId>>,
}

impl StopExposure {
    pub(crate) fn new(policy: RemoteStop) -> Self {
        Self {
            policy,
            opted_in: Arc::default(),
        }
    }

    /// Whether a peer's stop or kill may reach `actor`, a local actor the
    /// peer addressed with the right seal.
    pub(crate) fn allows(&self, actor: ActorId) -> bool {
        match self.policy {
            RemoteStop::Allowed => true,
            RemoteStop::OptIn => self.opted_in.contains(&actor),
        }
    }

    /// Lets peers stop and kill `actor` under [`RemoteStop::OptIn`], until
    /// it stops. `watcher` is a watcher id no actor has.
    pub(crate) fn opt_in(&self, actor: &AnyActorRef, watcher: ActorId) {
        if self.policy == RemoteStop::Allowed {
            return; // every actor may be stopped already; nothing to forget later
        }
        let id = actor.id();
        if !self.opted_in.insert(id) {
            return; // opted in already, and watched
        }
        let opted_in = Arc::clone(&self.opted_in);
        // Fires at once if the actor has stopped already.
        actor.watch(Watcher::from_fn(watcher, move |_| {
            opted_in.remove(&id);
        }));
    }
}

// ===== the API, on Node =====

impl Node {
    /// Lets peers that hold `actor`'s ref stop and kill it, on a node
    /// started with [`RemoteStop::OptIn`], until it stops. On a node that
    /// allows remote stops ([`RemoteStop::Allowed`], the default) peers may
    /// already, and this does nothing; so it does for an actor of another
    /// node or one that has stopped.
    ///
    /// # Examples
    ///
    /// See [`NodeBuilder::remote_stop`](crate::NodeBuilder::remote_stop).
    pub fn allow_remote_stop<A: Actor>(&self, actor: &ActorRef<A>) {
        let shared = self.shared();
        if let Some(local) = shared.system.actor(actor.id()) {
            shared
                .remote_stop
                .opt_in(&local, shared.synthetic_watcher());
        }
    }
}
