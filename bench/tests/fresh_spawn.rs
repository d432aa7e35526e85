//! The binary measures `spawn` in fresh child processes of itself (glibc
//! keeps freed pages, so a second spawn in one process reads as free); that
//! path must report every framework, including one without a spawn row.

use std::process::Command;

#[test]
fn spawn_runs_in_fresh_processes_for_every_framework() {
    let output = Command::new(env!("CARGO_BIN_EXE_proscenium-bench"))
        .args(["--quick", "--runs", "1", "spawn"])
        .output()
        .expect("the bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "spawn failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("| proscenium | "), "{stdout}");
    assert!(stdout.contains("| tokio (baseline) | "), "{stdout}");
    if cfg!(feature = "peers") {
        // Erlang is measured on the remote workloads only.
        assert!(stdout.contains("| erlang | n/a: "), "{stdout}");
    }
}
