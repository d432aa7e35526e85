//! A watch of an actor on another node is bound to the link it was made
//! over. When that link is replaced by a new one (here: both nodes dialed
//! each other, and the link dialed by the lower node number wins), the
//! watcher gets `Terminated { NodeDown }` at once instead of waiting
//! forever for a notice that would go out on the dead link; it can watch
//! again over the new link and then gets the real notice.

mod support_cluster;

use proscenium::net::{MessageTag, Node};
use proscenium::prelude::*;
use support_cluster::cluster::{WhoAreYou, Worker};
use support_cluster::{in_process_node, node_up, within, Monitor, Watch};

/// Two listening nodes, the one with the lower node number first.
async fn two_nodes() -> (Node, Node) {
    let (x, y) = ("a", "b");
    let (lo, hi) = if MessageTag::from_name(x).get() < MessageTag::from_name(y).get() {
        (x, y)
    } else {
        (y, x)
    };
    (
        in_process_node(lo, true, |n| n).await,
        in_process_node(hi, true, |n| n).await,
    )
}

#[tokio::test]
async fn a_replaced_link_ends_its_watches_with_node_down() {
    let (lo, hi) = two_nodes().await;
    // The first link is dialed by the higher node number...
    within(
        "hi to connect",
        hi.connect(lo.local_addr().expect("lo listens")),
    )
    .await
    .expect("hi dials lo");
    within("lo to see hi", async {
        while lo.peers().is_empty() {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let worker = lo
        .spawn_remote::<Worker>(hi.id(), "watched".to_owned())
        .await
        .expect("spawn on hi");
    let (monitor, mut reports) = Monitor::spawn(lo.system());
    monitor.ask(Watch(worker.clone())).await.expect("watch");
    // ...and made sure to carry the watch before it is replaced.
    assert_eq!(
        worker.ask(WhoAreYou).await.expect("the worker answers").0,
        "watched"
    );

    // The lower node number dials too: its link replaces the first one.
    let mut events = lo.events();
    within(
        "lo to connect",
        lo.connect(hi.local_addr().expect("hi listens")),
    )
    .await
    .expect("lo dials hi");
    let terminated = within("the NodeDown notice", reports.recv()).await.unwrap();
    assert_eq!(
        terminated,
        Terminated {
            id: worker.id(),
            reason: StopReason::NodeDown
        }
    );
    node_up(&mut events, hi.name()).await;

    // Watched again over the new link, the real notice arrives.
    monitor.ask(Watch(worker.clone())).await.expect("re-watch");
    worker.stop();
    let terminated = within("the Terminated", reports.recv()).await.unwrap();
    assert_eq!(
        terminated,
        Terminated {
            id: worker.id(),
            reason: StopReason::Normal
        }
    );
    lo.shutdown().await;
    hi.shutdown().await;
}
