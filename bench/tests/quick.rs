//! Runs the whole suite in quick mode, in-process: every workload on every
//! framework compiled in must compute the right answer. No timing is asserted.

use proscenium_bench::runner::RowResult;
use proscenium_bench::workloads::{Mode, ALL};
use proscenium_bench::{run, Config};

#[test]
fn quick_suite_computes_right_answers() {
    // The remote workloads re-execute the bench binary as their second node.
    proscenium_bench::remote::set_node_exe(env!("CARGO_BIN_EXE_proscenium-bench"));
    let mut config = Config::new(Mode::Quick);
    config.runs = 1;
    // Each implementation asserts its own result, so a wrong answer panics in here.
    let results = run(&config);
    assert_eq!(results.workloads.len(), ALL.len());
    for workload in &results.workloads {
        for row in &workload.rows {
            let always_measured = ["proscenium", "tokio (baseline)"].contains(&row.framework)
                || (cfg!(feature = "peers")
                    && workload.name.starts_with("remote-")
                    && (row.framework == "ractor"
                        || (row.framework == "erlang" && erl_installed())));
            if let RowResult::Measured(stats) = &row.result {
                assert_eq!(stats.len(), workload.metrics.len());
                assert!(stats.iter().all(|s| s.median.is_finite()));
            } else {
                assert!(
                    !always_measured,
                    "{} skipped {}",
                    row.framework, workload.name
                );
            }
        }
    }
    let report = proscenium_bench::report::markdown(&results);
    assert!(report.contains("| proscenium |"));
    assert!(proscenium_bench::report::json(&results).contains("\"workloads\""));
}

/// Whether Erlang/OTP's compiler is on `PATH`: then the Erlang rows of the
/// remote workloads must be measured too.
fn erl_installed() -> bool {
    std::process::Command::new("erlc")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok()
}
