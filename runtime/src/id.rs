//! Actor identities that stay unique across nodes and process restarts.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Names one run of one node: which node it is and which start of it.
///
/// A node that restarts keeps its [`node`](Self::node) number but gets a new
/// [`incarnation`](Self::incarnation), so ids minted by the old process can
/// never reach actors of the new one. A [`System`](crate::System) that is not
/// part of a cluster has node number `0` and a random incarnation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    node: u64,
    incarnation: u64,
}

impl NodeId {
    /// Creates the id of a node run from its parts.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::NodeId;
    ///
    /// let id = NodeId::new(7, 42);
    /// assert_eq!((id.node(), id.incarnation()), (7, 42));
    /// ```
    pub const fn new(node: u64, incarnation: u64) -> Self {
        Self { node, incarnation }
    }

    /// A local node id (node `0`) with a fresh random incarnation.
    pub fn local() -> Self {
        Self::new(0, fresh_incarnation())
    }

    /// The node number, stable across restarts of that node.
    pub const fn node(&self) -> u64 {
        self.node
    }

    /// Which start of the node this is; new on every start.
    pub const fn incarnation(&self) -> u64 {
        self.incarnation
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:x}", self.node, self.incarnation)
    }
}

/// A random incarnation number, different for every system in every process.
fn fresh_incarnation() -> u64 {
    // `RandomState` is seeded from the OS once per thread and stepped for every
    // new instance, so two systems created back to back still differ.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.write_u32(std::process::id());
    // Zero is reserved so a default-looking id is never mistaken for a live one.
    hasher.finish().max(1)
}

/// The identity of one actor, unique across a cluster and across restarts.
///
/// It is the node run that spawned the actor ([`NodeId`]) plus a sequence
/// number local to that run. Ids are `Copy`, hash and order cheaply, and
/// serialize with serde so they can travel inside messages. A supervised
/// actor keeps its id when it is restarted.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{ActorId, NodeId};
///
/// let id = ActorId::new(NodeId::new(1, 0xab), 17);
/// assert_eq!(id.to_string(), "<1.ab.17>");
/// assert_eq!("<1.ab.17>".parse::<ActorId>().unwrap(), id);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ActorId {
    node: NodeId,
    seq: u64,
}

impl ActorId {
    /// Creates an id from the node run that owns the actor and its sequence number.
    pub const fn new(node: NodeId, seq: u64) -> Self {
        Self { node, seq }
    }

    /// The node run that spawned this actor.
    pub const fn node(&self) -> NodeId {
        self.node
    }

    /// The sequence number of this actor within its node run.
    pub const fn seq(&self) -> u64 {
        self.seq
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}>", self.node, self.seq)
    }
}

/// The text could not be read as an [`ActorId`]; the form is `<node.incarnation_hex.seq>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid actor id `{0}`: expected `<node.incarnation.seq>`, e.g. `<0.1f.42>`")]
pub struct ParseActorIdError(String);

impl FromStr for ActorId {
    type Err = ParseActorIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseActorIdError(s.to_owned());
        let inner = s
            .strip_prefix('<')
            .and_then(|rest| rest.strip_suffix('>'))
            .ok_or_else(invalid)?;
        let mut parts = inner.split('.');
        let (Some(node), Some(incarnation), Some(seq), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let node = node.parse().map_err(|_| invalid())?;
        let incarnation = u64::from_str_radix(incarnation, 16).map_err(|_| invalid())?;
        let seq = seq.parse().map_err(|_| invalid())?;
        Ok(ActorId::new(NodeId::new(node, incarnation), seq))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_incarnations_differ() {
        assert_ne!(NodeId::local(), NodeId::local());
    }

    #[test]
    fn parse_rejects_malformed_ids() {
        for bad in [
            "",
            "<>",
            "<1.2>",
            "<1.2.3.4>",
            "1.2.3",
            "<x.2.3>",
            "<1.zz.3>",
        ] {
            assert!(bad.parse::<ActorId>().is_err(), "{bad} parsed");
        }
    }
}
