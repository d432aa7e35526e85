//! Links: two actors that fail together, as Erlang's `link/1`.
//!
//! A link between two local actors is kept on both sides, each side's
//! entry pointing at the other's cell. When one side's incarnation ends
//! (it fails, is taken down for a sibling's restart, or stops), it sends
//! [`LinkSignal::Down`] on the other's signal lane; a failure reason fails
//! the other side too, any other reason only ends the link. Links are per
//! incarnation: the end of one drops every link of the actor, and a
//! restarted actor re-links in `on_start` (which the default `on_restart`
//! runs again).
//!
//! A link to an actor on another node is a watch of it (the one remote
//! watches use): its failure or its node going down fails this side. The
//! other node keeps no entry, so this side's failure does not reach it.
//!
//! Every link has a token, so that a notice from an old link (one undone
//! or replaced since) is told apart from the current one: an actor
//! restarts under the same id, so the id alone does not say which link a
//! notice belongs to.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::cell::AnyActor;
use crate::signal::TerminationSink;
use crate::{ActorId, NodeId, StopReason, Terminated};

/// Tokens of links; the largest wins when both sides link at once.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Ids of the watches remote links make. Bit 62 keeps them apart from the
/// ids of actors (counted from 1) and from the network layer's synthetic
/// watchers (bit 63).
static NEXT_WATCHER: AtomicU64 = AtomicU64::new(1 << 62);

/// What one side of a link tells the other, on its signal lane.
pub(crate) enum LinkSignal {
    /// `peer` linked to this actor.
    Linked {
        peer: ActorId,
        token: u64,
        handle: Arc<dyn AnyActor>,
    },
    /// `peer` undid the link.
    Unlinked { peer: ActorId, token: u64 },
    /// The incarnation of `peer` that held the link ended with `reason`.
    Down {
        peer: ActorId,
        token: u64,
        reason: StopReason,
    },
}

/// Why an actor failed because of a link, found in its
/// [`Failure`](crate::Failure) with `failure.downcast_ref::<LinkError>()`.
///
/// See [`Context::link`](crate::Context::link).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkError {
    /// The linked actor failed, or its node went down; `reason` says how.
    PeerFailed {
        /// The linked actor.
        peer: ActorId,
        /// Why it stopped: a failure or `NodeDown`.
        reason: StopReason,
    },
    /// The actor to link to had already stopped (Erlang's `noproc`).
    PeerGone {
        /// The actor that was gone.
        peer: ActorId,
        /// Why it had stopped.
        reason: StopReason,
    },
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PeerFailed {
                peer,
                reason: StopReason::NodeDown,
            } => write!(f, "the node of linked actor {peer} went down"),
            Self::PeerFailed { peer, reason } => write!(f, "linked actor {peer} {reason}"),
            Self::PeerGone { peer, reason } => write!(
                f,
                "linked to actor {peer}, which had already stopped ({reason}); link to a live actor, or watch it"
            ),
        }
    }
}

impl std::error::Error for LinkError {}

/// The links of one actor, by the actor at the other end.
#[derive(Default)]
pub(crate) struct Links(HashMap<ActorId, Link>);

struct Link {
    token: u64,
    peer: Peer,
}

enum Peer {
    /// A local actor, which keeps the other side of the link.
    Local(Arc<dyn AnyActor>),
    /// An actor on another node, watched by `watcher`.
    Remote {
        watcher: ActorId,
        unwatch: Box<dyn Fn(ActorId) + Send + Sync>,
    },
}

/// A fresh link token.
pub(crate) fn next_token() -> u64 {
    NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
}

/// A fresh id for the watch a remote link makes.
pub(crate) fn next_watcher(node: NodeId) -> ActorId {
    ActorId::new(node, NEXT_WATCHER.fetch_add(1, Ordering::Relaxed))
}

impl Links {
    pub(crate) fn contains(&self, peer: ActorId) -> bool {
        self.0.contains_key(&peer)
    }

    pub(crate) fn insert_local(&mut self, peer: ActorId, token: u64, handle: Arc<dyn AnyActor>) {
        self.0.insert(
            peer,
            Link {
                token,
                peer: Peer::Local(handle),
            },
        );
    }

    pub(crate) fn insert_remote(
        &mut self,
        peer: ActorId,
        token: u64,
        watcher: ActorId,
        unwatch: Box<dyn Fn(ActorId) + Send + Sync>,
    ) {
        let peer_end = Peer::Remote { watcher, unwatch };
        self.0.insert(
            peer,
            Link {
                token,
                peer: peer_end,
            },
        );
    }

    /// Undoes the link to `peer`, on both sides; false if there was none.
    pub(crate) fn unlink(&mut self, me: ActorId, peer: ActorId) -> bool {
        let Some(link) = self.0.remove(&peer) else {
            return false;
        };
        match link.peer {
            Peer::Local(handle) => {
                let token = link.token;
                let _ = handle.link_signal(LinkSignal::Unlinked { peer: me, token });
            }
            Peer::Remote { watcher, unwatch } => unwatch(watcher),
        }
        true
    }

    /// Ends every link: this incarnation of `me` ended with `reason`.
    pub(crate) fn break_all(&mut self, me: ActorId, reason: &StopReason) {
        for (_, link) in self.0.drain() {
            match link.peer {
                Peer::Local(handle) => down(&*handle, me, link.token, reason),
                Peer::Remote { watcher, unwatch } => unwatch(watcher),
            }
        }
    }

    /// Applies a notice from the other side of a link. Returns the reason
    /// this actor fails with, if the notice fails it.
    pub(crate) fn on_signal(&mut self, signal: LinkSignal) -> Option<StopReason> {
        match signal {
            LinkSignal::Linked {
                peer,
                token,
                handle,
            } => {
                let link = self.0.entry(peer).or_insert(Link {
                    token,
                    peer: Peer::Local(handle),
                });
                // Both sides linked at once: both keep the larger token.
                link.token = link.token.max(token);
                None
            }
            LinkSignal::Unlinked { peer, token } => {
                self.remove_if_current(peer, token);
                None
            }
            LinkSignal::Down {
                peer,
                token,
                reason,
            } => {
                if !self.remove_if_current(peer, token) || !reason.is_failure() {
                    return None;
                }
                let error = LinkError::PeerFailed { peer, reason };
                Some(StopReason::Failed(crate::Failure::from_error(error)))
            }
        }
    }

    fn remove_if_current(&mut self, peer: ActorId, token: u64) -> bool {
        let current = self.0.get(&peer).is_some_and(|link| link.token <= token);
        if current {
            self.0.remove(&peer);
        }
        current
    }
}

/// Tells `handle` that the incarnation of `me` holding link `token` ended.
pub(crate) fn down(handle: &dyn AnyActor, me: ActorId, token: u64, reason: &StopReason) {
    let _ = handle.link_signal(LinkSignal::Down {
        peer: me,
        token,
        reason: reason.clone(),
    });
}

/// Turns the `Terminated` of a remotely linked actor into a link notice.
pub(crate) struct LinkSink {
    pub(crate) linker: Arc<dyn AnyActor>,
    pub(crate) token: u64,
}

impl TerminationSink for LinkSink {
    fn notify(self: Box<Self>, terminated: Terminated) {
        let Terminated { id, reason } = terminated;
        let _ = self.linker.link_signal(LinkSignal::Down {
            peer: id,
            token: self.token,
            reason,
        });
    }
}
