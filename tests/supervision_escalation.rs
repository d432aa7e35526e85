//! Past its restart intensity a supervisor fails and its own supervisor
//! restarts it, and with it exactly its subtree.

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, Supervisor, SupervisorStrategy, WhichChildren};
use tokio::sync::mpsc;

/// A leaf worker that reports each start (name and id) and can crash.
struct Leaf {
    name: &'static str,
    started: mpsc::UnboundedSender<(&'static str, ActorId)>,
}

impl Actor for Leaf {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        self.started.send((self.name, ctx.id())).unwrap();
        Ok(())
    }
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}

impl Handler<Crash> for Leaf {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("{} crashed", self.name);
    }
}

fn leaf(
    name: &'static str,
    started: &mpsc::UnboundedSender<(&'static str, ActorId)>,
) -> ChildSpec<Leaf> {
    let started = started.clone();
    ChildSpec::new(move || Leaf {
        name,
        started: started.clone(),
    })
    .name(name)
}

fn lookup(system: &System, name: &str) -> ActorRef<Leaf> {
    system.lookup::<Leaf>(name).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_level_tree_restarts_the_right_subtree() {
    let system = System::new();
    let (tx, mut started) = mpsc::unbounded_channel();
    // root ─┬─ mid-1 (at most 1 restart) ─┬─ leaf-1
    //       │                             └─ leaf-2
    //       └─ mid-2 ──────────────────────── leaf-3
    let mid_1 =
        Supervisor::new(SupervisorStrategy::one_for_one().intensity(1, Duration::from_secs(3_600)))
            .child(leaf("leaf-1", &tx))
            .child(leaf("leaf-2", &tx));
    let mid_2 = Supervisor::new(SupervisorStrategy::one_for_one()).child(leaf("leaf-3", &tx));
    let root = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(ChildSpec::new(move || mid_1.clone()).name("mid-1"))
        .child(ChildSpec::new(move || mid_2.clone()).name("mid-2"));
    let root = system.spawn(root).unwrap();
    let mids = root.ask(WhichChildren).await.unwrap();
    let mut first: Vec<_> = Vec::new();
    for _ in 0..3 {
        first.push(started.recv().await.unwrap());
    }
    first.sort();
    let first_ids: Vec<ActorId> = first.iter().map(|(_, id)| *id).collect();

    // First crash: mid-1 restarts leaf-1 in place (same id).
    let leaf_1 = lookup(&system, "leaf-1");
    assert!(matches!(
        leaf_1.ask(Crash).await,
        Err(AskError::Failed { .. })
    ));
    assert_eq!(started.recv().await.unwrap(), ("leaf-1", leaf_1.id()));

    // Second crash exceeds mid-1's intensity: root restarts mid-1, which
    // starts fresh leaves with new ids. mid-2's subtree is untouched.
    assert!(matches!(
        leaf_1.ask(Crash).await,
        Err(AskError::Failed { .. })
    ));
    let mut restarted = vec![started.recv().await.unwrap(), started.recv().await.unwrap()];
    restarted.sort();
    assert_eq!(
        restarted.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        ["leaf-1", "leaf-2"]
    );
    for (_, id) in &restarted {
        assert!(!first_ids.contains(id), "{id} should be a new actor");
    }
    assert_eq!(lookup(&system, "leaf-3").id(), first_ids[2]);
    assert_eq!(
        root.ask(WhichChildren).await.unwrap(),
        mids,
        "root restarted mid-1 in place"
    );
    // The old leaf-1 ended failed: its second crash was never restarted.
    assert!(
        matches!(leaf_1.wait_stopped().await, StopReason::Failed(why) if why.message().contains("leaf-1 crashed"))
    );
    assert!(started.try_recv().is_err());
    system.shutdown().await;
}
