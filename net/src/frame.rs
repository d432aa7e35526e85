//! [`Frame`], the one message type that crosses a connection after the
//! handshake, and [`MessageTag`], the stable name of a user message type.

use std::fmt;

use bytes::Bytes;
use proscenium_runtime::remote::{Seal, WaitFor};
use proscenium_runtime::{ActorId, AskError, StopReason};
use serde::{Deserialize, Serialize};

/// The stable identifier of a message type on the wire.
///
/// A remote `tell` or `ask` carries its message as opaque bytes plus this
/// tag; the receiving node looks the tag up in its registry of remote
/// message types to find the decoder and handler. Tags must not change
/// between builds, so they are derived from a stable *name* chosen for the
/// type (not from `TypeId` or `type_name`, which may change with the
/// compiler): see [`MessageTag::from_name`].
///
/// # Examples
///
/// ```
/// use proscenium_net::MessageTag;
///
/// const PING: MessageTag = MessageTag::from_name("myapp.Ping");
/// assert_eq!(PING, MessageTag::from_name("myapp.Ping"));
/// assert_ne!(PING, MessageTag::from_name("myapp.Pong"));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MessageTag(u64);

impl MessageTag {
    /// A tag from its raw number.
    pub const fn new(raw: u64) -> Self {
        Self(raw)
    }

    /// The tag of a message type named `name`: the 64-bit FNV-1a hash of the
    /// name's UTF-8 bytes, computable in a `const`.
    ///
    /// Two different names collide with probability about 2^-64 per pair;
    /// the registry that maps tags to types should still refuse a second
    /// type under a tag that is taken.
    pub const fn from_name(name: &str) -> Self {
        const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let bytes = name.as_bytes();
        let mut hash = OFFSET_BASIS;
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(PRIME);
            i += 1;
        }
        Self(hash)
    }

    /// The raw number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for MessageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageTag({:#018x})", self.0)
    }
}

impl fmt::Display for MessageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// One unit of traffic between two connected nodes.
///
/// Frames are encoded with [`wire`](crate::wire) and framed by
/// [`FrameCodec`](crate::FrameCodec); `net/docs/protocol.md` gives the bytes.
///
/// # Compatibility
///
/// The variant *order* is part of the protocol: bincode writes the variant
/// index. Append new variants at the end and bump
/// [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION); never reorder or remove.
/// The same holds for the runtime types carried inside ([`ActorId`],
/// [`AskError`], [`StopReason`]): changing their serde layout is a protocol
/// change. A test pins the encoding of every kind.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use proscenium_net::{Frame, MessageTag};
/// use proscenium_runtime::remote::Seal;
/// use proscenium_runtime::{ActorId, NodeId};
///
/// let frame = Frame::Tell {
///     to: ActorId::new(NodeId::new(2, 0x9f), 11),
///     seal: Seal::new([0x5e; 8]), // from the ref the sender was given
///     tag: MessageTag::from_name("myapp.Ping"),
///     payload: Bytes::from_static(b"\x01"),
/// };
/// assert_eq!(frame.kind(), "tell");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Frame {
    /// Deliver a message to an actor; no reply is expected.
    Tell {
        /// The actor on the receiving node.
        to: ActorId,
        /// The seal the receiving node made for `to` (see [`Seal`]): a
        /// frame whose seal is wrong is handled as if `to` did not exist.
        seal: Seal,
        /// Which registered message type `payload` holds.
        tag: MessageTag,
        /// The message, encoded with [`wire::encode`](crate::wire::encode).
        payload: Bytes,
    },
    /// Deliver a message to an actor and send back a [`Frame::Reply`].
    Ask {
        /// The actor on the receiving node.
        to: ActorId,
        /// The seal the receiving node made for `to` (see [`Seal`]): a
        /// frame whose seal is wrong is handled as if `to` did not exist.
        seal: Seal,
        /// Chosen by the asking node, unique among its pending asks on this
        /// connection; the reply carries it back.
        correlation: u64,
        /// Which registered message type `payload` holds.
        tag: MessageTag,
        /// The message, encoded with [`wire::encode`](crate::wire::encode).
        payload: Bytes,
        /// The wait-for edges that lead to the asker on the asking node,
        /// the ask's own first (see [`proscenium_runtime::remote::waits_leading_to`]);
        /// empty when the asker is not an actor. At most
        /// [`MAX_ASK_WAITS`]: a receiver ignores any beyond. Where the ask
        /// is handled they count for deadlock detection while the handler
        /// runs, so a cycle that crosses nodes is found at once.
        waits: Vec<WaitFor>,
    },
    /// The answer to the [`Frame::Ask`] with the same `correlation`.
    Reply {
        /// The `correlation` of the ask this answers.
        correlation: u64,
        /// The encoded reply, or why there is none (for example
        /// [`AskError::Remote`] for an unknown tag).
        result: Result<Bytes, AskError>,
    },
    /// Stop the actor gracefully, after what is already queued.
    Stop {
        /// The actor on the receiving node.
        to: ActorId,
        /// The seal the receiving node made for `to` (see [`Seal`]): a
        /// frame whose seal is wrong is handled as if `to` did not exist.
        seal: Seal,
    },
    /// Stop the actor at once, dropping what is queued.
    Kill {
        /// The actor on the receiving node.
        to: ActorId,
        /// The seal the receiving node made for `to` (see [`Seal`]): a
        /// frame whose seal is wrong is handled as if `to` did not exist.
        seal: Seal,
    },
    /// Start a death watch: send [`Frame::Terminated`] when `target` stops.
    Watch {
        /// The actor on the receiving node to watch.
        target: ActorId,
        /// The seal the receiving node made for `target`: with a wrong
        /// one the watch is answered [`Frame::Terminated`] at once, as for
        /// an actor that does not exist.
        seal: Seal,
        /// The actor on the sending node to notify.
        watcher: ActorId,
    },
    /// Cancel a watch made with [`Frame::Watch`].
    Unwatch {
        /// The watched actor on the receiving node.
        target: ActorId,
        /// The watcher on the sending node.
        watcher: ActorId,
    },
    /// A watched actor on the sending node has stopped.
    Terminated {
        /// The actor that stopped.
        id: ActorId,
        /// Why it stopped.
        reason: StopReason,
    },
    /// Keep-alive with no content, sent when a connection is otherwise idle.
    Heartbeat,
    /// The sender is closing the connection on purpose; not a failure.
    Goodbye,
    /// Which actor is registered under `name` on the receiving node?
    Lookup {
        /// Matches the [`Frame::Found`] answer.
        correlation: u64,
        /// The registered name.
        name: String,
    },
    /// The answer to a [`Frame::Lookup`]: the actor, its seal and its Rust
    /// type name.
    Found {
        /// The lookup's correlation id.
        correlation: u64,
        /// The actor's id, seal and type name, if one is registered.
        actor: Option<(ActorId, Seal, String)>,
    },
    /// Spawn a registered actor type on the receiving node.
    Spawn {
        /// Matches the [`Frame::Spawned`] answer.
        correlation: u64,
        /// The actor type's stable tag.
        actor: MessageTag,
        /// The encoded spawn arguments.
        args: Bytes,
    },
    /// The answer to a [`Frame::Spawn`]: the new actor's id and seal, or
    /// why not.
    Spawned {
        /// The spawn's correlation id.
        correlation: u64,
        /// The new actor and its seal, or why not.
        result: Result<(ActorId, Seal), crate::RemoteSpawnError>,
    },
    /// Flow control: the actor's mailbox on the sending node is full, and
    /// frames for it now wait there; hold tells to it until
    /// [`Frame::Resume`]. Frames for every other actor keep flowing.
    Pause {
        /// The full actor, on the node that sends this frame.
        actor: ActorId,
    },
    /// Flow control: the actor paused by [`Frame::Pause`] has taken every
    /// frame that waited for it; tells to it may flow again.
    Resume {
        /// The actor, on the node that sends this frame.
        actor: ActorId,
    },
    /// Delivery accounting: the sender of this frame has taken the first
    /// `tells` [`Frame::Tell`]s it received on this connection (queued each
    /// for its actor, or counted it as dropped). Cumulative; the receiver
    /// of the ack stops holding those tells as possibly undelivered.
    Ack {
        /// Tells taken, counted from the connection's first.
        tells: u64,
    },
    /// What runs on the receiving node? (For
    /// [`Node::cluster_snapshot`](crate::Node::cluster_snapshot).)
    Inspect {
        /// Matches the [`Frame::Inspected`] answer.
        correlation: u64,
    },
    /// The answer to a [`Frame::Inspect`]: the node's
    /// [`NodeSnapshot`](crate::NodeSnapshot), encoded, cut to fit a frame.
    Inspected {
        /// The request's correlation id.
        correlation: u64,
        /// The encoded snapshot.
        snapshot: Bytes,
    },
    /// A heartbeat that asks for a [`Frame::Pong`]: what an idle writer
    /// sends, to time the round trip.
    Ping {
        /// Opaque to the receiver: the sender's clock when it sent the ping
        /// (microseconds since the connection opened), echoed in the pong.
        stamp: u64,
    },
    /// The answer to a [`Frame::Ping`], sent at once.
    Pong {
        /// The ping's `stamp`.
        stamp: u64,
    },
    /// `from`, an actor of the sending node, linked to `to` (see
    /// [`Context::link`](proscenium_runtime::Context::link)): the receiving
    /// node keeps the other side of the link for `to`, so that `from`
    /// failing fails `to`. The sender also watches `to` with a
    /// [`Frame::Watch`], which reports a `to` that is gone.
    Link {
        /// The actor on the receiving node.
        to: ActorId,
        /// The seal the receiving node made for `to`: with a wrong one the
        /// frame is ignored, as for an actor that does not exist.
        seal: Seal,
        /// The linking actor, on the sending node; a `from` on any other
        /// node makes the frame ignored.
        from: ActorId,
        /// The link's token (see
        /// [`LinkNotice`](proscenium_runtime::remote::LinkNotice)).
        token: u64,
    },
    /// `from`, an actor of the sending node, undid its link with `to`, an
    /// actor of the receiving node, whichever of them made it.
    Unlink {
        /// The linked actor on the receiving node.
        to: ActorId,
        /// The actor on the sending node that unlinked.
        from: ActorId,
        /// The token of the link undone.
        token: u64,
    },
    /// The incarnation of `from`, an actor of the sending node, that held
    /// the link `token` with `to` ended with `reason`: a failure fails `to`,
    /// anything else ends the link.
    LinkDown {
        /// The linked actor on the receiving node.
        to: ActorId,
        /// The actor on the sending node whose incarnation ended.
        from: ActorId,
        /// The token of the link that ended.
        token: u64,
        /// Why it ended.
        reason: StopReason,
    },
}

/// The most wait-for edges a [`Frame::Ask`] carries, and the most a
/// receiving node looks at: a bound on what a peer can make it store and
/// search per ask. Deeper chains are cut, which can miss a cycle but never
/// report one that is not there.
pub const MAX_ASK_WAITS: usize = 32;

/// The most bytes an `ActorId` takes on the wire: three varint `u64`s.
const ACTOR_ID_WIRE_MAX: usize = 3 * 9;

/// The most bytes a frame adds around its payload: the variant index, an
/// `ActorId`, a correlation id and a tag as varints (at most 9 bytes each),
/// a seal (8 bytes) and the payload's own length prefix, 63 at worst,
/// rounded up to 64; plus an ask's wait-for edges and their length prefix.
const FRAME_OVERHEAD: usize = 64 + 9 + MAX_ASK_WAITS * 2 * ACTOR_ID_WIRE_MAX;

/// The largest payload (a message, a reply, spawn arguments) to encode for
/// frames of at most `max_frame_length` bytes. Encoding payloads to this
/// limit, not the frame's, makes an unsendable message fail where it is
/// made, with an error its sender sees, rather than in the link's writer,
/// which can only end the link.
pub(crate) fn payload_limit(max_frame_length: usize) -> u64 {
    max_frame_length.saturating_sub(FRAME_OVERHEAD) as u64
}

impl Frame {
    /// A short lowercase name of the frame's kind, for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Tell { .. } => "tell",
            Self::Ask { .. } => "ask",
            Self::Reply { .. } => "reply",
            Self::Stop { .. } => "stop",
            Self::Kill { .. } => "kill",
            Self::Watch { .. } => "watch",
            Self::Unwatch { .. } => "unwatch",
            Self::Terminated { .. } => "terminated",
            Self::Heartbeat => "heartbeat",
            Self::Goodbye => "goodbye",
            Self::Lookup { .. } => "lookup",
            Self::Found { .. } => "found",
            Self::Spawn { .. } => "spawn",
            Self::Spawned { .. } => "spawned",
            Self::Pause { .. } => "pause",
            Self::Resume { .. } => "resume",
            Self::Ack { .. } => "ack",
            Self::Inspect { .. } => "inspect",
            Self::Inspected { .. } => "inspected",
            Self::Ping { .. } => "ping",
            Self::Pong { .. } => "pong",
            Self::Link { .. } => "link",
            Self::Unlink { .. } => "unlink",
            Self::LinkDown { .. } => "link-down",
        }
    }

    /// About how many bytes of memory the frame holds while queued: its
    /// own size plus what it points to. Outboxes are bounded by this.
    pub(crate) fn weight(&self) -> usize {
        let held = match self {
            Self::Tell { payload, .. } => payload.len(),
            Self::Ask { payload, waits, .. } => {
                payload.len() + std::mem::size_of_val(waits.as_slice())
            }
            Self::Reply {
                result: Ok(bytes), ..
            } => bytes.len(),
            Self::Reply {
                result: Err(AskError::Failed { reason: text } | AskError::Remote(text)),
                ..
            } => text.len(),
            Self::Lookup { name, .. } => name.len(),
            Self::Found {
                actor: Some((_, _, name)),
                ..
            } => name.len(),
            Self::Spawn { args, .. } => args.len(),
            Self::Inspected { snapshot, .. } => snapshot.len(),
            Self::Spawned {
                result: Err(why), ..
            } => why.to_string().len(),
            Self::Terminated {
                reason: StopReason::Failed(why),
                ..
            }
            | Self::LinkDown {
                reason: StopReason::Failed(why),
                ..
            } => why.message().len(),
            _ => 0,
        };
        std::mem::size_of::<Self>() + held
    }

    /// The [`weight`](Self::weight) of a tell of `payload` bytes, also when
    /// it is queued framed rather than as a value: the budget stays the one
    /// the protocol documents.
    pub(crate) fn tell_weight(payload: usize) -> usize {
        std::mem::size_of::<Self>() + payload
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_from_name_is_fnv1a() {
        // Reference values of 64-bit FNV-1a.
        assert_eq!(MessageTag::from_name("").get(), 0xcbf2_9ce4_8422_2325);
        assert_eq!(MessageTag::from_name("a").get(), 0xaf63_dc4c_8601_ec8c);
    }
}
