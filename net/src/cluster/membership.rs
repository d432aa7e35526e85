//! The membership task: foca (SWIM with suspicion) driven by one UDP
//! socket, its timers, and the seeds it joins through.
//!
//! foca decides; this task does its I/O. After every input (a datagram, a
//! timer, a join attempt) it sends what foca wrote, schedules foca's timers,
//! and syncs the [`MemberTable`], whose changes become [`NodeEvent`]s and
//! actions on the net layer: dial a member that came up, fail everything
//! that waits on a member declared down or gone.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use foca::{AccumulatingRuntime, Foca, NoCustomBroadcast, OwnedNotification, Timer};
use futures_util::stream::{self, BoxStream, SelectAll};
use futures_util::StreamExt;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::time::DelayQueue;

use crate::cluster::auth::{Kind, Opener, Sealer};
use crate::cluster::codec::{SwimCodec, MAX_ITEM};
use crate::cluster::config::MembershipConfig;
use crate::cluster::groups::{self, GroupState};
use crate::cluster::identity::MemberId;
use crate::cluster::load::{LoadReport, LoadReporter, LOAD_SAMPLE};
use crate::cluster::member::{Change, Member, MemberState, MemberTable};
use crate::cluster::names::NameState;
use crate::cluster::replica::TableKind;
use crate::cluster::tables::{Outgoing, Tables};
use crate::shared::NodeShared;
use crate::stats::{add, bump};
use crate::sys::Datagram;
use crate::{wire, NodeError, NodeEvent};

/// The first and the longest wait between two rounds of join attempts.
const JOIN_BACKOFF: (Duration, Duration) = (Duration::from_millis(200), Duration::from_secs(5));

/// The first and the longest wait between two dials of a member's link.
const DIAL_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// How often a node sends the versions of its tables (groups, names) to
/// every member, so one that missed a chunk pulls the table again.
const TABLE_REPAIR: Duration = Duration::from_secs(5);

/// How many addresses found by seed sources are kept for join attempts.
const MAX_DISCOVERED_SEEDS: usize = 64;

/// A receive buffer larger than any datagram: longer ones are cut and
/// then fail authentication.
const RECEIVE_BUFFER: usize = 2048;

type Swim = Foca<MemberId, SwimCodec, SmallRng, NoCustomBroadcast>;

/// The node's handle on its membership task.
#[derive(Debug, Clone)]
pub(crate) struct Membership {
    table: Arc<Mutex<MemberTable>>,
    tables: Tables,
    commands: mpsc::UnboundedSender<Command>,
}

/// What the node asks of its membership task.
#[derive(Debug)]
enum Command {
    /// Leave the cluster, then say so.
    Leave(oneshot::Sender<()>),
    /// One of this node's tables changed: send it to every member.
    Publish(TableKind),
}

impl Membership {
    /// Binds UDP on `bound` (the node's TCP address) and starts the task,
    /// which gives the cluster `advertised` as this node's address, joins
    /// through `seeds` (its own address among them is skipped) and the
    /// addresses the seed `sources` find, and detects failures as `config`
    /// says.
    pub(crate) async fn start(
        shared: &Arc<NodeShared>,
        (bound, advertised): (SocketAddr, SocketAddr),
        (seeds, sources): (Vec<SocketAddr>, Vec<BoxStream<'static, SocketAddr>>),
        config: &MembershipConfig,
    ) -> Result<Self, NodeError> {
        let swim_config = config.to_foca()?;
        if advertised.ip().is_unspecified() {
            return Err(NodeError::MembershipAddress(advertised));
        }
        let socket = Datagram::bind(bound)
            .await
            .map_err(|source| NodeError::MembershipBind {
                addr: bound,
                source,
            })?;
        let addr = advertised;
        let session = u64::try_from(crate::sys::since_epoch().as_nanos()).unwrap_or(u64::MAX);
        let me = MemberId {
            name: shared.name.clone(),
            node: shared.node_id(),
            addr,
            session,
            generation: 0,
        };
        let table = Arc::new(Mutex::new(MemberTable::new(&me)));
        let (commands, requests) = mpsc::unbounded_channel();
        let tables = Tables::new(me.node);
        let secret = shared.handshake.secret().clone();
        let seed = shared.entropy.next_u64().to_le_bytes();
        let driver = Driver {
            shared: Arc::clone(shared),
            socket,
            swim: Foca::new(
                me.clone(),
                swim_config,
                SmallRng::seed_from_u64(u64::from_le_bytes(seed)),
                SwimCodec,
            ),
            runtime: AccumulatingRuntime::new(),
            timers: DelayQueue::new(),
            sealer: Sealer::new(secret.clone(), me.node.number(), session),
            opener: Opener::new(secret)
                .accepting_previous(shared.handshake.previous_secret().cloned()),
            table: Arc::clone(&table),
            tables: tables.clone(),
            outbox: Vec::new(),
            seeds: seeds
                .into_iter()
                .filter(|&seed| seed != addr && seed != bound)
                .collect(),
            load: LoadReporter::new(),
            discovered: Discovered {
                sources: (!sources.is_empty()).then(|| stream::select_all(sources)),
                seeds: VecDeque::new(),
                own: [addr, bound],
            },
            jitter: SmallRng::seed_from_u64(u64::from_le_bytes(seed).rotate_left(17)),
            outgoing_loss: config.outgoing_loss_fraction(),
        };
        shared.tasks.spawn(driver.run(requests));
        tracing::info!(%addr, %bound, "membership started");
        Ok(Self {
            table,
            tables,
            commands,
        })
    }

    /// What snapshots read of the membership, without holding it.
    pub(crate) fn view(&self) -> MembershipView {
        MembershipView {
            table: Arc::clone(&self.table),
            groups: Arc::clone(&self.tables.groups),
        }
    }

    /// This node's process groups and those other members sent.
    pub(crate) fn groups(&self) -> &Mutex<GroupState> {
        &self.tables.groups
    }

    /// This node's cluster-wide names and those other members sent.
    pub(crate) fn names(&self) -> &Mutex<NameState> {
        &self.tables.names
    }

    /// Has the task send this node's table `kind` to every member.
    pub(crate) fn publish(&self, kind: TableKind) {
        let _ = self.commands.send(Command::Publish(kind));
    }

    /// This node and every member it knows, by name.
    pub(crate) fn members(&self) -> Vec<Member> {
        lock(&self.table).members()
    }

    /// Tells the live members this node leaves, and stops the task.
    pub(crate) async fn leave(&self) {
        let (done, sent) = oneshot::channel();
        if self.commands.send(Command::Leave(done)).is_ok() {
            let _ = sent.await;
        }
    }
}

/// The members and groups a snapshot shows, shared with the membership.
#[derive(Debug, Clone)]
pub(crate) struct MembershipView {
    table: Arc<Mutex<MemberTable>>,
    groups: groups::SharedGroups,
}

impl MembershipView {
    /// This node and every member it knows.
    pub(crate) fn members(&self) -> Vec<Member> {
        lock(&self.table).members()
    }

    /// Which local actor is in which process group.
    pub(crate) fn group_memberships(&self) -> Vec<(String, proscenium_runtime::ActorId)> {
        groups::lock(&self.groups).local_memberships()
    }
}

fn lock(table: &Mutex<MemberTable>) -> MutexGuard<'_, MemberTable> {
    // The table is consistent after every call; a panic elsewhere cannot
    // leave it half-updated.
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What woke the task.
enum Input {
    Datagram(usize, SocketAddr),
    Timer(Timer<MemberId>),
    Join,
    Discovered(Option<SocketAddr>),
    Command(Command),
    RepairTables,
    ReportLoad,
    Stop,
}

struct Driver {
    shared: Arc<NodeShared>,
    socket: Datagram,
    swim: Swim,
    /// Collects what foca asks for during one call, drained right after.
    runtime: AccumulatingRuntime<MemberId>,
    timers: DelayQueue<Timer<MemberId>>,
    sealer: Sealer,
    opener: Opener,
    table: Arc<Mutex<MemberTable>>,
    tables: Tables,
    /// Table datagrams to send at the next flush.
    outbox: Vec<Outgoing>,
    seeds: Vec<SocketAddr>,
    discovered: Discovered,
    /// Randomness for backoff jitter and injected loss.
    jitter: SmallRng,
    /// The fraction of datagrams not sent, to test loss (normally 0).
    outgoing_loss: f64,
    /// What this node last reported of its group members' mailboxes.
    load: LoadReporter,
}

impl Driver {
    async fn run(mut self, mut requests: mpsc::UnboundedReceiver<Command>) {
        let mut buffer = vec![0; RECEIVE_BUFFER];
        let mut repair = tokio::time::interval(TABLE_REPAIR);
        // A command taken while gathering a burst of publishes.
        let mut held: Option<Command> = None;
        let mut load = tokio::time::interval(LOAD_SAMPLE);
        load.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut join_delay = JOIN_BACKOFF.0;
        let mut next_join = Instant::now();
        loop {
            // Joining while no other member is known: at start, and again
            // if every member went away.
            let joining = (!self.seeds.is_empty() || !self.discovered.seeds.is_empty())
                && self.swim.num_members() == 0;
            if !joining {
                join_delay = JOIN_BACKOFF.0;
                next_join = Instant::now();
            }
            let input = if let Some(command) = held.take() {
                Input::Command(command)
            } else {
                tokio::select! {
                    () = self.shared.cancel.cancelled() => Input::Stop,
                    request = requests.recv() => request.map_or(Input::Stop, Input::Command),
                    _ = repair.tick() => Input::RepairTables,
                    _ = load.tick() => Input::ReportLoad,
                    received = self.socket.recv_from(&mut buffer) => match received {
                        Ok((len, from)) => {
                            let stats = &self.shared.stats;
                            bump(&stats.membership_datagrams_received);
                            add(&stats.membership_bytes_received, len as u64);
                            Input::Datagram(len, from)
                        }
                        // ICMP errors of earlier sends surface here: not fatal.
                        Err(error) => {
                            tracing::debug!(%error, "membership receive failed");
                            continue;
                        }
                    },
                    Some(expired) = self.timers.next(), if !self.timers.is_empty() => {
                        Input::Timer(expired.into_inner())
                    }
                    () = tokio::time::sleep_until(next_join), if joining => Input::Join,
                    found = self.discovered.next(), if self.discovered.sources.is_some() => {
                        Input::Discovered(found)
                    }
                }
            };
            match input {
                Input::Datagram(len, from) => self.receive(&buffer[..len], from),
                Input::Timer(timer) => {
                    if let Err(error) = self.swim.handle_timer(timer, &mut self.runtime) {
                        tracing::debug!(%error, "membership timer failed");
                    }
                }
                Input::Join => {
                    self.announce_to_seeds();
                    next_join = Instant::now() + self.jittered(join_delay);
                    join_delay = (join_delay * 2).min(JOIN_BACKOFF.1);
                }
                Input::Discovered(Some(addr)) => self.discover(addr),
                Input::Discovered(None) => self.discovered.sources = None,
                Input::Command(Command::Leave(done)) => {
                    self.leave().await;
                    let _ = done.send(());
                    return;
                }
                Input::Command(Command::Publish(kind)) => {
                    // A burst of changes goes out once.
                    let mut kinds = std::collections::BTreeSet::from([kind]);
                    while let Ok(next) = requests.try_recv() {
                        match next {
                            Command::Publish(kind) => {
                                kinds.insert(kind);
                            }
                            other => {
                                held = Some(other);
                                break;
                            }
                        }
                    }
                    let live = self.live_addrs();
                    self.outbox.extend(self.tables.publish(kinds, &live));
                }
                Input::RepairTables => {
                    let live = self.live_addrs();
                    let me = self.shared.node_id();
                    self.outbox.extend(self.tables.digests(me, &live));
                }
                Input::ReportLoad => self.report_load().await,
                Input::Stop => return,
            }
            self.flush().await;
        }
    }

    /// `delay` give or take a quarter, so nodes started together do not
    /// retry in step.
    fn jittered(&mut self, delay: Duration) -> Duration {
        delay.mul_f64(self.jitter.random_range(0.75..1.25))
    }

    fn announce_to_seeds(&mut self) {
        tracing::debug!(seeds = ?self.seeds, discovered = ?self.discovered.seeds, "announcing to the seeds");
        let seeds: Vec<SocketAddr> = self
            .seeds
            .iter()
            .chain(&self.discovered.seeds)
            .copied()
            .collect();
        for seed in seeds {
            self.announce(seed);
        }
    }

    fn announce(&mut self, seed: SocketAddr) {
        if let Err(error) = self.swim.announce(MemberId::seed(seed), &mut self.runtime) {
            tracing::debug!(%seed, %error, "could not announce");
        }
    }

    /// A seed source found `addr`: keep it for join attempts, and announce
    /// to it now unless it is a live member already.
    fn discover(&mut self, addr: SocketAddr) {
        if !self.discovered.keep(addr, &self.seeds) {
            return;
        }
        if lock(&self.table).live(addr).is_none() {
            tracing::debug!(%addr, "announcing to a discovered node");
            self.announce(addr);
        }
    }

    /// The addresses of the members foca lists as live.
    fn live_addrs(&self) -> Vec<SocketAddr> {
        self.swim.iter_members().map(|m| m.id().addr).collect()
    }

    fn receive(&mut self, datagram: &[u8], from: SocketAddr) {
        let opened = match self.opener.open(datagram) {
            Ok(opened) => opened,
            Err(error) => {
                // Debug, not warn: whoever sends garbage must not fill the logs.
                tracing::debug!(%error, "refused a membership datagram");
                return;
            }
        };
        match opened.kind {
            Kind::Swim => {
                if let Err(error) = self.swim.handle_data(opened.payload, &mut self.runtime) {
                    tracing::debug!(%error, "foca refused a membership message");
                }
            }
            Kind::Leave => match wire::decode::<MemberId>(opened.payload, MAX_ITEM as u64) {
                // A member may only say that it leaves itself.
                Ok(leaving) if leaving.node.number() == opened.sender => {
                    lock(&self.table).mark_leaving(leaving.clone());
                    let down = std::iter::once(foca::Member::down(leaving));
                    if let Err(error) = self.swim.apply_many(down, true, &mut self.runtime) {
                        tracing::debug!(%error, "could not apply a leave notice");
                    }
                }
                Ok(other) => {
                    tracing::debug!(name = %other.name, "refused a leave notice for another node");
                }
                Err(error) => tracing::debug!(%error, "refused a leave notice"),
            },
            Kind::Load => match wire::decode::<LoadReport>(opened.payload, MAX_ITEM as u64) {
                // As for group tables: only a live member's own actors.
                Ok(report)
                    if report.owner.number() == opened.sender
                        && lock(&self.table).is_live_run(report.owner) =>
                {
                    let entries = report.entries();
                    self.shared
                        .mailbox_reports
                        .record(report.owner, report.round, &entries);
                }
                Ok(_) => {
                    tracing::debug!("ignored a load report of a node that is not a live member")
                }
                Err(error) => tracing::debug!(%error, "refused a load report"),
            },
            Kind::Table | Kind::Digest | Kind::Pull => {
                // Only a live member's own tables count: a late chunk from
                // a run declared down must not bring its entries back.
                let members = lock(&self.table);
                let live = self.live_addrs();
                let out = self.tables.receive(
                    opened.kind,
                    opened.sender,
                    from,
                    opened.payload,
                    |run| members.is_live_run(run),
                    &live,
                );
                drop(members);
                self.outbox.extend(out);
            }
        }
    }

    /// Sends the table datagrams gathered since the last flush.
    async fn send_outbox(&mut self) {
        for (kind, payload, addr) in std::mem::take(&mut self.outbox) {
            self.send(kind, &payload, addr).await;
        }
    }

    /// Sends a round of this node's load report to every live member, if
    /// one is due.
    async fn report_load(&mut self) {
        let actors = groups::lock(&self.tables.groups).local_actors();
        let parts = self.load.due(&self.shared.system, &actors, Instant::now());
        if parts.is_empty() {
            return;
        }
        let live: Vec<SocketAddr> = self.swim.iter_members().map(|m| m.id().addr).collect();
        for part in parts {
            let payload = match wire::encode(&part, MAX_ITEM as u64) {
                Ok(payload) => payload,
                Err(error) => {
                    tracing::warn!(%error, "could not encode a load report");
                    return;
                }
            };
            for &addr in &live {
                self.send(Kind::Load, &payload, addr).await;
            }
        }
    }

    /// Sends what foca wrote, schedules its timers, handles its
    /// notifications and turns member changes into events and actions.
    async fn flush(&mut self) {
        self.send_all().await;
        while let Some((after, timer)) = self.runtime.to_schedule() {
            self.timers.insert(timer, after);
        }
        while let Some(notification) = self.runtime.to_notify() {
            match notification {
                OwnedNotification::Active => tracing::info!("joined the cluster"),
                OwnedNotification::Idle => tracing::info!("no other member is up"),
                // foca also says so to a member that refuted a suspicion
                // in time (see `MemberTable::sync`): not worth a warning.
                OwnedNotification::Rejoin(id) => tracing::info!(
                    generation = id.generation,
                    "told this node was declared down; rejoined under a renewed identity"
                ),
                OwnedNotification::Defunct => {
                    tracing::warn!("this node was declared down by the cluster");
                }
                _ => {}
            }
        }
        let changes = lock(&self.table).sync(
            self.swim
                .iter_membership_state()
                .map(|member| (member.id(), member.state())),
        );
        let mut came_up = Vec::new();
        for change in changes {
            if change.state == MemberState::Up {
                came_up.push(change.addr);
            }
            self.apply(change);
        }
        // A member that came up learns this node's tables at once.
        if !came_up.is_empty() {
            self.outbox.extend(self.tables.publish_all(&came_up));
        }
        self.send_outbox().await;
    }

    async fn send_all(&mut self) {
        while let Some((to, data)) = self.runtime.to_send() {
            self.send(Kind::Swim, &data, to.addr).await;
        }
    }

    /// Seals `payload` as a datagram of `kind` and sends it to `to`,
    /// counting it (or dropping it, if loss is injected).
    async fn send(&mut self, kind: Kind, payload: &[u8], to: SocketAddr) {
        let stats = &self.shared.stats;
        if self.outgoing_loss > 0.0 && self.jitter.random_bool(self.outgoing_loss) {
            bump(&stats.membership_datagrams_dropped);
            return;
        }
        let datagram = self.sealer.seal(kind, payload);
        match self.socket.send_to(&datagram, to).await {
            Ok(sent) => {
                bump(&stats.membership_datagrams_sent);
                add(&stats.membership_bytes_sent, sent as u64);
            }
            Err(error) => tracing::debug!(%to, ?kind, %error, "membership send failed"),
        }
    }

    fn apply(&self, change: Change) {
        let Member {
            name,
            id,
            addr,
            state,
            ..
        } = change.clone();
        tracing::info!(member = %name, node = %id, %addr, ?state, "member changed");
        let event = match state {
            MemberState::Up => NodeEvent::MemberUp {
                node: id,
                name,
                addr,
            },
            MemberState::Suspect => NodeEvent::MemberSuspect {
                node: id,
                name,
                addr,
            },
            MemberState::Down => NodeEvent::MemberDown {
                node: id,
                name,
                addr,
            },
            MemberState::Left => NodeEvent::MemberLeft {
                node: id,
                name,
                addr,
            },
        };
        let _ = self.shared.events.send(event);
        match state {
            // Of two members, the one with the lower node number dials,
            // so a pair does not race two connections.
            MemberState::Up if self.shared.node_id().number() < id.number() => {
                let shared = Arc::clone(&self.shared);
                let table = Arc::clone(&self.table);
                self.shared.tasks.spawn(dial(shared, table, change));
            }
            MemberState::Down | MemberState::Left => {
                self.shared.declare_down(id);
                self.tables.drop_node(id);
                self.shared.mailbox_reports.forget(id);
            }
            _ => {}
        }
    }

    /// Tells every live member this node leaves, then lets foca gossip
    /// its own departure.
    async fn leave(&mut self) {
        lock(&self.table).leave();
        let me = self.swim.identity().clone();
        let notice = match wire::encode(&me, MAX_ITEM as u64) {
            Ok(notice) => notice,
            Err(error) => {
                tracing::warn!(%error, "could not encode the leave notice");
                return;
            }
        };
        let live: Vec<SocketAddr> = self.swim.iter_members().map(|m| m.id().addr).collect();
        for addr in live {
            self.send(Kind::Leave, &notice, addr).await;
        }
        if let Err(error) = self.swim.leave_cluster(&mut self.runtime) {
            tracing::debug!(%error, "foca could not leave");
        }
        self.send_all().await;
        tracing::info!("left the cluster");
    }
}

/// What seed sources found: the addresses, and the sources still running.
struct Discovered {
    sources: Option<SelectAll<BoxStream<'static, SocketAddr>>>,
    /// Found addresses, oldest first, at most [`MAX_DISCOVERED_SEEDS`].
    seeds: VecDeque<SocketAddr>,
    /// This node's advertised and bound addresses, never a seed.
    own: [SocketAddr; 2],
}

impl Discovered {
    /// The next address a source found; `None` once every source ended.
    async fn next(&mut self) -> Option<SocketAddr> {
        match &mut self.sources {
            Some(sources) => sources.next().await,
            None => None,
        }
    }

    /// Keeps `addr` (unless it is this node's or a configured seed), the
    /// most recently found last; whether it is worth announcing to.
    fn keep(&mut self, addr: SocketAddr, configured: &[SocketAddr]) -> bool {
        if self.own.contains(&addr) {
            return false;
        }
        if !configured.contains(&addr) {
            self.seeds.retain(|&seed| seed != addr);
            if self.seeds.len() == MAX_DISCOVERED_SEEDS {
                self.seeds.pop_front();
            }
            self.seeds.push_back(addr);
        }
        true
    }
}

/// Dials `member` until a link to its run exists, it is no longer live,
/// or the node shuts down.
async fn dial(shared: Arc<NodeShared>, table: Arc<Mutex<MemberTable>>, member: Member) {
    let mut delay = DIAL_BACKOFF.0;
    loop {
        let live = lock(&table).live(member.addr).map(|id| id.node) == Some(member.id);
        if !live || shared.link_to(member.id).is_some() {
            return;
        }
        match shared.connect(member.addr).await {
            Ok(reached) if reached == member.id => return,
            // The live link to an earlier run at that address, not yet
            // found dead: dial again once it is.
            Ok(reached) => {
                tracing::debug!(member = %member.name, earlier = %reached, ?delay, "still linked to an earlier run at that address")
            }
            Err(error) => tracing::debug!(member = %member.name, %error, ?delay, "dial failed"),
        }
        tokio::select! {
            () = shared.cancel.cancelled() => return,
            () = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(DIAL_BACKOFF.1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn discovered() -> Discovered {
        Discovered {
            sources: None,
            seeds: VecDeque::new(),
            own: [addr(1), addr(2)],
        }
    }

    #[test]
    fn found_addresses_are_kept_once_and_the_oldest_go_first() {
        let mut found = discovered();
        assert!(!found.keep(addr(1), &[]), "its own address");
        assert!(!found.keep(addr(2), &[]), "its bound address");
        assert!(found.keep(addr(10), &[addr(10)]), "a configured seed");
        assert!(
            found.seeds.is_empty(),
            "configured seeds are not kept twice"
        );
        for port in 100..100 + MAX_DISCOVERED_SEEDS as u16 {
            assert!(found.keep(addr(port), &[]));
        }
        assert!(found.keep(addr(100), &[]), "found again: moved last");
        assert_eq!(found.seeds.back(), Some(&addr(100)));
        assert!(found.keep(addr(9999), &[]));
        assert_eq!(found.seeds.len(), MAX_DISCOVERED_SEEDS);
        assert_eq!(found.seeds.front(), Some(&addr(102)), "101 was the oldest");
        assert!(!found.seeds.contains(&addr(101)));
    }

    #[tokio::test]
    async fn every_source_is_read_until_all_end() {
        let mut found = discovered();
        found.sources = Some(stream::select_all([
            stream::iter([addr(7), addr(8)]).boxed(),
            stream::iter([addr(9)]).boxed(),
        ]));
        let mut all = Vec::new();
        while let Some(next) = found.next().await {
            all.push(next);
        }
        all.sort();
        assert_eq!(all, [addr(7), addr(8), addr(9)]);
    }
}
