//! A remote tell already written to the connection when the connection
//! breaks is not lost without a trace: the receiver acknowledges the tells
//! it has taken, and the sender reports every tell it wrote but never saw
//! acknowledged as a dead letter that is *possibly delivered* (it may have
//! arrived, the sender cannot know). A new connection after the break does
//! not send them again: delivery stays at most once.
//!
//! Two in-process nodes reach each other through a fault proxy on
//! 127.0.0.1; the proxy freezes (reads nothing either way) while the
//! sender's tells are in the sockets' buffers, until both nodes declare the
//! other silent.

mod support_cluster;

use std::time::Duration;

use proscenium::net::Node;
use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::fault_proxy::FaultProxy;
use support_cluster::{in_process_node, node_down, node_up, within};

/// Tells in flight when the link breaks: few enough for the sockets'
/// buffers, so every one is written before the proxy is frozen for good.
const IN_FLIGHT: u64 = 200;

async fn node(name: &str, listen: bool) -> Node {
    // A short heartbeat: the frozen link is declared silent quickly.
    in_process_node(name, listen, |node| {
        node.heartbeat(Duration::from_millis(50))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tells_written_before_a_break_are_reported_possibly_delivered_and_not_resent() {
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
    // One round trip, so the link is settled before the fault.
    assert_eq!(within("the values", counter.ask(Values)).await, Ok(vec![]));
    let mut events = beta.events();
    let mut dead_letters = beta.system().dead_letters();

    relay.freeze();
    for n in 0..IN_FLIGHT {
        counter.try_tell(Add(n)).expect("room in the outbox");
    }
    node_down(&mut events, "alpha").await;

    // Every tell comes back, in the order it was sent: none was
    // acknowledged, so none is known to have arrived.
    let mut possibly_delivered = 0;
    for n in 0..IN_FLIGHT {
        let letter = within(
            &format!("dead letter {n} of {IN_FLIGHT}"),
            dead_letters.recv(),
        )
        .await
        .expect("dead letters");
        assert_eq!(letter.recipient, counter.id());
        assert_eq!(letter.reason, StopReason::NodeDown);
        assert!(letter.message_type.ends_with("Add"), "{letter:?}");
        if letter.possibly_delivered {
            possibly_delivered += 1;
        }
    }
    let stats = beta.stats();
    assert_eq!(
        stats.tells_unsent + stats.tells_unacknowledged,
        IN_FLIGHT,
        "{stats:?}"
    );
    assert_eq!(stats.tells_unacknowledged, possibly_delivered, "{stats:?}");
    assert!(possibly_delivered > 0, "the tells were written: {stats:?}");

    // The new link does not send them again: at most once.
    relay.thaw();
    node_up(&mut events, "alpha").await;
    counter.tell(Add(IN_FLIGHT)).await.expect("a live link");
    let values = within("the values", counter.ask(Values)).await.unwrap();
    let (late, old): (Vec<u64>, Vec<u64>) = values.iter().partition(|&&n| n == IN_FLIGHT);
    assert_eq!(late, [IN_FLIGHT], "{values:?}");
    assert!(
        old.len() as u64 <= possibly_delivered && old.is_sorted(),
        "{values:?}"
    );

    within("beta's shutdown", beta.shutdown()).await;
    within("alpha's shutdown", alpha.shutdown()).await;
}
