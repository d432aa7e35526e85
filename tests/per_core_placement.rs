//! `Placement::PerCore`: actors stay on the thread they were placed on
//! (children with their parent, top-level spawns round-robin, or the core
//! asked for), and every promise holds across threads: order per sender,
//! bounded mailboxes, asks, supervision, deadlock detection, timers.

mod support;

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::Placement;
use support::{Record, Recorder, Seen};

fn per_core(threads: usize) -> System {
    System::builder()
        .placement(Placement::PerCore { threads })
        .build()
}

/// Answers with the core its handler runs on, and spawns children on request.
#[derive(Default)]
struct Probe {
    fail_next: bool,
}
impl Actor for Probe {}

struct Where;
impl Message for Where {
    type Reply = Option<usize>;
}

impl Handler<Where> for Probe {
    async fn handle(&mut self, _: Where, ctx: &mut Context<Self>) -> Option<usize> {
        ctx.system().current_core()
    }
}

/// Spawns a child, on the given core or (with `None`) where the system places it.
struct SpawnChild(Option<usize>);
impl Message for SpawnChild {
    type Reply = Result<ActorRef<Probe>, SpawnError>;
}

impl Handler<SpawnChild> for Probe {
    async fn handle(
        &mut self,
        SpawnChild(core): SpawnChild,
        ctx: &mut Context<Self>,
    ) -> Result<ActorRef<Probe>, SpawnError> {
        match core {
            Some(core) => ctx.spawn_on(core, Probe::default()),
            None => ctx.spawn(Probe::default()),
        }
    }
}

/// Fails the handler: the actor's supervisor restarts it.
struct Fail;
impl Message for Fail {
    type Reply = ();
}

impl Handler<Fail> for Probe {
    async fn handle(&mut self, _: Fail, _: &mut Context<Self>) {
        self.fail_next = true;
        panic!("failing on purpose");
    }
}

/// The core the handler runs on, and how often the actor was restarted.
struct Restarts;
impl Message for Restarts {
    type Reply = (Option<usize>, u32);
}

impl Handler<Restarts> for Probe {
    async fn handle(&mut self, _: Restarts, ctx: &mut Context<Self>) -> (Option<usize>, u32) {
        (ctx.system().current_core(), ctx.restart_count())
    }
}

#[tokio::test]
async fn an_actor_runs_on_the_core_it_was_spawned_on() {
    let system = per_core(2);
    assert_eq!(system.cores(), 2);
    for core in [1, 0, 1] {
        let probe = system.spawn_on(core, Probe::default()).unwrap();
        assert_eq!(system.core_of(probe.id()), Some(core));
        assert_eq!(probe.ask(Where).await, Ok(Some(core)));
    }
    assert_eq!(
        system.current_core(),
        None,
        "the test is on none of its threads"
    );
    system.shutdown().await;
}

#[tokio::test]
async fn top_level_spawns_from_outside_go_round_robin() {
    let system = per_core(2);
    let mut per_core = [0; 2];
    for _ in 0..6 {
        let probe = system.spawn(Probe::default()).unwrap();
        let core = probe.ask(Where).await.unwrap().unwrap();
        assert_eq!(system.core_of(probe.id()), Some(core));
        per_core[core] += 1;
    }
    assert_eq!(per_core, [3, 3]);
    system.shutdown().await;
}

#[tokio::test]
async fn children_land_on_their_parents_core_unless_told_otherwise() {
    let system = per_core(2);
    let parent = system.spawn_on(1, Probe::default()).unwrap();
    for _ in 0..3 {
        let child = parent.ask(SpawnChild(None)).await.unwrap().unwrap();
        assert_eq!(system.core_of(child.id()), Some(1));
        assert_eq!(child.ask(Where).await, Ok(Some(1)));
        let grandchild = child.ask(SpawnChild(None)).await.unwrap().unwrap();
        assert_eq!(grandchild.ask(Where).await, Ok(Some(1)));
    }
    let moved = parent.ask(SpawnChild(Some(0))).await.unwrap().unwrap();
    assert_eq!(moved.ask(Where).await, Ok(Some(0)));
    assert_eq!(
        parent.ask(SpawnChild(Some(2))).await.unwrap(),
        Err(SpawnError::NoSuchCore { core: 2, cores: 2 })
    );
    system.shutdown().await;
}

#[tokio::test]
async fn spawn_on_names_only_cores_that_exist() {
    let system = per_core(2);
    assert_eq!(
        system.spawn_on(2, Probe::default()).err(),
        Some(SpawnError::NoSuchCore { core: 2, cores: 2 })
    );
    system.shutdown().await;

    let shared = System::new();
    assert_eq!(shared.cores(), 0);
    assert_eq!(
        shared.spawn_on(0, Probe::default()).err(),
        Some(SpawnError::NoSuchCore { core: 0, cores: 0 })
    );
    let probe = shared.spawn(Probe::default()).unwrap();
    assert_eq!(shared.core_of(probe.id()), None);
    assert_eq!(probe.ask(Where).await, Ok(None));
}

/// Tells `count` numbered records to `target`, in order, from its own core.
struct Flood;
impl Actor for Flood {}

struct FloodTo(ActorRef<Recorder<4>>, u64);
impl Message for FloodTo {
    type Reply = Result<(), SendError<Record>>;
}

impl Handler<FloodTo> for Flood {
    async fn handle(
        &mut self,
        FloodTo(target, count): FloodTo,
        _: &mut Context<Self>,
    ) -> Result<(), SendError<Record>> {
        for n in 0..count {
            target.tell(Record(n)).await?;
        }
        Ok(())
    }
}

#[tokio::test]
async fn sends_across_cores_keep_order_through_a_bounded_mailbox() {
    let system = per_core(2);
    // Four slots: the sender waits for room over and over, across threads.
    let recorder = system.spawn_on(1, Recorder::<4>::new()).unwrap();
    let floods: Vec<ActorRef<Flood>> = (0..2).map(|_| system.spawn_on(0, Flood).unwrap()).collect();
    let sent = floods
        .iter()
        .map(|flood| flood.ask(FloodTo(recorder.clone(), 2_000)));
    for result in futures_util::future::join_all(sent).await {
        assert_eq!(result, Ok(Ok(())));
    }
    let seen = recorder.ask(Seen).await.unwrap();
    assert_eq!(seen.len(), 4_000, "nothing lost");
    // Two senders interleave, but each one's records arrive in order: the
    // values of either are 0..2000 as a subsequence.
    let mut expected = [0u64; 2];
    for value in seen {
        let sender = expected.iter().position(|&next| next == value);
        let sender = sender.expect("each value is the next one of some sender");
        expected[sender] += 1;
    }
    assert_eq!(expected, [2_000, 2_000]);
    system.shutdown().await;
}

#[tokio::test]
async fn a_restarted_child_stays_on_its_core() {
    let system = per_core(2);
    let parent = system.spawn_on(1, Probe::default()).unwrap();
    let child = parent.ask(SpawnChild(None)).await.unwrap().unwrap();
    assert!(matches!(
        child.ask(Fail).await,
        Err(AskError::Failed { .. })
    ));
    assert_eq!(child.ask(Restarts).await, Ok((Some(1), 1)));
    assert_eq!(system.core_of(child.id()), Some(1));
    system.shutdown().await;
}

/// Forwards a call along a route, each node asking the next; the last
/// answers with the cores the route ran on.
struct Hop;
impl Actor for Hop {}

struct Call(Vec<ActorRef<Hop>>);
impl Message for Call {
    type Reply = Result<Vec<Option<usize>>, AskError>;
}

const NEVER: Duration = Duration::from_secs(3_600);

impl Handler<Call> for Hop {
    async fn handle(
        &mut self,
        Call(mut route): Call,
        ctx: &mut Context<Self>,
    ) -> Result<Vec<Option<usize>>, AskError> {
        let here = ctx.system().current_core();
        if route.is_empty() {
            return Ok(vec![here]);
        }
        let next = route.remove(0);
        let mut cores = next.ask_timeout(Call(route), NEVER).await??;
        cores.insert(0, here);
        Ok(cores)
    }
}

#[tokio::test]
async fn asks_cross_cores_and_come_back() {
    let system = per_core(2);
    let a = system.spawn_on(0, Hop).unwrap();
    let b = system.spawn_on(1, Hop).unwrap();
    let c = system.spawn_on(0, Hop).unwrap();
    let cores = a.ask(Call(vec![b, c])).await.unwrap();
    assert_eq!(cores, Ok(vec![Some(0), Some(1), Some(0)]));
    system.shutdown().await;
}

#[tokio::test]
async fn an_ask_cycle_across_cores_fails_with_deadlock() {
    let system = per_core(2);
    let a = system.spawn_on(0, Hop).unwrap();
    let b = system.spawn_on(1, Hop).unwrap();
    // a (core 0) asks b (core 1), which asks a back while a waits on it.
    let result = a
        .ask_timeout(Call(vec![b.clone(), a.clone()]), NEVER)
        .await
        .unwrap();
    assert_eq!(
        result,
        Err(AskError::Deadlock {
            cycle: vec![b.id(), a.id()]
        })
    );
    system.shutdown().await;
}

/// Reports, from its timer's message, the core the timer delivered on.
struct Alarm(Option<tokio::sync::oneshot::Sender<Option<usize>>>);
impl Actor for Alarm {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.send_after(Ring, Duration::from_millis(1));
        Ok(())
    }
}

#[derive(Clone)]
struct Ring;
impl Message for Ring {
    type Reply = ();
}

impl Handler<Ring> for Alarm {
    async fn handle(&mut self, _: Ring, ctx: &mut Context<Self>) {
        if let Some(report) = self.0.take() {
            let _ = report.send(ctx.system().current_core());
        }
    }
}

#[tokio::test]
async fn timers_fire_on_a_per_core_thread() {
    let system = per_core(2);
    let (report, rang) = tokio::sync::oneshot::channel();
    system.spawn_on(1, Alarm(Some(report))).unwrap();
    assert_eq!(rang.await, Ok(Some(1)));
    system.shutdown().await;
}

#[test]
fn a_per_core_system_needs_no_runtime_of_its_callers() {
    let system = per_core(2);
    let probe = system.spawn_on(1, Probe::default()).unwrap();
    assert_eq!(probe.blocking_ask(Where), Ok(Some(1)));
    // The last handle goes while an actor lives: nothing hangs or panics.
    drop(system);
    assert_eq!(probe.blocking_ask(Where), Ok(Some(1)));
}

#[test]
fn dropping_an_idle_per_core_system_does_not_hang() {
    let system = per_core(3);
    let probe = system.spawn(Probe::default()).unwrap();
    assert!(probe.blocking_ask(Where).unwrap().is_some());
    probe.stop();
    drop(probe);
    drop(system);
    drop(per_core(1));
}

#[tokio::test]
async fn a_pools_workers_spread_over_the_cores() {
    let system = per_core(2);
    let pool = Pool::builder(Probe::default)
        .size(4)
        .spawn(&system)
        .await
        .unwrap();
    let mut per_core = [0; 2];
    for worker in pool.workers() {
        let core = worker.ask(Where).await.unwrap().unwrap();
        assert_eq!(system.core_of(worker.id()), Some(core));
        per_core[core] += 1;
    }
    assert_eq!(per_core, [2, 2], "a pool runs in parallel");
    system.shutdown().await;
}
