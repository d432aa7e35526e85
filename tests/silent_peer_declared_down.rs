//! A peer whose connection stays open but carries nothing, not even
//! heartbeats, is declared down: a fault proxy on 127.0.0.1 between two nodes is
//! frozen (it keeps both sockets open and forwards nothing), and each node
//! fires `NodeDown` for the other.

mod support_cluster;

use std::time::Duration;

use proscenium::net::Node;
use support_cluster::fault_proxy::FaultProxy;
use support_cluster::{in_process_node, node_down, node_up, within};

async fn node(name: &str, listen: bool) -> Node {
    in_process_node(name, listen, |node| {
        node.heartbeat(Duration::from_millis(50))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_declare_a_silent_peer_down() {
    let alpha = node("alpha", true).await;
    let beta = node("beta", false).await;
    let relay = FaultProxy::start(alpha.local_addr().unwrap()).await;
    let mut alpha_events = alpha.events();
    let mut beta_events = beta.events();

    within("beta to connect", beta.connect(relay.addr()))
        .await
        .unwrap();
    node_up(&mut alpha_events, "beta").await;
    node_up(&mut beta_events, "alpha").await;

    relay.freeze();
    node_down(&mut alpha_events, "beta").await;
    node_down(&mut beta_events, "alpha").await;

    beta.shutdown().await;
    alpha.shutdown().await;
}
