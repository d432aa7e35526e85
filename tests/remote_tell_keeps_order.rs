//! Thousands of tells from one node to a counter in another OS process
//! arrive, and are handled, in the order they were sent.

mod support_cluster;

use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{test_node, within, NodeProcess};

const TELLS: u64 = 5_000;

#[tokio::test]
async fn remote_tells_arrive_in_send_order() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");
    assert!(!counter.is_local());

    for n in 0..TELLS {
        counter.tell(Add(n)).await.expect("tell b's counter");
    }
    // The ask travels behind the tells on the same link, so it sees them all.
    let values = within("the counter's values", counter.ask(Values))
        .await
        .expect("ask b's counter");
    assert_eq!(values, (0..TELLS).collect::<Vec<_>>());

    a.shutdown().await;
}
