//! The cluster layer: who is in the cluster, found through seeds and kept
//! by SWIM membership (the `foca` crate) over authenticated UDP datagrams.
//!
//! It sits above the net layer: it dials links and fails what waits on a
//! member declared down, through [`NodeShared`](crate::shared::NodeShared);
//! the net layer only starts it (`NodeBuilder::seeds`, `NodeBuilder::cluster`),
//! asks it for [`Node::members`](crate::Node::members) and has it announce
//! leaving on shutdown.
//!
//! * `identity`: [`MemberId`](identity::MemberId), a node run as SWIM names it;
//! * `auth`: the MAC and replay window on every membership datagram;
//! * `codec`: foca's messages in the crate's wire format;
//! * `config`: [`MembershipConfig`], the failure detector's timings;
//! * `member`: [`Member`], [`MemberState`] and the table of changes;
//! * `membership`: the task that drives foca with a socket, timers and seeds;
//! * `mdns` (feature `mdns`): finding members on the LAN, a seed source;
//! * `replica`: a table each node owns and sends to every member, in chunks;
//! * `tables`: the node's replicated tables and the datagrams that sync them;
//! * `groups`: process groups, one replicated table;
//! * `names`: cluster-wide names, another, with the conflict rule;
//! * `load`: load reports, the mailbox depths of each member's group actors;
//! * `pool`: [`ClusterPool`], the runtime's routers over a group's members.

mod auth;
mod codec;
mod config;
mod groups;
mod identity;
mod load;
#[cfg(feature = "mdns")]
pub(crate) mod mdns;
mod member;
mod membership;
mod names;
mod pool;
mod replica;
mod tables;

pub use config::{MembershipConfig, MembershipConfigError};
pub use groups::{GroupError, GroupEvent};
pub use member::{Member, MemberState};
pub(crate) use membership::{Membership, MembershipView};
pub use names::{NameError, NameEvent};
pub use pool::{ClusterPool, ClusterPoolBuilder, PoolAskError, PoolTellError};
