//! Pools resize up and down under load without losing work, and replace
//! or restart workers that die.

use std::collections::HashSet;

use proscenium::prelude::*;
use proscenium::Pool;
use tokio::sync::mpsc;

struct Worker {
    handled: mpsc::UnboundedSender<(ActorId, u64)>,
}

impl Actor for Worker {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(64)
    }
}

struct Job(u64);
impl Message for Job {
    type Reply = ();
}

impl Handler<Job> for Worker {
    async fn handle(&mut self, Job(n): Job, ctx: &mut Context<Self>) {
        // Give other tasks a chance so queues actually build up.
        tokio::task::yield_now().await;
        self.handled.send((ctx.id(), n)).unwrap();
    }
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}

impl Handler<Crash> for Worker {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("worker crashed on purpose");
    }
}

struct WhoAmI;
impl Message for WhoAmI {
    type Reply = ActorId;
}

impl Handler<WhoAmI> for Worker {
    async fn handle(&mut self, _: WhoAmI, ctx: &mut Context<Self>) -> ActorId {
        ctx.id()
    }
}

async fn pool(
    size: usize,
) -> (
    System,
    Pool<Worker>,
    mpsc::UnboundedReceiver<(ActorId, u64)>,
) {
    let system = System::new();
    let (tx, rx) = mpsc::unbounded_channel();
    let pool = Pool::builder(move || Worker {
        handled: tx.clone(),
    })
    .size(size)
    .spawn(&system)
    .await
    .unwrap();
    (system, pool, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resizing_under_load_loses_nothing() {
    let (_system, pool, mut handled) = pool(2).await;
    for n in 0..3_000 {
        pool.tell(Job(n)).await.unwrap();
    }
    pool.resize(5).await.unwrap();
    assert_eq!(pool.size(), 5);
    for n in 3_000..6_000 {
        pool.tell(Job(n)).await.unwrap();
    }
    pool.resize(1).await.unwrap();
    assert_eq!(pool.size(), 1);
    let last = pool.workers()[0].id();
    for n in 6_000..10_000 {
        pool.tell(Job(n)).await.unwrap();
    }
    // A graceful stop drains every worker, retired ones included.
    pool.stop();
    pool.wait_stopped().await;

    let mut seen = HashSet::new();
    let mut workers_mid = HashSet::new();
    while let Ok((id, n)) = handled.try_recv() {
        assert!(seen.insert(n), "job {n} handled twice");
        if (3_000..6_000).contains(&n) {
            workers_mid.insert(id);
        }
        if n >= 6_000 {
            assert_eq!(id, last, "job {n} went to a retired worker");
        }
    }
    assert_eq!(seen.len(), 10_000, "jobs were lost");
    assert_eq!(workers_mid.len(), 5);
}

#[tokio::test]
async fn a_crashed_worker_is_restarted_in_place() {
    let (_system, pool, _handled) = pool(2).await;
    let before: Vec<ActorId> = pool.workers().iter().map(ActorRef::id).collect();
    assert!(matches!(
        pool.ask(Crash).await,
        Err(AskError::Failed { .. })
    ));
    for _ in 0..4 {
        assert!(before.contains(&pool.ask(WhoAmI).await.unwrap()));
    }
    let after: Vec<ActorId> = pool.workers().iter().map(ActorRef::id).collect();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_killed_worker_is_replaced() {
    let (_system, pool, _handled) = pool(2).await;
    let victim = pool.workers()[0].clone();
    victim.kill();
    victim.wait_stopped().await;
    // The manager sees the Terminated notice (a signal) before this message.
    pool.resize(2).await.unwrap();
    let workers = pool.workers();
    assert_eq!(workers.len(), 2);
    assert!(workers
        .iter()
        .all(|w| w.id() != victim.id() && w.is_alive()));
    for _ in 0..4 {
        let id = pool.ask(WhoAmI).await.unwrap();
        assert!(workers.iter().any(|w| w.id() == id));
    }
}
