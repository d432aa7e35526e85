//! What the soak counts, and how the tells are accounted for.
//!
//! Asks are counted where they are made: the driver's own (to an `echo`,
//! or to a `relay`) and those a relay makes to another node and reports
//! back. A tell belongs to a stream (sender run, sender lane, sink run);
//! per stream the soak knows how many were accepted for delivery (the
//! driver counts its own; a relay reports its), how many the sink
//! received (the sink reports), and how many came back to the sender's
//! dead letters (the driver's subscription, or the relay's report), in two
//! kinds: *unsent* (never written: certainly not delivered) and *possibly
//! undelivered* (written, but the link ended before the sink's node
//! acknowledged them: each may have been delivered or not).
//!
//! Per (sender, sink) pair: the received and the unsent tells are distinct
//! tells, so together they may not exceed those sent (else
//! *over-delivered*). What is left, sent but neither received nor unsent,
//! must be covered by possibly-undelivered reports: those cover as many as
//! they number, and the rest of them were delivered after all (delivered
//! and reported: counted once, as delivered, never as lost). Left-over tells
//! not covered are *lost in a crash* when either end's process was killed
//! with SIGKILL during the soak (at-most-once delivery cannot say more: the
//! sink's last report may predate the kill, and a killed relay's last
//! report may predate its last sends), and *unaccounted* otherwise. More
//! dead letters than tells sent is *over-reported*.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use proscenium_runtime::{ActorId, AskError, NodeId};

use crate::node::{DeadRecords, Stream};

/// The outcomes of one kind of ask.
#[derive(Debug, Default, Clone)]
pub(crate) struct AskTally {
    /// Asks made.
    pub(crate) issued: u64,
    /// Answered with the right value.
    pub(crate) answered: u64,
    /// Answered with a wrong value (a bug).
    pub(crate) wrong: u64,
    /// Failed with a typed error, by kind.
    pub(crate) failed: BTreeMap<String, u64>,
    /// Unresolved well past their deadline.
    pub(crate) hung: u64,
}

impl AskTally {
    /// Counts one ask's outcome.
    pub(crate) fn failed(&mut self, kind: impl Into<String>) {
        *self.failed.entry(kind.into()).or_default() += 1;
    }
}

/// A tell stream's counts as last reported.
#[derive(Debug, Default, Clone, Copy)]
struct StreamCounts {
    sent: u64,
    received: u64,
    out_of_order: u64,
    dead: DeadRecords,
}

/// Everything the soak counts.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Asks from the driver to a node's `echo` or `relay`.
    pub(crate) driver_asks: AskTally,
    /// Asks a node's `relay` made to another node, as it reported them.
    pub(crate) node_asks: AskTally,
    /// Relayed asks whose outcome never came back (the request to the relay failed).
    pub(crate) node_asks_unreported: u64,
    /// Tells refused at send, by kind.
    pub(crate) tells_refused: BTreeMap<String, u64>,
    /// Tells still waiting for room after the hang deadline (then dropped unsent).
    pub(crate) tells_hung: u64,
    /// Faults injected, by kind.
    pub(crate) faults: BTreeMap<&'static str, u64>,
    /// Node runs killed with SIGKILL.
    pub(crate) killed: HashSet<NodeId>,
    /// Node restarts that failed.
    pub(crate) restart_failures: u64,
    /// Tells a sink received for another sink (a cross-run mix-up).
    pub(crate) misdelivered: u64,
    /// Each node run's statistics, as last reported.
    node_stats: HashMap<NodeId, Vec<(String, u64)>>,
    /// Names for node runs in the report: `n1 run 2`.
    pub(crate) runs: HashMap<NodeId, String>,
    streams: HashMap<Stream, StreamCounts>,
}

impl Ledger {
    /// One of the driver's tells was accepted for delivery.
    pub(crate) fn driver_sent(&mut self, stream: Stream) {
        self.streams.entry(stream).or_default().sent += 1;
    }

    /// The driver's dead letters returned a tell to `to`, as unsent or
    /// (`possibly_delivered`) as written but unacknowledged.
    pub(crate) fn driver_dead(&mut self, driver: NodeId, to: ActorId, possibly_delivered: bool) {
        // Dead letters do not say which lane sent them: a lane of their own
        // (the verdict sums the driver's lanes per sink).
        let stream = Stream {
            from: driver,
            lane: u32::MAX,
            to,
        };
        let dead = &mut self.streams.entry(stream).or_default().dead;
        if possibly_delivered {
            dead.doubtful += 1;
        } else {
            dead.unsent += 1;
        }
    }

    /// A sink's report: everything it has received, per stream.
    pub(crate) fn sink_report(&mut self, sink: ActorId, streams: Vec<(Stream, u64, u64)>) {
        for (stream, received, out_of_order) in streams {
            if stream.to != sink {
                self.misdelivered += received;
                continue;
            }
            let counts = self.streams.entry(stream).or_default();
            counts.received = counts.received.max(received);
            counts.out_of_order = counts.out_of_order.max(out_of_order);
        }
    }

    /// A node run's statistics (`NodeStats`, by name).
    pub(crate) fn node_stats(&mut self, run: NodeId, stats: Vec<(String, u64)>) {
        self.node_stats.insert(run, stats);
    }

    /// Every node run's statistics, summed by name.
    pub(crate) fn node_stats_total(&self) -> BTreeMap<String, u64> {
        let mut total = BTreeMap::new();
        for (name, n) in self.node_stats.values().flatten() {
            *total.entry(name.clone()).or_default() += n;
        }
        total
    }

    /// A relay's report: per sink, what it sent and what came back dead.
    pub(crate) fn relay_report(&mut self, relay: NodeId, sinks: Vec<(ActorId, u64, DeadRecords)>) {
        for (to, sent, dead) in sinks {
            let stream = Stream {
                from: relay,
                lane: 0,
                to,
            };
            let counts = self.streams.entry(stream).or_default();
            counts.sent = counts.sent.max(sent);
            counts.dead.unsent = counts.dead.unsent.max(dead.unsent);
            counts.dead.doubtful = counts.dead.doubtful.max(dead.doubtful);
        }
    }

    /// The tell totals and the soak's verdict on them.
    pub(crate) fn tells(&self, driver: NodeId) -> TellTotals {
        // The driver's streams are summed per sink: its dead letters do
        // not say which lane a tell came from.
        let mut per_pair: HashMap<(NodeId, ActorId), StreamCounts> = HashMap::new();
        let mut totals = TellTotals::default();
        for (stream, counts) in &self.streams {
            totals.sent += counts.sent;
            totals.delivered += counts.received;
            totals.dead_lettered += counts.dead.unsent;
            totals.possibly_undelivered += counts.dead.doubtful;
            totals.out_of_order += counts.out_of_order;
            let pair = per_pair.entry((stream.from, stream.to)).or_default();
            pair.sent += counts.sent;
            pair.received += counts.received;
            pair.dead.unsent += counts.dead.unsent;
            pair.dead.doubtful += counts.dead.doubtful;
        }
        for ((from, to), counts) in per_pair {
            let DeadRecords { unsent, doubtful } = counts.dead;
            // Received and unsent tells are distinct tells.
            let left = counts.sent as i128 - counts.received as i128 - unsent as i128;
            // What possibly-undelivered reports cover of the rest; the
            // others among them were delivered after all.
            let covered = left.clamp(0, doubtful as i128);
            totals.reported_lost += covered as u64;
            totals.reported_delivered += doubtful - covered as u64;
            let uncovered = left - covered;
            let crashed = self.killed.contains(&from) || self.killed.contains(&to.node());
            if !crashed {
                let over_reported = (unsent + doubtful).saturating_sub(counts.sent);
                totals.over_reported += over_reported;
            }
            match (crashed, uncovered) {
                (true, left) if left > 0 => totals.lost_in_crash += left as u64,
                (true, left) => totals.reported_late += (-left) as u64,
                (false, left) if left > 0 => {
                    totals.unaccounted += left as u64;
                    let who = if from == driver {
                        "driver".to_owned()
                    } else {
                        self.run(from)
                    };
                    let sink = self.run(to.node());
                    totals
                        .examples
                        .push(format!("{left} from {who} to the sink of {sink}"));
                }
                (false, left) => totals.over_delivered += (-left) as u64,
            }
        }
        totals.examples.sort();
        totals
    }
}

impl Ledger {
    fn run(&self, node: NodeId) -> String {
        self.runs
            .get(&node)
            .cloned()
            .unwrap_or_else(|| node.to_string())
    }
}

/// Tell totals over every stream.
#[derive(Debug, Default)]
pub(crate) struct TellTotals {
    /// Accepted for delivery.
    pub(crate) sent: u64,
    /// Received by their sink.
    pub(crate) delivered: u64,
    /// Returned to their sender's dead letters as never sent.
    pub(crate) dead_lettered: u64,
    /// Returned to their sender's dead letters as possibly undelivered
    /// (written, never acknowledged).
    pub(crate) possibly_undelivered: u64,
    /// Of those, how many were not delivered (by the counts per pair).
    pub(crate) reported_lost: u64,
    /// Of those, how many were delivered after all: counted as delivered.
    pub(crate) reported_delivered: u64,
    /// Left over on streams whose sender or sink was killed with SIGKILL.
    pub(crate) lost_in_crash: u64,
    /// Received or dead-lettered beyond what a killed sender last reported sending.
    pub(crate) reported_late: u64,
    /// Left over on streams whose ends both lived: must be 0.
    pub(crate) unaccounted: u64,
    /// Received, or received and dead-lettered as unsent, more often than
    /// sent, both ends alive: must be 0.
    pub(crate) over_delivered: u64,
    /// Dead-lettered (of either kind) more often than sent, both ends
    /// alive: must be 0.
    pub(crate) over_reported: u64,
    /// Received with a number not above the stream's last one.
    pub(crate) out_of_order: u64,
    /// A few streams with unaccounted tells.
    pub(crate) examples: Vec<String>,
}

/// The kind of an ask error, for the report.
pub(crate) fn ask_error_kind(error: &AskError) -> String {
    let debug = format!("{error:?}");
    let end = debug.find(['(', ' ', '{']).unwrap_or(debug.len());
    debug[..end].to_owned()
}

/// One line per kind: `kind n, kind n`.
pub(crate) fn by_kind<K: std::fmt::Display>(counts: &BTreeMap<K, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    let mut line = String::new();
    for (kind, n) in counts {
        if !line.is_empty() {
            line.push_str(", ");
        }
        let _ = write!(line, "{kind} {n}");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u64) -> NodeId {
        NodeId::new(n, 1)
    }

    fn sink(n: u64) -> ActorId {
        ActorId::new(run(n), 2)
    }

    fn stream(from: u64, to: u64) -> Stream {
        Stream {
            from: run(from),
            lane: 0,
            to: sink(to),
        }
    }

    fn unsent(unsent: u64) -> DeadRecords {
        DeadRecords {
            unsent,
            doubtful: 0,
        }
    }

    fn doubtful(doubtful: u64) -> DeadRecords {
        DeadRecords {
            unsent: 0,
            doubtful,
        }
    }

    /// `sent` by relay `from` to sink `to`, `received` there.
    fn exchange(
        ledger: &mut Ledger,
        from: u64,
        to: u64,
        sent: u64,
        dead: DeadRecords,
        received: u64,
    ) {
        ledger.relay_report(run(from), vec![(sink(to), sent, dead)]);
        ledger.sink_report(sink(to), vec![(stream(from, to), received, 0)]);
    }

    #[test]
    fn what_is_left_between_live_runs_is_unaccounted() {
        let mut ledger = Ledger::default();
        exchange(&mut ledger, 1, 2, 10, unsent(3), 6);
        let tells = ledger.tells(run(0));
        assert_eq!(
            (tells.sent, tells.delivered, tells.dead_lettered),
            (10, 6, 3)
        );
        assert_eq!((tells.unaccounted, tells.lost_in_crash), (1, 0));
        assert_eq!(tells.examples.len(), 1);
    }

    #[test]
    fn what_is_left_on_a_killed_runs_streams_is_lost_in_a_crash() {
        let mut ledger = Ledger::default();
        exchange(&mut ledger, 1, 2, 10, unsent(0), 6);
        exchange(&mut ledger, 3, 1, 5, unsent(0), 7);
        ledger.killed.insert(run(1));
        let tells = ledger.tells(run(0));
        assert_eq!(tells.unaccounted, 0);
        assert_eq!(tells.lost_in_crash, 4, "sender killed");
        assert_eq!(
            tells.reported_late, 2,
            "sink killed, more delivered than reported sent"
        );
    }

    #[test]
    fn more_delivered_than_sent_between_live_runs_is_over_delivered() {
        let mut ledger = Ledger::default();
        exchange(&mut ledger, 1, 2, 4, unsent(0), 5);
        assert_eq!(ledger.tells(run(0)).over_delivered, 1);
    }

    #[test]
    fn a_tell_received_and_reported_possibly_undelivered_counts_once() {
        let mut ledger = Ledger::default();
        exchange(&mut ledger, 1, 2, 10, doubtful(3), 10);
        let tells = ledger.tells(run(0));
        assert_eq!((tells.unaccounted, tells.over_delivered), (0, 0));
        assert_eq!((tells.reported_delivered, tells.reported_lost), (3, 0));
        assert_eq!(tells.over_reported, 0);
    }

    #[test]
    fn possibly_undelivered_reports_cover_only_as_many_as_they_number() {
        let mut ledger = Ledger::default();
        // 10 sent: 5 received, 1 unsent, 4 left; 3 reports cover 3 of them.
        let dead = DeadRecords {
            unsent: 1,
            doubtful: 3,
        };
        exchange(&mut ledger, 1, 2, 10, dead, 5);
        let tells = ledger.tells(run(0));
        assert_eq!(tells.unaccounted, 1, "a real loss is still found");
        assert_eq!((tells.reported_lost, tells.reported_delivered), (3, 0));
    }

    #[test]
    fn received_and_unsent_together_beyond_what_was_sent_is_over_delivered() {
        let mut ledger = Ledger::default();
        exchange(&mut ledger, 1, 2, 4, unsent(2), 3);
        assert_eq!(ledger.tells(run(0)).over_delivered, 1);
    }

    #[test]
    fn more_dead_letters_than_tells_sent_is_over_reported() {
        let mut ledger = Ledger::default();
        let dead = DeadRecords {
            unsent: 2,
            doubtful: 3,
        };
        exchange(&mut ledger, 1, 2, 4, dead, 0);
        let tells = ledger.tells(run(0));
        assert_eq!(tells.over_reported, 1);
        assert_eq!(tells.unaccounted, 0);
    }

    #[test]
    fn the_drivers_lanes_and_dead_letters_are_summed_per_sink() {
        let mut ledger = Ledger::default();
        let driver = run(0);
        for lane in [0, 1] {
            let stream = Stream {
                from: driver,
                lane,
                to: sink(2),
            };
            ledger.driver_sent(stream);
            ledger.driver_sent(stream);
        }
        ledger.driver_dead(driver, sink(2), false);
        let delivered = Stream {
            from: driver,
            lane: 1,
            to: sink(2),
        };
        ledger.sink_report(sink(2), vec![(delivered, 3, 0)]);
        let tells = ledger.tells(driver);
        assert_eq!((tells.unaccounted, tells.over_delivered), (0, 0));
    }

    #[test]
    fn a_record_for_another_sink_is_misdelivered_not_delivered() {
        let mut ledger = Ledger::default();
        ledger.sink_report(sink(3), vec![(stream(1, 2), 2, 0)]);
        assert_eq!(ledger.misdelivered, 2);
        assert_eq!(ledger.tells(run(0)).delivered, 0);
    }
}
