//! Remote stop and kill, both ways: by default a peer that holds an actor's
//! ref may stop or kill it, as local code may; a node started with
//! `RemoteStop::OptIn` refuses a peer's stop and kill unless the actor opted
//! in (`Node::allow_remote_stop`) or a peer spawned it there.

mod support_cluster;

use proscenium::net::{Node, RemoteSpawn, RemoteStop};
use proscenium::prelude::*;
use support_cluster::cluster::{WhoAreYou, Worker};
use support_cluster::{in_process_node, within, Monitor, Watch};

fn worker(label: &str) -> Worker {
    Worker::from_args(label.to_owned())
}

/// `b` (listening, set up by `configure`) and `a` connected to it.
async fn pair(
    configure: impl FnOnce(proscenium::net::NodeBuilder) -> proscenium::net::NodeBuilder,
) -> (Node, Node) {
    let b = in_process_node("b", true, configure).await;
    let a = in_process_node("a", false, |n| n).await;
    a.connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    (a, b)
}

async fn label(actor: &ActorRef<Worker>) -> Result<String, AskError> {
    actor.ask(WhoAreYou).await.map(|(label, _)| label)
}

#[tokio::test]
async fn by_default_a_peer_given_a_ref_may_stop_and_kill_it() {
    let (a, b) = pair(|n| n).await;
    for name in ["stopped", "killed"] {
        b.system()
            .spawn_named(name, worker(name))
            .expect("spawn a worker");
    }
    let stopped = a.lookup::<Worker>("stopped").await.expect("on b");
    let killed = a.lookup::<Worker>("killed").await.expect("on b");
    // Watched first, so each notice says how its actor ended.
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(stopped.clone())).await.expect("watch");
    monitor.ask(Watch(killed.clone())).await.expect("watch");
    stopped.stop();
    killed.kill();
    let mut ends = Vec::new();
    for _ in 0..2 {
        let end = within("a Terminated", reports.recv()).await.expect("open");
        ends.push((end.id, end.reason));
    }
    ends.sort_by_key(|(id, _)| *id);
    assert_eq!(
        ends,
        vec![
            (stopped.id(), StopReason::Normal),
            (killed.id(), StopReason::Killed)
        ]
    );
    assert_eq!(b.stats().remote_stops_refused, 0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn opt_in_refuses_a_peers_stop_and_kill_unless_the_actor_opted_in() {
    let (a, b) = pair(|n| n.remote_stop(RemoteStop::OptIn)).await;
    let shielded = b
        .system()
        .spawn_named("shielded", worker("shielded"))
        .expect("spawn");
    let exposed = b
        .system()
        .spawn_named("exposed", worker("exposed"))
        .expect("spawn");
    b.allow_remote_stop(&exposed);
    let remote_shielded = a.lookup::<Worker>("shielded").await.expect("on b");
    let remote_exposed = a.lookup::<Worker>("exposed").await.expect("on b");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor
        .ask(Watch(remote_shielded.clone()))
        .await
        .expect("watch");
    monitor
        .ask(Watch(remote_exposed.clone()))
        .await
        .expect("watch");

    // One connection keeps order: once the kill of `exposed` is seen, b
    // has handled the stop and kill of `shielded` sent before it.
    remote_shielded.stop();
    remote_shielded.kill();
    remote_exposed.kill();
    let end = within("the opted-in kill", reports.recv())
        .await
        .expect("open");
    assert_eq!((end.id, end.reason), (exposed.id(), StopReason::Killed));
    assert_eq!(b.stats().remote_stops_refused, 2);
    assert_eq!(label(&remote_shielded).await, Ok("shielded".to_owned()));
    assert!(shielded.is_alive());

    // The node's own code may still stop it.
    shielded.stop();
    assert_eq!(shielded.wait_stopped().await, StopReason::Normal);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn opt_in_lets_a_peer_stop_what_peers_spawned() {
    let (a, b) = pair(|n| n.remote_stop(RemoteStop::OptIn)).await;
    let spawned = a
        .spawn_remote::<Worker>(b.id(), "spawned".into())
        .await
        .expect("spawned on b");
    assert_eq!(label(&spawned).await, Ok("spawned".to_owned()));
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(spawned.clone())).await.expect("watch");
    spawned.kill();
    let end = within("the kill", reports.recv()).await.expect("open");
    assert_eq!((end.id, end.reason), (spawned.id(), StopReason::Killed));
    assert_eq!(b.stats().remote_stops_refused, 0);
    a.shutdown().await;
    b.shutdown().await;
}
