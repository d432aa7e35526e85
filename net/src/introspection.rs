//! Snapshots of a node and of the whole cluster: what runs where, the
//! links between nodes and how full they are, the members and their groups.
//!
//! [`Node::snapshot`] reads this node at once. [`Node::cluster_snapshot`]
//! also asks every other node for its own, all at the same time, and
//! waits at most a deadline: a node that does not answer in time is
//! reported as such rather than holding the picture up.
//!
//! A peer that holds the cluster's secret (or certificate) may ask a node
//! for its snapshot: it lists the node's actors, their types and names,
//! but not their seals, so it hands out no way to reach them (see the
//! trust model in `net/docs/protocol.md`).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use proscenium_runtime::{ActorId, NodeId, SystemSnapshot};
use serde::{Deserialize, Serialize};

use crate::cluster::{Member, MemberState};
use crate::frame::payload_limit;
use crate::shared::NodeShared;
use crate::{wire, Frame, Node, NodeError, NodeStats};

/// What runs on one node: its actors, links, cluster view and counts.
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
///     .start()
///     .await?;
/// let snapshot = node.snapshot();
/// assert_eq!(snapshot.name, "alpha");
/// assert!(snapshot.links.is_empty());
/// # node.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeSnapshot {
    /// The node run.
    pub node: NodeId,
    /// The node's name.
    pub name: String,
    /// Where it listens, if it does.
    pub addr: Option<SocketAddr>,
    /// Its actors and their supervision tree.
    pub system: SystemSnapshot,
    /// Actors left out of [`system`](Self::system) to fit the snapshot in
    /// one frame when another node asked for it; 0 for a local snapshot.
    pub actors_omitted: usize,
    /// Its links to other nodes.
    pub links: Vec<LinkSnapshot>,
    /// The cluster's members as this node sees them (itself included);
    /// empty for a node that is not a cluster member.
    pub members: Vec<Member>,
    /// Its actors in process groups: `(group, actor)`, sorted.
    pub groups: Vec<(String, ActorId)>,
    /// What it dropped, and why.
    pub stats: NodeStats,
}

/// One link from a node to a peer, in a [`NodeSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkSnapshot {
    /// The peer's node run.
    pub peer: NodeId,
    /// The peer's name.
    pub peer_name: String,
    /// Whether this node dialed the connection (else the peer did).
    pub dialed_by_us: bool,
    /// Bytes written to the connection (framing and encryption included).
    pub bytes_written: u64,
    /// Bytes read from it.
    pub bytes_read: u64,
    /// The round trip of the last heartbeat the peer answered; a link
    /// that is never idle sends none, so this is from its last idle moment.
    pub rtt: Option<Duration>,
    /// Bytes of frames queued for the peer, not yet written.
    pub outbox_bytes: usize,
    /// Tells written on this connection so far.
    pub tells_written: u64,
    /// Tells written that the peer has not acknowledged yet.
    pub tells_in_flight: usize,
    /// The peer's actors whose full mailboxes hold tells back now.
    pub paused_actors: usize,
}

/// What every node of the cluster runs, as one node gathered it; see
/// [`Node::cluster_snapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClusterSnapshot {
    /// The node that gathered it.
    pub taken_by: NodeId,
    /// Every node it knows, itself first, then by name.
    pub nodes: Vec<NodeReport>,
}

/// One node's answer in a [`ClusterSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeReport {
    /// The node's name.
    pub name: String,
    /// The node run.
    pub node: NodeId,
    /// Its snapshot, or why there is none.
    pub snapshot: Result<NodeSnapshot, SnapshotError>,
}

/// Why a [`ClusterSnapshot`] has no snapshot of a node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SnapshotError {
    /// It did not answer within the deadline: busy, overloaded, or cut off.
    #[error("no answer within {0:?}: the node is busy or unreachable")]
    NoAnswer(Duration),
    /// No link to it could be made or kept while asking.
    #[error("not connected: {0}")]
    Unreachable(String),
    /// The cluster declared it down.
    #[error("declared down by the cluster")]
    Down,
    /// It left the cluster.
    #[error("left the cluster")]
    Left,
    /// Its answer did not decode (a node of another build?).
    #[error("its snapshot did not decode: {0}")]
    Undecodable(String),
}

impl ClusterSnapshot {
    /// The snapshots that arrived, in the order of [`nodes`](Self::nodes).
    pub fn answered(&self) -> impl Iterator<Item = &NodeSnapshot> {
        self.nodes
            .iter()
            .filter_map(|report| report.snapshot.as_ref().ok())
    }
}

/// What a node's snapshot reads besides the shared state: set once the
/// node has started.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub(crate) addr: Option<SocketAddr>,
    pub(crate) membership: Option<crate::cluster::MembershipView>,
}

impl NodeShared {
    /// This node's snapshot now.
    pub(crate) fn snapshot(&self) -> NodeSnapshot {
        let observed = self.observed.get().cloned().unwrap_or_default();
        let local = self.node_id().number();
        let mut links: Vec<LinkSnapshot> = self
            .links
            .iter()
            .filter(|link| !link.closed.has_ended())
            .map(|link| link.observe(local))
            .collect();
        links.sort_by(|a, b| a.peer_name.cmp(&b.peer_name));
        let (members, mut groups) = match &observed.membership {
            Some(view) => (view.members(), view.group_memberships()),
            None => (Vec::new(), Vec::new()),
        };
        groups.sort();
        NodeSnapshot {
            node: self.node_id(),
            name: self.name.clone(),
            addr: observed.addr,
            system: self.system.snapshot(),
            actors_omitted: 0,
            links,
            members,
            groups,
            stats: self.stats.snapshot(),
        }
    }

    /// This node's snapshot, encoded for a peer that asked, within one
    /// frame: the newest actors are left out (and counted) until it fits.
    pub(crate) fn encoded_snapshot(&self) -> Bytes {
        let limit = payload_limit(self.max_frame_length);
        let mut snapshot = self.snapshot();
        loop {
            match wire::encode(&snapshot, limit) {
                Ok(bytes) => return Bytes::from(bytes),
                Err(error) if snapshot.system.actors.is_empty() => {
                    tracing::warn!(%error, "this node's snapshot does not fit in a frame");
                    return Bytes::new();
                }
                Err(_) => {
                    let keep = snapshot.system.actors.len() / 2;
                    snapshot.actors_omitted += snapshot.system.actors.len() - keep;
                    snapshot.system.actors.truncate(keep);
                }
            }
        }
    }
}

impl Node {
    /// What runs on this node now: its actors (see
    /// [`System::snapshot`](proscenium_runtime::System::snapshot)), links,
    /// cluster members, process groups and [`stats`](Self::stats).
    pub fn snapshot(&self) -> NodeSnapshot {
        self.shared().snapshot()
    }

    /// What runs on every node this one knows: itself, each cluster
    /// member (or, outside a cluster, each connected peer), asked all at
    /// once. Waits at most `deadline`; a node that has not answered by
    /// then is reported with [`SnapshotError::NoAnswer`], one the cluster
    /// declared down or that left with [`SnapshotError::Down`] or
    /// [`SnapshotError::Left`] (without asking it).
    pub async fn cluster_snapshot(&self, deadline: Duration) -> ClusterSnapshot {
        let asks = self.others().into_iter().map(|other| async move {
            let snapshot = match other.state {
                Some(MemberState::Down) => Err(SnapshotError::Down),
                Some(MemberState::Left) => Err(SnapshotError::Left),
                _ => self.ask_snapshot(&other, deadline).await,
            };
            NodeReport {
                name: other.name,
                node: other.node,
                snapshot,
            }
        });
        let mut others = join_all(asks).await;
        others.sort_by(|a, b| a.name.cmp(&b.name));
        let mine = self.snapshot();
        let mut nodes = vec![NodeReport {
            name: mine.name.clone(),
            node: mine.node,
            snapshot: Ok(mine),
        }];
        nodes.extend(others);
        ClusterSnapshot {
            taken_by: self.id(),
            nodes,
        }
    }

    /// The nodes a cluster snapshot asks: the members, else the peers.
    fn others(&self) -> Vec<Other> {
        if self.membership().is_some() {
            return self
                .members()
                .into_iter()
                .filter(|member| member.id != self.id())
                .map(|member| Other {
                    name: member.name,
                    node: member.id,
                    addr: Some(member.addr),
                    state: Some(member.state),
                })
                .collect();
        }
        self.peers()
            .into_iter()
            .map(|(node, name)| Other {
                name,
                node,
                addr: None,
                state: None,
            })
            .collect()
    }

    /// Dials `other`, if it has an address to dial.
    async fn connect_to(&self, other: &Other) -> Result<(), NodeError> {
        match other.addr {
            Some(addr) => self.connect(addr).await.map(drop),
            None => Ok(()),
        }
    }

    /// Asks one node for its snapshot, dialing it first if there is no
    /// link to it yet, all within `deadline`.
    async fn ask_snapshot(
        &self,
        other: &Other,
        deadline: Duration,
    ) -> Result<NodeSnapshot, SnapshotError> {
        let ask = async {
            // Membership dials members too: a dial of ours may lose to
            // theirs, or replace a link a query was on. Both leave a link.
            let mut last_error = None;
            for _ in 0..ASK_ATTEMPTS {
                if self.shared().link_to(other.node).is_none() {
                    if let Err(error) = self.connect_to(other).await {
                        tracing::debug!(node = %other.name, %error, "dial for a snapshot failed");
                    }
                }
                let inspect = |correlation| Frame::Inspect { correlation };
                match self.query_within(other.node, deadline, inspect).await {
                    Err(NodeError::NodeDown(why)) => last_error = Some(NodeError::NodeDown(why)),
                    answered => return answered,
                }
            }
            Err(last_error.unwrap_or_else(|| NodeError::NodeDown(other.name.clone())))
        };
        let answer = match tokio::time::timeout(deadline, ask).await {
            Err(_) | Ok(Err(NodeError::Timeout(_))) => {
                return Err(SnapshotError::NoAnswer(deadline))
            }
            Ok(Err(error)) => return Err(SnapshotError::Unreachable(error.to_string())),
            Ok(Ok(answer)) => answer,
        };
        let Frame::Inspected { snapshot, .. } = answer else {
            return Err(SnapshotError::Undecodable(
                "an answer of another kind".into(),
            ));
        };
        let limit = payload_limit(self.shared().max_frame_length);
        wire::decode(&snapshot, limit)
            .map_err(|error| SnapshotError::Undecodable(error.to_string()))
    }
}

/// How often a cluster snapshot tries to reach a node whose link is
/// missing or replaced while asking.
const ASK_ATTEMPTS: usize = 3;

/// A node a cluster snapshot asks.
struct Other {
    name: String,
    node: NodeId,
    /// Where to dial it if there is no link (cluster members only).
    addr: Option<SocketAddr>,
    /// Its state in the cluster (cluster members only).
    state: Option<MemberState>,
}
