//! Asks to actors in another OS process get their replies, correlated to
//! the right ask even when many are in flight, and errors come back typed.

mod support_cluster;

use proscenium::ask_all;
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{test_node, within, NodeProcess};

#[tokio::test]
async fn remote_ask_gets_the_reply() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");

    assert_eq!(counter.ask(Values).await, Ok(vec![]));
    counter.ask(Add(7)).await.expect("ask Add");
    assert_eq!(counter.ask(Values).await, Ok(vec![7]));
    a.shutdown().await;
}

#[tokio::test]
async fn concurrent_remote_asks_each_get_their_own_reply() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");

    // Each ask's reply is the list of values so far; 100 asks in flight at
    // once must each get their own reply. Ask `n` leaves after tell `n` on
    // the same link, so it sees at least `n + 1` values.
    let mut asks = Vec::new();
    for n in 0..100u64 {
        counter.tell(Add(n)).await.expect("tell");
        let counter = counter.clone();
        asks.push(tokio::spawn(async move { counter.ask(Values).await }));
    }
    for (n, ask) in asks.into_iter().enumerate() {
        let values = within("a reply", ask).await.expect("task").expect("reply");
        assert_eq!(values, (0..values.len() as u64).collect::<Vec<_>>());
        assert!(values.len() > n, "ask {n} saw only {values:?}");
    }
    a.shutdown().await;
}

#[tokio::test]
async fn remote_lookup_of_a_missing_name_or_wrong_type_finds_nothing() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let missing = a.lookup_on::<Counter>(b_id, "nobody").await;
    assert!(matches!(missing, Ok(None)), "{missing:?}");
    // `ponger` exists on b, but it is not a Counter.
    let wrong = a.lookup_on::<Counter>(b_id, "ponger").await;
    assert!(matches!(wrong, Ok(None)), "{wrong:?}");
    // `lookup` searches every connected node.
    assert!(a.lookup::<Counter>("counter").await.is_some());
    a.shutdown().await;
}

/// A message type that is not registered for the wire.
struct LocalOnly;
impl Message for LocalOnly {
    type Reply = ();
}
impl Handler<LocalOnly> for Counter {
    async fn handle(&mut self, _: LocalOnly, _: &mut Context<Self>) {}
}

#[tokio::test]
async fn asking_a_remote_actor_with_a_local_only_message_is_a_typed_error() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");
    let refused = counter.ask(LocalOnly).await;
    assert!(
        matches!(refused, Err(AskError::NotRemote { .. })),
        "{refused:?}"
    );
    let refused = counter.tell(LocalOnly).await;
    assert!(
        matches!(refused, Err(SendError::NotRemote(_))),
        "{refused:?}"
    );
    // The link is fine afterwards.
    assert_eq!(counter.ask(Values).await, Ok(vec![]));
    a.shutdown().await;
}

#[tokio::test]
async fn ask_all_mixes_remote_and_local_actors_and_keeps_each_ones_order() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let remote = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");
    let local = a.system().spawn(Counter::default()).expect("spawn");

    let adds = [
        (&remote, 1),
        (&local, 2),
        (&remote, 3),
        (&local, 4),
        (&remote, 5),
    ];
    let added = within("the adds", ask_all(adds.map(|(to, n)| (to, Add(n))))).await;
    assert_eq!(added, [Ok(()), Ok(()), Ok(()), Ok(()), Ok(())]);

    let values = within("the values", ask_all([(&remote, Values), (&local, Values)])).await;
    assert_eq!(values, [Ok(vec![1, 3, 5]), Ok(vec![2, 4])]);
    a.shutdown().await;
}
