//! Deferred replies: a handler takes its reply with `ctx.defer_reply()`
//! and answers later, from a spawned task or a later message, while its
//! actor goes on handling other messages. The asker gets the value as from
//! a returned reply (locally, from another node, in `ask_all`); a handle
//! dropped unanswered, also with the actor that kept it, fails the asker
//! with a typed error instead of leaving it hanging.

mod support_cluster;

use std::time::Duration;

use proscenium::net::{Node, Registry, RemoteMessage};
use proscenium::prelude::*;
use proscenium::{ask_all, ChildSpec, DeferredReply};
use serde::{Deserialize, Serialize};
use support_cluster::within;
use tokio::sync::oneshot;

/// Far longer than any test: an ask that hangs fails on the hang guard.
const LONG: Duration = Duration::from_secs(120);

/// Keeps the replies of `Park` asks until a `Release` answers them.
#[derive(Default)]
struct Keeper {
    parked: Vec<DeferredReply<u64>>,
}
impl Actor for Keeper {}

/// Answered by the next `Release`, not by its own handler.
#[derive(Serialize, Deserialize)]
struct Park;
impl Message for Park {
    type Reply = u64;
}
impl RemoteMessage for Park {
    const TAG: &'static str = "tests::deferred_reply::Park";
}
impl Handler<Park> for Keeper {
    async fn handle(&mut self, _: Park, ctx: &mut Context<Self>) -> u64 {
        self.parked.push(ctx.defer_reply());
        0
    }
}

/// Answers every parked ask with its value plus its place in line; replies
/// how many there were.
#[derive(Serialize, Deserialize)]
struct Release(u64);
impl Message for Release {
    type Reply = usize;
}
impl RemoteMessage for Release {
    const TAG: &'static str = "tests::deferred_reply::Release";
}
impl Handler<Release> for Keeper {
    async fn handle(&mut self, Release(value): Release, _: &mut Context<Self>) -> usize {
        let parked = std::mem::take(&mut self.parked);
        let count = parked.len();
        for (i, reply) in parked.into_iter().enumerate() {
            reply.send(value + i as u64);
        }
        count
    }
}

/// Takes the reply and drops it.
#[derive(Serialize, Deserialize)]
struct Forget;
impl Message for Forget {
    type Reply = u64;
}
impl RemoteMessage for Forget {
    const TAG: &'static str = "tests::deferred_reply::Forget";
}
impl Handler<Forget> for Keeper {
    async fn handle(&mut self, _: Forget, ctx: &mut Context<Self>) -> u64 {
        drop(ctx.defer_reply::<u64>());
        0
    }
}

/// Answered by a spawned task once the test sends the value.
struct FromTask(oneshot::Receiver<u64>);
impl Message for FromTask {
    type Reply = u64;
}
impl Handler<FromTask> for Keeper {
    async fn handle(&mut self, FromTask(value): FromTask, ctx: &mut Context<Self>) -> u64 {
        let reply = ctx.defer_reply();
        tokio::spawn(async move {
            if let Ok(value) = value.await {
                reply.send(value);
            }
        });
        0
    }
}

/// How many replies are parked; also shows the actor is not stalled.
struct Parked;
impl Message for Parked {
    type Reply = usize;
}
impl Handler<Parked> for Keeper {
    async fn handle(&mut self, _: Parked, _: &mut Context<Self>) -> usize {
        self.parked.len()
    }
}

/// Defers with the wrong reply type: a programming error.
struct WrongType;
impl Message for WrongType {
    type Reply = u64;
}
impl Handler<WrongType> for Keeper {
    async fn handle(&mut self, _: WrongType, ctx: &mut Context<Self>) -> u64 {
        let _ = ctx.defer_reply::<String>();
        0
    }
}

/// Fails the keeper.
struct Crash;
impl Message for Crash {
    type Reply = ();
}
impl Handler<Crash> for Keeper {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("asked to crash");
    }
}

/// Deferred from the handler of a tell: nobody to answer.
struct Told(oneshot::Sender<bool>);
impl Message for Told {
    type Reply = u64;
}
impl Handler<Told> for Keeper {
    async fn handle(&mut self, Told(has_asker): Told, ctx: &mut Context<Self>) -> u64 {
        let reply = ctx.defer_reply::<u64>();
        let _ = has_asker.send(reply.has_asker());
        reply.send(1);
        0
    }
}

/// Asks `Park` of its keeper, for the deadlock test.
struct Client {
    keeper: ActorRef<Keeper>,
}
impl Actor for Client {}

struct Wait;
impl Message for Wait {
    type Reply = Result<u64, AskError>;
}
impl Handler<Wait> for Client {
    async fn handle(&mut self, _: Wait, _: &mut Context<Self>) -> Result<u64, AskError> {
        self.keeper.ask_timeout(Park, LONG).await
    }
}

#[derive(Serialize, Deserialize)]
struct Ping;
impl Message for Ping {
    type Reply = ();
}
impl RemoteMessage for Ping {
    const TAG: &'static str = "tests::deferred_reply::Ping";
}
impl Handler<Ping> for Client {
    async fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

/// Makes the keeper ask `client` from inside a handler.
struct AskBack(ActorRef<Client>);
impl Message for AskBack {
    type Reply = Result<(), AskError>;
}
impl Handler<AskBack> for Keeper {
    async fn handle(
        &mut self,
        AskBack(client): AskBack,
        _: &mut Context<Self>,
    ) -> Result<(), AskError> {
        client.ask_timeout(Ping, LONG).await
    }
}

/// Waits until `keeper` holds `n` parked replies (asks are handled in
/// order, so a `Parked` after them sees them).
async fn parked(keeper: &ActorRef<Keeper>, n: usize) {
    within("the parks", async {
        while keeper.ask(Parked).await.expect("ask Parked") < n {
            tokio::task::yield_now().await;
        }
    })
    .await;
}

#[tokio::test]
async fn a_later_message_answers_a_parked_ask_and_the_actor_is_not_stalled_meanwhile() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    let first = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.ask_timeout(Park, LONG).await }
    });
    let second = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.ask_timeout(Park, LONG).await }
    });
    // Both handlers returned: the keeper answers other asks meanwhile.
    parked(&keeper, 2).await;
    assert!(!first.is_finished() && !second.is_finished());
    assert_eq!(keeper.ask(Release(10)).await, Ok(2));
    let mut answers = vec![
        within("first", first).await.expect("task").expect("reply"),
        within("second", second)
            .await
            .expect("task")
            .expect("reply"),
    ];
    answers.sort_unstable();
    assert_eq!(answers, vec![10, 11]);
    system.shutdown().await;
}

#[tokio::test]
async fn a_spawned_task_answers_after_the_handler_returned() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    let (value, rx) = oneshot::channel();
    let ask = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.ask_timeout(FromTask(rx), LONG).await }
    });
    // The keeper answers another ask first: its handler is done.
    assert_eq!(keeper.ask(Parked).await, Ok(0));
    value.send(42).expect("the task waits for the value");
    assert_eq!(within("the reply", ask).await.expect("task"), Ok(42));
    system.shutdown().await;
}

#[tokio::test]
async fn a_dropped_handle_fails_the_asker_with_unanswered() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    assert_eq!(
        within("the ask", keeper.ask_timeout(Forget, LONG)).await,
        Err(AskError::Unanswered)
    );
    // So does a task that gives up without answering.
    let (value, rx) = oneshot::channel::<u64>();
    drop(value);
    assert_eq!(
        within("the ask", keeper.ask_timeout(FromTask(rx), LONG)).await,
        Err(AskError::Unanswered)
    );
    system.shutdown().await;
}

#[tokio::test]
async fn parked_replies_fail_when_the_keeper_stops() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    let ask = tokio::spawn({
        let keeper = keeper.clone();
        async move { keeper.ask_timeout(Park, LONG).await }
    });
    parked(&keeper, 1).await;
    keeper.stop();
    assert_eq!(
        within("the parked ask", ask).await.expect("task"),
        Err(AskError::Unanswered)
    );
    system.shutdown().await;
}

/// Spawns a keeper under a parent, rebuilt by a factory on restart or not.
struct Parent {
    fresh_on_restart: bool,
    child: Option<ActorRef<Keeper>>,
}
impl Actor for Parent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        let child = if self.fresh_on_restart {
            ctx.spawn_with(ChildSpec::new(Keeper::default))?
        } else {
            ctx.spawn(Keeper::default())?
        };
        self.child = Some(child);
        Ok(())
    }
}
struct Child;
impl Message for Child {
    type Reply = Option<ActorRef<Keeper>>;
}
impl Handler<Child> for Parent {
    async fn handle(&mut self, _: Child, _: &mut Context<Self>) -> Option<ActorRef<Keeper>> {
        self.child.clone()
    }
}

async fn keeper_under_parent(system: &System, fresh_on_restart: bool) -> ActorRef<Keeper> {
    let parent = system
        .spawn(Parent {
            fresh_on_restart,
            child: None,
        })
        .expect("spawn");
    parent
        .ask(Child)
        .await
        .expect("ask the parent")
        .expect("the parent has its child")
}

#[tokio::test]
async fn a_restart_with_fresh_state_fails_parked_replies_and_one_that_keeps_state_keeps_them() {
    let system = System::new();

    // Rebuilt by a factory: the old state, and the replies in it, are dropped.
    let fresh = keeper_under_parent(&system, true).await;
    let ask = tokio::spawn({
        let keeper = fresh.clone();
        async move { keeper.ask_timeout(Park, LONG).await }
    });
    parked(&fresh, 1).await;
    fresh.tell(Crash).await.expect("tell Crash");
    assert_eq!(
        within("the parked ask", ask).await.expect("task"),
        Err(AskError::Unanswered)
    );
    assert_eq!(fresh.ask(Parked).await, Ok(0), "restarted with fresh state");

    // Spawned from a value: the state survives the restart, and so do the
    // replies it holds, which a later message still answers.
    let kept = keeper_under_parent(&system, false).await;
    let ask = tokio::spawn({
        let keeper = kept.clone();
        async move { keeper.ask_timeout(Park, LONG).await }
    });
    parked(&kept, 1).await;
    kept.tell(Crash).await.expect("tell Crash");
    assert_eq!(kept.ask(Release(5)).await, Ok(1));
    assert_eq!(within("the parked ask", ask).await.expect("task"), Ok(5));
    system.shutdown().await;
}

#[tokio::test]
async fn deferring_the_wrong_reply_type_fails_the_handler() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    match keeper.ask_timeout(WrongType, LONG).await {
        Err(AskError::Failed { reason }) => assert!(
            reason.contains("defer_reply::<alloc::string::String>()"),
            "{reason}"
        ),
        other => panic!("expected a failure, got {other:?}"),
    }
    system.shutdown().await;
}

#[tokio::test]
async fn a_reply_deferred_by_a_tell_answers_nobody() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    let (has_asker, answer) = oneshot::channel();
    keeper.tell(Told(has_asker)).await.expect("tell");
    assert_eq!(within("the tell", answer).await, Ok(false));
    let (has_asker, answer) = oneshot::channel();
    let reply = within("the ask", keeper.ask_timeout(Told(has_asker), LONG)).await;
    assert_eq!(answer.await, Ok(true));
    assert_eq!(reply, Ok(1));
    system.shutdown().await;
}

#[tokio::test]
async fn ask_all_and_ask_timeout_take_deferred_replies() {
    let system = System::new();
    let keepers: Vec<_> = (0..3)
        .map(|_| system.spawn(Keeper::default()).expect("spawn"))
        .collect();
    let batch = tokio::spawn({
        let keepers = keepers.clone();
        async move { ask_all(keepers.iter().map(|k| (k, Park))).await }
    });
    for (i, keeper) in keepers.iter().enumerate() {
        parked(keeper, 1).await;
        assert_eq!(keeper.ask(Release(100 * i as u64)).await, Ok(1));
    }
    assert_eq!(
        within("the batch", batch).await.expect("task"),
        vec![Ok(0), Ok(100), Ok(200)]
    );

    // A deadline that passes before the answer: `Timeout`; the late
    // answer goes nowhere, and the keeper carries on.
    let keeper = &keepers[0];
    let short = Duration::from_millis(10);
    assert_eq!(
        keeper.ask_timeout(Park, short).await,
        Err(AskError::Timeout(short))
    );
    assert_eq!(keeper.ask(Release(1)).await, Ok(1));
    system.shutdown().await;
}

#[tokio::test]
async fn a_cycle_through_a_deferred_reply_is_a_deadlock() {
    let system = System::new();
    let keeper = system.spawn(Keeper::default()).expect("spawn");
    let client = system
        .spawn(Client {
            keeper: keeper.clone(),
        })
        .expect("spawn");
    // The client waits in its handler on the keeper's deferred reply ...
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.ask_timeout(Wait, LONG).await }
    });
    parked(&keeper, 1).await;
    // ... so the keeper asking the client back can never be answered
    // while the keeper holds that reply.
    assert_eq!(
        within("the ask back", keeper.ask(AskBack(client.clone()))).await,
        Ok(Err(AskError::Deadlock {
            cycle: vec![keeper.id(), client.id()]
        }))
    );
    assert_eq!(keeper.ask(Release(3)).await, Ok(1));
    assert_eq!(
        within("the client", waiting).await.expect("task"),
        Ok(Ok(3))
    );
    system.shutdown().await;
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Keeper, Park>()
        .handler::<Keeper, Release>()
        .handler::<Keeper, Forget>()
        .handler::<Client, Ping>();
    registry
}

async fn node(name: &str) -> Node {
    Node::builder(name)
        .secret(b"deferred replies: a 32-byte cluster secret".to_vec())
        .registry(registry())
        .listen("127.0.0.1:0".parse().expect("a loopback address"))
        .start()
        .await
        .expect("start a node")
}

#[tokio::test]
async fn a_deferred_reply_crosses_the_wire_and_so_does_its_absence() {
    let (a, b) = (node("a").await, node("b").await);
    let b_addr = b.local_addr().expect("b listens");
    let b_id = within("connect", a.connect(b_addr)).await.expect("connect");
    let local = b.system().spawn(Keeper::default()).expect("spawn");
    b.system().register("keeper", &local).expect("register");
    let remote = within("lookup", a.lookup_on::<Keeper>(b_id, "keeper"))
        .await
        .expect("lookup")
        .expect("the keeper is registered");

    let ask = tokio::spawn({
        let remote = remote.clone();
        async move { remote.ask_timeout(Park, LONG).await }
    });
    parked(&local, 1).await;
    assert_eq!(local.ask(Release(7)).await, Ok(1));
    assert_eq!(within("the remote ask", ask).await.expect("task"), Ok(7));

    assert_eq!(
        within("the remote ask", remote.ask_timeout(Forget, LONG)).await,
        Err(AskError::Unanswered)
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_cycle_through_a_deferred_reply_is_a_deadlock_across_nodes_too() {
    let (a, b) = (node("a").await, node("b").await);
    let b_addr = b.local_addr().expect("b listens");
    let b_id = within("connect", a.connect(b_addr)).await.expect("connect");
    let keeper = b.system().spawn(Keeper::default()).expect("spawn");
    b.system().register("keeper", &keeper).expect("register");
    let remote_keeper = within("lookup", a.lookup_on::<Keeper>(b_id, "keeper"))
        .await
        .expect("lookup")
        .expect("the keeper is registered");
    let client = a
        .system()
        .spawn(Client {
            keeper: remote_keeper,
        })
        .expect("spawn");
    a.system().register("client", &client).expect("register");
    let remote_client = within("lookup", b.lookup_on::<Client>(a.id(), "client"))
        .await
        .expect("lookup")
        .expect("the client is registered");

    // The client, on a, waits in its handler on the keeper's deferred
    // reply on b; the wait it brought stays with the parked reply ...
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.ask_timeout(Wait, LONG).await }
    });
    parked(&keeper, 1).await;
    // ... so the keeper asking the client back fails at once on b.
    assert_eq!(
        within("the ask back", keeper.ask(AskBack(remote_client))).await,
        Ok(Err(AskError::Deadlock {
            cycle: vec![keeper.id(), client.id()]
        }))
    );
    assert_eq!(keeper.ask(Release(4)).await, Ok(1));
    assert_eq!(
        within("the client", waiting).await.expect("task"),
        Ok(Ok(4))
    );
    a.shutdown().await;
    b.shutdown().await;
}
