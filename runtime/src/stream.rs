//! Streams as message sources: every item of an attached stream arrives at
//! its actor as a told message, then a notice that the stream has ended.
//!
//! One task per attached stream pulls an item only once the previous one
//! is queued, so the actor's bounded mailbox paces the stream: nothing is
//! buffered on the way, and a full mailbox stops the pulling. The task
//! ends with the stream, when the actor stops, or when cancelled.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use futures_core::Stream;
use tokio::task::JoinHandle;

use crate::{ActorRef, Handler, Message};

/// A stream attached to an actor with
/// [`Context::attach_stream`](crate::Context::attach_stream) or
/// [`ActorRef::attach_stream`].
///
/// Dropping the handle leaves the stream attached; [`cancel`](Self::cancel)
/// detaches it.
pub struct StreamHandle {
    task: JoinHandle<StreamEnd>,
}

/// How an attached stream's forwarding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamEnd {
    /// The stream ended: every item and then the end notice were queued.
    Finished,
    /// The actor stopped first; the stream was dropped with its remaining
    /// items, and no end notice was sent.
    ActorStopped,
    /// [`StreamHandle::cancel`] detached it first; no end notice was sent.
    Cancelled,
}

impl StreamHandle {
    /// Detaches the stream: no item is pulled from it after this, and it
    /// is dropped; items queued already are still handled. No end notice
    /// is sent.
    pub fn cancel(&self) {
        self.task.abort();
    }

    /// Whether the forwarding has ended, for any reason.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits for the forwarding to end and says how it did.
    ///
    /// # Panics
    ///
    /// With the stream's own panic, if polling the stream panicked.
    pub async fn ended(self) -> StreamEnd {
        match self.task.await {
            Ok(end) => end,
            // Aborted by `cancel`.
            Err(error) if error.is_cancelled() => StreamEnd::Cancelled,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
}

impl fmt::Debug for StreamHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

/// Spawns the forwarding of `stream`'s items, then `finished`, to `target`
/// on `runtime`.
pub(crate) fn attach<A, S, E>(
    runtime: &tokio::runtime::Handle,
    target: ActorRef<A>,
    stream: S,
    finished: E,
) -> StreamHandle
where
    A: Handler<S::Item> + Handler<E>,
    S: Stream + Send + 'static,
    S::Item: Message,
    E: Message,
{
    StreamHandle {
        task: runtime.spawn(forward(target, stream, finished)),
    }
}

/// Tells `target` each item of `stream` in turn, then `finished`, each
/// waiting for room; ends early when the actor stops.
async fn forward<A, S, E>(target: ActorRef<A>, stream: S, finished: E) -> StreamEnd
where
    A: Handler<S::Item> + Handler<E>,
    S: Stream + Send + 'static,
    S::Item: Message,
    E: Message,
{
    let mut stream = pin!(stream);
    let mut stopped = pin!(target.wait_stopped());
    loop {
        // A stream that is idle when the actor stops ends now, not at its
        // next item.
        let next = poll_fn(|cx| {
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            stream.as_mut().poll_next(cx).map(Some)
        })
        .await;
        let item = match next {
            None => return StreamEnd::ActorStopped,
            Some(None) => break,
            Some(Some(item)) => item,
        };
        // A full mailbox holds the stream here: the next item waits.
        if target.tell(item).await.is_err() {
            tracing::debug!(actor = %target.id(), "actor stopped; its attached stream is dropped");
            return StreamEnd::ActorStopped;
        }
    }
    match target.tell(finished).await {
        Ok(()) => StreamEnd::Finished,
        Err(_) => StreamEnd::ActorStopped,
    }
}
