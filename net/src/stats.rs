//! [`NodeStats`]: what a node dropped, and why, so nothing is lost without
//! a trace.
//!
//! A remote tell is delivered at most once. What the sending node knows it
//! did not send (tells still queued on a link that ended), and what it
//! sent but never saw acknowledged (the link ended first: they may or may
//! not have arrived), goes to its system's
//! [dead letters](proscenium_runtime::System::dead_letters) as well as into
//! these counts; what only the receiving node can see (a tell to an actor
//! that is gone, of a type it does not handle, or that does not decode) is
//! counted there.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts, since the node started, of frames it could not deliver and of
/// links it closed to protect itself; see [`Node::stats`](crate::Node::stats).
///
/// # Examples
///
/// ```
/// use proscenium_net::NodeStats;
///
/// let stats = NodeStats::default();
/// assert_eq!(stats.tells_dropped(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NodeStats {
    /// Tells queued for another node on a link that ended before they were
    /// written. Each is also a dead letter of this node's system, with
    /// [`StopReason::NodeDown`](proscenium_runtime::StopReason::NodeDown).
    pub tells_unsent: u64,
    /// Tells written to another node on a link that ended before that node
    /// acknowledged them: each may have been handled there or not. Each is
    /// also a dead letter of this node's system, with
    /// [`StopReason::NodeDown`](proscenium_runtime::StopReason::NodeDown)
    /// and [`possibly_delivered`](proscenium_runtime::DeadLetter::possibly_delivered)
    /// set.
    pub tells_unacknowledged: u64,
    /// Other frames (asks, replies, control frames) queued on a link that
    /// ended before they were written. Their askers and watchers learn of it
    /// as `NodeDown`.
    pub frames_unsent: u64,
    /// Asks not written because their asker had already given up (timed out).
    pub asks_expired: u64,
    /// Tells received for an actor that is not on this node (stopped, or
    /// never here), or that stopped before taking them.
    pub tells_to_missing_actors: u64,
    /// Tells received with a message tag their actor's type does not
    /// handle here (register it with [`Registry::handler`](crate::Registry::handler)).
    pub tells_unregistered: u64,
    /// Tells received whose payload did not decode.
    pub tells_undecodable: u64,
    /// Times a local actor's full mailbox made this node pause a peer's
    /// tells to it (`Pause` frames sent).
    pub pauses: u64,
    /// Links closed because the peer took no bytes for the write-stall timeout.
    pub links_stalled: u64,
    /// Links closed because their outbox went past its hard limit.
    pub links_overloaded: u64,
    /// Links closed because a record failed authentication: bytes on the
    /// connection were altered, injected, replayed, reordered or dropped
    /// on the way (see [`encryption`](crate::encryption)). Anything above zero
    /// means something on the network path tampers with this node's
    /// traffic.
    pub links_tampered: u64,
    /// Cluster membership datagrams sent (UDP; SWIM probes and gossip,
    /// group tables, leave notices).
    pub membership_datagrams_sent: u64,
    /// Bytes of those datagrams (UDP payload: header, message and MAC;
    /// the IP and UDP headers, 28 bytes on IPv4, are not counted).
    pub membership_bytes_sent: u64,
    /// Membership datagrams received, authentic or not.
    pub membership_datagrams_received: u64,
    /// Bytes of those datagrams (UDP payload).
    pub membership_bytes_received: u64,
    /// Membership datagrams not sent on purpose, by the fault-injection
    /// knob [`MembershipConfig::outgoing_loss`](crate::MembershipConfig::outgoing_loss).
    pub membership_datagrams_dropped: u64,
    /// Stops and kills from peers that this node refused: the actor had not
    /// opted in under [`RemoteStop::OptIn`](crate::RemoteStop::OptIn).
    pub remote_stops_refused: u64,
    /// Link frames (`Link`, `Unlink`, `LinkDown`) from a peer that this
    /// node ignored because the linked actor they name on the peer's side
    /// lives on another node: a peer speaks only for its own actors.
    pub link_frames_refused: u64,
}

impl NodeStats {
    /// Every tell this node dropped, as sender or receiver; not the
    /// [unacknowledged](Self::tells_unacknowledged) ones, which may have
    /// been delivered.
    pub fn tells_dropped(&self) -> u64 {
        self.tells_unsent
            + self.tells_to_missing_actors
            + self.tells_unregistered
            + self.tells_undecodable
    }
}

/// The live counters behind [`NodeStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) tells_unsent: AtomicU64,
    pub(crate) tells_unacknowledged: AtomicU64,
    pub(crate) frames_unsent: AtomicU64,
    pub(crate) asks_expired: AtomicU64,
    pub(crate) tells_to_missing_actors: AtomicU64,
    pub(crate) tells_unregistered: AtomicU64,
    pub(crate) tells_undecodable: AtomicU64,
    pub(crate) pauses: AtomicU64,
    pub(crate) links_stalled: AtomicU64,
    pub(crate) links_overloaded: AtomicU64,
    pub(crate) links_tampered: AtomicU64,
    pub(crate) membership_datagrams_sent: AtomicU64,
    pub(crate) membership_bytes_sent: AtomicU64,
    pub(crate) membership_datagrams_received: AtomicU64,
    pub(crate) membership_bytes_received: AtomicU64,
    pub(crate) membership_datagrams_dropped: AtomicU64,
    pub(crate) remote_stops_refused: AtomicU64,
    pub(crate) link_frames_refused: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    add(counter, 1);
}

/// Adds `amount` to a counter.
pub(crate) fn add(counter: &AtomicU64, amount: u64) {
    counter.fetch_add(amount, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> NodeStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        NodeStats {
            tells_unsent: read(&self.tells_unsent),
            tells_unacknowledged: read(&self.tells_unacknowledged),
            frames_unsent: read(&self.frames_unsent),
            asks_expired: read(&self.asks_expired),
            tells_to_missing_actors: read(&self.tells_to_missing_actors),
            tells_unregistered: read(&self.tells_unregistered),
            tells_undecodable: read(&self.tells_undecodable),
            pauses: read(&self.pauses),
            links_stalled: read(&self.links_stalled),
            links_overloaded: read(&self.links_overloaded),
            links_tampered: read(&self.links_tampered),
            membership_datagrams_sent: read(&self.membership_datagrams_sent),
            membership_bytes_sent: read(&self.membership_bytes_sent),
            membership_datagrams_received: read(&self.membership_datagrams_received),
            membership_bytes_received: read(&self.membership_bytes_received),
            membership_datagrams_dropped: read(&self.membership_datagrams_dropped),
            remote_stops_refused: read(&self.remote_stops_refused),
            link_frames_refused: read(&self.link_frames_refused),
        }
    }
}
