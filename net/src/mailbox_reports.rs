//! [`MailboxReports`]: the mailbox depths other nodes reported for their
//! actors, so that [`ActorRef::reported_mailbox_len`](proscenium_runtime::ActorRef::reported_mailbox_len)
//! and least-loaded pools see remote queues instead of zeros.
//!
//! The cluster layer fills it from load reports and empties a node's part
//! when that node goes down or leaves; the transport only reads it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;
use proscenium_runtime::{ActorId, NodeId};
use tokio::sync::watch;

/// The most actors one node's reports are kept for: more than a node
/// sends (the cluster layer reports at most 640), so a misbehaving member
/// cannot grow this node's memory without bound.
const MAX_PER_NODE: usize = 1024;

/// One actor's latest reported depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reported {
    /// Messages waiting in its mailbox when its node sampled it.
    pub(crate) depth: usize,
    /// Which report this came from, unique on this node: a reader that saw
    /// another number before knows a newer report has arrived.
    pub(crate) report: u64,
}

/// What one node reported, over its last rounds of reports.
#[derive(Debug)]
struct NodeReports {
    /// The node run that sent them; another run starts afresh.
    node: NodeId,
    /// The newest round taken in.
    round: u64,
    /// Each actor's depth and the round it was last reported in.
    depths: HashMap<ActorId, (Reported, u64)>,
}

/// The depths every other node reported, by node number.
#[derive(Debug)]
pub(crate) struct MailboxReports {
    nodes: DashMap<u64, NodeReports>,
    next_report: AtomicU64,
    /// Bumped after each report taken in, for those who wait for one.
    changes: watch::Sender<u64>,
}

impl Default for MailboxReports {
    fn default() -> Self {
        Self {
            nodes: DashMap::new(),
            next_report: AtomicU64::new(1),
            changes: watch::channel(0).0,
        }
    }
}

impl MailboxReports {
    /// Takes in part `depths` of `node`'s report of `round`. The parts of
    /// one round add up; an actor missing from two rounds in a row is
    /// forgotten (it stopped or left its groups), an empty part forgets
    /// them all, and a round older than the one before the newest is
    /// ignored (the network reordered it).
    pub(crate) fn record(&self, node: NodeId, round: u64, depths: &[(ActorId, u32)]) {
        let report = self.next_report.fetch_add(1, Ordering::Relaxed);
        let mut held = self
            .nodes
            .entry(node.number())
            .or_insert_with(|| NodeReports {
                node,
                round,
                depths: HashMap::new(),
            });
        if held.node != node {
            *held = NodeReports {
                node,
                round,
                depths: HashMap::new(),
            };
        }
        if round.saturating_add(1) < held.round {
            return;
        }
        if round > held.round {
            held.round = round;
            held.depths
                .retain(|_, (_, last)| last.saturating_add(1) >= round);
        }
        // A node sends an empty part only when it has nothing to report.
        if depths.is_empty() {
            held.depths.clear();
        }
        for &(actor, depth) in depths.iter().filter(|(actor, _)| actor.node() == node) {
            if held.depths.len() >= MAX_PER_NODE && !held.depths.contains_key(&actor) {
                break;
            }
            let reported = Reported {
                depth: depth as usize,
                report,
            };
            held.depths.insert(actor, (reported, round));
        }
        drop(held);
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Forgets what node run `node` reported: it is down or gone.
    pub(crate) fn forget(&self, node: NodeId) {
        self.nodes
            .remove_if(&node.number(), |_, held| held.node == node);
    }

    /// `actor`'s latest reported depth, if its node reported one.
    pub(crate) fn get(&self, actor: ActorId) -> Option<Reported> {
        let held = self.nodes.get(&actor.node().number())?;
        if held.node != actor.node() {
            return None;
        }
        held.depths.get(&actor).map(|(reported, _)| *reported)
    }

    /// A receiver that sees a change after each report taken in.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(node: NodeId, n: u64) -> ActorId {
        ActorId::new(node, n)
    }

    #[test]
    fn the_newest_report_wins_and_each_report_is_numbered_anew() {
        let reports = MailboxReports::default();
        let b = NodeId::new(2, 7);
        reports.record(b, 1, &[(actor(b, 1), 5)]);
        let first = reports.get(actor(b, 1)).expect("reported");
        reports.record(b, 2, &[(actor(b, 1), 3)]);
        let second = reports.get(actor(b, 1)).expect("reported");
        assert_eq!((first.depth, second.depth), (5, 3));
        assert_ne!(first.report, second.report);
    }

    #[test]
    fn an_actor_missing_from_two_rounds_is_forgotten() {
        let reports = MailboxReports::default();
        let b = NodeId::new(2, 7);
        reports.record(b, 1, &[(actor(b, 1), 5), (actor(b, 2), 1)]);
        reports.record(b, 2, &[(actor(b, 2), 1)]);
        // Missing once may be a lost part: still known.
        assert_eq!(reports.get(actor(b, 1)).map(|r| r.depth), Some(5));
        reports.record(b, 3, &[(actor(b, 2), 1)]);
        assert_eq!(reports.get(actor(b, 1)), None);
        assert_eq!(reports.get(actor(b, 2)).map(|r| r.depth), Some(1));
    }

    #[test]
    fn a_node_cannot_report_more_than_the_cap() {
        let reports = MailboxReports::default();
        let b = NodeId::new(2, 7);
        let many: Vec<(ActorId, u32)> = (0..MAX_PER_NODE as u64 + 10)
            .map(|n| (actor(b, n), 1))
            .collect();
        reports.record(b, 1, &many);
        let kept = (0..MAX_PER_NODE as u64 + 10)
            .filter(|&n| reports.get(actor(b, n)).is_some())
            .count();
        assert_eq!(kept, MAX_PER_NODE);
    }

    #[test]
    fn old_rounds_other_runs_and_foreign_actors_do_not_count() {
        let reports = MailboxReports::default();
        let b = NodeId::new(2, 7);
        reports.record(b, 5, &[(actor(b, 1), 5)]);
        reports.record(b, 3, &[(actor(b, 1), 9)]);
        assert_eq!(reports.get(actor(b, 1)).map(|r| r.depth), Some(5));
        // A node may only report its own actors.
        let c = NodeId::new(3, 1);
        reports.record(b, 5, &[(actor(c, 1), 9)]);
        assert_eq!(reports.get(actor(c, 1)), None);
        // A restarted run of the node replaces what the old one said.
        let b_again = NodeId::new(2, 8);
        reports.record(b_again, 1, &[(actor(b_again, 1), 2)]);
        assert_eq!(reports.get(actor(b, 1)), None);
        assert_eq!(reports.get(actor(b_again, 1)).map(|r| r.depth), Some(2));
        reports.forget(b);
        assert!(reports.get(actor(b_again, 1)).is_some());
        reports.forget(b_again);
        assert_eq!(reports.get(actor(b_again, 1)), None);
    }
}
