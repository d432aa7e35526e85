//! Spawn and memory: many idle actors, their cost in time and memory.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// How many idle actors to spawn.
    pub actors: usize,
}

/// What one run saw.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// From the first spawn until every actor has run its start hook.
    pub spawn: Duration,
    /// Resident memory after the spawn minus before, in bytes.
    pub rss_growth: u64,
    /// From the first stop request until every actor has stopped.
    pub stop: Duration,
    /// How many actors ran their start hook (must be all of them).
    pub started: usize,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            actors: mode.pick(2_000, 100_000),
        }
    }

    /// The outcome of a run.
    ///
    /// # Panics
    ///
    /// Panics if not every actor started.
    #[track_caller]
    pub fn measured(&self, sample: Sample) -> Outcome {
        assert_eq!(
            sample.started, self.actors,
            "spawn: not every actor started"
        );
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        Outcome::Measured(vec![
            ms(sample.spawn),
            sample.rss_growth as f64 / self.actors as f64,
            ms(sample.stop),
        ])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "spawn",
    title: "Spawn and memory",
    about: "Spawns n idle actors (unbounded mailboxes), keeping one ref to each; spawn time \
            runs until every actor has run its start hook. Bytes per actor is the growth of \
            the resident set (`/proc/self/statm`) over that spawn divided by n, refs \
            included. Stop time runs from the first stop request until every actor has stopped.",
    metrics: &[
        Metric::lower("spawn", "ms"),
        Metric::lower("memory", "B/actor"),
        Metric::lower("stop", "ms"),
    ],
    describe: |mode| format!("{} idle actors", Params::new(mode).actors),
    run: |fw, mode| fw.spawn(&Params::new(mode)),
};
