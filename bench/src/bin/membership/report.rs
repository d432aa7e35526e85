//! Summaries of the measurements: percentiles, the machine's load.

/// Measurements of one kind, sorted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Samples(Vec<f64>);

impl Samples {
    /// Sorts `values` (NaNs last).
    pub(crate) fn new(mut values: Vec<f64>) -> Self {
        values.sort_by(f64::total_cmp);
        Self(values)
    }

    /// How many there are.
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    /// The `q` quantile (0 to 1) by the nearest-rank method: the smallest
    /// value with at least `q` of the values at or below it; NaN if empty.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let rank = (q * self.0.len() as f64).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    /// The median (nearest rank).
    pub(crate) fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The 99th percentile (nearest rank).
    pub(crate) fn p99(&self) -> f64 {
        self.quantile(0.99)
    }

    /// The largest value.
    pub(crate) fn max(&self) -> f64 {
        self.quantile(1.0)
    }
}

/// The machine's 1, 5 and 15-minute load averages, as `/proc/loadavg`
/// says, or why not.
pub(crate) fn load_average() -> String {
    match std::fs::read_to_string("/proc/loadavg") {
        Ok(text) => text
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        Err(error) => format!("unknown ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let samples = Samples::new((1..=100).rev().map(f64::from).collect());
        assert_eq!(samples.median(), 50.0);
        assert_eq!(samples.p99(), 99.0);
        assert_eq!(samples.max(), 100.0);
        assert_eq!(samples.quantile(0.0), 1.0);
        let three = Samples::new(vec![3.0, 1.0, 2.0]);
        assert_eq!(three.median(), 2.0);
        assert_eq!(three.p99(), 3.0);
        assert!(Samples::new(Vec::new()).median().is_nan());
    }
}
