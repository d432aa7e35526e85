//! Each pool router sends each message where it promises to.

use std::collections::{HashMap, HashSet};

use proscenium::prelude::*;
use proscenium::{Broadcast, ConsistentHash, Keyed, LeastLoaded, Pool};
use tokio::sync::{mpsc, oneshot};

/// Reports every job it handles with its own id.
#[derive(Clone)]
struct Worker {
    handled: mpsc::UnboundedSender<(ActorId, u64)>,
}

impl Actor for Worker {}

#[derive(Clone)]
struct Job(u64);
impl Message for Job {
    type Reply = ();
}

impl Handler<Job> for Worker {
    async fn handle(&mut self, Job(n): Job, ctx: &mut Context<Self>) {
        self.handled.send((ctx.id(), n)).unwrap();
    }
}

#[derive(Clone)]
struct WhoAmI;
impl Message for WhoAmI {
    type Reply = ActorId;
}

impl Handler<WhoAmI> for Worker {
    async fn handle(&mut self, _: WhoAmI, ctx: &mut Context<Self>) -> ActorId {
        ctx.id()
    }
}

/// Blocks the worker until the gate opens; reports when it starts waiting.
struct Hold {
    started: oneshot::Sender<()>,
    gate: oneshot::Receiver<()>,
}
impl Message for Hold {
    type Reply = ();
}

impl Handler<Hold> for Worker {
    async fn handle(&mut self, hold: Hold, _: &mut Context<Self>) {
        hold.started.send(()).unwrap();
        let _ = hold.gate.await;
    }
}

struct AccountJob {
    account: String,
    n: u64,
}
impl Message for AccountJob {
    type Reply = ();
}
impl Keyed for AccountJob {
    type Key = str;
    fn key(&self) -> &str {
        &self.account
    }
}

impl Handler<AccountJob> for Worker {
    async fn handle(&mut self, job: AccountJob, ctx: &mut Context<Self>) {
        self.handled.send((ctx.id(), job.n)).unwrap();
    }
}

fn worker() -> (
    impl Fn() -> Worker + Send + Sync + 'static,
    mpsc::UnboundedReceiver<(ActorId, u64)>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    (
        move || Worker {
            handled: tx.clone(),
        },
        rx,
    )
}

async fn take(
    rx: &mut mpsc::UnboundedReceiver<(ActorId, u64)>,
    count: usize,
) -> HashMap<u64, ActorId> {
    let mut seen = HashMap::new();
    for _ in 0..count {
        let (id, n) = rx.recv().await.unwrap();
        assert!(seen.insert(n, id).is_none(), "job {n} handled twice");
    }
    seen
}

#[tokio::test]
async fn round_robin_takes_turns() {
    let system = System::new();
    let (factory, mut handled) = worker();
    let pool = Pool::builder(factory).size(3).spawn(&system).await.unwrap();
    let workers: Vec<ActorId> = pool.workers().iter().map(ActorRef::id).collect();
    for n in 0..9 {
        pool.tell(Job(n)).await.unwrap();
    }
    let seen = take(&mut handled, 9).await;
    for n in 0..9 {
        assert_eq!(seen[&n], workers[n as usize % 3], "job {n}");
    }
}

#[tokio::test]
async fn least_loaded_avoids_the_busy_worker() {
    let system = System::new();
    let (factory, mut handled) = worker();
    let pool = Pool::builder(factory)
        .size(3)
        .router(LeastLoaded::default())
        .spawn(&system)
        .await
        .unwrap();
    let busy = pool.workers()[0].clone();
    let (started_tx, started) = oneshot::channel();
    let (open, gate) = oneshot::channel();
    busy.tell(Hold {
        started: started_tx,
        gate,
    })
    .await
    .unwrap();
    started.await.unwrap();
    busy.tell(Job(1)).await.unwrap();
    busy.tell(Job(2)).await.unwrap();
    assert_eq!(busy.mailbox_len(), 2);

    for n in 10..16 {
        pool.tell(Job(n)).await.unwrap();
    }
    let seen = take(&mut handled, 6).await;
    assert!(seen.values().all(|id| *id != busy.id()), "{seen:?}");
    open.send(()).unwrap();
    assert_eq!(
        take(&mut handled, 2)
            .await
            .into_keys()
            .collect::<HashSet<_>>(),
        HashSet::from([1, 2])
    );
}

#[tokio::test]
async fn consistent_hash_keeps_a_key_on_one_worker() {
    let system = System::new();
    let (factory, mut handled) = worker();
    let pool = Pool::builder(factory)
        .size(4)
        .router(ConsistentHash)
        .spawn(&system)
        .await
        .unwrap();
    let accounts: Vec<String> = (0..20).map(|i| format!("account-{i}")).collect();
    let mut n = 0;
    for round in 0..5 {
        for account in &accounts {
            pool.tell(AccountJob {
                account: account.clone(),
                n,
            })
            .await
            .unwrap();
            n += 1;
            let _ = round;
        }
    }
    let seen = take(&mut handled, 100).await;
    let mut worker_of_account: HashMap<usize, ActorId> = HashMap::new();
    for (job, id) in &seen {
        let account = *job as usize % accounts.len();
        let first = *worker_of_account.entry(account).or_insert(*id);
        assert_eq!(first, *id, "account {account} moved between workers");
    }
    let used: HashSet<_> = worker_of_account.values().collect();
    assert!(used.len() > 1, "all keys landed on one worker");
}

#[tokio::test]
async fn broadcast_reaches_every_worker() {
    let system = System::new();
    let (factory, mut handled) = worker();
    let pool = Pool::builder(factory)
        .size(3)
        .router(Broadcast)
        .spawn(&system)
        .await
        .unwrap();
    pool.tell(Job(7)).await.unwrap();
    let mut receivers = HashSet::new();
    for _ in 0..3 {
        let (id, n) = handled.recv().await.unwrap();
        assert_eq!(n, 7);
        receivers.insert(id);
    }
    let workers: HashSet<ActorId> = pool.workers().iter().map(ActorRef::id).collect();
    assert_eq!(receivers, workers);
    // An ask goes to all; the first reply wins.
    let replier = pool.ask(WhoAmI).await.unwrap();
    assert!(workers.contains(&replier));
}
