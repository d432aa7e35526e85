//! Cluster membership across real processes on 127.0.0.1: nodes join
//! through a seed, see each other up, see a killed member down and its
//! restart as a new run, see a graceful shutdown as leaving, never list a
//! node without the secret, and link to each other without `connect`.

mod support_cluster;

use std::future::{poll_fn, Future};
use std::task::Poll;
use std::time::Duration;

use proscenium::net::{
    MemberState, MembershipConfig, MembershipConfigError, Node, NodeError, NodeEvent,
};
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Collector, Counter, Ping, Ponger, Stall, Values};
use support_cluster::{
    in_process_node, member_event, node_up, start_cluster, within, MemberOptions, NodeProcess,
};

/// Far beyond the hang guard: if an ask ends, it was not by timing out.
const NEVER: Duration = Duration::from_secs(3600);

fn all_up(names: &[&str]) -> Vec<String> {
    names.iter().map(|name| format!("{name}=up")).collect()
}

#[tokio::test]
async fn five_processes_join_through_one_seed_and_each_lists_all_five() {
    let names = ["a", "b", "c", "d", "e"];
    let mut nodes = start_cluster(&names).await;
    for node in &mut nodes {
        assert_eq!(
            node.members().await,
            all_up(&names),
            "members of {}",
            node.name
        );
    }
}

#[tokio::test]
async fn a_killed_member_is_seen_down_and_its_restart_rejoins_as_a_new_run() {
    let names = ["k1", "k2", "k3", "k4"];
    let mut nodes = start_cluster(&names).await;
    let mut victim = nodes.pop().expect("four nodes");
    let addr = victim.addr;
    victim.kill().await;
    let mut old_run = None;
    for node in &mut nodes {
        let run = node.member_event("down", "k4").await;
        assert_eq!(*old_run.get_or_insert_with(|| run.clone()), run);
    }
    let old_run = old_run.expect("three witnesses");

    let restarted = NodeProcess::start_member(
        "k4",
        MemberOptions {
            listen: Some(addr),
            seeds: vec![nodes[0].addr],
            ..MemberOptions::default()
        },
    )
    .await;
    let old_up = format!("MEMBER up k4 {old_run}");
    for node in &mut nodes {
        node.line_where("k4's new run up", |line| {
            line.starts_with("MEMBER up k4 ") && line != old_up
        })
        .await;
        // One k4, up: the old run left no ghost.
        assert_eq!(node.members().await, all_up(&names));
    }
    drop(restarted);
}

#[tokio::test]
async fn a_graceful_shutdown_is_seen_as_leaving() {
    let names = ["g1", "g2", "g3"];
    let mut nodes = start_cluster(&names).await;
    let mut leaving = nodes.pop().expect("three nodes");
    leaving.quit().await;
    for node in &mut nodes {
        node.member_event("left", "g3").await;
        assert_eq!(node.members().await, ["g1=up", "g2=up", "g3=left"]);
    }
}

#[tokio::test]
async fn a_node_with_the_wrong_secret_is_never_listed() {
    let mut seed = NodeProcess::start_member("s1", MemberOptions::default()).await;
    let joining = |secret: Option<&str>| MemberOptions {
        seeds: vec![seed.addr],
        secret: secret.map(str::to_owned),
        ..MemberOptions::default()
    };
    let mut intruder = NodeProcess::start_member(
        "w1",
        joining(Some("not the cluster's secret at all, though long enough")),
    )
    .await;
    // Started after the intruder, which announces itself from its start.
    let mut member = NodeProcess::start_member("s2", joining(None)).await;
    seed.member_event("up", "s2").await;
    member.member_event("up", "s1").await;
    assert_eq!(seed.members().await, ["s1=up", "s2=up"]);
    assert_eq!(member.members().await, ["s1=up", "s2=up"]);
    assert_eq!(intruder.members().await, ["w1=up"]);
}

#[tokio::test]
async fn members_link_to_each_other_without_connect() {
    let mut seed = NodeProcess::start_member("m1", MemberOptions::default()).await;
    let other = NodeProcess::start_member(
        "m2",
        MemberOptions {
            seeds: vec![seed.addr],
            ..MemberOptions::default()
        },
    )
    .await;
    seed.member_event("up", "m2").await;
    let here = in_process_node("m0", true, |builder| builder.seeds([seed.addr])).await;
    let mut events = here.events();
    // Subscribed after the start: the links may already be up.
    let linked = |name: &str| here.peers().iter().any(|(_, peer)| peer == name);
    let m2 = match here.peers().into_iter().find(|(_, name)| name == "m2") {
        Some((id, _)) => id,
        None => node_up(&mut events, "m2").await,
    };
    let counter = here
        .lookup_on::<Counter>(m2, "counter")
        .await
        .expect("m2 answers")
        .expect("m2 has a counter");
    counter.ask(Add(7)).await.expect("m2's counter answers");
    assert_eq!(counter.ask(Values).await, Ok(vec![7]));
    if !linked("m1") {
        node_up(&mut events, "m1").await;
    }
    assert_eq!(here.members().len(), 3);
    here.shutdown().await;
    drop(other);
}

#[tokio::test]
async fn a_member_declared_down_fails_pending_asks_before_tcp_notices() {
    let mut paused = NodeProcess::start_member("p1", MemberOptions::default()).await;
    // Heartbeats an hour apart: the link itself will not notice a silent peer.
    let here = in_process_node("p0", true, |builder| {
        builder
            .seeds([paused.addr])
            .heartbeat(Duration::from_secs(3600))
    })
    .await;
    let mut events = here.events();
    paused.member_event("up", "p0").await;
    let p1 = match here.peers().into_iter().find(|(_, name)| name == "p1") {
        Some((id, _)) => id,
        None => node_up(&mut events, "p1").await,
    };
    let counter = here
        .lookup_on::<Counter>(p1, "counter")
        .await
        .expect("p1 answers")
        .expect("p1 has a counter");
    let mut pending = Box::pin(counter.ask_timeout(Stall, NEVER));
    poll_fn(|cx| {
        assert!(pending.as_mut().poll(cx).is_pending());
        Poll::Ready(())
    })
    .await;
    // A round trip behind the stall: p1 has read it once this is answered.
    let ponger = here
        .lookup_on::<Ponger>(p1, "ponger")
        .await
        .expect("p1 answers")
        .expect("p1 has a ponger");
    let collector = here.system().spawn(Collector::default()).expect("spawn");
    ponger
        .ask(Ping {
            n: 1,
            reply_to: collector,
        })
        .await
        .expect("p1 answers a ping");

    paused.pause().await;
    let down = member_event(
        &mut events,
        "p1 declared down",
        |event| matches!(event, NodeEvent::MemberDown { name, .. } if name == "p1"),
    )
    .await;
    assert!(matches!(down, NodeEvent::MemberDown { node, .. } if node == p1));
    assert_eq!(
        within("the pending ask to fail", pending).await,
        Err(AskError::NodeDown)
    );
    let listed = here.members();
    let p1_state = listed.iter().find(|member| member.name == "p1");
    assert_eq!(p1_state.map(|member| member.state), Some(MemberState::Down));
    paused.resume().await;
    here.shutdown().await;
}

#[tokio::test]
async fn a_member_listening_on_all_interfaces_is_reached_at_its_advertised_address() {
    let here = in_process_node("v0", false, |builder| {
        builder
            .listen("0.0.0.0:0".parse().expect("an address"))
            .advertise("127.0.0.1:0".parse().expect("an address"))
            .cluster()
    })
    .await;
    let mut events = here.events();
    let port = here.local_addr().expect("it listens").port();
    let advertised = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    assert_eq!(here.advertised_addr(), Some(advertised));
    let mut other = NodeProcess::start_member(
        "v1",
        MemberOptions {
            seeds: vec![advertised],
            ..MemberOptions::default()
        },
    )
    .await;
    other.member_event("up", "v0").await;
    member_event(
        &mut events,
        "v1 up",
        |event| matches!(event, NodeEvent::MemberUp { name, .. } if name == "v1"),
    )
    .await;
    let listed = here.members();
    let me = listed.iter().find(|member| member.name == "v0");
    assert_eq!(me.map(|member| member.addr), Some(advertised));
    assert_eq!(other.members().await, ["v0=up", "v1=up"]);
    // A link, dialed by whichever has the lower node number, works.
    let v1 = match here.peers().into_iter().find(|(_, name)| name == "v1") {
        Some((id, _)) => id,
        None => node_up(&mut events, "v1").await,
    };
    let counter = here
        .lookup_on::<Counter>(v1, "counter")
        .await
        .expect("v1 answers")
        .expect("v1 has a counter");
    counter.ask(Add(3)).await.expect("v1's counter answers");
    here.shutdown().await;
}

#[tokio::test]
async fn a_member_listening_on_all_interfaces_without_an_advertised_address_is_refused() {
    let refused = Node::builder("u0")
        .secret(support_cluster::cluster::secret())
        .allow_weak_secret()
        .listen("0.0.0.0:0".parse().expect("an address"))
        .cluster()
        .start()
        .await;
    assert!(
        matches!(refused, Err(NodeError::MembershipAddress(addr)) if addr.ip().is_unspecified()),
        "{refused:?}"
    );
}

#[tokio::test]
async fn unusable_membership_settings_are_refused_at_start() {
    let refused = Node::builder("c0")
        .secret(support_cluster::cluster::secret())
        .allow_weak_secret()
        .listen("127.0.0.1:0".parse().expect("an address"))
        .cluster()
        .membership(MembershipConfig::default().suspicion(Duration::ZERO))
        .start()
        .await;
    assert!(
        matches!(
            refused,
            Err(NodeError::MembershipConfig(MembershipConfigError::Zero(
                "suspicion"
            )))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_member_joins_through_an_address_its_seed_source_finds_later() {
    let mut first = NodeProcess::start_member("f1", MemberOptions::default()).await;
    let (found, source) = tokio::sync::mpsc::unbounded_channel::<std::net::SocketAddr>();
    let source = futures_util::stream::unfold(source, |mut source| async move {
        source.recv().await.map(|addr| (addr, source))
    });
    let here = in_process_node("f0", true, |builder| builder.seed_source(source)).await;
    let mut events = here.events();
    // Its own address first: skipped, not announced to.
    found
        .send(here.advertised_addr().expect("it listens"))
        .expect("the source is read");
    found.send(first.addr).expect("the source is read");
    member_event(
        &mut events,
        "f1 up",
        |event| matches!(event, NodeEvent::MemberUp { name, .. } if name == "f1"),
    )
    .await;
    first.member_event("up", "f0").await;
    assert_eq!(first.members().await, ["f0=up", "f1=up"]);
    let listed: Vec<_> = here.members().into_iter().map(|m| m.name).collect();
    assert_eq!(listed, ["f0", "f1"]);
    here.shutdown().await;
}
