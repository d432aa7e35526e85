//! The report: a machine header and one markdown table per workload, or JSON.

use std::fmt::Write;

use crate::runner::{Results, RowResult, Stats};
use crate::workloads::Mode;

/// The results as markdown: header, then a table per workload with each
/// framework's median, min–max and ratio to Proscenium.
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    let m = &results.machine;
    let mode = match results.mode {
        Mode::Quick => "quick",
        Mode::Full => "full",
    };
    let _ = writeln!(out, "Machine: {} cores, {}, {}.", m.cores, m.cpu, m.os);
    let _ = writeln!(
        out,
        "Mode: {mode}; median of {} runs after a warm-up run, (min–max) in brackets; \
         `× P` = this framework's median ÷ Proscenium's.\n",
        results.runs
    );
    let _ = writeln!(out, "| Framework | Version | Runtime |\n|---|---|---|");
    for fw in &results.frameworks {
        let _ = writeln!(out, "| {} | {} | {} |", fw.name, fw.version, fw.runtime);
    }
    for w in &results.workloads {
        let _ = writeln!(out, "\n### {} (`{}`): {}\n", w.title, w.name, w.params);
        let _ = write!(out, "| Framework |");
        for metric in w.metrics {
            let better = if metric.higher_is_better {
                "higher is better"
            } else {
                "lower is better"
            };
            let _ = write!(out, " {} ({}; {better}) | × P |", metric.name, metric.unit);
        }
        let _ = writeln!(out, "\n|---|{}", "---:|---:|".repeat(w.metrics.len()));
        let reference = w.rows.iter().find_map(|row| match &row.result {
            RowResult::Measured(stats) if row.framework == "proscenium" => Some(stats),
            _ => None,
        });
        for row in &w.rows {
            let _ = write!(out, "| {} |", row.framework);
            match &row.result {
                RowResult::Measured(stats) => {
                    for (i, s) in stats.iter().enumerate() {
                        let ratio = reference
                            .map(|r| format!("{:.2}×", s.median / r[i].median))
                            .unwrap_or_else(|| "–".to_owned());
                        let _ = write!(out, " {} | {ratio} |", cell(s));
                    }
                }
                RowResult::NotApplicable(why) => {
                    let _ = write!(out, " n/a: {why} |{}", " |".repeat(w.metrics.len() * 2 - 1));
                }
            }
            let _ = writeln!(out);
        }
    }
    out
}

/// The results as pretty-printed JSON.
pub fn json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize")
}

fn cell(s: &Stats) -> String {
    format!("{} ({}–{})", num(s.median), num(s.min), num(s.max))
}

/// A number with about three significant digits.
fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}
