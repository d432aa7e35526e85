//! Remote ask round trip: sequential asks from one OS process to an actor
//! in another, over loopback.

use std::time::Duration;

use super::{ask, Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// How many asks, one after another; ask `i` must return `i + 1`.
    pub asks: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            asks: mode.pick(200, 20_000),
        }
    }

    /// The outcome from every ask's latency: mean, p50, p99.
    ///
    /// # Panics
    ///
    /// Panics if not every ask was timed.
    #[track_caller]
    pub fn measured(&self, latencies: Vec<Duration>) -> Outcome {
        match (ask::Params { asks: self.asks }).measured(latencies) {
            Outcome::Measured(ns) => Outcome::Measured(ns.into_iter().map(|v| v / 1e3).collect()),
            other => other,
        }
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "remote-ask",
    title: "Remote ask round trip",
    about: "Like `ask`, but the actor lives in a second OS process (the bench binary \
            re-executed as a node) on 127.0.0.1: each ask `Inc(i)` crosses loopback TCP \
            both ways. ractor: ractor_cluster, run by its own binary (bench/ractor-cluster).",
    metrics: &[
        Metric::lower("mean", "µs"),
        Metric::lower("p50", "µs"),
        Metric::lower("p99", "µs"),
    ],
    describe: |mode| {
        format!(
            "{} sequential asks, two processes on loopback",
            Params::new(mode).asks
        )
    },
    run: |fw, mode| fw.remote_ask(&Params::new(mode)),
};
