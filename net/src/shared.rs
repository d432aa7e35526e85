//! The state one node shares between its listener, its links and its refs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dashmap::DashMap;
use proscenium_runtime::remote::{AnyReply, RemoteDelivery, Watcher};
use proscenium_runtime::{ActorId, ActorRef, AskError, NodeId, SupervisorStrategy, System};
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::PendingHandshakes;
use crate::handshake::HandshakeConfig;
use crate::link::Link;
use crate::mailbox_reports::MailboxReports;
use crate::registry::{DecodeCx, Registry};
use crate::remote_stop::StopExposure;
use crate::seal::SealKey;
use crate::spawner::{SpawnQuota, Spawner};
use crate::stats::Counters;
use crate::sys::Entropy;
use crate::{Frame, NodeEvent};

/// How a node's links bound memory and time; see the `NodeBuilder` options
/// of the same names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowSettings {
    pub(crate) outbox_bytes: usize,
    pub(crate) parking_bytes: usize,
    pub(crate) write_stall_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// Hashes node numbers for the map of links: a multiply that folds the
/// 128-bit product, a few instructions where SipHash took ~100 (the two
/// lookups of a remote tell cost ~440 instructions, BENCHMARKS.md issue 18).
/// Flooding is no concern: only authenticated peers get a link, and a node
/// has few.
pub(crate) type NodeNumbers = std::hash::BuildHasherDefault<NodeNumberHasher>;

/// The [`Hasher`](std::hash::Hasher) of [`NodeNumbers`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NodeNumberHasher(u64);

impl std::hash::Hasher for NodeNumberHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Node numbers arrive through `write_u64`; anything else still hashes.
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        const K: u128 = 0x9e37_79b9_7f4a_7c15;
        let product = u128::from(self.0 ^ n) * K;
        self.0 = (product as u64) ^ ((product >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// An ask sent to another node, waiting for its reply frame.
pub(crate) struct PendingAsk {
    /// The node run it was sent to: only that peer may answer it, and it
    /// fails if that peer goes down.
    pub(crate) peer: NodeId,
    pub(crate) reply: oneshot::Sender<Result<AnyReply, AskError>>,
    pub(crate) decode: fn(&DecodeCx, &[u8]) -> Result<AnyReply, crate::WireError>,
}

/// A lookup or spawn sent to another node, waiting for its answer frame.
pub(crate) struct PendingQuery {
    /// The node run it was sent to: only that peer may answer it.
    pub(crate) peer: NodeId,
    pub(crate) answer: oneshot::Sender<Frame>,
}

/// Everything a node's tasks share.
pub(crate) struct NodeShared {
    pub(crate) system: System,
    pub(crate) name: String,
    pub(crate) registry: Registry,
    pub(crate) handshake: HandshakeConfig,
    /// Mutual TLS under every link, instead of the secret and the record layer.
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<crate::tls::TlsConfig>,
    pub(crate) max_frame_length: usize,
    /// Flow control, limits and deadlines of links.
    pub(crate) flow: FlowSettings,
    /// What this node dropped, and why.
    pub(crate) stats: Counters,
    /// Whether links record metrics, and to which peers they were open.
    pub(crate) metrics: crate::metrics::NodeMetrics,
    pub(crate) heartbeat: Duration,
    /// Watches one peer may hold on this node's actors over its link.
    pub(crate) max_watches_per_peer: usize,
    /// How long a dial may wait for the TCP connection.
    pub(crate) connect_timeout: Duration,
    /// The inbound connections in handshake, capped.
    pub(crate) pending_handshakes: Arc<PendingHandshakes>,
    /// The live link to each peer, by node number: looked up twice per
    /// remote tell, hence the cheap hasher.
    pub(crate) links: DashMap<u64, Arc<Link>, NodeNumbers>,
    /// Per dialed address, the run its last dial reached; locked while a
    /// dial to it is under way, so dials to one address never overlap.
    pub(crate) dials: DashMap<SocketAddr, Arc<tokio::sync::Mutex<Option<NodeId>>>>,
    pub(crate) asks: Arc<DashMap<u64, PendingAsk>>,
    pub(crate) queries: Arc<DashMap<u64, PendingQuery>>,
    /// Local watchers of actors on other nodes, by watched actor.
    pub(crate) watches: DashMap<ActorId, Vec<Watcher>>,
    pub(crate) next_correlation: AtomicU64,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    /// Cancelled by `Node::shutdown`; ends the listener, links and redials.
    pub(crate) cancel: CancellationToken,
    pub(crate) tasks: TaskTracker,
    /// Parent of the actors other nodes spawn here; replaced if it stops.
    pub(crate) spawner: Mutex<ActorRef<Spawner>>,
    pub(crate) spawn_quota: Arc<SpawnQuota>,
    /// The mailbox depths other members reported for their actors.
    pub(crate) mailbox_reports: Arc<MailboxReports>,
    /// The node's random choices: incarnation, probe order, jitter.
    pub(crate) entropy: Entropy,
    /// The key of this node run's seals: a peer reaches an actor here only
    /// with the seal of a ref it was given.
    pub(crate) seals: SealKey,
    /// Whether peers may stop and kill actors here, and which opted in.
    pub(crate) remote_stop: StopExposure,
    /// The transport refs read and written by this node are resolved
    /// against (a [`RefContext`](crate::transport::RefContext)).
    pub(crate) ref_context: Arc<dyn RemoteDelivery>,
    /// What snapshots read besides this state; set once the node started.
    pub(crate) observed: std::sync::OnceLock<crate::introspection::Observed>,
}

impl NodeShared {
    pub(crate) fn node_id(&self) -> NodeId {
        self.system.node_id()
    }

    /// The live spawner, started afresh if the last one stopped (the
    /// system is shutting down, or it failed; its actors went with it).
    pub(crate) fn spawner(&self) -> ActorRef<Spawner> {
        let mut spawner = self
            .spawner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !spawner.is_alive() {
            let strategy = SupervisorStrategy::one_for_one();
            match self.system.spawn(Spawner { strategy }) {
                Ok(fresh) => {
                    tracing::warn!("the remote spawner had stopped; started a new one");
                    *spawner = fresh;
                }
                // Shutting down: asks to the stopped one fail, as they should.
                Err(error) => tracing::debug!(%error, "no new remote spawner"),
            }
        }
        spawner.clone()
    }

    pub(crate) fn correlation(&self) -> u64 {
        self.next_correlation.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn decode_cx(self: &Arc<Self>) -> DecodeCx {
        DecodeCx {
            system: self.system.clone(),
            transport: Arc::clone(&self.ref_context),
            limit: self.max_frame_length as u64,
        }
    }

    /// The live link to the node run `node`, if connected to that very run.
    pub(crate) fn link_to(&self, node: NodeId) -> Option<Arc<Link>> {
        let link = self.links.get(&node.number())?;
        (link.peer == node && !link.closed.has_ended()).then(|| Arc::clone(&link))
    }

    /// The live link to a node number, whatever its incarnation.
    pub(crate) fn link_to_number(&self, node: u64) -> Option<Arc<Link>> {
        let link = self.links.get(&node)?;
        (!link.closed.has_ended()).then(|| Arc::clone(&link))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, Hasher};

    use super::*;

    /// Small node numbers, the usual ones, hash apart in the low bits (the
    /// bucket) and in the high bits (hashbrown's tag and DashMap's shard).
    #[test]
    fn node_numbers_spread_over_low_and_high_bits() {
        let hashes: Vec<u64> = (0..1024u64)
            .map(|n| {
                let mut hasher = NodeNumbers::default().build_hasher();
                hasher.write_u64(n);
                hasher.finish()
            })
            .collect();
        let low: std::collections::HashSet<_> = hashes.iter().map(|h| h & 0x3ff).collect();
        let high: std::collections::HashSet<_> = hashes.iter().map(|h| h >> 57).collect();
        assert!(low.len() > 600, "{} distinct low 10 bits", low.len());
        assert_eq!(high.len(), 128, "every top-7-bit tag is used");
    }
}
