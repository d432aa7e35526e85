//! [`Node`]: a [`System`] that listens on TCP and reaches actors on other nodes.

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use dashmap::DashMap;
use futures_util::stream::{BoxStream, Stream, StreamExt};
use proscenium_runtime::remote::{self, Seal};
use proscenium_runtime::{Actor, ActorRef, NodeId, SupervisorStrategy, System};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::PendingHandshakes;
use crate::cluster::{Member, Membership, MembershipConfig};
use crate::encryption::Encryption;
use crate::handshake::{ClusterSecret, HandshakeConfig};
use crate::registry::{Registry, RemoteSpawn};
use crate::remote_stop::StopExposure;
use crate::seal::SealKey;
use crate::shared::{FlowSettings, NodeShared, PendingQuery};
use crate::spawner::{SpawnQuota, Spawner};
use crate::stats::{Counters, NodeStats};
use crate::sys::{Entropy, Listener};
use crate::{Frame, MessageTag, NodeError, RemoteSpawnError, RemoteStop, DEFAULT_MAX_FRAME_LENGTH};

/// A change in the set of connected nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A node connected (or reconnected, possibly as a new incarnation).
    NodeUp {
        /// The node run.
        node: NodeId,
        /// Its name.
        name: String,
    },
    /// A node's connection was lost, or replaced by a new one (a
    /// `NodeUp` follows then): pending asks to it have failed with
    /// `NodeDown` and watchers of its actors got `Terminated { NodeDown }`;
    /// a watcher that still cares watches again after the `NodeUp`.
    NodeDown {
        /// The node run.
        node: NodeId,
        /// Its name.
        name: String,
    },
    /// A cluster member is up: it joined, restarted as a new run, or
    /// answered again after a suspicion. Its link is dialed if missing.
    MemberUp {
        /// The member's run.
        node: NodeId,
        /// Its name.
        name: String,
        /// Where it listens.
        addr: SocketAddr,
    },
    /// A cluster member stopped answering and others are asked to check it.
    MemberSuspect {
        /// The member's run.
        node: NodeId,
        /// Its name.
        name: String,
        /// Where it listens.
        addr: SocketAddr,
    },
    /// A cluster member was declared down (or replaced by a new run):
    /// pending asks to it have failed with `NodeDown`, whether or not its
    /// TCP connection had noticed.
    MemberDown {
        /// The member's run.
        node: NodeId,
        /// Its name.
        name: String,
        /// Where it listens.
        addr: SocketAddr,
    },
    /// A cluster member left on purpose (its `Node::shutdown`).
    MemberLeft {
        /// The member's run.
        node: NodeId,
        /// Its name.
        name: String,
        /// Where it listens.
        addr: SocketAddr,
    },
}

/// One process of a Proscenium cluster: an actor [`System`] plus TCP links
/// to other nodes, so that refs to actors on those nodes work like local ones.
///
/// # Examples
///
/// ```
/// use proscenium_net::{Node, Registry, RemoteMessage};
/// use proscenium_runtime::{Actor, Context, Handler, Message};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Ping(u32);
/// impl Message for Ping {
///     type Reply = u32;
/// }
/// impl RemoteMessage for Ping {
///     const TAG: &'static str = "docs::Ping";
/// }
///
/// struct Ponger;
/// impl Actor for Ponger {}
/// impl Handler<Ping> for Ponger {
///     async fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u32 {
///         n + 1
///     }
/// }
///
/// # #[tokio::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut registry = Registry::new();
/// registry.handler::<Ponger, Ping>();
/// let secret = b"a cluster secret of 32 bytes ...".to_vec();
/// let a = Node::builder("a").secret(secret.clone()).registry(registry).listen("127.0.0.1:0".parse()?).start().await?;
/// let mut registry = Registry::new();
/// registry.message::<Ping>();
/// let b = Node::builder("b").secret(secret).registry(registry).start().await?;
///
/// a.system().spawn_named("ponger", Ponger)?;
/// b.connect(a.local_addr().unwrap()).await?;
/// let ponger = b.lookup::<Ponger>("ponger").await.expect("found on a");
/// assert_eq!(ponger.ask(Ping(41)).await?, 42);
/// # b.shutdown().await;
/// # a.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Node {
    shared: Arc<NodeShared>,
    local_addr: Option<SocketAddr>,
    /// What it tells the cluster its address is.
    advertised_addr: Option<SocketAddr>,
    /// Set when the node is a cluster member.
    membership: Option<Membership>,
}

/// Bytes of frames that may wait to be written to one peer before tells wait.
const DEFAULT_OUTBOX_BYTES: usize = 16 * 1024 * 1024;
/// Bytes of frames that may wait for full actors, per peer.
const DEFAULT_PARKING_BYTES: usize = 32 * 1024 * 1024;
/// How long a peer may take no bytes before its link is closed.
const DEFAULT_WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Actors one peer may have spawned on a node at once, unless configured.
const DEFAULT_MAX_REMOTE_SPAWNS_PER_PEER: u32 = 10_000;

/// How long [`Node::shutdown`] lets links write what is queued and a
/// goodbye, unless [`NodeBuilder::shutdown_timeout`] says otherwise.
pub const GOODBYE_GRACE: Duration = Duration::from_secs(1);

/// Watches one peer may hold on a node's actors, unless configured.
const DEFAULT_MAX_WATCHES_PER_PEER: usize = 100_000;

/// How long a dial waits for the TCP connection, unless configured.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Inbound connections in handshake at once, unless configured.
const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 128;

/// The seed sources given to a builder.
#[derive(Default)]
struct SeedSources(Vec<BoxStream<'static, SocketAddr>>);

impl std::fmt::Debug for SeedSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} seed sources", self.0.len())
    }
}

/// Configures a [`Node`]; made by [`Node::builder`].
#[derive(Debug)]
pub struct NodeBuilder {
    name: String,
    /// Metrics on (`NodeBuilder::metrics`, feature `metrics`).
    metrics: bool,
    secret: Option<Vec<u8>>,
    previous_secret: Option<Vec<u8>>,
    allow_weak_secret: bool,
    encryption: Encryption,
    listen: Option<SocketAddr>,
    registry: Registry,
    max_frame_length: usize,
    flow: FlowSettings,
    heartbeat: Duration,
    handshake_timeout: Duration,
    ask_timeout: Duration,
    max_remote_spawns_per_peer: u32,
    max_pending_handshakes: usize,
    connect_timeout: Duration,
    max_watches_per_peer: usize,
    /// Whether peers may stop and kill this node's actors.
    remote_stop: RemoteStop,
    /// Seeds the node's random choices instead of the OS (simulation only).
    rng_seed: Option<u64>,
    /// Whether to run cluster membership, and the seeds to join through.
    cluster: Option<Vec<SocketAddr>>,
    /// The address other members reach this one at, if not the listen address.
    advertise: Option<SocketAddr>,
    /// Where more seeds come from while the node runs.
    seed_sources: SeedSources,
    /// Mutual TLS under every link (feature `tls`).
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsConfig>,
    /// The cluster label to find other members by on the LAN (mDNS).
    #[cfg(feature = "mdns")]
    mdns: Option<String>,
    /// The failure detector's timings.
    membership: MembershipConfig,
}

impl NodeBuilder {
    /// The shared cluster secret; every node of the cluster must have the
    /// same one. It authenticates the handshake and membership datagrams
    /// and keys the encryption of every frame, so it must be hard to guess:
    /// [`start`](Self::start) refuses one shorter than 32 bytes
    /// ([`MIN_SECRET_LEN`](crate::handshake::MIN_SECRET_LEN)) or a demo
    /// secret published with Proscenium, unless
    /// [`allow_weak_secret`](Self::allow_weak_secret). Generate one with
    /// `openssl rand -hex 32` (64 characters) and give it to every node
    /// the way you give it other credentials (an environment variable, a
    /// secrets manager), never in source code.
    pub fn secret(mut self, secret: impl Into<Vec<u8>>) -> Self {
        self.secret = Some(secret.into());
        self
    }

    /// Accepts a short or published [`secret`](Self::secret): for tests and
    /// demos on one machine, where anyone joining does no harm. Never in
    /// production: a weak secret can be guessed offline from one recorded
    /// handshake.
    pub fn allow_weak_secret(mut self) -> Self {
        self.allow_weak_secret = true;
        self
    }

    /// Also accepts peers that hold `previous`, the secret the cluster is
    /// moving away from, so the secret can change without downtime:
    ///
    /// 1. restart every node with the new secret as `previous_secret` (the
    ///    old one still as [`secret`](Self::secret));
    /// 2. restart every node with the new secret as `secret` and the old one
    ///    as `previous_secret`;
    /// 3. restart every node with only the new `secret`.
    ///
    /// During steps 1 and 2 every pair of nodes connects: a node proves its
    /// own secret, and the accepting side answers in whichever of its two
    /// secrets the dialer proved. Membership datagrams are accepted under
    /// either secret the same way. The previous secret is checked like the
    /// secret itself.
    pub fn previous_secret(mut self, previous: impl Into<Vec<u8>>) -> Self {
        self.previous_secret = Some(previous.into());
        self
    }

    /// Runs every link as a mutual TLS 1.3 session with `tls`'s
    /// certificates (cargo feature `tls`), instead of proving the cluster
    /// secret and adding the record layer: a peer must present a
    /// certificate from the CA `tls` trusts, naming the cluster. A node
    /// with TLS needs no [`secret`](Self::secret) unless it also joins a
    /// [`cluster`](Self::cluster), whose membership datagrams (UDP) the
    /// secret still authenticates. See [`crate::tls`].
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: crate::tls::TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Sends frames as plaintext, with no encryption and no integrity
    /// check, instead of sealing them with AES-256-GCM (the default).
    /// Anyone on the network path can then read every message, alter it,
    /// and inject frames, such as a `Kill`, into the connection: use it
    /// only for benchmarks, or between hosts whose network nobody else can
    /// reach. Every node of the cluster must agree; an encrypting node and
    /// a plaintext one refuse each other
    /// ([`HandshakeError::EncryptionMismatch`](crate::HandshakeError::EncryptionMismatch)).
    /// The handshake and membership datagrams stay authenticated either way.
    pub fn insecure_plaintext(mut self) -> Self {
        self.encryption = Encryption::InsecurePlaintext;
        self
    }

    /// Accepts connections on `addr` (port 0 picks a free port; see
    /// [`Node::local_addr`]). Without it the node only dials out. A
    /// cluster member listening on all interfaces (`0.0.0.0` or `[::]`)
    /// also needs [`advertise`](Self::advertise).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }

    /// The address other cluster members reach this node at, when it is
    /// not the [`listen`](Self::listen) address: a node that listens on
    /// `0.0.0.0:7000` (all interfaces) advertises `10.0.0.5:7000`, or the
    /// address a NAT or container port mapping forwards to it. Port 0 means
    /// the port the node listens on. Members send membership datagrams and
    /// dial links to this address, and list this node with it in
    /// [`Node::members`]; the node itself still binds only the listen
    /// address. Without it, the listen address is advertised, which must
    /// then be a concrete one.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::Node;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder("a")
    ///     .secret(b"a cluster secret of 32 bytes ...".to_vec())
    ///     .listen("0.0.0.0:0".parse()?)
    ///     .advertise("127.0.0.1:0".parse()?) // in real life: the host's routable address
    ///     .cluster()
    ///     .start()
    ///     .await?;
    /// let port = node.local_addr().unwrap().port();
    /// assert_eq!(node.advertised_addr(), Some(([127, 0, 0, 1], port).into()));
    /// assert_eq!(node.members()[0].addr, ([127, 0, 0, 1], port).into());
    /// # node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn advertise(mut self, addr: SocketAddr) -> Self {
        self.advertise = Some(addr);
        self
    }

    /// The remote-capable message and actor types this node knows; by
    /// default [`Registry::discovered`], every type the derive macros marked
    /// remote. This replaces it: start from `Registry::discovered()` to add
    /// types by hand.
    pub fn registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self
    }

    /// The largest frame accepted or sent (default 8 MiB).
    pub fn max_frame_length(mut self, max: usize) -> Self {
        self.max_frame_length = max;
        self
    }

    /// How many bytes of frames may wait to be written to one peer
    /// (default 16 MiB) before a remote `tell` waits for room (`try_tell`
    /// returns [`TrySendError::Full`](proscenium_runtime::TrySendError::Full)).
    /// This is what stops a sender faster than the network from growing
    /// memory without bound. Every frame kind counts, by its size in
    /// memory, and a tell keeps counting after it is written, until the
    /// peer acknowledges it (so this also bounds the tells whose fate a
    /// broken connection leaves unknown); asks, replies and control frames
    /// are never held back (so
    /// they cannot deadlock behind tells), but a link whose outbox passes
    /// twice this (and at least 1 MiB more than this) is closed as
    /// overloaded (its pending asks fail with
    /// `NodeDown`). The bound on tells is soft: senders that find room at
    /// the same moment may all queue.
    pub fn outbox_bytes(mut self, bytes: usize) -> Self {
        self.flow.outbox_bytes = bytes.max(1);
        self
    }

    /// How many bytes of frames from one peer may wait for local actors
    /// whose mailboxes are full (default 32 MiB). Below it, a full actor
    /// delays only its own frames (the peer is paused for that actor);
    /// past it the node stops reading from that peer until they drain.
    pub fn parking_bytes(mut self, bytes: usize) -> Self {
        self.flow.parking_bytes = bytes.max(1);
        self
    }

    /// How long a peer may accept no bytes at all while frames wait to be
    /// written to it (default 10 s) before its link is closed as stalled;
    /// also how long tells written to it may wait for an acknowledgement
    /// while none at all comes (checked four times per timeout). A slow
    /// peer that takes bytes, however few, is not stalled: it acknowledges
    /// at least once per heartbeat interval while bytes arrive, so keep
    /// this longer than the [`heartbeat`](Self::heartbeat).
    pub fn write_stall_timeout(mut self, timeout: Duration) -> Self {
        self.flow.write_stall_timeout = timeout;
        self
    }

    /// How long [`Node::shutdown`] lets links send what is queued and say
    /// goodbye (default [`GOODBYE_GRACE`], 1 s) before it ends them
    /// regardless.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.flow.shutdown_timeout = timeout;
        self
    }

    /// Turns metrics on or off (off by default): the node's system's (see
    /// `SystemBuilder::metrics`) and its links' (frames, bytes, outbox,
    /// round-trip time, reconnects; labelled with the peer's name). The
    /// `metrics` module of the `proscenium` crate lists them all. Install
    /// the recorder before starting the node.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::Node;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder("alpha")
    ///     .secret("a secret of at least thirty-two bytes!")
    ///     .metrics(true)
    ///     .start()
    ///     .await?;
    /// # node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled;
        self
    }

    /// How often an idle link sends a heartbeat (default 1 s; kept within
    /// 1 ms and 10 minutes). Each node announces its interval in the
    /// handshake, and both ends of a link use the larger of the two: a peer
    /// from which not a byte arrives for four of those intervals is
    /// declared down (checked once per interval, so within five). Bytes of
    /// a frame still arriving count, so a large frame on a slow link is not
    /// silence.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = crate::handshake::clamp_heartbeat(interval);
        self
    }

    /// How many watches one peer may hold on this node's actors at once
    /// (default 100,000; watches of actors that stopped do not count).
    /// Past it, a peer's `Watch` is answered at once with
    /// `Terminated { reason: NodeDown }`, as if this node were unreachable,
    /// so a peer cannot grow this node's memory by watching with ever new
    /// watcher ids.
    ///
    /// The same bound, counted apart, holds for the links a peer's actors
    /// make to this node's actors (see `Context::link`): past it a link is
    /// answered as if this node were unreachable, so the linking actor
    /// fails with `NodeDown` as its peer's reason.
    pub fn max_watches_per_peer(mut self, watches: usize) -> Self {
        self.max_watches_per_peer = watches;
        self
    }

    /// Whether peers may stop and kill this node's actors through the refs
    /// they were given (default [`RemoteStop::Allowed`]).
    ///
    /// A peer can only address actors whose refs it was given (refs are
    /// capabilities; see `protocol`, "Trust model: reaching actors").
    /// By default it may then do with a ref all that local code may,
    /// `stop` and `kill` included, so a remote ref works like a local one.
    /// With [`RemoteStop::OptIn`], a peer's stop or kill reaches only the
    /// actors that opted in with [`Node::allow_remote_stop`] and those
    /// peers spawned here with [`Node::spawn_remote`]; to any other actor
    /// it does nothing (counted in
    /// [`NodeStats::remote_stops_refused`](crate::NodeStats::remote_stops_refused)).
    /// Use it when this node hands refs to peers that should message its
    /// actors but not end them. Local code may always stop its actors.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::{Node, RemoteStop};
    /// use proscenium_runtime::Actor;
    ///
    /// struct Ledger;
    /// impl Actor for Ledger {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder("bank")
    ///     .secret(b"a cluster secret of 32 bytes ...".to_vec())
    ///     .remote_stop(RemoteStop::OptIn)
    ///     .start()
    ///     .await?;
    /// let ledger = node.system().spawn_named("ledger", Ledger)?; // peers may not stop it
    /// let session = node.system().spawn(Ledger)?;
    /// node.allow_remote_stop(&session); // peers given its ref may
    /// # let _ = ledger;
    /// node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn remote_stop(mut self, policy: RemoteStop) -> Self {
        self.remote_stop = policy;
        self
    }

    /// How long [`Node::connect`] and redials wait for the TCP connection
    /// (default 10 s) before failing with [`NodeError::ConnectTimeout`];
    /// the handshake after it has its own deadline
    /// ([`handshake_timeout`](Self::handshake_timeout)).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The deadline of a handshake (default 10 s).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How many inbound connections may be in handshake at once (default
    /// 128). When all places are taken, a new connection closes the oldest
    /// pending one that has not yet sent a valid hello; if every pending one
    /// has, the new one is closed at once. So idle or garbage connections,
    /// however many, hold at most this many sockets, and a real peer, whose
    /// hello arrives one round trip after it connects, still gets in.
    pub fn max_pending_handshakes(mut self, connections: usize) -> Self {
        self.max_pending_handshakes = connections.max(1);
        self
    }

    /// The default deadline of asks made from this node's system (default 5 s).
    pub fn ask_timeout(mut self, timeout: Duration) -> Self {
        self.ask_timeout = timeout;
        self
    }

    /// How many actors one peer may have spawned on this node at once
    /// (default 10,000), counted by the peer's node number, so a peer that
    /// restarts finds the actors its last run left here still counted.
    /// Past it, the peer's [`Node::spawn_remote`] fails with
    /// [`RemoteSpawnError::QuotaExceeded`](crate::RemoteSpawnError::QuotaExceeded);
    /// an actor that stops frees its place.
    pub fn max_remote_spawns_per_peer(mut self, actors: u32) -> Self {
        self.max_remote_spawns_per_peer = actors;
        self
    }

    /// Seeds the node's random choices (its run's incarnation, the order
    /// in which membership probes members, the jitter of redials and join
    /// attempts) with `seed` instead of the OS's randomness, so that a
    /// deterministic simulation repeats from its seed. Only with the
    /// `simulation` feature: every real node must draw its own. Handshake
    /// nonces always come from the OS.
    #[cfg(feature = "simulation")]
    pub fn rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Makes the node a cluster member: it runs SWIM membership over UDP
    /// on its listen port (which it must have, see [`listen`](Self::listen))
    /// and lists the members in [`Node::members`]. Without
    /// [`seeds`](Self::seeds) it waits to be joined: the first node of a
    /// cluster.
    pub fn cluster(mut self) -> Self {
        self.cluster.get_or_insert_with(Vec::new);
        self
    }

    /// Makes the node a cluster member (see [`cluster`](Self::cluster))
    /// that also joins through the addresses `source` yields while the
    /// node runs: a DNS name re-resolved now and then, a service
    /// registry's watch, LAN discovery (`NodeBuilder::mdns`, with the
    /// feature `mdns`, is one). Each
    /// address that is not already a live member is announced to at once
    /// and kept, like the [`seeds`](Self::seeds), for later join attempts
    /// (up to 64 of them, the oldest forgotten first). A seed source only
    /// finds members: whether a member is up or down is always SWIM's
    /// call. Several sources may be given; each ends when it ends or the
    /// node shuts down.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::SocketAddr;
    /// use proscenium_net::Node;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let secret = b"a cluster secret of 32 bytes ...".to_vec();
    /// let first = Node::builder("first").secret(secret.clone())
    ///     .listen("127.0.0.1:0".parse()?).cluster().start().await?;
    /// // Found later, by whatever means: here, a channel.
    /// let (found, source) = tokio::sync::mpsc::unbounded_channel::<SocketAddr>();
    /// let source = futures_util::stream::unfold(source, |mut source| async move {
    ///     source.recv().await.map(|addr| (addr, source))
    /// });
    /// let second = Node::builder("second").secret(secret)
    ///     .listen("127.0.0.1:0".parse()?).seed_source(source).start().await?;
    /// let mut events = second.events();
    /// found.send(first.advertised_addr().unwrap())?;
    /// while !matches!(events.recv().await?, proscenium_net::NodeEvent::MemberUp { .. }) {}
    /// assert_eq!(second.members().len(), 2);
    /// # second.shutdown().await;
    /// # first.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn seed_source<S>(mut self, source: S) -> Self
    where
        S: Stream<Item = SocketAddr> + Send + 'static,
    {
        self.cluster.get_or_insert_with(Vec::new);
        self.seed_sources.0.push(source.boxed());
        self
    }

    /// Makes the node a cluster member (see [`cluster`](Self::cluster))
    /// that finds other members on the local network by multicast DNS
    /// (feature `mdns`): it publishes itself as a `_proscenium._udp.local.`
    /// service labeled with `cluster` at its
    /// [advertised address](Self::advertise), and joins through every
    /// node of the same label it finds, as a [seed
    /// source](Self::seed_source). Discovery only finds members; failure
    /// detection stays SWIM's, over the membership datagrams. Nodes of
    /// other clusters on the LAN are not joined (another label), and a
    /// node without the cluster secret could not join anyway.
    ///
    /// mDNS needs multicast on the LAN (most office and home networks;
    /// rarely in clouds or between containers): elsewhere use
    /// [`seeds`](Self::seeds). The mDNS responder runs on its own thread
    /// (the `mdns-sd` crate) on UDP port 5353 of every interface.
    #[cfg(feature = "mdns")]
    pub fn mdns(mut self, cluster: impl Into<String>) -> Self {
        self.cluster.get_or_insert_with(Vec::new);
        self.mdns = Some(cluster.into());
        self
    }

    /// Makes the node a cluster member (see [`cluster`](Self::cluster))
    /// that joins through these seeds: it announces itself to all of them,
    /// again with backoff and jitter until one answers (and again whenever
    /// it knows no other member). Its own address among them is skipped,
    /// so every node may be given the same list.
    pub fn seeds(mut self, seeds: impl IntoIterator<Item = SocketAddr>) -> Self {
        self.cluster.get_or_insert_with(Vec::new).extend(seeds);
        self
    }

    /// How a cluster member detects failures: probe period, suspicion time
    /// and the rest (default [`MembershipConfig::default`], tuned for a
    /// LAN: see BENCHMARKS.md, "Membership", for how fast a killed
    /// member is declared down with it).
    /// Every member of a cluster should use the same values. Without
    /// [`cluster`](Self::cluster) or [`seeds`](Self::seeds) it has no effect.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use proscenium_net::{MembershipConfig, Node};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder("a")
    ///     .secret(b"a cluster secret of 32 bytes ...".to_vec())
    ///     .listen("127.0.0.1:0".parse()?)
    ///     .cluster()
    ///     .membership(MembershipConfig::default().suspicion(Duration::from_secs(5)))
    ///     .start()
    ///     .await?;
    /// # node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn membership(mut self, config: MembershipConfig) -> Self {
        self.membership = config;
        self
    }

    /// Starts the node's system, and its listener if one was asked for.
    ///
    /// # Errors
    ///
    /// [`NodeError::NoSecret`], [`NodeError::Config`] for a bad name or
    /// secret, [`NodeError::TagCollision`], [`NodeError::Bind`]; for a
    /// cluster member [`NodeError::MembershipWithoutListen`],
    /// [`NodeError::MembershipConfig`], [`NodeError::MembershipAddress`],
    /// [`NodeError::MembershipBind`].
    pub async fn start(self) -> Result<Node, NodeError> {
        if self.cluster.is_some() {
            if self.listen.is_none() {
                return Err(NodeError::MembershipWithoutListen);
            }
            self.membership.check()?;
        }
        self.registry.check().map_err(NodeError::TagCollision)?;
        let entropy = self.rng_seed.map_or_else(Entropy::from_os, Entropy::seeded);
        let check = if self.allow_weak_secret {
            ClusterSecret::allowing_weak
        } else {
            ClusterSecret::new
        };
        let secret = match self.secret {
            Some(secret) => check(secret)?,
            None if self.uses_tls() && self.cluster.is_none() => unused_secret(&entropy)?,
            None => return Err(NodeError::NoSecret),
        };
        let previous_secret = self.previous_secret.map(check).transpose()?;
        // From the OS even under a seeded simulation: seals must not be guessable.
        let seals = SealKey::random().map_err(|e| NodeError::Entropy(e.to_string()))?;
        // The node number comes from the name, so a restarted node keeps it;
        // the incarnation is new on every start (never 0, which no run has).
        let node = NodeId::new(
            MessageTag::from_name(&self.name).get(),
            entropy.next_u64().max(1),
        );
        remote::register_node_name(node.number(), &self.name);
        let mut handshake = HandshakeConfig::new(self.name.clone(), node, secret)?
            .with_timeout(self.handshake_timeout)
            .with_heartbeat(self.heartbeat)
            .with_encryption(self.encryption);
        if let Some(previous) = previous_secret {
            handshake = handshake.with_previous_secret(previous);
        }
        let system = System::builder()
            .node_id(node)
            .ask_timeout(self.ask_timeout);
        #[cfg(feature = "metrics")]
        let system = system.metrics(self.metrics);
        let system = system.build();
        let spawner = system
            .spawn(Spawner {
                strategy: SupervisorStrategy::one_for_one(),
            })
            .map_err(|_| NodeError::ShutDown)?;
        let listener = match self.listen {
            Some(addr) => Some(
                Listener::bind(addr)
                    .await
                    .map_err(|source| NodeError::Bind { addr, source })?,
            ),
            None => None,
        };
        let local_addr = listener.as_ref().and_then(|l| l.local_addr().ok());
        let advertised_addr = local_addr.map(|bound| match self.advertise {
            Some(addr) if addr.port() == 0 => SocketAddr::new(addr.ip(), bound.port()),
            Some(addr) => addr,
            None => bound,
        });
        let shared = Arc::new_cyclic(|weak| NodeShared {
            ref_context: Arc::new(crate::transport::RefContext::new(weak.clone())),
            system,
            name: self.name,
            registry: self.registry,
            handshake,
            max_frame_length: self.max_frame_length,
            flow: self.flow,
            stats: Counters::default(),
            metrics: crate::metrics::NodeMetrics::new(self.metrics),
            heartbeat: self.heartbeat,
            connect_timeout: self.connect_timeout,
            max_watches_per_peer: self.max_watches_per_peer,
            pending_handshakes: PendingHandshakes::new(self.max_pending_handshakes),
            links: DashMap::default(),
            dials: DashMap::new(),
            asks: Arc::default(),
            queries: Arc::default(),
            watches: DashMap::new(),
            next_correlation: AtomicU64::new(1),
            events: broadcast::channel(256).0,
            cancel: CancellationToken::new(),
            tasks: TaskTracker::new(),
            spawner: std::sync::Mutex::new(spawner),
            mailbox_reports: Arc::default(),
            spawn_quota: SpawnQuota::new(self.max_remote_spawns_per_peer),
            #[cfg(feature = "tls")]
            tls: self.tls,
            entropy,
            seals,
            remote_stop: StopExposure::new(self.remote_stop),
            observed: std::sync::OnceLock::new(),
        });
        #[cfg_attr(not(feature = "mdns"), allow(unused_mut))]
        let mut seed_sources = self.seed_sources.0;
        #[cfg(feature = "mdns")]
        if let (Some(label), Some(advertised)) = (&self.mdns, advertised_addr) {
            match crate::cluster::mdns::discover(label, &shared.name, advertised) {
                Ok(found) => seed_sources.push(found),
                Err(error) => {
                    shared.system.shutdown().await;
                    return Err(error);
                }
            }
        }
        let membership = match (self.cluster, local_addr, advertised_addr) {
            (Some(seeds), Some(bound), Some(advertised)) => {
                let addrs = (bound, advertised);
                let seeds = (seeds, seed_sources);
                match Membership::start(&shared, addrs, seeds, &self.membership).await {
                    Ok(membership) => Some(membership),
                    Err(error) => {
                        shared.system.shutdown().await;
                        return Err(error);
                    }
                }
            }
            _ => None,
        };
        if let Some(listener) = listener {
            shared.tasks.spawn(crate::connection::accept_loop(
                Arc::clone(&shared),
                listener,
            ));
        }
        let _ = shared.observed.set(crate::introspection::Observed {
            addr: advertised_addr,
            membership: membership.as_ref().map(Membership::view),
        });
        tracing::info!(name = %shared.name, node = %node, addr = ?local_addr, "node started");
        Ok(Node {
            shared,
            local_addr,
            advertised_addr,
            membership,
        })
    }
}

/// `a::b::Counter<x::Y>` becomes `Counter<Y>`: the type's own name, generics
/// included, without module paths.
pub(crate) fn bare_type_name(full: &str) -> String {
    let mut bare = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        match c {
            ':' => segment_start = i + 1,
            '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | '&' | ';' => {
                bare.push_str(&full[segment_start..i]);
                bare.push(c);
                segment_start = i + 1;
            }
            _ => {}
        }
    }
    bare.push_str(&full[segment_start..]);
    bare
}

impl Node {
    /// A builder for a node called `name` (unique in its cluster; its node
    /// number is derived from it).
    pub fn builder(name: impl Into<String>) -> NodeBuilder {
        NodeBuilder {
            name: name.into(),
            secret: None,
            previous_secret: None,
            allow_weak_secret: false,
            encryption: Encryption::default(),
            listen: None,
            registry: Registry::discovered(),
            max_frame_length: DEFAULT_MAX_FRAME_LENGTH,
            flow: FlowSettings {
                outbox_bytes: DEFAULT_OUTBOX_BYTES,
                parking_bytes: DEFAULT_PARKING_BYTES,
                write_stall_timeout: DEFAULT_WRITE_STALL_TIMEOUT,
                shutdown_timeout: GOODBYE_GRACE,
            },
            heartbeat: crate::handshake::DEFAULT_HEARTBEAT,
            metrics: false,
            handshake_timeout: crate::handshake::DEFAULT_TIMEOUT,
            ask_timeout: System::DEFAULT_ASK_TIMEOUT,
            max_remote_spawns_per_peer: DEFAULT_MAX_REMOTE_SPAWNS_PER_PEER,
            max_pending_handshakes: DEFAULT_MAX_PENDING_HANDSHAKES,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_watches_per_peer: DEFAULT_MAX_WATCHES_PER_PEER,
            remote_stop: RemoteStop::default(),
            rng_seed: None,
            cluster: None,
            advertise: None,
            seed_sources: SeedSources::default(),
            #[cfg(feature = "mdns")]
            mdns: None,
            #[cfg(feature = "tls")]
            tls: None,
            membership: MembershipConfig::default(),
        }
    }

    /// The node's actor system: spawn actors here.
    pub fn system(&self) -> &System {
        &self.shared.system
    }

    /// This node run's id.
    pub fn id(&self) -> NodeId {
        self.shared.node_id()
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The address the node listens on, if it listens.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// The address this node gives other cluster members to reach it: the
    /// one set with [`NodeBuilder::advertise`], else
    /// [`local_addr`](Self::local_addr); `None` if it does not listen.
    pub fn advertised_addr(&self) -> Option<SocketAddr> {
        self.advertised_addr
    }

    /// The nodes connected now, with their names.
    pub fn peers(&self) -> Vec<(NodeId, String)> {
        self.shared
            .links
            .iter()
            .map(|l| (l.peer, l.name.clone()))
            .collect()
    }

    /// The cluster's members as this node sees them, by name, this node
    /// included; empty unless the node is a cluster member (see
    /// [`NodeBuilder::cluster`]). A member declared down or left stays
    /// listed, with that state, until the cluster forgets it.
    ///
    /// Membership starts with the node, so changes may happen before a
    /// caller subscribes to [`events`](Self::events). Subscribe first, then
    /// read the members: every later change then arrives as an event (one
    /// already in the list may arrive too).
    pub fn members(&self) -> Vec<Member> {
        self.membership
            .as_ref()
            .map(Membership::members)
            .unwrap_or_default()
    }

    /// The node's membership, if it is a cluster member.
    pub(crate) fn membership(&self) -> Option<&Membership> {
        self.membership.as_ref()
    }

    /// What the node's tasks share.
    pub(crate) fn shared(&self) -> &Arc<NodeShared> {
        &self.shared
    }

    /// What this node has dropped so far, and why; see [`NodeStats`].
    pub fn stats(&self) -> NodeStats {
        self.shared.stats.snapshot()
    }

    /// Subscribes to [`NodeEvent`]s from now on.
    pub fn events(&self) -> broadcast::Receiver<NodeEvent> {
        self.shared.events.subscribe()
    }

    /// Connects to the node listening at `addr` and returns its id. If the
    /// link is later lost, this node dials again with backoff.
    ///
    /// Connecting again while the link to `addr` lives, or while another
    /// dial to it is under way, opens no second link: it returns the id
    /// that link reached, and asks, watches and lookups on it go on.
    ///
    /// # Errors
    ///
    /// [`NodeError::Connect`] or [`NodeError::Handshake`] (e.g. a wrong secret).
    pub async fn connect(&self, addr: SocketAddr) -> Result<NodeId, NodeError> {
        self.shared.connect(addr).await
    }

    /// Finds the actor registered under `name`, here or on any connected
    /// node, if it is an `A` (compared by type name without module path, so
    /// two binaries sharing the type's source agree).
    pub async fn lookup<A: Actor>(&self, name: &str) -> Option<ActorRef<A>> {
        if let Some(local) = self.system().lookup::<A>(name) {
            return Some(local);
        }
        for (peer, _) in self.peers() {
            if let Ok(Some(found)) = self.lookup_on::<A>(peer, name).await {
                return Some(found);
            }
        }
        None
    }

    /// Finds the actor registered under `name` on node `node`.
    ///
    /// # Errors
    ///
    /// [`NodeError::NodeDown`] if not connected to `node`,
    /// [`NodeError::Timeout`] if it does not answer within the ask timeout.
    pub async fn lookup_on<A: Actor>(
        &self,
        node: NodeId,
        name: &str,
    ) -> Result<Option<ActorRef<A>>, NodeError> {
        if node == self.id() {
            return Ok(self.system().lookup::<A>(name));
        }
        let answer = self
            .query(node, |correlation| Frame::Lookup {
                correlation,
                name: name.to_owned(),
            })
            .await?;
        let Frame::Found {
            actor: Some((id, seal, type_name)),
            ..
        } = answer
        else {
            return Ok(None);
        };
        // Two binaries may place the same type at different module paths;
        // the bare type name is what both agree on.
        if bare_type_name(&type_name) != bare_type_name(std::any::type_name::<A>()) {
            tracing::debug!(%name, found = %type_name, "remote lookup found another actor type");
            return Ok(None);
        }
        Ok(Some(self.remote_ref(id, seal)))
    }

    /// Spawns an actor of a [`RemoteSpawn`] type on node `node`, supervised
    /// there, and returns a ref to it.
    ///
    /// # Errors
    ///
    /// [`NodeError::NotSpawnable`] if `A` is not registered here,
    /// [`NodeError::Spawn`] if the other node refuses, and the errors of
    /// [`lookup_on`](Self::lookup_on).
    pub async fn spawn_remote<A: RemoteSpawn>(
        &self,
        node: NodeId,
        args: A::Args,
    ) -> Result<ActorRef<A>, NodeError> {
        let tag = MessageTag::from_name(A::TAG);
        if self.shared.registry.spawner(tag).is_none() {
            return Err(NodeError::NotSpawnable(std::any::type_name::<A>()));
        }
        let args = self
            .shared
            .decode_cx()
            .encode(
                &args,
                crate::frame::payload_limit(self.shared.max_frame_length),
            )
            .map_err(|e| RemoteSpawnError::BadArguments(e.to_string()))?;
        let args = Bytes::from(args);
        let answer = self
            .query(node, |correlation| Frame::Spawn {
                correlation,
                actor: tag,
                args,
            })
            .await?;
        match answer {
            Frame::Spawned {
                result: Ok((id, seal)),
                ..
            } => Ok(self.remote_ref(id, seal)),
            Frame::Spawned {
                result: Err(why), ..
            } => Err(NodeError::Spawn(why)),
            _ => Err(RemoteSpawnError::Failed("the node answered something else".into()).into()),
        }
    }

    /// A ref to `id`, an actor of another node, given with `seal`.
    pub(crate) fn remote_ref<A: Actor>(
        &self,
        id: proscenium_runtime::ActorId,
        seal: Seal,
    ) -> ActorRef<A> {
        let transport = self.shared.ref_transport(seal);
        remote::actor_ref(id, transport, self.system().ask_timeout())
    }

    /// Sends a query frame to `node` and waits for its answer.
    async fn query(
        &self,
        node: NodeId,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<Frame, NodeError> {
        self.query_within(node, self.system().ask_timeout(), frame)
            .await
    }

    /// As [`query`](Self::query), waiting at most `timeout` for the answer.
    pub(crate) async fn query_within(
        &self,
        node: NodeId,
        timeout: Duration,
        frame: impl FnOnce(u64) -> Frame,
    ) -> Result<Frame, NodeError> {
        let link = self
            .shared
            .link_to(node)
            .ok_or_else(|| NodeError::NodeDown(node.to_string()))?;
        let correlation = self.shared.correlation();
        let (answer, rx) = oneshot::channel();
        self.shared
            .queries
            .insert(correlation, PendingQuery { peer: node, answer });
        if !link.send(frame(correlation)) {
            self.shared.queries.remove(&correlation);
            return Err(NodeError::NodeDown(link.name.clone()));
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(_)) => Err(NodeError::NodeDown(link.name.clone())),
            Err(_) => {
                self.shared.queries.remove(&correlation);
                Err(NodeError::Timeout(link.name.clone()))
            }
        }
    }

    /// Announces leaving to the cluster's members (they see it as left at
    /// once), says goodbye to every peer, stops the listener and redials,
    /// shuts the actor system down, and waits for the node's tasks to end.
    ///
    /// Links get up to [`shutdown_timeout`](NodeBuilder::shutdown_timeout)
    /// to write what is queued and a goodbye; then they are ended whatever
    /// the peers do (a peer that stops reading cannot hold shutdown up).
    /// So this returns within the shutdown timeout plus the time the local
    /// actors take to stop, plus, for a connection still in its handshake,
    /// at most the handshake timeout. What was still queued is counted in
    /// [`stats`](Self::stats) (tells also as dead letters), and so are
    /// tells written but not yet acknowledged by their peer (as dead
    /// letters that are possibly delivered).
    pub async fn shutdown(&self) {
        if let Some(membership) = &self.membership {
            membership.leave().await;
        }
        let links: Vec<_> = self.shared.links.iter().map(|l| Arc::clone(&l)).collect();
        for link in &links {
            link.close();
        }
        let said_goodbye = async {
            for link in &links {
                link.closed.ended().await;
            }
        };
        if tokio::time::timeout(self.shared.flow.shutdown_timeout, said_goodbye)
            .await
            .is_err()
        {
            tracing::warn!(timeout = ?self.shared.flow.shutdown_timeout, "peers did not take the goodbye in time; ending their links");
        }
        for link in &links {
            link.closed.end();
        }
        self.shared.cancel.cancel();
        self.shared.system.shutdown().await;
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}

impl NodeBuilder {
    fn uses_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }
}

/// The secret of a node whose links all run inside TLS and that joins no
/// cluster: every connection proves a secret exported from its TLS session
/// instead (`HandshakeConfig::inside_tls`), so this one is never used; it
/// is random so that it could not be guessed if it ever were.
fn unused_secret(entropy: &Entropy) -> Result<ClusterSecret, NodeError> {
    let bytes: Vec<u8> = (0..4)
        .flat_map(|_| entropy.next_u64().to_le_bytes())
        .collect();
    Ok(ClusterSecret::new(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::bare_type_name;

    #[test]
    fn bare_type_names_drop_module_paths() {
        assert_eq!(bare_type_name("a::b::Counter"), "Counter");
        assert_eq!(
            bare_type_name("x::Pool<y::W, z::RoundRobin>"),
            "Pool<W, RoundRobin>"
        );
        assert_eq!(bare_type_name("Plain"), "Plain");
    }
}
