//! Watching an actor on another node delivers exactly one `Terminated`,
//! with its id, when it stops.

mod support_cluster;

use proscenium::prelude::*;
use support_cluster::cluster::{WhoAreYou, Worker};
use support_cluster::{test_node, within, Monitor, NodeProcess, Watch};

#[tokio::test]
async fn a_remote_actor_that_stops_is_reported_once() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let first = a
        .spawn_remote::<Worker>(b_id, "first".to_owned())
        .await
        .expect("spawn on b");
    let second = a
        .spawn_remote::<Worker>(b_id, "second".to_owned())
        .await
        .expect("spawn on b");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor
        .ask(Watch(first.clone()))
        .await
        .expect("watch first");
    monitor
        .ask(Watch(second.clone()))
        .await
        .expect("watch second");

    first.stop();
    let terminated = within("first's Terminated", reports.recv()).await.unwrap();
    assert_eq!(
        terminated,
        Terminated {
            id: first.id(),
            reason: StopReason::Normal
        }
    );
    // Still alive: only the watched actor stopped.
    assert_eq!(
        second.ask(WhoAreYou).await.expect("second answers").0,
        "second"
    );
    // Any duplicate for `first` would come on the same link before this one.
    second.stop();
    let terminated = within("second's Terminated", reports.recv()).await.unwrap();
    assert_eq!(terminated.id, second.id());
    assert!(reports.try_recv().is_err(), "a second Terminated arrived");
    a.shutdown().await;
}

#[tokio::test]
async fn watching_a_remote_actor_that_is_already_gone_reports_at_once() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let worker = a
        .spawn_remote::<Worker>(b_id, "gone".to_owned())
        .await
        .expect("spawn on b");
    worker.stop();
    assert_eq!(
        within("wait_stopped", worker.wait_stopped()).await,
        StopReason::Normal
    );
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(worker.clone())).await.expect("watch");
    let terminated = within("the Terminated", reports.recv()).await.unwrap();
    assert_eq!(terminated.id, worker.id());
    a.shutdown().await;
}

#[tokio::test]
async fn connecting_again_to_a_linked_node_keeps_its_link_and_watches() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let worker = a
        .spawn_remote::<Worker>(b_id, "watched".to_owned())
        .await
        .expect("spawn on b");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(worker.clone())).await.expect("watch");

    // A second link to the same run would replace the first and end what
    // was bound to it: the watch would report `NodeDown` though b lives.
    let (again, concurrently) = tokio::join!(a.connect(b.addr), a.connect(b.addr));
    assert_eq!(again.expect("connect again"), b_id);
    assert_eq!(concurrently.expect("connect concurrently"), b_id);

    worker.stop();
    let terminated = within("the Terminated", reports.recv()).await.unwrap();
    assert_eq!(
        terminated,
        Terminated {
            id: worker.id(),
            reason: StopReason::Normal
        }
    );
    a.shutdown().await;
}
