//! Load reports: each member sends the mailbox depths of its actors in
//! process groups to every other member, so least-loaded pools see remote
//! queues (see docs/design-notes.md, "Load reports").
//!
//! A report is a few membership datagrams (kind `Load`), authenticated
//! like every other. The node samples its group members every
//! [`LOAD_SAMPLE`] and sends a new round only when a depth changed, or
//! after [`LOAD_REFRESH`] without one, so an idle cluster sends almost
//! nothing. A round is cut into parts of at most [`ENTRIES_PER_PART`]
//! actors and [`MAX_PARTS`] parts; actors beyond that are not reported
//! (their depth reads as unknown).

use std::time::Duration;

use proscenium_runtime::{ActorId, NodeId, System};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

/// How often a node samples its group members' mailboxes.
pub(crate) const LOAD_SAMPLE: Duration = Duration::from_millis(200);

/// How long a node goes without sending a round when nothing changed.
pub(crate) const LOAD_REFRESH: Duration = Duration::from_secs(2);

/// Actors per datagram: at most 9 + 5 bytes each in varint encoding, so a
/// part stays well inside a membership datagram.
pub(crate) const ENTRIES_PER_PART: usize = 80;

/// Parts per round: a node reports at most this many times
/// [`ENTRIES_PER_PART`] actors.
pub(crate) const MAX_PARTS: usize = 8;

/// One part of one round of a node's load report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LoadReport {
    /// The node run whose actors these are.
    pub(crate) owner: NodeId,
    /// The round, 1, 2, 3, ... per run; parts of one round share it.
    pub(crate) round: u64,
    /// Each actor's sequence number on `owner` and its mailbox depth.
    pub(crate) depths: Vec<(u64, u32)>,
}

impl LoadReport {
    /// The depths with the actors' full ids.
    pub(crate) fn entries(&self) -> Vec<(ActorId, u32)> {
        self.depths
            .iter()
            .map(|&(seq, depth)| (ActorId::new(self.owner, seq), depth))
            .collect()
    }
}

/// What a node last sent, to send again only on a change.
#[derive(Debug)]
pub(crate) struct LoadReporter {
    round: u64,
    last: Vec<(u64, u32)>,
    sent_at: Option<Instant>,
}

impl LoadReporter {
    pub(crate) fn new() -> Self {
        Self {
            round: 0,
            last: Vec::new(),
            sent_at: None,
        }
    }

    /// The parts of a new round if one is due now: the depths of `actors`
    /// (those still alive on `system`) changed since the last round, or
    /// the last one is [`LOAD_REFRESH`] old. Nothing for a node without
    /// group members that never reported.
    pub(crate) fn due(
        &mut self,
        system: &System,
        actors: &[ActorId],
        now: Instant,
    ) -> Vec<LoadReport> {
        let depths: Vec<(u64, u32)> = actors
            .iter()
            .take(ENTRIES_PER_PART * MAX_PARTS)
            .filter_map(|&id| {
                let actor = system.actor(id)?;
                let depth = u32::try_from(actor.mailbox_len()).unwrap_or(u32::MAX);
                Some((id.seq(), depth))
            })
            .collect();
        let stale = self
            .sent_at
            .is_none_or(|at| now.saturating_duration_since(at) >= LOAD_REFRESH);
        let nothing_to_say = depths.is_empty() && self.last.is_empty();
        if nothing_to_say || (depths == self.last && !stale) {
            return Vec::new();
        }
        self.round += 1;
        self.sent_at = Some(now);
        self.last = depths;
        let owner = system.node_id();
        let mut parts: Vec<LoadReport> = self
            .last
            .chunks(ENTRIES_PER_PART)
            .map(|chunk| LoadReport {
                owner,
                round: self.round,
                depths: chunk.to_vec(),
            })
            .collect();
        // No actors left: one empty part says so, and ends the reports.
        if parts.is_empty() {
            parts.push(LoadReport {
                owner,
                round: self.round,
                depths: Vec::new(),
            });
        }
        parts
    }
}

#[cfg(test)]
mod tests {
    use proscenium_runtime::{Actor, System};

    use super::*;
    use crate::cluster::codec::MAX_ITEM;
    use crate::wire;

    struct Idle;
    impl Actor for Idle {}

    #[tokio::test]
    async fn a_round_goes_out_on_a_change_or_when_stale_and_not_otherwise() {
        let system = System::new();
        let idle = system.spawn(Idle).expect("spawn");
        let mut reporter = LoadReporter::new();
        let start = Instant::now();
        let first = reporter.due(&system, &[idle.id()], start);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].entries(), [(idle.id(), 0)]);
        assert!(reporter.due(&system, &[idle.id()], start).is_empty());
        let later = reporter.due(&system, &[idle.id()], start + LOAD_REFRESH);
        assert_eq!(later[0].round, 2);
        // The actor left its groups: one empty round, then silence.
        let last = reporter.due(&system, &[], start + LOAD_REFRESH);
        assert_eq!((last[0].round, last[0].depths.len()), (3, 0));
        assert!(reporter
            .due(&system, &[], start + LOAD_REFRESH * 5)
            .is_empty());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_decode_without_panicking(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = wire::decode::<LoadReport>(&bytes, MAX_ITEM as u64);
        }
    }

    #[test]
    fn the_largest_part_fits_a_datagram() {
        let part = LoadReport {
            owner: NodeId::new(u64::MAX, u64::MAX),
            round: u64::MAX,
            depths: vec![(u64::MAX, u32::MAX); ENTRIES_PER_PART],
        };
        let bytes = wire::encode(&part, MAX_ITEM as u64).expect("fits");
        assert!(bytes.len() <= MAX_ITEM - 64, "{} bytes", bytes.len());
    }
}
