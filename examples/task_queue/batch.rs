//! The batches the client can submit, each with the answers it must get.

use std::collections::HashMap;

use crate::protocol::{Chord, TaskId, TaskSpec, Work};
use crate::work;

/// Retries a task gets unless its batch says otherwise.
const RETRIES: u32 = 3;
/// One attempt's time limit unless its batch says otherwise.
const TIME_LIMIT_MS: u64 = 60_000;

/// A kind of batch.
#[derive(Debug, Clone)]
pub enum Batch {
    /// The sum of the primes below `below`, in `tasks` ranges, summed by
    /// a chord's callback.
    Primes { below: u64, tasks: u32 },
    /// `tasks` tasks that sleep `ms` each, in a chord.
    Sleep { tasks: u32, ms: u64 },
    /// Tasks that fail on purpose: one succeeds after two retries, one
    /// exhausts its retries, one hangs past its time limit; and one
    /// plain task.
    Failures,
    /// One task of `long_ms`, then `short` tasks of `short_ms`.
    Prefetch {
        short: u32,
        long_ms: u64,
        short_ms: u64,
    },
    /// `tasks` tasks that do nothing, for throughput.
    Trivial { tasks: u32 },
    /// `count` trivial tasks one after the other, for latency.
    Latency { count: u32 },
}

/// What the broker should answer for a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    Value(u64),
    /// Dead, with a reason containing this.
    Dead(&'static str),
}

/// A batch made concrete: tasks, chords, and the answers by direct computation.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tasks: Vec<TaskSpec>,
    pub chords: Vec<Chord>,
    pub expected: HashMap<TaskId, Expected>,
    /// What the expected answers come from, for the `VERIFIED` line.
    pub check: String,
}

/// Task `index` of batch `batch`.
pub fn task_id(batch: u32, index: u32) -> TaskId {
    (u64::from(batch) << 32) | u64::from(index)
}

fn spec(id: TaskId, work: Work) -> TaskSpec {
    TaskSpec {
        id,
        work,
        retries: RETRIES,
        time_limit_ms: TIME_LIMIT_MS,
    }
}

impl Batch {
    /// One line saying what the batch is.
    pub fn describe(&self) -> String {
        match self {
            Batch::Primes { below, tasks } => {
                format!(
                    "sum of the primes below {below} in {tasks} ranges, summed by a chord callback"
                )
            }
            Batch::Sleep { tasks, ms } => {
                format!("{tasks} tasks sleeping {ms} ms each, in a chord")
            }
            Batch::Failures => {
                "tasks that fail on purpose: retries, a time limit, dead letters".into()
            }
            Batch::Prefetch {
                short,
                long_ms,
                short_ms,
            } => {
                format!("one {long_ms} ms task, then {short} tasks of {short_ms} ms")
            }
            Batch::Trivial { tasks } => format!("{tasks} trivial tasks"),
            Batch::Latency { count } => format!("{count} trivial tasks, one at a time"),
        }
    }

    /// The batch's tasks with ids of batch `batch`.
    pub fn plan(&self, batch: u32) -> Plan {
        self.plan_at(batch, 0)
    }

    /// The batch's tasks, numbered from `first` in batch `batch`.
    pub fn plan_at(&self, batch: u32, first: u32) -> Plan {
        let id = |index: u32| task_id(batch, first + index);
        let mut plan = Plan {
            tasks: Vec::new(),
            chords: Vec::new(),
            expected: HashMap::new(),
            check: String::new(),
        };
        match *self {
            Batch::Primes { below, tasks } => {
                let tasks = tasks.max(1);
                let step = below.div_ceil(u64::from(tasks)).max(1);
                let ranges: Vec<(u64, u64)> = (0..u64::from(tasks))
                    .map(|i| ((i * step).min(below), ((i + 1) * step).min(below)))
                    .collect();
                let sums = work::sum_primes_by_sieve(below, &ranges);
                for (index, (&(from, to), &sum)) in (0..).zip(ranges.iter().zip(&sums)) {
                    plan.tasks
                        .push(spec(id(index), Work::SumPrimes { from, to }));
                    plan.expected.insert(id(index), Expected::Value(sum));
                }
                let total = sums.iter().sum();
                plan.chord(id(tasks), total);
                plan.check =
                    format!("a sieve of Eratosthenes (sum of the primes below {below} = {total})");
            }
            Batch::Sleep { tasks, ms } => {
                for index in 0..tasks {
                    let value = u64::from(index);
                    plan.tasks.push(spec(id(index), Work::Sleep { ms, value }));
                    plan.expected.insert(id(index), Expected::Value(value));
                }
                let total = (0..u64::from(tasks)).sum();
                plan.chord(id(tasks), total);
                plan.check = format!("each task's own number (their sum = {total})");
            }
            Batch::Failures => {
                let mut add = |index: u32, work: Work, retries: u32, limit_ms: u64, expected| {
                    plan.tasks.push(TaskSpec {
                        id: id(index),
                        work,
                        retries,
                        time_limit_ms: limit_ms,
                    });
                    plan.expected.insert(id(index), expected);
                };
                let flaky = |failures| Work::Flaky { failures, value: 7 };
                add(0, flaky(2), 3, TIME_LIMIT_MS, Expected::Value(7));
                add(
                    1,
                    flaky(u32::MAX),
                    2,
                    TIME_LIMIT_MS,
                    Expected::Dead("failed on purpose"),
                );
                add(2, Work::Hang, 1, 300, Expected::Dead("time limit"));
                add(
                    3,
                    Work::Sleep { ms: 1, value: 3 },
                    0,
                    TIME_LIMIT_MS,
                    Expected::Value(3),
                );
                plan.check = "the failures planned".into();
            }
            Batch::Prefetch {
                short,
                long_ms,
                short_ms,
            } => {
                let long = Work::Sleep {
                    ms: long_ms,
                    value: 0,
                };
                plan.tasks.push(spec(id(0), long));
                plan.expected.insert(id(0), Expected::Value(0));
                for index in 1..=short {
                    let value = u64::from(index);
                    plan.tasks.push(spec(
                        id(index),
                        Work::Sleep {
                            ms: short_ms,
                            value,
                        },
                    ));
                    plan.expected.insert(id(index), Expected::Value(value));
                }
                plan.check = "each task's own number".into();
            }
            Batch::Trivial { tasks } | Batch::Latency { count: tasks } => {
                for index in 0..tasks {
                    let value = u64::from(first + index);
                    plan.tasks
                        .push(spec(id(index), Work::Sleep { ms: 0, value }));
                    plan.expected.insert(id(index), Expected::Value(value));
                }
                plan.check = "each task's own number".into();
            }
        }
        plan
    }
}

impl Plan {
    /// Makes every task so far the header of a chord whose callback
    /// `callback` must sum to `total`.
    fn chord(&mut self, callback: TaskId, total: u64) {
        self.chords.push(Chord {
            header: self.tasks.iter().map(|t| t.id).collect(),
            callback,
            retries: RETRIES,
            time_limit_ms: TIME_LIMIT_MS,
        });
        self.expected.insert(callback, Expected::Value(total));
    }
}
