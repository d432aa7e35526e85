//! The actors that run remote spawns: each remotely spawned actor is
//! supervised on its own node, by a supervisor of its own, and each peer
//! may run only so many of them.

use std::sync::{Arc, Mutex};

use dashmap::mapref::entry::Entry;
use dashmap::DashMap;
use proscenium_runtime::remote::Watcher;
use proscenium_runtime::{
    Actor, ActorError, ActorId, ChildSpec, Context, Handler, Message, RestartPolicy, SpawnError,
    SupervisorStrategy,
};
use tokio::sync::oneshot;

/// A spawn to run on the node's spawner actor: what a
/// [`RemoteSpawn`](crate::RemoteSpawn) type's registration makes of the
/// arguments a peer sent.
pub(crate) type SpawnRequest =
    Box<dyn FnOnce(&mut Context<SpawnedSupervisor>) -> Result<ActorId, SpawnError> + Send>;

/// Parent of the per-actor supervisors of every actor spawned on this node
/// by another node.
///
/// It restarts none of them: each `SpawnedSupervisor` has a restart
/// intensity of its own (the spawner's `strategy`), and one whose actor
/// exceeds it stops with that actor. So an actor that keeps failing stops
/// for good without touching its siblings or the spawner.
pub struct Spawner {
    pub(crate) strategy: SupervisorStrategy,
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

impl Actor for Spawner {}

/// Reports the id of a spawned actor once its supervisor has started it.
pub(crate) type Started = oneshot::Receiver<Result<ActorId, SpawnError>>;

/// Run one spawn request, holding one place of the requesting peer's quota.
pub(crate) struct SpawnChild {
    pub(crate) request: SpawnRequest,
    pub(crate) permit: SpawnPermit,
}

impl Message for SpawnChild {
    type Reply = Result<Started, SpawnError>;
}

impl Handler<SpawnChild> for Spawner {
    async fn handle(
        &mut self,
        SpawnChild { request, permit }: SpawnChild,
        ctx: &mut Context<Self>,
    ) -> Result<Started, SpawnError> {
        let (started, reply) = oneshot::channel();
        // Temporary: never restarted, so the factory runs once.
        let start = Mutex::new(Some((request, permit, started)));
        let strategy = self.strategy;
        let spec = ChildSpec::new(move || SpawnedSupervisor {
            strategy,
            start: start.lock().ok().and_then(|mut start| start.take()),
        })
        .restart(RestartPolicy::Temporary);
        ctx.spawn_with(spec)?;
        Ok(reply)
    }
}

/// Supervises one remotely spawned actor, restarting it from its arguments
/// within its own restart intensity, and stops when the actor ends.
pub(crate) struct SpawnedSupervisor {
    strategy: SupervisorStrategy,
    start: Option<Start>,
}

/// What a [`SpawnedSupervisor`] starts with: the spawn, its quota place,
/// and where to report the new actor's id.
type Start = (
    SpawnRequest,
    SpawnPermit,
    oneshot::Sender<Result<ActorId, SpawnError>>,
);

impl Actor for SpawnedSupervisor {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.set_supervisor_strategy(self.strategy);
        let Some((request, permit, started)) = self.start.take() else {
            return Ok(());
        };
        let child = match request(ctx) {
            Ok(child) => child,
            Err(error) => {
                let _ = started.send(Err(error));
                ctx.stop();
                return Ok(());
            }
        };
        let Some(actor) = ctx.system().actor(child) else {
            // Gone already: nothing to supervise, and its place is free.
            let _ = started.send(Ok(child));
            ctx.stop();
            return Ok(());
        };
        // This supervisor watches nothing else, so its id is free to name
        // the watch. The watch is registered before anyone else can watch
        // the new actor, so it fires first: the quota place is free before
        // any peer hears that the actor stopped.
        let me = ctx.actor_ref().clone();
        actor.watch(Watcher::from_fn(ctx.id(), move |_| {
            drop(permit);
            me.stop();
        }));
        let _ = started.send(Ok(child));
        Ok(())
    }
}

/// How many actors each peer may have spawned on this node at once.
#[derive(Debug)]
pub(crate) struct SpawnQuota {
    limit: u32,
    /// Live remotely spawned actors, by the node number of their spawner
    /// (not its incarnation: a peer's actors outlive its restarts).
    live: DashMap<u64, u32>,
}

impl SpawnQuota {
    pub(crate) fn new(limit: u32) -> Arc<Self> {
        Arc::new(Self {
            limit,
            live: DashMap::new(),
        })
    }

    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// A place for one more actor of `peer`, if it has one left.
    pub(crate) fn acquire(self: &Arc<Self>, peer: u64) -> Option<SpawnPermit> {
        let mut live = self.live.entry(peer).or_default();
        if *live >= self.limit {
            return None;
        }
        *live += 1;
        Some(SpawnPermit {
            quota: Arc::clone(self),
            peer,
        })
    }
}

/// One place in a peer's quota; freed when dropped.
#[derive(Debug)]
pub(crate) struct SpawnPermit {
    quota: Arc<SpawnQuota>,
    peer: u64,
}

impl Drop for SpawnPermit {
    fn drop(&mut self) {
        if let Entry::Occupied(mut live) = self.quota.live.entry(self.peer) {
            *live.get_mut() = live.get().saturating_sub(1);
            if *live.get() == 0 {
                live.remove();
            }
        }
    }
}
