//! [`MembershipConfig`]: how fast a member's failure is detected, and how
//! much a quiet cluster sends to know it.

use std::num::{NonZeroU32, NonZeroU8, NonZeroUsize};
use std::time::Duration;

/// How the SWIM failure detector of cluster membership probes members,
/// suspects them and declares them down; set with
/// [`NodeBuilder::membership`](crate::NodeBuilder::membership). Every member
/// of a cluster should use the same values.
///
/// Each [`probe_period`](Self::probe_period), every member pings one other
/// member (in a shuffled round). No ack within
/// [`probe_timeout`](Self::probe_timeout): it asks
/// [`indirect_probes`](Self::indirect_probes) others to ping it too; no ack
/// through them either by the end of the period: the member is *suspect*
/// (`NodeEvent::MemberSuspect`) and has [`suspicion`](Self::suspicion) to
/// refute it (a paused process that runs again does so by itself) before it
/// is declared *down*. News spreads on the probes and, every
/// [`gossip_interval`](Self::gossip_interval), to
/// [`gossip_fanout`](Self::gossip_fanout) members.
///
/// The default is tuned for a LAN (probe every 500 ms, suspicion 3 s) so
/// that a process killed with `kill -9` is declared down by every other
/// member within seconds, while a member stopped for 2 s, with 1 % of the
/// datagrams lost, is not declared down; BENCHMARKS.md ("Membership") has
/// the measurements and the commands that made them.
///
/// The time to declare a dead member down is about one to two probe
/// periods plus the suspicion; a pause of a live member that is shorter
/// than the suspicion minus a probe period does not get it declared down.
/// Raise [`suspicion`](Self::suspicion) for members that may stall longer
/// (long GC-like pauses, an overloaded host), lower it for faster detection.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use proscenium_net::MembershipConfig;
///
/// // Slower detection, fewer false alarms on a busy network.
/// let tolerant = MembershipConfig::default()
///     .probe_period(Duration::from_secs(1))
///     .suspicion(Duration::from_secs(6));
/// assert!(tolerant.check().is_ok());
///
/// // A probe timeout must be shorter than the probe period.
/// let wrong = MembershipConfig::default().probe_timeout(Duration::from_secs(2));
/// assert!(wrong.check().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MembershipConfig {
    probe_period: Duration,
    probe_timeout: Duration,
    indirect_probes: usize,
    suspicion: Duration,
    gossip_interval: Duration,
    gossip_fanout: usize,
    expected_members: u32,
    outgoing_loss: f64,
}

impl Default for MembershipConfig {
    /// The LAN defaults; see the type's documentation.
    fn default() -> Self {
        Self {
            probe_period: Duration::from_millis(500),
            probe_timeout: Duration::from_millis(200),
            indirect_probes: 3,
            suspicion: Duration::from_secs(3),
            gossip_interval: Duration::from_millis(200),
            gossip_fanout: 3,
            expected_members: 100,
            outgoing_loss: 0.0,
        }
    }
}

/// A [`MembershipConfig`] value that cannot work.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MembershipConfigError {
    /// A duration or count that must not be zero is.
    #[error("membership setting `{0}` is zero; give it a positive value")]
    Zero(&'static str),
    /// The probe timeout leaves no time for the indirect probes.
    #[error(
        "the membership probe timeout ({timeout:?}) must be shorter than the probe period \
         ({period:?}); about a third of it leaves time for the indirect probes"
    )]
    ProbeTimeout {
        /// The probe timeout.
        timeout: Duration,
        /// The probe period.
        period: Duration,
    },
    /// The fraction of datagrams to drop is not one.
    #[error("the membership outgoing loss is {0}; give a fraction from 0.0 to 1.0")]
    Loss(f64),
}

impl MembershipConfig {
    /// How often a member probes another (default 500 ms).
    #[must_use]
    pub fn probe_period(mut self, period: Duration) -> Self {
        self.probe_period = period;
        self
    }

    /// How long a probe waits for a direct ack before it asks others to
    /// probe too (default 200 ms): well above the network's round trip,
    /// well below the [`probe_period`](Self::probe_period).
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// How many members are asked to probe a member that did not answer
    /// directly (default 3).
    #[must_use]
    pub fn indirect_probes(mut self, members: usize) -> Self {
        self.indirect_probes = members;
        self
    }

    /// How long a suspect member has to show it is alive before it is
    /// declared down (default 3 s).
    #[must_use]
    pub fn suspicion(mut self, suspicion: Duration) -> Self {
        self.suspicion = suspicion;
        self
    }

    /// How often a member that has news sends it to
    /// [`gossip_fanout`](Self::gossip_fanout) members besides what rides on
    /// probes (default 200 ms).
    #[must_use]
    pub fn gossip_interval(mut self, interval: Duration) -> Self {
        self.gossip_interval = interval;
        self
    }

    /// How many members each gossip round goes to (default 3).
    #[must_use]
    pub fn gossip_fanout(mut self, members: usize) -> Self {
        self.gossip_fanout = members;
        self
    }

    /// About how many members the cluster will have (default 100): each
    /// piece of news (a member suspect, down, up again) is sent
    /// `5 × log10(members + 1)` times by each member that learns it (at
    /// least 3; 10 by default), so it reaches everyone without being sent
    /// forever. Too low a number makes news miss some members, which then
    /// learn of a dead member only when they probe it themselves (seconds
    /// later); a higher one costs bytes only while there is news.
    #[must_use]
    pub fn expected_members(mut self, members: u32) -> Self {
        self.expected_members = members;
        self
    }

    /// **For fault-injection tests and benchmarks only**: drops this
    /// fraction (0.0 to 1.0, default 0) of the membership datagrams this
    /// node sends, at random, as a lossy network would. Counted in
    /// [`NodeStats::membership_datagrams_dropped`](crate::NodeStats::membership_datagrams_dropped).
    #[must_use]
    pub fn outgoing_loss(mut self, fraction: f64) -> Self {
        self.outgoing_loss = fraction;
        self
    }

    /// The fraction of outgoing datagrams dropped on purpose.
    pub(crate) fn outgoing_loss_fraction(&self) -> f64 {
        self.outgoing_loss
    }

    /// Checks that the values can work together.
    ///
    /// # Errors
    ///
    /// [`MembershipConfigError`] naming the value to change.
    pub fn check(&self) -> Result<(), MembershipConfigError> {
        self.to_foca().map(|_| ())
    }

    /// The foca configuration these values make.
    pub(crate) fn to_foca(&self) -> Result<foca::Config, MembershipConfigError> {
        let nonzero_time = |value: Duration, what| {
            if value.is_zero() {
                Err(MembershipConfigError::Zero(what))
            } else {
                Ok(value)
            }
        };
        let nonzero_count =
            |value: usize, what| NonZeroUsize::new(value).ok_or(MembershipConfigError::Zero(what));
        let probe_period = nonzero_time(self.probe_period, "probe_period")?;
        let probe_rtt = nonzero_time(self.probe_timeout, "probe_timeout")?;
        if probe_rtt >= probe_period {
            return Err(MembershipConfigError::ProbeTimeout {
                timeout: probe_rtt,
                period: probe_period,
            });
        }
        if !(0.0..=1.0).contains(&self.outgoing_loss) {
            return Err(MembershipConfigError::Loss(self.outgoing_loss));
        }
        let expected = NonZeroU32::new(self.expected_members)
            .ok_or(MembershipConfigError::Zero("expected_members"))?;
        // The LAN profile supplies what is not tuned here: the packet size,
        // the periodic announces that heal partitions, telling a member it
        // was declared down, how long a down member is remembered.
        let mut config = foca::Config::new_lan(expected);
        config.probe_period = probe_period;
        config.probe_rtt = probe_rtt;
        config.num_indirect_probes = nonzero_count(self.indirect_probes, "indirect_probes")?;
        config.suspect_to_down_after = nonzero_time(self.suspicion, "suspicion")?;
        config.max_transmissions = max_transmissions(expected);
        config.periodic_gossip = Some(foca::PeriodicParams {
            frequency: nonzero_time(self.gossip_interval, "gossip_interval")?,
            num_members: nonzero_count(self.gossip_fanout, "gossip_fanout")?,
        });
        Ok(config)
    }
}

/// How often one piece of news is repeated: `5 × log10(members + 1)`, at
/// least 3. memberlist and foca's LAN profile use 4 ×; with it, a 20-member
/// cluster saw about one kill in 20 where a member missed the news (each
/// of 20 members sending 6 copies to random others leaves a given member
/// without one with a chance of about e^-6).
fn max_transmissions(members: NonZeroU32) -> NonZeroU8 {
    let repeats = (f64::from(members.get()) + 1.0).log10() * 5.0;
    // In range: log10 of at most 2^32 + 1 is under 10.
    let repeats = repeats.clamp(3.0, 255.0) as u8;
    NonZeroU8::new(repeats).unwrap_or(NonZeroU8::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_make_a_foca_config_with_the_tuned_values() {
        let config = MembershipConfig::default()
            .to_foca()
            .expect("the defaults work");
        assert_eq!(config.probe_period, Duration::from_millis(500));
        assert_eq!(config.probe_rtt, Duration::from_millis(200));
        assert_eq!(config.suspect_to_down_after, Duration::from_secs(3));
        assert_eq!(config.num_indirect_probes.get(), 3);
        assert_eq!(config.max_transmissions.get(), 10);
        let gossip = config.periodic_gossip.expect("gossip on");
        assert_eq!(gossip.frequency, Duration::from_millis(200));
        assert_eq!(gossip.num_members.get(), 3);
        assert!(config.notify_down_members);
        assert!(config.periodic_announce.is_some());
    }

    #[test]
    fn zero_values_are_refused_by_name() {
        let cases = [
            (
                MembershipConfig::default().probe_period(Duration::ZERO),
                "probe_period",
            ),
            (
                MembershipConfig::default().probe_timeout(Duration::ZERO),
                "probe_timeout",
            ),
            (
                MembershipConfig::default().suspicion(Duration::ZERO),
                "suspicion",
            ),
            (
                MembershipConfig::default().indirect_probes(0),
                "indirect_probes",
            ),
            (
                MembershipConfig::default().gossip_fanout(0),
                "gossip_fanout",
            ),
            (
                MembershipConfig::default().gossip_interval(Duration::ZERO),
                "gossip_interval",
            ),
            (
                MembershipConfig::default().expected_members(0),
                "expected_members",
            ),
        ];
        for (config, name) in cases {
            assert_eq!(config.check(), Err(MembershipConfigError::Zero(name)));
        }
    }

    #[test]
    fn a_probe_timeout_not_below_the_period_is_refused() {
        let config = MembershipConfig::default()
            .probe_period(Duration::from_millis(300))
            .probe_timeout(Duration::from_millis(300));
        assert_eq!(
            config.check(),
            Err(MembershipConfigError::ProbeTimeout {
                timeout: Duration::from_millis(300),
                period: Duration::from_millis(300),
            })
        );
    }

    #[test]
    fn a_loss_outside_zero_to_one_is_refused() {
        for loss in [-0.1, 1.5, f64::NAN] {
            let refused = MembershipConfig::default().outgoing_loss(loss).check();
            assert!(
                matches!(refused, Err(MembershipConfigError::Loss(_))),
                "{loss}"
            );
        }
        assert!(MembershipConfig::default()
            .outgoing_loss(1.0)
            .check()
            .is_ok());
    }

    #[test]
    fn news_is_repeated_more_in_larger_clusters() {
        let repeats = |members| max_transmissions(NonZeroU32::new(members).expect("nonzero")).get();
        assert_eq!(repeats(1), 3);
        assert_eq!(repeats(8), 4);
        assert_eq!(repeats(32), 7);
        assert_eq!(repeats(100), 10);
        assert_eq!(repeats(1000), 15);
        assert!(repeats(u32::MAX) < 255);
    }
}
