//! `ask_all` asks many actors at once: every reply comes back in the order
//! of the asks, each entry says why it has no reply when it has none, full
//! mailboxes are waited for without reordering, and a batch from inside a
//! handler is checked for deadlocks like any ask.

mod support;

use std::pin::pin;
use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ask_all, ask_all_timeout};
use support::{gate, poll_once, Block, Record, Recorder, Seen};

/// Answers its own number, fails, or never answers, as asked.
struct Shard(u64);
impl Actor for Shard {}

enum Query {
    Value,
    Fail,
    Hang,
}
impl Message for Query {
    type Reply = u64;
}
impl Handler<Query> for Shard {
    async fn handle(&mut self, query: Query, _: &mut Context<Self>) -> u64 {
        match query {
            Query::Value => self.0,
            Query::Fail => panic!("shard {} failed", self.0),
            Query::Hang => std::future::pending().await,
        }
    }
}

/// Another actor type answering the same query: twice its number.
struct Doubler(u64);
impl Actor for Doubler {}
impl Handler<Query> for Doubler {
    async fn handle(&mut self, query: Query, _: &mut Context<Self>) -> u64 {
        match query {
            Query::Value => 2 * self.0,
            Query::Fail => panic!("doubler {} failed", self.0),
            Query::Hang => std::future::pending().await,
        }
    }
}

/// Asks every given shard for its value from inside this shard's handler.
struct GatherFrom(Vec<ActorRef<Shard>>);
impl Message for GatherFrom {
    type Reply = Vec<Result<u64, AskError>>;
}
impl Handler<GatherFrom> for Shard {
    async fn handle(
        &mut self,
        GatherFrom(shards): GatherFrom,
        _: &mut Context<Self>,
    ) -> Vec<Result<u64, AskError>> {
        ask_all(shards.iter().map(|shard| (shard, Query::Value))).await
    }
}

fn spawn_shards(system: &System, count: u64) -> Vec<ActorRef<Shard>> {
    (0..count)
        .map(|n| system.spawn(Shard(n)).unwrap())
        .collect()
}

#[tokio::test]
async fn replies_come_back_in_the_order_of_the_asks() {
    let system = System::new();
    let shards = spawn_shards(&system, 100);
    // Backwards, so the order of the replies is not the order of spawning.
    let replies = ask_all(shards.iter().rev().map(|shard| (shard, Query::Value))).await;
    let expected: Vec<Result<u64, AskError>> = (0..100).rev().map(Ok).collect();
    assert_eq!(replies, expected);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_replies_race_in_from_several_threads() {
    let system = System::new();
    let shards = spawn_shards(&system, 2_000);
    for round in 0..10 {
        let replies = ask_all(shards.iter().map(|shard| (shard, Query::Value))).await;
        let values: Vec<u64> = replies.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, (0..2_000).collect::<Vec<_>>(), "round {round}");
    }
    system.shutdown().await;
}

#[tokio::test]
async fn an_empty_batch_has_no_replies() {
    let replies = ask_all(std::iter::empty::<(&ActorRef<Shard>, Query)>()).await;
    assert!(replies.is_empty());
}

#[tokio::test]
async fn each_entry_without_a_reply_says_why() {
    // With time paused, the batch's deadline passes as soon as all is idle.
    tokio::time::pause();
    let system = System::new();
    let shards = spawn_shards(&system, 4);
    shards[1].stop();
    shards[1].wait_stopped().await;
    let deadline = Duration::from_millis(250);

    let asks = [Query::Value, Query::Value, Query::Fail, Query::Hang];
    let replies = ask_all_timeout(shards.iter().zip(asks), deadline).await;

    assert_eq!(replies[0], Ok(0));
    assert_eq!(replies[1], Err(AskError::Stopped));
    match &replies[2] {
        Err(AskError::Failed { reason }) => assert!(reason.contains("shard 2 failed"), "{reason}"),
        other => panic!("expected AskError::Failed, got {other:?}"),
    }
    assert_eq!(replies[3], Err(AskError::Timeout(deadline)));
}

#[tokio::test]
async fn the_batch_uses_the_systems_default_deadline() {
    tokio::time::pause();
    let system = System::builder()
        .ask_timeout(Duration::from_secs(3))
        .build();
    let shards = spawn_shards(&system, 2);

    let replies = ask_all(shards.iter().zip([Query::Hang, Query::Value])).await;

    assert_eq!(
        replies,
        [Err(AskError::Timeout(Duration::from_secs(3))), Ok(1)]
    );
}

#[tokio::test]
async fn a_full_mailbox_is_waited_for_and_keeps_the_order() {
    let system = System::new();
    let recorder = system.spawn(Recorder::<1>::new()).unwrap();
    let (gate, mut control) = gate();
    recorder.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    // One slot: the first ask fits, the others wait for room in turn.
    let asks = (1..=3).map(|n| (&recorder, Record(n)));
    let mut batch = pin!(ask_all(asks));
    assert!(poll_once(batch.as_mut()).await.is_pending());
    control.open();

    assert_eq!(batch.await, [Ok(()), Ok(()), Ok(())]);
    assert_eq!(recorder.ask(Seen).await, Ok(vec![0, 1, 2, 3]));
    system.shutdown().await;
}

#[tokio::test]
async fn asks_queued_when_the_actor_is_killed_fail_with_stopped() {
    let system = System::new();
    let recorder = system.spawn(Recorder::<1024>::new()).unwrap();
    let (gate, mut control) = gate();
    recorder.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    let mut batch = pin!(ask_all([(&recorder, Record(1)), (&recorder, Record(2))]));
    assert!(poll_once(batch.as_mut()).await.is_pending());
    recorder.kill();
    control.open();

    assert_eq!(
        batch.await,
        [Err(AskError::Stopped), Err(AskError::Stopped)]
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_includes_the_asker_is_a_deadlock_for_that_entry() {
    let system = System::new();
    let shards = spawn_shards(&system, 2);
    let (a, b) = (&shards[0], &shards[1]);

    let replies = a.ask(GatherFrom(vec![b.clone(), a.clone()])).await.unwrap();

    assert_eq!(
        replies,
        [
            Ok(1),
            Err(AskError::Deadlock {
                cycle: vec![a.id()]
            })
        ]
    );
}

#[tokio::test]
async fn a_batch_with_no_practical_deadline_waits_for_its_replies() {
    let system = System::new();
    let shards = spawn_shards(&system, 3);
    let replies = ask_all_timeout(
        shards.iter().map(|shard| (shard, Query::Value)),
        Duration::MAX,
    )
    .await;
    assert_eq!(replies, [Ok(0), Ok(1), Ok(2)]);
    system.shutdown().await;
}

#[tokio::test]
async fn recipients_of_different_actor_types_share_a_batch() {
    let system = System::new();
    let shard = system.spawn(Shard(3)).unwrap();
    let doubler = system.spawn(Doubler(5)).unwrap();
    let recipients: Vec<Recipient<Query>> =
        vec![shard.recipient(), doubler.recipient(), shard.recipient()];

    let replies = ask_all(recipients.iter().map(|r| (r, Query::Value))).await;
    assert_eq!(replies, [Ok(3), Ok(10), Ok(3)]);

    doubler.stop();
    doubler.wait_stopped().await;
    let replies = ask_all(recipients.iter().map(|r| (r, Query::Value))).await;
    assert_eq!(replies, [Ok(3), Err(AskError::Stopped), Ok(3)]);
    system.shutdown().await;
}
