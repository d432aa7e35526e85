//! A remote tell waits for room when the connection to its node cannot
//! keep up, instead of queueing without bound, and nothing accepted is
//! lost: a fault proxy on 127.0.0.1 between two nodes is frozen, the sender tells
//! until the link's outbox is full, then the proxy thaws and every message
//! arrives, in order.

mod support_cluster;

use std::time::Duration;

use proscenium::net::Node;
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::fault_proxy::FaultProxy;
use support_cluster::{in_process_node, within};

/// The sender's outbox capacity, in bytes (a few dozen small tells).
const CAPACITY: usize = 4 * 1024;
/// More tells than the frozen sockets' buffers plus the outbox can hold:
/// accepting this many means nothing held them back.
const UNBOUNDED: u64 = 2_000_000;
/// `try_tell` refusals in a row (with yields between, so the link's writer
/// can run) after which the writer is taken to be stuck on the frozen socket.
const STUCK: u32 = 200;

async fn node(name: &str, listen: bool) -> Node {
    in_process_node(name, listen, |node| {
        // Longer than the test: the frozen link must not be declared silent
        // or stalled.
        node.outbox_bytes(CAPACITY)
            .heartbeat(Duration::from_secs(600))
            .write_stall_timeout(Duration::from_secs(600))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_wait_for_room_while_the_network_is_stuck_and_none_is_lost() {
    // On a worker thread, where a yield lets the link's writer run (the
    // test's own thread is outside the runtime's scheduler).
    tokio::spawn(fill_then_thaw()).await.unwrap();
}

async fn fill_then_thaw() {
    let alpha = node("alpha", true).await;
    alpha
        .system()
        .spawn_named("counter", Counter::default())
        .unwrap();
    let beta = node("beta", false).await;
    let relay = FaultProxy::start(alpha.local_addr().unwrap()).await;
    within("beta to connect", beta.connect(relay.addr()))
        .await
        .unwrap();
    let counter = within("the lookup", beta.lookup::<Counter>("counter"))
        .await
        .expect("the counter on alpha");

    relay.freeze();
    // Fill the sockets' buffers, then the outbox, until tells find no room.
    let mut accepted = 0_u64;
    let mut refused_in_a_row = 0;
    while refused_in_a_row < STUCK {
        match counter.try_tell(Add(accepted)) {
            Ok(()) => {
                accepted += 1;
                refused_in_a_row = 0;
                assert!(accepted < UNBOUNDED, "tells were never held back");
            }
            Err(TrySendError::Full(Add(refused))) => {
                assert_eq!(refused, accepted, "the refused message comes back");
                refused_in_a_row += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
        tokio::task::yield_now().await;
    }

    // A tell now waits for room rather than queueing.
    let waiting = tokio::spawn({
        let counter = counter.clone();
        async move { counter.tell(Add(accepted)).await }
    });
    for _ in 0..STUCK {
        tokio::task::yield_now().await;
    }
    assert!(!waiting.is_finished(), "a tell went through a full link");

    relay.thaw();
    within("the waiting tell", waiting)
        .await
        .unwrap()
        .expect("queued once there was room");
    let values = within("the values", counter.ask(Values)).await.unwrap();
    assert_eq!(values, (0..=accepted).collect::<Vec<_>>());

    beta.shutdown().await;
    alpha.shutdown().await;
}
