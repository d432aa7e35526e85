//! Actors spawned from other nodes are supervised one by one: one that
//! keeps failing exhausts only its own restart intensity and stops for
//! good, while the node's other remotely spawned actors, and its ability
//! to spawn more, are unaffected. Each peer may run a bounded number of
//! actors on a node; past it, `spawn_remote` fails with a typed error.

mod support_cluster;

use proscenium::net::{NodeError, RemoteSpawnError};
use proscenium::prelude::*;
use support_cluster::cluster::{Crash, WhoAreYou, Worker};
use support_cluster::{in_process_node, within, Monitor, Watch};

#[tokio::test]
async fn a_worker_past_its_intensity_takes_down_only_itself() {
    let b = in_process_node("b", true, |n| n).await;
    let a = in_process_node("a", false, |n| n).await;
    let b_id = a
        .connect(b.local_addr().expect("b listens"))
        .await
        .expect("connect to b");
    let doomed = a
        .spawn_remote::<Worker>(b_id, "doomed".to_owned())
        .await
        .expect("spawn on b");
    let bystander = a
        .spawn_remote::<Worker>(b_id, "bystander".to_owned())
        .await
        .expect("spawn on b");
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(doomed.clone())).await.expect("watch");

    // The default intensity allows three restarts; the fourth failure is
    // one too many for the doomed worker's own supervisor.
    for _ in 0..4 {
        let crashed = within("a crash", doomed.ask(Crash)).await;
        assert!(
            matches!(crashed, Err(AskError::Failed { .. })),
            "{crashed:?}"
        );
    }
    let terminated = within("the doomed worker's end", reports.recv())
        .await
        .unwrap();
    assert_eq!(terminated.id, doomed.id());
    assert!(terminated.reason.is_failure(), "{terminated:?}");

    assert_eq!(
        within("the bystander", bystander.ask(WhoAreYou)).await,
        Ok(("bystander".to_owned(), b_id.full().to_string())),
        "a sibling's failures took the bystander down"
    );
    let newcomer = within(
        "a new spawn",
        a.spawn_remote::<Worker>(b_id, "newcomer".to_owned()),
    )
    .await
    .expect("b still spawns");
    assert_eq!(
        within("the newcomer", newcomer.ask(WhoAreYou)).await,
        Ok(("newcomer".to_owned(), b_id.full().to_string()))
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn each_peer_has_a_quota_of_remotely_spawned_actors() {
    let b = in_process_node("b", true, |n| n.max_remote_spawns_per_peer(2)).await;
    let addr = b.local_addr().expect("b listens");
    let a = in_process_node("a", false, |n| n).await;
    let c = in_process_node("c", false, |n| n).await;
    let b_id = a.connect(addr).await.expect("a connects to b");
    c.connect(addr).await.expect("c connects to b");

    let first = a
        .spawn_remote::<Worker>(b_id, "1".to_owned())
        .await
        .expect("the first spawn");
    a.spawn_remote::<Worker>(b_id, "2".to_owned())
        .await
        .expect("the second spawn");
    let refused = a.spawn_remote::<Worker>(b_id, "3".to_owned()).await;
    assert!(
        matches!(
            refused,
            Err(NodeError::Spawn(RemoteSpawnError::QuotaExceeded {
                limit: 2
            }))
        ),
        "{refused:?}"
    );
    // The quota is per peer: another node may still spawn there.
    c.spawn_remote::<Worker>(b_id, "c's".to_owned())
        .await
        .expect("c's spawn");

    // An actor that stops frees its place.
    let (monitor, mut reports) = Monitor::spawn(a.system());
    monitor.ask(Watch(first.clone())).await.expect("watch");
    first.stop();
    within("the first worker's end", reports.recv())
        .await
        .unwrap();
    a.spawn_remote::<Worker>(b_id, "3 again".to_owned())
        .await
        .expect("a spawn once there is room");
    a.shutdown().await;
    c.shutdown().await;
    b.shutdown().await;
}
