//! `Node::cluster_snapshot` across real processes on 127.0.0.1: every
//! member's actors and links arrive; a member that cannot answer in time
//! and one the cluster declared down are reported as such.

mod support_cluster;

use std::time::Duration;

use proscenium::net::{ClusterSnapshot, Node, NodeEvent, SnapshotError};
use support_cluster::{in_process_node, member_event, start_cluster, within, NodeProcess};
use tokio::sync::broadcast;

/// Far beyond the hang guard: an answer that comes, comes before this.
const PATIENT: Duration = Duration::from_secs(3600);

fn names(snapshot: &ClusterSnapshot) -> Vec<&str> {
    snapshot
        .nodes
        .iter()
        .map(|report| report.name.as_str())
        .collect()
}

/// Starts the test's own member `name`, joining through the first of
/// `processes`, and waits until it and every process see each other up.
async fn join(name: &str, processes: &mut [NodeProcess]) -> (Node, broadcast::Receiver<NodeEvent>) {
    let here = in_process_node(name, true, |b| b.seeds([processes[0].addr])).await;
    // Subscribed before the members are read: no change falls in between.
    let mut events = here.events();
    for process in processes.iter_mut() {
        process.member_event("up", name).await;
        let other = process.name.clone();
        if !here.members().iter().any(|m| m.name == other) {
            member_event(
                &mut events,
                &format!("{other} up"),
                |event| matches!(event, NodeEvent::MemberUp { name: n, .. } if *n == other),
            )
            .await;
        }
    }
    (here, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_member_reports_what_it_runs() {
    let mut processes = start_cluster(&["alpha", "beta"]).await;
    let (here, _events) = join("observer", &mut processes).await;

    let snapshot = within("the cluster snapshot", here.cluster_snapshot(PATIENT)).await;
    assert_eq!(snapshot.taken_by, here.id());
    assert_eq!(names(&snapshot), ["observer", "alpha", "beta"]);
    for report in &snapshot.nodes[1..] {
        let node = report
            .snapshot
            .as_ref()
            .unwrap_or_else(|e| panic!("{} did not answer: {e}", report.name));
        assert_eq!(
            (node.name.as_str(), node.node),
            (report.name.as_str(), report.node)
        );
        assert_eq!(node.actors_omitted, 0);
        for served in ["counter", "ponger", "relay"] {
            let actor = node
                .system
                .named(served)
                .unwrap_or_else(|| panic!("{} serves {served}", node.name));
            assert_eq!(actor.id.node(), node.node);
        }
        assert!(
            node.links.iter().any(|link| link.peer == here.id()
                && link.peer_name == "observer"
                // The handshake and the Inspect frame came in on it.
                && link.bytes_read > 0
                && link.bytes_written > 0),
            "{} has a link to the node that asked: {:?}",
            node.name,
            node.links
        );
        let mut members: Vec<_> = node.members.iter().map(|m| m.name.as_str()).collect();
        members.sort_unstable();
        assert_eq!(members, ["alpha", "beta", "observer"]);
    }
    let mine = snapshot.nodes[0].snapshot.as_ref().unwrap();
    assert_eq!(mine, &{
        // The local part is this node's own snapshot, as taken then.
        let mut now = here.snapshot();
        now.links.clone_from(&mine.links);
        now.stats = mine.stats;
        now.members.clone_from(&mine.members);
        now
    });
    here.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_member_is_no_answer_and_a_dead_one_is_down() {
    let mut processes = start_cluster(&["gamma", "delta"]).await;
    let (here, mut events) = join("asker", &mut processes).await;
    // Linked first, so the frozen process holds a link it cannot answer on.
    let linked = within("a first snapshot", here.cluster_snapshot(PATIENT)).await;
    assert_eq!(linked.answered().count(), 3);

    processes[1].pause().await;
    // A process that is stopped cannot answer, however long it is given.
    let frozen = within(
        "a snapshot with delta frozen",
        here.cluster_snapshot(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(names(&frozen), ["asker", "delta", "gamma"]);
    assert_eq!(
        frozen.nodes[1].snapshot,
        Err(SnapshotError::NoAnswer(Duration::from_secs(1)))
    );
    assert!(frozen.nodes[2].snapshot.is_ok(), "gamma still answers");

    processes[1].resume().await;
    processes[1].kill().await;
    member_event(
        &mut events,
        "delta declared down",
        |event| matches!(event, NodeEvent::MemberDown { name, .. } if name == "delta"),
    )
    .await;
    let after = within(
        "a snapshot after delta died",
        here.cluster_snapshot(PATIENT),
    )
    .await;
    let delta = after
        .nodes
        .iter()
        .find(|r| r.name == "delta")
        .expect("still listed");
    assert_eq!(delta.snapshot, Err(SnapshotError::Down));
    here.shutdown().await;
}
