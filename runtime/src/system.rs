//! [`System`]: the local runtime handle that spawns, names and stops actors.

use std::any::type_name;
use std::fmt;
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::mapref::entry::Entry;
use dashmap::mapref::one::Ref;
use dashmap::DashMap;
use tokio::runtime::Handle;
use tokio::sync::broadcast;
use tokio::task::{AbortHandle, JoinHandle};

use crate::actor_task::ActorTask;
use crate::cell::{AnyActor, Cell, Life};
use crate::dead_letter::{DeadLetter, DeadLetters};
use crate::deadlock::{Asker, WaitGraph};
use crate::introspection::ActorKind;
use crate::lifecycle::Lifecycle;
use crate::mailbox::MessageLane;
use crate::placement::{Placement, Runtimes};
use crate::remote::AnyActorRef;
use crate::signal::SignalLane;
use crate::supervision::SpawnSpec;
use crate::{
    Actor, ActorId, ActorRef, BuildError, Context, NodeId, RegisterError, SpawnError, StopReason,
};

/// A local actor runtime: spawns actors onto the caller's tokio runtime,
/// keeps the name registry and the dead-letter stream, and shuts everything
/// down in order.
///
/// A `System` is a cheap handle (clone it freely). There is no global one:
/// several systems can live side by side in one process, each with its own
/// actors, names and ids. Dropping every handle does not stop the actors;
/// call [`shutdown`](Self::shutdown). Under [`Placement::PerCore`] the
/// system's threads end once it is shut down, or once its last handle and
/// its last actor are gone.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, System};
///
/// struct Idle;
/// impl Actor for Idle {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let idle = system.spawn_named("idle", Idle)?;
/// assert_eq!(system.lookup::<Idle>("idle"), Some(idle));
/// system.shutdown().await;
/// assert!(system.lookup::<Idle>("idle").is_none());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct System {
    inner: Arc<SystemInner>,
}

struct SystemInner {
    node: NodeId,
    next_seq: AtomicU64,
    ask_timeout: Duration,
    runtimes: Runtimes,
    /// Every live actor of this system, to find it by id and to shut down,
    /// keyed by the sequence number of its id (the node is the system's
    /// own): every idle actor pays for its entry. Hashed with foldhash:
    /// every spawn inserts, and SipHash was a third of that insert's cost,
    /// rehashing as the table grows included.
    actors: DashMap<u64, Registered, foldhash::fast::RandomState>,
    /// Registered names; an entry goes away when its actor stops.
    names: DashMap<String, Registered>,
    dead_letters: broadcast::Sender<DeadLetter>,
    shutting_down: AtomicBool,
    /// Asks in progress between this system's actors, to detect deadlocks.
    wait_graph: Arc<WaitGraph>,
    /// Timers running per actor, for snapshots; an actor without timers
    /// has no entry.
    timers: DashMap<ActorId, u32>,
    /// Dead letters published so far, for snapshots.
    dead_letter_count: AtomicU64,
    /// `None` unless metrics were turned on: then every hook is one branch.
    #[cfg(feature = "metrics")]
    metrics: Option<crate::metrics::SystemMetrics>,
}

/// A live actor as the system keeps it: 40 bytes, one entry per actor.
#[derive(Clone)]
pub(crate) struct Registered {
    pub(crate) actor: Arc<dyn AnyActor>,
    /// The sequence number of its supervisor, an actor of the same
    /// system; `None` for a top-level actor.
    parent: Option<NonZeroU64>,
    /// Its per-core thread; `None` under shared placement. A `u32`
    /// holds any index: the OS refuses threads long before that.
    core: Option<u32>,
    pub(crate) kind: ActorKind,
}

impl Registered {
    fn new(
        actor: Arc<dyn AnyActor>,
        parent: Option<ActorId>,
        kind: ActorKind,
        core: Option<usize>,
    ) -> Self {
        Self {
            actor,
            parent: parent.and_then(|parent| NonZeroU64::new(parent.seq())),
            core: core.and_then(|core| u32::try_from(core).ok()),
            kind,
        }
    }

    /// Its supervisor's id, on `node` (its system's).
    pub(crate) fn parent(&self, node: NodeId) -> Option<ActorId> {
        self.parent.map(|seq| ActorId::new(node, seq.get()))
    }

    fn core(&self) -> Option<usize> {
        self.core.map(|core| core as usize)
    }
}

/// Configures a [`System`] before it starts.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_runtime::{NodeId, System};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let system = System::builder()
///     .ask_timeout(Duration::from_secs(1))
///     .node_id(NodeId::new(3, 1))
///     .build();
/// assert_eq!(system.node_id(), NodeId::new(3, 1));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SystemBuilder {
    node: Option<NodeId>,
    ask_timeout: Duration,
    runtime: Option<Handle>,
    placement: Placement,
    /// The sampling interval, if metrics are on.
    #[cfg(feature = "metrics")]
    metrics: Option<Duration>,
}

impl SystemBuilder {
    /// The deadline [`ActorRef::ask`] uses when none is given; 5 seconds by default.
    pub fn ask_timeout(mut self, timeout: Duration) -> Self {
        self.ask_timeout = timeout;
        self
    }

    /// The node run this system is; a fresh [`NodeId::local`] by default.
    /// Network layers set it so that ids name the node.
    pub fn node_id(mut self, node: NodeId) -> Self {
        self.node = Some(node);
        self
    }

    /// The tokio runtime actors run on under [`Placement::Shared`]; the
    /// current one by default.
    pub fn runtime(mut self, runtime: Handle) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// How actors are placed on threads: [`Placement::Shared`] (the
    /// default) runs them all on one tokio runtime;
    /// [`Placement::PerCore`] starts threads of the system's own, each a
    /// current-thread runtime, and keeps each actor on one of them (see
    /// [`Placement`] for the rules and what blocking costs there).
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Placement, System};
    ///
    /// // No tokio runtime is needed to build it: it brings its own threads.
    /// let system = System::builder().placement(Placement::PerCore { threads: 2 }).build();
    /// assert_eq!(system.cores(), 2);
    /// ```
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Turns metrics on or off (off by default); see the `metrics` module
    /// of the `proscenium` crate for what is recorded. Install the recorder
    /// (the exporter) before building the system: handles are registered
    /// with the recorder installed then. Off, a message costs one branch
    /// more than without the cargo feature.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::System;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Install an exporter's recorder first, e.g. with `metrics::set_global_recorder`.
    /// let system = System::builder().metrics(true).build();
    /// # system.shutdown().await;
    /// # }
    /// ```
    #[cfg(feature = "metrics")]
    pub fn metrics(mut self, enabled: bool) -> Self {
        self.metrics = enabled.then(|| self.metrics.unwrap_or(crate::metrics::DEFAULT_INTERVAL));
        self
    }

    /// How often the gauges that are sampled (mailbox depths, actors
    /// alive) are read, when metrics are on; 1 second by default.
    #[cfg(feature = "metrics")]
    pub fn metrics_interval(mut self, interval: Duration) -> Self {
        if self.metrics.is_some() {
            self.metrics = Some(interval);
        }
        self
    }

    /// Starts the system.
    ///
    /// # Panics
    ///
    /// Where [`try_build`](Self::try_build) returns an error: under shared
    /// placement, if no runtime was given and this is not called from
    /// inside a tokio runtime; under per-core placement, if the OS refuses
    /// a thread.
    #[track_caller]
    pub fn build(self) -> System {
        match self.try_build() {
            Ok(system) => system,
            Err(error) => panic!("System::new() failed: {error}"),
        }
    }

    /// Starts the system, or says why it cannot.
    ///
    /// # Errors
    ///
    /// [`BuildError::NoRuntime`] under shared placement when no runtime
    /// was given and none is current; [`BuildError::Runtime`] or
    /// [`BuildError::Thread`] when a per-core thread cannot be started.
    pub fn try_build(self) -> Result<System, BuildError> {
        let runtimes = Runtimes::start(self.placement, self.runtime)?;
        let (dead_letters, _) = broadcast::channel(DeadLetters::CAPACITY);
        let system = System {
            inner: Arc::new(SystemInner {
                node: self.node.unwrap_or_else(NodeId::local),
                next_seq: AtomicU64::new(1),
                ask_timeout: self.ask_timeout,
                runtimes,
                actors: DashMap::default(),
                names: DashMap::new(),
                dead_letters,
                shutting_down: AtomicBool::new(false),
                wait_graph: Arc::default(),
                timers: DashMap::new(),
                dead_letter_count: AtomicU64::new(0),
                #[cfg(feature = "metrics")]
                metrics: self.metrics.map(crate::metrics::SystemMetrics::new),
            }),
        };
        #[cfg(feature = "metrics")]
        system.start_sampler();
        Ok(system)
    }
}

impl System {
    /// The default deadline of an `ask`.
    pub const DEFAULT_ASK_TIMEOUT: Duration = Duration::from_secs(5);

    /// Starts a system on the current tokio runtime with default settings.
    ///
    /// # Panics
    ///
    /// Panics if called outside a tokio runtime; use [`System::builder`] and
    /// [`SystemBuilder::runtime`] there.
    #[track_caller]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder to configure a system before it starts.
    pub fn builder() -> SystemBuilder {
        SystemBuilder {
            node: None,
            ask_timeout: Self::DEFAULT_ASK_TIMEOUT,
            runtime: None,
            placement: Placement::Shared,
            #[cfg(feature = "metrics")]
            metrics: None,
        }
    }

    /// The deadline [`ActorRef::ask`] uses when none is given.
    pub fn ask_timeout(&self) -> Duration {
        self.inner.ask_timeout
    }

    /// The node run this system is.
    pub fn node_id(&self) -> NodeId {
        self.inner.node
    }

    /// The runtime for work the calling code starts on behalf of an actor
    /// (timers, streams): under per-core placement, the calling thread's
    /// core if it is one of this system's, so the work stays by its actor.
    pub(crate) fn runtime(&self) -> &Handle {
        self.inner.runtimes.here()
    }

    /// How many per-core threads this system has; 0 under
    /// [`Placement::Shared`].
    pub fn cores(&self) -> usize {
        self.inner.runtimes.cores()
    }

    /// The per-core thread the live local actor `id` runs on; `None` under
    /// [`Placement::Shared`] or if there is no such actor.
    pub fn core_of(&self, id: ActorId) -> Option<usize> {
        self.registered(id)?.core()
    }

    /// The per-core thread of this system the caller runs on (an actor's
    /// handler, a task spawned by one), if any.
    pub fn current_core(&self) -> Option<usize> {
        self.inner.runtimes.current()
    }

    /// Spawns `actor` as a top-level actor and returns its ref at once; its
    /// [`on_start`](Actor::on_start) runs in its own task, and messages sent
    /// meanwhile wait in its mailbox. [`ActorRef::wait_started`] waits until
    /// it is up (for a [`Supervisor`](crate::Supervisor): its children too).
    ///
    /// # Errors
    ///
    /// [`SpawnError::ShutDown`] once [`shutdown`](Self::shutdown) has begun.
    pub fn spawn<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError> {
        self.spawn_inner(actor, SpawnSpec::top_level(None))
    }

    /// Spawns `actor` as a top-level actor on per-core thread `core`
    /// (see [`Placement::PerCore`]): put actors that talk a lot on one
    /// core, and apart those that should run in parallel.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NoSuchCore`] unless `core` is below
    /// [`cores`](Self::cores) (always under [`Placement::Shared`]);
    /// [`SpawnError::ShutDown`] once shutdown has begun.
    pub fn spawn_on<A: Actor>(&self, core: usize, actor: A) -> Result<ActorRef<A>, SpawnError> {
        let mut spec = SpawnSpec::top_level(None);
        spec.core = Some(core);
        self.spawn_inner(actor, spec)
    }

    /// Spawns `actor` and registers it under `name` until it stops.
    ///
    /// # Errors
    ///
    /// [`SpawnError::NameTaken`] if a live actor has the name;
    /// [`SpawnError::ShutDown`] once shutdown has begun.
    pub fn spawn_named<A: Actor>(
        &self,
        name: impl Into<String>,
        actor: A,
    ) -> Result<ActorRef<A>, SpawnError> {
        self.spawn_inner(actor, SpawnSpec::top_level(Some(name.into())))
    }

    /// Spawns `actor` and registers it under its default name,
    /// [`A::DEFAULT_NAME`](Actor::DEFAULT_NAME), until it stops.
    ///
    /// # Errors
    ///
    /// As for [`spawn_named`](Self::spawn_named), and
    /// [`SpawnError::NoDefaultName`] if `A` has no default name.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, System};
    ///
    /// struct Clock;
    /// impl Actor for Clock {
    ///     const DEFAULT_NAME: Option<&'static str> = Some("clock");
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let clock = system.spawn_default_named(Clock)?;
    /// assert_eq!(system.lookup::<Clock>("clock"), Some(clock));
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_default_named<A: Actor>(&self, actor: A) -> Result<ActorRef<A>, SpawnError> {
        let name = A::DEFAULT_NAME
            .ok_or_else(|| SpawnError::NoDefaultName(type_name::<A>().to_owned()))?;
        self.spawn_named(name, actor)
    }

    pub(crate) fn spawn_inner<A: Actor>(
        &self,
        actor: A,
        spec: SpawnSpec<A>,
    ) -> Result<ActorRef<A>, SpawnError> {
        Ok(self.spawn_task(actor, spec)?.0)
    }

    /// Spawns a child, and hands back the handle that lets its parent kill
    /// it without waiting for anything it does ([`Shutdown`](crate::Shutdown)).
    pub(crate) fn spawn_child<A: Actor>(
        &self,
        actor: A,
        spec: SpawnSpec<A>,
    ) -> Result<(ActorRef<A>, AbortHandle), SpawnError> {
        let (actor_ref, task) = self.spawn_task(actor, spec)?;
        Ok((actor_ref, task.abort_handle()))
    }

    fn spawn_task<A: Actor>(
        &self,
        actor: A,
        spec: SpawnSpec<A>,
    ) -> Result<(ActorRef<A>, JoinHandle<()>), SpawnError> {
        let (actor_ref, core, task) = self.actor_task(actor, spec)?;
        Ok((actor_ref, self.inner.runtimes.handle(core).spawn(task)))
    }

    /// Registers a new actor and builds the task that will run it, on
    /// `core` when the system runs per core.
    fn actor_task<A: Actor>(
        &self,
        actor: A,
        spec: SpawnSpec<A>,
    ) -> Result<
        (
            ActorRef<A>,
            Option<usize>,
            impl std::future::Future<Output = ()> + Send + 'static,
        ),
        SpawnError,
    > {
        let SpawnSpec {
            name,
            parent,
            factory,
            policy,
            kind,
            core,
        } = spec;
        if self.inner.shutting_down.load(Ordering::SeqCst) {
            return Err(SpawnError::ShutDown);
        }
        let core = self.place(core, parent.as_deref())?;
        let id = ActorId::new(
            self.inner.node,
            self.inner.next_seq.fetch_add(1, Ordering::Relaxed),
        );
        let cell = Arc::new(Cell {
            asker: Asker::new(id, Arc::clone(&self.inner.wait_graph)),
            span: tracing::debug_span!("actor", %id, actor = type_name::<A>()),
            mailbox: MessageLane::new(A::mailbox()),
            signals: SignalLane::new(),
            ask_timeout_nanos: u64::try_from(self.inner.ask_timeout.as_nanos()).unwrap_or(u64::MAX),
            home: self.inner.runtimes.home(core),
            life: Life::new(name.is_some()),
        });
        #[cfg(feature = "metrics")]
        let metrics = self.inner.metrics.as_ref().map(|system| {
            system.spawned();
            crate::metrics::ActorMetrics::register(type_name::<A>(), name.as_deref())
        });
        let registered = Registered::new(
            cell.clone(),
            parent.as_ref().map(|parent| parent.id()),
            kind,
            core,
        );
        if let Some(name) = name {
            match self.inner.names.entry(name) {
                Entry::Occupied(entry) => return Err(SpawnError::NameTaken(entry.key().clone())),
                Entry::Vacant(entry) => {
                    entry.insert(registered.clone());
                }
            }
        }
        self.inner.actors.insert(id.seq(), registered);
        let actor_ref = ActorRef::local(Arc::clone(&cell));
        let ctx = Context::new(actor_ref.clone(), self.clone(), parent);
        let lifecycle = Lifecycle::new(actor, ctx, Arc::clone(&cell), factory, policy);
        #[cfg(feature = "metrics")]
        let lifecycle = lifecycle.with_metrics(metrics);
        Ok((actor_ref, core, ActorTask::new(cell, lifecycle.run())))
    }

    /// The core a new actor goes to (see [`Placement::PerCore`]): the
    /// `chosen` one, else its spawner's, except that a pool's workers are
    /// spread so that the pool runs in parallel.
    fn place(
        &self,
        chosen: Option<usize>,
        parent: Option<&dyn AnyActor>,
    ) -> Result<Option<usize>, SpawnError> {
        let cores = self.cores();
        if let Some(core) = chosen.filter(|&core| core >= cores) {
            return Err(SpawnError::NoSuchCore { core, cores });
        }
        let spread = parent.is_some_and(|parent| {
            self.registered(parent.id())
                .is_some_and(|registered| matches!(registered.kind, ActorKind::Pool))
        });
        Ok(self.inner.runtimes.place(chosen, spread))
    }

    /// Registers `actor` under `name` until it stops.
    ///
    /// # Errors
    ///
    /// [`RegisterError::NameTaken`] if a live actor has the name,
    /// [`RegisterError::Stopped`] if `actor` has stopped,
    /// [`RegisterError::NotLocal`] if it is not an actor of this system.
    pub fn register<A: Actor>(
        &self,
        name: impl Into<String>,
        actor: &ActorRef<A>,
    ) -> Result<(), RegisterError> {
        let Some(cell) = actor.cell() else {
            return Err(RegisterError::NotLocal);
        };
        if !cell.life.is_alive() {
            return Err(RegisterError::Stopped);
        }
        if !self.owns(cell) {
            return Err(RegisterError::NotLocal);
        }
        let name = name.into();
        let core = self.core_of(cell.id());
        cell.life.mark_named();
        match self.inner.names.entry(name.clone()) {
            Entry::Occupied(entry) => return Err(RegisterError::NameTaken(entry.key().clone())),
            Entry::Vacant(entry) => {
                entry.insert(Registered::new(cell.clone(), None, ActorKind::Actor, core));
            }
        }
        // The actor may have stopped, and swept its names, just before the insert.
        if !cell.life.is_alive() {
            self.inner
                .names
                .remove_if(&name, |_, r| r.actor.id() == cell.id());
            return Err(RegisterError::Stopped);
        }
        Ok(())
    }

    /// Whether `cell` is a live actor spawned by this very system (another
    /// system may have been given the same node id).
    fn owns<A: Actor>(&self, cell: &Arc<Cell<A>>) -> bool {
        self.registered(cell.id()).is_some_and(|registered| {
            std::ptr::addr_eq(Arc::as_ptr(&registered.actor), Arc::as_ptr(cell))
        })
    }

    /// The live actor registered under `name`, if there is one and it is an `A`.
    pub fn lookup<A: Actor>(&self, name: &str) -> Option<ActorRef<A>> {
        let registered = self.inner.names.get(name)?.actor.clone();
        if !registered.life().is_alive() {
            return None;
        }
        registered
            .into_any()
            .downcast::<Cell<A>>()
            .ok()
            .map(ActorRef::local)
    }

    /// The live local actor with this id, whatever its type.
    pub fn actor(&self, id: ActorId) -> Option<AnyActorRef> {
        let registered = self.registered(id)?;
        Some(AnyActorRef::new(registered.actor.clone()))
    }

    /// The entry of the live local actor `id`.
    fn registered(&self, id: ActorId) -> Option<Ref<'_, u64, Registered>> {
        if id.node() != self.inner.node {
            return None;
        }
        self.inner.actors.get(&id.seq())
    }

    /// The live actor registered under `name`, whatever its type.
    pub fn lookup_any(&self, name: &str) -> Option<AnyActorRef> {
        let registered = self.inner.names.get(name)?.actor.clone();
        registered
            .life()
            .is_alive()
            .then(|| AnyActorRef::new(registered))
    }

    /// Subscribes to the dead letters published from now on.
    pub fn dead_letters(&self) -> DeadLetters {
        DeadLetters::new(self.inner.dead_letters.subscribe())
    }

    /// Publishes `letter` to this system's dead letters; see
    /// [`remote::publish_dead_letter`](crate::remote::publish_dead_letter).
    pub(crate) fn publish_dead_letter(&self, letter: DeadLetter) {
        tracing::debug!(
            recipient = %letter.recipient,
            message = letter.message_type,
            reason = %letter.reason,
            possibly_delivered = letter.possibly_delivered,
            "dead letter"
        );
        self.inner.dead_letter_count.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.dead_letter();
        }
        // No subscriber is not an error: dead letters are then only logged.
        let _ = self.inner.dead_letters.send(letter);
    }

    /// The number of live actors in this system.
    pub fn actor_count(&self) -> usize {
        self.inner.actors.len()
    }

    pub(crate) fn dead_letter(
        &self,
        recipient: ActorId,
        message_type: &'static str,
        reason: StopReason,
    ) {
        self.publish_dead_letter(DeadLetter {
            recipient,
            message_type,
            reason,
            possibly_delivered: false,
        });
    }

    /// Publishes a dead letter for a message a timer could not deliver to `target`.
    pub(crate) fn dead_letter_for<A: Actor>(
        &self,
        target: &ActorRef<A>,
        message_type: &'static str,
    ) {
        let reason = target
            .cell()
            .and_then(|c| c.life.reason())
            .unwrap_or(StopReason::Normal);
        self.dead_letter(target.id(), message_type, reason);
    }

    /// Every live actor, with its names, for a snapshot.
    pub(crate) fn registered_actors(&self) -> (Vec<Registered>, Vec<(ActorId, String)>) {
        let actors = self
            .inner
            .actors
            .iter()
            .map(|e| e.value().clone())
            .collect();
        let names = self
            .inner
            .names
            .iter()
            .map(|e| (e.actor.id(), e.key().clone()))
            .collect();
        (actors, names)
    }

    /// Dead letters published so far, and actors spawned so far.
    pub(crate) fn lifetime_counts(&self) -> (u64, u64) {
        (
            self.inner.dead_letter_count.load(Ordering::Relaxed),
            self.inner.next_seq.load(Ordering::Relaxed) - 1,
        )
    }

    /// The timers running for `actor` now.
    pub(crate) fn timers_of(&self, actor: ActorId) -> u32 {
        self.inner.timers.get(&actor).map_or(0, |count| *count)
    }

    /// Counts a timer of `actor` while the returned guard lives.
    pub(crate) fn timer_running(&self, actor: ActorId) -> TimerRunning {
        *self.inner.timers.entry(actor).or_insert(0) += 1;
        TimerRunning {
            system: self.clone(),
            actor,
        }
    }

    /// Removes every trace of a stopped actor from the system's tables.
    pub(crate) fn forget(&self, id: ActorId, named: bool) {
        if id.node() == self.inner.node {
            self.inner.actors.remove(&id.seq());
        }
        #[cfg(feature = "metrics")]
        if let Some(metrics) = &self.inner.metrics {
            metrics.stopped();
        }
        if named {
            self.inner.names.retain(|_, r| r.actor.id() != id);
        }
    }

    /// Stops every actor, children before their parents, each after handling
    /// what is already queued and running its [`on_stop`](Actor::on_stop),
    /// and waits until all have stopped. Spawning fails from now on. Under
    /// [`Placement::PerCore`] it then stops the system's threads and waits
    /// until they have ended (called from one of them, it cannot wait for
    /// that one, which ends once the caller yields).
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
        let top_level: Vec<Arc<dyn AnyActor>> = self
            .inner
            .actors
            .iter()
            .filter(|entry| entry.parent.is_none())
            .map(|entry| entry.actor.clone())
            .collect();
        tracing::debug!(actors = top_level.len(), "shutting down");
        for actor in &top_level {
            actor.stop();
        }
        for actor in &top_level {
            actor.life().wait().await;
        }
        self.inner.runtimes.stop().await;
    }

    /// Whether [`shutdown`](Self::shutdown) has begun.
    pub fn is_shut_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }
}

/// One running timer of an actor, counted until dropped.
pub(crate) struct TimerRunning {
    system: System,
    actor: ActorId,
}

impl Drop for TimerRunning {
    fn drop(&mut self) {
        let timers = &self.system.inner.timers;
        if let Entry::Occupied(mut count) = timers.entry(self.actor) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }
}

/// Reading the actor tables for the metrics sampler, which must not keep
/// a system alive.
#[cfg(feature = "metrics")]
impl System {
    fn start_sampler(&self) {
        if let Some(metrics) = &self.inner.metrics {
            let system = WeakSystem(Arc::downgrade(&self.inner));
            let sample = crate::metrics::sample(system, metrics.interval);
            self.runtime().spawn(sample);
        }
    }

    /// Calls `visit` with every live actor; `visit` must not touch the tables.
    pub(crate) fn visit_actors(&self, mut visit: impl FnMut(&dyn AnyActor)) {
        for entry in self.inner.actors.iter() {
            visit(&*entry.actor);
        }
    }

    /// Calls `visit` with every registered name and its actor.
    pub(crate) fn visit_names(&self, mut visit: impl FnMut(&str, &dyn AnyActor)) {
        for entry in self.inner.names.iter() {
            visit(entry.key(), &*entry.actor);
        }
    }
}

/// A handle on a system that does not keep it alive.
#[cfg(feature = "metrics")]
pub(crate) struct WeakSystem(std::sync::Weak<SystemInner>);

#[cfg(feature = "metrics")]
impl WeakSystem {
    pub(crate) fn upgrade(&self) -> Option<System> {
        self.0.upgrade().map(|inner| System { inner })
    }
}

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("System")
            .field("node", &self.inner.node)
            .field("actors", &self.inner.actors.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Idle;
    impl Actor for Idle {}

    /// The number the comment on [`Registered`] gives: every live actor
    /// has one in the actor table.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_actor_table_entry_is_40_bytes() {
        assert_eq!(std::mem::size_of::<Registered>(), 40);
    }

    /// An idle actor's memory is mostly its parked task, and tokio lays a
    /// task out in 128-byte steps on x86_64: 96 bytes of header, scheduler
    /// and trailer plus the future and a tag. A future of up to 408 bytes
    /// makes a 512-byte task; one byte more makes it 640.
    /// See the comment on [`Cell::ask_timeout_nanos`].
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn an_actors_cell_stays_376_bytes() {
        assert_eq!(std::mem::size_of::<Cell<Idle>>(), 376);
    }

    #[tokio::test]
    async fn an_idle_actors_task_fits_a_512_byte_tokio_task() {
        let system = System::new();
        let (_actor, _core, task) = system
            .actor_task(Idle, SpawnSpec::top_level(None))
            .expect("the system is up");
        let size = std::mem::size_of_val(&task);
        assert!(size <= 408, "an idle actor's task future is {size} bytes");
    }
}
