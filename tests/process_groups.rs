//! Process groups across real processes on 127.0.0.1: a group spanning
//! three node processes converges on a fourth node, loses the members of a
//! node that is killed, and a member that stops leaves its groups.

mod support_cluster;

use proscenium::net::{GroupError, GroupEvent, Node};
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{in_process_node, start_cluster, test_node, within};
use tokio::sync::broadcast;

/// Waits, event by event, until `node` lists exactly `count` members of
/// `group`, and returns their ids.
async fn members_become(
    node: &Node,
    events: &mut broadcast::Receiver<GroupEvent>,
    group: &str,
    count: usize,
) -> Vec<ActorId> {
    within(&format!("{count} members in {group}"), async {
        loop {
            let members = node.group_members::<Add>(group);
            if members.len() == count {
                let mut ids: Vec<ActorId> = members.iter().map(Recipient::id).collect();
                ids.sort();
                return ids;
            }
            events.recv().await.expect("group events");
        }
    })
    .await
}

#[tokio::test]
async fn a_group_spanning_three_nodes_converges_and_loses_a_dead_nodes_members() {
    let names = ["r1", "r2", "r3"];
    let mut nodes = start_cluster(&names).await;
    let here = in_process_node("r0", true, |builder| builder.seeds([nodes[0].addr])).await;
    let mut events = here.group_events();
    for node in &mut nodes {
        node.send_line("join workers").await;
        node.line_where("JOINED", |line| line == "JOINED workers")
            .await;
    }

    let all = members_become(&here, &mut events, "workers", 3).await;
    let nodes_of: Vec<u64> = all.iter().map(|id| id.node().number()).collect();
    assert_eq!(
        nodes_of
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3,
        "one counter from each node: {all:?}"
    );
    for worker in here.group_members::<Add>("workers") {
        worker.ask(Add(7)).await.expect("a group member answers");
    }
    // Another message type sees none of them.
    assert!(here.group_members::<Values>("workers").is_empty());

    let mut victim = nodes.pop().expect("three nodes");
    victim.kill().await;
    let left = members_become(&here, &mut events, "workers", 2).await;
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|id| all.contains(id)));
    here.shutdown().await;
}

#[tokio::test]
async fn a_member_that_stops_leaves_its_groups() {
    let here = in_process_node("q0", true, |builder| builder.cluster()).await;
    let mut events = here.group_events();
    let counter = here.system().spawn(Counter::default()).expect("spawn");
    here.join_group::<Add, Counter>("counters", &counter)
        .expect("a local actor joins");
    assert_eq!(
        members_become(&here, &mut events, "counters", 1).await,
        [counter.id()]
    );

    counter.stop();
    let left = within("the member to leave", async {
        loop {
            if let GroupEvent::Left { actor, .. } = events.recv().await.expect("group events") {
                return actor;
            }
        }
    })
    .await;
    assert_eq!(left, counter.id());
    assert!(here.group_members::<Add>("counters").is_empty());
    here.shutdown().await;
}

#[tokio::test]
async fn groups_need_a_cluster_member() {
    let here = test_node("lonely").await;
    let counter = here.system().spawn(Counter::default()).expect("spawn");
    assert_eq!(
        here.join_group::<Add, Counter>("counters", &counter),
        Err(GroupError::NotClustered)
    );
    here.shutdown().await;
}
