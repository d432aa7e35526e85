//! Reads the versions of the measured crates from the workspace lock file,
//! so the report names exactly what was compiled.

use std::fs;

fn main() {
    let lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
    println!("cargo:rerun-if-changed={lock_path}");
    let lock = fs::read_to_string(lock_path).unwrap_or_default();
    for krate in ["tokio", "actix", "ractor", "kameo", "xtra"] {
        let version = version_of(&lock, krate).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env={}_VERSION={version}", krate.to_uppercase());
    }
    // The ractor_cluster node is a crate of its own, with its own lock file.
    let cluster_lock_path = concat!(env!("CARGO_MANIFEST_DIR"), "/ractor-cluster/Cargo.lock");
    println!("cargo:rerun-if-changed={cluster_lock_path}");
    let cluster_lock = fs::read_to_string(cluster_lock_path).unwrap_or_default();
    let version =
        version_of(&cluster_lock, "ractor_cluster").unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=RACTOR_CLUSTER_VERSION={version}");
}

/// The version of the first `[[package]]` named `krate` in a `Cargo.lock`.
fn version_of(lock: &str, krate: &str) -> Option<String> {
    let mut lines = lock.lines();
    let name = format!("name = \"{krate}\"");
    lines.find(|line| *line == name)?;
    let version = lines.next()?.strip_prefix("version = \"")?;
    Some(version.trim_end_matches('"').to_owned())
}
