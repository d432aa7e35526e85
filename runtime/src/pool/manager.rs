//! The actor behind a pool: owns the workers as supervised children,
//! resizes the set, and replaces workers that stop for good.

use std::sync::Arc;

use tokio::sync::watch;

use crate::{
    Actor, ActorError, ActorRef, ChildSpec, Context, Handler, Message, SpawnError, StopReason,
    SupervisorStrategy, Terminated,
};

/// The workers a pool routes to now, shared by its handles and its manager,
/// and watched by whoever follows the pool's changes.
pub(crate) struct WorkerSet<A: Actor> {
    current: watch::Sender<Arc<[ActorRef<A>]>>,
}

impl<A: Actor> WorkerSet<A> {
    pub(crate) fn new() -> Self {
        Self {
            current: watch::channel(Arc::from(Vec::new())).0,
        }
    }

    /// The workers now; cheap (one reference count), never blocks for long.
    pub(crate) fn snapshot(&self) -> Arc<[ActorRef<A>]> {
        Arc::clone(&self.current.borrow())
    }

    /// A receiver of every set published from now on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<[ActorRef<A>]>> {
        self.current.subscribe()
    }

    fn publish(&self, workers: &[ActorRef<A>]) {
        self.current.send_replace(Arc::from(workers));
    }
}

/// Supervises the workers of one pool.
pub(crate) struct PoolManager<A: Actor> {
    pub(crate) spec: ChildSpec<A>,
    pub(crate) strategy: SupervisorStrategy,
    pub(crate) workers: Arc<WorkerSet<A>>,
    /// The workers routed to, in index order (consistent hashing relies on
    /// growing and shrinking at the end).
    pub(crate) current: Vec<ActorRef<A>>,
    /// The size asked for; kept across a restart of the manager.
    pub(crate) size: usize,
}

impl<A: Actor> PoolManager<A> {
    fn spawn_worker(&mut self, ctx: &mut Context<Self>) -> Result<ActorRef<A>, SpawnError> {
        let worker = ctx.spawn_with(self.spec.clone())?;
        ctx.watch(&worker);
        Ok(worker)
    }

    fn resize(&mut self, ctx: &mut Context<Self>, size: usize) -> Result<(), SpawnError> {
        self.size = size;
        while self.current.len() < size {
            let worker = self.spawn_worker(ctx)?;
            self.current.push(worker);
        }
        let retired = self.current.split_off(size.min(self.current.len()));
        // Publish first, so no new message is routed to a retiring worker;
        // a graceful stop then handles what is already queued.
        self.workers.publish(&self.current);
        for worker in retired {
            ctx.unwatch(&worker);
            worker.stop();
        }
        Ok(())
    }
}

impl<A: Actor> Actor for PoolManager<A> {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.set_supervisor_strategy(self.strategy);
        Ok(())
    }

    async fn on_restart(
        &mut self,
        ctx: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), ActorError> {
        // The old workers were stopped with the restart; start a new set.
        ctx.set_supervisor_strategy(self.strategy);
        self.current.clear();
        self.resize(ctx, self.size)?;
        Ok(())
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        self.current.clear();
        self.workers.publish(&[]);
    }
}

/// Grow or shrink the pool to this many workers.
pub(crate) struct Resize(pub(crate) usize);

impl Message for Resize {
    type Reply = Result<(), SpawnError>;
}

impl<A: Actor> Handler<Resize> for PoolManager<A> {
    async fn handle(
        &mut self,
        Resize(size): Resize,
        ctx: &mut Context<Self>,
    ) -> Result<(), SpawnError> {
        self.resize(ctx, size)
    }
}

impl<A: Actor> Handler<Terminated> for PoolManager<A> {
    async fn handle(&mut self, terminated: Terminated, ctx: &mut Context<Self>) {
        let Some(index) = self.current.iter().position(|w| w.id() == terminated.id) else {
            return;
        };
        tracing::info!(worker = %terminated.id, reason = %terminated.reason, "replacing pool worker");
        match self.spawn_worker(ctx) {
            Ok(worker) => self.current[index] = worker,
            Err(error) => {
                tracing::warn!(%error, "could not replace pool worker");
                self.current.remove(index);
            }
        }
        self.workers.publish(&self.current);
    }
}
