//! [`Context`]: what an actor can do besides changing its own state.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cell::{AnyActor, LocalWatcher};
use crate::signal::Watcher;
use crate::timer::{self, TimerHandle};
use crate::{Actor, ActorId, ActorRef, Handler, Message, SpawnError, System, Terminated};

/// The actor's view of itself and the runtime, passed to every handler and hook.
///
/// Through it an actor reaches its own ref, spawns children, watches other
/// actors, schedules messages to itself and stops itself.
pub struct Context<A: Actor> {
    myself: ActorRef<A>,
    system: System,
    /// The actor that spawned this one, told when this one stops.
    pub(crate) parent: Option<Arc<dyn AnyActor>>,
    /// Live children; each is stopped before this actor's `on_stop` runs.
    pub(crate) children: HashMap<ActorId, Arc<dyn AnyActor>>,
    /// Actors watched now; a `Terminated` from any other is dropped, which is
    /// what makes `unwatch` final.
    pub(crate) watching: HashSet<ActorId>,
    /// Parent of every timer's token, made on first use, cancelled on stop.
    timers: Option<CancellationToken>,
}

impl<A: Actor> Context<A> {
    pub(crate) fn new(
        myself: ActorRef<A>,
        system: System,
        parent: Option<Arc<dyn AnyActor>>,
    ) -> Self {
        Self {
            myself,
            system,
            parent,
            children: HashMap::new(),
            watching: HashSet::new(),
            timers: None,
        }
    }

    /// This actor's id.
    pub fn id(&self) -> ActorId {
        self.myself.id()
    }

    /// A ref to this actor, e.g. to hand out as a reply-to address.
    pub fn actor_ref(&self) -> &ActorRef<A> {
        &self.myself
    }

    /// The system this actor runs in.
    pub fn system(&self) -> &System {
        &self.system
    }

    /// Spawns `child` as a child of this actor: it is stopped (and waited
    /// for) before this actor's [`on_stop`](Actor::on_stop) runs.
    ///
    /// # Errors
    ///
    /// [`SpawnError::ShutDown`] if the system is shutting down.
    pub fn spawn<C: Actor>(&mut self, child: C) -> Result<ActorRef<C>, SpawnError> {
        self.spawn_child(child, None)
    }

    /// Like [`spawn`](Self::spawn), and registers the child under `name`
    /// (see [`System::lookup`]).
    ///
    /// # Errors
    ///
    /// [`SpawnError::NameTaken`] if a live actor has the name already.
    pub fn spawn_named<C: Actor>(
        &mut self,
        name: impl Into<String>,
        child: C,
    ) -> Result<ActorRef<C>, SpawnError> {
        self.spawn_child(child, Some(name.into()))
    }

    fn spawn_child<C: Actor>(
        &mut self,
        child: C,
        name: Option<String>,
    ) -> Result<ActorRef<C>, SpawnError> {
        let parent: Arc<dyn AnyActor> = self.own_cell();
        let child = self.system.spawn_with_parent(child, name, Some(parent))?;
        if let Some(cell) = child.cell() {
            self.children
                .insert(cell.id, Arc::clone(cell) as Arc<dyn AnyActor>);
        }
        Ok(child)
    }

    /// The ids of this actor's live children.
    pub fn children(&self) -> impl Iterator<Item = ActorId> + '_ {
        self.children.keys().copied()
    }

    fn own_cell(&self) -> Arc<crate::cell::Cell<A>> {
        match self.myself.cell() {
            Some(cell) => Arc::clone(cell),
            None => unreachable!("a context always belongs to a local actor"),
        }
    }

    /// Watches `target`: this actor receives exactly one [`Terminated`] when
    /// `target` stops, for any reason, right away if it already has. Watching
    /// the same actor twice is one watch.
    ///
    /// The notice travels on the signal lane, so it is never lost to a full
    /// mailbox.
    pub fn watch<T: Actor>(&mut self, target: &ActorRef<T>)
    where
        A: Handler<Terminated>,
    {
        if !self.watching.insert(target.id()) {
            return;
        }
        let sink = Box::new(LocalWatcher(self.own_cell()));
        target.add_watcher(Watcher::new(self.id(), sink));
    }

    /// Stops watching `target`. No [`Terminated`] for it arrives after this
    /// call, even one that was already on its way.
    pub fn unwatch<T: Actor>(&mut self, target: &ActorRef<T>) {
        if self.watching.remove(&target.id()) {
            target.remove_watcher(self.id());
        }
    }

    /// Sends `message` to this actor after `delay`.
    ///
    /// The timer is cancelled if the actor stops first.
    pub fn send_after<M: Message>(&mut self, message: M, delay: Duration) -> TimerHandle
    where
        A: Handler<M>,
    {
        let token = self.timer_token();
        timer::send_after(&self.system, self.myself.clone(), message, delay, token)
    }

    /// Sends a clone of `message` to this actor every `period`, the first
    /// after one period, until cancelled or the actor stops.
    pub fn send_interval<M: Message + Clone>(&mut self, message: M, period: Duration) -> TimerHandle
    where
        A: Handler<M>,
    {
        let token = self.timer_token();
        timer::send_interval(&self.system, self.myself.clone(), message, period, token)
    }

    fn timer_token(&mut self) -> CancellationToken {
        self.timers
            .get_or_insert_with(CancellationToken::new)
            .child_token()
    }

    pub(crate) fn cancel_timers(&mut self) {
        if let Some(token) = self.timers.take() {
            token.cancel();
        }
    }

    /// Stops this actor gracefully once the current message is handled:
    /// messages already queued are still handled, new ones are refused.
    pub fn stop(&self) {
        self.myself.stop();
    }
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id())
            .field("actor", &std::any::type_name::<A>())
            .field("children", &self.children.len())
            .finish_non_exhaustive()
    }
}
