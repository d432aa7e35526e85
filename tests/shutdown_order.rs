//! `System::shutdown` stops every actor, children before their parents, each
//! after handling what is queued and running `on_stop` exactly once; from
//! then on nothing can be spawned.

mod support;

use std::pin::pin;

use proscenium::prelude::*;
use support::{gate, poll_once, Block, Record, Recorder, Stopped};
use tokio::sync::mpsc;

/// Spawns the children named in `tree` on start and waits until they are
/// up; reports its `on_stop`.
struct Member {
    name: String,
    tree: Vec<(String, Vec<String>)>,
    log: mpsc::UnboundedSender<String>,
}

impl Member {
    fn new(name: &str, log: &mpsc::UnboundedSender<String>) -> Self {
        Self {
            name: name.to_owned(),
            tree: Vec::new(),
            log: log.clone(),
        }
    }

    /// A member with children, each with the given grandchildren.
    fn with_children(mut self, children: &[(&str, &[&str])]) -> Self {
        self.tree = children
            .iter()
            .map(|(child, grandchildren)| {
                let grandchildren = grandchildren.iter().map(|g| (*g).to_owned()).collect();
                ((*child).to_owned(), grandchildren)
            })
            .collect();
        self
    }
}

impl Actor for Member {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        for (child, grandchildren) in std::mem::take(&mut self.tree) {
            let mut member = Member::new(&child, &self.log);
            member.tree = grandchildren.into_iter().map(|g| (g, Vec::new())).collect();
            // Wait until the child's own children are up, so the tree is
            // complete once the root has started.
            ctx.spawn(member)?.ask(Ready).await?;
        }
        Ok(())
    }

    async fn on_stop(&mut self, ctx: &mut Context<Self>, reason: &StopReason) {
        assert_eq!(reason, &StopReason::Normal);
        // Spawning is refused once shutdown has begun.
        let spawned = ctx.spawn(Member::new("late", &self.log)).map(|_| ());
        assert_eq!(spawned, Err(SpawnError::ShutDown));
        let _ = self.log.send(self.name.clone());
    }
}

struct Ready;
impl Message for Ready {
    type Reply = ();
}

impl Handler<Ready> for Member {
    async fn handle(&mut self, _: Ready, _ctx: &mut Context<Self>) {}
}

fn drain(log: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    let mut names = Vec::new();
    while let Ok(name) = log.try_recv() {
        names.push(name);
    }
    names
}

fn position(stops: &[String], name: &str) -> usize {
    let found: Vec<usize> = stops
        .iter()
        .enumerate()
        .filter(|(_, n)| n.as_str() == name)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "on_stop of {name} ran {} times",
        found.len()
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_every_actor_children_before_parents() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let left = Member::new("left", &tx).with_children(&[("l1", &["l1a", "l1b"]), ("l2", &[])]);
    let right = Member::new("right", &tx).with_children(&[("r1", &["r1a"])]);
    let single = Member::new("single", &tx);
    let roots = [
        system.spawn(left).unwrap(),
        system.spawn(right).unwrap(),
        system.spawn(single).unwrap(),
    ];
    for root in &roots {
        root.ask(Ready).await.unwrap();
    }
    assert_eq!(system.actor_count(), 9);

    system.shutdown().await;

    let stops = drain(&mut log);
    assert_eq!(stops.len(), 9, "{stops:?}");
    let before = |child: &str, parent: &str| {
        assert!(
            position(&stops, child) < position(&stops, parent),
            "{child} must stop before {parent}: {stops:?}"
        );
    };
    before("l1a", "l1");
    before("l1b", "l1");
    before("l1", "left");
    before("l2", "left");
    before("r1a", "r1");
    before("r1", "right");
    position(&stops, "single");
    assert_eq!(system.actor_count(), 0);
    for root in &roots {
        assert!(!root.is_alive());
    }
}

#[tokio::test]
async fn shutdown_handles_queued_messages_before_stopping() {
    let system = System::new();
    let (recorder, stopped) = Recorder::<8>::reporting();
    let actor = system.spawn(recorder).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();
    actor.tell(Record(2)).await.unwrap();

    let mut shutdown = pin!(system.shutdown());
    assert!(poll_once(shutdown.as_mut()).await.is_pending());
    control.open();
    shutdown.await;

    assert_eq!(
        stopped.await.unwrap(),
        Stopped {
            reason: StopReason::Normal,
            seen: vec![0, 1, 2],
        }
    );
}

#[tokio::test]
async fn spawn_after_shutdown_is_refused() {
    let system = System::new();
    system.spawn(Recorder::<8>::new()).unwrap();

    system.shutdown().await;

    assert!(system.is_shut_down());
    assert_eq!(
        system.spawn(Recorder::<8>::new()).unwrap_err(),
        SpawnError::ShutDown
    );
    assert_eq!(
        system
            .spawn_named("late", Recorder::<8>::new())
            .unwrap_err(),
        SpawnError::ShutDown
    );
    assert_eq!(system.actor_count(), 0);
}

#[tokio::test]
async fn shutdown_twice_is_harmless() {
    let system = System::new();
    let (recorder, stopped) = Recorder::<8>::reporting();
    system.spawn(recorder).unwrap();

    system.shutdown().await;
    system.shutdown().await;

    assert_eq!(stopped.await.unwrap().reason, StopReason::Normal);
}

#[tokio::test]
async fn shutdown_of_an_empty_system_returns() {
    let system = System::new();

    system.shutdown().await;

    assert!(system.is_shut_down());
}

/// Spawns a child from `on_stop`, after its own children were stopped, and
/// hands that child out.
struct LateParent {
    late_child: mpsc::UnboundedSender<ActorRef<Recorder<8>>>,
}

impl Actor for LateParent {
    async fn on_stop(&mut self, ctx: &mut Context<Self>, _reason: &StopReason) {
        let child = ctx.spawn(Recorder::<8>::new()).unwrap();
        let _ = self.late_child.send(child);
    }
}

#[tokio::test]
async fn shutdown_stops_a_child_spawned_in_a_parents_on_stop() {
    let system = System::new();
    let (tx, mut late_child) = mpsc::unbounded_channel();
    let parent = system.spawn(LateParent { late_child: tx }).unwrap();
    parent.stop();
    parent.wait_stopped().await;
    let child = late_child.recv().await.unwrap();

    system.shutdown().await;

    assert!(!child.is_alive());
    assert_eq!(system.actor_count(), 0);
}
