//! The client's progress display: an `indicatif` bar with tasks done,
//! the rate and the per-node counts on a terminal; a line per quarter of
//! the batch otherwise (CI logs, pipes).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::protocol::Outcome;

/// Progress of one batch.
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
    total: u64,
    done: u64,
    per_node: BTreeMap<String, u64>,
    /// Without a terminal: the next quarter to print a line at.
    next_quarter: u64,
}

impl Progress {
    /// A display for `total` tasks; `printer` prints above it from now on.
    pub fn new(total: u64, printer: &Printer) -> Self {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40.cyan/blue} {pos}/{len} tasks  {per_sec}  {elapsed}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        printer.attach(bar.clone());
        Self {
            bar,
            total,
            done: 0,
            per_node: BTreeMap::new(),
            next_quarter: 1,
        }
    }

    /// Counts one task's outcome.
    pub fn record(&mut self, outcome: &Outcome) {
        self.done += 1;
        if let Outcome::Value { node, .. } = outcome {
            *self.per_node.entry(node.clone()).or_default() += 1;
        }
        self.bar.set_position(self.done);
        self.bar.set_message(self.per_node_line());
        if self.bar.is_hidden() && self.total > 0 {
            while self.next_quarter <= 4 && self.done * 4 >= self.next_quarter * self.total {
                println!(
                    "progress: {}/{} tasks ({})",
                    self.done,
                    self.total,
                    self.per_node_line()
                );
                self.next_quarter += 1;
            }
        }
    }

    /// `node: count` for every node that produced a result so far.
    pub fn per_node_line(&self) -> String {
        let counts: Vec<String> = self
            .per_node
            .iter()
            .map(|(node, count)| format!("{node}: {count}"))
            .collect();
        counts.join(", ")
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Prints lines above the progress bar once there is one, plainly before
/// that or without a terminal; clones share the bar.
#[derive(Debug, Clone, Default)]
pub struct Printer(Arc<Mutex<Option<ProgressBar>>>);

impl Printer {
    fn attach(&self, bar: ProgressBar) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(bar);
        }
    }

    /// Prints `line` (above the bar, if one is drawn).
    pub fn say(&self, line: &str) {
        let bar = self.0.lock().ok().and_then(|slot| slot.clone());
        match bar {
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => println!("{line}"),
        }
    }
}
