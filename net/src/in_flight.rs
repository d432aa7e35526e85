//! The tells a link has written and its peer has not yet acknowledged.
//!
//! A tell written to a socket may be lost if the connection breaks: it may
//! sit in a socket buffer or in a frozen network. The receiving node counts
//! the tells it takes from each connection (queued for their actor, or
//! counted as dropped there) and says so in [`Frame::Ack`] frames. Until
//! then the sender keeps a small record of each written tell (not its
//! payload: nothing is ever resent, delivery stays at most once), counted
//! against the link's outbox budget by the tell's full weight, so that a
//! peer that acknowledges nothing holds back its senders like one that
//! reads nothing. When the link ends, what is still unacknowledged is
//! reported to the sender's dead letters as possibly delivered.
//!
//! [`Frame::Ack`]: crate::Frame::Ack

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use proscenium_runtime::ActorId;

use crate::outbox::TellRecord;
use crate::MessageTag;

/// A tell written to the link and not yet acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WrittenTell {
    /// Its place among the link's tells, counting from 1.
    seq: u64,
    /// The actor it was for.
    pub(crate) to: ActorId,
    /// Its message type.
    pub(crate) tag: MessageTag,
    /// Its weight in the link's outbox budget, released once acknowledged.
    pub(crate) weight: usize,
}

/// The written, unacknowledged tells of one link.
#[derive(Debug, Default)]
pub(crate) struct InFlight {
    state: Mutex<State>,
    /// `Ack` frames heard from the peer: a peer that sends none while
    /// tells wait for one is not taking them.
    acks_heard: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    tells: VecDeque<WrittenTell>,
    /// Tells written so far.
    written: u64,
    /// The link has ended: no acknowledgement can come any more.
    settled: bool,
}

impl InFlight {
    /// Records a run of tells about to be written, under one lock. Once the
    /// link has settled, each is handed to `late` instead: its caller
    /// reports it at once.
    pub(crate) fn written_run(&self, run: &[TellRecord], mut late: impl FnMut(WrittenTell)) {
        let mut state = self.lock();
        for tell in run {
            state.written += 1;
            let tell = WrittenTell {
                seq: state.written,
                to: tell.to,
                tag: tell.tag,
                weight: tell.weight,
            };
            if state.settled {
                late(tell);
            } else {
                state.tells.push_back(tell);
            }
        }
    }

    /// The peer has taken the first `tells` tells of the link: forgets
    /// them and returns the weight they held. An ack for more tells than
    /// were written (a confused or hostile peer) releases them all.
    pub(crate) fn acknowledged(&self, tells: u64) -> usize {
        self.acks_heard.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let mut freed = 0;
        while let Some(oldest) = state.tells.front() {
            if oldest.seq > tells {
                break;
            }
            freed += oldest.weight;
            state.tells.pop_front();
        }
        freed
    }

    /// The link has ended: returns every tell still unacknowledged, in the
    /// order written. Later writes are handed back by [`written`](Self::written).
    pub(crate) fn settle(&self) -> VecDeque<WrittenTell> {
        let mut state = self.lock();
        state.settled = true;
        std::mem::take(&mut state.tells)
    }

    /// Whether any written tell waits for its acknowledgement.
    pub(crate) fn is_waiting(&self) -> bool {
        !self.lock().tells.is_empty()
    }

    /// How many written tells wait for their acknowledgement, and how many
    /// were written in all.
    pub(crate) fn counts(&self) -> (usize, u64) {
        let state = self.lock();
        (state.tells.len(), state.written)
    }

    /// How many `Ack` frames the peer has sent.
    pub(crate) fn acks_heard(&self) -> u64 {
        self.acks_heard.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing panics while holding the lock; were it poisoned, the
        // state is still consistent (each change is one push or pop).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The acknowledgement this node owes the peer for the tells it took.
///
/// Acks are cumulative, so at most one waits in the outbox at a time: the
/// reader records the latest count and queues an `Ack` only if none is
/// queued; the writer fills in the latest count as it writes it. Under load
/// many acknowledgements thus cost one frame.
#[derive(Debug, Default)]
pub(crate) struct AckOut {
    latest: AtomicU64,
    queued: AtomicBool,
}

impl AckOut {
    /// Records that `tells` tells have been taken; `true` if an `Ack`
    /// should be queued (none is waiting to be written).
    pub(crate) fn record(&self, tells: u64) -> bool {
        self.latest.fetch_max(tells, Ordering::AcqRel);
        !self.queued.swap(true, Ordering::AcqRel)
    }

    /// The count to write in the queued `Ack`, which is no longer waiting.
    pub(crate) fn take(&self) -> u64 {
        // Cleared first: a count recorded after the load queues another ack.
        self.queued.store(false, Ordering::Release);
        self.latest.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use proscenium_runtime::NodeId;

    use super::*;

    fn actor(seq: u64) -> ActorId {
        ActorId::new(NodeId::new(7, 1), seq)
    }

    fn record(seq: u64) -> TellRecord {
        TellRecord {
            to: actor(seq),
            tag: MessageTag::new(seq),
            weight: 10,
            end: 0,
        }
    }

    fn write(in_flight: &InFlight, n: u64) {
        let run: Vec<TellRecord> = (1..=n).map(record).collect();
        in_flight.written_run(&run, |_| panic!("not settled"));
    }

    #[test]
    fn an_ack_releases_the_tells_it_covers_and_no_more() {
        let in_flight = InFlight::default();
        write(&in_flight, 5);
        assert_eq!(in_flight.acknowledged(2), 20);
        assert_eq!(in_flight.acknowledged(2), 0, "acks are cumulative");
        assert_eq!(in_flight.acknowledged(1), 0, "an older ack changes nothing");
        let left: Vec<ActorId> = in_flight.settle().iter().map(|t| t.to).collect();
        assert_eq!(left, [actor(3), actor(4), actor(5)]);
        assert_eq!(in_flight.acks_heard(), 3);
    }

    #[test]
    fn an_ack_beyond_what_was_written_releases_everything() {
        let in_flight = InFlight::default();
        write(&in_flight, 3);
        assert_eq!(in_flight.acknowledged(u64::MAX), 30);
        assert!(!in_flight.is_waiting());
    }

    #[test]
    fn after_settling_written_tells_are_handed_back() {
        let in_flight = InFlight::default();
        write(&in_flight, 1);
        assert_eq!(in_flight.settle().len(), 1);
        assert!(in_flight.settle().is_empty(), "each is reported once");
        let mut late = Vec::new();
        in_flight.written_run(&[record(9)], |tell| late.push(tell.to));
        assert_eq!(late, [actor(9)]);
        assert!(!in_flight.is_waiting());
    }

    #[test]
    fn a_run_is_recorded_in_order_and_handed_back_once_settled() {
        let in_flight = InFlight::default();
        let run: Vec<TellRecord> = (1..=3).map(record).collect();
        in_flight.written_run(&run[..2], |_| panic!("not settled"));
        assert_eq!(in_flight.counts(), (2, 2));
        assert_eq!(in_flight.acknowledged(1), 10, "the first of the run");
        let left: Vec<ActorId> = in_flight.settle().iter().map(|t| t.to).collect();
        assert_eq!(left, [actor(2)]);
        let mut late = Vec::new();
        in_flight.written_run(&run[2..], |tell| late.push(tell.to));
        assert_eq!(late, [actor(3)]);
        assert_eq!(in_flight.counts(), (0, 3));
    }

    #[test]
    fn one_ack_waits_at_a_time_with_the_latest_count() {
        let acks = AckOut::default();
        assert!(acks.record(3), "the first is queued");
        assert!(!acks.record(5), "one is queued already");
        assert!(!acks.record(4), "counts never go back");
        assert_eq!(acks.take(), 5);
        assert!(acks.record(6), "written: the next is queued");
        assert_eq!(acks.take(), 6);
    }
}
