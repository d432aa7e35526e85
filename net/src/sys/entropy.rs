//! [`Entropy`]: a node's one source of random choices.

use std::sync::{Mutex, PoisonError};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// Where a node's random choices come from: its run's incarnation, the
/// order in which membership probes members, and the jitter of retries.
///
/// Seeded from the OS, so that no two nodes (or runs) choose alike; or, in
/// a simulation, from a seed the test derives from the simulation's own,
/// so that a run repeats from its seed. None of these choices is secret:
/// handshake nonces come straight from the OS, never from here.
#[derive(Debug)]
pub(crate) struct Entropy(Mutex<SmallRng>);

impl Entropy {
    /// Seeded from the OS (or, should the OS fail to give randomness, from
    /// the clock: still different for every run).
    pub(crate) fn from_os() -> Self {
        let mut seed = [0; 8];
        if getrandom::fill(&mut seed).is_err() {
            let now = super::since_epoch().as_nanos();
            seed = (now as u64 ^ u64::from(std::process::id()).rotate_left(32)).to_le_bytes();
        }
        Self::seeded(u64::from_le_bytes(seed))
    }

    /// Seeded with `seed`: the same seed makes the same choices.
    pub(crate) fn seeded(seed: u64) -> Self {
        Self(Mutex::new(SmallRng::seed_from_u64(seed)))
    }

    /// A random 64-bit number.
    pub(crate) fn next_u64(&self) -> u64 {
        self.rng().random()
    }

    /// A random number in `[0, 1)`.
    pub(crate) fn unit(&self) -> f64 {
        self.rng().random()
    }

    fn rng(&self) -> std::sync::MutexGuard<'_, SmallRng> {
        // A generator's state is valid after any step; a panic elsewhere
        // cannot leave it half-written.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::Entropy;

    #[test]
    fn a_seed_repeats_its_choices_and_the_os_does_not() {
        let (a, b) = (Entropy::seeded(7), Entropy::seeded(7));
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(
            first,
            (0..4)
                .map(|_| Entropy::seeded(8).next_u64())
                .collect::<Vec<_>>()
        );
        assert_ne!(Entropy::from_os().next_u64(), Entropy::from_os().next_u64());
        let unit = a.unit();
        assert!((0.0..1.0).contains(&unit), "{unit}");
    }
}
