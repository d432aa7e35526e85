//! [`Context`]: what an actor can do besides changing its own state.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use tokio_util::sync::CancellationToken;

use crate::cell::{AnyActor, Cell, LocalWatcher};
use crate::link::{self, LinkSignal, LinkSink, Links, Peer};
use crate::remote::{LinkNotice, RemoteDelivery};
use crate::signal::Watcher;
use crate::stream::{self, StreamHandle};
use crate::supervision::{Child, PendingChild, SpawnSpec, Supervision};
use crate::timer::{self, TimerHandle};
use crate::{
    Actor, ActorId, ActorRef, ChildSpec, DeferredReply, Failure, Handler, LinkError, Message,
    RestartPolicy, Shutdown, SpawnError, StopReason, SupervisorStrategy, System, Terminated,
};

/// The actor's view of itself and the runtime, passed to every handler and hook.
///
/// Through it an actor reaches its own ref, spawns and supervises children,
/// watches other actors, schedules messages to itself and stops itself.
pub struct Context<A: Actor> {
    myself: ActorRef<A>,
    system: System,
    /// The actor that spawned this one and supervises it.
    pub(crate) parent: Option<Arc<dyn AnyActor>>,
    /// Live children in start order (ids grow with each spawn); each is
    /// stopped before this actor restarts or stops.
    pub(crate) children: BTreeMap<ActorId, Child>,
    /// How this actor supervises its children; made on first use.
    pub(crate) supervision: Option<Box<Supervision>>,
    /// Actors watched now; a `Terminated` from any other is dropped, which is
    /// what makes `unwatch` final.
    /// Boxed and made on first use: most actors watch nobody, and an empty
    /// `HashSet` inline is 48 bytes in every idle actor against 8 here.
    #[allow(clippy::box_collection)]
    watching: Option<Box<HashSet<ActorId>>>,
    /// Parent of every timer's token, made on first use, cancelled on stop
    /// and restart.
    timers: Option<CancellationToken>,
    /// Set by [`Context::stop`]; read by the actor task after each message.
    pub(crate) stop_requested: bool,
    /// Set by [`Context::fail`]; read by the actor task after each message.
    pub(crate) failure: Option<Failure>,
    /// Actors linked to this incarnation; made on first use.
    links: Option<Box<Links>>,
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
            children: BTreeMap::new(),
            supervision: None,
            watching: None,
            timers: None,
            stop_requested: false,
            failure: None,
            links: None,
        }
    }

    /// Ends the watch on `target`; false if there was none.
    pub(crate) fn forget_watch(&mut self, target: ActorId) -> bool {
        self.watching
            .as_mut()
            .is_some_and(|watching| watching.remove(&target))
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

    /// How many times this actor has been restarted by its supervisor.
    pub fn restart_count(&self) -> u32 {
        self.myself.cell().map_or(0, |cell| cell.life.restarts())
    }

    /// Spawns `child` as a supervised child of this actor, with the
    /// [`Transient`](RestartPolicy::Transient) policy: restarted if it
    /// fails, gone for good once it stops itself with [`stop`](Self::stop),
    /// so a short-lived worker that finishes its job costs its parent
    /// nothing. A restart keeps its state and runs [`Actor::on_restart`];
    /// use [`spawn_with`](Self::spawn_with) and a [`ChildSpec`] for a fresh
    /// state on each restart, or for another policy (a
    /// [`Permanent`](RestartPolicy::Permanent) child is restarted even when
    /// it stops itself, as in Erlang/OTP). Children are
    /// stopped (and waited for, each up to the default [`Shutdown`] for its
    /// type, then killed) before this actor restarts or stops.
    ///
    /// The ref comes back at once and the child starts in its own task,
    /// alongside this actor and its other children; await
    /// [`ActorRef::wait_started`] for it to be up, or use a
    /// [`Supervisor`](crate::Supervisor) to start children one at a time.
    ///
    /// # Errors
    ///
    /// [`SpawnError::ShutDown`] if the system is shutting down.
    pub fn spawn<C: Actor>(&mut self, child: C) -> Result<ActorRef<C>, SpawnError> {
        let spec = SpawnSpec::child(None, None, RestartPolicy::Transient);
        self.spawn_child(child, spec, Shutdown::default_for::<C>())
    }

    /// Like [`spawn`](Self::spawn), on per-core thread `core` rather than
    /// this actor's own (see [`Placement::PerCore`](crate::Placement::PerCore)).
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoSuchCore`] unless `core` is below
    /// [`System::cores`]; [`SpawnError::ShutDown`] if the system is
    /// shutting down.
    pub fn spawn_on<C: Actor>(&mut self, core: usize, child: C) -> Result<ActorRef<C>, SpawnError> {
        let mut spec = SpawnSpec::child(None, None, RestartPolicy::Transient);
        spec.core = Some(core);
        self.spawn_child(child, spec, Shutdown::default_for::<C>())
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
        let spec = SpawnSpec::child(Some(name.into()), None, RestartPolicy::Transient);
        self.spawn_child(child, spec, Shutdown::default_for::<C>())
    }

    /// Spawns a supervised child from `spec`: its state comes from the
    /// spec's factory, again on every restart.
    ///
    /// # Errors
    ///
    /// As for [`spawn_named`](Self::spawn_named).
    pub fn spawn_with<C: Actor>(&mut self, spec: ChildSpec<C>) -> Result<ActorRef<C>, SpawnError> {
        let ChildSpec {
            factory,
            policy,
            shutdown,
            name,
        } = spec;
        let child = factory();
        self.spawn_child(
            child,
            SpawnSpec::child(name, Some(factory), policy),
            shutdown,
        )
    }

    fn spawn_child<C: Actor>(
        &mut self,
        child: C,
        mut spec: SpawnSpec<C>,
        shutdown: Shutdown,
    ) -> Result<ActorRef<C>, SpawnError> {
        let policy = spec.policy;
        spec.parent = Some(self.own_cell());
        let (child, task) = self.system.spawn_child(child, spec)?;
        if let Some(entry) = Child::of((&child, task), policy, shutdown) {
            self.children.insert(child.id(), entry);
        }
        Ok(child)
    }

    /// Queues a child from `spec` to be spawned once the running start
    /// hook (`on_start` or `on_restart`) has returned, after the children
    /// queued before it have started, and before this actor counts as
    /// started. Children started this way are stopped in reverse order.
    pub(crate) fn start_in_order<C: Actor>(&mut self, spec: ChildSpec<C>) {
        let supervision = self.supervision();
        supervision.ordered = true;
        supervision.pending.push(PendingChild::new(spec));
    }

    /// The ids of this actor's live children, in start order.
    pub fn children(&self) -> impl Iterator<Item = ActorId> + '_ {
        self.children.keys().copied()
    }

    /// Sets how this actor supervises its children (the default is
    /// [`SupervisorStrategy::default`]). Restarts counted so far are kept.
    pub fn set_supervisor_strategy(&mut self, strategy: SupervisorStrategy) {
        match &mut self.supervision {
            Some(supervision) => supervision.strategy = strategy,
            None => self.supervision = Some(Box::new(Supervision::new(strategy))),
        }
    }

    pub(crate) fn supervision(&mut self) -> &mut Supervision {
        self.supervision.get_or_insert_with(Default::default)
    }

    fn own_cell(&self) -> Arc<Cell<A>> {
        match self.myself.cell() {
            Some(cell) => Arc::clone(cell),
            None => unreachable!("a context always belongs to a local actor"),
        }
    }

    /// Watches `target`: this actor receives exactly one [`Terminated`] when
    /// `target` stops, for any reason, right away if it already has. Watching
    /// the same actor twice is one watch. A restart of `target` is not a stop.
    ///
    /// The notice travels on the signal lane, so it is never lost to a full
    /// mailbox.
    pub fn watch<T: Actor>(&mut self, target: &ActorRef<T>)
    where
        A: Handler<Terminated>,
    {
        if !self
            .watching
            .get_or_insert_with(Box::default)
            .insert(target.id())
        {
            return;
        }
        let sink = Box::new(LocalWatcher(self.own_cell()));
        target.add_watcher(Watcher::new(self.id(), sink));
    }

    /// Stops watching `target`. No [`Terminated`] for it arrives after this
    /// call, even one that was already on its way.
    pub fn unwatch<T: Actor>(&mut self, target: &ActorRef<T>) {
        if self.forget_watch(target.id()) {
            target.remove_watcher(self.id());
        }
    }

    /// Links this actor and `other`, both ways, as Erlang's `link/1`: from
    /// now on, when either fails, the other fails too, and its supervisor
    /// decides about it as about any failure (restarts it, typically). The
    /// failure names the linked actor and why it failed:
    /// `failure.downcast_ref::<`[`LinkError`]`>()` finds
    /// [`LinkError::PeerFailed`] with its id and reason.
    ///
    /// * A failure is what [`StopReason::is_failure`] says: a
    ///   [`StopReason::Failed`] or [`StopReason::NodeDown`]. A normal stop
    ///   (or a kill) of either side only ends the link, as Erlang's `normal`
    ///   exit does.
    /// * Links are per incarnation, as in Erlang, where a restarted process
    ///   is a new one: when either side fails, is restarted, or stops, all
    ///   its links end. Link in [`Actor::on_start`] (which the default
    ///   [`Actor::on_restart`] runs again) to be linked again after a restart.
    /// * Linking to an actor that has already stopped fails this actor once
    ///   the current handler returns ([`LinkError::PeerGone`], Erlang's
    ///   `noproc`). Linking twice is one link; linking to itself does nothing.
    /// * Across nodes a link is the same, both ways: `other`'s node keeps
    ///   the other side, so either failing fails the other, a restart in
    ///   place of either ends the link on both nodes, and `unlink` from
    ///   either side undoes both. A node going down (or its connection
    ///   being declared dead) fails the actors on the other node linked to
    ///   its actors, with [`StopReason::NodeDown`] as the peer's reason. A
    ///   remote actor that is gone already ends the link as a normal stop
    ///   would (the remote node does not say why it stopped). Only the text
    ///   of a remote failure crosses (see [`Failure`]).
    ///
    /// Unlike [`watch`](Self::watch), a link needs no `Handler<Terminated>`:
    /// the notice is handled by the runtime, on the signal lane.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, ActorRef, Context, Handler, LinkError, Message, StopReason, System};
    ///
    /// struct Worker;
    /// impl Actor for Worker {}
    ///
    /// struct Crash;
    /// impl Message for Crash {
    ///     type Reply = ();
    /// }
    /// impl Handler<Crash> for Worker {
    ///     async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
    ///         panic!("worker crashed");
    ///     }
    /// }
    ///
    /// /// Keeps a session for the worker: useless without it.
    /// struct Session {
    ///     worker: ActorRef<Worker>,
    /// }
    /// impl Actor for Session {
    ///     async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), proscenium_runtime::ActorError> {
    ///         ctx.link(&self.worker);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let worker = system.spawn(Worker)?;
    /// let session = system.spawn(Session { worker: worker.clone() })?;
    /// session.wait_started().await?;
    /// worker.tell(Crash).await?;
    /// let StopReason::Failed(failure) = session.wait_stopped().await else {
    ///     panic!("the session outlived its worker");
    /// };
    /// let Some(LinkError::PeerFailed { peer, .. }) = failure.downcast_ref::<LinkError>() else {
    ///     panic!("not a link failure: {failure}");
    /// };
    /// assert_eq!(*peer, worker.id());
    /// # Ok(())
    /// # }
    /// ```
    pub fn link<T: Actor>(&mut self, other: &ActorRef<T>) {
        let (me, peer) = (self.id(), other.id());
        if peer == me
            || self
                .links
                .as_ref()
                .is_some_and(|links| links.contains(peer))
        {
            return;
        }
        let token = link::next_token();
        if let Some(transport) = other.transport() {
            self.link_remote(other, token, Arc::clone(transport));
            return;
        }
        let Some(cell) = other.cell() else { return };
        let linker: Arc<dyn AnyActor> = self.own_cell();
        let handle: Arc<dyn AnyActor> = Arc::clone(cell) as Arc<dyn AnyActor>;
        let linked = handle.link_signal(LinkSignal::Linked {
            peer: me,
            token,
            handle: Peer::Local(linker),
        });
        if !linked {
            let reason = handle.life().reason().unwrap_or(StopReason::Normal);
            self.fail(Failure::from_error(LinkError::PeerGone { peer, reason }));
            return;
        }
        self.links().insert(peer, token, Peer::Local(handle));
    }

    /// Links to `other`, an actor on another node: tells its node, which
    /// keeps the other side, and watches it, so that its end (or its
    /// node's) reaches this side even if it was gone before the notice.
    fn link_remote<T: Actor>(
        &mut self,
        other: &ActorRef<T>,
        token: u64,
        transport: Arc<dyn RemoteDelivery>,
    ) {
        let (me, peer) = (self.id(), other.id());
        let watcher = link::next_watcher(self.system.node_id());
        let end = Peer::Remote {
            transport: Arc::clone(&transport),
            watcher: Some(watcher),
        };
        // In place before the watch: a watch of an unreachable node
        // reports at once, and the notice must find the link.
        self.links().insert(peer, token, end);
        let linker: Arc<dyn AnyActor> = self.own_cell();
        let sink = Box::new(LinkSink { linker, watcher });
        other.add_watcher(Watcher::new(watcher, sink));
        transport.link_notice(peer, me, LinkNotice::Linked { token });
    }

    /// Undoes the link between this actor and `other`, on both sides (see
    /// [`link`](Self::link)), also when `other` lives on another node. No
    /// failure of either reaches the other after this call, even one
    /// already on its way. Does nothing if they are not linked.
    pub fn unlink<T: Actor>(&mut self, other: &ActorRef<T>) {
        let me = self.id();
        if let Some(links) = &mut self.links {
            links.unlink(me, other.id());
        }
    }

    fn links(&mut self) -> &mut Links {
        self.links.get_or_insert_with(Box::default)
    }

    /// Ends every link of this incarnation, which ended with `reason`.
    pub(crate) fn break_links(&mut self, reason: &StopReason) {
        let me = self.id();
        if let Some(links) = &mut self.links {
            links.break_all(me, reason);
        }
    }

    /// Applies a notice from a linked actor; returns the reason to fail
    /// with if it brings a failure.
    pub(crate) fn on_link_signal(&mut self, signal: LinkSignal) -> Option<StopReason> {
        match signal {
            LinkSignal::Linked { .. } => self.links().on_signal(signal),
            _ => self.links.as_mut()?.on_signal(signal),
        }
    }

    /// Sends `message` to this actor after `delay`.
    ///
    /// The timer is cancelled if the actor stops or restarts first.
    pub fn send_after<M: Message>(&mut self, message: M, delay: Duration) -> TimerHandle
    where
        A: Handler<M>,
    {
        let token = self.timer_token();
        timer::send_after(&self.system, self.myself.clone(), message, delay, token)
    }

    /// Sends a clone of `message` to this actor every `period`, the first
    /// after one period, until cancelled or the actor stops or restarts.
    /// Timers tick in milliseconds, so a shorter `period` (zero included)
    /// is one millisecond.
    pub fn send_interval<M: Message + Clone>(&mut self, message: M, period: Duration) -> TimerHandle
    where
        A: Handler<M>,
    {
        let token = self.timer_token();
        timer::send_interval(&self.system, self.myself.clone(), message, period, token)
    }

    /// Attaches `stream` to this actor: each item arrives as a told
    /// message, in order, and once the stream ends, `finished` does, after
    /// the last item (like actix's `add_stream`, kameo's `attach_stream`).
    ///
    /// A task pulls the stream one item at a time and tells it, waiting
    /// for room, so a full bounded mailbox holds the stream back instead
    /// of buffering it. The stream is dropped, without the end notice,
    /// when the actor stops (at once, even while the stream is idle) or
    /// the returned handle's [`cancel`](StreamHandle::cancel) is called.
    /// A restart does not end it: like the mailbox, the stream carries on
    /// into the restarted actor.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures_util::stream::{self, StreamExt};
    /// use proscenium_runtime::{Actor, ActorError, Context, Handler, Message, System};
    /// use tokio::sync::oneshot;
    ///
    /// struct Tick(u32);
    /// impl Message for Tick {
    ///     type Reply = ();
    /// }
    /// struct NoMoreTicks;
    /// impl Message for NoMoreTicks {
    ///     type Reply = ();
    /// }
    ///
    /// struct Clock {
    ///     ticks: Vec<u32>,
    ///     done: Option<oneshot::Sender<Vec<u32>>>,
    /// }
    /// impl Actor for Clock {
    ///     async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
    ///         ctx.attach_stream(stream::iter(1..=3).map(Tick), NoMoreTicks);
    ///         Ok(())
    ///     }
    /// }
    /// impl Handler<Tick> for Clock {
    ///     async fn handle(&mut self, Tick(n): Tick, _: &mut Context<Self>) {
    ///         self.ticks.push(n);
    ///     }
    /// }
    /// impl Handler<NoMoreTicks> for Clock {
    ///     async fn handle(&mut self, _: NoMoreTicks, ctx: &mut Context<Self>) {
    ///         if let Some(done) = self.done.take() {
    ///             let _ = done.send(std::mem::take(&mut self.ticks));
    ///         }
    ///         ctx.stop();
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let (done, ticks) = oneshot::channel();
    /// system.spawn(Clock { ticks: Vec::new(), done: Some(done) })?;
    /// assert_eq!(ticks.await?, vec![1, 2, 3]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn attach_stream<S, E>(&mut self, stream: S, finished: E) -> StreamHandle
    where
        S: Stream + Send + 'static,
        S::Item: Message,
        E: Message,
        A: Handler<S::Item> + Handler<E>,
    {
        stream::attach(self.system.runtime(), self.myself.clone(), stream, finished)
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

    /// Stops this actor once the current message is handled: new messages
    /// are refused, those already queued are still handled.
    ///
    /// A [`Permanent`](RestartPolicy::Permanent) child (a [`ChildSpec`]'s
    /// default) is restarted by its supervisor instead, as in Erlang/OTP;
    /// stop it through its ref to end it for good. A child spawned from a
    /// value with [`spawn`](Self::spawn) is
    /// [`Transient`](RestartPolicy::Transient): this ends it.
    pub fn stop(&mut self) {
        self.stop_requested = true;
    }
}

impl<A: Actor> Context<A> {
    /// Fails this actor once the current handler returns, exactly as if it
    /// had panicked, but without unwinding: its supervisor restarts it (or
    /// not) by its strategy, and queued messages are kept. The current
    /// message's reply is still sent. This is how a handler declares an
    /// error fatal to the actor, where returning an `Err` reply would only
    /// tell the asker.
    ///
    /// `error` is an error of any type, or a string: the actor stops (or
    /// is restarted) with [`StopReason::Failed`](crate::StopReason::Failed)
    /// holding a [`Failure`] that keeps it, so a watcher, `wait_stopped`
    /// or the restarted actor's `on_restart` can
    /// [`downcast_ref`](Failure::downcast_ref) it back to its type (on
    /// this node; another node gets its text). A [`Failure`] passed on is
    /// kept as it is. The first call in a handler counts; later ones are
    /// ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, Context, Handler, Message};
    ///
    /// struct Connection {
    ///     healthy: bool,
    /// }
    /// impl Actor for Connection {}
    ///
    /// struct Query(String);
    /// impl Message for Query {
    ///     type Reply = Result<String, String>;
    /// }
    ///
    /// impl Handler<Query> for Connection {
    ///     async fn handle(&mut self, Query(q): Query, ctx: &mut Context<Self>) -> Result<String, String> {
    ///         if !self.healthy {
    ///             // The asker gets the error, and the supervisor a fresh connection.
    ///             ctx.fail("connection lost");
    ///             return Err("connection lost".into());
    ///         }
    ///         Ok(q)
    ///     }
    /// }
    /// # let _ = Connection { healthy: true };
    /// ```
    pub fn fail(&mut self, error: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        if self.failure.is_none() {
            self.failure = Some(match error.into().downcast::<Failure>() {
                Ok(failure) => *failure,
                Err(error) => Failure::from_boxed(error),
            });
        }
    }
}

impl<A: Actor> Context<A> {
    /// Takes the reply to the message being handled, to answer it later
    /// with [`DeferredReply::send`]: from a spawned task, or from the
    /// handler of a later message (keep the handle in the actor's state).
    /// The actor is free to handle its next message as soon as this
    /// handler returns, instead of holding its mailbox while it awaits
    /// other actors or I/O. Whatever the handler then returns is dropped.
    ///
    /// The asker's side does not change: an `ask` (local or from another
    /// node), `ask_timeout` or [`ask_all`](crate::ask_all) entry gets the
    /// sent value as if the handler had returned it, within its own
    /// deadline. A handle dropped unanswered fails the asker with
    /// [`AskError::Unanswered`](crate::AskError::Unanswered).
    ///
    /// For a tell (or a second call in the same handler) the handle
    /// answers nobody; see [`DeferredReply::has_asker`].
    ///
    /// # Deadlock detection
    ///
    /// A deferred reply is still the callee's: the asker waits on this
    /// actor until the handle answers, and an ask from this actor back to
    /// that asker meanwhile fails with
    /// [`AskError::Deadlock`](crate::AskError::Deadlock), as it would
    /// if the handler were still running. Reply (or tell) first when the
    /// answer does not depend on this actor.
    ///
    /// # Panics
    ///
    /// If `R` is not the reply type of the message being handled.
    ///
    /// # Examples
    ///
    /// A gateway forwards requests to a backend without waiting in its
    /// handler, and answers each asker when the backend's reply arrives:
    ///
    /// ```
    /// use proscenium_runtime::{Actor, ActorRef, Context, Handler, Message, System};
    ///
    /// struct Backend;
    /// impl Actor for Backend {}
    ///
    /// struct Square(u64);
    /// impl Message for Square {
    ///     type Reply = u64;
    /// }
    /// impl Handler<Square> for Backend {
    ///     async fn handle(&mut self, Square(n): Square, _: &mut Context<Self>) -> u64 {
    ///         n * n
    ///     }
    /// }
    ///
    /// struct Gateway {
    ///     backend: ActorRef<Backend>,
    /// }
    /// impl Actor for Gateway {}
    ///
    /// impl Handler<Square> for Gateway {
    ///     async fn handle(&mut self, msg: Square, ctx: &mut Context<Self>) -> u64 {
    ///         let reply = ctx.defer_reply();
    ///         let backend = self.backend.clone();
    ///         tokio::spawn(async move {
    ///             // Dropped on error: the asker gets `AskError::Unanswered`.
    ///             if let Ok(n) = backend.ask(msg).await {
    ///                 reply.send(n);
    ///             }
    ///         });
    ///         0 // dropped: the reply was deferred
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let backend = system.spawn(Backend)?;
    /// let gateway = system.spawn(Gateway { backend })?;
    /// assert_eq!(gateway.ask(Square(7)).await?, 49);
    /// # Ok(())
    /// # }
    /// ```
    pub fn defer_reply<R: Send + 'static>(&mut self) -> DeferredReply<R> {
        DeferredReply::take()
    }
}

impl<A: Actor> fmt::Debug for Context<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("id", &self.id())
            .field("actor", &std::any::type_name::<A>())
            .field("children", &self.children.len())
            .field("restarts", &self.restart_count())
            .finish_non_exhaustive()
    }
}
