//! Savina thread ring: a token passed around a ring of actors.

use std::time::Duration;

use tokio::sync::mpsc;

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

/// A place in the ring: its index, and where to report when the token runs
/// out there.
#[derive(Debug)]
pub struct Place {
    index: usize,
    done: mpsc::UnboundedSender<usize>,
}

impl Place {
    /// Place `index`, reporting on `done`.
    pub fn new(index: usize, done: mpsc::UnboundedSender<usize>) -> Self {
        Self { index, done }
    }

    /// Takes the token with `hops` left: the hops to pass on to the next
    /// place, or `None` when none are left (then this place reported itself).
    pub fn token(&self, hops: u64) -> Option<u64> {
        if hops == 0 {
            let _ = self.done.send(self.index);
            None
        } else {
            Some(hops - 1)
        }
    }
}
