//! Runs the benchmark suite and prints the report.
//!
//! Run with
//!
//! ```text
//! cargo run --release -p proscenium-bench --features peers -- [--quick] [--json] [--runs N] [--frameworks a,b] [--current-thread] [WORKLOAD…]
//! ```
//!
//! Without `--features peers` only Proscenium and the tokio baseline run.

use proscenium_bench::workloads::{self, Mode};
use proscenium_bench::{remote, report, run, Config};

const USAGE: &str =
    "usage: proscenium-bench [--quick] [--json] [--runs N] [--frameworks a,b] [--current-thread] [WORKLOAD…]";

fn main() {
    let mut args = std::env::args().skip(1);
    // The receiving node of the remote workloads (a hidden mode).
    if std::env::args().nth(1).as_deref() == Some(remote::NODE_FLAG) {
        let kind = std::env::args().nth(2).unwrap_or_default();
        if let Err(error) = remote::serve(&kind) {
            eprintln!("remote node: {error}");
            std::process::exit(1);
        }
        return;
    }
    let mut mode = Mode::Full;
    let mut json = false;
    let mut warm_up = true;
    let mut in_process = false;
    let mut runs = None;
    let mut frameworks = Vec::new();
    let mut selected = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--json" => json = true,
            "--no-warm-up" => warm_up = false,
            "--current-thread" => proscenium_bench::frameworks::use_current_thread_runtime(),
            "--in-process" => in_process = true,
            "--runs" => {
                runs = Some(
                    args.next()
                        .and_then(|n| n.parse().ok())
                        .unwrap_or_else(|| fail("--runs needs a number")),
                )
            }
            "--frameworks" => {
                let list = args
                    .next()
                    .unwrap_or_else(|| fail("--frameworks needs a list"));
                frameworks.extend(list.split(',').map(str::to_owned));
            }
            "-h" | "--help" => {
                println!("{USAGE}\n\nworkloads:");
                for w in workloads::ALL {
                    println!("  {:<22} {}", w.name, w.title);
                }
                return;
            }
            name => selected.push(
                workloads::find(name)
                    .unwrap_or_else(|| fail(&format!("unknown workload `{name}`"))),
            ),
        }
    }
    let mut config = Config::new(mode);
    config.runs = runs.unwrap_or(config.runs).max(1);
    if !selected.is_empty() {
        config.workloads = selected;
    }
    config.frameworks = frameworks;
    config.progress = true;
    config.warm_up = warm_up;
    // Memory is measured in fresh processes: an allocator keeps freed pages
    // and hands them to the next run, which would then look free.
    let spawn_apart = !in_process
        && (config.workloads.is_empty() || config.workloads.iter().any(|w| w.name == "spawn"));
    if spawn_apart {
        if config.workloads.is_empty() {
            config.workloads = workloads::ALL.iter().collect();
        }
        config.workloads.retain(|w| w.name != "spawn");
    }
    let mut results = run(&config);
    if spawn_apart {
        let at = workloads::ALL
            .iter()
            .position(|w| w.name == "spawn")
            .unwrap_or(0);
        let at = results
            .workloads
            .iter()
            .position(|w| {
                workloads::ALL
                    .iter()
                    .position(|a| a.name == w.name)
                    .unwrap_or(0)
                    > at
            })
            .unwrap_or(results.workloads.len());
        results
            .workloads
            .insert(at, fresh::spawn_in_fresh_processes(&config, &results));
        results.load_after = proscenium_bench::machine::LoadAverage::read();
    }
    if json {
        println!("{}", report::json(&results));
    } else {
        println!("{}", report::markdown(&results));
    }
}

mod fresh {
    //! The spawn workload, one fresh child process per run and framework.

    use std::process::Command;

    use proscenium_bench::runner::{Results, Row, RowResult, Stats, WorkloadResult};
    use proscenium_bench::workloads::{spawn, Mode};
    use proscenium_bench::Config;

    /// Runs `spawn` `config.runs` times per framework, each in a new
    /// process of this binary (`--in-process --no-warm-up --runs 1`).
    pub(crate) fn spawn_in_fresh_processes(config: &Config, results: &Results) -> WorkloadResult {
        let exe = std::env::current_exe().expect("the path of this binary");
        let metrics = spawn::WORKLOAD.metrics;
        let rows = results
            .frameworks
            .iter()
            .map(|fw| {
                let mut samples = vec![Vec::new(); metrics.len()];
                for run in 0..config.runs {
                    let mut command = Command::new(&exe);
                    command.args([
                        "--in-process",
                        "--no-warm-up",
                        "--json",
                        "--runs",
                        "1",
                        "--frameworks",
                        fw.name,
                        "spawn",
                    ]);
                    if config.mode == Mode::Quick {
                        command.arg("--quick");
                    }
                    if proscenium_bench::frameworks::on_current_thread() {
                        command.arg("--current-thread");
                    }
                    let output = command.output().expect("the child runs");
                    assert!(
                        output.status.success(),
                        "spawn on {} failed:\n{}",
                        fw.name,
                        String::from_utf8_lossy(&output.stderr)
                    );
                    let json: serde_json::Value =
                        serde_json::from_slice(&output.stdout).expect("the child prints JSON");
                    let result = &json["workloads"][0]["rows"][0]["result"];
                    if let Some(why) = result["not_applicable"].as_str() {
                        // Once per framework that has no spawn row (Erlang).
                        let why: &'static str = Box::leak(why.to_owned().into_boxed_str());
                        return Row {
                            framework: fw.name,
                            result: RowResult::NotApplicable(why),
                        };
                    }
                    let stats = &result["measured"];
                    for (i, values) in samples.iter_mut().enumerate() {
                        values.push(stats[i]["median"].as_f64().expect("a number"));
                    }
                    eprintln!(
                        "spawn {} fresh process {}: {:.1?}",
                        fw.name,
                        run + 1,
                        samples.iter().map(|v| v[run]).collect::<Vec<_>>()
                    );
                }
                Row {
                    framework: fw.name,
                    result: RowResult::Measured(samples.into_iter().map(Stats::of).collect()),
                }
            })
            .collect();
        WorkloadResult {
            name: spawn::WORKLOAD.name,
            title: spawn::WORKLOAD.title,
            params: format!(
                "{}, each run in a fresh process",
                (spawn::WORKLOAD.describe)(config.mode)
            ),
            metrics,
            rows,
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2)
}
