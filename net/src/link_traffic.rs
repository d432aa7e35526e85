//! [`Traffic`]: what one link has carried, bytes each way and the last
//! round trip, kept whether metrics are on or not (snapshots read it, and
//! the writer tells a stalled peer by its byte count).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Frame;

/// Counts of one link, shared by its writer, its reader and its stream.
#[derive(Debug)]
pub(crate) struct Traffic {
    /// Bytes the socket took, framing and encryption included.
    pub(crate) written: AtomicU64,
    /// Bytes the socket gave.
    read: AtomicU64,
    /// The last round trip in microseconds; `u64::MAX` until one is timed.
    rtt_micros: AtomicU64,
    /// What ping stamps count from.
    opened: Instant,
}

impl Default for Traffic {
    fn default() -> Self {
        Self {
            written: AtomicU64::new(0),
            read: AtomicU64::new(0),
            rtt_micros: AtomicU64::new(u64::MAX),
            opened: Instant::now(),
        }
    }
}

impl Traffic {
    pub(crate) fn count_written(&self, bytes: usize) {
        self.written.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn count_read(&self, bytes: usize) {
        self.read.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Bytes written and read so far.
    pub(crate) fn bytes(&self) -> (u64, u64) {
        (
            self.written.load(Ordering::Relaxed),
            self.read.load(Ordering::Relaxed),
        )
    }

    /// What an idle writer sends: a heartbeat that the peer answers, so
    /// the round trip is timed at no cost to a busy link.
    pub(crate) fn ping(&self) -> Frame {
        Frame::Ping {
            stamp: self.stamp(),
        }
    }

    /// The peer answered the ping stamped `stamp`: records and returns the
    /// round trip in microseconds. A stamp from the future (only a faulty
    /// peer sends one) is ignored.
    pub(crate) fn pong(&self, stamp: u64) -> Option<u64> {
        let micros = self.stamp().checked_sub(stamp)?;
        self.rtt_micros.store(micros, Ordering::Relaxed);
        Some(micros)
    }

    /// The last round trip timed, if any.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        match self.rtt_micros.load(Ordering::Relaxed) {
            u64::MAX => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    /// Microseconds since the link opened.
    fn stamp(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_micros()).unwrap_or(u64::MAX - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pong_times_the_round_trip_and_a_future_stamp_is_ignored() {
        let traffic = Traffic::default();
        assert_eq!(traffic.rtt(), None);
        let Frame::Ping { stamp } = traffic.ping() else {
            panic!("an idle link pings");
        };
        let micros = traffic.pong(stamp).expect("a stamp from the past");
        assert_eq!(traffic.rtt(), Some(Duration::from_micros(micros)));
        assert_eq!(traffic.pong(u64::MAX - 1), None);
        assert_eq!(traffic.rtt(), Some(Duration::from_micros(micros)));
    }

    #[test]
    fn bytes_are_counted_each_way() {
        let traffic = Traffic::default();
        traffic.count_written(10);
        traffic.count_read(3);
        traffic.count_written(5);
        assert_eq!(traffic.bytes(), (15, 3));
    }
}
