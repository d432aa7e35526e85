//! Savina chameneos: creatures meet in pairs at a mall and change colour.

use std::time::Duration;

use super::{Metric, Mode, Outcome, Workload};

/// The workload's parameters.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Chameneos; Savina's default is 100.
    pub chameneos: usize,
    /// Meetings the mall arranges; Savina's default is 200,000.
    pub meetings: u64,
}

/// A chameneo's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// Red.
    Red,
    /// Yellow.
    Yellow,
    /// Blue.
    Blue,
}

impl Color {
    /// The starting colour of chameneo `index`.
    pub fn of(index: usize) -> Self {
        [Self::Red, Self::Yellow, Self::Blue][index % 3]
    }

    /// The colour after meeting one of colour `other`: the same if equal,
    /// else the third colour.
    pub fn complement(self, other: Self) -> Self {
        match (self, other) {
            (a, b) if a == b => a,
            (Self::Red, Self::Yellow) | (Self::Yellow, Self::Red) => Self::Blue,
            (Self::Red, Self::Blue) | (Self::Blue, Self::Red) => Self::Yellow,
            _ => Self::Red,
        }
    }
}

impl Params {
    /// The parameters of `mode`.
    pub fn new(mode: Mode) -> Self {
        Self {
            chameneos: mode.pick(10, 100),
            meetings: mode.pick(2_000, 200_000),
        }
    }

    /// The outcome of a run that took `elapsed`, after which `faded`
    /// chameneos reported `total` meetings in all.
    ///
    /// # Panics
    ///
    /// Panics unless every chameneo faded and the meetings total 2 × m.
    #[track_caller]
    pub fn measured(&self, elapsed: Duration, faded: usize, total: u64) -> Outcome {
        assert_eq!(faded, self.chameneos, "chameneos: not every chameneo faded");
        assert_eq!(total, 2 * self.meetings, "chameneos: wrong meeting total");
        Outcome::Measured(vec![elapsed.as_secs_f64() * 1e3])
    }
}

/// The workload.
pub const WORKLOAD: Workload = Workload {
    name: "chameneos",
    title: "Savina chameneos",
    about: "c chameneos tell a mall actor `Meet(colour, own ref)`; the mall keeps one \
            waiting and, when a second comes, forwards the second's request to the first, \
            which changes colour and tells the second `Change(colour)`; both ask the mall \
            again. After m meetings the mall answers every request with `Exit`, and each \
            chameneo reports its meeting count; they must total 2 × m.",
    metrics: &[Metric::lower("time", "ms")],
    describe: |mode| {
        let p = Params::new(mode);
        format!("{} chameneos × {} meetings", p.chameneos, p.meetings)
    },
    run: |fw, mode| fw.chameneos(&Params::new(mode)),
};
