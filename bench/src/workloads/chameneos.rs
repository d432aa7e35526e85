//! Savina chameneos: creatures meet in pairs at a mall and change colour.

use std::time::Duration;

use tokio::sync::oneshot;

use super::{Metric, Mode, Outcome, Report, Workload};

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

/// The mall's rules, over whatever a framework uses to address a chameneo
/// (`R`: a ref, or an index into the chameneos' mailboxes).
#[derive(Debug)]
pub struct Mall<R> {
    remaining: u64,
    waiting: Option<R>,
    chameneos: usize,
    faded: usize,
    total: u64,
    done: Report<(usize, u64)>,
}

/// What the mall does with a chameneo that asks for a meeting.
#[derive(Debug)]
pub enum Meeting<R> {
    /// No meetings are left: tell it `Exit`.
    Exit(R),
    /// Another one was waiting: tell `waiting` `Meet(colour, arrived)`,
    /// with the colour `arrived` asked with.
    Pair {
        /// The chameneo that waited.
        waiting: R,
        /// The one that just asked.
        arrived: R,
    },
    /// It waits for the next one.
    Wait,
}

impl<R> Mall<R> {
    /// A mall for `params.chameneos` chameneos and `params.meetings`
    /// meetings, reporting `(faded, total meetings)` on `done`.
    pub fn new(params: &Params, done: oneshot::Sender<(usize, u64)>) -> Self {
        Self {
            remaining: params.meetings,
            waiting: None,
            chameneos: params.chameneos,
            faded: 0,
            total: 0,
            done: Report::new(done),
        }
    }

    /// A chameneo asks for a meeting.
    pub fn arrive(&mut self, from: R) -> Meeting<R> {
        if self.remaining == 0 {
            Meeting::Exit(from)
        } else if let Some(waiting) = self.waiting.take() {
            self.remaining -= 1;
            Meeting::Pair {
                waiting,
                arrived: from,
            }
        } else {
            self.waiting = Some(from);
            Meeting::Wait
        }
    }

    /// A chameneo faded after `meetings` meetings. `true` once every one
    /// has (then the mall reported).
    pub fn faded(&mut self, meetings: u64) -> bool {
        self.faded += 1;
        self.total += meetings;
        let all = self.faded == self.chameneos;
        if all {
            self.done.send((self.faded, self.total));
        }
        all
    }
}

/// A chameneo's own state: its colour and how often it met another.
#[derive(Debug, Clone, Copy)]
pub struct Creature {
    color: Color,
    meetings: u64,
}

impl Creature {
    /// Chameneo `index`, in its starting colour.
    pub fn new(index: usize) -> Self {
        Self {
            color: Color::of(index),
            meetings: 0,
        }
    }

    /// Its colour now: the one it asks the mall with.
    pub fn color(&self) -> Color {
        self.color
    }

    /// Its meetings so far: what it reports when it fades.
    pub fn meetings(&self) -> u64 {
        self.meetings
    }

    /// It meets one of colour `other` (the mall paired them): returns its
    /// new colour, which it tells the other as `Change`.
    pub fn meet(&mut self, other: Color) -> Color {
        self.color = self.color.complement(other);
        self.meetings += 1;
        self.color
    }

    /// The other side of a meeting: it takes `color`.
    pub fn change(&mut self, color: Color) {
        self.color = color;
        self.meetings += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mall(meetings: u64) -> (Mall<&'static str>, oneshot::Receiver<(usize, u64)>) {
        let (done, report) = oneshot::channel();
        let params = Params {
            chameneos: 2,
            meetings,
        };
        (Mall::new(&params, done), report)
    }

    #[test]
    fn the_mall_pairs_two_then_sends_everyone_home() {
        let (mut mall, mut report) = mall(1);
        assert!(matches!(mall.arrive("a"), Meeting::Wait));
        assert!(matches!(
            mall.arrive("b"),
            Meeting::Pair {
                waiting: "a",
                arrived: "b"
            }
        ));
        assert!(matches!(mall.arrive("a"), Meeting::Exit("a")));
        assert!(!mall.faded(1));
        assert!(report.try_recv().is_err());
        assert!(mall.faded(1));
        assert_eq!(report.try_recv(), Ok((2, 2)));
    }

    #[test]
    fn both_sides_of_a_meeting_take_the_complement() {
        let (mut red, mut yellow) = (Creature::new(0), Creature::new(1));
        let color = red.meet(yellow.color());
        yellow.change(color);
        assert_eq!((red.color(), yellow.color()), (Color::Blue, Color::Blue));
        assert_eq!((red.meetings(), yellow.meetings()), (1, 1));
    }
}
