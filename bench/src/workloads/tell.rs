//! Tell throughput: one sender, one actor, many `u64` messages.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Metric, Mode, Outcome, Report, Workload};

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

/// The summing actor: adds every message and reports the sum after the last.
#[derive(Debug)]
pub struct Summer {
    expected: u64,
    handled: u64,
    sum: u64,
    done: Report<u64>,
}

impl Summer {
    /// A summer of `params.messages` messages, reporting on `done`.
    pub fn new(params: &Params, done: oneshot::Sender<u64>) -> Self {
        Self {
            expected: params.messages,
            handled: 0,
            sum: 0,
            done: Report::new(done),
        }
    }

    /// Handles one message.
    pub fn add(&mut self, n: u64) {
        self.sum += n;
        self.handled += 1;
        if self.handled == self.expected {
            self.done.send(self.sum);
        }
    }
}
