//! The network layer of [Proscenium](https://docs.rs/proscenium): the wire
//! format, framing and the authenticated handshake between nodes.
//!
//! A tour of the modules, one line each:
//!
//! * [`wire`]: the wire format (bincode 1.3, size-limited); the only caller of bincode;
//! * `frame`: [`Frame`], the one message enum that crosses a connection, and [`MessageTag`];
//! * `codec`: [`FrameCodec`], length-delimited framing of `Frame`s with a hard size limit;
//! * [`handshake`]: versions, identities and mutual HMAC proof of the cluster secret;
//! * [`encryption`]: the record layer: every byte after the handshake encrypted and authenticated;
//! * `node`: [`Node`], a system that listens, connects, looks up and spawns across nodes;
//! * `registry`: [`Registry`] of [`RemoteMessage`] and [`RemoteSpawn`] types, by stable tag;
//! * `remote_stop`: [`RemoteStop`], whether peers may stop and kill actors through refs they hold;
//! * `seal`: refs as capabilities: the seals that make actors reachable only through refs given out;
//! * `shared`: the state a node's listener, links and refs share; node-down handling;
//! * `link`: one connection: a batching writer task and heartbeats;
//! * `inbound`: what a node does with each frame a peer sends;
//! * `parking`: frames for full local actors, held so one actor never blocks a link;
//! * `stats`: [`NodeStats`], what a node dropped and why;
//! * `metrics`: link metrics through the `metrics` crate (feature `metrics`), round trips timed by pings;
//! * `mailbox_reports`: the mailbox depths other nodes reported for their actors;
//! * `sys`: the one seam to the OS: sockets and the clock (simulated under turmoil);
//! * `transport`: `RemoteDelivery` for a node, the path of every remote ref;
//! * `spawner`: [`Spawner`], the local parent of remotely spawned actors;
//! * `error`: every error type, each naming what to do about it;
//! * `cluster`: membership (SWIM, via foca) over authenticated UDP, joined through seeds;
//!   process groups, cluster-wide names and [`ClusterPool`]s over them;
//! * `dashboard` (feature `dashboard`): a live view of the cluster in the browser, served with axum;
//! * [`protocol`]: the wire protocol, byte by byte (no code).
//!
//! # Building a connection
//!
//! Open a stream, run [`handshake::initiate`] (or [`handshake::accept`] on
//! the listening side) with the node's [`handshake::HandshakeConfig`], and
//! use the [`Framed`](tokio_util::codec::Framed) stream it returns to send
//! and receive [`Frame`]s. A [`FrameError`] on a read means that connection
//! is out of step: close it, and only it.
//!
//! ```
//! use futures_util::{SinkExt, StreamExt};
//! use proscenium_net::handshake::{self, ClusterSecret, HandshakeConfig};
//! use proscenium_net::{Frame, FrameCodec};
//! use proscenium_runtime::NodeId;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = ClusterSecret::new(*b"an example secret, 32 bytes long")?;
//! let a = HandshakeConfig::new("a", NodeId::new(1, 0xa), secret.clone())?;
//! let b = HandshakeConfig::new("b", NodeId::new(2, 0xb), secret)?;
//! let (left, right) = tokio::io::duplex(64 * 1024); // a TcpStream in real life
//! let (dialed, accepted) = tokio::join!(
//!     handshake::initiate(left, &a, FrameCodec::new()),
//!     handshake::accept(right, &b, FrameCodec::new()),
//! );
//! let (mut dialed, mut accepted) = (dialed?, accepted?);
//! dialed.framed.send(Frame::Heartbeat).await?;
//! assert_eq!(accepted.framed.next().await.transpose()?, Some(Frame::Heartbeat));
//! # Ok(())
//! # }
//! ```
#![doc(test(attr(deny(warnings))))]

mod admission;
mod cluster;
mod codec;
#[cfg(feature = "dashboard")]
pub mod dashboard;
pub mod encryption;
mod error;
mod frame;
pub mod handshake;
mod in_flight;
mod inbound;
mod introspection;
mod link;
mod link_stream;
mod link_traffic;
mod mailbox_reports;
mod metrics;
mod node;
mod parking;
mod registry;
mod remote_stop;
mod seal;
mod shared;
mod spawner;
mod stats;
mod sys;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;
pub mod wire;

#[doc = include_str!("../docs/protocol.md")]
pub mod protocol {}

pub use cluster::{
    ClusterPool, ClusterPoolBuilder, GroupError, GroupEvent, Member, MemberState, MembershipConfig,
    MembershipConfigError, NameError, NameEvent, PoolAskError, PoolTellError,
};
pub use codec::{FrameCodec, DEFAULT_MAX_FRAME_LENGTH, HEADER_LEN};
pub use error::{ConfigError, FrameError, HandshakeError, NodeError, RemoteSpawnError, WireError};
pub use frame::{Frame, MessageTag, MAX_ASK_WAITS};
pub use introspection::{ClusterSnapshot, LinkSnapshot, NodeReport, NodeSnapshot, SnapshotError};
pub use node::{Node, NodeBuilder, NodeEvent, GOODBYE_GRACE};
pub use registry::{Registry, RemoteMessage, RemoteRegistration, RemoteSpawn};
pub use remote_stop::RemoteStop;
pub use stats::NodeStats;

#[doc(hidden)]
pub use inventory as __inventory;
pub use spawner::Spawner;

/// The version of the wire protocol this crate speaks.
///
/// Two nodes connect only if their versions are equal; the handshake checks
/// it first. Bump it on any change to the framing, the wire format options,
/// the handshake messages or the [`Frame`] layout.
pub const PROTOCOL_VERSION: u16 = 8;
