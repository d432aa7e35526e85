//! Tell throughput: one sender, one actor, many `u64` messages.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// How many messages the sender tells; the actor sums `1..=messages`.
    pub messages: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            messages: mode.pick(20_000, 2_000_000),
        }
    }

    /// The sum the actor must reach.
    pub fn expected_sum(&self) -> u64 {
        self.messages * (self.messages + 1) / 2
    }

    /// The outcome of a run that took `elapsed` and ended with `sum`.
    ///
    /// # Panics
    ///
    /// Panics if `sum` is wrong: a fast wrong answer is no result.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, sum: u64) -> Outcome {
        assert_eq!(sum, self.expected_sum(), "tell: wrong sum");
        Outcome::Measured(vec![self.messages as f64 / elapsed.as_secs_f64() / 1e6])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "tell",
    title: "Tell throughput",
    about: "One sender task tells one actor (unbounded mailbox) `u64` messages 1..=n as fast \
            as it can; the actor sums them and signals when it has handled the last one. \
            Time runs from the first send to that signal.",
    metrics: &[Metric::higher("throughput", "M msg/s")],
    describe: |mode| format!("{} messages", Params::new(mode).messages),
    run: |fw, mode| fw.tell(&Params::new(mode)),
};
