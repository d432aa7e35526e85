//! Supervisor strategies, restart policies, intensity and backoff.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;

use super::PendingChild;

/// Which children a supervisor restarts when one of them fails: the
/// scope of a [`SupervisorStrategy`], which adds how often and how soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartScope {
    /// Restart only the child that failed.
    #[default]
    OneForOne,
    /// Restart every child: they depend on each other. The others are
    /// taken down last started first, then all restart in start order.
    OneForAll,
    /// Restart the failed child and every child started after it: those
    /// are taken down last started first, then all restart in start order.
    /// Children started before it are untouched.
    RestForOne,
}

/// Whether a child is restarted when it ends.
///
/// A [`ChildSpec`](crate::ChildSpec) is `Permanent` unless told otherwise;
/// a child spawned from a value with [`Context::spawn`](crate::Context::spawn)
/// is `Transient`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartPolicy {
    /// Restarted after any failure, and also when it stops itself with
    /// [`Context::stop`](crate::Context::stop). A `stop` or `kill` through
    /// its ref is final.
    #[default]
    Permanent,
    /// Restarted after a failure only; stopping itself is final.
    Transient,
    /// Never restarted.
    Temporary,
}

/// Exponential restart backoff with jitter.
///
/// The n-th restart within the intensity window waits
/// `min(max, initial * 2^(n-1))`, stretched by a random factor in
/// `[1, 1 + jitter]`. Signals (stop, kill) are still obeyed while waiting;
/// messages wait in the mailbox.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// Delay before the first restart.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Random stretch, as a fraction of the delay (`0.0` for none).
    pub jitter: f64,
}

impl Backoff {
    /// A backoff from `initial` doubling up to `max`, with 10 % jitter.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max,
            jitter: 0.1,
        }
    }

    /// Sets the jitter fraction.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter.max(0.0);
        self
    }

    /// The delay before restart number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let base = self.initial.saturating_mul(1 << doublings).min(self.max);
        base.mul_f64(1.0 + self.jitter * unit_random())
    }
}

/// A number in `[0, 1)` that differs from call to call; jitter needs no more.
fn unit_random() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// How a supervisor treats failing children: which to restart, how often
/// before giving up, and how long to wait.
///
/// The default is Erlang/OTP's: one-for-one, at most 3 restarts in 5
/// seconds, no backoff. Past the intensity the supervisor itself fails,
/// and its own supervisor decides.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_runtime::{Backoff, RestartScope, SupervisorStrategy};
///
/// let strategy = SupervisorStrategy::one_for_all()
///     .intensity(10, Duration::from_secs(60))
///     .backoff(Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1)));
/// assert_eq!(strategy.scope(), RestartScope::OneForAll);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupervisorStrategy {
    scope: RestartScope,
    max_restarts: u32,
    within: Duration,
    backoff: Option<Backoff>,
}

impl Default for SupervisorStrategy {
    fn default() -> Self {
        Self {
            scope: RestartScope::OneForOne,
            max_restarts: 3,
            within: Duration::from_secs(5),
            backoff: None,
        }
    }
}

impl SupervisorStrategy {
    /// One-for-one with the default intensity.
    pub fn one_for_one() -> Self {
        Self::default()
    }

    /// One-for-all with the default intensity.
    pub fn one_for_all() -> Self {
        Self {
            scope: RestartScope::OneForAll,
            ..Self::default()
        }
    }

    /// Rest-for-one with the default intensity.
    pub fn rest_for_one() -> Self {
        Self {
            scope: RestartScope::RestForOne,
            ..Self::default()
        }
    }

    /// Allows at most `max_restarts` restarts within any `within` window;
    /// one more failure fails the supervisor.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// Waits before each restart (off by default).
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = Some(backoff);
        self
    }

    /// Which children are restarted together.
    pub fn scope(&self) -> RestartScope {
        self.scope
    }

    /// The intensity: at most this many restarts within this window.
    pub fn intensity_limits(&self) -> (u32, Duration) {
        (self.max_restarts, self.within)
    }
}

/// A supervisor's strategy plus the restarts it has made recently.
#[derive(Debug, Default)]
pub(crate) struct Supervision {
    pub(crate) strategy: SupervisorStrategy,
    restarts: VecDeque<Instant>,
    /// Children to start one at a time once the running start hook
    /// returns, in this order.
    pub(crate) pending: Vec<PendingChild>,
    /// Set once children were started in order: they are then also
    /// stopped in order, the last started first, one at a time.
    pub(crate) ordered: bool,
}

impl Supervision {
    pub(crate) fn new(strategy: SupervisorStrategy) -> Self {
        Self {
            strategy,
            ..Self::default()
        }
    }

    /// Records one more restart; returns its delay, or `None` if it would
    /// exceed the intensity (the supervisor must then fail).
    pub(crate) fn admit_restart(&mut self) -> Option<Duration> {
        let now = Instant::now();
        let SupervisorStrategy {
            max_restarts,
            within,
            backoff,
            ..
        } = self.strategy;
        while self
            .restarts
            .front()
            .is_some_and(|t| now.duration_since(*t) >= within)
        {
            self.restarts.pop_front();
        }
        if self.restarts.len() >= max_restarts as usize {
            return None;
        }
        self.restarts.push_back(now);
        let attempt = self.restarts.len() as u32;
        Some(backoff.map_or(Duration::ZERO, |b| b.delay(attempt)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn intensity_allows_max_restarts_per_window() {
        let mut s =
            Supervision::new(SupervisorStrategy::default().intensity(2, Duration::from_secs(1)));
        assert!(s.admit_restart().is_some());
        assert!(s.admit_restart().is_some());
        assert!(s.admit_restart().is_none());
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(s.admit_restart().is_some());
    }

    #[test]
    fn backoff_doubles_up_to_max() {
        let b = Backoff::exponential(Duration::from_millis(10), Duration::from_millis(35))
            .with_jitter(0.0);
        let delays: Vec<_> = (1..=4).map(|n| b.delay(n).as_millis()).collect();
        assert_eq!(delays, [10, 20, 35, 35]);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1))
            .with_jitter(0.5);
        for _ in 0..100 {
            let d = b.delay(1);
            assert!(
                d >= Duration::from_millis(100) && d <= Duration::from_millis(150),
                "{d:?}"
            );
        }
    }
}
