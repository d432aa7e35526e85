//! The life of a node's connections: dialing a peer (once per address at a
//! time), accepting connections, securing them (TLS or the record layer)
//! and running the handshake, installing the link that results (one per
//! peer), and, when a link ends, failing what waited on it and dialing the
//! peer again. The state all this works on is [`NodeShared`]'s.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use dashmap::mapref::entry::Entry;
use proscenium_runtime::{ActorId, Backoff, NodeId, StopReason};

use crate::admission::Admitted;
use crate::handshake::{self, HandshakeConfig};
use crate::inbound::{Ended, Liveness};
use crate::link::{self, Link};
use crate::link_stream::LinkStream;
use crate::shared::NodeShared;
use crate::sys::{Entropy, Listener, Stream};
use crate::{FrameCodec, HandshakeError, NodeError, NodeEvent};

/// How many dialed addresses a node remembers before it forgets those
/// whose link is gone.
const DIAL_RECORDS: usize = 256;

/// Forgets the dial records of lost links when dropped; see
/// [`NodeShared::connect`].
struct PruneDials<'a>(&'a NodeShared);

impl Drop for PruneDials<'_> {
    fn drop(&mut self) {
        self.0.forget_dials_of_lost_links();
    }
}

/// Accepts connections until the node shuts down, backing off when accept fails.
pub(crate) async fn accept_loop(node: Arc<NodeShared>, listener: Listener) {
    let mut backoff = Duration::from_millis(10);
    loop {
        let accepted = tokio::select! {
            () = node.cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, from)) => {
                backoff = Duration::from_millis(10);
                match node.pending_handshakes.admit() {
                    Some(admitted) => {
                        node.tasks
                            .spawn(Arc::clone(&node).accept(stream, from, admitted));
                    }
                    None => {
                        tracing::debug!(%from, "too many handshakes in progress; closed a new connection");
                        drop(stream);
                    }
                }
            }
            Err(error) => {
                // Typically out of file descriptors: wait for some to free up.
                tracing::warn!(%error, ?backoff, "accept failed");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

impl NodeShared {
    /// Dials `addr`, runs the handshake and starts the link.
    /// Links to the node at `addr` unless a link dialed to it lives.
    ///
    /// A second link to the same run would replace the first (see
    /// [`install`](Self::install)) and fail everything bound to it, though
    /// the peer lives: so a dial to an address waits for one under way, and
    /// none is made while the link the last one opened lives.
    pub(crate) async fn connect(self: &Arc<Self>, addr: SocketAddr) -> Result<NodeId, NodeError> {
        // Declared before the lock, so dropped after it: the records are
        // pruned on every way out (a failed or cancelled dial leaves one
        // too), with this dial's own record no longer locked.
        let _prune = PruneDials(self);
        let dial = Arc::clone(&*self.dials.entry(addr).or_default());
        let mut reached = dial.lock().await;
        if let Some(peer) = reached.filter(|&peer| self.link_to(peer).is_some()) {
            return Ok(peer);
        }
        let peer = self.dial(addr).await?;
        *reached = Some(peer);
        Ok(peer)
    }

    /// Keeps the dial records from growing with every address ever
    /// dialed: past a bound, those of idle dials whose link is gone go.
    fn forget_dials_of_lost_links(&self) {
        if self.dials.len() <= DIAL_RECORDS {
            return;
        }
        self.dials.retain(|_, dial| match dial.try_lock() {
            Ok(reached) => reached.is_some_and(|peer| self.link_to(peer).is_some()),
            Err(_) => true,
        });
    }

    /// Dials `addr`, handshakes and starts the link.
    async fn dial(self: &Arc<Self>, addr: SocketAddr) -> Result<NodeId, NodeError> {
        let timeout = self.connect_timeout;
        let stream = match tokio::time::timeout(timeout, Stream::connect(addr)).await {
            Ok(connected) => connected.map_err(|source| NodeError::Connect { addr, source })?,
            Err(_) => return Err(NodeError::ConnectTimeout { addr, timeout }),
        };
        let _ = stream.set_nodelay(true);
        let arrived = Arc::new(AtomicBool::new(false));
        let codec = FrameCodec::with_max_frame_length(self.max_frame_length)
            .reporting_arrivals(Arc::clone(&arrived));
        let handshake_failed = |source| NodeError::Handshake {
            addr,
            source: tls_refusal(source),
        };
        let (stream, config) = self
            .secure(stream, Side::Dialer)
            .await
            .map_err(handshake_failed)?;
        let established = handshake::initiate(stream, &config, codec)
            .await
            .map_err(handshake_failed)?;
        let peer = established.peer.node;
        let me = self.node_id().number();
        self.start_link(established, arrived, me, Some(addr));
        Ok(peer)
    }

    /// Accepts one inbound connection: handshake, then the link. The
    /// connection is closed at once if a newer one takes its place among
    /// the pending handshakes (see [`crate::admission`]).
    async fn accept(self: Arc<Self>, stream: Stream, from: SocketAddr, admitted: Admitted) {
        let _ = stream.set_nodelay(true);
        let arrived = Arc::new(AtomicBool::new(false));
        let codec = FrameCodec::with_max_frame_length(self.max_frame_length)
            .reporting_arrivals(Arc::clone(&arrived));
        let handshake = async {
            let (stream, config) = self.secure(stream, Side::Acceptor).await?;
            handshake::accept_tracking(stream, &config, codec, &admitted.said_hello).await
        };
        let outcome = tokio::select! {
            outcome = handshake => outcome,
            () = admitted.evict.cancelled() => {
                tracing::debug!(%from, "closed an idle pending connection to make room");
                return;
            }
        };
        drop(admitted);
        match outcome {
            Ok(established) => {
                let initiator = established.peer.node.number();
                self.start_link(established, arrived, initiator, None);
            }
            Err(error) => {
                let error = tls_refusal(error);
                tracing::warn!(%from, %error, "rejected a connection");
            }
        }
    }

    /// Wraps a fresh connection in TLS if the node uses it, and returns the
    /// handshake configuration for it: the node's own, or, inside TLS, one
    /// that proves the session's exported secret (see [`crate::tls`]).
    async fn secure(
        &self,
        stream: Stream,
        side: Side,
    ) -> Result<(LinkStream, std::borrow::Cow<'_, HandshakeConfig>), HandshakeError> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            let session = async {
                match side {
                    Side::Dialer => tls.connect(stream).await,
                    Side::Acceptor => tls.accept(stream).await,
                }
            };
            let timeout = self.handshake.timeout();
            let (stream, secret) = tokio::time::timeout(timeout, session)
                .await
                .map_err(|_| HandshakeError::Timeout(timeout))?
                .map_err(HandshakeError::Tls)?;
            let config = self.handshake.inside_tls(secret);
            return Ok((stream, std::borrow::Cow::Owned(config)));
        }
        let _ = side;
        Ok((
            LinkStream::Tcp(stream),
            std::borrow::Cow::Borrowed(&self.handshake),
        ))
    }

    fn start_link(
        self: &Arc<Self>,
        established: handshake::Established<LinkStream>,
        arrived: Arc<AtomicBool>,
        initiator: u64,
        redial: Option<SocketAddr>,
    ) {
        let peer = established.peer;
        proscenium_runtime::remote::register_node_name(peer.node.number(), &peer.name);
        let liveness = Liveness {
            interval: self.heartbeat.max(peer.heartbeat),
            arrived,
        };
        let metrics = self.metrics.link(&peer.name);
        let (link, stream) = link::open(
            established.framed,
            peer.node,
            peer.name.clone(),
            initiator,
            link::LinkSettings {
                heartbeat: self.heartbeat,
                outbox_bytes: self.flow.outbox_bytes,
                write_stall: self.flow.write_stall_timeout,
            },
            Arc::clone(self) as Arc<dyn link::LinkHooks>,
            metrics,
            &self.tasks,
        );
        if !self.install(&link) {
            tracing::debug!(peer = %peer.name, "dropping a duplicate connection");
            link.close();
            return;
        }
        self.metrics.link_up(&peer.name, &link.metrics);
        tracing::info!(peer = %peer.name, node = %peer.node, "node up");
        let _ = self.events.send(NodeEvent::NodeUp {
            node: peer.node,
            name: peer.name.clone(),
        });
        let node = Arc::clone(self);
        self.tasks.spawn(async move {
            let ended = crate::inbound::read_frames(&node, &link, stream, liveness).await;
            link.closed.end();
            // No ack can come now; reported before `NodeDown`, so whoever
            // sees that event finds them among the dead letters.
            link.settle_unacknowledged();
            node.link_ended(&link);
            match (redial, ended) {
                (Some(addr), Ended::Lost) => node.redial(addr, link.peer.number()).await,
                // It shut down on purpose; if it comes back, it dials us or
                // the user connects again.
                (Some(_), Ended::Goodbye) => {
                    tracing::info!(peer = %link.name, "the peer said goodbye; not dialing it again");
                }
                (None, _) => {}
            }
        });
    }

    /// Makes `link` the peer's current link unless a better one exists.
    ///
    /// Of two live links between the same two runs dialed by different
    /// nodes, the one dialed by the lower node number stays, so both ends
    /// keep the same one. A new link dialed by the same node as the current
    /// one replaces it: its dialer has given up on the old link (it broke
    /// on that side only), so waiting for this side to notice would refuse
    /// the peer for several heartbeats.
    ///
    /// A replaced link is a lost one: whatever was bound to it (pending
    /// asks and queries, watches of the peer's actors) ends as if the peer
    /// had gone down, so nothing waits for a frame that would arrive on a
    /// dead link.
    fn install(&self, link: &Arc<Link>) -> bool {
        match self.links.entry(link.peer.number()) {
            Entry::Vacant(entry) => {
                entry.insert(Arc::clone(link));
                true
            }
            Entry::Occupied(mut entry) => {
                let old = entry.get();
                let keep_old = old.peer == link.peer
                    && !old.closed.has_ended()
                    && old.initiator < link.initiator;
                if keep_old {
                    return false;
                }
                let old = entry.insert(Arc::clone(link));
                old.close();
                self.node_down(&old);
                true
            }
        }
    }

    /// Called when a link's reader ends: if it was the current link, the
    /// peer is down.
    fn link_ended(&self, link: &Arc<Link>) {
        let removed = self
            .links
            .remove_if(&link.peer.number(), |_, current| Arc::ptr_eq(current, link));
        if removed.is_some() {
            self.node_down(link);
        }
    }

    /// The cluster declared node run `node` down or gone: end its link and
    /// fail what waits on it now, whether or not TCP has noticed.
    pub(crate) fn declare_down(&self, node: NodeId) {
        let removed = self
            .links
            .remove_if(&node.number(), |_, current| current.peer == node);
        if let Some((_, link)) = removed {
            link.close();
            self.node_down(&link);
        }
    }

    /// Fails everything that waits on the peer of `link`.
    fn node_down(&self, link: &Link) {
        let number = link.peer.number();
        tracing::warn!(peer = %link.name, node = %link.peer, "node down");
        self.asks.retain(|_, ask| ask.peer.number() != number);
        self.queries
            .retain(|_, query| query.peer.number() != number);
        let gone: Vec<ActorId> = self
            .watches
            .iter()
            .filter(|e| e.key().node().number() == number)
            .map(|e| *e.key())
            .collect();
        for target in gone {
            if let Some((_, watchers)) = self.watches.remove(&target) {
                for watcher in watchers {
                    watcher.notify(target, StopReason::NodeDown);
                }
            }
        }
        let _ = self.events.send(NodeEvent::NodeDown {
            node: link.peer,
            name: link.name.clone(),
        });
    }

    /// Dials a lost peer again, backing off, until it answers, another
    /// link to it appears, or the node shuts down.
    async fn redial(self: &Arc<Self>, addr: SocketAddr, node: u64) {
        for attempt in 1.. {
            let delay = redial_delay(attempt, &self.entropy);
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            if self.link_to_number(node).is_some() {
                return;
            }
            let connected = tokio::select! {
                () = self.cancel.cancelled() => return,
                connected = self.connect(addr) => connected,
            };
            match connected {
                Ok(_) => return,
                Err(error) => tracing::debug!(%addr, %error, ?delay, "redial failed"),
            }
        }
    }
}

/// How long to wait before the `attempt`-th redial (counting from 1):
/// 100 ms doubling to 5 s, each stretched at random by up to half, so that
/// nodes that lost a peer at the same moment do not all dial it (or a
/// restarted peer its old peers) at the same instants.
fn redial_delay(attempt: u32, entropy: &Entropy) -> Duration {
    Backoff::exponential(Duration::from_millis(100), Duration::from_secs(5))
        .with_jitter(0.0)
        .delay(attempt)
        .mul_f64(1.0 + 0.5 * entropy.unit())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::{redial_delay, DIAL_RECORDS};
    use crate::sys::Entropy;
    use crate::{Node, NodeError};

    #[test]
    fn redial_delays_grow_and_are_jittered() {
        let entropy = Entropy::from_os();
        let third: HashSet<Duration> = (0..32).map(|_| redial_delay(3, &entropy)).collect();
        assert!(
            third.len() > 1,
            "every node that lost a peer would dial it at the same instants"
        );
        let (base, stretched) = (Duration::from_millis(400), Duration::from_millis(600));
        assert!(
            third.iter().all(|d| (base..=stretched).contains(d)),
            "{third:?}"
        );
        assert!((0..32).all(|_| redial_delay(40, &entropy) <= Duration::from_millis(7500)));
    }

    /// `count` addresses on 127.0.0.1 where nothing listens: each was bound
    /// (all at once, so they differ) and let go.
    fn closed_addresses(count: usize) -> Vec<SocketAddr> {
        let listeners: Vec<_> = (0..count)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
            .collect();
        listeners
            .iter()
            .map(|listener| listener.local_addr().expect("a bound address"))
            .collect()
    }

    #[tokio::test]
    async fn failed_dials_do_not_pile_up_records() {
        let node = Node::builder("dialer")
            .secret(*b"a cluster secret of 32 bytes ...")
            .start()
            .await
            .expect("a node that only dials out");
        let addresses = closed_addresses(DIAL_RECORDS + 44);
        let mut refused = 0;
        for &addr in &addresses {
            // Refused, unless another program took the port meanwhile: only
            // the count of records matters here.
            if let Err(NodeError::Connect { .. }) = node.connect(addr).await {
                refused += 1;
            }
        }
        assert!(refused > DIAL_RECORDS, "only {refused} dials were refused");
        let records = node.shared().dials.len();
        assert!(
            records <= DIAL_RECORDS,
            "{records} dial records after {refused} refused dials"
        );
        node.shutdown().await;
    }
}

/// `error`, named as a TLS refusal where it is one (see [`crate::tls`]).
fn tls_refusal(error: HandshakeError) -> HandshakeError {
    #[cfg(feature = "tls")]
    return crate::tls::refusal(error);
    #[cfg(not(feature = "tls"))]
    error
}

/// Which end of a new connection this node is.
#[derive(Debug, Clone, Copy)]
enum Side {
    /// It dialed.
    Dialer,
    /// It accepted.
    Acceptor,
}
