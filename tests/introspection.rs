//! `System::snapshot` shows exactly the tree that runs: parents, names,
//! kinds, states and counts, before and after a restart.

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ActorKind, ActorState, SystemSnapshot, WhichChildren};
use tokio::sync::oneshot;

/// A child that counts, can be made to crash, and can be held inside a
/// handler while messages queue up behind it.
#[derive(Default)]
struct Worker;

impl Actor for Worker {}

struct Ping;
impl Message for Ping {
    type Reply = ();
}
impl Handler<Ping> for Worker {
    async fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}
impl Handler<Crash> for Worker {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("crashed on purpose");
    }
}

/// Holds the worker in its handler: says so on `entered`, returns once
/// `release` fires.
struct Hold {
    entered: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}
impl Message for Hold {
    type Reply = ();
}
impl Handler<Hold> for Worker {
    async fn handle(&mut self, hold: Hold, _: &mut Context<Self>) {
        let _ = hold.entered.send(());
        let _ = hold.release.await;
    }
}

/// Starts a timer that will not fire during the test.
struct ArmTimer;
impl Message for ArmTimer {
    type Reply = ();
}
impl Handler<ArmTimer> for Worker {
    async fn handle(&mut self, _: ArmTimer, ctx: &mut Context<Self>) {
        ctx.send_after(Ping, Duration::from_secs(3_600));
    }
}

/// Holds `worker` inside a handler; it goes on when the sender fires.
async fn held(worker: &ActorRef<Worker>) -> oneshot::Sender<()> {
    let (entered, entered_rx) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    let hold = Hold {
        entered,
        release: release_rx,
    };
    worker.tell(hold).await.unwrap();
    entered_rx.await.unwrap();
    release
}

fn tree_of(snapshot: &SystemSnapshot) -> Vec<(String, Vec<String>)> {
    snapshot
        .tree()
        .iter()
        .map(|root| {
            let children = root
                .children
                .iter()
                .map(|child| child.actor.names.join(","))
                .collect();
            (root.actor.names.join(","), children)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_of_a_known_tree_matches_it() {
    let system = System::new();
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(ChildSpec::new(|| Worker).name("first"))
        .child(ChildSpec::new(|| Worker).name("second"));
    let supervisor = system.spawn_named("app", supervisor).unwrap();
    supervisor.wait_started().await.unwrap();
    let pool = Pool::builder(|| Worker)
        .size(3)
        .spawn(&system)
        .await
        .unwrap();
    let first = system.lookup::<Worker>("first").unwrap();
    let second = system.lookup::<Worker>("second").unwrap();
    for _ in 0..5 {
        first.tell(Ping).await.unwrap();
    }
    first.ask(ArmTimer).await.unwrap();

    let snapshot = system.snapshot();
    assert_eq!(snapshot.node, system.node_id());
    assert_eq!((snapshot.actors_spawned, snapshot.dead_letters), (7, 0));
    assert_eq!(snapshot.actors.len(), 1 + 2 + 1 + 3, "{snapshot}");
    assert_eq!(
        tree_of(&snapshot),
        vec![
            (
                "app".to_owned(),
                vec!["first".to_owned(), "second".to_owned()]
            ),
            (String::new(), vec![String::new(); 3]),
        ],
        "{snapshot}"
    );
    let app = snapshot.named("app").unwrap();
    assert_eq!(
        (app.id, app.parent, app.kind),
        (supervisor.id(), None, ActorKind::Actor)
    );
    assert_eq!(app.short_type(), "Supervisor");
    let first_seen = snapshot.actor(first.id()).unwrap();
    assert_eq!(first_seen.parent, Some(supervisor.id()));
    assert_eq!(first_seen.short_type(), "Worker");
    assert_eq!(first_seen.messages_handled, 6, "five tells and one ask");
    assert_eq!(first_seen.timers, 1);
    assert_eq!(first_seen.restarts, 0);
    assert_eq!(snapshot.actor(second.id()).unwrap().messages_handled, 0);
    assert!(snapshot
        .actors
        .iter()
        .all(|actor| actor.state == ActorState::Running && actor.mailbox_len == 0));

    let pools: Vec<_> = snapshot.pools().collect();
    assert_eq!(pools.len(), 1);
    let (manager, workers) = &pools[0];
    assert_eq!(manager.kind, ActorKind::Pool);
    let mut seen: Vec<_> = workers.iter().map(|worker| worker.id).collect();
    let mut expected: Vec<_> = pool.workers().iter().map(ActorRef::id).collect();
    seen.sort();
    expected.sort();
    assert_eq!(seen, expected);
    system.shutdown().await;
    assert!(system.snapshot().actors.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_tree_and_is_counted() {
    let system = System::new();
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(ChildSpec::new(|| Worker).name("worker"));
    let supervisor = system.spawn(supervisor).unwrap();
    let children = supervisor.ask(WhichChildren).await.unwrap();
    let worker = system.lookup::<Worker>("worker").unwrap();
    let before = system.snapshot();

    worker.tell(Crash).await.unwrap();
    // Handled after the restart: its reply says the restart is done.
    worker.ask(Ping).await.unwrap();

    let after = system.snapshot();
    assert_eq!(supervisor.ask(WhichChildren).await.unwrap(), children);
    assert_eq!(
        tree_of(&after),
        tree_of(&before),
        "same tree after a restart"
    );
    let seen = after
        .actor(worker.id())
        .expect("restarted in place, same id");
    assert_eq!(seen.restarts, 1);
    assert_eq!(seen.state, ActorState::Running);
    assert_eq!(seen.messages_handled, 2, "the crash and the ping");
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_show_as_mailbox_depth() {
    let system = System::new();
    let worker = system.spawn(Worker).unwrap();
    let release = held(&worker).await;
    for _ in 0..4 {
        worker.tell(Ping).await.unwrap();
    }
    let seen = system.snapshot().actor(worker.id()).cloned().unwrap();
    assert_eq!((seen.mailbox_len, seen.messages_handled), (4, 1));
    release.send(()).unwrap();
    worker.ask(Ping).await.unwrap();
    let seen = system.snapshot().actor(worker.id()).cloned().unwrap();
    assert_eq!((seen.mailbox_len, seen.messages_handled), (0, 6));
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_actor_shows_as_stopping() {
    let system = System::new();
    let worker = system.spawn(Worker).unwrap();
    let release = held(&worker).await;
    worker.stop();
    assert_eq!(
        system.snapshot().actor(worker.id()).unwrap().state,
        ActorState::Stopping
    );
    release.send(()).unwrap();
    worker.wait_stopped().await;
    let snapshot = system.snapshot();
    assert!(snapshot.actor(worker.id()).is_none());
    assert_eq!(snapshot.dead_letters, 0);
    assert!(worker.tell(Ping).await.is_err());
    proscenium::runtime::remote::publish_dead_letter(
        &system,
        proscenium::DeadLetter {
            recipient: worker.id(),
            message_type: "Ping",
            reason: StopReason::Normal,
            possibly_delivered: false,
        },
    );
    assert_eq!(system.snapshot().dead_letters, 1);
}
