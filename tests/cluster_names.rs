//! Cluster-wide names across real processes on 127.0.0.1: a name
//! registered on one node is found and asked from another; it vanishes
//! when its actor stops and when its node is killed; a name registered on
//! two nodes that did not know of each other ends with one winner, by the
//! rule, on both; and a group table larger than one datagram converges.

mod support_cluster;

use proscenium::net::{NameError, NameEvent, Node, NodeEvent};
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Ponger, Values};
use support_cluster::{in_process_node, within, MemberOptions, NodeProcess};
use tokio::sync::broadcast;

/// Waits, event by event, until `node` sees `name` held (by the actor it
/// returns) or, with `held` false, sees it free.
async fn name_becomes(
    node: &Node,
    events: &mut broadcast::Receiver<NameEvent>,
    name: &str,
    held: bool,
) -> Option<ActorId> {
    within(&format!("{name} held: {held}"), async {
        loop {
            let holder = node
                .global_names()
                .into_iter()
                .find(|(n, _)| n == name)
                .map(|(_, actor)| actor);
            if holder.is_some() == held {
                return holder;
            }
            events.recv().await.expect("name events");
        }
    })
    .await
}

/// Waits until `node` has a link to the node called `name`: a name can
/// arrive (over UDP) before the link its ref needs.
async fn linked(node: &Node, events: &mut broadcast::Receiver<NodeEvent>, name: &str) {
    within(&format!("a link to {name}"), async {
        while !node.peers().iter().any(|(_, peer)| peer == name) {
            let _ = events.recv().await;
        }
    })
    .await;
}

/// The actor id in a `<WORD> <name> <id>` line.
fn last_word(line: &str) -> String {
    line.rsplit(' ').next().expect("a word").to_owned()
}

/// Has `node` register a new counter under `name`; its actor id.
async fn register(node: &mut NodeProcess, name: &str) -> String {
    node.send_line(&format!("register {name}")).await;
    let prefix = format!("REGISTERED {name} ");
    let line = node
        .line_where(&prefix, |line| {
            line.starts_with(&prefix) || line.starts_with("NOT-REGISTERED")
        })
        .await;
    assert!(line.starts_with(&prefix), "{line}");
    last_word(&line)
}

async fn whereis(node: &mut NodeProcess, name: &str) -> String {
    node.send_line(&format!("whereis {name}")).await;
    let prefix = format!("WHEREIS {name} ");
    last_word(
        &node
            .line_where(&prefix, |line| line.starts_with(&prefix))
            .await,
    )
}

async fn first_member(name: &str) -> NodeProcess {
    NodeProcess::start_member(name, MemberOptions::default()).await
}

async fn member_of(name: &str, seed: &NodeProcess) -> NodeProcess {
    let options = MemberOptions {
        seeds: vec![seed.addr],
        ..MemberOptions::default()
    };
    NodeProcess::start_member(name, options).await
}

#[tokio::test]
async fn a_name_registered_on_one_node_is_found_asked_and_freed_when_its_actor_stops() {
    let mut owner = first_member("n1").await;
    let here = in_process_node("n0", true, |builder| builder.seeds([owner.addr])).await;
    let mut node_events = here.events();
    let mut events = here.name_events();
    let id = register(&mut owner, "svc").await;

    let holder = name_becomes(&here, &mut events, "svc", true).await;
    assert_eq!(holder.map(|a| a.full().to_string()), Some(id.clone()));
    linked(&here, &mut node_events, "n1").await;
    let counter = here
        .lookup_global::<Counter>("svc")
        .expect("a remote ref by the name");
    counter.ask(Add(5)).await.expect("the holder answers");
    assert_eq!(counter.ask(Values).await.expect("values"), [5]);
    // The name holds a Counter: asked for another type, nothing.
    assert!(here.lookup_global::<Ponger>("svc").is_none());
    // Taken here too.
    let mine = here.system().spawn(Counter::default()).expect("spawn");
    match here.register_global("svc", &mine) {
        Err(NameError::Taken { holder, .. }) => assert_eq!(holder.full().to_string(), id),
        other => panic!("expected Taken, got {other:?}"),
    }

    owner.send_line("stop svc").await;
    name_becomes(&here, &mut events, "svc", false).await;
    assert!(here.lookup_global::<Counter>("svc").is_none());
    // Free again: this node takes it, and the other node finds it here.
    here.register_global("svc", &mine)
        .expect("the name is free");
    owner
        .line_where("the new holder", |line| {
            line == format!("NAME registered svc {}", mine.id().full())
        })
        .await;
    assert_eq!(
        whereis(&mut owner, "svc").await,
        mine.id().full().to_string()
    );
    here.shutdown().await;
}

#[tokio::test]
async fn a_name_vanishes_everywhere_when_its_node_is_killed() {
    let mut seed = first_member("k1").await;
    let mut victim = member_of("k2", &seed).await;
    seed.member_event("up", "k2").await;
    let here = in_process_node("k0", true, |builder| builder.seeds([seed.addr])).await;
    let mut events = here.name_events();
    let id = register(&mut victim, "doomed").await;
    let holder = name_becomes(&here, &mut events, "doomed", true).await;
    assert_eq!(holder.map(|a| a.full().to_string()), Some(id.clone()));
    seed.line_where("the name on the seed", |line| {
        line == format!("NAME registered doomed {id}")
    })
    .await;

    victim.kill().await;
    name_becomes(&here, &mut events, "doomed", false).await;
    seed.line_where("the name gone on the seed", |line| {
        line == format!("NAME unregistered doomed {id}")
    })
    .await;
    assert_eq!(whereis(&mut seed, "doomed").await, "none");
    here.shutdown().await;
}

#[tokio::test]
async fn a_name_registered_on_both_sides_of_a_partition_ends_with_the_earlier_one() {
    let mut first = first_member("p1").await;
    let earlier = register(&mut first, "leader").await;
    // Paused, `first` cannot answer the second node's join: the second
    // registers the same name without knowing of the first.
    first.pause().await;
    let mut second = member_of("p2", &first).await;
    let later = register(&mut second, "leader").await;
    first.resume().await;

    // The rule: the lowest (hybrid clock stamp, actor id) wins; on one
    // machine's clock, the earlier registration. The loser's node says so.
    second
        .line_where("the conflict on the loser's node", |line| {
            line == format!("NAME conflict leader {earlier} {later}")
        })
        .await;
    assert_eq!(whereis(&mut second, "leader").await, earlier);
    assert_eq!(whereis(&mut first, "leader").await, earlier);
    // Known on both sides, the name is taken on both.
    second.send_line("register leader").await;
    second
        .line_where("a refused registration", |line| {
            line.starts_with("NOT-REGISTERED leader")
        })
        .await;
}

#[tokio::test]
async fn a_group_table_larger_than_a_datagram_converges() {
    const GROUPS: usize = 150;
    let mut owner = first_member("g1").await;
    let here = in_process_node("g0", true, |builder| builder.seeds([owner.addr])).await;
    let mut events = here.group_events();
    let prefix = "a-group-with-a-rather-long-name";
    owner
        .send_line(&format!("join-many {prefix} {GROUPS}"))
        .await;
    owner
        .line_where("JOINED-MANY", |line| line.starts_with("JOINED-MANY"))
        .await;
    let complete = |node: &Node| {
        (0..GROUPS).all(|i| node.group_members::<Add>(&format!("{prefix}-{i}")).len() == 1)
    };
    within("every group on the other node", async {
        while !complete(&here) {
            if let Err(broadcast::error::RecvError::Closed) = events.recv().await {
                panic!("the group events ended");
            }
        }
    })
    .await;
    here.shutdown().await;
}
