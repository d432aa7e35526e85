//! Pools across real processes on 127.0.0.1: a `ClusterPool` over a
//! process group keeps serving when one of its nodes is killed, takes in
//! the workers of a node that joins, and least-loaded routing follows the
//! mailbox depths the nodes report.

mod support_cluster;

use proscenium::net::{ClusterPool, Node, PoolAskError};
use proscenium::prelude::*;
use proscenium::{LeastLoaded, NodeId, Pool};
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{in_process_node, start_cluster, within, MemberOptions, NodeProcess};
use tokio::task::JoinSet;

/// The node id of the member called `name`, as `here` sees it.
fn node_id(here: &Node, name: &str) -> NodeId {
    here.members()
        .into_iter()
        .find(|member| member.name == name)
        .map(|member| member.id)
        .unwrap_or_else(|| panic!("{name} is not a member"))
}

/// The values the counter of node `name` holds, in arrival order.
async fn values_on(here: &Node, name: &str) -> Vec<u64> {
    let counter = here
        .lookup_on::<Counter>(node_id(here, name), "counter")
        .await
        .expect("the node answers")
        .expect("a counter there");
    within("the counter's values", counter.ask(Values))
        .await
        .expect("the counter answers")
}

/// Waits until `pool` lists the counters of exactly the nodes called
/// `nodes`, each reachable.
async fn pool_spans<R>(here: &Node, pool: &ClusterPool<Add, R>, nodes: &[&str]) {
    let mut wanted: Vec<&str> = nodes.to_vec();
    wanted.sort_unstable();
    within(&format!("the pool to span {nodes:?}"), async {
        pool.wait_until(|pool| {
            let known = here.members();
            let members = pool.members();
            let mut on: Vec<&str> = members
                .iter()
                .filter_map(|m| known.iter().find(|k| k.id == m.id().node()))
                .map(|k| k.name.as_str())
                .collect();
            on.sort_unstable();
            on == wanted && members.iter().all(Recipient::is_alive)
        })
        .await;
    })
    .await;
}

/// Waits until `pool` sees `depth` messages reported waiting at node `name`'s counter.
async fn reported_depth<R>(here: &Node, pool: &ClusterPool<Add, R>, name: &str, depth: usize) {
    let node = node_id(here, name);
    within(&format!("a depth of {depth} reported by {name}"), async {
        pool.wait_until(|pool| {
            pool.members()
                .iter()
                .any(|m| m.id().node() == node && m.reported_mailbox_len() == Some(depth))
        })
        .await;
    })
    .await;
}

/// Starts `names` as a cluster with `here` joined to it, each node's
/// counter in group `group`.
async fn cluster_with_group(names: &[&str], here: &str, group: &str) -> (Vec<NodeProcess>, Node) {
    let mut nodes = start_cluster(names).await;
    let seed = nodes[0].addr;
    let here = in_process_node(here, true, |builder| builder.seeds([seed])).await;
    for node in &mut nodes {
        node.send_line(&format!("join {group}")).await;
        let joined = format!("JOINED {group}");
        node.line_where("JOINED", |line| line == joined).await;
    }
    (nodes, here)
}

#[tokio::test]
async fn a_pool_over_two_nodes_keeps_serving_when_one_is_killed() {
    let (mut nodes, here) = cluster_with_group(&["k1", "k2"], "k0", "workers").await;
    let pool = ClusterPool::<Add>::builder("workers")
        .retry_asks(1)
        .start(&here)
        .expect("a cluster member");
    pool_spans(&here, &pool, &["k1", "k2"]).await;

    // k2's counter handles nothing more: asks routed there wait in its
    // mailbox until k2 dies under them.
    nodes[1].send_line("stall").await;
    nodes[1]
        .line_where("STALLED", |line| line == "STALLED")
        .await;
    let mut asks = JoinSet::new();
    for n in 0..10 {
        let pool = pool.clone();
        asks.spawn(async move { (n, pool.ask(Add(n)).await) });
    }
    // Round robin sent half of them to k2; its report says they are queued.
    reported_depth(&here, &pool, "k2", 5).await;

    nodes[1].kill().await;
    let mut answered = Vec::new();
    while let Some(joined) = within("every ask to be answered", asks.join_next()).await {
        let (n, reply) = joined.expect("the ask task");
        reply.unwrap_or_else(|error| panic!("ask {n} failed: {error}"));
        answered.push(n);
    }
    assert_eq!(answered.len(), 10);
    // The survivor did all the work, the five it was asked first and the
    // five asked again after k2 died.
    let mut on_k1 = values_on(&here, "k1").await;
    on_k1.sort_unstable();
    assert_eq!(on_k1, (0..10).collect::<Vec<_>>());

    // k2's member leaves the pool once k2 is declared down; asks go on.
    pool_spans(&here, &pool, &["k1"]).await;
    for n in 10..20 {
        within("an ask after the death", pool.ask(Add(n)))
            .await
            .expect("the survivor answers");
    }
    assert_eq!(values_on(&here, "k1").await.len(), 20);
    here.shutdown().await;
}

#[tokio::test]
async fn an_ask_whose_node_dies_fails_with_node_down_without_retries() {
    let (mut nodes, here) = cluster_with_group(&["d1"], "d0", "solo").await;
    let pool = ClusterPool::<Add>::builder("solo")
        .start(&here)
        .expect("a cluster member");
    pool_spans(&here, &pool, &["d1"]).await;
    nodes[0].send_line("stall").await;
    nodes[0]
        .line_where("STALLED", |line| line == "STALLED")
        .await;
    let ask = tokio::spawn({
        let pool = pool.clone();
        async move { pool.ask(Add(1)).await }
    });
    reported_depth(&here, &pool, "d1", 1).await;

    nodes[0].kill().await;
    let failed = within("the ask to fail", ask).await.expect("the ask task");
    assert_eq!(failed, Err(PoolAskError::Ask(AskError::NodeDown)));
    // With no member left, nothing is sent and the error says so.
    pool_spans(&here, &pool, &[]).await;
    assert!(matches!(
        pool.ask(Add(2)).await,
        Err(PoolAskError::NoMembers { group }) if group == "solo"
    ));
    here.shutdown().await;
}

#[tokio::test]
async fn a_node_that_joins_adds_its_workers() {
    let (mut nodes, here) = cluster_with_group(&["j1"], "j0", "workers").await;
    let pool = ClusterPool::<Add>::builder("workers")
        .start(&here)
        .expect("a cluster member");
    pool_spans(&here, &pool, &["j1"]).await;

    let options = MemberOptions {
        seeds: vec![nodes[0].addr],
        ..MemberOptions::default()
    };
    let mut late = NodeProcess::start_member("j2", options).await;
    late.send_line("join workers").await;
    late.line_where("JOINED", |line| line == "JOINED workers")
        .await;
    pool_spans(&here, &pool, &["j1", "j2"]).await;

    // Round robin over both: each gets half.
    for n in 0..6 {
        within("an ask", pool.ask(Add(n)))
            .await
            .expect("a worker answers");
    }
    assert_eq!(values_on(&here, "j1").await.len(), 3);
    assert_eq!(values_on(&here, "j2").await.len(), 3);
    nodes.push(late);
    here.shutdown().await;
}

#[tokio::test]
async fn least_loaded_sends_to_the_node_whose_worker_reports_the_shorter_queue() {
    let (mut nodes, here) = cluster_with_group(&["l1", "l2"], "l0", "workers").await;
    let pool = ClusterPool::<Add>::builder("workers")
        .router(LeastLoaded::default())
        .start(&here)
        .expect("a cluster member");
    pool_spans(&here, &pool, &["l1", "l2"]).await;

    // l1's counter is stuck with 8 values queued; l2's is idle.
    nodes[0].send_line("stall").await;
    nodes[0]
        .line_where("STALLED", |line| line == "STALLED")
        .await;
    let l1 = node_id(&here, "l1");
    let stuck = pool
        .members()
        .into_iter()
        .find(|member| member.id().node() == l1)
        .expect("l1's counter");
    for n in 0..8 {
        stuck.tell(Add(100 + n)).await.expect("queued at l1");
    }
    reported_depth(&here, &pool, "l1", 8).await;
    reported_depth(&here, &pool, "l2", 0).await;

    // However fast l2 works, its load stays below l1's 8 for 8 tells.
    for n in 0..8 {
        pool.tell(Add(n)).await.expect("routed");
    }
    // The tells and this ask travel to l2 on one link, in order: the
    // answer comes after all eight.
    let on_l2 = values_on(&here, "l2").await;
    assert_eq!(on_l2, (0..8).collect::<Vec<_>>());
    here.shutdown().await;
}

#[tokio::test]
async fn a_local_pools_workers_follow_its_resizes_in_the_group() {
    let here = in_process_node("w0", true, |builder| builder.cluster()).await;
    let local = Pool::builder(Counter::default)
        .size(2)
        .spawn(here.system())
        .await
        .expect("a local pool");
    here.join_pool_to_group::<Add, _, _>("local", &local)
        .expect("its workers join");
    let pool = ClusterPool::<Add>::builder("local")
        .start(&here)
        .expect("a cluster member");
    let same_workers = |pool: &ClusterPool<Add>| {
        let mut ids: Vec<ActorId> = local.workers().iter().map(ActorRef::id).collect();
        ids.sort();
        pool.members().iter().map(Recipient::id).collect::<Vec<_>>() == ids
    };
    assert!(same_workers(&pool));
    assert_eq!(pool.size(), 2);

    for size in [4, 1, 3] {
        local.resize(size).await.expect("resized");
        within(&format!("{size} workers in the group"), async {
            pool.wait_until(|pool| pool.size() == size && same_workers(pool))
                .await;
        })
        .await;
    }
    for n in 0..6 {
        pool.ask(Add(n)).await.expect("a worker answers");
    }

    local.stop();
    local.wait_stopped().await;
    within("the stopped pool's workers to leave", async {
        pool.wait_until(|pool| pool.size() == 0).await;
    })
    .await;
    here.shutdown().await;
}
