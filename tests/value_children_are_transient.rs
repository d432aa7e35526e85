//! A child spawned from a value (`Context::spawn`) is transient: one that
//! stops itself is gone for good and costs its parent nothing, however many
//! do so in a row; one that fails is restarted in place, with its state.

mod support;

use proscenium::prelude::*;
use support::within;
use tokio::sync::mpsc;

/// Spawns short-lived workers from values, with the default strategy
/// (one-for-one, at most 3 restarts in 5 seconds).
struct Boss {
    restarted: mpsc::UnboundedSender<u32>,
}

impl Actor for Boss {}

struct Hire;
impl Message for Hire {
    type Reply = ActorRef<Worker>;
}

impl Handler<Hire> for Boss {
    async fn handle(&mut self, _: Hire, ctx: &mut Context<Self>) -> ActorRef<Worker> {
        let worker = Worker {
            handled: 0,
            restarted: self.restarted.clone(),
        };
        ctx.spawn(worker).expect("the system is running")
    }
}

struct Staff;
impl Message for Staff {
    type Reply = usize;
}

impl Handler<Staff> for Boss {
    async fn handle(&mut self, _: Staff, ctx: &mut Context<Self>) -> usize {
        ctx.children().count()
    }
}

/// Counts what it handled; reports each restart with that count.
struct Worker {
    handled: u32,
    restarted: mpsc::UnboundedSender<u32>,
}

impl Actor for Worker {
    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), ActorError> {
        let _ = self.restarted.send(self.handled);
        Ok(())
    }
}

/// The job is done: the worker stops itself.
struct Done;
impl Message for Done {
    type Reply = ();
}

impl Handler<Done> for Worker {
    async fn handle(&mut self, _: Done, ctx: &mut Context<Self>) {
        self.handled += 1;
        ctx.stop();
    }
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}

impl Handler<Crash> for Worker {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        self.handled += 1;
        panic!("worker crashed on purpose");
    }
}

struct Handled;
impl Message for Handled {
    type Reply = (u32, u32);
}

impl Handler<Handled> for Worker {
    async fn handle(&mut self, _: Handled, ctx: &mut Context<Self>) -> (u32, u32) {
        (self.handled, ctx.restart_count())
    }
}

fn boss(system: &System) -> (ActorRef<Boss>, mpsc::UnboundedReceiver<u32>) {
    let (restarted, restarts) = mpsc::unbounded_channel();
    (system.spawn(Boss { restarted }).unwrap(), restarts)
}

#[tokio::test]
async fn value_children_that_stop_themselves_are_not_restarted() {
    let system = System::new();
    let (boss, mut restarts) = boss(&system);
    // More self-stops than the default intensity allows restarts (3 in
    // 5 seconds): were they restarted, the fourth would fail the boss.
    let mut workers = Vec::new();
    for _ in 0..5 {
        workers.push(boss.ask(Hire).await.unwrap());
    }
    for worker in &workers {
        worker.tell(Done).await.unwrap();
    }
    for worker in &workers {
        let reason = within("a worker to stop itself", worker.wait_stopped()).await;
        assert_eq!(reason, StopReason::Normal);
    }

    assert_eq!(
        boss.ask(Staff).await,
        Ok(0),
        "the boss is up, with no workers"
    );
    assert!(boss.is_alive());
    assert_eq!(restarts.try_recv().ok(), None, "a worker was restarted");
}

#[tokio::test]
async fn a_value_child_that_fails_is_restarted_with_its_state() {
    let system = System::new();
    let (boss, mut restarts) = boss(&system);
    let worker = boss.ask(Hire).await.unwrap();

    assert!(matches!(
        worker.ask(Crash).await,
        Err(AskError::Failed { .. })
    ));
    assert_eq!(within("the restart", restarts.recv()).await, Some(1));
    // Same actor, same state, one restart later.
    assert_eq!(worker.ask(Handled).await, Ok((1, 1)));
    assert_eq!(boss.ask(Staff).await, Ok(1));

    // Once restarted it is still transient: stopping itself is final.
    worker.tell(Done).await.unwrap();
    let reason = within("the worker to stop itself", worker.wait_stopped()).await;
    assert_eq!(reason, StopReason::Normal);
    assert_eq!(boss.ask(Staff).await, Ok(0));
    assert_eq!(
        restarts.try_recv().ok(),
        None,
        "restarted after stopping itself"
    );
}
