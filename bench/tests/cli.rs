//! The bench binary's command line, as a user types it.

use std::process::Command;

fn bench(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_proscenium-bench"))
        .args(args)
        .output()
        .expect("the bench binary runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn frameworks_are_selected_by_their_first_word() {
    let (ok, stdout, stderr) = bench(&["--quick", "--runs", "1", "--frameworks", "tokio", "tell"]);
    assert!(ok, "`--frameworks tokio` was refused: {stderr}");
    assert!(stdout.contains("| tokio (baseline) | "), "{stdout}");
    assert!(!stdout.contains("| proscenium | "), "{stdout}");
}

#[test]
fn an_unknown_framework_is_refused() {
    let (ok, _, stderr) = bench(&["--quick", "--runs", "1", "--frameworks", "akka", "tell"]);
    assert!(!ok);
    assert!(stderr.contains("unknown framework `akka`"), "{stderr}");
}

#[test]
fn current_thread_runs_the_tokio_frameworks_on_one_thread() {
    let args = [
        "--current-thread",
        "--quick",
        "--runs",
        "1",
        "--frameworks",
        "proscenium,tokio",
        "tell",
    ];
    let (ok, stdout, stderr) = bench(&args);
    assert!(ok, "`--current-thread` failed: {stderr}");
    let current = "tokio current-thread runtime: one thread (--current-thread)";
    for framework in ["| proscenium | ", "| tokio (baseline) | "] {
        let header = stdout.lines().find(|line| line.starts_with(framework));
        assert!(
            header.is_some_and(|line| line.ends_with(&format!("| {current} |"))),
            "{stdout}"
        );
    }
    assert!(!stdout.contains("multi-thread"), "{stdout}");
    assert!(
        stdout.contains("| proscenium | ") && !stdout.contains("n/a"),
        "{stdout}"
    );
}
