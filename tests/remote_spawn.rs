//! A node spawns a registered actor type on another node, with arguments;
//! the actor runs there, supervised there: after a crash it is restarted
//! in place from the same arguments, behind the same ref.

mod support_cluster;

use proscenium::prelude::*;
use support_cluster::cluster::{Crash, WhoAreYou, Worker};
use support_cluster::{test_node, within, NodeProcess};

#[tokio::test]
async fn a_remotely_spawned_worker_runs_on_the_other_node() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let w1 = a
        .spawn_remote::<Worker>(b_id, "w1".to_owned())
        .await
        .expect("spawn w1 on b");
    let w2 = a
        .spawn_remote::<Worker>(b_id, "w2".to_owned())
        .await
        .expect("spawn w2 on b");
    assert_eq!(w1.id().node(), b_id);
    assert_ne!(w1.id(), w2.id());
    assert_eq!(
        w1.ask(WhoAreYou).await,
        Ok(("w1".to_owned(), b_id.full().to_string()))
    );
    assert_eq!(
        w2.ask(WhoAreYou).await,
        Ok(("w2".to_owned(), b_id.full().to_string()))
    );
    a.shutdown().await;
}

#[tokio::test]
async fn a_remotely_spawned_worker_is_restarted_where_it_runs() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let worker = a
        .spawn_remote::<Worker>(b_id, "phoenix".to_owned())
        .await
        .expect("spawn on b");

    let crashed = within("the crash", worker.ask(Crash)).await;
    assert!(
        matches!(crashed, Err(AskError::Failed { .. })),
        "{crashed:?}"
    );
    // Restarted by b's supervisor, from the same arguments, behind the same ref.
    assert_eq!(
        within("the restarted worker", worker.ask(WhoAreYou)).await,
        Ok(("phoenix".to_owned(), b_id.full().to_string()))
    );
    let crashed = worker.ask(Crash).await;
    assert!(
        matches!(crashed, Err(AskError::Failed { .. })),
        "{crashed:?}"
    );
    assert_eq!(
        worker.ask(WhoAreYou).await.map(|(label, _)| label),
        Ok("phoenix".to_owned())
    );
    a.shutdown().await;
}
