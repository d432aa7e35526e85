//! A node with another cluster secret cannot connect, and the node it
//! tried goes on serving peers that hold the right one.

mod support_cluster;

use proscenium::net::{HandshakeError, Node, NodeError};
use support_cluster::cluster::{self, Add, Counter, Values};
use support_cluster::{test_node, NodeProcess};

#[tokio::test]
async fn a_node_with_another_secret_is_refused() {
    let b = NodeProcess::start("b").await;
    let good = test_node("good").await;
    let b_id = good.connect(b.addr).await.expect("connect with the secret");
    let counter = good
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers")
        .expect("b has a counter");
    counter.tell(Add(1)).await.expect("tell");

    let intruder = Node::builder("intruder")
        .secret(b"not the cluster secret, but long enough".to_vec())
        .registry(cluster::registry())
        .start()
        .await
        .expect("start");
    for _ in 0..3 {
        let refused = intruder.connect(b.addr).await;
        assert!(
            matches!(
                refused,
                Err(NodeError::Handshake {
                    source: HandshakeError::ProofRejected
                        | HandshakeError::BadProof
                        | HandshakeError::Closed,
                    ..
                })
            ),
            "{refused:?}"
        );
    }
    assert!(intruder.peers().is_empty());
    assert!(intruder.lookup::<Counter>("counter").await.is_none());

    // b still serves the connected peer, and a new one.
    counter.tell(Add(2)).await.expect("tell");
    assert_eq!(counter.ask(Values).await, Ok(vec![1, 2]));
    let late = test_node("late").await;
    let b_again = late
        .connect(b.addr)
        .await
        .expect("connect after the intruder");
    assert_eq!(b_again, b_id);
    let counter = late.lookup::<Counter>("counter").await.expect("found");
    assert_eq!(counter.ask(Values).await, Ok(vec![1, 2]));

    intruder.shutdown().await;
    late.shutdown().await;
    good.shutdown().await;
}
