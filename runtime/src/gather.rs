//! Scatter-gather: one call asks many actors at once and is woken once,
//! when the last reply is in.
//!
//! Joining many single asks (`join_all` over [`ActorRef::ask`]) wakes the
//! joining task once per reply, from whichever thread the replying actor
//! runs on; with thousands of asks those wake-ups cost more than the asks.
//! Here every reply goes into a slot of one shared [`Gather`] and only the
//! last one wakes the caller. One deadline covers the whole batch.

use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use atomic_waker::AtomicWaker;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::actor_ref::{deadline_after, Destination, RemoteTarget};
use crate::envelope::{MessageEnvelope, ReplyTo};
use crate::mailbox::{MessageLane, NoRoom};
use crate::{deadlock, ActorId, ActorRef, AskError, Handler, Message, Recipient};

/// Asks every actor in `asks` at once, each with its own message, and
/// returns their replies in the same order.
///
/// The targets are [`ActorRef`]s of one actor type, or [`Recipient<M>`]s,
/// which may address actors of different types (see [`AskTarget`]).
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
pub fn ask_all<'a, T, M, I>(
    asks: I,
) -> impl Future<Output = Vec<Result<M::Reply, AskError>>> + Send + 'a
where
    T: AskTarget<M> + 'a,
    M: Message,
    I: IntoIterator<Item = (&'a T, M)>,
{
    let asks: Vec<_> = asks.into_iter().collect();
    let timeout = asks
        .first()
        .map_or(Duration::ZERO, |(target, _)| target.default_ask_timeout());
    gather(asks, deadline_after(timeout), timeout)
}

/// Like [`ask_all`], with `timeout` for the whole batch.
pub fn ask_all_timeout<'a, T, M, I>(
    asks: I,
    timeout: Duration,
) -> impl Future<Output = Vec<Result<M::Reply, AskError>>> + Send + 'a
where
    T: AskTarget<M> + 'a,
    M: Message,
    I: IntoIterator<Item = (&'a T, M)>,
{
    gather(asks.into_iter().collect(), deadline_after(timeout), timeout)
}

/// What [`ask_all`] can ask: an [`ActorRef`] whose actor handles `M`, or a
/// [`Recipient<M>`], so one batch can span actor types. Implemented by
/// those two only.
pub trait AskTarget<M: Message>: Gatherable<M> {}

impl<A: Handler<M>, M: Message> AskTarget<M> for ActorRef<A> {}

impl<M: Message> AskTarget<M> for Recipient<M> {}

/// How a target queues its entry of a batch. Public only in name: this
/// module is private, so no other crate can implement it.
pub trait Gatherable<M: Message>: Send + Sync {
    /// The deadline of [`ask_all`] when this target comes first.
    fn default_ask_timeout(&self) -> Duration;

    /// Queues `message` as entry `index` of `batch`.
    fn gather_into<'a>(
        &'a self,
        batch: &'a mut Batch<M::Reply>,
        index: usize,
        message: M,
    ) -> impl Future<Output = ()> + Send + 'a;
}

impl<A: Handler<M>, M: Message> Gatherable<M> for ActorRef<A> {
    fn default_ask_timeout(&self) -> Duration {
        ActorRef::default_ask_timeout(self)
    }

    async fn gather_into(&self, batch: &mut Batch<M::Reply>, index: usize, message: M) {
        if !batch.begin_wait(index, self.id(), || self.is_known_gone()) {
            return;
        }
        match self.destination() {
            Destination::Local(lane) => batch.send_local(index, lane, message).await,
            Destination::Remote(remote) => batch.send_remote(index, remote, message),
        }
    }
}

impl<M: Message> Gatherable<M> for Recipient<M> {
    fn default_ask_timeout(&self) -> Duration {
        self.target().default_ask_timeout()
    }

    fn gather_into<'a>(
        &'a self,
        batch: &'a mut Batch<M::Reply>,
        index: usize,
        message: M,
    ) -> impl Future<Output = ()> + Send + 'a {
        self.target().gather_into(batch, index, message)
    }
}

/// The iterator is collected before the returned future exists: a future
/// holding a caller's closure across an await is often not `Send`.
async fn gather<T, M>(
    asks: Vec<(&T, M)>,
    deadline: Instant,
    timeout: Duration,
) -> Vec<Result<M::Reply, AskError>>
where
    T: AskTarget<M>,
    M: Message,
{
    let mut batch = Batch::new(asks.len(), deadline, timeout);
    for (index, (target, message)) in asks.into_iter().enumerate() {
        target.gather_into(&mut batch, index, message).await;
    }
    batch.wait().await;
    batch.into_replies()
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
    fn put(&self, index: usize, result: Reply<R>) {
        if let Some(entry) = self.replies.get(index) {
            *entry.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        }
    }

    fn take(&self, index: usize) -> Option<Reply<R>> {
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

    fn fill(&mut self, result: Reply<R>) {
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

/// One call of [`ask_all`] in progress. Public only in name, like
/// [`Gatherable`].
pub struct Batch<R> {
    gather: Arc<Gather<R>>,
    deadline: Instant,
    timeout: Duration,
    /// The wait-for edges of asks made from inside an actor.
    waits: Vec<deadlock::Waiting>,
    remote: Vec<AbortOnDrop>,
}

impl<R> Drop for Batch<R> {
    fn drop(&mut self) {
        // Newest first, so each wait finds its edge at the end of the
        // asker's list instead of searching all of them.
        while self.waits.pop().is_some() {}
    }
}

impl<R> fmt::Debug for Batch<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batch")
            .field("entries", &self.gather.replies.len())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl<R: Send + 'static> Batch<R> {
    fn new(len: usize, deadline: Instant, timeout: Duration) -> Self {
        Self {
            gather: Arc::new(Gather {
                replies: (0..len).map(|_| Mutex::new(None)).collect(),
                outstanding: AtomicUsize::new(1),
                caller: AtomicWaker::new(),
            }),
            deadline,
            timeout,
            waits: Vec::new(),
            remote: Vec::new(),
        }
    }

    /// Records that the asking actor, if any, waits on `callee`; `false`
    /// (and entry `index` answered) if that wait would deadlock. A cycle
    /// through a callee that `is_gone` is no deadlock: its ask fails as
    /// it would without detection.
    pub(crate) fn begin_wait(
        &mut self,
        index: usize,
        callee: ActorId,
        is_gone: impl FnOnce() -> bool,
    ) -> bool {
        match deadlock::begin_wait(callee) {
            Ok(waiting) => {
                self.waits.extend(waiting);
                true
            }
            Err(_) if is_gone() => true,
            Err(cycle) => {
                self.gather.put(index, Err(AskError::Deadlock { cycle }));
                false
            }
        }
    }

    /// Queues entry `index` in a local actor's lane, in order: a full
    /// mailbox is waited for (until the deadline) rather than skipped, so
    /// no later ask can overtake it.
    pub(crate) async fn send_local<A, M>(&mut self, index: usize, lane: &MessageLane<A>, message: M)
    where
        A: Handler<M>,
        M: Message<Reply = R>,
    {
        let room = match lane.try_reserve() {
            Err(NoRoom::Full) => tokio::time::timeout_at(self.deadline, lane.reserve()).await,
            reserved => Ok(reserved),
        };
        match room {
            Ok(Ok(room)) => {
                let slot = GatherSlot::new(&self.gather, index);
                room.send(MessageEnvelope::ask(message, slot));
            }
            Ok(Err(_)) => self.gather.put(index, Err(AskError::Stopped)),
            Err(_) => self.gather.put(index, Err(AskError::Timeout(self.timeout))),
        }
    }

    /// Queues entry `index` to an actor on another node. The transport
    /// queues it now, in order; only the wait for the reply runs apart.
    pub(crate) fn send_remote<M>(&mut self, index: usize, remote: &RemoteTarget, message: M)
    where
        M: Message<Reply = R>,
    {
        let reply = remote.ask(message, self.timeout);
        let mut slot = GatherSlot::new(&self.gather, index);
        let waiting = tokio::spawn(async move { slot.fill(reply.await) });
        self.remote.push(AbortOnDrop(waiting));
    }

    /// Waits until every reply is in or the deadline passes.
    async fn wait(&self) {
        // The caller's own count: replies may all be in already.
        self.gather.done();
        let mut timer = pin!(tokio::time::sleep_until(self.deadline));
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
    fn into_replies(self) -> Vec<Reply<R>> {
        (0..self.gather.replies.len())
            .map(|index| {
                self.gather
                    .take(index)
                    .unwrap_or(Err(AskError::Timeout(self.timeout)))
            })
            .collect()
    }
}
