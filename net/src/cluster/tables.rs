//! [`Tables`]: the replicated tables a member owns (process groups and
//! cluster-wide names), and the datagrams that keep every member's copies
//! in step.
//!
//! * A **chunk** carries a piece of one version of the sender's table
//!   (see [`replica`](super::replica)). A node sends all of a table's
//!   chunks to every live member when it changes, and all of its tables
//!   to a member as it comes up.
//! * A **digest** carries the version of each of the sender's tables.
//!   Every member sends one to every other every few seconds; one that
//!   holds an older version (a chunk was lost) answers with a pull.
//! * A **pull** names the tables the sender wants again; the receiver
//!   sends their chunks to it.
//!
//! Only the owner's own tables are taken in, and only while it is a live
//! member: a late chunk of a run declared down must not bring its entries
//! back. The membership task does the sending; this module only says what
//! to send where, so it runs the same over any socket.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use proscenium_runtime::NodeId;
use serde::{Deserialize, Serialize};

use crate::cluster::auth::Kind;
use crate::cluster::codec::MAX_ITEM;
use crate::cluster::groups::{self, GroupState, SharedGroups};
use crate::cluster::names::{self, NameState, SharedNames};
use crate::cluster::replica::{Chunk, TableKind};
use crate::wire;

/// Every table kind, in the order they are sent.
const KINDS: [TableKind; 2] = [TableKind::Groups, TableKind::Names];

/// The versions of one node's tables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Digest {
    pub(crate) owner: NodeId,
    pub(crate) versions: Vec<(TableKind, u64)>,
}

/// The tables the sender wants sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pull {
    pub(crate) kinds: BTreeSet<TableKind>,
}

/// A datagram to send: its kind, its payload and where to.
pub(crate) type Outgoing = (Kind, Vec<u8>, SocketAddr);

/// This node's replicated tables.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    pub(crate) groups: SharedGroups,
    pub(crate) names: SharedNames,
}

impl Tables {
    pub(crate) fn new(me: NodeId) -> Self {
        Self {
            groups: Arc::new(Mutex::new(GroupState::new(me))),
            names: Arc::new(Mutex::new(NameState::new(me))),
        }
    }

    fn chunks(&self, kind: TableKind) -> Vec<Chunk> {
        match kind {
            TableKind::Groups => groups::lock(&self.groups).table().chunks(),
            TableKind::Names => names::lock(&self.names).table().chunks(),
        }
    }

    fn version(&self, kind: TableKind) -> u64 {
        match kind {
            TableKind::Groups => groups::lock(&self.groups).table().version(),
            TableKind::Names => names::lock(&self.names).table().version(),
        }
    }

    fn held_version(&self, kind: TableKind, owner: NodeId) -> u64 {
        match kind {
            TableKind::Groups => groups::lock(&self.groups).table().held_version(owner),
            TableKind::Names => names::lock(&self.names).table().held_version(owner),
        }
    }

    /// The chunks of the tables `kinds`, for each address in `to`.
    pub(crate) fn publish(
        &self,
        kinds: impl IntoIterator<Item = TableKind>,
        to: &[SocketAddr],
    ) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for kind in kinds {
            for chunk in self.chunks(kind) {
                let Some(payload) = encode(&chunk) else {
                    continue;
                };
                out.extend(to.iter().map(|&addr| (Kind::Table, payload.clone(), addr)));
            }
        }
        out
    }

    /// Every table, for members that came up.
    pub(crate) fn publish_all(&self, to: &[SocketAddr]) -> Vec<Outgoing> {
        self.publish(KINDS, to)
    }

    /// This node's digest, for each address in `to`.
    pub(crate) fn digests(&self, me: NodeId, to: &[SocketAddr]) -> Vec<Outgoing> {
        let digest = Digest {
            owner: me,
            versions: KINDS
                .iter()
                .map(|&kind| (kind, self.version(kind)))
                .collect(),
        };
        let Some(payload) = encode(&digest) else {
            return Vec::new();
        };
        to.iter()
            .map(|&addr| (Kind::Digest, payload.clone(), addr))
            .collect()
    }

    /// Handles a datagram of kind `kind` (a chunk, a digest or a pull)
    /// from node number `sender` at `from`. `is_live` says whether a node
    /// run is a live member; `live` are the live members' addresses, to
    /// which a table that changed here goes out again.
    pub(crate) fn receive(
        &self,
        kind: Kind,
        sender: u64,
        from: SocketAddr,
        payload: &[u8],
        is_live: impl Fn(NodeId) -> bool,
        live: &[SocketAddr],
    ) -> Vec<Outgoing> {
        match kind {
            Kind::Table => match wire::decode::<Chunk>(payload, MAX_ITEM as u64) {
                Ok(chunk) if chunk.owner.number() == sender && is_live(chunk.owner) => {
                    self.take_chunk(chunk, live)
                }
                Ok(_) => {
                    tracing::debug!("ignored a table chunk of a node that is not a live member");
                    Vec::new()
                }
                Err(error) => {
                    tracing::debug!(%error, "refused a table chunk");
                    Vec::new()
                }
            },
            Kind::Digest => match wire::decode::<Digest>(payload, MAX_ITEM as u64) {
                Ok(digest) if digest.owner.number() == sender && is_live(digest.owner) => {
                    let behind: BTreeSet<TableKind> = digest
                        .versions
                        .iter()
                        .filter(|&&(kind, version)| self.held_version(kind, digest.owner) < version)
                        .map(|&(kind, _)| kind)
                        .collect();
                    if behind.is_empty() {
                        return Vec::new();
                    }
                    encode(&Pull { kinds: behind })
                        .map(|payload| vec![(Kind::Pull, payload, from)])
                        .unwrap_or_default()
                }
                Ok(_) => Vec::new(),
                Err(error) => {
                    tracing::debug!(%error, "refused a table digest");
                    Vec::new()
                }
            },
            Kind::Pull => match wire::decode::<Pull>(payload, MAX_ITEM as u64) {
                Ok(pull) => self.publish(pull.kinds, &[from]),
                Err(error) => {
                    tracing::debug!(%error, "refused a table pull");
                    Vec::new()
                }
            },
            Kind::Swim | Kind::Leave | Kind::Load => Vec::new(),
        }
    }

    fn take_chunk(&self, chunk: Chunk, live: &[SocketAddr]) -> Vec<Outgoing> {
        let result = match chunk.kind {
            TableKind::Groups => groups::lock(&self.groups).receive(chunk).map(|()| false),
            TableKind::Names => names::lock(&self.names).receive(chunk),
        };
        match result {
            // A local name lost a conflict: the others learn it is gone.
            Ok(true) => self.publish([TableKind::Names], live),
            Ok(false) => Vec::new(),
            Err(error) => {
                tracing::debug!(%error, "refused a table chunk");
                Vec::new()
            }
        }
    }

    /// Node run `node` is down or gone: its entries vanish.
    pub(crate) fn drop_node(&self, node: NodeId) {
        groups::lock(&self.groups).drop_node(node);
        names::lock(&self.names).drop_node(node);
    }
}

fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    wire::encode(value, MAX_ITEM as u64)
        .inspect_err(|error| tracing::warn!(%error, "could not encode a table datagram"))
        .ok()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_member_behind_a_digest_pulls_and_gets_the_chunks() {
        let (a, b) = (NodeId::new(1, 1), NodeId::new(2, 1));
        let (here, there) = (Tables::new(a), Tables::new(b));
        let addr_a: SocketAddr = "127.0.0.1:1".parse().expect("an address");
        let addr_b: SocketAddr = "127.0.0.1:2".parse().expect("an address");
        let entry_count = 40;
        {
            let mut names = names::lock(&there.names);
            for i in 0..entry_count {
                names.register_for_test(&format!("a-rather-long-service-name-{i:03}"), b, i);
            }
        }
        let live = |_| true;
        let digest = there.digests(b, &[addr_a]);
        let pulls: Vec<Outgoing> = digest
            .iter()
            .flat_map(|(kind, payload, _)| here.receive(*kind, 2, addr_b, payload, live, &[]))
            .collect();
        assert_eq!(pulls.len(), 1, "only the names table is behind");
        let chunks: Vec<Outgoing> = pulls
            .iter()
            .flat_map(|(kind, payload, _)| there.receive(*kind, 1, addr_a, payload, live, &[]))
            .collect();
        assert!(chunks.len() > 1, "the table spans datagrams");
        assert!(chunks
            .iter()
            .all(|(_, payload, to)| *to == addr_a && payload.len() <= MAX_ITEM));
        for (kind, payload, _) in &chunks {
            here.receive(*kind, 2, addr_b, payload, live, &[]);
        }
        assert_eq!(
            names::lock(&here.names).table().remote().count(),
            entry_count as usize
        );
        // Now in step: the next digest asks for nothing.
        let again: Vec<Outgoing> = there
            .digests(b, &[addr_a])
            .iter()
            .flat_map(|(kind, payload, _)| here.receive(*kind, 2, addr_b, payload, live, &[]))
            .collect();
        assert!(again.is_empty());
    }

    #[test]
    fn tables_of_another_sender_or_a_dead_run_are_ignored() {
        let (a, b) = (NodeId::new(1, 1), NodeId::new(2, 1));
        let (here, there) = (Tables::new(a), Tables::new(b));
        names::lock(&there.names).register_for_test("x", b, 1);
        let addr: SocketAddr = "127.0.0.1:2".parse().expect("an address");
        for (kind, payload, _) in there.publish_all(&[addr]) {
            // Claimed by node 3, or from a run that is not live.
            here.receive(kind, 3, addr, &payload, |_| true, &[]);
            here.receive(kind, 2, addr, &payload, |_| false, &[]);
        }
        assert_eq!(names::lock(&here.names).table().remote().count(), 0);
    }

    proptest! {
        /// Table datagrams are untrusted input: any bytes, as any kind,
        /// are refused or taken in, never a panic.
        #[test]
        fn arbitrary_table_datagrams_never_panic(
            kind in 0usize..3,
            bytes in proptest::collection::vec(any::<u8>(), 0..400),
        ) {
            let here = Tables::new(NodeId::new(1, 1));
            let kind = [Kind::Table, Kind::Digest, Kind::Pull][kind];
            let from: SocketAddr = "127.0.0.1:2".parse().expect("an address");
            let out = here.receive(kind, 2, from, &bytes, |_| true, &[from]);
            prop_assert!(out.iter().all(|(_, payload, _)| payload.len() <= MAX_ITEM));
        }
    }
}
