//! Savina fork-join create: spawn an actor per message.

use std::time::Duration;

use tokio::sync::mpsc;

use super::{compute, Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Actors created, one message each; Savina's default is 40,000.
    pub actors: usize,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            actors: mode.pick(1_000, 40_000),
        }
    }

    /// The outcome of a run that took `elapsed` and got `reports` done reports.
    ///
    /// # Panics
    ///
    /// Panics unless every actor reported.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, reports: usize) -> Outcome {
        assert_eq!(reports, self.actors, "fork-join create: missing reports");
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "fork-join-create",
    title: "Savina fork-join create",
    about: "The driver spawns n actors and tells each one message; each does a few \
            floating-point operations, reports done, and stops itself. Time runs until all \
            n reports are in.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| format!("{} actors", Params::new(mode).actors),
    run: |fw, mode| fw.fork_join_create(&Params::new(mode)),
};

/// What each created actor does with its one message: computes, then
/// reports done (and the actor stops itself).
pub fn work_once(theta: f64, done: &mpsc::UnboundedSender<()>) {
    std::hint::black_box(compute(theta));
    let _ = done.send(());
}
