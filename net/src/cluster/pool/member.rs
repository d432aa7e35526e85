//! The members a cluster pool routes over: each group member with what
//! this node knows of its load, kept up to date from group events.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};

use proscenium_runtime::{ActorId, Recipient, Routee};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use crate::cluster::GroupEvent;
use crate::mailbox_reports::MailboxReports;
use crate::{Node, NodeEvent, RemoteMessage};

/// One member of the pool's group.
pub(crate) struct PoolMember<M: RemoteMessage> {
    pub(crate) recipient: Recipient<M>,
    /// Whether it is an actor of this node, whose mailbox is read directly.
    local: bool,
    reports: Arc<MailboxReports>,
    /// Messages this pool sent it since the report numbered `seen`.
    sent: AtomicUsize,
    /// The number of the last report of its depth this pool saw.
    seen: AtomicU64,
}

impl<M: RemoteMessage> PoolMember<M> {
    fn new(recipient: Recipient<M>, local: bool, reports: Arc<MailboxReports>) -> Self {
        Self {
            recipient,
            local,
            reports,
            sent: AtomicUsize::new(0),
            seen: AtomicU64::new(0),
        }
    }

    pub(crate) fn id(&self) -> ActorId {
        self.recipient.id()
    }

    /// Whether a message sent now can reach it (for a remote member: its
    /// node is connected).
    pub(crate) fn is_reachable(&self) -> bool {
        self.recipient.is_alive()
    }

    /// Counts one message sent to it, for [`load`](Routee::load).
    pub(crate) fn count_sent(&self) {
        self.sent.fetch_add(1, Ordering::Relaxed);
    }
}

impl<M: RemoteMessage> Routee for PoolMember<M> {
    /// A local member's mailbox length; for a remote one, the depth its
    /// node last reported plus what this pool sent it since that report
    /// arrived, so a burst does not all go to the member that looked idle.
    fn load(&self) -> usize {
        if self.local {
            return self.recipient.reported_mailbox_len().unwrap_or(0);
        }
        let Some(reported) = self.reports.get(self.recipient.id()) else {
            return self.sent.load(Ordering::Relaxed);
        };
        // A newer report already counts what was sent before it (as
        // queued or as handled): start counting afresh.
        if self.seen.swap(reported.report, Ordering::Relaxed) != reported.report {
            self.sent.store(0, Ordering::Relaxed);
        }
        reported
            .depth
            .saturating_add(self.sent.load(Ordering::Relaxed))
    }
}

/// The members routed to now, sorted by actor id so that every node with
/// the same view orders them alike (consistent hashing relies on it).
pub(crate) struct MemberSet<M: RemoteMessage> {
    pub(crate) group: String,
    current: RwLock<Arc<[Arc<PoolMember<M>>]>>,
    /// Bumped after each change of the members, of a reported depth, or of
    /// a link (which makes members reachable or not).
    changes: watch::Sender<u64>,
    /// Cancelled when the last pool handle goes: ends the follower task.
    closed: CancellationToken,
}

impl<M: RemoteMessage> MemberSet<M> {
    /// The members now; cheap (one reference count).
    pub(crate) fn snapshot(&self) -> Arc<[Arc<PoolMember<M>>]> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Reads the group's members from `node` again, keeping what is known
    /// of members that stay.
    fn refresh(&self, node: &Node, reports: &Arc<MailboxReports>) {
        let old = self.snapshot();
        let mut members: Vec<Arc<PoolMember<M>>> = node
            .group_members::<M>(&self.group)
            .into_iter()
            .map(|recipient| {
                old.iter()
                    .find(|member| member.id() == recipient.id())
                    .cloned()
                    .unwrap_or_else(|| {
                        let local = recipient.id().node() == node.id();
                        Arc::new(PoolMember::new(recipient, local, Arc::clone(reports)))
                    })
            })
            .collect();
        members.sort_by_key(|member| member.id());
        members.dedup_by_key(|member| member.id());
        let same = members.len() == old.len()
            && members
                .iter()
                .zip(old.iter())
                .all(|(a, b)| a.id() == b.id());
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::from(members);
        if !same {
            self.bump();
        }
    }

    fn bump(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl<M: RemoteMessage> Drop for MemberSet<M> {
    fn drop(&mut self) {
        self.closed.cancel();
    }
}

/// Starts following `group` on `node`: the set holds its members now and
/// is kept up to date until every handle on it is dropped or the node
/// shuts down.
pub(crate) fn follow<M: RemoteMessage>(node: &Node, group: &str) -> Arc<MemberSet<M>> {
    let reports = Arc::clone(&node.shared().mailbox_reports);
    let set = Arc::new(MemberSet {
        group: group.to_owned(),
        current: RwLock::new(Arc::from(Vec::new())),
        changes: watch::channel(0).0,
        closed: CancellationToken::new(),
    });
    // Subscribed before the first read: no change falls in between.
    let events = node.group_events();
    let links = node.events();
    let loads = reports.subscribe();
    set.refresh(node, &reports);
    let task = Follower {
        node: node.clone(),
        group: group.to_owned(),
        set: Arc::downgrade(&set),
        closed: set.closed.clone(),
        reports,
    };
    node.shared().tasks.spawn(task.run(events, links, loads));
    set
}

/// The task behind a [`MemberSet`].
struct Follower<M: RemoteMessage> {
    node: Node,
    group: String,
    set: Weak<MemberSet<M>>,
    closed: CancellationToken,
    reports: Arc<MailboxReports>,
}

impl<M: RemoteMessage> Follower<M> {
    async fn run(
        self,
        mut events: broadcast::Receiver<GroupEvent>,
        mut links: broadcast::Receiver<NodeEvent>,
        mut loads: watch::Receiver<u64>,
    ) {
        let cancel = self.node.shared().cancel.clone();
        loop {
            let refresh = tokio::select! {
                () = cancel.cancelled() => return,
                () = self.closed.cancelled() => return,
                event = events.recv() => match event {
                    Ok(event) => matches!(
                        &event,
                        GroupEvent::Joined { group, .. } | GroupEvent::Left { group, .. }
                            if *group == self.group
                    ),
                    // Missed some: read the whole group again.
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                // A link that comes or goes makes members reachable or
                // not: those waiting on the pool look again.
                event = links.recv() => {
                    if matches!(event, Err(broadcast::error::RecvError::Closed)) {
                        return;
                    }
                    if let Some(set) = self.set.upgrade() {
                        set.bump();
                    }
                    false
                }
                changed = loads.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if let Some(set) = self.set.upgrade() {
                        set.bump();
                    }
                    false
                }
            };
            if !refresh {
                continue;
            }
            // A node that goes away drops all its entries at once: take
            // in every event queued now, then read the group once.
            while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = events.try_recv() {}
            let Some(set) = self.set.upgrade() else {
                return;
            };
            set.refresh(&self.node, &self.reports);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;
    use proscenium_runtime::remote::{
        AnyMessage, RemoteAsk, RemoteDelivery, RemoteSendError, RemoteStopped, Watcher,
    };
    use proscenium_runtime::{LeastLoaded, Message, NodeId, Route, Router, StopReason};
    use serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Serialize, Deserialize)]
    struct Job;
    impl Message for Job {
        type Reply = ();
    }
    impl RemoteMessage for Job {
        const TAG: &'static str = "test::Job";
    }

    /// A transport to nowhere: the members here are only routed to.
    #[derive(Debug)]
    struct Nowhere;
    impl RemoteDelivery for Nowhere {
        fn tell(&self, _: ActorId, message: AnyMessage) -> Result<(), RemoteSendError> {
            Err(RemoteSendError {
                reason: proscenium_runtime::remote::Undeliverable::NodeDown,
                message,
            })
        }
        fn ask(&self, _: ActorId, _: AnyMessage, _: Duration) -> RemoteAsk {
            Box::pin(std::future::ready(Err(
                proscenium_runtime::AskError::NodeDown,
            )))
        }
        fn stop(&self, _: ActorId) {}
        fn kill(&self, _: ActorId) {}
        fn watch(&self, target: ActorId, watcher: Watcher) {
            watcher.notify(target, StopReason::NodeDown);
        }
        fn unwatch(&self, _: ActorId, _: ActorId) {}
        fn is_alive(&self, _: ActorId) -> bool {
            false
        }
        fn wait_stopped(&self, _: ActorId) -> RemoteStopped {
            Box::pin(std::future::ready(StopReason::NodeDown))
        }
    }

    /// One remote member per node, each node reporting `depths[i]` in round 1.
    fn members(depths: &[u32], reports: &Arc<MailboxReports>) -> Vec<PoolMember<Job>> {
        depths
            .iter()
            .enumerate()
            .map(|(i, &depth)| {
                let node = NodeId::new(i as u64 + 10, 1);
                let id = ActorId::new(node, 1);
                reports.record(node, 1, &[(id, depth)]);
                let recipient = proscenium_runtime::remote::recipient(
                    id,
                    Arc::new(Nowhere),
                    Duration::from_secs(1),
                );
                PoolMember::new(recipient, false, Arc::clone(reports))
            })
            .collect()
    }

    #[test]
    fn load_is_the_reported_depth_plus_what_was_sent_since_that_report() {
        let reports = Arc::new(MailboxReports::default());
        let members = members(&[4], &reports);
        let member = &members[0];
        assert_eq!(member.load(), 4);
        member.count_sent();
        member.count_sent();
        assert_eq!(member.load(), 6);
        // A newer report already counts those two, queued or handled.
        reports.record(member.id().node(), 2, &[(member.id(), 1)]);
        assert_eq!(member.load(), 1);
        member.count_sent();
        assert_eq!(member.load(), 2);
    }

    #[test]
    fn a_member_never_reported_counts_what_was_sent_to_it() {
        let reports = Arc::new(MailboxReports::default());
        let id = ActorId::new(NodeId::new(3, 1), 1);
        let recipient = proscenium_runtime::remote::recipient::<Job>(
            id,
            Arc::new(Nowhere),
            Duration::from_secs(1),
        );
        let member = PoolMember::new(recipient, false, reports);
        assert_eq!(member.load(), 0);
        member.count_sent();
        assert_eq!(member.load(), 1);
    }

    proptest! {
        /// A burst routed least-loaded fills the shortest reported queues
        /// first: every message goes to a member of least load at that
        /// moment, so no member gets one while another is two lighter.
        #[test]
        fn a_burst_fills_the_shortest_reported_queues_first(
            depths in proptest::collection::vec(0u32..50, 1..8),
            burst in 0usize..200,
        ) {
            let reports = Arc::new(MailboxReports::default());
            let members = members(&depths, &reports);
            let router = LeastLoaded::default();
            let mut got = vec![0usize; members.len()];
            for _ in 0..burst {
                let loads: Vec<usize> = members.iter().map(Routee::load).collect();
                let Route::One(i) = router.route(&Job, &members) else {
                    panic!("least-loaded routes to one member");
                };
                prop_assert_eq!(loads[i], *loads.iter().min().expect("members"));
                members[i].count_sent();
                got[i] += 1;
            }
            prop_assert_eq!(got.iter().sum::<usize>(), burst);
            let loads: Vec<usize> = members.iter().map(Routee::load).collect();
            let lightest = *loads.iter().min().expect("members");
            for (i, &load) in loads.iter().enumerate() {
                if got[i] > 0 {
                    prop_assert!(load <= lightest + 1, "member {} at {} over {}", i, load, lightest);
                }
            }
        }
    }
}
