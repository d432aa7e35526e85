//! Deadlock detection: a wait-for graph of asks made from inside actors.
//!
//! While a handler awaits an `ask`, its actor can handle nothing else, so
//! an ask is an edge "asker waits for callee". An ask that would close a
//! cycle of such edges can never be answered; it fails at once with
//! [`AskError::Deadlock`](crate::AskError::Deadlock) instead of waiting for
//! its timeout. Asks from outside any actor wait on nothing and record
//! nothing. Asks that do not close a cycle proceed, so there are no false
//! positives: the check runs when an edge is added, against the edges that
//! exist at that moment, each of which is a real, ongoing wait.
//!
//! Across nodes, an ask carries the waits that lead to its asker (see
//! [`waits_leading_to`]): everyone on the asking node who waits, directly
//! or through others, on the asker, and the waits they in turn brought
//! from further nodes. Where the ask is handled, those waits join the
//! graph for as long as the handler runs ([`InstalledWaits`]), so an ask
//! that handler makes back along the chain finds the cycle there, at
//! once, with the same check as a local one.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::ActorId;

/// One wait-for edge: `asker` is inside a handler that awaits an ask to
/// `callee`. Network layers carry these with remote asks; see
/// [`waits_leading_to`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WaitFor {
    /// The actor that waits.
    pub asker: ActorId,
    /// The actor it waits for.
    pub callee: ActorId,
}

thread_local! {
    /// The actor whose task this thread is polling, for asks made inside
    /// it; null outside an actor. Set by
    /// [`ActorTask`](crate::actor_task::ActorTask) for one poll.
    ///
    /// A raw pointer in a `const` cell rather than tokio's `task_local!`:
    /// this runs on every poll of every actor, and tokio's scope swaps an
    /// `Option<Asker>` in and out of a `RefCell` each time. The cell took
    /// 43 instructions off each hop of the Savina ring (callgrind, quick
    /// ring on one thread: 16.87 M → 16.44 M in all).
    static CURRENT_ACTOR: Cell<*const Asker> = const { Cell::new(ptr::null()) };
}

/// The actor a task belongs to and the graph its asks are recorded in.
#[derive(Clone)]
pub(crate) struct Asker {
    id: ActorId,
    graph: Arc<WaitGraph>,
}

impl Asker {
    pub(crate) fn new(id: ActorId, graph: Arc<WaitGraph>) -> Self {
        Self { id, graph }
    }

    /// The actor this is.
    pub(crate) fn id(&self) -> ActorId {
        self.id
    }

    /// Calls `f` with the actor whose task is running, if any.
    fn with_current<R>(f: impl FnOnce(&Asker) -> R) -> Option<R> {
        let current = CURRENT_ACTOR.with(Cell::get);
        // SAFETY: a non-null pointer was set by `ActorTask::poll` on this
        // thread, which is still inside that poll (it puts the previous
        // value back before it returns or unwinds). The `Asker` is in the
        // actor's cell, which that task holds an `Arc` of, so it is alive
        // and not moved.
        #[allow(unsafe_code)]
        let asker = unsafe { current.as_ref() }?;
        Some(f(asker))
    }
}

/// Makes an actor the current one until dropped, then the previous one
/// again (a poll may nest inside another, as `block_in_place` allows).
pub(crate) struct CurrentActor {
    previous: *const Asker,
}

impl CurrentActor {
    /// Makes `asker` the current actor. The caller keeps `asker` alive and
    /// in place until the guard is dropped (an actor's cell outlives every
    /// poll of its task).
    pub(crate) fn enter(asker: &Asker) -> Self {
        Self {
            previous: CURRENT_ACTOR.with(|current| current.replace(asker)),
        }
    }
}

impl Drop for CurrentActor {
    fn drop(&mut self) {
        CURRENT_ACTOR.with(|current| current.set(self.previous));
    }
}

/// Who waits on whom, for one system. An actor can wait on several callees
/// at once (a handler may join several asks), and on one callee several
/// times.
#[derive(Default)]
pub(crate) struct WaitGraph {
    edges: Mutex<HashMap<ActorId, Vec<ActorId>>>,
}

/// An ongoing wait; removes its edge when the ask completes or is dropped.
pub(crate) struct Waiting {
    asker: Asker,
    callee: ActorId,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.asker.graph.remove(self.asker.id, self.callee);
    }
}

impl WaitGraph {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ActorId, Vec<ActorId>>> {
        self.edges.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn remove(&self, asker: ActorId, callee: ActorId) {
        let mut edges = self.lock();
        if let Some(callees) = edges.get_mut(&asker) {
            // From the back: the newest waits end first (a batch drops
            // its waits last to first), so this finds them at once.
            if let Some(i) = callees.iter().rposition(|c| *c == callee) {
                callees.swap_remove(i);
            }
            if callees.is_empty() {
                edges.remove(&asker);
            }
        }
    }
}

/// The waits that lead to the current actor, for an ask it is about to
/// send to `callee` on another node: first the ask's own edge, then every
/// edge of this system's wait graph whose callee is the current actor or
/// (through other edges) waits on it, nearest first, at most `limit` in
/// all. Empty outside an actor, without allocating.
///
/// A network layer sends these with the ask and hands them to
/// [`remote::send_ask_waited`](crate::remote::send_ask_waited) where it
/// arrives. Cutting the list short can only miss a cycle, never invent
/// one: every edge in it is a real wait.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::remote::waits_leading_to;
/// use proscenium_runtime::{ActorId, NodeId};
///
/// // Outside any actor nobody waits on the asker.
/// let callee = ActorId::new(NodeId::new(2, 1), 7);
/// assert!(waits_leading_to(callee, 32).is_empty());
/// ```
pub fn waits_leading_to(callee: ActorId, limit: usize) -> Vec<WaitFor> {
    let Some(asker) = Asker::with_current(Asker::clone) else {
        return Vec::new();
    };
    if limit == 0 {
        return Vec::new();
    }
    let mut waits = vec![WaitFor {
        asker: asker.id,
        callee,
    }];
    let edges = asker.graph.lock();
    // Breadth first over the reversed edges, from the asker outwards.
    let mut reached: HashSet<ActorId> = HashSet::from([asker.id]);
    let mut frontier = vec![asker.id];
    while !frontier.is_empty() && waits.len() < limit {
        let mut next = Vec::new();
        for (&waiter, callees) in edges.iter() {
            for &c in callees {
                if waits.len() >= limit {
                    break;
                }
                if frontier.contains(&c) {
                    waits.push(WaitFor {
                        asker: waiter,
                        callee: c,
                    });
                    if reached.insert(waiter) {
                        next.push(waiter);
                    }
                }
            }
        }
        frontier = next;
    }
    waits
}

/// Waits brought by a remote ask, in the graph while its handler runs.
pub(crate) struct InstalledWaits {
    graph: Arc<WaitGraph>,
    waits: Box<[WaitFor]>,
}

impl InstalledWaits {
    /// Adds `waits` to the current actor's graph; `None` outside an actor
    /// or when there are none.
    pub(crate) fn install(waits: Box<[WaitFor]>) -> Option<Self> {
        if waits.is_empty() {
            return None;
        }
        let graph = Asker::with_current(|asker| Arc::clone(&asker.graph))?;
        {
            let mut edges = graph.lock();
            for wait in &waits {
                edges.entry(wait.asker).or_default().push(wait.callee);
            }
        }
        Some(Self { graph, waits })
    }
}

impl Drop for InstalledWaits {
    fn drop(&mut self) {
        for wait in self.waits.iter().rev() {
            self.graph.remove(wait.asker, wait.callee);
        }
    }
}

/// Records that the current actor, if any, now waits for `callee`.
///
/// Returns `Ok(None)` outside an actor, `Ok(Some(guard))` while the wait is
/// recorded, and `Err(cycle)` (the asker first) if waiting would deadlock.
pub(crate) fn begin_wait(callee: ActorId) -> Result<Option<Waiting>, Vec<ActorId>> {
    let Some(asker) = Asker::with_current(Asker::clone) else {
        return Ok(None);
    };
    let mut edges = asker.graph.lock();
    if let Some(path) = path_between(&edges, callee, asker.id) {
        let mut cycle = Vec::with_capacity(path.len() + 1);
        cycle.push(asker.id);
        cycle.extend(path.into_iter().filter(|id| *id != asker.id));
        return Err(cycle);
    }
    edges.entry(asker.id).or_default().push(callee);
    drop(edges);
    Ok(Some(Waiting { asker, callee }))
}

/// A path of waits from `from` to `to` (both included), if there is one.
fn path_between(
    edges: &HashMap<ActorId, Vec<ActorId>>,
    from: ActorId,
    to: ActorId,
) -> Option<Vec<ActorId>> {
    if from == to {
        return Some(vec![from]);
    }
    // Depth-first search remembering how each actor was reached.
    let mut came_from: HashMap<ActorId, ActorId> = HashMap::new();
    let mut stack = vec![from];
    while let Some(node) = stack.pop() {
        for &next in edges.get(&node).into_iter().flatten() {
            if next == from || came_from.contains_key(&next) {
                continue;
            }
            came_from.insert(next, node);
            if next == to {
                let mut path = vec![to];
                let mut at = to;
                while let Some(&prev) = came_from.get(&at) {
                    path.push(prev);
                    at = prev;
                }
                path.reverse();
                return Some(path);
            }
            stack.push(next);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeId;

    fn id(n: u64) -> ActorId {
        ActorId::new(NodeId::new(0, 1), n)
    }

    fn graph(pairs: &[(u64, u64)]) -> HashMap<ActorId, Vec<ActorId>> {
        let mut edges: HashMap<ActorId, Vec<ActorId>> = HashMap::new();
        for &(a, b) in pairs {
            edges.entry(id(a)).or_default().push(id(b));
        }
        edges
    }

    #[test]
    fn finds_a_path_through_a_chain() {
        let edges = graph(&[(2, 3), (3, 1)]);
        assert_eq!(
            path_between(&edges, id(2), id(1)),
            Some(vec![id(2), id(3), id(1)])
        );
    }

    #[test]
    fn a_diamond_has_no_cycle_back() {
        let edges = graph(&[(1, 2), (1, 3), (2, 4), (3, 4)]);
        assert_eq!(path_between(&edges, id(4), id(1)), None);
    }
}
