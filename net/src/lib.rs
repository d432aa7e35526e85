//! The network layer of [Proscenium](https://docs.rs/proscenium): a
//! [`Node`] is an actor system that listens, connects to other nodes, and
//! reaches their actors through the same `ActorRef`s it uses for its own.
//!
//! # A node
//!
//! Start a node with [`Node::builder`], connect it to another, look up an
//! actor there by name, and ask it as if it were local. Messages that cross
//! the wire implement [`RemoteMessage`] (the `proscenium` facade's
//! `#[message(remote)]` derive writes it) and are known to both nodes'
//! [`Registry`].
//!
//! ```
//! use proscenium_net::{Node, Registry, RemoteMessage};
//! use proscenium_runtime::{Actor, Context, Handler, Message};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Ping(u32);
//! impl Message for Ping {
//!     type Reply = u32;
//! }
//! impl RemoteMessage for Ping {
//!     const TAG: &'static str = "docs::lib::Ping";
//! }
//!
//! struct Ponger;
//! impl Actor for Ponger {}
//! impl Handler<Ping> for Ponger {
//!     async fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u32 {
//!         n + 1
//!     }
//! }
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut registry = Registry::new();
//! registry.handler::<Ponger, Ping>();
//! let secret = b"a cluster secret of 32 bytes ...".to_vec();
//! let a = Node::builder("a")
//!     .secret(secret.clone())
//!     .registry(registry)
//!     .listen("127.0.0.1:0".parse()?)
//!     .start()
//!     .await?;
//! let mut registry = Registry::new();
//! registry.message::<Ping>();
//! let b = Node::builder("b").secret(secret).registry(registry).start().await?;
//!
//! a.system().spawn_named("ponger", Ponger)?;
//! b.connect(a.local_addr().unwrap()).await?;
//! let ponger = b.lookup::<Ponger>("ponger").await.expect("found on a");
//! assert_eq!(ponger.ask(Ping(41)).await?, 42);
//! # b.shutdown().await;
//! # a.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! # The modules
//!
//! A tour, one line each, from the node down to the bytes:
//!
//! * `node`: [`Node`], a system that listens, connects, looks up and spawns across nodes;
//! * `registry`: [`Registry`] of [`RemoteMessage`] and [`RemoteSpawn`] types, by stable tag;
//! * `cluster`: membership (SWIM, via foca) over authenticated UDP, joined through seeds;
//!   process groups, cluster-wide names and [`ClusterPool`]s over them;
//! * `transport`: `RemoteDelivery` for a node, the path of every remote ref;
//! * `remote_stop`: [`RemoteStop`], whether peers may stop and kill actors through refs they hold;
//! * `seal`: refs as capabilities: the seals that make actors reachable only through refs given out;
//! * `spawner`: [`Spawner`], the local parent of remotely spawned actors;
//! * `shared`: the state a node's listener, links and refs share;
//! * `connection`: a connection's life: dial, accept, handshake, install the link, node down, redial;
//! * `link`: one connection: a batching writer task and heartbeats;
//! * `inbound`: what a node does with each frame a peer sends;
//! * `actor_links`: links between actors on two nodes: the link frames, and the far sides kept for a peer;
//! * `parking`: frames for full local actors, held so one actor never blocks a link;
//! * `stats`: [`NodeStats`], what a node dropped and why;
//! * `metrics`: link metrics through the `metrics` crate (feature `metrics`), round trips timed by pings;
//! * `mailbox_reports`: the mailbox depths other nodes reported for their actors;
//! * `dashboard` (feature `dashboard`): a live view of the cluster in the browser, served with axum;
//! * [`handshake`]: versions, identities and mutual HMAC proof of the cluster secret;
//! * [`encryption`]: the record layer: every byte after the handshake encrypted and authenticated;
//! * `frame`: [`Frame`], the one message enum that crosses a connection, and [`MessageTag`];
//! * `codec`: [`FrameCodec`], length-delimited framing of `Frame`s with a hard size limit;
//! * [`wire`]: the wire format (bincode 1.3, size-limited); the only caller of bincode;
//! * `sys`: the one seam to the OS: sockets and the clock (simulated under turmoil);
//! * `error`: every error type, each naming what to do about it;
//! * [`protocol`]: the wire protocol, byte by byte (no code).
//!
//! # Below the node: a raw connection
//!
//! A [`Node`] does all of this itself; tools and tests that speak the
//! protocol directly open a stream, run [`handshake::initiate`] (or
//! [`handshake::accept`] on the listening side) with a
//! [`handshake::HandshakeConfig`], and use the
//! [`Framed`](tokio_util::codec::Framed) stream it returns to send and
//! receive [`Frame`]s. A [`FrameError`] on a read means that connection is
//! out of step: close it, and only it.
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

// The node and what users register with it first, as in the docs above;
// the rest in name order.
mod node;
mod registry;

mod actor_links;
mod admission;
mod cluster;
mod codec;
mod connection;
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
mod outbox;
mod parking;
mod remote_stop;
mod seal;
mod shared;
mod spawner;
mod stats;
mod sys;
mod tell_frame;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;
pub mod wire;

#[doc = include_str!("../docs/protocol.md")]
pub mod protocol {}

pub use node::{Node, NodeBuilder, NodeEvent, GOODBYE_GRACE};
pub use registry::{Registry, RemoteMessage, RemoteRegistration, RemoteSpawn};

pub use cluster::{
    ClusterPool, ClusterPoolBuilder, GroupError, GroupEvent, Member, MemberState, MembershipConfig,
    MembershipConfigError, NameError, NameEvent, PoolAskError, PoolTellError,
};
pub use codec::{FrameCodec, DEFAULT_MAX_FRAME_LENGTH, HEADER_LEN};
pub use error::{ConfigError, FrameError, HandshakeError, NodeError, RemoteSpawnError, WireError};
pub use frame::{Frame, MessageTag, MAX_ASK_WAITS};
pub use introspection::{ClusterSnapshot, LinkSnapshot, NodeReport, NodeSnapshot, SnapshotError};
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
pub const PROTOCOL_VERSION: u16 = 9;
