//! Savina big: many workers ping random peers and wait for each pong.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Workers; Savina's default is 120.
    pub workers: usize,
    /// Pings each worker sends, one at a time; Savina's default is 20,000.
    pub pings: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            workers: mode.pick(10, 120),
            pings: mode.pick(200, 20_000),
        }
    }

    /// The outcome of a run that took `elapsed`, in which the workers
    /// reported `pongs` pongs received in all.
    ///
    /// # Panics
    ///
    /// Panics if the total is not `workers × pings`.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, pongs: u64) -> Outcome {
        assert_eq!(
            pongs,
            self.workers as u64 * self.pings,
            "big: wrong pong total"
        );
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "big",
    title: "Savina big",
    about: "n workers, each knowing all the others; each sends a `Ping(its index)` to a \
            pseudo-random worker (a per-worker xorshift, so every framework sees the same \
            sequence), which tells back `Pong`; on each pong the worker sends its next ping, \
            m in all, then reports its pong count to the driver. Time runs until every \
            worker has reported; the pongs must total n × m.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| {
        let p = Params::new(mode);
        format!("{} workers × {} pings", p.workers, p.pings)
    },
    run: |fw, mode| fw.big(&Params::new(mode)),
};

/// The xorshift64 step every framework uses to pick the next peer.
pub fn next_peer(state: &mut u64, workers: usize) -> usize {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % workers as u64) as usize
}

/// The starting random state of worker `index` (never zero).
pub fn seed(index: usize) -> u64 {
    (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1
}
