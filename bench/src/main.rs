//! Runs the benchmark suite and prints the report.
//!
//! Run with
//!
//! ```text
//! cargo run --release -p proscenium-bench --features peers -- [--quick] [--json] [--runs N] [--frameworks a,b] [WORKLOAD…]
//! ```
//!
//! Without `--features peers` only Proscenium and the tokio baseline run.

use proscenium_bench::workloads::{self, Mode};
use proscenium_bench::{report, run, Config};

const USAGE: &str =
    "usage: proscenium-bench [--quick] [--json] [--runs N] [--frameworks a,b] [WORKLOAD…]";

fn main() {
    let mut args = std::env::args().skip(1);
    let mut mode = Mode::Full;
    let mut json = false;
    let mut runs = None;
    let mut frameworks = Vec::new();
    let mut selected = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => mode = Mode::Quick,
            "--json" => json = true,
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
    config.workloads = selected;
    config.frameworks = frameworks;
    config.progress = true;
    let results = run(&config);
    if json {
        println!("{}", report::json(&results));
    } else {
        println!("{}", report::markdown(&results));
    }
}

fn fail(message: &str) -> ! {
    eprintln!("{message}\n{USAGE}");
    std::process::exit(2)
}
