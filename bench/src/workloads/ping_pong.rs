//! Savina ping-pong: two actors pass a ball back and forth.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Metric, Mode, Outcome, Report, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Round trips (ping, then pong); Savina's default is 40,000.
    pub pings: u64,
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            pings: mode.pick(1_000, 40_000),
        }
    }

    /// The outcome of a run that took `elapsed` and counted `pongs`.
    ///
    /// # Panics
    ///
    /// Panics if the pinger saw the wrong number of pongs.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, pongs: u64) -> Outcome {
        assert_eq!(pongs, self.pings, "ping-pong: wrong pong count");
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "ping-pong",
    title: "Savina ping-pong",
    about: "A pinger tells a ponger `Ping` carrying the pinger's ref; the ponger tells back \
            `Pong`; the pinger sends the next ping on each pong. Tells only, between two \
            actors; time runs until the last pong.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| format!("{} round trips", Params::new(mode).pings),
    run: |fw, mode| fw.ping_pong(&Params::new(mode)),
};

/// The pinger's count: it pings until it has seen `pings` pongs, then
/// reports how many it saw.
#[derive(Debug)]
pub struct Rally {
    pings: u64,
    pongs: u64,
    done: Report<u64>,
}

impl Rally {
    /// A rally of `params.pings` round trips, reporting on `done`.
    pub fn new(params: &Params, done: oneshot::Sender<u64>) -> Self {
        Self {
            pings: params.pings,
            pongs: 0,
            done: Report::new(done),
        }
    }

    /// Counts a pong. `true`: send the next ping; `false`: the rally is
    /// over and reported.
    pub fn pong(&mut self) -> bool {
        self.pongs += 1;
        if self.pongs == self.pings {
            self.done.send(self.pongs);
            false
        } else {
            true
        }
    }
}
