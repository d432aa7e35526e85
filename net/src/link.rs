//! One authenticated connection to a peer node: a writer task that batches
//! frames into few syscalls, and a reader loop that hands frames to the node.

use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use proscenium_runtime::NodeId;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use crate::{Frame, FrameCodec};

/// How many queued frames the writer encodes before it flushes.
const MAX_BATCH: usize = 256;

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
    outbox: mpsc::UnboundedSender<Frame>,
    /// How full the outbox is, and how senders of tells wait for room.
    room: Arc<Room>,
    /// Set when the link ends, for any reason; stops both tasks.
    pub(crate) closed: LinkEnd,
}

impl Link {
    /// Queues `frame`; `false` if the link has ended. Never waits: tells
    /// wait for [`room`](Self::wait_for_room) first; replies and control
    /// frames always go through, so they cannot deadlock behind tells.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        if self.closed.has_ended() {
            return false;
        }
        self.room.queued.fetch_add(1, Ordering::Relaxed);
        self.outbox.send(frame).is_ok()
    }

    /// Whether the outbox is below its capacity.
    pub(crate) fn has_room(&self) -> bool {
        // SeqCst pairs with the writer's decrement and its read of
        // `waiting`: a sender that counted itself as waiting either sees the
        // room or is seen, and notified, by the writer.
        self.room.queued.load(Ordering::SeqCst) < self.room.capacity
    }

    /// Waits until the outbox is below its capacity or the link has ended.
    pub(crate) async fn wait_for_room(&self) {
        let mut ended = pin!(self.closed.ended());
        while !self.has_room() && !self.closed.has_ended() {
            let mut notified = pin!(self.room.freed.notified());
            notified.as_mut().enable();
            self.room.waiting.fetch_add(1, Ordering::SeqCst);
            // Checked again now that the writer can see this sender waiting.
            if !self.has_room() && !self.closed.has_ended() {
                tokio::select! {
                    () = &mut notified => {}
                    () = &mut ended => {}
                }
            }
            self.room.waiting.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Ends the link: a goodbye is sent if the writer still can.
    pub(crate) fn close(&self) {
        let _ = self.outbox.send(Frame::Goodbye);
        self.closed.end();
    }
}

/// Whether a link has ended, readable on every send without a lock (a
/// `CancellationToken` alone takes a mutex to say whether it is cancelled).
#[derive(Debug, Clone)]
pub(crate) struct LinkEnd(Arc<LinkEndState>);

#[derive(Debug)]
struct LinkEndState {
    ended: AtomicBool,
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

    pub(crate) fn has_ended(&self) -> bool {
        self.0.ended.load(Ordering::Acquire)
    }

    /// Completes once the link has ended.
    pub(crate) fn ended(&self) -> WaitForCancellationFuture<'_> {
        self.0.token.cancelled()
    }
}

/// The fill level of a link's outbox. Senders of tells wait while it is
/// at capacity; the writer wakes them as it drains. The bound is soft:
/// senders that saw room at the same moment may all queue.
#[derive(Debug)]
struct Room {
    queued: AtomicUsize,
    capacity: usize,
    /// Senders waiting in `wait_for_room`, so the writer notifies only
    /// when somebody waits.
    waiting: AtomicUsize,
    freed: tokio::sync::Notify,
}

pub(crate) type FrameSink = SplitSink<Framed<TcpStream, FrameCodec>, Frame>;
pub(crate) type FrameStream = SplitStream<Framed<TcpStream, FrameCodec>>;

/// Builds a link over an established connection and starts its writer.
pub(crate) fn open(
    framed: Framed<TcpStream, FrameCodec>,
    peer: NodeId,
    name: String,
    initiator: u64,
    heartbeat: Duration,
    capacity: usize,
    tasks: &tokio_util::task::TaskTracker,
) -> (Arc<Link>, FrameStream) {
    let (sink, stream) = framed.split();
    let (outbox, queue) = mpsc::unbounded_channel();
    let closed = LinkEnd::new();
    let room = Arc::new(Room {
        queued: AtomicUsize::new(0),
        capacity: capacity.max(1),
        waiting: AtomicUsize::new(0),
        freed: tokio::sync::Notify::new(),
    });
    let link = Arc::new(Link {
        peer,
        name,
        initiator,
        outbox,
        room: Arc::clone(&room),
        closed: closed.clone(),
    });
    let outbox = Outbox { queue, room };
    tasks.spawn(write_frames(sink, outbox, closed, heartbeat));
    (link, stream)
}

/// The writer's end of the outbox: frames, and the fill level it lowers.
struct Outbox {
    queue: mpsc::UnboundedReceiver<Frame>,
    room: Arc<Room>,
}

impl Outbox {
    async fn recv(&mut self) -> Option<Frame> {
        let frame = self.queue.recv().await;
        self.taken(frame.is_some());
        frame
    }

    fn try_recv(&mut self) -> Option<Frame> {
        let frame = self.queue.try_recv().ok();
        self.taken(frame.is_some());
        frame
    }

    fn taken(&self, taken: bool) {
        if taken {
            self.room.queued.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Wakes senders waiting for room, after a batch went out.
    fn wake_waiting(&self) {
        if self.room.waiting.load(Ordering::SeqCst) > 0 {
            self.room.freed.notify_waiters();
        }
    }
}

/// Writes queued frames, a batch per flush, and a heartbeat when idle.
async fn write_frames(
    mut sink: FrameSink,
    mut queue: Outbox,
    closed: LinkEnd,
    heartbeat: Duration,
) {
    let mut idle = tokio::time::interval(heartbeat);
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            frame = queue.recv() => frame,
            _ = idle.tick() => Some(Frame::Heartbeat),
            () = closed.ended() => break,
        };
        let Some(first) = first else { break };
        let goodbye = matches!(first, Frame::Goodbye);
        if let Err(error) = write_batch(&mut sink, &mut queue, first).await {
            tracing::debug!(%error, "connection write failed");
            break;
        }
        queue.wake_waiting();
        idle.reset();
        if goodbye {
            break;
        }
    }
    closed.end();
    let _ = sink.close().await;
}

/// Encodes `first` and whatever else is queued now (up to a batch), then
/// flushes once: many small messages cost few syscalls.
async fn write_batch(
    sink: &mut FrameSink,
    queue: &mut Outbox,
    first: Frame,
) -> Result<(), crate::FrameError> {
    sink.feed(first).await?;
    for _ in 1..MAX_BATCH {
        match queue.try_recv() {
            Some(frame) => {
                let goodbye = matches!(frame, Frame::Goodbye);
                sink.feed(frame).await?;
                if goodbye {
                    break;
                }
            }
            None => break,
        }
    }
    sink.flush().await
}
