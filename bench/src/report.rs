//! The report: a machine header, a summary of Proscenium against raw tokio,
//! and one markdown table per workload; or JSON.

use std::fmt::Write;

use crate::runner::{Results, Row, RowResult, Stats, WorkloadResult, SPREAD_LIMIT};
use crate::workloads::{Metric, Mode};

/// The row every other row is divided by (`× P`).
const PROSCENIUM: &str = "proscenium";

/// The row that shows what the same scheduler does without an actor runtime.
const RAW_TOKIO: &str = "tokio (baseline)";

/// The mark after a Proscenium cell whose runs spread too far apart.
const SPREAD_MARK: &str = "⚠";

/// The results as markdown: header, the summary against raw tokio, then a
/// table per workload with each framework's median, min–max and ratio to
/// Proscenium, then the Proscenium rows to run again.
pub fn markdown(results: &Results) -> String {
    let mut out = String::new();
    header(&mut out, results);
    summary(&mut out, results);
    for w in &results.workloads {
        workload_table(&mut out, w);
    }
    too_spread(&mut out, results);
    out
}

/// The results as pretty-printed JSON.
pub fn json(results: &Results) -> String {
    serde_json::to_string_pretty(results).expect("results serialize")
}

fn header(out: &mut String, results: &Results) {
    let m = &results.machine;
    let mode = match results.mode {
        Mode::Quick => "quick",
        Mode::Full => "full",
    };
    let _ = writeln!(out, "Machine: {} cores, {}, {}.", m.cores, m.cpu, m.os);
    let load = |load: Option<_>| load.map_or_else(|| "unknown".to_owned(), |l| format!("{l}"));
    let _ = writeln!(
        out,
        "Load average (1, 5, 15 min): {} before the run, {} after.",
        load(results.load_before),
        load(results.load_after)
    );
    let _ = writeln!(
        out,
        "Mode: {mode}; median of {} runs after a warm-up run, (min–max) in brackets; \
         `× P` = this framework's median ÷ Proscenium's; {SPREAD_MARK} = a Proscenium \
         row whose runs spread more than {SPREAD_LIMIT}× (max ÷ min).\n",
        results.runs
    );
    let _ = writeln!(out, "| Framework | Version | Runtime |\n|---|---|---|");
    for fw in &results.frameworks {
        let _ = writeln!(out, "| {} | {} | {} |", fw.name, fw.version, fw.runtime);
    }
}

/// One line per workload and metric: Proscenium's median, raw tokio's,
/// their ratio, and how far Proscenium's runs spread.
fn summary(out: &mut String, results: &Results) {
    let _ = writeln!(
        out,
        "\n### Summary: Proscenium ÷ raw tokio, on the same scheduler\n\n\
         | Workload | Metric | Proscenium | raw tokio | P ÷ raw tokio | spread of P (max ÷ min) |\n\
         |---|---|---:|---:|---:|---:|"
    );
    for w in &results.workloads {
        let proscenium = measured(w, PROSCENIUM);
        let tokio = measured(w, RAW_TOKIO);
        for (i, metric) in w.metrics.iter().enumerate() {
            let p = proscenium.map(|s| &s[i]);
            let t = tokio.map(|s| &s[i]);
            let ratio = match (p, t) {
                (Some(p), Some(t)) => format!("{:.2}×", p.median / t.median),
                _ => "–".to_owned(),
            };
            let spread = p.map_or_else(|| "–".to_owned(), spread_cell);
            let median = |s: Option<&Stats>| s.map_or_else(|| "–".to_owned(), |s| num(s.median));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {ratio} | {spread} |",
                w.name,
                metric_name(metric),
                median(p),
                median(t)
            );
        }
    }
}

fn workload_table(out: &mut String, w: &WorkloadResult) {
    let _ = writeln!(out, "\n### {} (`{}`): {}\n", w.title, w.name, w.params);
    let _ = write!(out, "| Framework |");
    for metric in w.metrics {
        let _ = write!(out, " {} | × P |", metric_name(metric));
    }
    let _ = writeln!(out, "\n|---|{}", "---:|---:|".repeat(w.metrics.len()));
    let reference = measured(w, PROSCENIUM);
    for row in &w.rows {
        let _ = write!(out, "| {} |", row.framework);
        match &row.result {
            RowResult::Measured(stats) => {
                for (i, s) in stats.iter().enumerate() {
                    let ratio = reference
                        .map(|r| format!("{:.2}×", s.median / r[i].median))
                        .unwrap_or_else(|| "–".to_owned());
                    let mark = if is_proscenium(row) && s.too_spread() {
                        format!(" {SPREAD_MARK}")
                    } else {
                        String::new()
                    };
                    let _ = write!(out, " {}{mark} | {ratio} |", cell(s));
                }
            }
            RowResult::NotApplicable(why) => {
                let _ = write!(out, " n/a: {why} |{}", " |".repeat(w.metrics.len() * 2 - 1));
            }
        }
        let _ = writeln!(out);
    }
}

/// The Proscenium rows whose runs spread over [`SPREAD_LIMIT`]: the run
/// should be repeated before anyone quotes them (issue 18).
fn too_spread(out: &mut String, results: &Results) {
    let mut flagged = Vec::new();
    for w in &results.workloads {
        for row in w.rows.iter().filter(|row| is_proscenium(row)) {
            if let RowResult::Measured(stats) = &row.result {
                for (metric, s) in w.metrics.iter().zip(stats) {
                    if s.too_spread() {
                        flagged.push(format!(
                            "`{}` {} {}: {:.2}",
                            w.name,
                            row.framework,
                            metric.name,
                            s.spread()
                        ));
                    }
                }
            }
        }
    }
    if flagged.is_empty() {
        let _ = writeln!(
            out,
            "\nNo Proscenium row spread more than {SPREAD_LIMIT}× (max ÷ min) over its runs."
        );
    } else {
        let _ = writeln!(
            out,
            "\n{SPREAD_MARK} Proscenium rows whose runs spread more than {SPREAD_LIMIT}× \
             (max ÷ min); repeat the run before quoting them: {}.",
            flagged.join("; ")
        );
    }
}

/// The statistics of `framework`'s row of `w`, if it was measured.
fn measured<'a>(w: &'a WorkloadResult, framework: &str) -> Option<&'a [Stats]> {
    w.rows.iter().find_map(|row| match &row.result {
        RowResult::Measured(stats) if row.framework == framework => Some(stats.as_slice()),
        _ => None,
    })
}

/// Proscenium's own rows, its variants (plaintext, metrics) included.
fn is_proscenium(row: &Row) -> bool {
    row.framework.starts_with(PROSCENIUM)
}

fn metric_name(metric: &Metric) -> String {
    let better = if metric.higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    };
    format!("{} ({}; {better})", metric.name, metric.unit)
}

fn spread_cell(s: &Stats) -> String {
    let mark = if s.too_spread() {
        format!(" {SPREAD_MARK}")
    } else {
        String::new()
    };
    format!("{:.2}{mark}", s.spread())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{LoadAverage, Machine};
    use crate::runner::FrameworkInfo;

    const PER_HOP: &[Metric] = &[Metric::lower("per hop", "ns")];

    fn row(framework: &'static str, samples: &[f64]) -> Row {
        Row {
            framework,
            result: RowResult::Measured(vec![Stats::of(samples.to_vec())]),
        }
    }

    fn results(proscenium: &[f64], tokio: &[f64]) -> Results {
        let info = |name| FrameworkInfo {
            name,
            version: "0",
            runtime: "test",
        };
        Results {
            machine: Machine {
                cores: 2,
                cpu: "test".to_owned(),
                os: "test".to_owned(),
            },
            load_before: Some(LoadAverage {
                one: 0.5,
                five: 0.25,
                fifteen: 0.75,
            }),
            load_after: None,
            mode: Mode::Quick,
            runs: proscenium.len(),
            frameworks: vec![info(PROSCENIUM), info(RAW_TOKIO)],
            workloads: vec![WorkloadResult {
                name: "ring",
                title: "Ring",
                params: String::new(),
                metrics: PER_HOP,
                rows: vec![row(PROSCENIUM, proscenium), row(RAW_TOKIO, tokio)],
            }],
        }
    }

    #[test]
    fn the_summary_divides_proscenium_by_raw_tokio() {
        let report = markdown(&results(&[300.0, 320.0, 310.0], &[200.0; 3]));
        assert!(
            report.contains("| ring | per hop (ns; lower is better) | 310 | 200 | 1.55× | 1.07 |"),
            "{report}"
        );
        assert!(report.contains("No Proscenium row spread"), "{report}");
    }

    #[test]
    fn the_load_average_is_quoted_before_and_after() {
        let report = markdown(&results(&[1.0], &[1.0]));
        assert!(
            report.contains(
                "Load average (1, 5, 15 min): 0.50 0.25 0.75 before the run, unknown after."
            ),
            "{report}"
        );
    }

    #[test]
    fn a_proscenium_row_spread_over_the_limit_is_flagged() {
        let report = markdown(&results(&[100.0, 140.0, 120.0], &[100.0, 200.0, 150.0]));
        assert!(report.contains("| 1.40 ⚠ |"), "{report}");
        assert!(
            report.contains("| proscenium | 120 (100–140) ⚠ |"),
            "{report}"
        );
        assert!(
            report.contains("`ring` proscenium per hop: 1.40"),
            "{report}"
        );
        // Raw tokio's spread (2.0) is not Proscenium's to repeat.
        assert!(!report.contains("150 (100–200) ⚠"), "{report}");
    }
}
