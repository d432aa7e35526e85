//! Ask round trip: sequential asks, each timed.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

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
            asks: mode.pick(2_000, 200_000),
        }
    }

    /// The outcome from every ask's latency.
    ///
    /// # Panics
    ///
    /// Panics if not every ask was timed.
    #[track_caller]
    pub fn measured(&self, mut latencies: Vec<Duration>) -> Outcome {
        assert_eq!(latencies.len() as u64, self.asks, "ask: missing latencies");
        latencies.sort_unstable();
        let ns = |d: Duration| d.as_nanos() as f64;
        let mean = latencies.iter().map(|&d| ns(d)).sum::<f64>() / latencies.len() as f64;
        let at = |q: f64| ns(latencies[((latencies.len() - 1) as f64 * q).round() as usize]);
        Outcome::Measured(vec![mean, at(0.50), at(0.99)])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "ask",
    title: "Ask round trip",
    about: "One task asks one actor `Inc(i)` and awaits the reply `i + 1` before the next \
            ask; each round trip is timed on its own (the timer's own ~20–40 ns is in every \
            framework's number alike).",
    metrics: &[
        Metric::lower("mean", "ns"),
        Metric::lower("p50", "ns"),
        Metric::lower("p99", "ns"),
    ],
    describe: |mode| format!("{} sequential asks", Params::new(mode).asks),
    run: |fw, mode| fw.ask(&Params::new(mode)),
};
