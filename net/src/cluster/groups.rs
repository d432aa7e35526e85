//! Process groups, like Erlang's `pg`: named sets of actors across the
//! cluster, each entry typed by the message it receives.
//!
//! Each node owns its own entries (only its local actors join) in a
//! [`Replica`] table that it sends, versioned and in chunks, to every live
//! member: on each change, to a member that comes up, and on request when
//! a periodic digest shows a member is behind. A node keeps the newest
//! table of each other member and drops it when that member goes down or
//! leaves. Membership is eventually consistent: two nodes may briefly
//! disagree.

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proscenium_runtime::remote::{self, Seal};
use proscenium_runtime::{ActorId, ActorRef, Handler, NodeId, Recipient};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::cluster::replica::{Chunk, ChunkError, Replica, TableError, TableKind, MAX_TABLE_BYTES};
use crate::{MessageTag, Node, RemoteMessage};

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
    /// This node's group entries would outgrow the most one node may own.
    #[error("this node's group entries would exceed {MAX_TABLE_BYTES} bytes: use fewer or shorter-named groups")]
    TooMany,
    /// The group's name is too long for one membership datagram.
    #[error("group name of {} bytes is too long: use one under 1 KB", .0.len())]
    NameTooLong(String),
}

/// One entry as it crosses the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    group: String,
    tag: MessageTag,
    actor: ActorId,
    /// The seal its node made for `actor`: a group lists its members' refs.
    seal: Seal,
}

/// This node's groups and the newest table of each other member.
pub(crate) struct GroupState {
    table: Replica<Entry>,
    /// The typed recipient behind each local entry, for `group_members`.
    recipients: BTreeMap<Entry, Box<dyn Any + Send + Sync>>,
    events: broadcast::Sender<GroupEvent>,
}

impl std::fmt::Debug for GroupState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupState")
            .field("local", &self.recipients.len())
            .field("version", &self.table.version())
            .finish_non_exhaustive()
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
            table: Replica::new(TableKind::Groups, me),
            recipients: BTreeMap::new(),
            events: broadcast::channel(256).0,
        }
    }

    /// This node's table and the other members'.
    pub(crate) fn table(&self) -> &Replica<Entry> {
        &self.table
    }

    /// The local actors in any group, each once (for load reports).
    pub(crate) fn local_actors(&self) -> Vec<ActorId> {
        let mut actors: Vec<ActorId> = self.recipients.keys().map(|entry| entry.actor).collect();
        actors.sort();
        actors.dedup();
        actors
    }

    /// Which local actor is in which group, sorted by group.
    pub(crate) fn local_memberships(&self) -> Vec<(String, ActorId)> {
        let mut memberships: Vec<_> = self
            .recipients
            .keys()
            .map(|entry| (entry.group.clone(), entry.actor))
            .collect();
        memberships.dedup();
        memberships
    }

    fn join(
        &mut self,
        entry: Entry,
        recipient: Box<dyn Any + Send + Sync>,
    ) -> Result<(), GroupError> {
        match self.table.insert(entry.clone()) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(TableError::EntryTooLarge { .. }) => {
                return Err(GroupError::NameTooLong(entry.group));
            }
            Err(TableError::Full) => return Err(GroupError::TooMany),
        }
        self.recipients.insert(entry.clone(), recipient);
        self.announce(GroupEvent::Joined {
            group: entry.group,
            actor: entry.actor,
        });
        Ok(())
    }

    /// Removes `actor`'s local entries (of `group`, or of every group);
    /// whether any was removed.
    fn leave(&mut self, group: Option<&str>, actor: ActorId) -> bool {
        let gone = self
            .table
            .remove_where(|e| e.actor == actor && group.is_none_or(|g| e.group == g));
        for entry in &gone {
            self.recipients.remove(entry);
        }
        let any = !gone.is_empty();
        self.announce_left(gone);
        any
    }

    /// Takes in a chunk of another member's table; announces what changed
    /// once a newer version is complete.
    pub(crate) fn receive(&mut self, chunk: Chunk) -> Result<(), ChunkError> {
        if let Some(diff) = self.table.receive(chunk)? {
            self.announce_left(diff.left);
            for entry in diff.joined {
                self.announce(GroupEvent::Joined {
                    group: entry.group,
                    actor: entry.actor,
                });
            }
        }
        Ok(())
    }

    /// Node run `node` is down or gone: its entries vanish.
    pub(crate) fn drop_node(&mut self, node: NodeId) {
        let gone = self.table.drop_node(node);
        self.announce_left(gone);
    }

    fn announce_left(&self, entries: Vec<Entry>) {
        for entry in entries {
            self.announce(GroupEvent::Left {
                group: entry.group,
                actor: entry.actor,
            });
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
    /// [`GroupError::TooMany`] if this node's entries outgrow 256 KiB,
    /// [`GroupError::NameTooLong`] for a group name over about 1 KB.
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
            seal: self.shared().seals.seal(actor.id()),
        };
        lock(membership.groups()).join(entry, Box::new(actor.recipient::<M>()))?;
        membership.publish(TableKind::Groups);
        let (shared, actor, groups) = (self.shared(), actor.clone(), membership.clone());
        let cancel = shared.cancel.clone();
        shared.tasks.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = actor.wait_stopped() => {
                    if lock(groups.groups()).leave(None, actor.id()) {
                        groups.publish(TableKind::Groups);
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
                membership.publish(TableKind::Groups);
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
            .recipients
            .iter()
            .filter(|(entry, _)| entry.group == group)
            .filter_map(|(_, recipient)| recipient.downcast_ref::<Recipient<M>>().cloned());
        let shared = self.shared();
        let timeout = self.system().ask_timeout();
        let remote = state
            .table
            .remote()
            .filter(|entry| entry.group == group && entry.tag == tag)
            .map(|entry| {
                let transport = shared.ref_transport(entry.seal);
                remote::recipient(entry.actor, transport, timeout)
            });
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

    fn entry(group: &str, node: NodeId, actor: u64) -> Entry {
        Entry {
            group: group.into(),
            tag: MessageTag::new(1),
            actor: ActorId::new(node, actor),
            seal: Seal::NONE,
        }
    }

    /// Version `version` of `owner`'s table, holding `actors` in group "g".
    fn table(owner: NodeId, version: u64, actors: &[u64]) -> Vec<Chunk> {
        let mut table = Replica::new(TableKind::Groups, owner);
        for &actor in actors {
            table.insert(entry("g", owner, actor)).expect("fits");
        }
        while table.version() < version {
            table
                .insert(entry("bump", owner, table.version()))
                .expect("fits");
            table.remove_where(|e| e.group == "bump");
        }
        table.chunks()
    }

    fn receive(state: &mut GroupState, chunks: Vec<Chunk>) {
        for chunk in chunks {
            state.receive(chunk).expect("a valid chunk");
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
        receive(&mut state, table(other, 2, &[1, 2]));
        receive(&mut state, table(other, 4, &[2, 3]));
        // A late, older table changes nothing.
        receive(&mut state, table(other, 3, &[1]));
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
        assert_eq!(state.table.remote().count(), 2);
    }

    #[test]
    fn a_node_that_goes_down_takes_its_entries_along() {
        let mut state = GroupState::new(NodeId::new(1, 1));
        let other = NodeId::new(2, 2);
        receive(&mut state, table(other, 1, &[1]));
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
        assert_eq!(state.table.remote().count(), 0);
    }

    #[test]
    fn local_entries_come_and_go_with_versions() {
        let me = NodeId::new(1, 1);
        let mut state = GroupState::new(me);
        let id = ActorId::new(me, 5);
        let local = entry("g", me, 5);
        state.join(local.clone(), Box::new(())).expect("fits");
        state
            .join(local, Box::new(()))
            .expect("joining twice is one entry");
        assert_eq!((state.table.local().count(), state.table.version()), (1, 1));
        assert!(state.leave(None, id));
        assert!(!state.leave(None, id));
        assert_eq!((state.table.local().count(), state.table.version()), (0, 2));
        assert!(state.recipients.is_empty());
    }

    #[test]
    fn a_group_name_too_long_for_a_datagram_is_refused() {
        let me = NodeId::new(1, 1);
        let mut state = GroupState::new(me);
        let long = "x".repeat(crate::cluster::codec::MAX_ITEM);
        let refused = state.join(entry(&long, me, 1), Box::new(()));
        assert_eq!(refused, Err(GroupError::NameTooLong(long)));
        assert_eq!(state.table.local().count(), 0);
    }

    #[test]
    fn more_entries_than_one_datagram_holds_are_accepted() {
        let me = NodeId::new(1, 1);
        let mut state = GroupState::new(me);
        for i in 0..200 {
            let group = format!("group-with-a-long-name-{i:04}");
            state
                .join(entry(&group, me, i), Box::new(()))
                .expect("a table may span datagrams");
        }
        assert!(state.table.chunks().len() > 3);
    }
}
