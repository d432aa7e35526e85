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

/// The system load average, as `/proc/loadavg` gives it: how many threads
/// were runnable or waiting on I/O, averaged over 1, 5 and 15 minutes. A
/// run on a busy machine measures the other work too, so the report
/// quotes it from before and after the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last 5 minutes.
    pub five: f64,
    /// Over the last 15 minutes.
    pub fifteen: f64,
}

impl LoadAverage {
    /// Reads `/proc/loadavg`; `None` where it is missing or unreadable.
    pub fn read() -> Option<Self> {
        Self::parse(&std::fs::read_to_string("/proc/loadavg").ok()?)
    }

    /// The first three fields of a `/proc/loadavg` line.
    fn parse(line: &str) -> Option<Self> {
        let mut fields = line.split_whitespace().map(str::parse::<f64>);
        Some(Self {
            one: fields.next()?.ok()?,
            five: fields.next()?.ok()?,
            fifteen: fields.next()?.ok()?,
        })
    }
}

impl std::fmt::Display for LoadAverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} {:.2} {:.2}", self.one, self.five, self.fifteen)
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

#[cfg(test)]
mod tests {
    use super::LoadAverage;

    #[test]
    fn load_average_is_the_first_three_fields() {
        let load = LoadAverage::parse("1.07 0.83 0.59 3/412 12345\n");
        assert_eq!(
            load,
            Some(LoadAverage {
                one: 1.07,
                five: 0.83,
                fifteen: 0.59
            })
        );
        assert_eq!(
            load.map(|l| l.to_string()).as_deref(),
            Some("1.07 0.83 0.59")
        );
    }

    #[test]
    fn an_unreadable_load_average_is_none() {
        assert_eq!(LoadAverage::parse("1.0 x"), None);
        assert_eq!(LoadAverage::parse(""), None);
    }
}
