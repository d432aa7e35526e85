//! Facts about the machine a run happens on, read from `/proc`.

use serde::Serialize;

/// The machine a run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Logical cores available to this process.
    pub cores: usize,
    /// The CPU model name from `/proc/cpuinfo`.
    pub cpu: String,
    /// The kernel and OS, from `/proc/version`.
    pub os: String,
}

impl Machine {
    /// Reads the machine's description; unknown fields read `"unknown"`.
    pub fn detect() -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
            .unwrap_or_else(|| "unknown".to_owned());
        let os = std::fs::read_to_string("/proc/version")
            .ok()
            .and_then(|v| v.split_whitespace().nth(2).map(|k| format!("Linux {k}")))
            .unwrap_or_else(|| std::env::consts::OS.to_owned());
        Self {
            cores: cores(),
            cpu,
            os,
        }
    }
}

/// Logical cores available to this process; the worker-thread count of the
/// multi-thread runtime every tokio-based framework runs on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Resident set size of this process in bytes, from `/proc/self/statm`
/// (second field, in pages of 4 KiB, the page size on x86-64 and most
/// aarch64 Linux kernels). `0` where `/proc` is missing.
pub fn resident_bytes() -> u64 {
    const PAGE: u64 = 4096;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * PAGE)
}
