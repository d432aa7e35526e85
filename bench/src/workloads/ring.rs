//! Savina thread ring: a token passed around a ring of actors.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Actors in the ring.
    pub actors: usize,
    /// Hops the token makes before it stops.
    pub hops: u64,
}

impl Params {
    /// The parameters of `mode`: issue 6's target size (1,000 actors ×
    /// 1,000,000 hops), larger than Savina's 100 × 100,000.
    pub fn new(mode: Mode) -> Self {
        Self {
            actors: mode.pick(100, 1_000),
            hops: mode.pick(10_000, 1_000_000),
        }
    }

    /// Which actor (counting from the one the driver hands the token to)
    /// holds the token when it runs out.
    pub fn last_holder(&self) -> usize {
        (self.hops % self.actors as u64) as usize
    }

    /// The outcome of a run that took `elapsed`, whose token ran out at `holder`.
    ///
    /// # Panics
    ///
    /// Panics if the token ran out at the wrong actor (it skipped or repeated hops).
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, holder: usize) -> Outcome {
        assert_eq!(
            holder,
            self.last_holder(),
            "ring: token ended at the wrong actor"
        );
        Outcome::Measured(vec![elapsed.as_nanos() as f64 / self.hops as f64])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "ring",
    title: "Savina thread ring",
    about: "n actors in a ring, each holding a ref to the next; the driver tells actor 0 a \
            token with h hops left, and each actor tells it on to the next with one hop less \
            until none are left. The actor holding it then must be number `h mod n`. \
            Reported per hop.",
    metrics: &[Metric::lower("per hop", "ns")],
    describe: |mode| {
        let p = Params::new(mode);
        format!("{} actors × {} hops", p.actors, p.hops)
    },
    run: |fw, mode| fw.ring(&Params::new(mode)),
};
