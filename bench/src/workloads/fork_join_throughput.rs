//! Savina fork-join throughput: one sender spreads messages over many actors.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{compute, Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Worker actors; Savina's default is 60.
    pub actors: usize,
    /// Messages each worker gets; Savina's default is 10,000.
    pub messages: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            actors: mode.pick(8, 60),
            messages: mode.pick(500, 10_000),
        }
    }

    /// The outcome of a run that took `elapsed`, where each worker reported
    /// how many messages it handled in `handled`.
    ///
    /// # Panics
    ///
    /// Panics unless every worker handled every message.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, handled: &[u64]) -> Outcome {
        assert_eq!(
            handled.len(),
            self.actors,
            "fork-join: a worker did not finish"
        );
        assert!(
            handled.iter().all(|&n| n == self.messages),
            "fork-join: wrong message counts {handled:?}"
        );
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "fork-join-throughput",
    title: "Savina fork-join throughput",
    about: "The driver tells each of n workers one message, m times round; each worker does \
            a few floating-point operations per message (`workloads::compute`) and reports \
            its count after its m-th message. Time runs until all have reported.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| {
        let p = Params::new(mode);
        format!("{} actors × {} messages", p.actors, p.messages)
    },
    run: |fw, mode| fw.fork_join_throughput(&Params::new(mode)),
};

/// A worker: computes on each message and reports its count after the last.
#[derive(Debug)]
pub struct Worker {
    expected: u64,
    handled: u64,
    done: mpsc::UnboundedSender<u64>,
}

impl Worker {
    /// A worker of `params.messages` messages, reporting on `done`.
    pub fn new(params: &Params, done: mpsc::UnboundedSender<u64>) -> Self {
        Self {
            expected: params.messages,
            handled: 0,
            done,
        }
    }

    /// Handles one message.
    pub fn work(&mut self, theta: f64) {
        std::hint::black_box(compute(theta));
        self.handled += 1;
        if self.handled == self.expected {
            let _ = self.done.send(self.handled);
        }
    }
}
