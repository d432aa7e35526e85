//! Scatter-gather: one call asks many actors at once and is woken once,
//! when the last reply is in.
//!
//! Joining many single asks (`join_all` over [`ActorRef::ask`]) wakes the
//! joining task once per reply, from whichever thread the replying actor
//! runs on; with thousands of asks those wake-ups cost more than the asks.
//! Here every reply goes into a slot of one shared [`Gather`] and only the
//! last one wakes the caller. One deadline covers the whole batch.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use atomic_waker::AtomicWaker;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::actor_ref::{deadline_after, Destination};
use crate::envelope::{MessageEnvelope, ReplyTo};
use crate::mailbox::NoRoom;
use crate::remote::{downcast_reply, AnyMessage};
use crate::{deadlock, ActorRef, AskError, Handler, Message};

/// Asks every actor in `asks` at once, each with its own message, and
/// returns their replies in the same order.
///
/// Each entry is what [`ActorRef::ask`] would have returned for it: the
/// reply, or why there is none. The deadline is the targets' default ask
/// timeout ([`SystemBuilder::ask_timeout`](crate::SystemBuilder::ask_timeout)),
/// counted from this call, for the whole batch: entries without a reply
/// by then are [`AskError::Timeout`]. Messages reach each actor in the
/// order of `asks`, after anything the caller sent it before.
///
/// Use it rather than joining single asks when asking many actors: the
/// caller is woken once, when the last reply is in, instead of once per
/// reply. Remote targets work too; they are asked one by one underneath.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{ask_all, Actor, Context, Handler, Message, System};
///
/// struct Shard(u64);
/// impl Actor for Shard {}
///
/// struct Count;
/// impl Message for Count {
///     type Reply = u64;
/// }
/// impl Handler<Count> for Shard {
///     async fn handle(&mut self, _: Count, _: &mut Context<Self>) -> u64 {
///         self.0
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let shards = (1..=3)
///     .map(|n| system.spawn(Shard(n)))
///     .collect::<Result<Vec<_>, _>>()?;
/// let counts = ask_all(shards.iter().map(|shard| (shard, Count))).await;
/// let total: u64 = counts.into_iter().sum::<Result<u64, _>>()?;
/// assert_eq!(total, 6);
/// # system.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub fn ask_all<'a, A, M, I>(
    asks: I,
) -> impl Future<Output = Vec<Result<M::Reply, AskError>>> + Send + 'a
where
    A: Handler<M>,
    M: Message,
    I: IntoIterator<Item = (&'a ActorRef<A>, M)>,
{
    let asks: Vec<_> = asks.into_iter().collect();
    let timeout = asks
        .first()
        .map_or(Duration::ZERO, |(target, _)| target.default_ask_timeout());
    gather(asks, deadline_after(timeout), timeout)
}

/// Like [`ask_all`], with `timeout` for the whole batch.
pub fn ask_all_timeout<'a, A, M, I>(
    asks: I,
    timeout: Duration,
) -> impl Future<Output = Vec<Result<M::Reply, AskError>>> + Send + 'a
where
    A: Handler<M>,
    M: Message,
    I: IntoIterator<Item = (&'a ActorRef<A>, M)>,
{
    gather(asks.into_iter().collect(), deadline_after(timeout), timeout)
}

/// The iterator is collected before the returned future exists: a future
/// holding a caller's closure across an await is often not `Send`.
async fn gather<A, M>(
    asks: Vec<(&ActorRef<A>, M)>,
    deadline: Instant,
    timeout: Duration,
) -> Vec<Result<M::Reply, AskError>>
where
    A: Handler<M>,
    M: Message,
{
    let mut batch = Batch::new(asks.len());
    for (index, (target, message)) in asks.into_iter().enumerate() {
        batch.send(index, target, message, deadline, timeout).await;
    }
    batch.wait(deadline).await;
    batch.into_replies(timeout)
}

/// One entry's answer: the reply, or why there is none.
type Reply<R> = Result<R, AskError>;

/// The replies of one batch, filled in by the actors that answer.
struct Gather<R> {
    /// One entry per ask, each locked on its own, so replying actors do
    /// not contend.
    replies: Box<[Mutex<Option<Reply<R>>>]>,
    /// Replies still to come, plus one while the caller is still sending.
    outstanding: AtomicUsize,
    /// The caller, woken when `outstanding` reaches zero.
    caller: AtomicWaker,
}

impl<R> Gather<R> {
    fn put(&self, index: usize, result: Result<R, AskError>) {
        if let Some(entry) = self.replies.get(index) {
            *entry.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        }
    }

    fn take(&self, index: usize) -> Option<Result<R, AskError>> {
        let entry = self.replies.get(index)?;
        entry.lock().unwrap_or_else(PoisonError::into_inner).take()
    }

    /// One reply (or the caller's sending) is done.
    fn done(&self) {
        if self.outstanding.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.caller.wake();
        }
    }

    fn is_complete(&self) -> bool {
        self.outstanding.load(Ordering::Acquire) == 0
    }
}

/// Where one entry's reply goes. Dropped unanswered (the actor was killed
/// with the message queued), it answers [`AskError::Stopped`], as a single
/// ask's dropped channel does.
struct GatherSlot<R> {
    gather: Option<Arc<Gather<R>>>,
    index: usize,
}

impl<R> GatherSlot<R> {
    fn new(gather: &Arc<Gather<R>>, index: usize) -> Self {
        gather.outstanding.fetch_add(1, Ordering::Relaxed);
        Self {
            gather: Some(Arc::clone(gather)),
            index,
        }
    }

    fn fill(&mut self, result: Result<R, AskError>) {
        if let Some(gather) = self.gather.take() {
            gather.put(self.index, result);
            gather.done();
        }
    }
}

impl<R: Send + 'static> ReplyTo<R> for GatherSlot<R> {
    fn reply(mut self, result: Result<R, AskError>) {
        self.fill(result);
    }
}

impl<R> Drop for GatherSlot<R> {
    fn drop(&mut self) {
        self.fill(Err(AskError::Stopped));
    }
}

/// Aborts a remote ask's waiting task when the batch is done or dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One call of [`ask_all_timeout`] in progress.
struct Batch<R> {
    gather: Arc<Gather<R>>,
    /// The wait-for edges of asks made from inside an actor.
    waits: Vec<deadlock::Waiting>,
    remote: Vec<AbortOnDrop>,
}

impl<R: Send + 'static> Batch<R> {
    fn new(len: usize) -> Self {
        Self {
            gather: Arc::new(Gather {
                replies: (0..len).map(|_| Mutex::new(None)).collect(),
                outstanding: AtomicUsize::new(1),
                caller: AtomicWaker::new(),
            }),
            waits: Vec::new(),
            remote: Vec::new(),
        }
    }

    /// Queues one ask, in order: a full mailbox is waited for (until the
    /// deadline) rather than skipped, so no later ask can overtake it.
    async fn send<A, M>(
        &mut self,
        index: usize,
        target: &ActorRef<A>,
        message: M,
        deadline: Instant,
        timeout: Duration,
    ) where
        A: Handler<M>,
        M: Message<Reply = R>,
    {
        let answer = |error| self.gather.put(index, Err(error));
        match deadlock::begin_wait(target.id()) {
            Ok(waiting) => self.waits.extend(waiting),
            Err(cycle) => return answer(AskError::Deadlock { cycle }),
        }
        match target.destination() {
            Destination::Local(lane) => {
                let room = match lane.try_reserve() {
                    Err(NoRoom::Full) => tokio::time::timeout_at(deadline, lane.reserve()).await,
                    reserved => Ok(reserved),
                };
                match room {
                    Ok(Ok(room)) => {
                        let slot = GatherSlot::new(&self.gather, index);
                        room.send(MessageEnvelope::ask(message, slot));
                    }
                    Ok(Err(_)) => answer(AskError::Stopped),
                    Err(_) => answer(AskError::Timeout(timeout)),
                }
            }
            Destination::Remote(remote) => {
                // Queued now, in order; only the wait for the reply runs apart.
                let reply = remote
                    .transport
                    .ask(remote.id, AnyMessage::new(message), timeout);
                let mut slot = GatherSlot::new(&self.gather, index);
                let waiting = tokio::spawn(async move {
                    slot.fill(reply.await.and_then(downcast_reply));
                });
                self.remote.push(AbortOnDrop(waiting));
            }
        }
    }

    /// Waits until every reply is in or the deadline passes.
    async fn wait(&self, deadline: Instant) {
        // The caller's own count: replies may all be in already.
        self.gather.done();
        let mut timer = pin!(tokio::time::sleep_until(deadline));
        poll_fn(|cx| {
            if self.gather.is_complete() {
                return Poll::Ready(());
            }
            self.gather.caller.register(cx.waker());
            if self.gather.is_complete() {
                return Poll::Ready(());
            }
            timer.as_mut().poll(cx)
        })
        .await;
    }

    /// The replies in order; entries still unanswered timed out.
    fn into_replies(self, timeout: Duration) -> Vec<Result<R, AskError>> {
        (0..self.gather.replies.len())
            .map(|index| {
                self.gather
                    .take(index)
                    .unwrap_or(Err(AskError::Timeout(timeout)))
            })
            .collect()
    }
}
