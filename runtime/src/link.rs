//! Links: two actors that fail together, as Erlang's `link/1`.
//!
//! Each side of a link keeps an entry for the other. When one side's
//! incarnation ends (it fails, is taken down for a sibling's restart, or
//! stops), it tells the other with [`LinkSignal::Down`]; a failure reason
//! fails the other side too, any other reason only ends the link. Links
//! are per incarnation: the end of one drops every link of the actor, and
//! a restarted actor re-links in `on_start` (which the default
//! `on_restart` runs again).
//!
//! Between two local actors an entry points at the other's cell, and the
//! notices travel on its signal lane. Across nodes an entry holds the
//! transport to the other node, and the notices travel as
//! [`LinkNotice`]s through [`RemoteDelivery::link_notice`]; the network
//! layer hands those from its peers to the actor with
//! [`AnyActorRef::link_notice`](crate::remote::AnyActorRef::link_notice).
//! The side that made the link also watches the other actor, so that a
//! remote actor already gone, or its node going down, ends the link (with
//! [`LinkSignal::Watched`]); the other side learns that the linking node
//! went down from its network layer, which sends it a `Down` with
//! [`StopReason::NodeDown`] for every link that node's actors held.
//!
//! Every link has a token, so that a notice from an old link (one undone
//! or replaced since) is told apart from the current one: an actor
//! restarts under the same id, so the id alone does not say which link a
//! notice belongs to. Tokens grow: a node that hears of another node's
//! token moves its own counter past it, so a link made after a notice was
//! heard has a larger token than that notice, on whichever node it is made.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::cell::AnyActor;
use crate::remote::{LinkNotice, RemoteDelivery};
use crate::signal::TerminationSink;
use crate::{ActorId, NodeId, StopReason, Terminated};

/// Tokens of links; the largest wins when both sides link at once.
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// Tokens from other nodes above this are not followed: the counter stays
/// far from wrapping around, whatever a peer sends.
const MAX_OBSERVED_TOKEN: u64 = 1 << 62;

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
        handle: Peer,
    },
    /// `peer` undid the link.
    Unlinked { peer: ActorId, token: u64 },
    /// The incarnation of `peer` that held the link ended with `reason`.
    Down {
        peer: ActorId,
        token: u64,
        reason: StopReason,
    },
    /// `watcher`, the watch this side's remote link to `peer` made, saw
    /// `peer` stop (or its node go) with `reason`.
    Watched {
        peer: ActorId,
        watcher: ActorId,
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

/// The other end of a link, as one side reaches it.
pub(crate) enum Peer {
    /// A local actor, which keeps the other side of the link.
    Local(Arc<dyn AnyActor>),
    /// An actor on another node, reached through `transport`.
    Remote {
        transport: Arc<dyn RemoteDelivery>,
        /// The watch of the other actor, if this side made the link.
        watcher: Option<ActorId>,
    },
}

impl Peer {
    /// Tells `peer`, at this end, that the incarnation of `me` holding
    /// link `token` ended with `reason`.
    pub(crate) fn down(self, peer: ActorId, me: ActorId, token: u64, reason: &StopReason) {
        match self {
            Self::Local(handle) => {
                let _ = handle.link_signal(LinkSignal::Down {
                    peer: me,
                    token,
                    reason: reason.clone(),
                });
            }
            Self::Remote { transport, watcher } => {
                let reason = reason.clone();
                transport.link_notice(peer, me, LinkNotice::Down { token, reason });
                unwatch(&*transport, peer, watcher);
            }
        }
    }

    /// Tells `peer`, at this end, that `me` undid link `token`.
    fn unlinked(self, peer: ActorId, me: ActorId, token: u64) {
        match self {
            Self::Local(handle) => {
                let _ = handle.link_signal(LinkSignal::Unlinked { peer: me, token });
            }
            Self::Remote { transport, watcher } => {
                transport.link_notice(peer, me, LinkNotice::Unlinked { token });
                unwatch(&*transport, peer, watcher);
            }
        }
    }
}

/// Cancels the watch a remote link made, if it made one.
fn unwatch(transport: &dyn RemoteDelivery, peer: ActorId, watcher: Option<ActorId>) {
    if let Some(watcher) = watcher {
        transport.unwatch(peer, watcher);
    }
}

/// A fresh link token.
pub(crate) fn next_token() -> u64 {
    NEXT_TOKEN.fetch_add(1, Ordering::Relaxed)
}

/// Moves the token counter past `token`, a token heard from another node,
/// so that links made from now on here are newer than it.
pub(crate) fn observe_token(token: u64) {
    if token < MAX_OBSERVED_TOKEN {
        NEXT_TOKEN.fetch_max(token + 1, Ordering::Relaxed);
    }
}

/// A fresh id for the watch a remote link makes.
pub(crate) fn next_watcher(node: NodeId) -> ActorId {
    ActorId::new(node, NEXT_WATCHER.fetch_add(1, Ordering::Relaxed))
}

impl Links {
    pub(crate) fn contains(&self, peer: ActorId) -> bool {
        self.0.contains_key(&peer)
    }

    pub(crate) fn insert(&mut self, peer: ActorId, token: u64, end: Peer) {
        self.0.insert(peer, Link { token, peer: end });
    }

    /// Undoes the link to `peer`, on both sides; false if there was none.
    pub(crate) fn unlink(&mut self, me: ActorId, peer: ActorId) -> bool {
        let Some(link) = self.0.remove(&peer) else {
            return false;
        };
        link.peer.unlinked(peer, me, link.token);
        true
    }

    /// Ends every link: this incarnation of `me` ended with `reason`.
    pub(crate) fn break_all(&mut self, me: ActorId, reason: &StopReason) {
        for (peer, link) in self.0.drain() {
            link.peer.down(peer, me, link.token, reason);
        }
    }

    /// Applies a notice from the other side of a link. Returns the reason
    /// this actor fails with, if the notice fails it.
    pub(crate) fn on_signal(&mut self, signal: LinkSignal) -> Option<StopReason> {
        let (peer, reason) = match signal {
            LinkSignal::Linked {
                peer,
                token,
                handle,
            } => {
                let link = self.0.entry(peer).or_insert(Link {
                    token,
                    peer: handle,
                });
                // Both sides linked at once: both keep the larger token.
                link.token = link.token.max(token);
                return None;
            }
            LinkSignal::Unlinked { peer, token } => {
                self.remove_if_current(peer, token);
                return None;
            }
            LinkSignal::Down {
                peer,
                token,
                reason,
            } => {
                if !self.remove_if_current(peer, token) {
                    return None;
                }
                (peer, reason)
            }
            LinkSignal::Watched {
                peer,
                watcher,
                reason,
            } => {
                let current = self.0.get(&peer).is_some_and(|link| {
                    matches!(link.peer, Peer::Remote { watcher: Some(w), .. } if w == watcher)
                });
                if !current {
                    return None;
                }
                // The watch has fired: there is nothing left to cancel.
                self.0.remove(&peer);
                (peer, reason)
            }
        };
        reason.is_failure().then(|| {
            let error = LinkError::PeerFailed { peer, reason };
            StopReason::Failed(crate::Failure::from_error(error))
        })
    }

    /// Removes the link to `peer` if `token` is its current one (or newer),
    /// cancelling the watch a remote link made.
    fn remove_if_current(&mut self, peer: ActorId, token: u64) -> bool {
        let current = self.0.get(&peer).is_some_and(|link| link.token <= token);
        if !current {
            return false;
        }
        if let Some(Link {
            peer: Peer::Remote { transport, watcher },
            ..
        }) = self.0.remove(&peer)
        {
            unwatch(&*transport, peer, watcher);
        }
        true
    }
}

/// Turns the `Terminated` of a remotely linked actor into a link notice.
pub(crate) struct LinkSink {
    pub(crate) linker: Arc<dyn AnyActor>,
    pub(crate) watcher: ActorId,
}

impl TerminationSink for LinkSink {
    fn notify(self: Box<Self>, terminated: Terminated) {
        let Terminated { id, reason } = terminated;
        let _ = self.linker.link_signal(LinkSignal::Watched {
            peer: id,
            watcher: self.watcher,
            reason,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::remote::{AnyMessage, RemoteAsk, RemoteSendError, RemoteStopped, Watcher};

    /// A transport that records the link notices and unwatches it is given.
    #[derive(Debug, Default)]
    struct Recorder {
        notices: Mutex<Vec<(ActorId, ActorId, LinkNotice)>>,
        unwatched: Mutex<Vec<(ActorId, ActorId)>>,
    }

    impl RemoteDelivery for Recorder {
        fn tell(&self, _: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
            let reason = crate::remote::Undeliverable::NodeDown;
            Err(RemoteSendError { reason, message })
        }
        fn ask(&self, _: ActorId, _: AnyMessage, _: Duration) -> RemoteAsk {
            Box::pin(std::future::ready(Err(crate::AskError::NodeDown)))
        }
        fn stop(&self, _: ActorId) {}
        fn kill(&self, _: ActorId) {}
        fn watch(&self, _: ActorId, _: Watcher) {}
        fn unwatch(&self, target: ActorId, watcher: ActorId) {
            self.unwatched.lock().unwrap().push((target, watcher));
        }
        fn is_alive(&self, _: ActorId) -> bool {
            true
        }
        fn wait_stopped(&self, _: ActorId) -> RemoteStopped {
            Box::pin(std::future::pending())
        }
        fn link_notice(&self, to: ActorId, from: ActorId, notice: LinkNotice) {
            self.notices.lock().unwrap().push((to, from, notice));
        }
    }

    fn id(node: u64, seq: u64) -> ActorId {
        ActorId::new(NodeId::new(node, 1), seq)
    }

    /// Links `me` on node 1 to `peer` on node 2 with `token`, as the side
    /// that linked (with a watch, `watcher`) if `watcher` is given.
    fn linked(peer: ActorId, token: u64, watcher: Option<ActorId>) -> (Links, Arc<Recorder>) {
        let recorder = Arc::new(Recorder::default());
        let transport: Arc<dyn RemoteDelivery> = recorder.clone();
        let mut links = Links::default();
        links.insert(peer, token, Peer::Remote { transport, watcher });
        (links, recorder)
    }

    fn failed(text: &str) -> StopReason {
        StopReason::Failed(text.into())
    }

    #[test]
    fn the_end_of_an_incarnation_is_told_to_the_remote_end_and_its_watch_cancelled() {
        let (me, peer, watcher) = (id(1, 1), id(2, 1), id(1, 1 << 62));
        let (mut links, recorder) = linked(peer, 5, Some(watcher));
        links.break_all(me, &failed("boom"));
        let notices = recorder.notices.lock().unwrap().clone();
        let down = LinkNotice::Down {
            token: 5,
            reason: failed("boom"),
        };
        assert_eq!(notices, vec![(peer, me, down)]);
        assert_eq!(*recorder.unwatched.lock().unwrap(), vec![(peer, watcher)]);
        assert!(!links.contains(peer));
    }

    #[test]
    fn a_remote_failure_fails_this_side_once_and_an_older_link_does_not() {
        let peer = id(2, 1);
        let (mut links, _) = linked(peer, 5, None);
        let old = LinkSignal::Down {
            peer,
            token: 4,
            reason: failed("old"),
        };
        assert!(links.on_signal(old).is_none(), "a notice of an older link");
        assert!(links.contains(peer));
        let down = LinkSignal::Down {
            peer,
            token: 5,
            reason: failed("now"),
        };
        let reason = links.on_signal(down).expect("the link's failure");
        let failure = reason.failure().expect("a failure");
        let Some(LinkError::PeerFailed { peer: who, .. }) = failure.downcast_ref::<LinkError>()
        else {
            panic!("not a link failure: {failure}");
        };
        assert_eq!(*who, peer);
        assert!(!links.contains(peer));
    }

    #[test]
    fn a_watch_notice_counts_only_for_the_watch_of_the_current_link() {
        let (peer, watcher) = (id(2, 1), id(1, 1 << 62));
        let (mut links, recorder) = linked(peer, 5, Some(watcher));
        // The other side linked at once with a larger token: the watch
        // still belongs to the link.
        let transport: Arc<dyn RemoteDelivery> = recorder.clone();
        links.on_signal(LinkSignal::Linked {
            peer,
            token: 9,
            handle: Peer::Remote {
                transport,
                watcher: None,
            },
        });
        let stale = LinkSignal::Watched {
            peer,
            watcher: id(1, (1 << 62) + 1),
            reason: StopReason::NodeDown,
        };
        assert!(links.on_signal(stale).is_none(), "another watch's notice");
        let current = LinkSignal::Watched {
            peer,
            watcher,
            reason: StopReason::NodeDown,
        };
        assert!(links.on_signal(current).is_some_and(|r| r.is_failure()));
        // The watch fired: nothing to cancel.
        assert!(recorder.unwatched.lock().unwrap().is_empty());
    }

    #[test]
    fn unlink_tells_the_remote_end() {
        let (me, peer) = (id(1, 1), id(2, 1));
        let (mut links, recorder) = linked(peer, 5, None);
        assert!(links.unlink(me, peer));
        let notices = recorder.notices.lock().unwrap().clone();
        assert_eq!(notices, vec![(peer, me, LinkNotice::Unlinked { token: 5 })]);
        assert!(!links.unlink(me, peer), "unlinked already");
    }

    #[test]
    fn tokens_heard_from_other_nodes_move_the_counter_past_them() {
        let heard = next_token() + 1_000;
        observe_token(heard);
        assert!(next_token() > heard);
        // A token near the top is not followed: the counter never wraps.
        observe_token(u64::MAX);
        assert!(next_token() < MAX_OBSERVED_TOKEN);
    }
}
