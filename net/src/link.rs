//! One authenticated connection to a peer node: a writer task that batches
//! frames into few syscalls, and a reader loop that hands frames to the node.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use proscenium_runtime::NodeId;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Set when the link ends, for any reason; stops both tasks.
    pub(crate) closed: LinkEnd,
}

impl Link {
    /// Queues `frame`; `false` if the link has ended.
    pub(crate) fn send(&self, frame: Frame) -> bool {
        !self.closed.has_ended() && self.outbox.send(frame).is_ok()
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

pub(crate) type FrameSink = SplitSink<Framed<TcpStream, FrameCodec>, Frame>;
pub(crate) type FrameStream = SplitStream<Framed<TcpStream, FrameCodec>>;

/// Builds a link over an established connection and starts its writer.
pub(crate) fn open(
    framed: Framed<TcpStream, FrameCodec>,
    peer: NodeId,
    name: String,
    initiator: u64,
    heartbeat: Duration,
    tasks: &tokio_util::task::TaskTracker,
) -> (Arc<Link>, FrameStream) {
    let (sink, stream) = framed.split();
    let (outbox, queue) = mpsc::unbounded_channel();
    let closed = LinkEnd::new();
    let link = Arc::new(Link {
        peer,
        name,
        initiator,
        outbox,
        closed: closed.clone(),
    });
    tasks.spawn(write_frames(sink, queue, closed, heartbeat));
    (link, stream)
}

/// Writes queued frames, a batch per flush, and a heartbeat when idle.
async fn write_frames(
    mut sink: FrameSink,
    mut queue: mpsc::UnboundedReceiver<Frame>,
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
    queue: &mut mpsc::UnboundedReceiver<Frame>,
    first: Frame,
) -> Result<(), crate::FrameError> {
    sink.feed(first).await?;
    for _ in 1..MAX_BATCH {
        match queue.try_recv() {
            Ok(frame) => {
                let goodbye = matches!(frame, Frame::Goodbye);
                sink.feed(frame).await?;
                if goodbye {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    sink.flush().await
}
