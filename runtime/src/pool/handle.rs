//! [`Pool`]: the handle users route messages through, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::manager::{PoolManager, Resize, WorkerSet};
use super::{Route, Router};
use crate::introspection::ActorKind;
use crate::supervision::SpawnSpec;
use crate::{
    Actor, ActorRef, AskError, ChildSpec, Handler, Message, RoundRobin, SendError, SpawnError,
    StopReason, SupervisorStrategy, System,
};

/// How often a message is re-routed when the chosen worker has just been
/// retired by a resize.
const REROUTES: usize = 16;

/// A resizable set of supervised workers of type `A`, with router `R`
/// choosing a worker per message.
///
/// Workers are children of an internal manager actor, built by the pool's
/// factory: one that panics is restarted in place (same ref, queue kept);
/// one that stops for good is replaced. [`resize`](Self::resize) grows or
/// shrinks the set at run time without losing queued work: retired workers
/// get no new messages and handle what they have before they stop.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Context, Handler, LeastLoaded, Message, Pool, System};
///
/// #[derive(Default)]
/// struct Hasher;
/// impl Actor for Hasher {}
///
/// struct Digest(Vec<u8>);
/// impl Message for Digest {
///     type Reply = u64;
/// }
/// impl Handler<Digest> for Hasher {
///     async fn handle(&mut self, Digest(bytes): Digest, _: &mut Context<Self>) -> u64 {
///         bytes.iter().map(|&b| u64::from(b)).sum()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let pool = Pool::builder(Hasher::default).size(4).router(LeastLoaded::default()).spawn(&system).await?;
/// assert_eq!(pool.ask(Digest(vec![1, 2, 3])).await?, 6);
/// pool.resize(8).await?;
/// assert_eq!(pool.size(), 8);
/// # Ok(())
/// # }
/// ```
pub struct Pool<A: Actor, R = RoundRobin> {
    workers: Arc<WorkerSet<A>>,
    router: Arc<R>,
    manager: ActorRef<PoolManager<A>>,
    ask_timeout: Duration,
}

/// Configures a [`Pool`]; made by [`Pool::builder`].
pub struct PoolBuilder<A: Actor, R = RoundRobin> {
    spec: ChildSpec<A>,
    size: usize,
    router: R,
    strategy: SupervisorStrategy,
}

impl<A: Actor> Pool<A> {
    /// A builder for a pool whose workers are made by `factory` (again for
    /// each restart and replacement). Defaults: as many workers as the
    /// machine has cores, round-robin routing, the default supervisor strategy.
    pub fn builder(factory: impl Fn() -> A + Send + Sync + 'static) -> PoolBuilder<A> {
        let size = std::thread::available_parallelism().map_or(1, |n| n.get());
        PoolBuilder {
            spec: ChildSpec::new(factory),
            size,
            router: RoundRobin::default(),
            strategy: SupervisorStrategy::default(),
        }
    }
}

impl<A: Actor, R> PoolBuilder<A, R> {
    /// The number of workers (at least one).
    pub fn size(mut self, size: usize) -> Self {
        self.size = size.max(1);
        self
    }

    /// The routing strategy.
    pub fn router<R2>(self, router: R2) -> PoolBuilder<A, R2> {
        PoolBuilder {
            spec: self.spec,
            size: self.size,
            router,
            strategy: self.strategy,
        }
    }

    /// How failing workers are restarted; past its intensity the whole pool fails.
    pub fn supervisor_strategy(mut self, strategy: SupervisorStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Starts the manager and the workers; resolves once all workers are up.
    ///
    /// # Errors
    ///
    /// [`SpawnError::ShutDown`] if the system is shutting down.
    pub async fn spawn(self, system: &System) -> Result<Pool<A, R>, SpawnError> {
        let workers = Arc::new(WorkerSet::new());
        let manager = PoolManager {
            spec: self.spec,
            strategy: self.strategy,
            workers: Arc::clone(&workers),
            current: Vec::new(),
            size: self.size,
        };
        let mut spec = SpawnSpec::top_level(None);
        spec.kind = ActorKind::Pool;
        let manager = system.spawn_inner(manager, spec)?;
        manager
            .ask(Resize(self.size))
            .await
            .map_err(|_| SpawnError::ShutDown)??;
        // Up means started: every worker has run `on_start`. A worker whose
        // start failed is its manager's to restart or replace, as later.
        for worker in workers.snapshot().iter() {
            let _ = worker.wait_started().await;
        }
        let ask_timeout = system.ask_timeout();
        Ok(Pool {
            workers,
            router: Arc::new(self.router),
            manager,
            ask_timeout,
        })
    }
}

impl<A: Actor, R> Pool<A, R> {
    /// The number of workers messages are routed to now.
    pub fn size(&self) -> usize {
        self.workers.snapshot().len()
    }

    /// Refs to the current workers, in routing order.
    pub fn workers(&self) -> Vec<ActorRef<A>> {
        self.workers.snapshot().to_vec()
    }

    /// Follows the pool's workers: the receiver holds the set now (in
    /// routing order) and sees each new one a resize or a replacement
    /// publishes, and an empty set once the pool stops. For code that
    /// mirrors the workers elsewhere, such as the network layer putting
    /// them in a process group.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, Pool, System};
    ///
    /// #[derive(Default)]
    /// struct Worker;
    /// impl Actor for Worker {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let pool = Pool::builder(Worker::default).size(2).spawn(&system).await?;
    /// let mut workers = pool.watch_workers();
    /// assert_eq!(workers.borrow_and_update().len(), 2);
    /// pool.resize(3).await?;
    /// workers.changed().await?;
    /// assert_eq!(workers.borrow_and_update().len(), 3);
    /// # Ok(())
    /// # }
    /// ```
    pub fn watch_workers(&self) -> tokio::sync::watch::Receiver<Arc<[ActorRef<A>]>> {
        self.workers.subscribe()
    }

    /// Grows or shrinks the pool to `size` workers (at least one). Returns
    /// once new workers are routed to; retired workers finish their queued
    /// messages in the background.
    ///
    /// # Errors
    ///
    /// [`AskError::Stopped`] if the pool has stopped or the system is shutting down.
    pub async fn resize(&self, size: usize) -> Result<(), AskError> {
        self.manager
            .ask(Resize(size.max(1)))
            .await?
            .map_err(|_| AskError::Stopped)
    }

    /// Stops the pool gracefully: every worker handles what it has queued.
    pub fn stop(&self) {
        self.manager.stop();
    }

    /// Waits until the pool and all its workers have stopped.
    pub async fn wait_stopped(&self) -> StopReason {
        self.manager.wait_stopped().await
    }

    /// Sends `message` to the worker the router picks (to every worker,
    /// for [`Broadcast`](crate::Broadcast)), waiting for room in its mailbox.
    ///
    /// # Errors
    ///
    /// Hands the message back if the pool has stopped.
    pub async fn tell<M: Message>(&self, mut message: M) -> Result<(), SendError<M>>
    where
        A: Handler<M>,
        R: Router<M>,
    {
        for _ in 0..REROUTES {
            let workers = self.workers.snapshot();
            if workers.is_empty() {
                break;
            }
            match self.router.route(&message, &workers) {
                Route::One(i) => match workers[i % workers.len()].tell(message).await {
                    // Retired by a resize after the snapshot: pick again.
                    Err(SendError::Stopped(back)) => message = back,
                    other => return other,
                },
                Route::All(copy) => {
                    let mut delivered = false;
                    for worker in workers.iter() {
                        delivered |= worker.tell(copy(&message)).await.is_ok();
                    }
                    return if delivered {
                        Ok(())
                    } else {
                        Err(SendError::Stopped(message))
                    };
                }
            }
            tokio::task::yield_now().await;
        }
        Err(SendError::Stopped(message))
    }

    /// Asks the worker the router picks, with the system's default deadline.
    /// With [`Broadcast`](crate::Broadcast) every worker is asked and the
    /// first reply wins.
    ///
    /// # Errors
    ///
    /// As [`ActorRef::ask`]; [`AskError::Stopped`] if the pool has stopped.
    pub async fn ask<M: Message>(&self, message: M) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        R: Router<M>,
    {
        self.ask_timeout(message, self.ask_timeout).await
    }

    /// Like [`ask`](Self::ask), with a deadline for this call.
    ///
    /// # Errors
    ///
    /// As [`ask`](Self::ask).
    pub async fn ask_timeout<M: Message>(
        &self,
        mut message: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
        R: Router<M>,
    {
        for _ in 0..REROUTES {
            let workers = self.workers.snapshot();
            if workers.is_empty() {
                break;
            }
            match self.router.route(&message, &workers) {
                Route::One(i) => match workers[i % workers.len()]
                    .ask_returning(message, timeout)
                    .await
                {
                    Ok(reply) => return Ok(reply),
                    // Never queued at a retired worker: pick again.
                    Err((AskError::Stopped, Some(back))) => message = back,
                    Err((error, _)) => return Err(error),
                },
                Route::All(copy) => return scatter_gather(&workers, &message, copy, timeout).await,
            }
            tokio::task::yield_now().await;
        }
        Err(AskError::Stopped)
    }
}

/// Asks every worker at once; the first reply wins, the rest are dropped.
async fn scatter_gather<A, M>(
    workers: &[ActorRef<A>],
    message: &M,
    copy: fn(&M) -> M,
    timeout: Duration,
) -> Result<M::Reply, AskError>
where
    A: Handler<M>,
    M: Message,
{
    let mut asks = JoinSet::new();
    for worker in workers {
        let (worker, message) = (worker.clone(), copy(message));
        asks.spawn(async move { worker.ask_timeout(message, timeout).await });
    }
    let mut last_error = AskError::Stopped;
    while let Some(joined) = asks.join_next().await {
        match joined {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(error)) => last_error = error,
            Err(join_error) => {
                last_error = AskError::Failed {
                    reason: join_error.to_string(),
                }
            }
        }
    }
    Err(last_error)
}

impl<A: Actor, R> Clone for Pool<A, R> {
    fn clone(&self) -> Self {
        Self {
            workers: Arc::clone(&self.workers),
            router: Arc::clone(&self.router),
            manager: self.manager.clone(),
            ask_timeout: self.ask_timeout,
        }
    }
}

impl<A: Actor, R> fmt::Debug for Pool<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("worker", &std::any::type_name::<A>())
            .field("router", &std::any::type_name::<R>())
            .field("size", &self.size())
            .finish()
    }
}

impl<A: Actor, R: fmt::Debug> fmt::Debug for PoolBuilder<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("worker", &std::any::type_name::<A>())
            .field("size", &self.size)
            .field("router", &self.router)
            .field("strategy", &self.strategy)
            .finish()
    }
}
