//! Fan-out: one task asks many actors at once, round after round.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Actors asked in each round.
    pub actors: usize,
    /// Rounds.
    pub rounds: u64,
}

impl Params {
    /// The parameters of `mode` (issue 6's target: 10,000 actors × 20 rounds).
    pub fn new(mode: Mode) -> Self {
        Self {
            actors: mode.pick(200, 10_000),
            rounds: mode.pick(3, 20),
        }
    }

    /// The sum of one round's replies: actor `i` answers `Get(r)` with `i + r`.
    pub fn expected_round_sum(&self, round: u64) -> u64 {
        let n = self.actors as u64;
        n * (n - 1) / 2 + n * round
    }

    /// The outcome of a run whose rounds took `elapsed` in all.
    pub fn measured(&self, elapsed: Duration) -> Outcome {
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3 / self.rounds as f64])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "fan-out",
    title: "Fan-out / fan-in",
    about: "Each round the driver asks every one of n actors at once and sums the replies, \
            which must match. Reported per round. Each framework gathers the replies its own \
            way: Proscenium with `ask_all` (one wake-up per round), the others with `join_all` \
            over their ask futures (actix, kameo and xtra have no gather; ractor's \
            `rpc::multi_call` spawns a task per reply to wait on it).",
    metrics: &[Metric::lower("per round", "ms")],
    describe: |mode| {
        let p = Params::new(mode);
        format!("{} actors × {} rounds", p.actors, p.rounds)
    },
    run: |fw, mode| fw.fan_out(&Params::new(mode)),
};
