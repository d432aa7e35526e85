//! The actor that runs remote spawns, so each remotely spawned actor is
//! supervised on its own node.

use proscenium_runtime::{
    Actor, ActorError, ActorId, Context, Handler, Message, SpawnError, SupervisorStrategy,
};

use crate::registry::SpawnRequest;

/// Parent of every actor spawned on this node by another node: restarts
/// them one-for-one from their arguments.
pub struct Spawner {
    pub(crate) strategy: SupervisorStrategy,
}

impl std::fmt::Debug for Spawner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spawner").finish_non_exhaustive()
    }
}

impl Actor for Spawner {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.set_supervisor_strategy(self.strategy);
        Ok(())
    }
}

/// Run one spawn request.
pub(crate) struct SpawnChild(pub(crate) SpawnRequest);

impl Message for SpawnChild {
    type Reply = Result<ActorId, SpawnError>;
}

impl Handler<SpawnChild> for Spawner {
    async fn handle(
        &mut self,
        SpawnChild(spawn): SpawnChild,
        ctx: &mut Context<Self>,
    ) -> Result<ActorId, SpawnError> {
        spawn(ctx)
    }
}
