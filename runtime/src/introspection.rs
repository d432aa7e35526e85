//! Snapshots of what runs in a [`System`]: every live actor, where it sits
//! in the supervision tree, and what it has been doing.
//!
//! A snapshot is taken without stopping anything: each actor's numbers are
//! read one at a time while the system runs on, so the picture is
//! consistent per actor, not across actors (a message may be counted as
//! handled by its receiver and still show in its sender's mailbox). Taking
//! one costs a walk over the system's actor table and nothing on any
//! actor's path: the counts it reads are kept whether anyone looks or not.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{ActorId, NodeId, System};

/// Every live actor of one system at one moment; see [`System::snapshot`].
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, ActorState, System};
///
/// struct Idle;
/// impl Actor for Idle {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let idle = system.spawn_named("idle", Idle)?;
/// idle.wait_started().await?;
///
/// let snapshot = system.snapshot();
/// let actor = snapshot.named("idle").expect("a live named actor is in the snapshot");
/// assert_eq!(actor.id, idle.id());
/// assert_eq!(actor.state, ActorState::Running);
/// assert_eq!(actor.parent, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemSnapshot {
    /// The node run the system is.
    pub node: NodeId,
    /// The live actors, in the order they were spawned (by id).
    pub actors: Vec<ActorSnapshot>,
    /// Actors spawned since the system started, stopped ones included.
    pub actors_spawned: u64,
    /// Dead letters published since the system started (see
    /// [`System::dead_letters`]).
    pub dead_letters: u64,
}

/// One actor in a [`SystemSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActorSnapshot {
    /// Its id.
    pub id: ActorId,
    /// Its Rust type, as [`std::any::type_name`] spells it.
    pub actor_type: String,
    /// The names it is registered under, sorted (most actors have none).
    pub names: Vec<String>,
    /// Its supervisor; `None` for a top-level actor.
    pub parent: Option<ActorId>,
    /// What kind of actor the runtime knows it as.
    pub kind: ActorKind,
    /// Where it is in its life.
    pub state: ActorState,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Messages (and [`Terminated`](crate::Terminated) notices) it has
    /// handled since it was spawned, across restarts.
    pub messages_handled: u64,
    /// How often its supervisor has restarted it.
    pub restarts: u32,
    /// Its timers ([`Context::send_after`](crate::Context::send_after),
    /// [`Context::send_interval`](crate::Context::send_interval)) that have
    /// not fired or been cancelled yet.
    pub timers: u32,
}

impl ActorSnapshot {
    /// The last segment of its type name, generics kept
    /// (`app::cache::Cache<u64>` gives `Cache<u64>`): what a picture shows.
    pub fn short_type(&self) -> &str {
        short_type_name(&self.actor_type)
    }
}

/// The last path segment of a type name, ignoring the paths inside its
/// generic arguments.
fn short_type_name(full: &str) -> &str {
    let outer = full.find('<').unwrap_or(full.len());
    let start = full[..outer].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

/// What kind of actor a snapshot entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ActorKind {
    /// An actor of the user's (supervisors included: any actor with
    /// children supervises them).
    Actor,
    /// The manager of a [`Pool`](crate::Pool): its children are the
    /// pool's workers.
    Pool,
}

/// Where an actor is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ActorState {
    /// Spawned; `on_start` (or the start of its children) is still running.
    Starting,
    /// Handling messages.
    Running,
    /// It failed and waits for its supervisor's decision or its restart
    /// back-off, or a restart is under way.
    Restarting,
    /// It refuses new messages and handles the ones queued before it stops.
    Stopping,
    /// It stopped while the snapshot was being taken.
    Stopped,
}

impl fmt::Display for ActorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Restarting => "restarting",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
        })
    }
}

/// An actor and, below it, the actors it supervises; see
/// [`SystemSnapshot::tree`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ActorTree {
    /// The actor at this node of the tree.
    pub actor: ActorSnapshot,
    /// Its children, in the order they were spawned.
    pub children: Vec<ActorTree>,
}

impl SystemSnapshot {
    /// The actor with this id, if it was live.
    pub fn actor(&self, id: ActorId) -> Option<&ActorSnapshot> {
        self.actors
            .binary_search_by_key(&id, |actor| actor.id)
            .ok()
            .map(|i| &self.actors[i])
    }

    /// The actor registered under `name`, if it was live.
    pub fn named(&self, name: &str) -> Option<&ActorSnapshot> {
        self.actors
            .iter()
            .find(|actor| actor.names.iter().any(|n| n == name))
    }

    /// The actors `parent` supervises, in the order they were spawned.
    pub fn children(&self, parent: ActorId) -> impl Iterator<Item = &ActorSnapshot> {
        self.actors
            .iter()
            .filter(move |actor| actor.parent == Some(parent))
    }

    /// The pools: each pool's manager with its workers.
    pub fn pools(&self) -> impl Iterator<Item = (&ActorSnapshot, Vec<&ActorSnapshot>)> {
        self.actors
            .iter()
            .filter(|actor| actor.kind == ActorKind::Pool)
            .map(|pool| (pool, self.children(pool.id).collect()))
    }

    /// The supervision forest: top-level actors, each with its descendants.
    /// An actor whose parent stopped while the snapshot was taken is shown
    /// at the top level rather than lost.
    pub fn tree(&self) -> Vec<ActorTree> {
        let mut children: BTreeMap<ActorId, Vec<&ActorSnapshot>> = BTreeMap::new();
        let mut roots = Vec::new();
        for actor in &self.actors {
            match actor.parent.filter(|parent| self.actor(*parent).is_some()) {
                Some(parent) => children.entry(parent).or_default().push(actor),
                None => roots.push(actor),
            }
        }
        roots
            .into_iter()
            .map(|root| grow(root, &children))
            .collect()
    }
}

/// Builds the subtree under `actor`. Recursion is bounded by the depth of
/// the supervision tree, which the user builds by hand.
fn grow(actor: &ActorSnapshot, children: &BTreeMap<ActorId, Vec<&ActorSnapshot>>) -> ActorTree {
    ActorTree {
        actor: actor.clone(),
        children: children
            .get(&actor.id)
            .into_iter()
            .flatten()
            .map(|child| grow(child, children))
            .collect(),
    }
}

/// An indented tree, one actor per line: what a log line or a terminal shows.
///
/// ```text
/// <0.1f.1> Supervisor "app" running, 0 queued, 2 handled
///   <0.1f.2> Cache running, 0 queued, 10 handled, 1 restart
/// ```
impl fmt::Display for SystemSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn write_tree(f: &mut fmt::Formatter<'_>, tree: &ActorTree, depth: usize) -> fmt::Result {
            writeln!(f, "{:indent$}{}", "", tree.actor, indent = depth * 2)?;
            tree.children
                .iter()
                .try_for_each(|child| write_tree(f, child, depth + 1))
        }
        self.tree()
            .iter()
            .try_for_each(|root| write_tree(f, root, 0))
    }
}

impl fmt::Display for ActorSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.short_type())?;
        for name in &self.names {
            write!(f, " {name:?}")?;
        }
        write!(
            f,
            " {}, {} queued, {} handled",
            self.state, self.mailbox_len, self.messages_handled
        )?;
        match self.restarts {
            0 => {}
            1 => f.write_str(", 1 restart")?,
            n => write!(f, ", {n} restarts")?,
        }
        if self.timers > 0 {
            write!(f, ", {} timers", self.timers)?;
        }
        Ok(())
    }
}

impl System {
    /// What runs in this system now: every live actor with its place in
    /// the supervision tree, state, mailbox depth and counts. Cheap enough
    /// to take every second for a live view; it does not stop any actor.
    pub fn snapshot(&self) -> SystemSnapshot {
        let (dead_letters, actors_spawned) = self.lifetime_counts();
        let (registered, names) = self.registered_actors();
        let mut names_of: BTreeMap<ActorId, Vec<String>> = BTreeMap::new();
        for (id, name) in names {
            names_of.entry(id).or_default().push(name);
        }
        let mut actors: Vec<ActorSnapshot> = registered
            .into_iter()
            .map(|entry| {
                let actor = &entry.actor;
                let id = actor.id();
                let (state, messages_handled, restarts) =
                    actor.life().observe(actor.mailbox_closed());
                let mut names = names_of.remove(&id).unwrap_or_default();
                names.sort();
                ActorSnapshot {
                    id,
                    actor_type: actor.actor_type_name().to_owned(),
                    names,
                    parent: entry.parent(self.node_id()),
                    kind: entry.kind,
                    state,
                    mailbox_len: actor.mailbox_len(),
                    messages_handled,
                    restarts,
                    timers: self.timers_of(id),
                }
            })
            .collect();
        actors.sort_by_key(|actor| actor.id);
        SystemSnapshot {
            node: self.node_id(),
            actors,
            actors_spawned,
            dead_letters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_type_keeps_generics_and_drops_paths() {
        assert_eq!(short_type_name("app::cache::Cache"), "Cache");
        assert_eq!(
            short_type_name("proscenium_runtime::pool::manager::PoolManager<app::Worker>"),
            "PoolManager<app::Worker>"
        );
        assert_eq!(short_type_name("Plain"), "Plain");
    }
}
