//! The workloads: what each measures, its parameters, and its metrics.
//!
//! Each module holds one workload's description, its `Params` for quick and
//! full mode, the metrics it reports, and the plain logic its actors run
//! whatever the framework (a sum, a token's hops, the chameneos' mall), as
//! state machines without messages: the frameworks in
//! [`crate::frameworks`] only wire their actors and messages to them.
//! [`ALL`] lists the workloads in the order the report shows.

pub mod ask;
pub mod big;
pub mod chameneos;
pub mod counting;
pub mod fan_out;
pub mod fork_join_create;
pub mod fork_join_throughput;
pub mod ping_pong;
pub mod remote_ask;
pub mod remote_tell;
pub mod ring;
pub mod spawn;
pub mod tell;

use serde::Serialize;
use tokio::sync::oneshot;

use crate::Framework;

/// Which parameter set to run with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// Small parameters: the whole suite in well under a minute, for CI.
    Quick,
    /// The parameters of issue 6 (Savina's defaults where Savina has the workload).
    Full,
}

impl Mode {
    /// Picks `quick` or `full` by mode.
    pub fn pick<T>(self, quick: T, full: T) -> T {
        match self {
            Self::Quick => quick,
            Self::Full => full,
        }
    }
}

/// One number a workload reports.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Metric {
    /// Short name, e.g. `"p99"`.
    pub name: &'static str,
    /// Unit, e.g. `"ns"`.
    pub unit: &'static str,
    /// Whether a larger value is better (throughput) or worse (latency).
    pub higher_is_better: bool,
}

impl Metric {
    /// A metric where lower is better.
    pub const fn lower(name: &'static str, unit: &'static str) -> Self {
        Self {
            name,
            unit,
            higher_is_better: false,
        }
    }

    /// A metric where higher is better.
    pub const fn higher(name: &'static str, unit: &'static str) -> Self {
        Self {
            name,
            unit,
            higher_is_better: true,
        }
    }
}

/// What one run of one workload on one framework produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// One value per metric of the workload, in the workload's order.
    Measured(Vec<f64>),
    /// The framework cannot express the workload fairly; the reason why.
    NotApplicable(&'static str),
}

/// A workload as the runner sees it.
#[derive(Debug, Clone, Copy)]
pub struct Workload {
    /// Name on the command line and in the report, e.g. `"ring"`.
    pub name: &'static str,
    /// Title in the report.
    pub title: &'static str,
    /// One paragraph: what the workload does and what it measures.
    pub about: &'static str,
    /// What it reports, in order; the first is the headline number.
    pub metrics: &'static [Metric],
    /// The parameters of a mode, in words, for the report.
    pub describe: fn(Mode) -> String,
    /// Runs it once on a framework.
    pub run: fn(&dyn Framework, Mode) -> Outcome,
}

/// Every workload, in report order.
pub const ALL: &[Workload] = &[
    tell::WORKLOAD,
    ask::WORKLOAD,
    spawn::WORKLOAD,
    ping_pong::WORKLOAD,
    counting::WORKLOAD,
    ring::WORKLOAD,
    fork_join_throughput::WORKLOAD,
    fork_join_create::WORKLOAD,
    fan_out::WORKLOAD,
    big::WORKLOAD,
    chameneos::WORKLOAD,
    remote_tell::WORKLOAD,
    remote_ask::WORKLOAD,
];

/// Finds a workload by its command-line name.
pub fn find(name: &str) -> Option<&'static Workload> {
    ALL.iter().find(|w| w.name == name)
}

/// The work a fork-join message asks for: a few floating-point operations
/// that the optimizer cannot remove, standing in for Savina's `performComputation`.
pub fn compute(theta: f64) -> f64 {
    let mut x = theta;
    for _ in 0..8 {
        x = std::hint::black_box(x.sin() * x.sin() + x.cos() * x.cos()).sqrt() + theta;
    }
    x
}

/// A result an actor sends to the driver once, when it is done; the
/// driver holds the receiving end.
#[derive(Debug)]
pub struct Report<T>(Option<oneshot::Sender<T>>);

impl<T> Report<T> {
    /// A report sent on `done`.
    pub fn new(done: oneshot::Sender<T>) -> Self {
        Self(Some(done))
    }

    /// Sends `value` to the driver; a second call, or a driver that
    /// stopped waiting, sends nothing.
    pub fn send(&mut self, value: T) {
        if let Some(done) = self.0.take() {
            let _ = done.send(value);
        }
    }
}
