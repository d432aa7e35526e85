//! One authenticated connection to a peer node: a writer task that batches
//! frames into few syscalls, and a reader loop that hands frames to the node.
//!
//! The outbox between the node and the writer is bounded in bytes for every
//! frame kind: tells wait for room below [`LinkSettings::outbox_bytes`];
//! other frames (asks, replies, control frames) never wait, so they cannot
//! deadlock behind tells, but a link whose outbox grows past twice that is
//! closed as overloaded. A tell keeps its place in that budget after it is
//! written, until the peer acknowledges it (see [`in_flight`](crate::in_flight)).
//! Every write races the link's end and a write-stall deadline, and tells
//! that wait that long for an acknowledgement end the link too, so a peer
//! that stops reading costs a bounded wait.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use proscenium_runtime::remote::Seal;
use proscenium_runtime::{ActorId, NodeId};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::codec::{Framed, FramedParts};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::actor_links::HeldLinks;
use crate::codec::Outgoing;
use crate::encryption::EncryptedStream;
use crate::in_flight::{AckOut, InFlight};
use crate::link_stream::LinkStream;
use crate::link_traffic::Traffic;
use crate::metrics::LinkMetrics;
use crate::outbox::{Entry, OutboxQueue, Queued, Refused, TellRecord};
use crate::{Frame, FrameCodec, MessageTag};

/// The most bytes of framed tells the writer hands its connection at once.
const MAX_PIECE: usize = 64 * 1024;

/// The least headroom above the outbox capacity for frames that never wait.
const HARD_LIMIT_FLOOR: usize = 1024 * 1024;

/// How many actors of one peer may be paused at once; more `Pause` frames
/// are ignored, so a peer cannot grow this node's memory with them.
const MAX_PAUSED: usize = 65_536;

/// The limits and timings of every link of a node.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkSettings {
    /// How often an idle writer sends a heartbeat.
    pub(crate) heartbeat: Duration,
    /// Bytes of queued frames at which tells wait; twice this closes the link.
    pub(crate) outbox_bytes: usize,
    /// How long a write may make no progress, or written tells wait for an
    /// acknowledgement without any coming, before the peer is dropped.
    pub(crate) write_stall: Duration,
}

/// What a link reports to its node about frames it will not write.
pub(crate) trait LinkHooks: Send + Sync + std::fmt::Debug + 'static {
    /// Whether a queued frame is still worth writing (an ask whose asker
    /// has given up is not).
    fn still_wanted(&self, frame: &Frame) -> bool;
    /// A frame that was queued but never written: the link ended first.
    fn unsent(&self, frame: Frame);
    /// A tell that was queued but never written: the link ended first.
    fn unsent_tell(&self, to: ActorId, tag: MessageTag);
    /// A tell that was written, but the link ended before the peer
    /// acknowledged it: it may have been delivered or not.
    fn unacknowledged(&self, to: ActorId, tag: MessageTag);
    /// The peer accepted nothing for the write-stall timeout.
    fn stalled(&self);
    /// The outbox went past its hard limit.
    fn overloaded(&self);
}

/// The node's handle on one live connection.
#[derive(Debug)]
pub(crate) struct Link {
    /// The peer's node number and incarnation, as authenticated.
    pub(crate) peer: NodeId,
    /// The peer's name, for logs and events.
    pub(crate) name: String,
    /// Which node dialed: decides which of two simultaneous connections stays.
    pub(crate) initiator: u64,
    /// Frames waiting for the writer task; closed when the link ends.
    outbox: Arc<OutboxQueue>,
    /// How full the outbox is, and how senders of tells wait for room.
    room: Arc<Room>,
    /// Actors of the peer whose mailboxes are full: tells to them wait.
    paused: Paused,
    /// Tells written and not yet acknowledged by the peer.
    in_flight: Arc<InFlight>,
    /// The acknowledgement owed to the peer for the tells taken from it.
    acks: Arc<AckOut>,
    hooks: Arc<dyn LinkHooks>,
    /// Set when the link ends, for any reason; stops both tasks.
    pub(crate) closed: LinkEnd,
    /// Frames, bytes and round trips, shared with the writer and reader.
    pub(crate) metrics: LinkMetrics,
    /// Bytes each way and the last round trip, always counted.
    pub(crate) traffic: Arc<Traffic>,
    /// The far sides of links the peer's actors made to this node's
    /// actors over this connection; released (each a `NodeDown` to its
    /// local actor) when the reader ends.
    pub(crate) held_links: HeldLinks,
}

impl Link {
    /// Queues `frame`; `false` if the link has ended. Never waits: tells
    /// wait for [`room`](Self::wait_for_room) first; replies and control
    /// frames always go through, so they cannot deadlock behind tells. A
    /// frame that would take the outbox past twice its capacity ends the
    /// link instead: the peer is not keeping up with what it asks for.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        if let Frame::Tell {
            to,
            seal,
            tag,
            payload,
        } = &frame
        {
            // Every tell is framed into the queue, where the writer counts
            // it in flight: the peer's acks count them all.
            return self.send_tell(*to, *seal, *tag, payload).is_ok();
        }
        let weight = frame.weight();
        if !self.admit(weight) {
            self.refused(frame);
            return false;
        }
        match self.outbox.push_frame(frame) {
            Ok(()) => true,
            Err(frame) => {
                self.room.queued.fetch_sub(weight, Ordering::SeqCst);
                self.refused(frame);
                false
            }
        }
    }

    /// Queues a tell of the encoded `payload`, framed as it is queued (see
    /// [`outbox`](crate::outbox)). Like [`send`](Self::send), it never
    /// waits: senders wait for [`room`](Self::wait_for_room) first.
    pub(crate) fn send_tell(
        &self,
        to: ActorId,
        seal: Seal,
        tag: MessageTag,
        payload: &[u8],
    ) -> Result<(), TellRefused> {
        let weight = Frame::tell_weight(payload.len());
        if !self.admit(weight) {
            return Err(TellRefused::Ended);
        }
        self.outbox
            .push_tell(to, seal, tag, payload)
            .map_err(|refused| {
                self.room.queued.fetch_sub(weight, Ordering::SeqCst);
                match refused {
                    Refused::Closed => TellRefused::Ended,
                    Refused::Oversized(error) => TellRefused::Oversized(error),
                }
            })
    }

    /// Counts `weight` more bytes as queued, unless the link has ended or
    /// they would take it past its hard limit, which ends it: the peer is
    /// not keeping up with what it asks for.
    fn admit(&self, weight: usize) -> bool {
        if self.closed.has_ended() {
            return false;
        }
        let queued = self.room.queued.fetch_add(weight, Ordering::SeqCst) + weight;
        if queued <= self.room.hard_limit() {
            return true;
        }
        self.room.queued.fetch_sub(weight, Ordering::SeqCst);
        tracing::warn!(
            peer = %self.name,
            limit = self.room.hard_limit(),
            "outbox over its hard limit: the peer does not take frames as fast as they come; closing the connection"
        );
        self.hooks.overloaded();
        self.closed.end();
        false
    }

    /// What a snapshot shows of this link now.
    pub(crate) fn observe(&self, local: u64) -> crate::introspection::LinkSnapshot {
        let (tells_in_flight, tells_written) = self.in_flight.counts();
        let (bytes_written, bytes_read) = self.traffic.bytes();
        crate::introspection::LinkSnapshot {
            peer: self.peer,
            bytes_written,
            bytes_read,
            rtt: self.traffic.rtt(),
            peer_name: self.name.clone(),
            dialed_by_us: self.initiator == local,
            outbox_bytes: self.room.queued.load(Ordering::Relaxed),
            tells_written,
            tells_in_flight,
            paused_actors: self.paused.count.load(Ordering::Relaxed),
        }
    }

    /// A frame, never a tell, not queued after all: counted.
    fn refused(&self, frame: Frame) {
        self.hooks.unsent(frame);
    }

    /// Whether a tell to `to` may be queued now: the outbox is below its
    /// capacity and the peer has not paused `to`.
    pub(crate) fn has_room_for(&self, to: ActorId) -> bool {
        self.room.has_room() && !self.paused.contains(to)
    }

    /// Waits until a tell to `to` may be queued, or the link has ended.
    pub(crate) async fn wait_for_room(&self, to: ActorId) {
        let mut ended = pin!(self.closed.ended());
        loop {
            if self.closed.has_ended() {
                return;
            }
            if !self.room.has_room() {
                let mut notified = pin!(self.room.freed.notified());
                notified.as_mut().enable();
                self.room.waiting.fetch_add(1, Ordering::SeqCst);
                // Checked again now that the writer can see this sender waiting.
                if !self.room.has_room() && !self.closed.has_ended() {
                    tokio::select! {
                        () = &mut notified => {}
                        () = &mut ended => {}
                    }
                }
                self.room.waiting.fetch_sub(1, Ordering::SeqCst);
                continue;
            }
            if !self.paused.contains(to) {
                return;
            }
            let mut resumed = pin!(self.paused.resumed.notified());
            resumed.as_mut().enable();
            if self.paused.contains(to) && !self.closed.has_ended() {
                tokio::select! {
                    () = &mut resumed => {}
                    () = &mut ended => {}
                }
            }
        }
    }

    /// The peer has taken the first `tells` tells written on this link:
    /// they no longer hold room in the outbox.
    pub(crate) fn acknowledged(&self, tells: u64) {
        let freed = self.in_flight.acknowledged(tells);
        if freed > 0 {
            self.room.release(freed);
        }
    }

    /// This node has taken the first `tells` tells the peer sent on this
    /// link (queued each, or counted it as dropped): tells the peer so.
    pub(crate) fn acknowledge(&self, tells: u64) {
        if self.acks.record(tells) {
            // The writer writes the latest count, whatever this one says.
            self.send(Frame::Ack { tells });
        }
    }

    /// The link has ended: reports every tell written on it and not
    /// acknowledged as possibly delivered. Tells written after this are
    /// reported as the writer writes them.
    pub(crate) fn settle_unacknowledged(&self) {
        for tell in self.in_flight.settle() {
            self.hooks.unacknowledged(tell.to, tell.tag);
        }
    }

    /// The peer's actor `actor` is full: hold tells to it.
    pub(crate) fn pause(&self, actor: ActorId) {
        self.paused.insert(actor);
    }

    /// The peer's actor `actor` has room again.
    pub(crate) fn resume(&self, actor: ActorId) {
        self.paused.remove(actor);
    }

    /// Ends the link gracefully: nothing more is accepted, the writer sends
    /// what is queued, then a goodbye, then ends the link (or ends it sooner
    /// if the peer stops taking bytes; see [`LinkSettings::write_stall`]).
    pub(crate) fn close(&self) {
        if self.closed.stop_accepting() {
            self.room
                .queued
                .fetch_add(Frame::Goodbye.weight(), Ordering::SeqCst);
            if self.outbox.push_frame(Frame::Goodbye).is_err() {
                self.closed.end();
            }
        }
    }
}

/// Why a tell was not queued.
#[derive(Debug)]
pub(crate) enum TellRefused {
    /// The link has ended, or is closing.
    Ended,
    /// The tell is too long for one frame.
    Oversized(crate::FrameError),
}

/// Whether a link has ended, readable on every send without a lock (a
/// `CancellationToken` alone takes a mutex to say whether it is cancelled).
#[derive(Debug, Clone)]
pub(crate) struct LinkEnd(Arc<LinkEndState>);

#[derive(Debug)]
struct LinkEndState {
    /// No more frames are accepted (the link is closing or has ended).
    ended: AtomicBool,
    /// Cancelled once the link has ended: both tasks stop.
    token: CancellationToken,
}

impl LinkEnd {
    fn new() -> Self {
        Self(Arc::new(LinkEndState {
            ended: AtomicBool::new(false),
            token: CancellationToken::new(),
        }))
    }

    /// Ends the link; idempotent.
    pub(crate) fn end(&self) {
        self.0.ended.store(true, Ordering::Release);
        self.0.token.cancel();
    }

    /// Stops accepting frames without ending the link; `true` the first time.
    fn stop_accepting(&self) -> bool {
        !self.0.ended.swap(true, Ordering::AcqRel)
    }

    /// Whether the link accepts no more frames (it is closing or has ended).
    pub(crate) fn has_ended(&self) -> bool {
        self.0.ended.load(Ordering::Acquire)
    }

    /// Whether the link has ended, not merely stopped accepting frames.
    fn is_over(&self) -> bool {
        self.0.token.is_cancelled()
    }

    /// Completes once the link has ended.
    pub(crate) fn ended(&self) -> WaitForCancellationFuture<'_> {
        self.0.token.cancelled()
    }
}

/// The fill level of a link's outbox, in bytes. Senders of tells wait while
/// it is at capacity; the writer wakes them as it drains. The bound is
/// soft: senders that saw room at the same moment may all queue.
#[derive(Debug)]
struct Room {
    queued: AtomicUsize,
    capacity: usize,
    /// Senders waiting in `wait_for_room`, so the writer notifies only
    /// when somebody waits.
    waiting: AtomicUsize,
    freed: tokio::sync::Notify,
}

impl Room {
    fn has_room(&self) -> bool {
        // SeqCst pairs with the writer's decrement and its read of
        // `waiting`: a sender that counted itself as waiting either sees the
        // room or is seen, and notified, by the writer.
        self.queued.load(Ordering::SeqCst) < self.capacity
    }

    /// Twice the capacity, and at least [`HARD_LIMIT_FLOOR`] above it, so
    /// that a small outbox still has room for control frames (a burst of
    /// `Pause`/`Resume` and replies while tells wait).
    fn hard_limit(&self) -> usize {
        self.capacity
            .saturating_add(self.capacity.max(HARD_LIMIT_FLOOR))
    }

    /// Gives back `weight` bytes and wakes the senders waiting for room.
    fn release(&self, weight: usize) {
        self.queued.fetch_sub(weight, Ordering::SeqCst);
        self.wake_waiting();
    }

    fn wake_waiting(&self) {
        if self.waiting.load(Ordering::SeqCst) > 0 {
            self.freed.notify_waiters();
        }
    }
}

/// The peer's actors that told this node they are full.
#[derive(Debug, Default)]
struct Paused {
    /// How many are paused, so the common case (none) costs one load.
    count: AtomicUsize,
    actors: Mutex<std::collections::HashSet<ActorId>>,
    resumed: tokio::sync::Notify,
}

impl Paused {
    fn contains(&self, actor: ActorId) -> bool {
        self.count.load(Ordering::SeqCst) > 0
            && self
                .actors
                .lock()
                .is_ok_and(|actors| actors.contains(&actor))
    }

    fn insert(&self, actor: ActorId) {
        let Ok(mut actors) = self.actors.lock() else {
            return;
        };
        if actors.len() >= MAX_PAUSED {
            tracing::warn!(%actor, "too many paused actors on one link; ignoring a pause");
            return;
        }
        if actors.insert(actor) {
            self.count.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn remove(&self, actor: ActorId) {
        let removed = self
            .actors
            .lock()
            .is_ok_and(|mut actors| actors.remove(&actor));
        if removed {
            self.count.fetch_sub(1, Ordering::SeqCst);
            self.resumed.notify_waiters();
        }
    }
}

pub(crate) type FrameSink =
    SplitSink<Framed<Metered<EncryptedStream<LinkStream>>, FrameCodec>, Outgoing>;
pub(crate) type FrameStream = SplitStream<Framed<Metered<EncryptedStream<LinkStream>>, FrameCodec>>;

/// A stream that counts the bytes written to it, so the writer can tell a
/// slow peer (bytes trickle) from a stalled one (none for a whole timeout).
#[derive(Debug)]
pub(crate) struct Metered<S> {
    io: S,
    traffic: Arc<Traffic>,
    /// Counts the bytes both ways when metrics are on.
    metrics: LinkMetrics,
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            let bytes = buf.filled().len() - before;
            self.traffic.count_read(bytes);
            self.metrics.bytes_received(bytes);
        }
        read
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write(cx, buf);
        self.count(&written);
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.count(&written);
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<S> Metered<S> {
    fn count(&self, written: &Poll<io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = written {
            self.traffic.count_written(*n);
            self.metrics.bytes_sent(*n);
        }
    }
}

/// Builds a link over an established connection and starts its writer.
// One argument per independent part of a link; a struct for them would
// only move the list.
#[allow(clippy::too_many_arguments)]
pub(crate) fn open(
    framed: Framed<EncryptedStream<LinkStream>, FrameCodec>,
    peer: NodeId,
    name: String,
    initiator: u64,
    settings: LinkSettings,
    hooks: Arc<dyn LinkHooks>,
    metrics: LinkMetrics,
    tasks: &tokio_util::task::TaskTracker,
) -> (Arc<Link>, FrameStream) {
    let traffic = Arc::new(Traffic::default());
    let framed_max = framed.codec().max_frame_length();
    let framed = metered(framed, Arc::clone(&traffic), metrics.clone());
    let (sink, stream) = framed.split();
    let outbox = Arc::new(OutboxQueue::new(framed_max));
    let closed = LinkEnd::new();
    let room = Arc::new(Room {
        queued: AtomicUsize::new(0),
        capacity: settings.outbox_bytes.max(1),
        waiting: AtomicUsize::new(0),
        freed: tokio::sync::Notify::new(),
    });
    let in_flight = Arc::new(InFlight::default());
    let acks = Arc::new(AckOut::default());
    let link = Arc::new(Link {
        peer,
        name: name.clone(),
        initiator,
        outbox: Arc::clone(&outbox),
        room: Arc::clone(&room),
        paused: Paused::default(),
        in_flight: Arc::clone(&in_flight),
        acks: Arc::clone(&acks),
        hooks: Arc::clone(&hooks),
        closed: closed.clone(),
        metrics: metrics.clone(),
        traffic: Arc::clone(&traffic),
        held_links: HeldLinks::default(),
    });
    let writer = Writer {
        queue: Outbox {
            queue: outbox,
            batch: Queued::default(),
            run: Vec::new(),
            out: Vec::new(),
            room,
            in_flight,
            acks,
        },
        closed,
        settings,
        hooks,
        traffic,
        peer: name,
        metrics,
    };
    tasks.spawn(writer.run(sink));
    (link, stream)
}

/// The same connection, its buffers kept, over a [`Metered`] stream.
fn metered(
    framed: Framed<EncryptedStream<LinkStream>, FrameCodec>,
    traffic: Arc<Traffic>,
    metrics: LinkMetrics,
) -> Framed<Metered<EncryptedStream<LinkStream>>, FrameCodec> {
    let parts = framed.into_parts();
    let io = Metered {
        io: parts.io,
        traffic,
        metrics,
    };
    let mut metered = FramedParts::new::<Frame>(io, parts.codec);
    metered.read_buf = parts.read_buf;
    metered.write_buf = parts.write_buf;
    Framed::from_parts(metered)
}

/// The writer's end of the outbox: frames, the fill level it lowers, and
/// the record of written tells that keeps their room until acknowledged.
struct Outbox {
    queue: Arc<OutboxQueue>,
    /// What the writer took from the queue and has yet to write.
    batch: Queued,
    /// The records of the tells of the run being prepared.
    run: Vec<TellRecord>,
    /// What the batch becomes on the wire, in order.
    out: Vec<Outgoing>,
    room: Arc<Room>,
    in_flight: Arc<InFlight>,
    acks: Arc<AckOut>,
}

impl Outbox {
    /// Adds a frame of the writer's own (a heartbeat's ping) to the batch,
    /// counted in the outbox budget like a queued one.
    fn push_own(&mut self, frame: Frame) {
        self.room.queued.fetch_add(frame.weight(), Ordering::SeqCst);
        self.batch.entries.push(Entry::Frame(frame));
    }

    /// Takes what is queued; `false` if nothing was.
    fn take(&mut self) -> bool {
        self.queue.take(&mut self.batch);
        !self.batch.is_empty()
    }

    /// Turns the batch taken into what goes on the wire, without waiting,
    /// so that a write cut short never leaves a frame half accounted for:
    /// a tell is recorded as in flight (or, if the link has ended, reported
    /// at once) before it is written, even partly; a frame leaves the
    /// outbox budget, a tell's weight only once acknowledged. Frames no
    /// longer wanted (asks whose asker gave up) are skipped; an ack gets
    /// the latest count. Returns the frames to write and whether a goodbye
    /// is among them: what was queued after it is reported unsent.
    fn prepare(&mut self, hooks: &dyn LinkHooks) -> (u64, bool) {
        let mut frames = 0;
        // Bytes of the batch's tells handed on so far: their records count
        // from the start.
        let mut consumed = 0;
        let mut entries = std::mem::take(&mut self.batch.entries);
        let mut rest = entries.drain(..);
        let mut goodbye = false;
        for entry in rest.by_ref() {
            match entry {
                Entry::Tell(tell) => {
                    self.run.push(tell);
                    frames += 1;
                }
                Entry::Frame(frame) => {
                    self.end_run(&mut consumed, hooks);
                    self.room.queued.fetch_sub(frame.weight(), Ordering::SeqCst);
                    if !hooks.still_wanted(&frame) {
                        continue;
                    }
                    goodbye = matches!(frame, Frame::Goodbye);
                    self.out.push(Outgoing::Frame(self.ready(frame)));
                    frames += 1;
                    if goodbye {
                        break;
                    }
                }
            }
        }
        self.end_run(&mut consumed, hooks);
        for entry in rest {
            self.unsent(entry, hooks);
        }
        self.batch.entries = entries;
        self.batch.tells.clear();
        self.batch.forget_a_burst();
        (frames, goodbye)
    }

    /// Records the run of tells just prepared as in flight, and hands
    /// their frames on in pieces of at most [`MAX_PIECE`] bytes (or one
    /// tell), so that the connection's buffer stays small however long
    /// the run.
    fn end_run(&mut self, consumed: &mut usize, hooks: &dyn LinkHooks) {
        if self.run.is_empty() {
            return;
        }
        self.in_flight
            .written_run(&self.run, |late| hooks.unacknowledged(late.to, late.tag));
        let mut piece_end = *consumed;
        for tell in &self.run {
            if tell.end - *consumed > MAX_PIECE && piece_end > *consumed {
                let piece = self.batch.tells.split_to(piece_end - *consumed);
                self.out.push(Outgoing::Framed(piece.freeze()));
                *consumed = piece_end;
            }
            piece_end = tell.end;
        }
        let piece = self.batch.tells.split_to(piece_end - *consumed);
        self.out.push(Outgoing::Framed(piece.freeze()));
        *consumed = piece_end;
        self.run.clear();
    }

    /// A frame as it is written: an ack gets the latest count. (Tells
    /// are never frames here: they are framed as they are queued.)
    fn ready(&self, frame: Frame) -> Frame {
        match frame {
            Frame::Ack { .. } => Frame::Ack {
                tells: self.acks.take(),
            },
            frame => frame,
        }
    }

    /// The writer has ended: nothing more is queued, and what was never
    /// written is reported.
    fn close(&mut self, hooks: &dyn LinkHooks) {
        self.out.clear();
        self.queue.close(&mut self.batch);
        let mut left = std::mem::take(&mut self.batch.entries);
        for entry in left.drain(..) {
            self.unsent(entry, hooks);
        }
        self.batch.entries = left;
    }

    /// Reports a queued entry the writer will never write; a frame's
    /// weight leaves the budget, as when it is written.
    fn unsent(&self, entry: Entry, hooks: &dyn LinkHooks) {
        match entry {
            Entry::Tell(tell) => hooks.unsent_tell(tell.to, tell.tag),
            Entry::Frame(frame) => {
                self.room.queued.fetch_sub(frame.weight(), Ordering::SeqCst);
                hooks.unsent(frame);
            }
        }
    }

    /// Wakes senders waiting for room, after a batch went out.
    fn wake_waiting(&self) {
        self.room.wake_waiting();
    }
}

/// Why a write did not finish.
enum WriteEnd {
    Failed(crate::FrameError),
    /// The link ended while the write waited.
    Ended,
    /// The peer accepted no byte for the write-stall timeout.
    Stalled,
}

/// The task that writes one link's frames.
struct Writer {
    queue: Outbox,
    closed: LinkEnd,
    settings: LinkSettings,
    hooks: Arc<dyn LinkHooks>,
    traffic: Arc<Traffic>,
    peer: String,
    metrics: LinkMetrics,
}

impl Writer {
    /// The peer took nothing for the write-stall timeout: logs why, and
    /// counts it; the caller ends the link.
    fn stalled(&self, why: &str) {
        tracing::warn!(
            peer = %self.peer,
            timeout = ?self.settings.write_stall,
            "{why}; closing the connection"
        );
        self.hooks.stalled();
    }

    /// Writes queued frames, a batch per flush, and a heartbeat when idle,
    /// until the link ends or a goodbye went out.
    async fn run(mut self, mut sink: FrameSink) {
        let closed = self.closed.clone();
        let mut ended = pin!(closed.ended());
        let mut idle = tokio::time::interval(self.settings.heartbeat);
        idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unacknowledged = AckWatch::new(self.settings.write_stall);
        while !self.closed.is_over() {
            if !self.queue.take() {
                tokio::select! {
                    biased;
                    () = &mut ended => break,
                    () = self.queue.queue.wait() => continue,
                    _ = idle.tick() => {
                        self.metrics.outbox(self.queue.room.queued.load(Ordering::Relaxed));
                        self.queue.push_own(self.traffic.ping());
                    }
                    () = unacknowledged.tick() => {
                        if unacknowledged.stalled(&self.queue.in_flight) {
                            self.stalled("the peer acknowledged no tell for the write-stall timeout");
                            break;
                        }
                        continue;
                    }
                }
            }
            let (frames, said_goodbye) = self.queue.prepare(&*self.hooks);
            let write = write_batch(&mut sink, &mut self.queue.out, &self.metrics, frames);
            match guarded(
                write,
                ended.as_mut(),
                &self.traffic.written,
                self.settings.write_stall,
            )
            .await
            {
                Ok(()) => {
                    self.queue.wake_waiting();
                    self.metrics
                        .outbox(self.queue.room.queued.load(Ordering::Relaxed));
                    idle.reset();
                    if said_goodbye {
                        // Flushed already: closing only shuts the write half.
                        let close = guarded(
                            sink.close(),
                            ended.as_mut(),
                            &self.traffic.written,
                            self.settings.write_stall,
                        );
                        let _ = close.await;
                        break;
                    }
                }
                Err(WriteEnd::Failed(error)) => {
                    tracing::debug!(peer = %self.peer, %error, "connection write failed");
                    break;
                }
                Err(WriteEnd::Ended) => break,
                Err(WriteEnd::Stalled) => {
                    self.stalled("the peer took no bytes for the write-stall timeout");
                    break;
                }
            }
        }
        // What is still queued will never be written: account for it before
        // the link is seen to end, so whoever waits for that sees the count.
        self.queue.close(&*self.hooks);
        self.closed.end();
        self.queue.wake_waiting();
        // Dropping the sink (not closing it, which would flush to a peer
        // that may not read) releases the socket once the reader is done.
        drop(sink);
    }
}

/// Tells a peer that takes no tells from one that takes them slowly: the
/// peer is stalled when tells written to it have waited for the whole
/// write-stall timeout without a single `Ack` frame from it. A peer that
/// reads sends one at least once per heartbeat interval while anything
/// arrives (also in the middle of a large frame), so a slow link is not a
/// stalled one. Checked four times per timeout: a stalled peer is found
/// between 1 and 1.25 timeouts after the first tell it did not take.
struct AckWatch {
    interval: tokio::time::Interval,
    /// `Ack` frames heard at the last check.
    heard: u64,
    /// Whether tells waited for an ack at the last check.
    waiting: bool,
    /// Checks in a row that found tells waiting since the check before,
    /// and no new ack.
    quiet_checks: u32,
}

impl AckWatch {
    const CHECKS: u32 = 4;

    fn new(timeout: Duration) -> Self {
        let period = (timeout / Self::CHECKS).max(Duration::from_millis(1));
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            interval,
            heard: 0,
            waiting: false,
            quiet_checks: 0,
        }
    }

    async fn tick(&mut self) {
        self.interval.tick().await;
    }

    /// Called on each tick: whether the peer has now taken nothing too long.
    fn stalled(&mut self, in_flight: &InFlight) -> bool {
        let (heard, waiting) = (in_flight.acks_heard(), in_flight.is_waiting());
        if heard == self.heard && waiting && self.waiting {
            self.quiet_checks += 1;
        } else {
            self.quiet_checks = 0;
        }
        (self.heard, self.waiting) = (heard, waiting);
        self.quiet_checks >= Self::CHECKS
    }
}

/// Runs `write` until it finishes, the link ends, or it makes no progress
/// (no byte accepted by the socket) for `stall`. The first poll needs no
/// timer: most batches go out at once, and a timer per batch would cost a
/// timer-wheel insertion and removal each time.
async fn guarded<F, T>(
    write: F,
    mut ended: Pin<&mut WaitForCancellationFuture<'_>>,
    written: &AtomicU64,
    stall: Duration,
) -> Result<T, WriteEnd>
where
    F: Future<Output = Result<T, crate::FrameError>>,
{
    let mut write = pin!(write);
    let first = std::future::poll_fn(|cx| Poll::Ready(write.as_mut().poll(cx))).await;
    if let Poll::Ready(result) = first {
        return result.map_err(WriteEnd::Failed);
    }
    let mut seen = written.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            biased;
            () = ended.as_mut() => return Err(WriteEnd::Ended),
            result = write.as_mut() => return result.map_err(WriteEnd::Failed),
            () = tokio::time::sleep(stall) => {
                let now = written.load(Ordering::Relaxed);
                if now == seen {
                    return Err(WriteEnd::Stalled);
                }
                seen = now;
            }
        }
    }
}

/// Writes a prepared batch and flushes once: many small messages cost few
/// syscalls, and a run of tells is one copy into the connection's buffer.
async fn write_batch(
    sink: &mut FrameSink,
    out: &mut Vec<Outgoing>,
    metrics: &LinkMetrics,
    frames: u64,
) -> Result<(), crate::FrameError> {
    for item in out.drain(..) {
        sink.feed(item).await?;
    }
    sink.flush().await?;
    metrics.frames_sent(frames);
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};
    use proscenium_runtime::NodeId;
    use tokio_util::codec::Decoder;

    use super::*;

    fn actor(seq: u64) -> ActorId {
        ActorId::new(NodeId::new(4, 1), seq)
    }

    /// What the writer reported, in order. Asks are no longer wanted.
    #[derive(Debug, Default)]
    struct Recorded(Mutex<Vec<String>>);

    impl Recorded {
        fn push(&self, event: String) {
            self.0.lock().expect("not poisoned").push(event);
        }

        fn take(&self) -> Vec<String> {
            std::mem::take(&mut *self.0.lock().expect("not poisoned"))
        }
    }

    impl LinkHooks for Recorded {
        fn still_wanted(&self, frame: &Frame) -> bool {
            !matches!(frame, Frame::Ask { .. })
        }
        fn unsent(&self, frame: Frame) {
            self.push(format!("unsent {}", frame.kind()));
        }
        fn unsent_tell(&self, to: ActorId, _: MessageTag) {
            self.push(format!("unsent tell {}", to.seq()));
        }
        fn unacknowledged(&self, to: ActorId, _: MessageTag) {
            self.push(format!("unacknowledged tell {}", to.seq()));
        }
        fn stalled(&self) {
            self.push("stalled".to_owned());
        }
        fn overloaded(&self) {
            self.push("overloaded".to_owned());
        }
    }

    fn outbox() -> Outbox {
        Outbox {
            queue: Arc::new(OutboxQueue::new(crate::codec::DEFAULT_MAX_FRAME_LENGTH)),
            batch: Queued::default(),
            run: Vec::new(),
            out: Vec::new(),
            room: Arc::new(Room {
                queued: AtomicUsize::new(0),
                capacity: 1 << 20,
                waiting: AtomicUsize::new(0),
                freed: tokio::sync::Notify::new(),
            }),
            in_flight: Arc::new(InFlight::default()),
            acks: Arc::new(AckOut::default()),
        }
    }

    /// Queues as `Link` does: the weight is counted first.
    fn tell(outbox: &Outbox, seq: u64, payload: &[u8]) {
        let weight = Frame::tell_weight(payload.len());
        outbox.room.queued.fetch_add(weight, Ordering::SeqCst);
        outbox
            .queue
            .push_tell(actor(seq), Seal::NONE, MessageTag::new(seq), payload)
            .expect("queued");
    }

    fn frame(outbox: &Outbox, frame: Frame) {
        outbox
            .room
            .queued
            .fetch_add(frame.weight(), Ordering::SeqCst);
        outbox.queue.push_frame(frame).expect("queued");
    }

    fn ask(seq: u64) -> Frame {
        Frame::Ask {
            to: actor(seq),
            seal: Seal::NONE,
            correlation: seq,
            tag: MessageTag::new(seq),
            payload: Bytes::new(),
            waits: Vec::new(),
        }
    }

    /// The frames the prepared batch puts on the wire, decoded as the
    /// peer's codec reads them.
    fn on_the_wire(outbox: &mut Outbox) -> Vec<String> {
        let mut codec = FrameCodec::new();
        let mut wire = BytesMut::new();
        for item in outbox.out.drain(..) {
            tokio_util::codec::Encoder::encode(&mut codec, item, &mut wire).expect("encodes");
        }
        let mut frames = Vec::new();
        while let Some(frame) = codec.decode(&mut wire).expect("decodes") {
            frames.push(match frame {
                Frame::Tell { to, .. } => format!("tell {}", to.seq()),
                other => other.kind().to_owned(),
            });
        }
        assert!(wire.is_empty(), "only whole frames");
        frames
    }

    #[test]
    fn what_was_queued_after_a_goodbye_is_reported_unsent_not_written() {
        let hooks = Recorded::default();
        let mut outbox = outbox();
        tell(&outbox, 1, b"a");
        frame(&outbox, Frame::Goodbye);
        tell(&outbox, 2, b"b");
        frame(&outbox, Frame::Heartbeat);
        assert!(outbox.take());
        assert_eq!(outbox.prepare(&hooks), (2, true));
        assert_eq!(on_the_wire(&mut outbox), ["tell 1", "goodbye"]);
        assert_eq!(hooks.take(), ["unsent tell 2", "unsent heartbeat"]);
        assert_eq!(
            outbox.in_flight.counts(),
            (1, 1),
            "only tell 1 is in flight"
        );
        // Frames leave the budget whether written or not; tells stay in it
        // until acknowledged, or for good once unsent on a closing link.
        let tells = Frame::tell_weight(1) * 2;
        assert_eq!(outbox.room.queued.load(Ordering::SeqCst), tells);
    }

    #[test]
    fn an_ask_whose_asker_gave_up_is_skipped_and_its_room_given_back() {
        let hooks = Recorded::default();
        let mut outbox = outbox();
        frame(&outbox, ask(7));
        tell(&outbox, 1, b"a");
        assert!(outbox.take());
        assert_eq!(outbox.prepare(&hooks), (1, false));
        assert_eq!(on_the_wire(&mut outbox), ["tell 1"]);
        assert!(hooks.take().is_empty());
        assert_eq!(
            outbox.room.queued.load(Ordering::SeqCst),
            Frame::tell_weight(1)
        );
    }

    #[test]
    fn a_long_run_of_tells_goes_out_in_pieces_that_split_no_frame() {
        let hooks = Recorded::default();
        let mut outbox = outbox();
        let payload = vec![9u8; 10 * 1024];
        for seq in 1..=20 {
            tell(&outbox, seq, &payload);
        }
        assert!(outbox.take());
        assert_eq!(outbox.prepare(&hooks), (20, false));
        let pieces: Vec<usize> = outbox
            .out
            .iter()
            .map(|item| match item {
                Outgoing::Framed(bytes) => bytes.len(),
                Outgoing::Frame(frame) => panic!("only tells were queued: {frame:?}"),
            })
            .collect();
        assert!(pieces.len() > 1, "200 KiB in one piece: {pieces:?}");
        assert!(pieces.iter().all(|&len| len <= MAX_PIECE), "{pieces:?}");
        let expected: Vec<String> = (1..=20).map(|seq| format!("tell {seq}")).collect();
        assert_eq!(on_the_wire(&mut outbox), expected);
        assert_eq!(outbox.in_flight.counts(), (20, 20));
    }

    #[test]
    fn when_the_writer_ends_everything_still_queued_is_reported_once() {
        let hooks = Recorded::default();
        let mut outbox = outbox();
        tell(&outbox, 1, b"a");
        frame(&outbox, Frame::Heartbeat);
        outbox.close(&hooks);
        assert_eq!(hooks.take(), ["unsent tell 1", "unsent heartbeat"]);
        assert_eq!(
            outbox.room.queued.load(Ordering::SeqCst),
            Frame::tell_weight(1),
            "the heartbeat's weight is given back"
        );
        let refused = outbox
            .queue
            .push_tell(actor(2), Seal::NONE, MessageTag::new(2), b"b");
        assert!(refused.is_err(), "a closed queue takes nothing");
        outbox.close(&hooks);
        assert!(hooks.take().is_empty(), "reported once");
    }
}
