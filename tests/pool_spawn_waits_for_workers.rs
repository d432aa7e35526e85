//! `Pool::spawn` resolves once every worker is up: each has run its
//! `on_start`, even one that awaits in it, so a snapshot right after finds
//! every worker running.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use proscenium::prelude::*;
use proscenium::{ActorState, Pool};

struct SlowStarter {
    started: Arc<AtomicUsize>,
}

impl Actor for SlowStarter {
    async fn on_start(&mut self, _: &mut Context<Self>) -> Result<(), ActorError> {
        // Goes to the back of the run queue a few times, behind whoever
        // the pool's spawn would wake.
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
        self.started.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test]
async fn a_spawned_pool_has_run_every_workers_on_start() {
    let system = System::new();
    let started = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&started);
    let pool = Pool::builder(move || SlowStarter {
        started: Arc::clone(&counter),
    })
    .size(4)
    .spawn(&system)
    .await
    .unwrap();

    assert_eq!(started.load(Ordering::SeqCst), 4);
    let snapshot = system.snapshot();
    for worker in pool.workers() {
        let seen = snapshot.actor(worker.id()).unwrap();
        assert_eq!(seen.state, ActorState::Running, "{snapshot}");
    }
    system.shutdown().await;
}
