//! Savina big: many workers ping random peers and wait for each pong.

use std::time::Duration;

use tokio::sync::mpsc;

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

/// A worker's side of the game: whom it pings next, and how many pongs
/// it still waits for. The framework holds the peers' refs (indexed like
/// the workers) and sends the pings and pongs.
#[derive(Debug)]
pub struct Worker {
    index: usize,
    /// xorshift64 state, so every framework sees the same sequence.
    rng: u64,
    pongs: u64,
    target: u64,
    done: mpsc::UnboundedSender<u64>,
}

impl Worker {
    /// Worker `index` of `params.workers`, reporting on `done`.
    pub fn new(index: usize, params: &Params, done: mpsc::UnboundedSender<u64>) -> Self {
        Self {
            index,
            // Never zero, where xorshift would stay.
            rng: (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            pongs: 0,
            target: params.pings,
            done,
        }
    }

    /// Its index: what its pings carry, so the peer knows whom to pong.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The index of the peer, out of `workers`, to ping next.
    pub fn next_peer(&mut self, workers: usize) -> usize {
        let state = &mut self.rng;
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        (*state % workers as u64) as usize
    }

    /// Counts a pong. `true`: ping the next peer; `false`: all its pings
    /// are answered and its count reported.
    pub fn pong(&mut self) -> bool {
        self.pongs += 1;
        if self.pongs == self.target {
            let _ = self.done.send(self.pongs);
            false
        } else {
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_pings_until_its_last_pong_then_reports() {
        let (done, mut reports) = mpsc::unbounded_channel();
        let params = Params {
            workers: 10,
            pings: 3,
        };
        let mut worker = Worker::new(4, &params, done);
        let peers: Vec<usize> = (0..3).map(|_| worker.next_peer(params.workers)).collect();
        assert!(peers.iter().all(|&p| p < params.workers), "{peers:?}");
        assert!(worker.pong() && worker.pong());
        assert!(reports.try_recv().is_err());
        assert!(!worker.pong());
        assert_eq!(reports.try_recv(), Ok(3));
    }

    #[test]
    fn every_worker_draws_its_own_sequence() {
        let (done, _reports) = mpsc::unbounded_channel();
        let params = Params::new(Mode::Quick);
        let draws = |index| {
            let mut worker = Worker::new(index, &params, done.clone());
            (0..8)
                .map(|_| worker.next_peer(params.workers))
                .collect::<Vec<_>>()
        };
        assert_eq!(draws(0), draws(0));
        assert_ne!(draws(0), draws(1));
    }
}
