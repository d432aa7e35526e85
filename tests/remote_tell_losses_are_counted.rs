//! A remote tell is delivered at most once, and one that is dropped leaves
//! a trace: the receiving node counts tells to an actor that is gone, of a
//! type the actor does not handle there, or that do not decode, in
//! `Node::stats`. (Tells the sender knows it never sent become its dead
//! letters: see `remote_stalled_peer.rs`.)

mod support_cluster;

use proscenium::net::{Node, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::{in_process_node, within};

/// Counts what it is told.
#[derive(Default)]
struct Tally(u64);
impl Actor for Tally {}

#[derive(Serialize, Deserialize)]
struct Known(u64);
impl Message for Known {
    type Reply = ();
}
impl RemoteMessage for Known {
    const TAG: &'static str = "tests::losses::Known";
}
impl Handler<Known> for Tally {
    async fn handle(&mut self, Known(n): Known, _: &mut Context<Self>) {
        self.0 += n;
    }
}

/// Registered on the sender only.
#[derive(Serialize, Deserialize)]
struct Unknown;
impl Message for Unknown {
    type Reply = ();
}
impl RemoteMessage for Unknown {
    const TAG: &'static str = "tests::losses::Unknown";
}
impl Handler<Unknown> for Tally {
    async fn handle(&mut self, _: Unknown, _: &mut Context<Self>) {}
}

/// The sender's idea of `Known`: same tag, another layout.
#[derive(Serialize, Deserialize)]
struct Garbled(String);
impl Message for Garbled {
    type Reply = ();
}
impl RemoteMessage for Garbled {
    const TAG: &'static str = "tests::losses::Known";
}
impl Handler<Garbled> for Tally {
    async fn handle(&mut self, _: Garbled, _: &mut Context<Self>) {}
}

#[derive(Serialize, Deserialize)]
struct Total;
impl Message for Total {
    type Reply = u64;
}
impl RemoteMessage for Total {
    const TAG: &'static str = "tests::losses::Total";
}
impl Handler<Total> for Tally {
    async fn handle(&mut self, _: Total, _: &mut Context<Self>) -> u64 {
        self.0
    }
}

async fn receiver() -> Node {
    let mut registry = Registry::new();
    registry.handler::<Tally, Known>().handler::<Tally, Total>();
    in_process_node("alpha", true, |node| node.registry(registry)).await
}

async fn sender() -> Node {
    let mut registry = Registry::new();
    registry
        .message::<Unknown>()
        .message::<Garbled>()
        .message::<Total>();
    in_process_node("beta", false, |node| node.registry(registry)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_the_receiver_drops_are_counted_by_reason() {
    let alpha = receiver().await;
    alpha
        .system()
        .spawn_named("tally", Tally::default())
        .unwrap();
    alpha
        .system()
        .spawn_named("gone", Tally::default())
        .unwrap();
    let beta = sender().await;
    within("beta to connect", beta.connect(alpha.local_addr().unwrap()))
        .await
        .unwrap();
    let tally = within("lookup", beta.lookup::<Tally>("tally"))
        .await
        .expect("tally on alpha");
    let gone = within("lookup", beta.lookup::<Tally>("gone"))
        .await
        .expect("gone on alpha");
    let local_gone = alpha.system().lookup::<Tally>("gone").unwrap();
    local_gone.stop();
    within("the stop", local_gone.wait_stopped()).await;
    assert_eq!(alpha.stats(), Default::default());

    tally.tell(Unknown).await.expect("queued");
    tally.tell(Garbled("x".into())).await.expect("queued");
    gone.tell(Unknown).await.expect("queued");
    // The ask travels behind the tells, so they have been dealt with.
    assert_eq!(within("the total", tally.ask(Total)).await, Ok(0));

    let stats = alpha.stats();
    assert_eq!(stats.tells_unregistered, 1, "{stats:?}");
    assert_eq!(stats.tells_undecodable, 1, "{stats:?}");
    assert_eq!(stats.tells_to_missing_actors, 1, "{stats:?}");
    assert_eq!(stats.tells_dropped(), 3);

    beta.shutdown().await;
    alpha.shutdown().await;
}
