//! Errors of the network layer, one type per layer, each saying what to do.
//!
//! "Need more bytes" is never an error here: decoders return `Ok(None)` for
//! that, as the tokio-util `Decoder` contract asks.

use crate::encryption::{Encryption, RecordError};

/// A value could not be encoded to, or decoded from, the wire format.
///
/// Returned by [`wire::encode`](crate::wire::encode) and
/// [`wire::decode`](crate::wire::decode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The value would encode to more bytes than allowed.
    #[error(
        "the value encodes to {len} bytes, over the limit of {limit}; \
         send a smaller message or raise the limit on every node"
    )]
    TooLarge {
        /// How many bytes the value needs.
        len: u64,
        /// The limit it was encoded under.
        limit: u64,
    },
    /// The input is longer than the limit it was decoded under.
    #[error(
        "the input is longer than the limit of {limit} bytes; \
         the peer is misbehaving or runs with a larger limit"
    )]
    LimitExceeded {
        /// The limit the input was decoded under.
        limit: u64,
    },
    /// Decoding the input would take more memory than its budget: it holds
    /// many elements that are small on the wire but large in memory.
    #[error(
        "decoding the input would allocate more than {budget} bytes; \
         the peer sent a hostile message, or send bulk data as `Bytes` instead"
    )]
    MemoryLimitExceeded {
        /// The bytes its sequences and maps could use.
        budget: u64,
    },
    /// The input ended in the middle of a value, or a length inside it
    /// points past its end; nothing was allocated for that length.
    #[error("the input ended in the middle of a value; the peer sent a truncated message")]
    Truncated,
    /// The input is not a valid encoding of the expected type.
    #[error("the input is not a valid message ({reason}); the peer sent garbage or speaks another protocol version")]
    Malformed {
        /// What the decoder objected to.
        reason: String,
    },
    /// serde refused to encode the value.
    #[error("the value cannot be encoded ({reason}); check its `Serialize` implementation")]
    Unencodable {
        /// What the encoder objected to.
        reason: String,
    },
}

/// A frame could not be read from, or written to, a connection.
///
/// Any of these on a read means the byte stream is out of step: close that
/// connection (other connections are unaffected) and let the peer reconnect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the codec's maximum; nothing was reserved for it.
    #[error(
        "frame of {len} bytes exceeds the limit of {max} bytes; \
         send smaller messages or raise `max_frame_length` on every node"
    )]
    Oversized {
        /// The length the header announced, or the encoded length when sending.
        len: usize,
        /// The codec's `max_frame_length`.
        max: usize,
    },
    /// The frame's bytes are not a valid frame; the peer sent garbage or
    /// speaks another protocol version.
    #[error("received an undecodable frame, closing the connection: {0}")]
    Decode(#[source] WireError),
    /// The value could not be encoded; nothing was written.
    #[error("could not encode the frame: {0}")]
    Encode(#[source] WireError),
    /// The stream ended in the middle of a frame.
    #[error(
        "the connection closed in the middle of a frame ({buffered} bytes buffered); \
         the peer crashed or was cut off"
    )]
    Truncated {
        /// Bytes of the incomplete frame that had arrived (after its header, if that had been read).
        buffered: usize,
    },
    /// The record layer under the frames refused what arrived: it was
    /// altered, injected, replayed, reordered or cut. The connection is
    /// closed.
    #[error("{0}")]
    Record(#[source] RecordError),
    /// Reading or writing the connection failed.
    #[error("i/o error on the connection: {0}")]
    Io(#[source] std::io::Error),
}

impl From<std::io::Error> for FrameError {
    /// An I/O error, unless it carries the record layer's [`RecordError`]:
    /// that one keeps its type, so a tampered stream is told apart from a
    /// lost one.
    fn from(error: std::io::Error) -> Self {
        match RecordError::carried_by(&error) {
            Some(record) => Self::Record(record.clone()),
            None => Self::Io(error),
        }
    }
}

/// A handshake did not establish a connection.
///
/// Both sides of a failed handshake get one: the side that detected the
/// problem sends the reason before closing, where the protocol allows.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The two nodes speak different protocol versions.
    #[error(
        "protocol version mismatch: this node speaks {ours}, the peer speaks {theirs}; \
         run the same Proscenium version on every node"
    )]
    VersionMismatch {
        /// This node's protocol version.
        ours: u16,
        /// The peer's protocol version.
        theirs: u16,
    },
    /// The peer's proof did not verify: it does not hold this node's cluster secret.
    #[error(
        "the peer failed to prove it holds the cluster secret; \
         configure both nodes with the same secret"
    )]
    BadProof,
    /// The peer refused this node's proof: the two nodes hold different secrets.
    #[error(
        "the peer rejected this node's proof of the cluster secret; \
         configure both nodes with the same secret"
    )]
    ProofRejected,
    /// The peer presented this node's own id or nonce.
    #[error(
        "the peer presented this node's own id or nonce: the node dialed itself, \
         or someone is reflecting its messages; check the peer address"
    )]
    Reflected,
    /// The peer's first message is not a Proscenium hello.
    #[error("the peer does not speak the Proscenium protocol; check the peer address")]
    NotProscenium,
    /// The peer's hello is well-formed but unacceptable.
    #[error("the peer's hello is invalid ({reason}); fix the peer's configuration")]
    InvalidHello {
        /// What is wrong with it.
        reason: String,
    },
    /// The peer sent a message out of turn.
    #[error(
        "the peer sent a {got} message where a {expected} was expected; it is buggy or hostile"
    )]
    UnexpectedMessage {
        /// What this side waited for.
        expected: &'static str,
        /// What arrived.
        got: &'static str,
    },
    /// The peer ended the handshake because this node broke the protocol.
    #[error(
        "the peer ended the handshake because this node broke the protocol; check both nodes' logs"
    )]
    RejectedByPeer,
    /// A handshake message could not be read.
    #[error("received an unreadable handshake message: {0}")]
    Malformed(#[source] FrameError),
    /// The peer closed the connection before the handshake finished.
    #[error(
        "the peer closed the connection during the handshake; \
         see its logs (a different secret or version?)"
    )]
    Closed,
    /// The two nodes protect their frames differently: one encrypts, the
    /// other was built with
    /// [`NodeBuilder::insecure_plaintext`](crate::NodeBuilder::insecure_plaintext).
    #[error(
        "frame protection mismatch: this node uses {ours}, the peer uses {theirs}; \
         configure every node of the cluster the same way"
    )]
    EncryptionMismatch {
        /// This node's protection.
        ours: Encryption,
        /// The peer's protection.
        theirs: Encryption,
    },
    /// The TLS handshake under a link failed (feature `tls`): the peer's
    /// certificate is not issued by the CA this node trusts, does not name
    /// the cluster, or the peer does not speak TLS.
    #[error(
        "the TLS handshake failed: {0}; give both nodes certificates from the CA the \
         other trusts, naming the cluster (see `TlsConfig::new`)"
    )]
    Tls(#[source] std::io::Error),
    /// The whole handshake took longer than its deadline.
    #[error("the handshake did not finish within {0:?}; the peer is stalled, slow, or not a Proscenium node")]
    Timeout(std::time::Duration),
    /// Reading or writing the connection failed.
    #[error("i/o error during the handshake: {0}")]
    Io(#[from] std::io::Error),
    /// The operating system could not supply random bytes for a nonce.
    #[error("no secure random bytes for the handshake nonce: {0}")]
    Entropy(String),
}

/// A handshake configuration value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The cluster secret is too short to resist guessing.
    #[error(
        "the cluster secret is {len} bytes; use at least {min} random bytes \
         (e.g. `openssl rand -hex 32`), or opt in with `allow_weak_secret` for a test"
    )]
    SecretTooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// The cluster secret is a value published with Proscenium (a demo
    /// secret), so anyone can join a cluster that uses it.
    #[error(
        "the cluster secret is a published demo value; generate one (e.g. \
         `openssl rand -hex 32`), or opt in with `allow_weak_secret` for a demo"
    )]
    KnownSecret,
    /// The node name is empty or too long.
    #[error("the node name is {len} bytes; use 1 to {max} bytes")]
    InvalidName {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
}

/// A node operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node's configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No cluster secret was given; every node of a cluster needs the same one.
    #[error("no cluster secret: call `NodeBuilder::secret` with the cluster's shared secret")]
    NoSecret,
    /// The OS gave no randomness for the key of the node's seals.
    #[error("the OS gave no randomness for the node's seal key: {0}; a node needs the OS's random source to start")]
    Entropy(String),
    /// Two remote types claim the same tag.
    #[error("remote type tags collide: {}", .0.join("; "))]
    TagCollision(Vec<String>),
    /// The listening socket could not be opened.
    #[error("could not listen on {addr}: {source}; pick a free port (or port 0)")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Cluster membership needs an address other nodes can reach.
    #[error("cluster membership needs an address other nodes can reach, not {0}: listen on a concrete address, or give the routable one with `NodeBuilder::advertise`")]
    MembershipAddress(std::net::SocketAddr),
    /// The membership socket (UDP, on the listen port) could not be opened.
    #[error("could not open the membership socket (UDP) on {addr}: {source}; pick a port free for both TCP and UDP (or port 0)")]
    MembershipBind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The membership settings cannot work together.
    #[error(transparent)]
    MembershipConfig(#[from] crate::MembershipConfigError),
    /// The mDNS responder for LAN discovery could not start.
    #[cfg(feature = "mdns")]
    #[error("could not start mDNS discovery: {0}; check that multicast is allowed, or join through `NodeBuilder::seeds` instead")]
    Mdns(String),
    /// Cluster membership was asked for on a node that does not listen.
    #[error("cluster membership needs a listening node: call `NodeBuilder::listen`")]
    MembershipWithoutListen,
    /// The peer could not be reached.
    #[error(
        "could not connect to {addr}: {source}; check that the node runs and the address is right"
    )]
    Connect {
        /// The address dialed.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The peer did not accept the TCP connection in time: the address is
    /// black-holed (a firewall drops packets), or the host is down.
    #[error(
        "could not connect to {addr} within {timeout:?}; check that the node runs, \
         the address is right and no firewall drops the packets"
    )]
    ConnectTimeout {
        /// The address dialed.
        addr: std::net::SocketAddr,
        /// The deadline ([`NodeBuilder::connect_timeout`](crate::NodeBuilder::connect_timeout)).
        timeout: std::time::Duration,
    },
    /// The peer was reached but the handshake failed.
    #[error("handshake with {addr} failed: {source}")]
    Handshake {
        /// The address dialed.
        addr: std::net::SocketAddr,
        /// Why.
        source: HandshakeError,
    },
    /// There is no connection to that node.
    #[error("node {0} is not connected; `connect` to it first")]
    NodeDown(String),
    /// The node did not answer in time.
    #[error("node {0} did not answer in time")]
    Timeout(String),
    /// The actor type is not registered as spawnable, here or on the target node.
    #[error("actor type `{0}` is not spawnable remotely; register it with `Registry::spawnable` on both nodes")]
    NotSpawnable(&'static str),
    /// The target node did not spawn the actor.
    #[error("the remote node did not spawn the actor: {0}")]
    Spawn(#[from] RemoteSpawnError),
    /// The node is shutting down.
    #[error("the node is shut down")]
    ShutDown,
}

/// Why a node did not spawn an actor that another node asked it to
/// ([`Node::spawn_remote`](crate::Node::spawn_remote)). It crosses the wire
/// in [`Frame::Spawned`](crate::Frame::Spawned).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteSpawnError {
    /// The actor type is not registered as spawnable on the target node.
    #[error(
        "actor tag {tag} is not spawnable on node {node}; register it with \
         `Registry::spawnable` there"
    )]
    NotSpawnable {
        /// The actor type's tag.
        tag: crate::MessageTag,
        /// The target node's name.
        node: String,
    },
    /// The spawn arguments could not be encoded here or decoded there.
    #[error(
        "the spawn arguments did not cross the wire: {0}; build both nodes from the same types"
    )]
    BadArguments(String),
    /// The requesting node already runs as many actors on the target node
    /// as that node allows one peer.
    #[error(
        "the node already runs {limit} actors spawned by this node; stop some \
         first, or raise `NodeBuilder::max_remote_spawns_per_peer` there"
    )]
    QuotaExceeded {
        /// The target node's per-peer limit.
        limit: u32,
    },
    /// The target node tried and failed (it is shutting down, or the actor
    /// ended while starting).
    #[error("the actor could not be spawned: {0}")]
    Failed(String),
}
