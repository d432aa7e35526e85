//! Links between actors on two nodes (`Context::link`): what a node does
//! with a peer's `Link`, `Unlink` and `LinkDown` frames, and the far sides
//! of links it keeps for the peer's actors.
//!
//! The node of the linking actor watches the actor it links to (a plain
//! [`Frame::Watch`]), which tells it of an actor already gone and of this
//! node going down. This node learns of the link from a [`Frame::Link`]:
//! the local actor keeps an entry for the peer's actor, and this module
//! keeps the pair on the connection (in [`HeldLinks`]), so that when the
//! connection ends the local actor hears that its peer is down, as a
//! watcher would.
//!
//! Every frame is trusted only as far as its sender: the far end of a
//! link must be an actor of the peer, a `Link` must carry the seal of the
//! local actor it names, and an `Unlink` or `LinkDown` only changes a link
//! the local actor holds with that peer's actor.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use proscenium_runtime::remote::{LinkNotice, RemoteDelivery, Seal};
use proscenium_runtime::{ActorId, StopReason};

use crate::inbound::{local as local_actor, reachable};
use crate::link::Link;
use crate::shared::NodeShared;
use crate::stats::bump;
use crate::Frame;

/// The far sides of links that a peer's actors made to this node's actors
/// over one connection: the token of each (local actor, peer's actor)
/// link. They end with the connection, each with a `NodeDown` to its
/// local actor.
#[derive(Debug, Default)]
pub(crate) struct HeldLinks(Mutex<Held>);

#[derive(Debug, Default)]
struct Held {
    /// (local actor, peer's actor) -> the link's token.
    tokens: HashMap<(ActorId, ActorId), u64>,
    /// Size after which entries of stopped actors are swept out.
    sweep_at: usize,
}

impl HeldLinks {
    /// Fewest entries before a sweep is worth it.
    const MIN_SWEEP: usize = 64;

    /// Keeps link `token` between `local` and `remote`, unless the peer
    /// holds `limit` links on live actors already.
    fn hold(&self, node: &NodeShared, (local, remote): (ActorId, ActorId), token: u64) -> bool {
        let Ok(mut held) = self.0.lock() else {
            return false;
        };
        if held.tokens.len() >= held.sweep_at.max(Self::MIN_SWEEP) {
            held.sweep(node);
        }
        let limit = node.max_watches_per_peer;
        if held.tokens.len() >= limit && !held.tokens.contains_key(&(local, remote)) {
            held.sweep(node);
            if held.tokens.len() >= limit {
                return false;
            }
        }
        // Both sides linked at once: the larger token wins, as in the actor.
        let held = held.tokens.entry((local, remote)).or_insert(token);
        *held = (*held).max(token);
        true
    }

    /// Forgets the link between `local` and `remote` if `token` is its
    /// token or newer: one of its sides has ended it.
    pub(crate) fn forget(&self, local: ActorId, remote: ActorId, token: u64) {
        let Ok(mut held) = self.0.lock() else {
            return;
        };
        let current = held
            .tokens
            .get(&(local, remote))
            .is_some_and(|held| *held <= token);
        if current {
            held.tokens.remove(&(local, remote));
        }
    }

    /// Every link held, taken out: the connection has ended.
    fn take(&self) -> HashMap<(ActorId, ActorId), u64> {
        self.0
            .lock()
            .map(|mut held| std::mem::take(&mut held.tokens))
            .unwrap_or_default()
    }
}

impl Held {
    /// Forgets the links of local actors that have stopped, so memory
    /// stays bounded by the links of live actors.
    fn sweep(&mut self, node: &NodeShared) {
        self.tokens
            .retain(|(local, _), _| local_actor(node, *local).is_some());
        self.sweep_at = self.tokens.len() * 2;
    }
}

/// A `Link` from the peer: `from`, its actor, linked to `to`, ours.
pub(crate) fn on_link(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    (to, seal): (ActorId, Seal),
    from: ActorId,
    token: u64,
) {
    if !from_the_peer(node, link, "link", from) {
        return;
    }
    // Gone, or a seal the peer was not given: the linking node's watch of
    // `to` reports it gone, so nothing is said here.
    let Some(actor) = reachable(node, to, seal) else {
        return;
    };
    if !link.held_links.hold(node, (to, from), token) {
        tracing::warn!(peer = %link.name, %to, limit = node.max_watches_per_peer, "refused a link: the peer holds as many as it may");
        link.send(Frame::LinkDown {
            to: from,
            from: to,
            token,
            reason: StopReason::NodeDown,
        });
        return;
    }
    // Held first: if the actor ends the link at once, its notice finds
    // the entry to forget.
    if !actor.link_notice(from, LinkNotice::Linked { token }, &transport(node)) {
        link.held_links.forget(to, from, token);
    }
}

/// An `Unlink` or `LinkDown` from the peer: `from`, its actor, undid or
/// ended its link with `to`, ours.
pub(crate) fn on_notice(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    to: ActorId,
    from: ActorId,
    notice: LinkNotice,
) {
    let kind = match notice {
        LinkNotice::Down { .. } => "link-down",
        _ => "unlink",
    };
    if !from_the_peer(node, link, kind, from) {
        return;
    }
    link.held_links.forget(to, from, notice.token());
    if let Some(actor) = local_actor(node, to) {
        actor.link_notice(from, notice, &transport(node));
    }
}

/// The connection has ended: every local actor linked to an actor of the
/// peer over it hears that its peer's node is down.
pub(crate) fn release(node: &Arc<NodeShared>, link: &Link) {
    let held = link.held_links.take();
    if held.is_empty() {
        return;
    }
    let transport = transport(node);
    for ((local, remote), token) in held {
        if let Some(actor) = local_actor(node, local) {
            let reason = StopReason::NodeDown;
            actor.link_notice(remote, LinkNotice::Down { token, reason }, &transport);
        }
    }
}

/// Whether `from`, the far end of a link in a frame from the peer, is an
/// actor of the peer; any other frame is refused, counted and logged.
fn from_the_peer(node: &NodeShared, link: &Link, kind: &str, from: ActorId) -> bool {
    if from.node() == link.peer {
        return true;
    }
    bump(&node.stats.link_frames_refused);
    tracing::warn!(peer = %link.name, %from, kind, "ignored a link frame for an actor on another node");
    false
}

/// The transport the local side of a link answers through: the node's own,
/// which needs no seal for the notices it sends.
fn transport(node: &Arc<NodeShared>) -> Arc<dyn RemoteDelivery> {
    node.ref_transport(Seal::NONE)
}
