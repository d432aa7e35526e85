//! A supervision tree that keeps its work while its workers crash.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example supervision_tree
//! ```
//!
//! The tree, plus a pool beside it:
//!
//! ```text
//! root ─┬─ orders ─┬─ orders-1        (one-for-one, 100 restarts a minute)
//!       │          └─ orders-2
//!       └─ flaky ──── flaky-1         (one-for-one, at most 1 restart)
//! pool: 4 workers, round-robin, supervised by the pool
//! ```
//!
//! Every worker panics on jobs divisible by 25. A restart happens in place:
//! same ref, same mailbox, so every job already queued is still done; only
//! the job that crashed is dropped, and if it was asked for, the asker gets
//! `AskError::Failed` at once. `flaky` allows one restart: the second crash
//! escalates to `root`, which restarts the `flaky` subtree with a fresh
//! `flaky-1`. At the end the example checks that every job but the
//! crashing ones was done exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use proscenium::prelude::*;
use proscenium::WhichChildren;
use tokio::sync::mpsc;

/// Does jobs and reports each one it finishes on `done`.
struct Worker {
    name: String,
    done: mpsc::UnboundedSender<u32>,
}

impl Actor for Worker {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        println!("  {} started as {}", self.name, ctx.id());
        Ok(())
    }

    // Runs instead of `on_start` on a restart, with a fresh state from the factory.
    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        why: &StopReason,
    ) -> Result<(), ActorError> {
        println!("  {} restarted in place ({why})", self.name);
        Ok(())
    }
}

#[handlers]
impl Worker {
    /// Does job `id`; panics on multiples of 25.
    #[handler]
    async fn job(&mut self, id: u32) -> u32 {
        assert!(!id.is_multiple_of(25), "job {id} is poison");
        self.done.send(id).expect("main keeps the receiver");
        id
    }

    /// How often this worker has been restarted.
    #[handler]
    async fn restarts(&mut self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

/// The live worker `name` under supervisor `parent`. Asking the supervisor
/// first makes sure it has finished any restart of its children (it
/// handles no message meanwhile); `wait_started` covers only the first start.
async fn worker_of(
    system: &System,
    parent: &str,
    name: &str,
) -> Result<ActorRef<Worker>, Box<dyn std::error::Error>> {
    let supervisor = system
        .lookup::<Supervisor>(parent)
        .ok_or("no such supervisor")?;
    supervisor.ask(WhichChildren).await?;
    Ok(system.lookup::<Worker>(name).ok_or("no such worker")?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The crashes are on purpose and the restarts below report them, so
    // keep the default panic hook from printing each one.
    std::panic::set_hook(Box::new(|_| {}));
    let system = System::new();
    let (done, mut finished) = mpsc::unbounded_channel();
    let worker = |name: &str| {
        let (label, done) = (name.to_string(), done.clone());
        // The factory builds a fresh state for every (re)start.
        ChildSpec::new(move || Worker {
            name: label.clone(),
            done: done.clone(),
        })
        .name(name)
    };

    println!("starting the tree");
    let lenient = SupervisorStrategy::one_for_one().intensity(100, Duration::from_secs(60));
    let strict = SupervisorStrategy::one_for_one().intensity(1, Duration::from_secs(60));
    let orders = Supervisor::new(lenient)
        .child(worker("orders-1"))
        .child(worker("orders-2"));
    let flaky = Supervisor::new(strict).child(worker("flaky-1"));
    let root = Supervisor::new(lenient)
        .child(ChildSpec::new(move || orders.clone()).name("orders"))
        .child(ChildSpec::new(move || flaky.clone()).name("flaky"));
    let root = system.spawn(root)?;
    // The whole tree, every child of every supervisor, is up after this.
    root.wait_started().await?;

    println!("1. 200 jobs told to orders-1 and orders-2");
    let orders = [
        worker_of(&system, "orders", "orders-1").await?,
        worker_of(&system, "orders", "orders-2").await?,
    ];
    for id in 1..=200 {
        orders[id as usize % 2].tell_job(id).await?;
    }
    for (name, worker) in ["orders-1", "orders-2"].iter().zip(&orders) {
        // Queued behind every job, so answered once they are all handled.
        println!(
            "  {name}: {} restarts, same id {}",
            worker.restarts().await?,
            worker.id()
        );
    }

    println!("2. 100 jobs asked of a pool of 4");
    let pool = Pool::builder(move || Worker {
        name: "pool worker".into(),
        done: done.clone(),
    })
    .size(4)
    .supervisor_strategy(lenient)
    .spawn(&system)
    .await?;
    for id in 201..=300 {
        match pool.ask(Job { id }).await {
            Ok(_) => {}
            Err(AskError::Failed { reason }) => println!("  job {id} failed: {reason}"),
            Err(other) => return Err(other.into()),
        }
    }

    println!("3. flaky-1 crashes twice: flaky gives up, root restarts it");
    let old = worker_of(&system, "flaky", "flaky-1").await?;
    for id in [325, 350] {
        println!("  job {id}: {}", old.job(id).await.unwrap_err());
    }
    let ended = old.wait_stopped().await;
    let fresh = worker_of(&system, "flaky", "flaky-1").await?;
    println!(
        "  flaky-1 was {} ({ended}), is now {}",
        old.id(),
        fresh.id()
    );
    assert_ne!(
        old.id(),
        fresh.id(),
        "escalation restarts the subtree with fresh actors"
    );
    fresh.job(351).await?;

    // A graceful shutdown: every actor handles what is queued, then stops.
    system.shutdown().await;
    let mut times: BTreeMap<u32, u32> = BTreeMap::new();
    while let Ok(id) = finished.try_recv() {
        *times.entry(id).or_default() += 1;
    }
    let expected: Vec<u32> = (1..=300).filter(|id| id % 25 != 0).chain([351]).collect();
    assert_eq!(
        times.keys().copied().collect::<Vec<_>>(),
        expected,
        "a job was lost"
    );
    assert!(times.values().all(|&n| n == 1), "a job was done twice");
    println!(
        "{} jobs done exactly once; the 14 poison jobs were dropped",
        times.len()
    );
    Ok(())
}
