//! What a node does with each frame a peer sends.
//!
//! Frames from one link are handled in order, one at a time, so messages
//! from one sender keep their order. The reader never waits on an actor: a
//! tell or ask that finds its actor's mailbox full is parked, with every
//! later frame for that actor, and the peer is paused for that actor only
//! (see [`parking`](crate::parking)); an ask's reply is awaited in a task of
//! its own, so a slow handler never holds up the link. The tells taken are
//! acknowledged to the peer (see [`in_flight`](crate::in_flight)).

use std::collections::HashMap;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
use proscenium_runtime::remote::{AnyActorRef, LinkNotice, Seal, WaitFor, Watcher};
use proscenium_runtime::{ActorId, AskError, NodeId, StopReason};

use crate::actor_links;
use crate::link::{FrameStream, Link};
use crate::parking::{Parked, Parking};
use crate::registry::{DecodeCx, DeliverTell, EncodedReply, TellOutcome};
use crate::shared::NodeShared;
use crate::spawner::SpawnChild;
use crate::stats::bump;
use crate::{Frame, FrameError, MessageTag, RemoteSpawnError, MAX_ASK_WAITS};

/// Reads frames until the link ends, the peer says goodbye, falls silent
/// for too long, or sends something that cannot be read.
///
/// Nothing here is set up per frame: the cancellation futures are made
/// once, and silence is detected by a periodic check of whether anything
/// arrived, not by a timer per read (which costs a timer-wheel insertion
/// and removal per frame, the largest cost of a small remote tell).
pub(crate) async fn read_frames(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    stream: FrameStream,
    liveness: Liveness,
) -> Ended {
    let mut held = HeldWatches::default();
    let ended = read_until_end(node, link, stream, liveness, &mut held).await;
    held.release(node);
    actor_links::release(node, link);
    ended
}

/// How a link's reader tells a live peer from a silent one.
#[derive(Debug)]
pub(crate) struct Liveness {
    /// The larger of the two nodes' heartbeat intervals (each announces its
    /// own in the handshake), so that both ends apply the same limit and a
    /// node with a long interval is not taken for silent by one with a
    /// short interval.
    pub(crate) interval: Duration,
    /// Set by the codec whenever bytes arrive, also in the middle of a
    /// frame: a large frame arriving slowly is not silence.
    pub(crate) arrived: Arc<AtomicBool>,
}

/// Why a link's reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The peer closed the link on purpose: it is shutting down.
    Goodbye,
    /// Anything else: an error, silence, the connection closing, or this
    /// node closing the link.
    Lost,
}

async fn read_until_end(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    mut stream: FrameStream,
    liveness: Liveness,
    held: &mut HeldWatches,
) -> Ended {
    let mut link_closed = pin!(link.closed.ended());
    let mut node_stopping = pin!(node.cancel.cancelled());
    let mut silence = SilenceCheck::new(liveness);
    let mut tells = TellTarget::new(node);
    let mut acks = Acks::default();
    let parking = Parking::new(node.flow.parking_bytes);
    // A frame read while checking whether another was waiting.
    let mut ready = None;
    loop {
        if parking.over_budget() {
            // The parked tells are taken: said before this node stops reading.
            if acks.owed() > 0 {
                acks.send(link);
            }
            // Stop reading: TCP pushes back on the peer until parked frames drain.
            tokio::select! {
                biased;
                () = &mut link_closed => return Ended::Lost,
                () = &mut node_stopping => return Ended::Lost,
                () = parking.below_budget() => {}
            }
            // The peer was not silent: this node was not reading.
            silence.heard();
            continue;
        }
        let next = match ready.take() {
            Some(next) => next,
            None => tokio::select! {
                biased;
                () = &mut link_closed => return Ended::Lost,
                () = &mut node_stopping => return Ended::Lost,
                next = stream.next() => next,
                () = silence.tick() => {
                    match silence.check() {
                        Since::TooLong => {
                            tracing::warn!(peer = %link.name, silence = ?silence.limit(), "peer silent; closing the connection");
                            return Ended::Lost;
                        }
                        Since::Heard => acks.still_reading(link),
                        Since::Silent => {}
                    }
                    continue;
                }
            },
        };
        silence.heard();
        let frame = match next {
            Some(Ok(frame)) => {
                link.metrics.frame_received();
                frame
            }
            Some(Err(FrameError::Record(error))) => {
                bump(&node.stats.links_tampered);
                tracing::warn!(peer = %link.name, %error, "tampered connection; closing it");
                return Ended::Lost;
            }
            Some(Err(error)) => {
                tracing::warn!(peer = %link.name, %error, "bad frame; closing the connection");
                return Ended::Lost;
            }
            None => return Ended::Lost,
        };
        if matches!(frame, Frame::Goodbye) {
            return Ended::Goodbye;
        }
        if matches!(frame, Frame::Tell { .. }) {
            acks.taken += 1;
        }
        on_frame(node, link, &mut tells, &parking, held, frame);
        if acks.owed() > 0 {
            // Acknowledged once no other frame is waiting (or a batch is
            // long): one ack per read, not per tell.
            if acks.owed() >= Acks::BATCH {
                acks.send(link);
            } else {
                match stream.next().now_or_never() {
                    Some(next) => ready = Some(next),
                    None => acks.send(link),
                }
            }
        }
    }
}

/// The tells taken from one link, and how many of them the peer has been
/// told about.
#[derive(Default)]
struct Acks {
    /// Tells read from the link so far, each queued for its actor, parked,
    /// or counted as dropped.
    taken: u64,
    /// The count last acknowledged.
    acked: u64,
    /// Whether an ack was sent since the last silence check.
    sent_lately: bool,
}

impl Acks {
    /// Tells after which an ack goes out even while more frames wait.
    const BATCH: u64 = 256;

    fn owed(&self) -> u64 {
        self.taken - self.acked
    }

    fn send(&mut self, link: &Link) {
        link.acknowledge(self.taken);
        self.acked = self.taken;
        self.sent_lately = true;
    }

    /// Called on each silence check that found the peer sending: an ack,
    /// even with nothing new, unless one went out since the last check. It
    /// shows the peer that this node reads, when a large or slow frame
    /// holds back the tells behind it (see the writer's stall check).
    fn still_reading(&mut self, link: &Link) {
        if !std::mem::take(&mut self.sent_lately) {
            link.acknowledge(self.taken);
            self.acked = self.taken;
        }
    }
}

/// The target of the last remote tell on a link, kept because a run of
/// tells to one actor is the common case: each then skips the registry
/// lookups and the check of its seal. Actor ids are never reused, so a
/// kept ref cannot reach another actor; once its actor stops, tells to it
/// fail as they would anyway. Only a tell with the very seal that was
/// checked takes the kept ref.
struct TellTarget {
    cx: DecodeCx,
    last: Option<(ActorId, Seal, MessageTag, AnyActorRef, DeliverTell)>,
}

impl TellTarget {
    fn new(node: &Arc<NodeShared>) -> Self {
        Self {
            cx: node.decode_cx(),
            last: None,
        }
    }

    fn deliver(
        &mut self,
        node: &Arc<NodeShared>,
        link: &Arc<Link>,
        parking: &Arc<Parking>,
        (to, seal, tag, payload): (ActorId, Seal, MessageTag, Bytes),
    ) {
        let (actor, tell) = match &self.last {
            Some((id, last_seal, last_tag, actor, tell))
                if *id == to && *last_seal == seal && *last_tag == tag =>
            {
                (actor.clone(), *tell)
            }
            _ => {
                let Some((actor, tell)) = resolve_tell(node, to, seal, tag) else {
                    return;
                };
                self.last = Some((to, seal, tag, actor.clone(), tell));
                (actor, tell)
            }
        };
        let weight = payload.len();
        let parked = Parked::Tell {
            deliver: tell,
            payload,
        };
        let Err(Parked::Tell { payload, .. }) = parking.push_if_parked(to, parked, weight) else {
            return;
        };
        match tell(&self.cx, actor.clone(), &payload) {
            Ok(TellOutcome::Queued) => {}
            Ok(TellOutcome::Stopped) => missing_actor(node, to),
            Ok(TellOutcome::Full(waiting)) => {
                let node_for_wait = Arc::clone(node);
                let waiting = Box::pin(async move {
                    if !waiting.await {
                        missing_actor(&node_for_wait, to);
                    }
                });
                parking.start(node, link, actor, Parked::Waiting(waiting), weight);
            }
            Err(error) => undecodable(node, to, tag, &error),
        }
    }
}

/// Counts a tell whose actor is gone.
fn missing_actor(node: &NodeShared, to: ActorId) {
    tracing::debug!(%to, "remote tell to an actor that is gone");
    bump(&node.stats.tells_to_missing_actors);
}

/// Counts a tell whose payload did not decode.
fn undecodable(node: &NodeShared, to: ActorId, tag: MessageTag, error: &crate::WireError) {
    tracing::warn!(%to, %tag, %error, "undecodable remote tell");
    bump(&node.stats.tells_undecodable);
}

/// The local actor a remote tell goes to and how to decode it for that actor.
fn resolve_tell(
    node: &NodeShared,
    to: ActorId,
    seal: Seal,
    tag: MessageTag,
) -> Option<(AnyActorRef, DeliverTell)> {
    let Some(actor) = reachable(node, to, seal) else {
        missing_actor(node, to);
        return None;
    };
    let Some(delivery) = node.registry.delivery(actor.actor_type(), tag) else {
        tracing::warn!(%to, %tag, actor = actor.actor_type_name(), "remote tell of an unregistered message type");
        bump(&node.stats.tells_unregistered);
        return None;
    };
    Some((actor, delivery.tell))
}

/// A peer that sends nothing, not even heartbeats, for four heartbeat
/// intervals (the larger of the two nodes') is gone. Checked once per
/// interval: the peer is declared gone after between four and five
/// intervals in which not a byte arrived.
struct SilenceCheck {
    interval: tokio::time::Interval,
    heartbeat: Duration,
    /// Whether a frame arrived since the last check.
    heard: bool,
    /// Whether any bytes arrived since the last check (set by the codec).
    arrived: Arc<AtomicBool>,
    /// Checks in a row that found nothing.
    silent_checks: u32,
}

impl SilenceCheck {
    /// Silent checks in a row after which the peer is gone.
    const INTERVALS: u32 = 4;

    fn new(Liveness { interval, arrived }: Liveness) -> Self {
        let heartbeat = interval;
        let start = tokio::time::Instant::now() + heartbeat;
        let mut interval = tokio::time::interval_at(start, heartbeat);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            interval,
            heartbeat,
            heard: false,
            arrived,
            silent_checks: 0,
        }
    }

    async fn tick(&mut self) {
        self.interval.tick().await;
    }

    fn heard(&mut self) {
        self.heard = true;
    }

    /// Called on each tick: whether anything arrived since the last, or
    /// the peer has now been silent too long.
    fn check(&mut self) -> Since {
        let arrived = self.arrived.swap(false, Ordering::Relaxed);
        if std::mem::take(&mut self.heard) | arrived {
            self.silent_checks = 0;
            return Since::Heard;
        }
        self.silent_checks += 1;
        if self.silent_checks >= Self::INTERVALS {
            Since::TooLong
        } else {
            Since::Silent
        }
    }

    fn limit(&self) -> Duration {
        self.heartbeat * Self::INTERVALS
    }
}

/// What a silence check found since the one before.
enum Since {
    /// Bytes or frames arrived.
    Heard,
    /// Nothing arrived, but not for long enough to give up.
    Silent,
    /// Nothing arrived for the whole silence limit.
    TooLong,
}

fn on_frame(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    tells: &mut TellTarget,
    parking: &Arc<Parking>,
    held: &mut HeldWatches,
    frame: Frame,
) {
    match frame {
        Frame::Tell {
            to,
            seal,
            tag,
            payload,
        } => tells.deliver(node, link, parking, (to, seal, tag, payload)),
        Frame::Ask {
            to,
            seal,
            correlation,
            tag,
            payload,
            waits,
        } => on_ask(
            node,
            link,
            parking,
            (to, seal, correlation),
            (tag, payload, waits),
        ),
        Frame::Reply {
            correlation,
            result,
        } => on_reply(node, link, correlation, result),
        Frame::Stop { to, seal } => {
            if let Some(actor) = stoppable(node, link, to, seal) {
                // After what is parked for it, as a local stop comes after
                // what is queued.
                if parking.push_if_parked(to, Parked::Stop, 0).is_err() {
                    actor.stop();
                }
            }
        }
        Frame::Kill { to, seal } => {
            if let Some(actor) = stoppable(node, link, to, seal) {
                actor.kill();
            }
        }
        Frame::Watch {
            target,
            seal,
            watcher,
        } => held.watch(node, link, (target, seal), watcher),
        Frame::Unwatch { target, watcher } => held.unwatch(node, target, watcher),
        // Only the node an actor lives on may say that it stopped.
        Frame::Terminated { id, reason } if id.node() == link.peer => {
            if let Some((_, watchers)) = node.watches.remove(&id) {
                watchers
                    .into_iter()
                    .for_each(|w| w.notify(id, reason.clone()));
            }
        }
        Frame::Terminated { id, .. } => {
            tracing::warn!(peer = %link.name, %id, "ignored a Terminated notice for an actor on another node");
        }
        Frame::Lookup { correlation, name } => {
            // A name publishes its actor: the answer carries its seal.
            let actor = node.system.lookup_any(&name).map(|a| {
                let id = a.id();
                (id, node.seals.seal(id), a.actor_type_name().to_owned())
            });
            link.send(Frame::Found { correlation, actor });
        }
        Frame::Spawn {
            correlation,
            actor,
            args,
        } => on_spawn(node, link, correlation, actor, args),
        Frame::Inspect { correlation } => {
            let snapshot = node.encoded_snapshot();
            link.send(Frame::Inspected {
                correlation,
                snapshot,
            });
        }
        answer @ (Frame::Found { .. } | Frame::Spawned { .. } | Frame::Inspected { .. }) => {
            on_answer(node, link, answer)
        }
        // Only the peer's own actors can be paused on its link.
        Frame::Pause { actor } if actor.node() == link.peer => link.pause(actor),
        Frame::Resume { actor } if actor.node() == link.peer => link.resume(actor),
        Frame::Ack { tells } => link.acknowledged(tells),
        Frame::Ping { stamp } => {
            link.send(Frame::Pong { stamp });
        }
        Frame::Pong { stamp } => {
            if let Some(micros) = link.traffic.pong(stamp) {
                link.metrics.round_trip(micros);
            }
        }
        Frame::Link {
            to,
            seal,
            from,
            token,
        } => actor_links::on_link(node, link, (to, seal), from, token),
        Frame::Unlink { to, from, token } => {
            let notice = LinkNotice::Unlinked { token };
            actor_links::on_notice(node, link, to, from, notice);
        }
        Frame::LinkDown {
            to,
            from,
            token,
            reason,
        } => {
            let notice = LinkNotice::Down { token, reason };
            actor_links::on_notice(node, link, to, from, notice);
        }
        Frame::Pause { .. } | Frame::Resume { .. } | Frame::Heartbeat | Frame::Goodbye => {}
    }
}

/// The local actor `id` names, if it belongs to this very node run.
///
/// Only for ids this node already trusts (its own watch bookkeeping); a
/// frame's target goes through [`reachable`].
pub(crate) fn local(node: &NodeShared, id: ActorId) -> Option<AnyActorRef> {
    (id.node() == node.node_id())
        .then(|| node.system.actor(id))
        .flatten()
}

/// The local actor a peer's frame addresses as `id` with `seal`, if the
/// seal is the one this node made for it (the peer was given its ref). A
/// wrong seal and a missing actor are the same `None`, so the peer learns
/// nothing from guessing: not even whether the actor exists.
pub(crate) fn reachable(node: &NodeShared, id: ActorId, seal: Seal) -> Option<AnyActorRef> {
    if id.node() != node.node_id() || !node.seals.opens(id, seal) {
        return None;
    }
    node.system.actor(id)
}

/// The local actor a peer's `Stop` or `Kill` reaches: one it may address
/// (see [`reachable`]) and may stop (see [`RemoteStop`](crate::RemoteStop)).
fn stoppable(node: &NodeShared, link: &Link, to: ActorId, seal: Seal) -> Option<AnyActorRef> {
    let actor = reachable(node, to, seal)?;
    if !node.remote_stop.allows(to) {
        tracing::debug!(peer = %link.name, %to, "refused a stop from a peer: the actor has not opted in");
        bump(&node.stats.remote_stops_refused);
        return None;
    }
    Some(actor)
}

fn on_ask(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    parking: &Arc<Parking>,
    (to, seal, correlation): (ActorId, Seal, u64),
    (tag, payload, mut waits): (MessageTag, Bytes, Vec<WaitFor>),
) {
    let reply = |result| {
        link.send(Frame::Reply {
            correlation,
            result,
        })
    };
    let Some(actor) = reachable(node, to, seal) else {
        reply(Err(AskError::Stopped));
        return;
    };
    let Some(delivery) = node.registry.delivery(actor.actor_type(), tag) else {
        let actor = actor.actor_type_name();
        reply(Err(AskError::Remote(format!(
            "`{actor}` does not receive message tag {tag} from other nodes; list the message in its `#[actor(remote(..))]`, or mark its handler `#[handler(remote)]`"
        ))));
        return;
    };
    trust_waits(node.node_id(), to, &mut waits);
    let weight = payload.len() + std::mem::size_of_val(waits.as_slice());
    let parked = Parked::Ask {
        deliver: delivery.ask,
        correlation,
        payload,
        waits,
    };
    let Err(Parked::Ask { payload, waits, .. }) = parking.push_if_parked(to, parked, weight) else {
        return;
    };
    let mut queued = match (delivery.ask)(&node.decode_cx(), actor.clone(), &payload, waits) {
        Ok(queued) => queued,
        Err(error) => {
            reply(Err(undecodable_ask(&error)));
            return;
        }
    };
    // Queued at once unless the mailbox is full; then park it, so the
    // reader moves on.
    match poll_once(&mut queued) {
        Poll::Ready(queued) => answer_ask(node, link, correlation, queued),
        Poll::Pending => {
            let (node_for_wait, link_for_wait) = (Arc::clone(node), Arc::clone(link));
            let waiting = Box::pin(async move {
                let queued = queued.await;
                answer_ask(&node_for_wait, &link_for_wait, correlation, queued);
            });
            parking.start(node, link, actor, Parked::Waiting(waiting), weight);
        }
    }
}

/// Keeps the wait-for edges of an ask to `to` that this node may take on
/// the peer's word: at most [`MAX_ASK_WAITS`], and none about this node's
/// own actors but the ask's own edge to `to`. This node knows its own
/// actors' waits already (a true edge from one is in its graph for as
/// long as it holds), so a peer cannot make them up. Dropping edges can
/// only miss a cycle, never report one that is not there.
fn trust_waits(here: NodeId, to: ActorId, waits: &mut Vec<WaitFor>) {
    if waits.len() > MAX_ASK_WAITS {
        tracing::debug!(%to, waits = waits.len(), "ask carries too many waits; the rest are ignored");
        waits.truncate(MAX_ASK_WAITS);
    }
    waits.retain(|wait| {
        wait.asker.node() != here && (wait.callee.node() != here || wait.callee == to)
    });
}

/// Polls `future` once, with a waker that does nothing: the caller either
/// takes the result now or hands the future to a task that awaits it.
fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(future).poll(&mut cx)
}

fn undecodable_ask(error: &crate::WireError) -> AskError {
    AskError::Remote(format!("undecodable message: {error}"))
}

/// Once an ask is queued: sends its reply when the handler answers (in a
/// task of its own), or at once if it could not be queued.
fn answer_ask(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    correlation: u64,
    queued: Result<EncodedReply, AskError>,
) {
    match queued {
        Ok(answer) => {
            let link = Arc::clone(link);
            node.tasks.spawn(async move {
                let result = answer.await;
                link.send(Frame::Reply {
                    correlation,
                    result,
                });
            });
        }
        Err(error) => {
            link.send(Frame::Reply {
                correlation,
                result: Err(error),
            });
        }
    }
}

/// Hands one parked frame to its actor, waiting for room as long as it takes.
pub(crate) async fn run_parked(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    actor: &AnyActorRef,
    item: Parked,
) {
    let to = actor.id();
    match item {
        Parked::Waiting(waiting) => waiting.await,
        Parked::Tell { deliver, payload } => {
            match deliver(&node.decode_cx(), actor.clone(), &payload) {
                Ok(TellOutcome::Queued) => {}
                Ok(TellOutcome::Stopped) => missing_actor(node, to),
                Ok(TellOutcome::Full(waiting)) => {
                    if !waiting.await {
                        missing_actor(node, to);
                    }
                }
                Err(error) => {
                    tracing::warn!(%to, %error, "undecodable remote tell");
                    bump(&node.stats.tells_undecodable);
                }
            }
        }
        Parked::Ask {
            deliver,
            correlation,
            payload,
            waits,
        } => {
            let queued = match deliver(&node.decode_cx(), actor.clone(), &payload, waits) {
                Ok(queued) => queued.await,
                Err(error) => Err(undecodable_ask(&error)),
            };
            answer_ask(node, link, correlation, queued);
        }
        Parked::Stop => actor.stop(),
    }
}

fn on_reply(
    node: &Arc<NodeShared>,
    link: &Link,
    correlation: u64,
    result: Result<Bytes, AskError>,
) {
    // Correlation ids are small counters: only the peer that was asked
    // may answer, whatever id another peer sends.
    let Some((_, pending)) = node
        .asks
        .remove_if(&correlation, |_, pending| pending.peer == link.peer)
    else {
        return; // the asker gave up (timeout) already, or not this peer's
    };
    let decoded = result.and_then(|bytes| {
        (pending.decode)(&node.decode_cx(), &bytes)
            .map_err(|e| AskError::Remote(format!("undecodable reply: {e}")))
    });
    let _ = pending.reply.send(decoded);
}

/// The watches a peer made over one link, on actors of this node.
///
/// Each is registered under a watcher id of this node's own choosing, so
/// an id the peer picked can never touch a watch that a local actor or
/// another peer made. They belong to the link: when it ends they are
/// dropped, and the peer's watchers get `Terminated { NodeDown }` from
/// their own node instead.
#[derive(Default)]
struct HeldWatches {
    /// (watched actor here, watcher on the peer) -> the id registered here.
    by_peer_id: HashMap<(ActorId, ActorId), ActorId>,
    /// Size after which entries of stopped actors are swept out.
    sweep_at: usize,
}

impl HeldWatches {
    /// Fewest entries before a sweep is worth it.
    const MIN_SWEEP: usize = 64;

    fn watch(
        &mut self,
        node: &Arc<NodeShared>,
        link: &Arc<Link>,
        (target, seal): (ActorId, Seal),
        watcher: ActorId,
    ) {
        let Some(actor) = reachable(node, target, seal) else {
            // Gone already (or never here): the watcher still gets its one notice.
            link.send(Frame::Terminated {
                id: target,
                reason: StopReason::Normal,
            });
            return;
        };
        if self.by_peer_id.contains_key(&(target, watcher)) {
            return; // watching already; a watch is not counted
        }
        self.sweep(node);
        let limit = node.max_watches_per_peer;
        if self.by_peer_id.len() >= limit {
            self.sweep_now(node);
        }
        if self.by_peer_id.len() >= limit {
            // Refused as if unreachable: the watcher must not count on it.
            tracing::warn!(peer = %link.name, %target, limit, "refused a watch: the peer holds as many as it may");
            link.send(Frame::Terminated {
                id: target,
                reason: StopReason::NodeDown,
            });
            return;
        }
        let id = node.synthetic_watcher();
        self.by_peer_id.insert((target, watcher), id);
        let link = Arc::clone(link);
        actor.watch(Watcher::from_fn(id, move |terminated| {
            link.send(Frame::Terminated {
                id: terminated.id,
                reason: terminated.reason,
            });
        }));
    }

    fn unwatch(&mut self, node: &NodeShared, target: ActorId, watcher: ActorId) {
        if let Some(id) = self.by_peer_id.remove(&(target, watcher)) {
            if let Some(actor) = local(node, target) {
                actor.unwatch(id);
            }
        }
    }

    /// Forgets the watches of actors that have stopped, once the map has
    /// doubled since the last sweep: memory stays bounded by the live
    /// watches, at amortised constant cost per watch.
    fn sweep(&mut self, node: &NodeShared) {
        if self.by_peer_id.len() >= self.sweep_at.max(Self::MIN_SWEEP) {
            self.sweep_now(node);
        }
    }

    fn sweep_now(&mut self, node: &NodeShared) {
        self.by_peer_id
            .retain(|(target, _), _| local(node, *target).is_some());
        self.sweep_at = self.by_peer_id.len() * 2;
    }

    /// The link has ended: its watches go with it.
    fn release(self, node: &NodeShared) {
        for ((target, _), id) in self.by_peer_id {
            if let Some(actor) = local(node, target) {
                actor.unwatch(id);
            }
        }
    }
}

fn on_spawn(
    node: &Arc<NodeShared>,
    link: &Arc<Link>,
    correlation: u64,
    actor: MessageTag,
    args: Bytes,
) {
    let answer = |result| {
        link.send(Frame::Spawned {
            correlation,
            result,
        })
    };
    let Some(spawn) = node.registry.spawner(actor) else {
        answer(Err(RemoteSpawnError::NotSpawnable {
            tag: actor,
            node: node.name.clone(),
        }));
        return;
    };
    let Some(permit) = node.spawn_quota.acquire(link.peer.number()) else {
        answer(Err(RemoteSpawnError::QuotaExceeded {
            limit: node.spawn_quota.limit(),
        }));
        return;
    };
    let request = match spawn(&node.decode_cx(), &args) {
        Ok(request) => request,
        Err(error) => {
            answer(Err(RemoteSpawnError::BadArguments(error.to_string())));
            return;
        }
    };
    let (shared, link) = (Arc::clone(node), Arc::clone(link));
    node.tasks.spawn(async move {
        let node = shared;
        let failed =
            |error: &dyn std::fmt::Display| Err(RemoteSpawnError::Failed(error.to_string()));
        let result = match node.spawner().ask(SpawnChild { request, permit }).await {
            Ok(Ok(started)) => match started.await {
                // The peer asked for it: it gets the actor's ref, and may
                // stop it whatever the node's `RemoteStop`.
                Ok(Ok(id)) => {
                    if let Some(actor) = node.system.actor(id) {
                        node.remote_stop.opt_in(&actor, node.synthetic_watcher());
                    }
                    Ok((id, node.seals.seal(id)))
                }
                Ok(Err(error)) => failed(&error),
                Err(_) => failed(&"the actor's supervisor stopped before starting it"),
            },
            Ok(Err(error)) => failed(&error),
            Err(error) => failed(&error),
        };
        link.send(Frame::Spawned {
            correlation,
            result,
        });
    });
}

fn on_answer(node: &Arc<NodeShared>, link: &Link, answer: Frame) {
    let correlation = match &answer {
        Frame::Found { correlation, .. }
        | Frame::Spawned { correlation, .. }
        | Frame::Inspected { correlation, .. } => *correlation,
        _ => return,
    };
    // As for replies: only the peer that was asked may answer.
    if let Some((_, query)) = node
        .queries
        .remove_if(&correlation, |_, query| query.peer == link.peer)
    {
        let _ = query.answer.send(answer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(node: u64, seq: u64) -> ActorId {
        ActorId::new(NodeId::new(node, 1), seq)
    }

    fn wait(asker: ActorId, callee: ActorId) -> WaitFor {
        WaitFor { asker, callee }
    }

    #[test]
    fn a_peer_cannot_make_up_waits_of_this_nodes_actors() {
        let here = NodeId::new(1, 1);
        let to = id(1, 10);
        let mut waits = vec![
            wait(id(2, 1), to),        // the ask's own edge: kept
            wait(id(3, 1), id(2, 1)),  // between other nodes: kept
            wait(id(1, 11), id(2, 1)), // one of ours waits: ours to know
            wait(id(2, 2), id(1, 12)), // waits on one of ours: ours to know
            wait(to, id(2, 1)),
        ];
        trust_waits(here, to, &mut waits);
        assert_eq!(waits, vec![wait(id(2, 1), to), wait(id(3, 1), id(2, 1))]);
    }

    #[test]
    fn waits_past_the_bound_are_ignored() {
        let here = NodeId::new(1, 1);
        let to = id(1, 10);
        let mut waits: Vec<WaitFor> = (0..MAX_ASK_WAITS as u64 * 3)
            .map(|n| wait(id(2, n), id(3, n)))
            .collect();
        trust_waits(here, to, &mut waits);
        assert_eq!(waits.len(), MAX_ASK_WAITS);
        assert_eq!(waits[0], wait(id(2, 0), id(3, 0)));
    }
}
