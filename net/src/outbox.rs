//! The queue between a link's senders and its writer task.
//!
//! Tells are most of the traffic, so a sender frames its tell straight into
//! the queue's byte buffer, exactly as the wire has it: the writer then
//! copies a whole run of tells into the connection at once, with no frame
//! value, no payload buffer of its own and nothing to free per tell. Other
//! frames are queued as values between them, in the order they were sent,
//! so per-sender order holds across kinds (a tell, then an ask to the same
//! actor, arrive in that order).
//!
//! The writer takes everything queued in one swap under the lock. Once it
//! has ended it closes the queue under that same lock, so a frame is either
//! taken by the writer or refused to its sender, never stranded.

use std::sync::Mutex;

use bytes::BytesMut;
use proscenium_runtime::remote::Seal;
use proscenium_runtime::ActorId;
use tokio::sync::Notify;

use crate::codec::Delimited;
use crate::{tell_frame, Frame, FrameError, MessageTag};

/// What was queued, in the order it was sent.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A tell, framed into [`Queued::tells`] up to byte `end`.
    Tell(TellRecord),
    /// Any other frame, still a value: the writer may skip it (an ask whose
    /// asker gave up) or fill it in (an ack's latest count).
    Frame(Frame),
}

/// What a link keeps of a framed tell: enough to account for it, not its
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TellRecord {
    pub(crate) to: ActorId,
    pub(crate) tag: MessageTag,
    /// Its weight in the link's outbox budget.
    pub(crate) weight: usize,
    /// Where its frame ends in the batch's tell bytes.
    pub(crate) end: usize,
}

/// Frames queued and not yet taken by the writer.
#[derive(Debug, Default)]
pub(crate) struct Queued {
    /// Every tell's frame, header and body, back to back.
    pub(crate) tells: BytesMut,
    pub(crate) entries: Vec<Entry>,
}

/// The most entries, and bytes of tells, whose buffers a link keeps for
/// its next batch: a burst larger than that does not pin its memory for
/// the life of the link.
const KEPT_ENTRIES: usize = 4096;
const KEPT_TELL_BYTES: usize = 1024 * 1024;

impl Queued {
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Drops buffers grown past what a link keeps; call when empty.
    pub(crate) fn forget_a_burst(&mut self) {
        if self.entries.capacity() > KEPT_ENTRIES {
            self.entries = Vec::new();
        }
        if self.tells.capacity() > KEPT_TELL_BYTES {
            self.tells = BytesMut::new();
        }
    }
}

/// Why a tell was not queued.
#[derive(Debug)]
pub(crate) enum Refused {
    /// The writer has ended: the link takes nothing more.
    Closed,
    /// The tell would not fit in one frame.
    Oversized(FrameError),
}

/// The queue of one link, shared by its senders and its writer.
#[derive(Debug)]
pub(crate) struct OutboxQueue {
    state: Mutex<State>,
    /// Wakes the writer when something is queued into an empty queue.
    queued: Notify,
    /// The longest frame body the link may write.
    max_frame_length: usize,
}

#[derive(Debug, Default)]
struct State {
    queued: Queued,
    closed: bool,
}

impl OutboxQueue {
    pub(crate) fn new(max_frame_length: usize) -> Self {
        Self {
            state: Mutex::default(),
            queued: Notify::new(),
            max_frame_length,
        }
    }

    /// Frames a tell of `payload` into the queue.
    pub(crate) fn push_tell(
        &self,
        to: ActorId,
        seal: Seal,
        tag: MessageTag,
        payload: &[u8],
    ) -> Result<(), Refused> {
        let was_empty = {
            let mut state = self.lock();
            if state.closed {
                return Err(Refused::Closed);
            }
            let queued = &mut state.queued;
            Delimited::new(self.max_frame_length)
                .encode_with(&mut queued.tells, |dst| {
                    tell_frame::encode(to, seal, tag, payload, dst);
                })
                .map_err(Refused::Oversized)?;
            queued.entries.push(Entry::Tell(TellRecord {
                to,
                tag,
                weight: Frame::tell_weight(payload.len()),
                end: queued.tells.len(),
            }));
            queued.entries.len() == 1
        };
        self.wake_writer(was_empty);
        Ok(())
    }

    /// Queues any frame but a tell (those go through
    /// [`push_tell`](Self::push_tell)); the frame comes back if the writer
    /// has ended.
    pub(crate) fn push_frame(&self, frame: Frame) -> Result<(), Frame> {
        let was_empty = {
            let mut state = self.lock();
            if state.closed {
                return Err(frame);
            }
            state.queued.entries.push(Entry::Frame(frame));
            state.queued.entries.len() == 1
        };
        self.wake_writer(was_empty);
        Ok(())
    }

    fn wake_writer(&self, was_empty: bool) {
        // The writer looks again after every batch: only a queue it may
        // have found empty needs a wake-up.
        if was_empty {
            self.queued.notify_one();
        }
    }

    /// Swaps everything queued into `into`, which must be empty; its
    /// buffers become the queue's, so both are reused batch after batch.
    pub(crate) fn take(&self, into: &mut Queued) {
        debug_assert!(into.is_empty(), "the writer takes into an empty batch");
        into.tells.clear();
        std::mem::swap(&mut self.lock().queued, into);
    }

    /// Completes when something may have been queued since the last take.
    pub(crate) async fn wait(&self) {
        self.queued.notified().await;
    }

    /// Takes nothing more: what is still queued goes into `into`, and every
    /// later push is refused to its sender.
    pub(crate) fn close(&self, into: &mut Queued) {
        let mut state = self.lock();
        state.closed = true;
        let left = std::mem::take(&mut state.queued);
        drop(state);
        let offset = into.tells.len();
        into.tells.extend_from_slice(&left.tells);
        into.entries
            .extend(left.entries.into_iter().map(|entry| match entry {
                Entry::Tell(tell) => Entry::Tell(TellRecord {
                    end: tell.end + offset,
                    ..tell
                }),
                frame => frame,
            }));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing that can panic runs under the lock but framing a tell,
        // which leaves the buffer whole; a poisoned queue is still usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use proscenium_runtime::NodeId;

    use super::*;

    fn actor(seq: u64) -> ActorId {
        ActorId::new(NodeId::new(3, 1), seq)
    }

    fn tell(queue: &OutboxQueue, seq: u64, payload: &[u8]) {
        queue
            .push_tell(actor(seq), Seal::NONE, MessageTag::new(seq), payload)
            .expect("queued");
    }

    /// The frames in `batch`, decoded as the peer's codec reads them.
    fn decoded(batch: &mut Queued) -> Vec<String> {
        let mut codec = crate::FrameCodec::new();
        let mut tells = batch.tells.split();
        let mut seen = Vec::new();
        let mut start = 0;
        for entry in batch.entries.drain(..) {
            match entry {
                Entry::Tell(record) => {
                    let mut bytes = tells.split_to(record.end - start);
                    start = record.end;
                    let frame = tokio_util::codec::Decoder::decode(&mut codec, &mut bytes)
                        .expect("a whole frame")
                        .expect("one frame");
                    assert!(bytes.is_empty(), "exactly one frame per tell");
                    let Frame::Tell { to, payload, .. } = frame else {
                        panic!("not a tell: {frame:?}");
                    };
                    seen.push(format!("tell {} {:?}", to.seq(), &payload[..]));
                }
                Entry::Frame(frame) => seen.push(frame.kind().to_owned()),
            }
        }
        seen
    }

    #[test]
    fn tells_and_other_frames_come_out_in_the_order_they_went_in() {
        let queue = OutboxQueue::new(1024);
        tell(&queue, 1, b"a");
        queue.push_frame(Frame::Heartbeat).expect("queued");
        tell(&queue, 2, b"bc");
        tell(&queue, 3, b"");
        let mut batch = Queued::default();
        queue.take(&mut batch);
        assert_eq!(
            decoded(&mut batch),
            ["tell 1 [97]", "heartbeat", "tell 2 [98, 99]", "tell 3 []"]
        );
        tell(&queue, 4, b"d");
        queue.take(&mut batch);
        assert_eq!(
            decoded(&mut batch),
            ["tell 4 [100]"],
            "a batch starts afresh"
        );
    }

    #[test]
    fn a_tell_too_long_for_a_frame_is_refused_and_leaves_nothing_behind() {
        let queue = OutboxQueue::new(64);
        let refused = queue.push_tell(actor(1), Seal::NONE, MessageTag::new(1), &[0; 100]);
        assert!(matches!(refused, Err(Refused::Oversized(_))), "{refused:?}");
        tell(&queue, 2, b"x");
        let mut batch = Queued::default();
        queue.take(&mut batch);
        assert_eq!(decoded(&mut batch), ["tell 2 [120]"]);
    }

    #[test]
    fn once_closed_nothing_is_stranded() {
        let queue = OutboxQueue::new(1024);
        tell(&queue, 1, b"a");
        let mut left = Queued::default();
        tell(&queue, 9, b"z");
        queue.take(&mut left);
        // The writer still holds a batch it did not write: what is queued
        // when it closes goes after it.
        tell(&queue, 2, b"b");
        queue.push_frame(Frame::Goodbye).expect("queued");
        queue.close(&mut left);
        let refused = queue.push_tell(actor(3), Seal::NONE, MessageTag::new(3), b"c");
        assert!(matches!(refused, Err(Refused::Closed)), "{refused:?}");
        assert!(matches!(
            queue.push_frame(Frame::Heartbeat),
            Err(Frame::Heartbeat)
        ));
        assert_eq!(
            decoded(&mut left),
            ["tell 1 [97]", "tell 9 [122]", "tell 2 [98]", "goodbye"]
        );
    }

    #[test]
    fn the_buffers_of_a_burst_are_not_kept() {
        let mut batch = Queued::default();
        batch.entries.reserve(KEPT_ENTRIES + 1);
        batch.tells.reserve(KEPT_TELL_BYTES + 1);
        batch.forget_a_burst();
        assert_eq!(batch.entries.capacity(), 0);
        assert_eq!(batch.tells.capacity(), 0);
        batch.entries.reserve(8);
        batch.forget_a_burst();
        assert!(
            batch.entries.capacity() >= 8,
            "a small batch's buffer is kept"
        );
    }

    #[tokio::test]
    async fn a_push_into_an_empty_queue_wakes_the_writer() {
        let queue = std::sync::Arc::new(OutboxQueue::new(1024));
        let writer = {
            let queue = std::sync::Arc::clone(&queue);
            tokio::spawn(async move {
                let mut batch = Queued::default();
                let mut seen = Vec::new();
                while seen.len() < 3 {
                    queue.take(&mut batch);
                    if batch.is_empty() {
                        queue.wait().await;
                        continue;
                    }
                    seen.extend(decoded(&mut batch));
                }
                seen
            })
        };
        for seq in 1..=3 {
            tell(&queue, seq, b"");
            tokio::task::yield_now().await;
        }
        let seen = writer.await.expect("the writer finishes");
        assert_eq!(seen, ["tell 1 []", "tell 2 []", "tell 3 []"]);
    }
}
