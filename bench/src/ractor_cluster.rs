//! The remote workloads on ractor_cluster, measured by a binary of its own.
//!
//! ractor_cluster needs ractor's `cluster` feature, which changes every
//! ractor message (no blanket `Message` impl, a serializable envelope);
//! compiled into this crate it would change the local ractor numbers. So
//! the ractor_cluster side lives in `bench/ractor-cluster`, a crate outside
//! the workspace with its own lock file, which this module builds on first
//! use (`cargo build --locked`, the same profile as this binary, into
//! `target/ractor-cluster`) and runs: `tell <n>` or `ask <n>`. Where cargo
//! is not at hand (a release binary copied to another machine),
//! [`BINARY_ENV`] names a binary built beforehand. Either way, the binary
//! starts its own receiving node as a child process on 127.0.0.1 and prints
//! one `RESULT` line, which is checked here like every other framework's
//! answer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::remote;
use crate::workloads::{remote_ask, remote_tell, Outcome};

/// The crate's directory, next to this crate's.
const CRATE_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ractor-cluster");
/// Where it is built: inside the workspace's (ignored) target directory.
const TARGET_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/ractor-cluster");
const BINARY: &str = "proscenium-bench-ractor-cluster";
/// The environment variable that names a ready-built binary instead.
pub const BINARY_ENV: &str = "PROSCENIUM_BENCH_RACTOR_CLUSTER";

/// The built binary, or why it could not be built (reported as n/a).
static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();

fn binary() -> Result<&'static Path, &'static str> {
    match BUILT.get_or_init(build) {
        Ok(path) => Ok(path),
        Err(why) => Err(why),
    }
}

fn build() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        return Ok(PathBuf::from(path));
    }
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "--locked", "--profile", profile])
        .arg("--manifest-path")
        .arg(Path::new(CRATE_DIR).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(TARGET_DIR)
        .status()
        .map_err(|error| format!("cargo could not be started to build {BINARY}: {error}"))?;
    if !status.success() {
        return Err(format!("`cargo build` of {CRATE_DIR} failed ({status})"));
    }
    let profile_dir = if profile == "dev" { "debug" } else { profile };
    Ok(Path::new(TARGET_DIR).join(profile_dir).join(BINARY))
}

/// Runs the binary with `args` and returns the numbers of its `RESULT`
/// line. Panics (a failed run, like any framework's wrong answer) if it
/// fails or prints no such line.
fn run(args: &[String]) -> Result<Vec<u64>, &'static str> {
    let output = Command::new(binary()?)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("{BINARY} could not be started: {error}"));
    assert!(
        output.status.success(),
        "{BINARY} {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    Ok(remote::reported_numbers(&stdout, BINARY))
}

/// [`remote_tell`] on ractor_cluster: `cast` of a `Vec<u8>` chunk, then a
/// `call` for the tally.
pub fn tell(params: &remote_tell::Params) -> Outcome {
    remote::reported_tell(
        params,
        run(&["tell".to_owned(), params.messages.to_string()]),
    )
}

/// [`remote_ask`] on ractor_cluster: sequential `call`s, timed and checked
/// in the child, every latency reported.
pub fn ask(params: &remote_ask::Params) -> Outcome {
    remote::reported_ask(params, run(&["ask".to_owned(), params.asks.to_string()]))
}
