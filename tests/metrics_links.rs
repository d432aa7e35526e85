//! The link metrics of two real nodes on 127.0.0.1 move as the `metrics`
//! module documents them (feature `metrics`; run with
//! `cargo test --features metrics --test metrics_links`).
//!
//! Both nodes run in this test's current-thread runtime and record into
//! one `DebuggingRecorder` installed as the thread's default; each node's
//! series carry the other's name as `peer`.

mod support_cluster;

use std::collections::HashMap;
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use proscenium::net::NodeEvent;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{in_process_node, node_down, within};

/// Counters summed and gauges kept (their last value above zero) over
/// several snapshots: taking one resets the recorder's values.
#[derive(Default)]
struct Totals {
    counters: HashMap<(String, String), u64>,
    gauges: HashMap<(String, String), f64>,
}

impl Totals {
    /// Adds a snapshot; series are keyed by name and `peer` label.
    fn take(&mut self, snapshotter: &Snapshotter) {
        for (key, _, _, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let peer = key
                .labels()
                .find(|label| label.key() == "peer")
                .map(|label| label.value().to_owned())
                .unwrap_or_default();
            let series = (key.name().to_owned(), peer);
            match value {
                DebugValue::Counter(n) => *self.counters.entry(series).or_default() += n,
                DebugValue::Gauge(x) if x.into_inner() > 0.0 => {
                    self.gauges.insert(series, x.into_inner());
                }
                _ => {}
            }
        }
    }

    fn counter(&self, name: &str, peer: &str) -> u64 {
        let series = (name.to_owned(), peer.to_owned());
        *self
            .counters
            .get(&series)
            .unwrap_or_else(|| panic!("no counter {name} with peer={peer}"))
    }

    fn gauge(&self, name: &str, peer: &str) -> Option<f64> {
        self.gauges
            .get(&(name.to_owned(), peer.to_owned()))
            .copied()
    }
}

const HEARTBEAT: Duration = Duration::from_millis(20);

#[tokio::test]
async fn both_ends_of_a_link_count_frames_bytes_round_trips_and_reconnects() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let b = in_process_node("b", true, |node| node.metrics(true)).await;
    b.system()
        .spawn_named("counter", Counter::default())
        .expect("spawn the counter");
    let mut b_events = b.events();
    let a = in_process_node("a", false, |node| node.metrics(true).heartbeat(HEARTBEAT)).await;
    let b_addr = b.local_addr().expect("b listens");
    let b_id = a.connect(b_addr).await.expect("connect to b");
    let counter = a
        .lookup_on::<Counter>(b_id, "counter")
        .await
        .expect("b answers the lookup")
        .expect("b has a counter");
    for n in 0..10 {
        counter.tell(Add(n)).await.expect("tell");
    }
    assert_eq!(counter.ask(Values).await.map(|v| v.len()), Ok(10));

    // The idle link pings every heartbeat; wait for an answered one.
    let mut totals = Totals::default();
    within("a round-trip time", async {
        loop {
            totals.take(&snapshotter);
            if totals.gauge("proscenium_link_rtt_seconds", "b").is_some() {
                break;
            }
            tokio::time::sleep(HEARTBEAT).await;
        }
    })
    .await;

    // A goodbye is a's last frame, and b reads up to it before its
    // NodeDown: every frame a wrote, b has read.
    a.shutdown().await;
    node_down(&mut b_events, "a").await;
    totals.take(&snapshotter);
    let sent = totals.counter("proscenium_link_frames_sent_total", "b");
    // The lookup, ten tells and an ask at least.
    assert!(sent >= 12, "a sent {sent} frames");
    assert_eq!(
        totals.counter("proscenium_link_frames_received_total", "a"),
        sent
    );
    for (name, peer) in [
        ("proscenium_link_frames_received_total", "b"),
        ("proscenium_link_frames_sent_total", "a"),
        ("proscenium_link_bytes_sent_total", "b"),
        ("proscenium_link_bytes_received_total", "b"),
        ("proscenium_link_bytes_sent_total", "a"),
        ("proscenium_link_bytes_received_total", "a"),
    ] {
        assert!(
            totals.counter(name, peer) > 0,
            "{name} with peer={peer} is 0"
        );
    }
    assert_eq!(totals.counter("proscenium_link_reconnects_total", "b"), 0);
    assert_eq!(totals.counter("proscenium_link_reconnects_total", "a"), 0);

    // A node named `a` again: b's second link to an `a` is a reconnect.
    let again = in_process_node("a", false, |node| node.metrics(true)).await;
    again.connect(b_addr).await.expect("connect to b again");
    within("b sees a up again", async {
        loop {
            if let Ok(NodeEvent::NodeUp { name, .. }) = b_events.recv().await {
                if name == "a" {
                    break;
                }
            }
        }
    })
    .await;
    totals.take(&snapshotter);
    assert_eq!(totals.counter("proscenium_link_reconnects_total", "a"), 1);
    again.shutdown().await;
    b.shutdown().await;
}
