//! Savina counting: a producer actor floods a counter actor, then asks for the count.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Increments the producer sends; Savina's default is 1,000,000.
    pub messages: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            messages: mode.pick(10_000, 1_000_000),
        }
    }

    /// The outcome of a run that took `elapsed` and ended with `count`.
    ///
    /// # Panics
    ///
    /// Panics if the counter's count is wrong.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, count: u64) -> Outcome {
        assert_eq!(count, self.messages, "counting: wrong count");
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "counting",
    title: "Savina counting",
    about: "A producer actor tells a counter actor n `Increment`s, then tells it `Retrieve` \
            carrying the producer's ref; the counter tells its count back, which must be n \
            (so a mailbox that reorders one sender's messages fails). Unlike `tell`, the \
            sender is an actor and the result comes back as a message.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| format!("{} increments", Params::new(mode).messages),
    run: |fw, mode| fw.counting(&Params::new(mode)),
};
