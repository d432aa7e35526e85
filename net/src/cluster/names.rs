//! Cluster-wide names, like Erlang's `global`: a name held by one actor in
//! the whole cluster, found from any member.
//!
//! Each node owns its registrations in a [`Replica`] table, sent to every
//! member like the process groups' table. A node refuses to register a
//! name it already sees held; two nodes that do not yet know of each other
//! (a partition, a node registering before it joined) can both succeed.
//! Once their tables meet, every node picks the same winner by one rule,
//! whatever order the tables arrive in:
//!
//! **the claim with the lowest `(stamp, actor id)` wins**, where the stamp
//! is a hybrid logical clock: the registering node's wall clock in
//! microseconds, raised above every stamp it has seen, so a registration
//! made after seeing another is always stamped later. Across nodes that
//! never saw each other, the earlier registration wins when their clocks
//! agree; when they do not, the rule still picks one and the same winner
//! everywhere, because it reads nothing but the claims themselves.
//!
//! The owner of a losing claim drops it as soon as it sees the winner and
//! sends its table again; it and every node that saw both claims get a
//! [`NameEvent::Conflict`]. The losing actor itself is not told (it keeps
//! running): the owner's code decides, from the event, what it does.

use std::any::Any;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use proscenium_runtime::remote::Seal;
use proscenium_runtime::{Actor, ActorId, ActorRef, NodeId};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::cluster::replica::{Chunk, ChunkError, Replica, TableError, TableKind, MAX_TABLE_BYTES};
use crate::node::bare_type_name;
use crate::Node;

/// A change to a cluster-wide name, as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameEvent {
    /// `name` is now held by `actor`.
    Registered {
        /// The name.
        name: String,
        /// Its holder.
        actor: ActorId,
    },
    /// `actor` no longer holds `name`: it was unregistered, its actor
    /// stopped, its node went away, or it lost a conflict.
    Unregistered {
        /// The name.
        name: String,
        /// Its former holder.
        actor: ActorId,
    },
    /// Two actors held `name` at once (registered on nodes that did not
    /// know of each other); `winner` keeps it and `loser`'s registration
    /// is dropped. The loser's node always reports this; other nodes do
    /// if they saw both registrations before the loser's was dropped.
    Conflict {
        /// The name.
        name: String,
        /// The actor that keeps the name.
        winner: ActorId,
        /// The actor whose registration was dropped (it keeps running).
        loser: ActorId,
    },
}

/// Why a name could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// Names need a cluster member.
    #[error("cluster-wide names need a cluster member: start the node with `NodeBuilder::cluster` or `seeds`")]
    NotClustered,
    /// Only actors of this node can be registered here.
    #[error("actor {0} is not on this node: register it on its own node")]
    NotLocal(ActorId),
    /// The actor has stopped.
    #[error("actor {0} has stopped: register a live actor")]
    Stopped(ActorId),
    /// Another actor holds the name, as far as this node knows.
    #[error(
        "the name {name:?} is held by actor {holder}: pick another name or unregister it first"
    )]
    Taken {
        /// The name.
        name: String,
        /// The actor that holds it.
        holder: ActorId,
    },
    /// The name, with the actor's type name, is too long for a datagram.
    #[error("the name {0:?} is too long: use one under 1 KB")]
    TooLong(String),
    /// This node's registrations would outgrow the most one node may own.
    #[error(
        "this node's names would exceed {MAX_TABLE_BYTES} bytes: register fewer or shorter names"
    )]
    TooMany,
}

/// One registration as it crosses the wire. Ordered by name, then by the
/// conflict rule: the first claim of a name is its winner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct NameEntry {
    name: String,
    stamp: u64,
    actor: ActorId,
    /// The actor's type name without module paths, checked by lookups.
    type_name: String,
    /// The seal its node made for `actor`: the name publishes its ref.
    seal: Seal,
}

/// This node's names and every other member's.
pub(crate) struct NameState {
    table: Replica<NameEntry>,
    /// Every claim this node knows, local and remote, by name.
    claims: BTreeMap<String, BTreeSet<NameEntry>>,
    /// The typed ref behind each local registration, by name.
    refs: HashMap<String, Box<dyn Any + Send + Sync>>,
    /// Local actors whose stop is awaited, to unregister them.
    watched: HashSet<ActorId>,
    /// Losing claims already reported, until they vanish.
    reported: HashSet<(String, ActorId)>,
    /// The hybrid logical clock: the last stamp made or seen.
    clock: u64,
    events: broadcast::Sender<NameEvent>,
}

impl std::fmt::Debug for NameState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NameState")
            .field("names", &self.claims.len())
            .field("local", &self.refs.len())
            .finish_non_exhaustive()
    }
}

pub(crate) type SharedNames = Arc<Mutex<NameState>>;

pub(crate) fn lock(names: &Mutex<NameState>) -> MutexGuard<'_, NameState> {
    // Every method leaves the state consistent; a panic cannot split one.
    names.lock().unwrap_or_else(PoisonError::into_inner)
}

impl NameState {
    pub(crate) fn new(me: NodeId) -> Self {
        Self {
            table: Replica::new(TableKind::Names, me),
            claims: BTreeMap::new(),
            refs: HashMap::new(),
            watched: HashSet::new(),
            reported: HashSet::new(),
            clock: 0,
            events: broadcast::channel(256).0,
        }
    }

    /// This node's table and the other members'.
    pub(crate) fn table(&self) -> &Replica<NameEntry> {
        &self.table
    }

    /// The claim that holds `name`.
    fn winner(&self, name: &str) -> Option<&NameEntry> {
        self.claims.get(name).and_then(BTreeSet::first)
    }

    /// A stamp later than every stamp made or seen here, and no earlier
    /// than the wall clock.
    fn tick(&mut self) -> u64 {
        // The simulation's clock under turmoil, so stamps repeat with its seed.
        let now = u64::try_from(crate::sys::since_epoch().as_micros()).unwrap_or(u64::MAX);
        self.clock = now.max(self.clock.saturating_add(1));
        self.clock
    }

    fn register(
        &mut self,
        name: &str,
        (actor, seal): (ActorId, Seal),
        type_name: String,
        actor_ref: Box<dyn Any + Send + Sync>,
    ) -> Result<(), NameError> {
        if let Some(holder) = self.winner(name) {
            if holder.actor == actor {
                return Ok(());
            }
            return Err(NameError::Taken {
                name: name.to_owned(),
                holder: holder.actor,
            });
        }
        let entry = NameEntry {
            name: name.to_owned(),
            stamp: self.tick(),
            actor,
            type_name,
            seal,
        };
        match self.table.insert(entry.clone()) {
            Ok(_) => {}
            Err(TableError::EntryTooLarge { .. }) => return Err(NameError::TooLong(entry.name)),
            Err(TableError::Full) => return Err(NameError::TooMany),
        }
        self.refs.insert(entry.name.clone(), actor_ref);
        self.update(Vec::new(), vec![entry]);
        Ok(())
    }

    /// Drops the local registrations `which` picks; whether there were any.
    fn unregister_where(&mut self, which: impl FnMut(&NameEntry) -> bool) -> bool {
        let gone = self.table.remove_where(which);
        for entry in &gone {
            self.refs.remove(&entry.name);
        }
        let any = !gone.is_empty();
        self.update(gone, Vec::new());
        any
    }

    /// Takes in a chunk of another member's table. Returns whether a local
    /// registration lost a conflict and was dropped: this node's table
    /// must then go out again.
    pub(crate) fn receive(&mut self, chunk: Chunk) -> Result<bool, ChunkError> {
        match self.table.receive(chunk)? {
            Some(diff) => {
                let seen = diff.joined.iter().map(|e| e.stamp).max().unwrap_or(0);
                self.clock = self.clock.max(seen);
                Ok(self.update(diff.left, diff.joined))
            }
            None => Ok(false),
        }
    }

    /// Node run `node` is down or gone: its names vanish.
    pub(crate) fn drop_node(&mut self, node: NodeId) {
        let gone = self.table.drop_node(node);
        self.update(gone, Vec::new());
    }

    /// Applies claims that left and joined, resolves conflicts and
    /// announces what changed; whether a local claim lost and was dropped.
    fn update(&mut self, left: Vec<NameEntry>, joined: Vec<NameEntry>) -> bool {
        let names: BTreeSet<String> = left.iter().chain(&joined).map(|e| e.name.clone()).collect();
        let before: Vec<Option<ActorId>> = names
            .iter()
            .map(|name| self.winner(name).map(|e| e.actor))
            .collect();
        for entry in left {
            self.remove_claim(&entry);
        }
        for entry in joined {
            self.claims
                .entry(entry.name.clone())
                .or_default()
                .insert(entry);
        }
        let mut dropped = false;
        for (name, before) in names.iter().zip(before) {
            dropped |= self.resolve(name);
            let after = self.winner(name).map(|e| e.actor);
            if before != after {
                if let Some(actor) = before {
                    self.announce(NameEvent::Unregistered {
                        name: name.clone(),
                        actor,
                    });
                }
                if let Some(actor) = after {
                    self.announce(NameEvent::Registered {
                        name: name.clone(),
                        actor,
                    });
                }
            }
        }
        let claims = &self.claims;
        self.reported.retain(|(name, actor)| {
            claims
                .get(name)
                .is_some_and(|set| set.iter().any(|e| e.actor == *actor))
        });
        dropped
    }

    /// Reports each losing claim of `name` once and drops the local ones;
    /// whether a local one was dropped.
    fn resolve(&mut self, name: &str) -> bool {
        let Some(claims) = self.claims.get(name) else {
            return false;
        };
        let mut losers = claims.iter();
        let Some(winner) = losers.next().map(|e| e.actor) else {
            return false;
        };
        let losers: Vec<NameEntry> = losers.cloned().collect();
        let mut dropped = false;
        for loser in losers {
            if self.reported.insert((name.to_owned(), loser.actor)) {
                tracing::info!(%name, %winner, loser = %loser.actor, "name conflict resolved");
                self.announce(NameEvent::Conflict {
                    name: name.to_owned(),
                    winner,
                    loser: loser.actor,
                });
            }
            if self.table.is_local(&loser) {
                self.table.remove_where(|e| *e == loser);
                self.refs.remove(name);
                self.remove_claim(&loser);
                dropped = true;
            }
        }
        dropped
    }

    fn remove_claim(&mut self, entry: &NameEntry) {
        if let Some(set) = self.claims.get_mut(&entry.name) {
            set.remove(entry);
            if set.is_empty() {
                self.claims.remove(&entry.name);
            }
        }
    }

    fn announce(&self, event: NameEvent) {
        let _ = self.events.send(event);
    }
}

// ===== the API, on Node =====

impl Node {
    /// Registers local actor `actor` under `name` in the whole cluster;
    /// every member finds it with [`lookup_global`](Self::lookup_global)
    /// once this node's table reaches it. The name is dropped when the
    /// actor stops, and vanishes everywhere when this node goes down or
    /// leaves.
    ///
    /// Registering the name an actor already holds does nothing. If a
    /// node that did not know of this registration registered the same
    /// name (a partition), one of the two wins when their tables meet:
    /// the one registered earlier, by a hybrid logical clock, the same
    /// everywhere (see [`NameEvent::Conflict`]).
    ///
    /// # Errors
    ///
    /// [`NameError::Taken`] if another actor holds the name as far as this
    /// node knows, [`NameError::NotClustered`] if this node is not a
    /// cluster member, [`NameError::NotLocal`] for an actor of another
    /// node, [`NameError::Stopped`] for a stopped one,
    /// [`NameError::TooLong`] and [`NameError::TooMany`] past the sizes a
    /// node's names may take.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::{NameError, Node};
    /// use proscenium_runtime::Actor;
    ///
    /// struct Ledger;
    /// impl Actor for Ledger {}
    ///
    /// # #[tokio::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let secret = b"a cluster secret of 32 bytes ...".to_vec();
    /// let loopback = "127.0.0.1:0".parse()?;
    /// let a = Node::builder("a").secret(secret.clone()).listen(loopback).cluster().start().await?;
    /// let seed = a.local_addr().expect("listening");
    /// let b = Node::builder("b").secret(secret).listen(loopback).seeds([seed]).start().await?;
    ///
    /// let mut names = b.name_events(); // subscribed before the name can arrive
    /// let ledger = a.system().spawn(Ledger)?;
    /// a.register_global("ledger", &ledger)?;
    /// while b.lookup_global::<Ledger>("ledger").is_none() {
    ///     names.recv().await?; // a `NameEvent::Registered` when a's names reach b
    /// }
    /// let found = b.lookup_global::<Ledger>("ledger").expect("registered on a");
    /// assert_eq!(found.id(), ledger.id()); // a remote ref, asked like a local one
    ///
    /// // One holder at a time, in the whole cluster.
    /// let other = b.system().spawn(Ledger)?;
    /// assert!(matches!(
    ///     b.register_global("ledger", &other),
    ///     Err(NameError::Taken { holder, .. }) if holder == ledger.id()
    /// ));
    /// # b.shutdown().await;
    /// # a.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn register_global<A: Actor>(
        &self,
        name: &str,
        actor: &ActorRef<A>,
    ) -> Result<(), NameError> {
        let membership = self.membership().ok_or(NameError::NotClustered)?;
        if actor.id().node() != self.id() {
            return Err(NameError::NotLocal(actor.id()));
        }
        if !actor.is_alive() {
            return Err(NameError::Stopped(actor.id()));
        }
        let type_name = bare_type_name(std::any::type_name::<A>());
        let first_watch = {
            let mut names = lock(membership.names());
            let sealed = (actor.id(), self.shared().seals.seal(actor.id()));
            names.register(name, sealed, type_name, Box::new(actor.clone()))?;
            names.watched.insert(actor.id())
        };
        membership.publish(TableKind::Names);
        if first_watch {
            self.unregister_when_stopped(actor.clone());
        }
        Ok(())
    }

    /// Drops `actor`'s names, here and then everywhere, when it stops.
    fn unregister_when_stopped<A: Actor>(&self, actor: ActorRef<A>) {
        let Some(membership) = self.membership().cloned() else {
            return;
        };
        let cancel = self.shared().cancel.clone();
        self.shared().tasks.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                _ = actor.wait_stopped() => {
                    let id = actor.id();
                    let dropped = {
                        let mut names = lock(membership.names());
                        names.watched.remove(&id);
                        names.unregister_where(|e| e.actor == id)
                    };
                    if dropped {
                        membership.publish(TableKind::Names);
                    }
                }
            }
        });
    }

    /// Drops this node's registration of `name`; whether it held one.
    /// A name held by an actor of another node is unregistered there.
    pub fn unregister_global(&self, name: &str) -> bool {
        let Some(membership) = self.membership() else {
            return false;
        };
        let dropped = lock(membership.names()).unregister_where(|e| e.name == name);
        if dropped {
            membership.publish(TableKind::Names);
        }
        dropped
    }

    /// The actor that holds `name` in the cluster, as far as this node
    /// knows, if it is an `A` (compared by type name without module path,
    /// as [`lookup`](Self::lookup) does): a local ref if it lives here, a
    /// remote one otherwise. For a [`Recipient`](proscenium_runtime::Recipient),
    /// call `.recipient::<M>()` on it.
    pub fn lookup_global<A: Actor>(&self, name: &str) -> Option<ActorRef<A>> {
        let membership = self.membership()?;
        let names = lock(membership.names());
        let holder = names.winner(name)?;
        if holder.actor.node() == self.id() {
            return names.refs.get(name)?.downcast_ref::<ActorRef<A>>().cloned();
        }
        if holder.type_name != bare_type_name(std::any::type_name::<A>()) {
            tracing::debug!(%name, found = %holder.type_name, "a global name holds another actor type");
            return None;
        }
        Some(self.remote_ref(holder.actor, holder.seal))
    }

    /// Every cluster-wide name this node knows, with its holder, by name.
    pub fn global_names(&self) -> Vec<(String, ActorId)> {
        let Some(membership) = self.membership() else {
            return Vec::new();
        };
        let names = lock(membership.names());
        names
            .claims
            .iter()
            .filter_map(|(name, claims)| Some((name.clone(), claims.first()?.actor)))
            .collect()
    }

    /// Subscribes to [`NameEvent`]s from now on (empty for a node that is
    /// not a cluster member). Subscribe, then read
    /// [`global_names`](Self::global_names): later changes arrive as events.
    pub fn name_events(&self) -> broadcast::Receiver<NameEvent> {
        match self.membership() {
            Some(membership) => lock(membership.names()).events.subscribe(),
            None => broadcast::channel(1).1,
        }
    }
}

#[cfg(test)]
impl NameState {
    /// Registers actor `seq` of node run `node` (no typed ref behind it).
    pub(crate) fn register_for_test(&mut self, name: &str, node: NodeId, seq: u64) {
        self.register(
            name,
            (ActorId::new(node, seq), Seal::NONE),
            "T".into(),
            Box::new(()),
        )
        .expect("the name is free");
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn node(n: u64) -> NodeId {
        NodeId::new(n, 1)
    }

    fn drain(events: &mut broadcast::Receiver<NameEvent>) -> Vec<NameEvent> {
        std::iter::from_fn(|| events.try_recv().ok()).collect()
    }

    /// Delivers `from`'s whole table to `to`; whether `to` dropped a
    /// local claim (and must send its table again).
    fn deliver(from: &NameState, to: &mut NameState) -> bool {
        let mut dropped = false;
        for chunk in from.table.chunks() {
            dropped |= to.receive(chunk).expect("a valid chunk");
        }
        dropped
    }

    #[test]
    fn a_name_seen_held_elsewhere_is_refused() {
        let (mut a, mut b) = (NameState::new(node(1)), NameState::new(node(2)));
        a.register_for_test("x", node(1), 1);
        deliver(&a, &mut b);
        let taken = b.register(
            "x",
            (ActorId::new(node(2), 1), Seal::NONE),
            "T".into(),
            Box::new(()),
        );
        assert_eq!(
            taken,
            Err(NameError::Taken {
                name: "x".into(),
                holder: ActorId::new(node(1), 1)
            })
        );
        // The holder registering again is no change.
        let again = a.register(
            "x",
            (ActorId::new(node(1), 1), Seal::NONE),
            "T".into(),
            Box::new(()),
        );
        assert_eq!(again, Ok(()));
        assert_eq!(a.table.version(), 1);
    }

    #[test]
    fn stamps_pass_every_stamp_seen() {
        let (mut a, mut b) = (NameState::new(node(1)), NameState::new(node(2)));
        a.clock = u64::MAX / 2; // a node whose clock is far ahead
        a.register_for_test("x", node(1), 1);
        deliver(&a, &mut b);
        b.register_for_test("y", node(2), 1);
        let stamp = |state: &NameState, name: &str| state.winner(name).map(|e| e.stamp);
        assert!(
            stamp(&b, "y") > stamp(&b, "x"),
            "a later registration, a later stamp"
        );
    }

    #[test]
    fn the_loser_drops_its_claim_and_both_sides_report_the_conflict() {
        let (mut a, mut b) = (NameState::new(node(1)), NameState::new(node(2)));
        a.register_for_test("x", node(1), 1);
        b.register_for_test("x", node(2), 1); // b's clock stamps it later
        let (winner, loser) = (ActorId::new(node(1), 1), ActorId::new(node(2), 1));
        let (mut seen_a, mut seen_b) = (a.events.subscribe(), b.events.subscribe());
        assert!(!deliver(&b, &mut a), "the winner keeps its claim");
        assert!(deliver(&a, &mut b), "the loser drops its claim");
        let conflict = NameEvent::Conflict {
            name: "x".into(),
            winner,
            loser,
        };
        assert_eq!(drain(&mut seen_a), std::slice::from_ref(&conflict));
        assert_eq!(
            drain(&mut seen_b),
            [
                conflict,
                NameEvent::Unregistered {
                    name: "x".into(),
                    actor: loser
                },
                NameEvent::Registered {
                    name: "x".into(),
                    actor: winner
                },
            ]
        );
        assert_eq!(b.table.local().count(), 0);
        assert!(b.refs.is_empty());
        deliver(&b, &mut a);
        assert_eq!(
            a.claims["x"].len(),
            1,
            "the loser's claim is gone everywhere"
        );
        assert!(a.reported.is_empty());
    }

    #[test]
    fn a_name_vanishes_with_its_node_or_its_unregistration() {
        let (mut a, mut b) = (NameState::new(node(1)), NameState::new(node(2)));
        a.register_for_test("x", node(1), 1);
        a.register_for_test("y", node(1), 2);
        deliver(&a, &mut b);
        let mut events = b.events.subscribe();
        assert!(a.unregister_where(|e| e.name == "x"));
        deliver(&a, &mut b);
        b.drop_node(node(1));
        let gone = |name: &str, seq| NameEvent::Unregistered {
            name: name.into(),
            actor: ActorId::new(node(1), seq),
        };
        assert_eq!(drain(&mut events), [gone("x", 1), gone("y", 2)]);
        assert!(b.claims.is_empty());
    }

    proptest! {
        /// The conflict rule is order-free: nodes that each registered the
        /// same name, and then exchange tables in any order (and again
        /// whenever one drops a claim), end with one claim left, the same
        /// winner everywhere, the lowest (stamp, actor id), and every
        /// loser's node reporting the conflict.
        #[test]
        fn any_delivery_order_converges_to_the_same_winner(
            stamps in proptest::collection::vec(0u64..4, 2..6),
            order in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..40),
        ) {
            let n = stamps.len();
            let mut nodes: Vec<NameState> = (0..n).map(|i| NameState::new(node(i as u64 + 1))).collect();
            let mut reports: Vec<_> = nodes.iter().map(|s| s.events.subscribe()).collect();
            for (i, state) in nodes.iter_mut().enumerate() {
                // Clocks that tie or disagree: the actor id breaks ties.
                state.clock = stamps[i] * 1_000_000 + u64::MAX / 4;
                state.register_for_test("x", node(i as u64 + 1), 1);
            }
            let expected = nodes
                .iter()
                .filter_map(|s| s.winner("x").map(|e| (e.stamp, e.actor)))
                .min()
                .map(|(_, actor)| actor);
            let exchange = |from: usize, to: usize, nodes: &mut Vec<NameState>| {
                if from != to {
                    let sender = std::mem::replace(&mut nodes[from], NameState::new(node(99)));
                    deliver(&sender, &mut nodes[to]);
                    nodes[from] = sender;
                }
            };
            for (from, to) in order {
                exchange(from.index(n), to.index(n), &mut nodes);
            }
            // Then every table reaches every node, twice, as the repair does.
            for _ in 0..2 {
                for from in 0..n {
                    for to in 0..n {
                        exchange(from, to, &mut nodes);
                    }
                }
            }
            for state in &nodes {
                prop_assert_eq!(state.winner("x").map(|e| e.actor), expected);
                prop_assert_eq!(state.claims["x"].len(), 1);
            }
            for (i, events) in reports.iter_mut().enumerate() {
                let me = ActorId::new(node(i as u64 + 1), 1);
                if Some(me) != expected {
                    let lost = drain(events)
                        .into_iter()
                        .any(|e| matches!(e, NameEvent::Conflict { loser, .. } if loser == me));
                    prop_assert!(lost, "node {} was not told it lost", i + 1);
                }
            }
        }
    }
}
