//! Actor identities that stay unique across nodes and process restarts.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::str::FromStr;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

/// Names one run of one node: which node it is and which start of it.
///
/// A node that restarts keeps its [`number`](Self::number) but gets a new
/// [`incarnation`](Self::incarnation), so ids minted by the old process can
/// never reach actors of the new one. A [`System`](crate::System) that is not
/// part of a cluster has node number `0` and a random incarnation.
///
/// It prints as the node's name and the last four hex digits of its
/// incarnation, `beta#4f2a`, once the network layer has learned the name
/// (see [`remote::register_node_name`](crate::remote::register_node_name)); a local system prints as `local#4f2a`,
/// a node whose name is not known here by its number in hex. The exact id
/// is in [`full`](Self::full) and in `Debug`.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{remote, NodeId};
///
/// let id = NodeId::new(0x51ab, 0x1234_4f2a);
/// assert_eq!(id.to_string(), "51ab#4f2a");
/// remote::register_node_name(0x51ab, "beta");
/// assert_eq!(id.to_string(), "beta#4f2a");
/// assert_eq!(id.full().to_string(), "20907.12344f2a");
/// ```
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
    /// assert_eq!((id.number(), id.incarnation()), (7, 42));
    /// ```
    pub const fn new(node: u64, incarnation: u64) -> Self {
        Self { node, incarnation }
    }

    /// A local node id (node `0`) with a fresh random incarnation.
    pub fn local() -> Self {
        Self::new(0, fresh_incarnation())
    }

    /// The node number, stable across restarts of that node.
    pub const fn number(&self) -> u64 {
        self.node
    }

    /// Which start of the node this is; new on every start.
    pub const fn incarnation(&self) -> u64 {
        self.incarnation
    }

    /// The node's name, if this process has learned it.
    pub fn name(&self) -> Option<Arc<str>> {
        if self.node == 0 {
            // Once: ids of local actors print through here in every log line.
            static LOCAL: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("local"));
            return Some(Arc::clone(&LOCAL));
        }
        read_names().get(&self.node).cloned()
    }

    /// The exact id, `node.incarnation` (the incarnation in hex): what
    /// [`ActorId`]'s parser reads, and what tells two runs apart for sure.
    pub fn full(&self) -> impl fmt::Display + '_ {
        FullNodeId(self)
    }

    /// Records `name` as the name of node number `node` in this process;
    /// see [`remote::register_node_name`](crate::remote::register_node_name).
    pub(crate) fn register_name(node: u64, name: &str) {
        if read_names().contains_key(&node) {
            return;
        }
        let mut names = NODE_NAMES.write().unwrap_or_else(PoisonError::into_inner);
        if names.len() < Self::MAX_NODE_NAMES && !names.contains_key(&node) {
            names.insert(node, Arc::from(name));
        }
    }

    /// The most node names a process keeps for printing ids.
    pub const MAX_NODE_NAMES: usize = 65_536;
}

/// Names of node numbers learned in this process, for printing ids.
static NODE_NAMES: LazyLock<RwLock<HashMap<u64, Arc<str>>>> = LazyLock::new(RwLock::default);

fn read_names() -> std::sync::RwLockReadGuard<'static, HashMap<u64, Arc<str>>> {
    // Inserting cannot leave the map half-changed: poisoning is harmless.
    NODE_NAMES.read().unwrap_or_else(PoisonError::into_inner)
}

/// How many low hex digits of the incarnation a printed id shows: enough
/// to tell the runs of one node apart in a log.
const SHORT_INCARNATION_MASK: u64 = 0xffff;

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.incarnation & SHORT_INCARNATION_MASK;
        match self.name() {
            Some(name) => write!(f, "{name}#{short:04x}"),
            None => write!(f, "{:x}#{short:04x}", self.node),
        }
    }
}

/// [`NodeId::full`].
struct FullNodeId<'a>(&'a NodeId);

impl fmt::Display for FullNodeId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:x}", self.0.node, self.0.incarnation)
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
/// // Printed for people: the node's name (or number) and short incarnation.
/// assert_eq!(id.to_string(), "<1#00ab.17>");
/// // Exact, and what the parser reads.
/// assert_eq!(id.full().to_string(), "<1.ab.17>");
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

    /// The exact id, `<node.incarnation.seq>`, which [`FromStr`] reads
    /// back; `Display` prints the node's name instead (`<beta#4f2a.17>`).
    pub fn full(&self) -> impl fmt::Display + '_ {
        FullActorId(self)
    }
}

impl fmt::Display for ActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}>", self.node, self.seq)
    }
}

/// [`ActorId::full`].
struct FullActorId<'a>(&'a ActorId);

impl fmt::Display for FullActorId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}.{}>", self.0.node.full(), self.0.seq)
    }
}

/// The text could not be read as an [`ActorId`]; the form is
/// `<node.incarnation_hex.seq>`, as [`ActorId::full`] prints it.
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
    fn full_ids_read_back() {
        let id = ActorId::new(NodeId::new(u64::MAX, 0xdead_beef), 42);
        assert_eq!(id.full().to_string().parse::<ActorId>(), Ok(id));
    }

    #[test]
    fn local_systems_print_as_local() {
        let id = ActorId::new(NodeId::new(0, 0x1_0000_0abc), 3);
        assert_eq!(id.to_string(), "<local#0abc.3>");
    }

    #[test]
    fn the_first_name_of_a_number_stays() {
        NodeId::register_name(0xfeed, "first");
        NodeId::register_name(0xfeed, "second");
        assert_eq!(NodeId::new(0xfeed, 1).to_string(), "first#0001");
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
