//! How nodes decide that a link is alive, and what they do when it is not:
//! a large frame arriving slowly counts as being heard (and its receiver
//! shows that it reads, so the sender does not take the missing
//! acknowledgement of the tell for a stall), nodes with
//! different heartbeat settings agree on one silence limit, `connect` gives
//! up on an address that never answers, and a peer that said goodbye is
//! not dialed again.

mod support_cluster;

use std::time::Duration;

use proscenium::net::{Node, NodeError, NodeEvent, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::cluster;
use support_cluster::fault_proxy::{Direction, FaultProxy, Flow};
use support_cluster::{in_process_node, node_down, node_up, within};
use tokio::sync::broadcast;

/// Counts the bytes of the blobs it is told.
#[derive(Default)]
struct Sink {
    received: usize,
}
impl Actor for Sink {}

#[derive(Serialize, Deserialize)]
struct Blob(Vec<u8>);
impl Message for Blob {
    type Reply = ();
}
impl RemoteMessage for Blob {
    const TAG: &'static str = "tests::link_liveness::Blob";
}
impl Handler<Blob> for Sink {
    async fn handle(&mut self, Blob(bytes): Blob, _: &mut Context<Self>) {
        self.received += bytes.len();
    }
}

#[derive(Serialize, Deserialize)]
struct Received;
impl Message for Received {
    type Reply = usize;
}
impl RemoteMessage for Received {
    const TAG: &'static str = "tests::link_liveness::Received";
}
impl Handler<Received> for Sink {
    async fn handle(&mut self, _: Received, _: &mut Context<Self>) -> usize {
        self.received
    }
}

fn registry() -> Registry {
    let mut registry = cluster::registry();
    registry.handler::<Sink, Blob>().handler::<Sink, Received>();
    registry
}

/// The `NodeDown` events `events` holds now, if any.
fn downs(events: &mut broadcast::Receiver<NodeEvent>) -> Vec<NodeEvent> {
    std::iter::from_fn(|| events.try_recv().ok())
        .filter(|event| matches!(event, NodeEvent::NodeDown { .. }))
        .collect()
}

async fn node(name: &str, listen: bool, heartbeat: Duration) -> Node {
    in_process_node(name, listen, |n| {
        n.registry(registry()).heartbeat(heartbeat)
    })
    .await
}

#[tokio::test]
async fn a_large_frame_arriving_slowly_keeps_the_link_alive() {
    // Silence limit and (on the sender) the write-stall timeout: about half
    // a second. The frame takes seconds, and the socket takes it at once,
    // so only acknowledgements can show the sender that b reads.
    let heartbeat = Duration::from_millis(100);
    let b = node("b", true, heartbeat).await;
    let a = in_process_node("a", false, |n| {
        n.registry(registry())
            .heartbeat(heartbeat)
            .write_stall_timeout(Duration::from_millis(500))
    })
    .await;
    let proxy = FaultProxy::start(b.local_addr().expect("b listens")).await;
    b.system()
        .spawn_named("sink", Sink::default())
        .expect("spawn the sink");
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.connect(proxy.addr())
        .await
        .expect("connect through the proxy");
    let sink = a.lookup::<Sink>("sink").await.expect("the sink, on b");

    const LEN: usize = 600_000;
    proxy.throttle(Flow::ToTarget, 200_000);
    sink.tell(Blob(vec![7; LEN])).await.expect("tell the blob");
    let received = within("the blob to arrive", sink.ask(Received)).await;
    assert_eq!(received, Ok(LEN));
    assert_eq!(downs(&mut a_events), vec![], "a cut the link");
    assert_eq!(downs(&mut b_events), vec![], "b cut the link");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn nodes_with_different_heartbeats_do_not_flap() {
    let b = node("b", true, Duration::from_millis(500)).await;
    let a = node("a", false, Duration::from_millis(20)).await;
    let proxy = FaultProxy::start(b.local_addr().expect("b listens")).await;
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.connect(proxy.addr())
        .await
        .expect("connect through the proxy");

    // Three more heartbeats from b (5 bytes each) span two of b's
    // intervals: many times a's own silence limit.
    let before = proxy.stats().bytes_forwarded(Direction::ToClient);
    within(
        "three of b's heartbeats",
        proxy.wait_for(|stats| stats.bytes_forwarded(Direction::ToClient) >= before + 15),
    )
    .await;
    assert_eq!(downs(&mut a_events), vec![], "a declared b silent");
    assert_eq!(downs(&mut b_events), vec![], "b declared a silent");
    assert_eq!(proxy.stats().accepted, 1, "the link was dialed again");
    a.shutdown().await;
    b.shutdown().await;
}

/// A listener whose accept queue is full: the kernel drops further SYNs,
/// so a connect to it hangs as to a black-holed address.
async fn black_hole() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("a loopback address"))
        .expect("bind");
    let listener = socket.listen(1).expect("listen");
    let addr = listener.local_addr().expect("its address");
    // Linux queues backlog + 1 connections that nobody accepts.
    let mut queued = Vec::new();
    for _ in 0..2 {
        queued.push(
            within(
                "a connection to queue",
                tokio::net::TcpStream::connect(addr),
            )
            .await
            .expect("queued"),
        );
    }
    (listener, queued)
}

#[tokio::test]
async fn connect_to_a_black_holed_address_times_out() {
    let (listener, _queued) = black_hole().await;
    let addr = listener.local_addr().expect("its address");
    let a = in_process_node("a", false, |n| {
        n.connect_timeout(Duration::from_millis(300))
    })
    .await;
    let result = within("connect to give up", a.connect(addr)).await;
    assert!(
        matches!(result, Err(NodeError::ConnectTimeout { .. })),
        "{result:?}"
    );
    a.shutdown().await;
}

#[tokio::test]
async fn a_peer_that_said_goodbye_is_not_dialed_again() {
    let b = node("b", true, Duration::from_secs(1)).await;
    let a = node("a", false, Duration::from_secs(1)).await;
    let proxy = FaultProxy::start(b.local_addr().expect("b listens")).await;
    let mut events = a.events();
    a.connect(proxy.addr())
        .await
        .expect("connect through the proxy");
    b.shutdown().await;
    node_down(&mut events, "b").await;

    // A redial would come within the first backoff (100 ms); an absence
    // needs a window, and this one is many times that.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        proxy.stats().accepted,
        1,
        "a dialed b again after its goodbye"
    );
    a.shutdown().await;
}

/// After a break that only the dialer noticed, the other node still holds
/// the old link when the redial arrives; it must take the new link at
/// once, not refuse it until its own silence check gives up on the old.
/// The proxy makes that break: it closes a's socket and holds b's open and
/// silent. The heartbeat is long, so b's silence check cannot end the old
/// link before the test's deadline does.
#[tokio::test]
async fn a_redial_replaces_a_link_the_other_side_still_holds() {
    let heartbeat = Duration::from_secs(60);
    let b = node("b", true, heartbeat).await;
    let a = node("a", false, heartbeat).await;
    b.system()
        .spawn_named("sink", Sink::default())
        .expect("spawn the sink");
    let proxy = FaultProxy::start(b.local_addr().expect("b listens")).await;
    let (mut a_events, mut b_events) = (a.events(), b.events());
    a.connect(proxy.addr()).await.expect("the first link");
    node_up(&mut a_events, "b").await;
    node_up(&mut b_events, "a").await;

    proxy.drop_client_sides();
    node_down(&mut b_events, "a").await;
    node_up(&mut b_events, "a").await;
    node_down(&mut a_events, "b").await;
    node_up(&mut a_events, "b").await;
    let sink = a.lookup::<Sink>("sink").await.expect("the sink, on b");
    sink.tell(Blob(vec![1; 10])).await.expect("tell");
    assert_eq!(within("b to answer", sink.ask(Received)).await, Ok(10));
    a.shutdown().await;
    b.shutdown().await;
}
