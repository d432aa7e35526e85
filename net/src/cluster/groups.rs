//! Process groups, like Erlang's `pg`: named sets of actors across the
//! cluster, each entry typed by the message it receives.
//!
//! Each node owns its own entries (only its local actors join) and sends
//! its whole table, versioned, to every live member: on each change, to a
//! member that comes up, and every few seconds to repair lost datagrams.
//! A node keeps the newest table of each other member and drops it when
//! that member goes down or leaves. Membership is eventually consistent:
//! two nodes may briefly disagree.

use std::any::Any;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proscenium_runtime::{ActorId, ActorRef, Handler, NodeId, Recipient, RemoteDelivery};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::cluster::codec::MAX_ITEM;
use crate::{wire, MessageTag, Node, RemoteMessage};

/// A change to a process group, as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupEvent {
    /// `actor` joined `group`.
    Joined {
        /// The group.
        group: String,
        /// The actor.
        actor: ActorId,
    },
    /// `actor` left `group`: it left, stopped, or its node went away.
    Left {
        /// The group.
        group: String,
        /// The actor.
        actor: ActorId,
    },
}

/// Why an actor could not join a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// Groups need a cluster member.
    #[error("process groups need a cluster member: start the node with `NodeBuilder::cluster` or `seeds`")]
    NotClustered,
    /// Only actors of this node can be put in a group here.
    #[error("actor {0} is not on this node: join it to the group on its own node")]
    NotLocal(ActorId),
    /// The node's entries would not fit in one membership datagram.
    #[error("this node's group entries would exceed {MAX_ITEM} bytes: use fewer or shorter-named groups")]
    TooMany,
}

/// One entry as it crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    group: String,
    tag: MessageTag,
    actor: ActorId,
}

/// A node's whole table, as it sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GroupTable {
    pub(crate) owner: NodeId,
    version: u64,
    entries: BTreeSet<Entry>,
}

/// A local entry: the typed recipient behind it, for `group_members`.
struct LocalEntry {
    entry: Entry,
    recipient: Box<dyn Any + Send + Sync>,
}

/// This node's groups and the newest table of each other member.
pub(crate) struct GroupState {
    me: NodeId,
    local: Vec<LocalEntry>,
    version: u64,
    remote: HashMap<u64, GroupTable>,
    events: broadcast::Sender<GroupEvent>,
}

impl std::fmt::Debug for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupState")
            .field("local", &self.local.len())
            .field("remote", &self.remote.len())
            .finish()
    }
}

pub(crate) type SharedGroups = Arc<Mutex<GroupState>>;

pub(crate) fn lock(groups: &Mutex<GroupState>) -> MutexGuard<'_, GroupState> {
    // Every method leaves the state consistent; a panic cannot split one.
    groups.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupState {
    pub(crate) fn new(me: NodeId) -> Self {
        Self {
            me,
            local: Vec::new(),
            version: 0,
            remote: HashMap::new(),
            events: broadcast::channel(256).0,
        }
    }

    /// This node's table as it goes on the wire.
    pub(crate) fn table(&self) -> GroupTable {
        GroupTable {
            owner: self.me,
            version: self.version,
            entries: self.local.iter().map(|l| l.entry.clone()).collect(),
        }
    }

    /// The local actors in any group, each once (for load reports).
    pub(crate) fn local_actors(&self) -> Vec<ActorId> {
        let mut actors: Vec<ActorId> = self.local.iter().map(|l| l.entry.actor).collect();
        actors.sort();
        actors.dedup();
        actors
    }

    fn join(
        &mut self,
        entry: Entry,
        recipient: Box<dyn Any + Send + Sync>,
    ) -> Result<(), GroupError> {
        if self.local.iter().any(|l| l.entry == entry) {
            return Ok(());
        }
        self.local.push(LocalEntry {
            entry: entry.clone(),
            recipient,
        });
        let fits = wire::encode(&self.table(), MAX_ITEM as u64 - 64).is_ok();
        if !fits {
            self.local.pop();
            return Err(GroupError::TooMany);
        }
        self.version += 1;
        self.announce(GroupEvent::Joined {
            group: entry.group,
            actor: entry.actor,
        });
        Ok(())
    }

    /// Removes `actor`'s local entries (of `group`, or of every group);
    /// whether any was removed.
    fn leave(&mut self, group: Option<&str>, actor: ActorId) -> bool {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.local)
            .into_iter()
            .partition(|l| l.entry.actor == actor && group.is_none_or(|g| l.entry.group == g));
        self.local = kept;
        if gone.is_empty() {
            return false;
        }
        self.version += 1;
        for l in gone {
            self.announce(GroupEvent::Left {
                group: l.entry.group,
                actor,
            });
        }
        true
    }

    /// Takes in another member's table if it is newer than the one held.
    pub(crate) fn apply_remote(&mut self, table: GroupTable) {
        let number = table.owner.node();
        let empty = BTreeSet::new();
        let old = match self.remote.get(&number) {
            Some(held) if held.owner == table.owner && held.version >= table.version => return,
            Some(held) if held.owner == table.owner => &held.entries,
            _ => &empty,
        };
        let left: Vec<Entry> = old.difference(&table.entries).cloned().collect();
        let joined: Vec<Entry> = table.entries.difference(old).cloned().collect();
        self.remote.insert(number, table);
        for entry in left {
            self.announce(GroupEvent::Left {
                group: entry.group,
                actor: entry.actor,
            });
        }
        for entry in joined {
            self.announce(GroupEvent::Joined {
                group: entry.group,
                actor: entry.actor,
            });
        }
    }

    /// Node run `node` is down or gone: its entries vanish.
    pub(crate) fn drop_node(&mut self, node: NodeId) {
        let held = self.remote.get(&node.node()).map(|t| t.owner);
        if held != Some(node) {
            return;
        }
        if let Some(table) = self.remote.remove(&node.node()) {
            for entry in table.entries {
                self.announce(GroupEvent::Left {
                    group: entry.group,
                    actor: entry.actor,
                });
            }
        }
    }

    fn announce(&self, event: GroupEvent) {
        let _ = self.events.send(event);
    }
}

// ===== the API, on Node =====

impl Node {
    /// Puts local actor `actor` into `group` as a receiver of `M`; other
    /// members see it in [`group_members::<M>`](Self::group_members) once
    /// this node's table reaches them. It leaves by itself when it stops,
    /// and vanishes everywhere when this node goes down or leaves.
    ///
    /// # Errors
    ///
    /// [`GroupError::NotClustered`] if this node is not a cluster member,
    /// [`GroupError::NotLocal`] for an actor of another node,
    /// [`GroupError::TooMany`] if this node's entries outgrow a datagram.
    pub fn join_group<M, A>(&self, group: &str, actor: &ActorRef<A>) -> Result<(), GroupError>
    where
        M: RemoteMessage,
        A: Handler<M>,
    {
        let membership = self.membership().ok_or(GroupError::NotClustered)?;
        if actor.id().node() != self.id() {
            return Err(GroupError::NotLocal(actor.id()));
        }
        let entry = Entry {
            group: group.to_owned(),
            tag: MessageTag::from_name(M::TAG),
            actor: actor.id(),
        };
        lock(membership.groups()).join(entry, Box::new(actor.recipient::<M>()))?;
        membership.publish_groups();
        let (shared, actor, groups) = (self.shared(), actor.clone(), membership.clone());
        let cancel = shared.cancel.clone();
        shared.tasks.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = actor.wait_stopped() => {
                    if lock(groups.groups()).leave(None, actor.id()) {
                        groups.publish_groups();
                    }
                }
            }
        });
        Ok(())
    }

    /// Takes local actor `actor` out of `group`.
    pub fn leave_group<A: proscenium_runtime::Actor>(&self, group: &str, actor: &ActorRef<A>) {
        if let Some(membership) = self.membership() {
            if lock(membership.groups()).leave(Some(group), actor.id()) {
                membership.publish_groups();
            }
        }
    }

    /// The members of `group` that receive `M`, on this node and on every
    /// member whose table has reached this one, in no particular order.
    pub fn group_members<M: RemoteMessage>(&self, group: &str) -> Vec<Recipient<M>> {
        let Some(membership) = self.membership() else {
            return Vec::new();
        };
        let tag = MessageTag::from_name(M::TAG);
        let state = lock(membership.groups());
        let local = state
            .local
            .iter()
            .filter(|l| l.entry.group == group)
            .filter_map(|l| l.recipient.downcast_ref::<Recipient<M>>().cloned());
        let transport: Arc<dyn RemoteDelivery> = self.shared().clone();
        let timeout = self.system().ask_timeout();
        let remote = state
            .remote
            .values()
            .flat_map(|table| table.entries.iter())
            .filter(|entry| entry.group == group && entry.tag == tag)
            .map(|entry| Recipient::remote(entry.actor, Arc::clone(&transport), timeout));
        local.chain(remote).collect()
    }

    /// Subscribes to [`GroupEvent`]s from now on (empty for a node that is
    /// not a cluster member). Subscribe, then read
    /// [`group_members`](Self::group_members): later changes arrive as events.
    pub fn group_events(&self) -> broadcast::Receiver<GroupEvent> {
        match self.membership() {
            Some(membership) => lock(membership.groups()).events.subscribe(),
            None => broadcast::channel(1).1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(group: &str, actor: u64) -> Entry {
        Entry {
            group: group.into(),
            tag: MessageTag::new(1),
            actor: ActorId::new(NodeId::new(2, 2), actor),
        }
    }

    fn table(owner: NodeId, version: u64, entries: &[Entry]) -> GroupTable {
        GroupTable {
            owner,
            version,
            entries: entries.iter().cloned().collect(),
        }
    }

    fn drain(events: &mut broadcast::Receiver<GroupEvent>) -> Vec<GroupEvent> {
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    #[test]
    fn newer_tables_replace_older_ones_and_report_the_difference() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        let mut events = state.events.subscribe();
        let other = NodeId::new(2, 2);
        state.apply_remote(table(other, 1, &[entry("g", 1), entry("g", 2)]));
        state.apply_remote(table(other, 2, &[entry("g", 2), entry("g", 3)]));
        // A late, older table changes nothing.
        state.apply_remote(table(other, 1, &[entry("g", 1)]));
        let actor = |n| ActorId::new(other, n);
        let joined = |n| GroupEvent::Joined {
            group: "g".into(),
            actor: actor(n),
        };
        let left = |n| GroupEvent::Left {
            group: "g".into(),
            actor: actor(n),
        };
        assert_eq!(
            drain(&mut events),
            [joined(1), joined(2), left(1), joined(3)]
        );
        assert_eq!(state.remote[&2].entries.len(), 2);
    }

    #[test]
    fn a_node_that_goes_down_takes_its_entries_along() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        let other = NodeId::new(2, 2);
        state.apply_remote(table(other, 1, &[entry("g", 1)]));
        let mut events = state.events.subscribe();
        // Another run of that node going down is not this one.
        state.drop_node(NodeId::new(2, 3));
        assert!(drain(&mut events).is_empty());
        state.drop_node(other);
        assert_eq!(
            drain(&mut events),
            [GroupEvent::Left {
                group: "g".into(),
                actor: ActorId::new(other, 1)
            }]
        );
        assert!(state.remote.is_empty());
    }

    #[test]
    fn a_restarted_node_starts_a_fresh_table() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        state.apply_remote(table(NodeId::new(2, 2), 9, &[entry("g", 1)]));
        let restarted = NodeId::new(2, 3);
        state.apply_remote(table(restarted, 1, &[]));
        assert_eq!(state.remote[&2].owner, restarted);
    }

    #[test]
    fn local_entries_come_and_go_with_versions() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        let id = ActorId::new(NodeId::new(1, 1), 5);
        let local = Entry {
            actor: id,
            ..entry("g", 0)
        };
        state.join(local.clone(), Box::new(())).expect("fits");
        state
            .join(local, Box::new(()))
            .expect("joining twice is one entry");
        assert_eq!((state.table().entries.len(), state.version), (1, 1));
        assert!(state.leave(None, id));
        assert!(!state.leave(None, id));
        assert_eq!((state.table().entries.len(), state.version), (0, 2));
    }

    #[test]
    fn a_table_too_large_for_a_datagram_is_refused() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        let long = "x".repeat(MAX_ITEM);
        let refused = state.join(entry(&long, 1), Box::new(()));
        assert_eq!(refused, Err(GroupError::TooMany));
        assert!(state.table().entries.is_empty());
    }
}
