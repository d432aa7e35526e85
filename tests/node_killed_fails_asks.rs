//! `kill -9` of a node process, while an ask to it is pending: the ask
//! fails at once with `NodeDown` (not a timeout), watchers of its actors
//! get `Terminated { reason: NodeDown }`, and a `NodeDown` event fires.

mod support_cluster;

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use proscenium::prelude::*;
use support_cluster::cluster::{Add, Collector, Counter, Ping, Ponger, Stall};
use support_cluster::{node_down, test_node, within, Monitor, NodeProcess, Watch};

/// Far beyond the hang guard: if the ask ends, it was not by timing out.
const NEVER: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn killing_a_node_fails_its_pending_asks_and_notifies_watchers() {
    let mut b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let mut events = a.events();
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers")
        .expect("b has a counter");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(counter.clone())).await.expect("watch");

    // Never answered: the counter's handler waits forever. One poll sends it.
    let mut pending = Box::pin(counter.ask_timeout(Stall, NEVER));
    poll_fn(|cx| {
        assert!(pending.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    // A round trip on the same link, behind the stall: once it is answered,
    // b has read the stall and queued it to its counter.
    let ponger = a
        .lookup_on::<Ponger>(b_id, "ponger")
        .await
        .expect("b answers")
        .expect("b has a ponger");
    let collector = a.system().spawn(Collector::default()).expect("spawn");
    ponger
        .ask(Ping {
            n: 1,
            reply_to: collector,
        })
        .await
        .expect("b answers a ping");

    b.kill().await;

    let asked = within("the pending ask to fail", pending).await;
    assert_eq!(asked, Err(AskError::NodeDown));
    let terminated = within("the watcher's Terminated", reports.recv())
        .await
        .expect("a report");
    assert_eq!(
        terminated,
        Terminated {
            id: counter.id(),
            reason: StopReason::NodeDown
        }
    );
    assert_eq!(node_down(&mut events, "b").await, b_id);

    // Later sends fail at once, typed.
    assert_eq!(counter.ask(Stall).await, Err(AskError::NodeDown));
    assert!(matches!(
        counter.tell(Add(1)).await,
        Err(SendError::NodeDown(_))
    ));
    assert!(!counter.is_alive());
    assert!(reports.try_recv().is_err(), "a second Terminated arrived");
    a.shutdown().await;
}
