//! [`MemberId`]: who a member is, as the SWIM protocol (foca) sees it.

use std::net::SocketAddr;

use proscenium_runtime::NodeId;
use serde::{Deserialize, Serialize};

/// One run of one node, as its membership datagrams name it.
///
/// Members are told apart by [`addr`](Self::addr) (foca's `Identity::Addr`):
/// two identities at one address are two runs of the same node, and the
/// one that started later wins. A node that foca wrongly declared down (it
/// was paused, say) renews its identity with the next `generation` and
/// rejoins without restarting.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) struct MemberId {
    /// The node's name.
    pub(crate) name: String,
    /// The node run: its number and the incarnation its actor ids carry.
    pub(crate) node: NodeId,
    /// Where it listens: TCP for links, UDP for membership, same port.
    pub(crate) addr: SocketAddr,
    /// When the process started (ns since 1970): orders runs at one address.
    pub(crate) session: u64,
    /// Bumped each time this run rejoins after being declared down.
    pub(crate) generation: u32,
}

impl MemberId {
    /// A stand-in for the unknown node listening at a seed address: enough
    /// to send it an announce, which foca accepts by address alone.
    pub(crate) fn seed(addr: SocketAddr) -> Self {
        Self {
            name: String::new(),
            node: NodeId::new(0, 0),
            addr,
            session: 0,
            generation: 0,
        }
    }

    /// Whether `other` is this same process run, perhaps under a renewed
    /// identity (another `generation`).
    pub(crate) fn same_run(&self, other: &Self) -> bool {
        self.node == other.node && self.session == other.session && self.addr == other.addr
    }

    fn recency(&self) -> (u64, u32, u64) {
        (self.session, self.generation, self.node.incarnation())
    }
}

impl foca::Identity for MemberId {
    type Addr = SocketAddr;

    fn renew(&self) -> Option<Self> {
        Some(Self {
            generation: self.generation.wrapping_add(1),
            ..self.clone()
        })
    }

    fn addr(&self) -> SocketAddr {
        self.addr
    }

    fn win_addr_conflict(&self, adversary: &Self) -> bool {
        self.recency() > adversary.recency()
    }
}

#[cfg(test)]
mod tests {
    use foca::Identity;

    use super::*;

    fn id(session: u64, generation: u32) -> MemberId {
        MemberId {
            name: "a".into(),
            node: NodeId::new(1, 9),
            addr: "127.0.0.1:4000".parse().expect("an address"),
            session,
            generation,
        }
    }

    #[test]
    fn a_later_run_wins_its_address() {
        assert!(id(2, 0).win_addr_conflict(&id(1, 5)));
        assert!(!id(1, 5).win_addr_conflict(&id(2, 0)));
    }

    #[test]
    fn a_renewed_identity_wins_over_the_one_declared_down() {
        let old = id(1, 0);
        let renewed = old.renew().expect("members renew");
        assert_eq!(renewed.addr(), old.addr());
        assert!(renewed.win_addr_conflict(&old));
    }
}
