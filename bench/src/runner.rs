//! Runs workloads on frameworks: a warm-up, then repeated runs interleaved
//! across frameworks (so that a noisy minute hurts them alike), then the
//! median and min–max of each metric.

use serde::Serialize;

use crate::frameworks;
use crate::machine::{LoadAverage, Machine};
use crate::workloads::{self, Metric, Mode, Outcome, Workload};

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Quick or full parameters.
    pub mode: Mode,
    /// Measured runs per workload and framework, after one warm-up run.
    pub runs: usize,
    /// Workloads to run, in this order.
    pub workloads: Vec<&'static Workload>,
    /// Names of the frameworks to run; all compiled in when empty.
    pub frameworks: Vec<String>,
    /// Print a line to stderr as each run finishes.
    pub progress: bool,
    /// Do one unmeasured warm-up run first (on by default).
    pub warm_up: bool,
}

impl Config {
    /// Everything in `mode`, with the default number of runs (5 full, 3 quick).
    pub fn new(mode: Mode) -> Self {
        Self {
            mode,
            runs: mode.pick(3, 5),
            workloads: workloads::ALL.iter().collect(),
            frameworks: Vec::new(),
            progress: false,
            warm_up: true,
        }
    }
}

/// Everything a run of the suite found.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// The machine it ran on.
    pub machine: Machine,
    /// The load average when the run started; `None` without `/proc`.
    pub load_before: Option<LoadAverage>,
    /// The load average when it ended (the bench binary reads it again
    /// after its fresh spawn processes).
    pub load_after: Option<LoadAverage>,
    /// Quick or full.
    pub mode: Mode,
    /// Measured runs per cell (after a warm-up).
    pub runs: usize,
    /// The frameworks, in table order.
    pub frameworks: Vec<FrameworkInfo>,
    /// One entry per workload, in report order.
    pub workloads: Vec<WorkloadResult>,
}

/// A framework as the report names it.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkInfo {
    /// Its name.
    pub name: &'static str,
    /// The crate version compiled in.
    pub version: &'static str,
    /// The runtime it ran on.
    pub runtime: &'static str,
}

/// One workload's results on every framework.
#[derive(Debug, Clone, Serialize)]
pub struct WorkloadResult {
    /// Its command-line name.
    pub name: &'static str,
    /// Its title.
    pub title: &'static str,
    /// Its parameters, in words.
    pub params: String,
    /// What each value means.
    pub metrics: &'static [Metric],
    /// One row per framework, in framework order.
    pub rows: Vec<Row>,
}

/// One framework's results on one workload.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The framework's name.
    pub framework: &'static str,
    /// Statistics per metric, or why there are none.
    pub result: RowResult,
}

/// Statistics, or the reason the workload does not apply.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowResult {
    /// One entry per metric.
    Measured(Vec<Stats>),
    /// Why the framework cannot run the workload fairly.
    NotApplicable(&'static str),
}

/// Median and range of one metric over the measured runs.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// The median (mean of the middle two for an even count).
    pub median: f64,
    /// The smallest value seen.
    pub min: f64,
    /// The largest value seen.
    pub max: f64,
    /// Every measured value, in run order.
    pub samples: Vec<f64>,
}

/// Runs of one row whose largest value is more than this many times its
/// smallest measured a machine that was busy with something else part of
/// the time: issue 18 asks for such a run to be repeated.
pub const SPREAD_LIMIT: f64 = 1.3;

impl Stats {
    /// Statistics of `samples`.
    ///
    /// # Panics
    ///
    /// Panics if `samples` is empty.
    pub fn of(samples: Vec<f64>) -> Self {
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        Self {
            median,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            samples,
        }
    }

    /// How far apart the runs were: max ÷ min (1 for a single run, or when
    /// every value is 0; infinite when only the smallest is 0).
    pub fn spread(&self) -> f64 {
        if self.max == self.min {
            1.0
        } else {
            self.max / self.min
        }
    }

    /// Whether the spread is over [`SPREAD_LIMIT`].
    pub fn too_spread(&self) -> bool {
        self.spread() > SPREAD_LIMIT
    }
}

/// Whether `--frameworks` `name` selects `fw`: its whole name, or its
/// first word (`tokio` for `tokio (baseline)`).
fn answers_to(fw: &dyn frameworks::Framework, name: &str) -> bool {
    fw.name() == name || fw.name().split(' ').next() == Some(name)
}

/// Runs the suite as configured.
///
/// # Panics
///
/// Panics when an implementation computes a wrong result, or when
/// `config.frameworks` names a framework that is not compiled in.
pub fn run(config: &Config) -> Results {
    let frameworks: Vec<_> = frameworks::all()
        .into_iter()
        .filter(|fw| {
            config.frameworks.is_empty()
                || config.frameworks.iter().any(|n| answers_to(fw.as_ref(), n))
        })
        .collect();
    for name in &config.frameworks {
        assert!(
            frameworks.iter().any(|fw| answers_to(fw.as_ref(), name)),
            "unknown framework `{name}` (the peers need `--features peers`)"
        );
    }
    let load_before = LoadAverage::read();
    let mut results = Vec::new();
    for &workload in &config.workloads {
        // samples[framework][metric] = values over the runs.
        let mut samples = vec![vec![Vec::new(); workload.metrics.len()]; frameworks.len()];
        let mut not_applicable = vec![None; frameworks.len()];
        let first = if config.warm_up { 0 } else { 1 };
        for run in first..=config.runs {
            for (f, fw) in frameworks.iter().enumerate() {
                if not_applicable[f].is_some() {
                    continue;
                }
                match (workload.run)(fw.as_ref(), config.mode) {
                    Outcome::NotApplicable(why) => not_applicable[f] = Some(why),
                    Outcome::Measured(values) => {
                        assert_eq!(values.len(), workload.metrics.len());
                        if config.progress {
                            let tag = if run == 0 { "warm-up" } else { "run" };
                            eprintln!("{} {} {tag} {run}: {values:.1?}", workload.name, fw.name());
                        }
                        // Run 0 is the warm-up.
                        if run > 0 {
                            for (metric, value) in values.into_iter().enumerate() {
                                samples[f][metric].push(value);
                            }
                        }
                    }
                }
            }
        }
        let rows = frameworks
            .iter()
            .zip(samples)
            .zip(not_applicable)
            .map(|((fw, samples), na)| Row {
                framework: fw.name(),
                result: match na {
                    Some(why) => RowResult::NotApplicable(why),
                    None => RowResult::Measured(samples.into_iter().map(Stats::of).collect()),
                },
            })
            .collect();
        results.push(WorkloadResult {
            name: workload.name,
            title: workload.title,
            params: (workload.describe)(config.mode),
            metrics: workload.metrics,
            rows,
        });
    }
    Results {
        machine: Machine::detect(),
        load_before,
        load_after: LoadAverage::read(),
        mode: config.mode,
        runs: config.runs,
        frameworks: frameworks
            .iter()
            .map(|fw| FrameworkInfo {
                name: fw.name(),
                version: fw.version(),
                runtime: fw.runtime(),
            })
            .collect(),
        workloads: results,
    }
}
