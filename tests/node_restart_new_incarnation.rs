//! A node process killed and started again under the same name comes back
//! as a new incarnation: refs to the old run's actors fail cleanly and
//! never reach the new process; a fresh lookup reaches the new one.

mod support_cluster;

use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{node_down, node_up, test_node, NodeOptions, NodeProcess};

#[tokio::test]
async fn a_restarted_node_is_a_new_incarnation_and_old_refs_fail() {
    let mut b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let mut events = a.events();
    let old_id = a.connect(b.addr).await.expect("connect to b");
    let old_counter = a
        .lookup_on::<Counter>(old_id, "counter")
        .await
        .expect("b answers")
        .expect("b has a counter");
    old_counter.tell(Add(1)).await.expect("tell the old run");
    assert_eq!(old_counter.ask(Values).await, Ok(vec![1]));

    b.kill().await;
    assert_eq!(node_down(&mut events, "b").await, old_id);

    // Same name, same address: a dialed b, so a redials it by itself.
    let _b = NodeProcess::start_with(
        "b",
        NodeOptions {
            listen: Some(b.addr),
            connect: Vec::new(),
        },
    )
    .await;
    let new_id = node_up(&mut events, "b").await;
    assert_eq!(
        new_id.number(),
        old_id.number(),
        "same name, same node number"
    );
    assert_ne!(new_id, old_id, "a new incarnation");

    // The old ref names the old run: it fails at once, and reaches nothing.
    assert_eq!(old_counter.ask(Values).await, Err(AskError::NodeDown));
    assert!(matches!(
        old_counter.tell(Add(2)).await,
        Err(SendError::NodeDown(_))
    ));
    assert!(!old_counter.is_alive());

    // A fresh lookup reaches the new run, which never saw the old values
    // nor anything sent through the old ref.
    let new_counter = a
        .lookup_on::<Counter>(new_id, "counter")
        .await
        .expect("the new b answers")
        .expect("it has a counter");
    assert_ne!(new_counter.id(), old_counter.id());
    assert_eq!(new_counter.id().node(), new_id);
    assert_eq!(new_counter.ask(Values).await, Ok(vec![]));
    new_counter.tell(Add(3)).await.expect("tell the new run");
    assert_eq!(new_counter.ask(Values).await, Ok(vec![3]));
    // A lookup of the old run is refused, not redirected.
    assert!(a.lookup_on::<Counter>(old_id, "counter").await.is_err());
    a.shutdown().await;
}

#[tokio::test]
async fn a_restarted_node_on_another_port_is_reached_by_connecting_again() {
    let mut b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let mut events = a.events();
    let old_id = a.connect(b.addr).await.expect("connect to b");
    let old_counter = a.lookup::<Counter>("counter").await.expect("found on b");
    b.kill().await;
    assert_eq!(node_down(&mut events, "b").await, old_id);

    let b2 = NodeProcess::start("b").await;
    let new_id = a.connect(b2.addr).await.expect("connect to the new b");
    assert_eq!(new_id.number(), old_id.number());
    assert_ne!(new_id, old_id);
    assert_eq!(old_counter.ask(Values).await, Err(AskError::NodeDown));
    let new_counter = a.lookup::<Counter>("counter").await.expect("found on b2");
    assert_eq!(new_counter.id().node(), new_id);
    assert_eq!(new_counter.ask(Values).await, Ok(vec![]));
    a.shutdown().await;
}
