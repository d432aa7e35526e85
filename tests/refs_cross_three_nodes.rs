//! Refs inside messages come out on the far node as refs that route back,
//! also when handed on to a third node: the test process is node `a`,
//! child processes are `b` and `c` (with `c` connected to `b`).

mod support_cluster;

use support_cluster::cluster::{
    Collected, Collector, Counter, Forward, Ping, Ponger, Relay, Values,
};
use support_cluster::{test_node, within, NodeOptions, NodeProcess};

#[tokio::test]
async fn a_ref_made_on_a_reaches_b_through_c() {
    let b = NodeProcess::start("b").await;
    let c = NodeProcess::start_with(
        "c",
        NodeOptions {
            listen: None,
            connect: vec![b.addr],
        },
    )
    .await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let c_id = a.connect(c.addr).await.expect("connect to c");

    // A ref to b's counter, made on a from a lookup on b...
    let b_counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers")
        .expect("b has a counter");
    let c_relay = a
        .lookup_on::<Relay>(c_id, "relay")
        .await
        .expect("c answers")
        .expect("c has a relay");
    // ...serialized to c, which uses it to reach b (and answers once b has it).
    for value in [11, 22, 33] {
        let forwarded = within(
            "c's relay",
            c_relay.ask(Forward {
                to: b_counter.clone(),
                value,
            }),
        )
        .await;
        assert_eq!(forwarded, Ok(true), "c could not reach b's counter");
    }
    assert_eq!(b_counter.ask(Values).await, Ok(vec![11, 22, 33]));

    // c's own counter got nothing: the ref named b's actor, not a name.
    let c_counter = a
        .lookup_on::<Counter>(c_id, "counter")
        .await
        .expect("c answers")
        .expect("c has a counter");
    assert_eq!(c_counter.ask(Values).await, Ok(vec![]));
    a.shutdown().await;
}

#[tokio::test]
async fn a_reply_to_ref_routes_back_to_the_sender() {
    let b = NodeProcess::start("b").await;
    let c = NodeProcess::start_with(
        "c",
        NodeOptions {
            listen: None,
            connect: vec![b.addr],
        },
    )
    .await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let c_id = a.connect(c.addr).await.expect("connect to c");
    let collector = a.system().spawn(Collector::default()).expect("spawn");

    for (n, node) in [(1, b_id), (2, c_id), (3, b_id)] {
        let ponger = a
            .lookup_on::<Ponger>(node, "ponger")
            .await
            .expect("the node answers")
            .expect("it has a ponger");
        let answered_from = within(
            "a ponger",
            ponger.ask(Ping {
                n,
                reply_to: collector.clone(),
            }),
        )
        .await
        .expect("ping");
        assert_eq!(answered_from, node.full().to_string());
    }
    // Each pong was told to the collector before its ping's reply left, on
    // the same link, so all three are in by now.
    let pongs = collector.ask(Collected).await.expect("collected");
    assert_eq!(
        pongs,
        vec![
            (1, b_id.full().to_string()),
            (2, c_id.full().to_string()),
            (3, b_id.full().to_string())
        ]
    );
    a.shutdown().await;
}
