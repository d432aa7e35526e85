//! [`ActorRef`]: the typed, cloneable address of an actor, local or remote.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_core::Stream;
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::blocking;
use crate::cell::{AnyActor, Cell};
use crate::deadlock;
use crate::deadlock::WaitFor;
use crate::envelope::{MessageEnvelope, Waited};
use crate::mailbox::{MessageLane, NoRoom};
use crate::remote::downcast_reply;
use crate::remote::{AnyMessage, RemoteDelivery, RemoteSendError};
use crate::signal::{Signal, Watcher};
use crate::stream::{self, StreamHandle};
use crate::{
    Actor, ActorId, AskError, Handler, Message, SendError, StartError, StopReason, TrySendError,
};

/// The address of an actor of type `A`: cheap to clone, safe to share.
///
/// The same type addresses actors in this process and, once a network layer
/// is plugged in, actors on other nodes; the calls are the same. Dropping
/// every `ActorRef` does not stop the actor: call [`stop`](Self::stop) or
/// shut the [`System`](crate::System) down.
///
/// Two refs are equal when they address the same actor.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, Context, Handler, Message, System};
///
/// struct Echo;
/// impl Actor for Echo {}
///
/// struct Say(String);
/// impl Message for Say {
///     type Reply = String;
/// }
/// impl Handler<Say> for Echo {
///     async fn handle(&mut self, Say(s): Say, _: &mut Context<Self>) -> String {
///         s
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let system = System::new();
/// let echo = system.spawn(Echo)?;
/// assert_eq!(echo.ask(Say("hi".into())).await?, "hi");
/// echo.stop();
/// echo.wait_stopped().await;
/// assert!(!echo.is_alive());
/// # Ok(())
/// # }
/// ```
pub struct ActorRef<A: Actor> {
    inner: Target<A>,
}

enum Target<A: Actor> {
    Local(Arc<Cell<A>>),
    Remote(Arc<RemoteTarget>),
}

/// Where an [`ActorRef`]'s messages go, for code that queues envelopes
/// itself ([`ask_all`](crate::ask_all)).
pub(crate) enum Destination<'a, A: Actor> {
    Local(&'a MessageLane<A>),
    Remote(&'a RemoteTarget),
}

/// An actor on another node, as refs and recipients reach it: its id and
/// the transport to its node.
#[derive(Debug)]
pub(crate) struct RemoteTarget {
    pub(crate) id: ActorId,
    pub(crate) transport: Arc<dyn RemoteDelivery>,
    pub(crate) ask_timeout: Duration,
}

impl<A: Actor> ActorRef<A> {
    pub(crate) fn local(cell: Arc<Cell<A>>) -> Self {
        Self {
            inner: Target::Local(cell),
        }
    }

    /// A ref to an actor on another node, reached through `transport`; see
    /// [`remote::actor_ref`](crate::remote::actor_ref).
    pub(crate) fn remote(
        id: ActorId,
        transport: Arc<dyn RemoteDelivery>,
        ask_timeout: Duration,
    ) -> Self {
        Self {
            inner: Target::Remote(Arc::new(RemoteTarget {
                id,
                transport,
                ask_timeout,
            })),
        }
    }

    pub(crate) fn cell(&self) -> Option<&Arc<Cell<A>>> {
        match &self.inner {
            Target::Local(cell) => Some(cell),
            Target::Remote(_) => None,
        }
    }

    /// The transport to the actor's node, if it lives on another one.
    pub(crate) fn transport(&self) -> Option<&Arc<dyn RemoteDelivery>> {
        match &self.inner {
            Target::Local(_) => None,
            Target::Remote(remote) => Some(&remote.transport),
        }
    }

    /// The actor's id, unique across the cluster.
    pub fn id(&self) -> ActorId {
        match &self.inner {
            Target::Local(cell) => cell.id(),
            Target::Remote(remote) => remote.id,
        }
    }

    /// Whether the actor lives in this process.
    pub fn is_local(&self) -> bool {
        matches!(self.inner, Target::Local(_))
    }

    /// Whether the actor has not stopped yet.
    ///
    /// A `true` may be stale by the time it is read; use
    /// [`wait_stopped`](Self::wait_stopped) or a watch to act on a stop.
    pub fn is_alive(&self) -> bool {
        match &self.inner {
            Target::Local(cell) => cell.life.is_alive(),
            Target::Remote(remote) => remote.transport.is_alive(remote.id),
        }
    }

    /// How many messages wait in the actor's mailbox now; `0` for a remote
    /// actor, whose mailbox this process cannot see (see
    /// [`reported_mailbox_len`](Self::reported_mailbox_len)). A snapshot,
    /// for monitoring and load balancing.
    pub fn mailbox_len(&self) -> usize {
        match &self.inner {
            Target::Local(cell) => cell.mailbox.len(),
            Target::Remote(_) => 0,
        }
    }

    /// How many messages wait in the actor's mailbox, as far as this
    /// process knows: the length now for a local actor; for an actor on
    /// another node, the length its node last reported, or `None` if it
    /// reported none (a network layer reports only some actors, such as
    /// the members of process groups in a cluster, and only now and then,
    /// so the value may be a moment old).
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, System};
    ///
    /// struct Idle;
    /// impl Actor for Idle {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let idle = system.spawn(Idle)?;
    /// assert_eq!(idle.reported_mailbox_len(), Some(0));
    /// # Ok(())
    /// # }
    /// ```
    pub fn reported_mailbox_len(&self) -> Option<usize> {
        match &self.inner {
            Target::Local(cell) => Some(cell.mailbox.len()),
            Target::Remote(remote) => remote.transport.reported_mailbox_len(remote.id),
        }
    }

    /// Sends `message`, waiting for room if the mailbox is bounded and full
    /// (or, for an actor on another node, while the connection to that node
    /// has more queued than it can send: see the network layer's link
    /// capacity).
    ///
    /// Messages from one sender to one actor are handled in the order they
    /// were sent. The handler's reply goes nowhere; an `Err` reply is
    /// logged as a warning (see [`Message::tell_error`]).
    ///
    /// # Errors
    ///
    /// Hands the message back in a [`SendError`] if the actor has stopped or
    /// is stopping, or (remote actors) if it cannot be reached.
    ///
    /// # Cancel safety
    ///
    /// If the future is dropped while waiting for room, the message is dropped
    /// with it and was never queued.
    ///
    /// # Yielding
    ///
    /// A tell waits only when there is no room. Into an unbounded
    /// mailbox (or one with room) it completes at once, like tokio's
    /// `UnboundedSender::send`, so a task that does nothing but tell in a
    /// loop keeps its worker thread: give such a loop an await point (a
    /// bounded mailbox, or `tokio::task::yield_now` now and then).
    pub async fn tell<M: Message>(&self, message: M) -> Result<(), SendError<M>>
    where
        A: Handler<M>,
    {
        match &self.inner {
            Target::Local(cell) => match cell.mailbox.reserve().await {
                Ok(slot) => {
                    slot.send(MessageEnvelope::tell(message));
                    Ok(())
                }
                Err(_) => Err(SendError::Stopped(message)),
            },
            Target::Remote(remote) => remote.tell(message).await,
        }
    }

    /// Sends `message` if the mailbox has room now; never waits.
    ///
    /// # Errors
    ///
    /// Hands the message back in [`TrySendError::Full`] when the bounded
    /// mailbox is full (or a remote actor's connection is at capacity), or
    /// in [`TrySendError::Send`] when it cannot be delivered at all.
    pub fn try_tell<M: Message>(&self, message: M) -> Result<(), TrySendError<M>>
    where
        A: Handler<M>,
    {
        match &self.inner {
            Target::Local(cell) => match cell.mailbox.try_reserve() {
                Ok(slot) => {
                    slot.send(MessageEnvelope::tell(message));
                    Ok(())
                }
                Err(NoRoom::Full) => Err(TrySendError::Full(message)),
                Err(NoRoom::Closed) => Err(SendError::Stopped(message).into()),
            },
            Target::Remote(remote) => remote.try_tell(message),
        }
    }

    /// Sends `message` and waits for the reply, for at most the system's
    /// default ask timeout (see [`SystemBuilder::ask_timeout`](crate::SystemBuilder::ask_timeout)).
    ///
    /// # Errors
    ///
    /// [`AskError::Stopped`] at once if the actor is not alive or stops
    /// before replying, [`AskError::Failed`] if the handler panics,
    /// [`AskError::Timeout`] when the deadline passes. Asked from inside a
    /// handler, [`AskError::Deadlock`] at once if the callee is (through
    /// other asks) waiting on the asker.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the reply; the message may still be handled.
    pub async fn ask<M: Message>(&self, message: M) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
    {
        self.ask_timeout(message, self.default_ask_timeout()).await
    }

    /// Like [`ask`](Self::ask), with a deadline for this call only.
    ///
    /// # Errors
    ///
    /// As for [`ask`](Self::ask); [`AskError::Timeout`] carries `timeout`.
    pub async fn ask_timeout<M: Message>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
    {
        self.ask_returning(message, timeout)
            .await
            .map_err(|(error, _)| error)
    }

    /// An ask that hands the message back when it was never queued (the
    /// actor had stopped, or no room came before the deadline), so a pool
    /// can try another worker.
    pub(crate) async fn ask_returning<M: Message>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<M::Reply, (AskError, Option<M>)>
    where
        A: Handler<M>,
    {
        let _waiting = match deadlock::begin_wait(self.id()) {
            Ok(waiting) => waiting,
            // A cycle through an actor whose node is gone is no deadlock:
            // the ask fails as it would have without detection.
            Err(_) if self.is_known_gone() => None,
            Err(cycle) => return Err((AskError::Deadlock { cycle }, None)),
        };
        let cell = match &self.inner {
            Target::Local(cell) => cell,
            Target::Remote(remote) => {
                return remote
                    .ask::<M>(message, timeout)
                    .await
                    .map_err(|e| (e, None));
            }
        };
        // The clock is read only when the ask has to wait (for room here,
        // or for a reply that did not come within one yield).
        let mut deadline = None;
        let slot = match cell.mailbox.try_reserve() {
            Ok(slot) => slot,
            Err(NoRoom::Closed) => return Err((AskError::Stopped, Some(message))),
            Err(NoRoom::Full) => {
                let waited_until = *deadline.insert(deadline_after(timeout));
                match tokio::time::timeout_at(waited_until, cell.mailbox.reserve()).await {
                    Ok(Ok(slot)) => slot,
                    Ok(Err(_)) => return Err((AskError::Stopped, Some(message))),
                    Err(_) => return Err((AskError::Timeout(timeout), Some(message))),
                }
            }
        };
        let (tx, rx) = oneshot::channel();
        slot.send(MessageEnvelope::ask(message, tx));
        let yield_first = cell.home.may_run_here();
        match reply_before(rx, deadline, timeout, yield_first).await {
            Ok(Ok(reply)) => reply.map_err(|e| (e, None)),
            // The envelope was dropped unanswered: the actor was killed.
            Ok(Err(_)) => Err((AskError::Stopped, None)),
            Err(_) => Err((AskError::Timeout(timeout), None)),
        }
    }

    /// Like [`tell`](Self::tell), for code that is not async: blocks the
    /// calling thread until the message is queued, like tokio's
    /// `Sender::blocking_send`.
    ///
    /// The first blocking call on a thread builds a small single-threaded
    /// tokio runtime (timers only) for that thread's waits; later calls
    /// reuse it. The actor keeps running on its own system's runtime.
    ///
    /// # Errors
    ///
    /// As for [`tell`](Self::tell).
    ///
    /// # Panics
    ///
    /// If called where a tokio runtime is current (async code, an actor's
    /// handler, a `spawn_blocking` closure): blocking a thread that drives
    /// tasks can stall the actor it waits for. Await [`tell`](Self::tell)
    /// there, or in `spawn_blocking` use
    /// `Handle::current().block_on(actor.tell(message))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, Context, Handler, Message, System};
    ///
    /// #[derive(Default)]
    /// struct Total(u64);
    /// impl Actor for Total {}
    ///
    /// struct Add(u64);
    /// impl Message for Add {
    ///     type Reply = u64;
    /// }
    /// impl Handler<Add> for Total {
    ///     async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
    ///         self.0 += n;
    ///         self.0
    ///     }
    /// }
    ///
    /// # type Error = Box<dyn std::error::Error + Send + Sync>;
    /// # fn main() -> Result<(), Error> {
    /// let runtime = tokio::runtime::Runtime::new()?;
    /// let system = System::builder().runtime(runtime.handle().clone()).build();
    /// let total = system.spawn(Total::default())?;
    /// // Plain synchronous code, e.g. a thread of a C library's callbacks.
    /// let sum = std::thread::spawn(move || -> Result<u64, Error> {
    ///     total.blocking_tell(Add(2))?;
    ///     Ok(total.blocking_ask(Add(3))?)
    /// })
    /// .join()
    /// .expect("the thread finished")?;
    /// assert_eq!(sum, 5);
    /// # Ok(())
    /// # }
    /// ```
    pub fn blocking_tell<M: Message>(&self, message: M) -> Result<(), SendError<M>>
    where
        A: Handler<M>,
    {
        blocking::block_on("ActorRef::blocking_tell", self.tell(message))
    }

    /// Like [`ask`](Self::ask), for code that is not async: blocks the
    /// calling thread until the reply comes, for at most the default ask
    /// timeout. See [`blocking_tell`](Self::blocking_tell) for how it waits
    /// and an example.
    ///
    /// # Errors
    ///
    /// As for [`ask`](Self::ask).
    ///
    /// # Panics
    ///
    /// As for [`blocking_tell`](Self::blocking_tell): where a tokio
    /// runtime is current.
    pub fn blocking_ask<M: Message>(&self, message: M) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
    {
        blocking::block_on("ActorRef::blocking_ask", self.ask(message))
    }

    /// Like [`ask_timeout`](Self::ask_timeout), for code that is not
    /// async: blocks the calling thread until the reply comes, for at
    /// most `timeout`.
    ///
    /// # Errors
    ///
    /// As for [`ask_timeout`](Self::ask_timeout).
    ///
    /// # Panics
    ///
    /// As for [`blocking_tell`](Self::blocking_tell): where a tokio
    /// runtime is current.
    pub fn blocking_ask_timeout<M: Message>(
        &self,
        message: M,
        timeout: Duration,
    ) -> Result<M::Reply, AskError>
    where
        A: Handler<M>,
    {
        blocking::block_on(
            "ActorRef::blocking_ask_timeout",
            self.ask_timeout(message, timeout),
        )
    }

    /// Attaches `stream` to this actor from outside it: as
    /// [`Context::attach_stream`](crate::Context::attach_stream), with the
    /// forwarding task spawned on the current tokio runtime.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub fn attach_stream<S, E>(&self, stream: S, finished: E) -> StreamHandle
    where
        S: Stream + Send + 'static,
        S::Item: Message,
        E: Message,
        A: Handler<S::Item> + Handler<E>,
    {
        stream::attach(
            &tokio::runtime::Handle::current(),
            self.clone(),
            stream,
            finished,
        )
    }

    /// Queues `message` as an ask and returns its pending reply without
    /// waiting for it, so the caller can queue more messages in order
    /// meanwhile.
    ///
    /// To a local actor it waits for room if the mailbox is full; the reply
    /// then has no deadline. To an actor on another node the ask is queued
    /// on the connection before this returns (it does not wait for room),
    /// and the reply is awaited for at most the ref's default ask timeout,
    /// because the node cannot keep an unanswered ask for ever.
    ///
    /// # Errors
    ///
    /// [`AskError::Stopped`] if a local actor has stopped. Errors of a
    /// remote ask ([`AskError::NodeDown`], [`AskError::NotRemote`], ...)
    /// come from [`PendingReply::recv`].
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, Context, Handler, Message, System};
    ///
    /// struct Add(u64);
    /// impl Message for Add {
    ///     type Reply = u64;
    /// }
    ///
    /// #[derive(Default)]
    /// struct Sum(u64);
    /// impl Actor for Sum {}
    /// impl Handler<Add> for Sum {
    ///     async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) -> u64 {
    ///         self.0 += n;
    ///         self.0
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let sum = system.spawn(Sum::default())?;
    /// // Both asks are queued, in order, before either reply is awaited.
    /// let first = sum.send_ask(Add(1)).await?;
    /// let second = sum.send_ask(Add(2)).await?;
    /// assert_eq!(second.recv().await?, 3);
    /// assert_eq!(first.recv().await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_ask<M: Message>(&self, message: M) -> Result<PendingReply<M::Reply>, AskError>
    where
        A: Handler<M>,
    {
        let cell = match &self.inner {
            Target::Local(cell) => cell,
            Target::Remote(remote) => {
                let reply = remote.ask(message, remote.ask_timeout);
                return Ok(PendingReply {
                    inner: Pending::Remote(Box::pin(reply)),
                });
            }
        };
        let slot = cell
            .mailbox
            .reserve()
            .await
            .map_err(|_| AskError::Stopped)?;
        let (tx, rx) = oneshot::channel();
        slot.send(MessageEnvelope::ask(message, tx));
        Ok(PendingReply {
            inner: Pending::Local(rx),
        })
    }

    /// Like [`send_ask`](Self::send_ask), for an ask that arrived from
    /// another node with `waits`; see
    /// [`remote::send_ask_waited`](crate::remote::send_ask_waited).
    pub(crate) async fn send_ask_waited<M: Message>(
        &self,
        message: M,
        waits: Vec<WaitFor>,
    ) -> Result<PendingReply<M::Reply>, AskError>
    where
        A: Handler<M>,
    {
        let Target::Local(cell) = &self.inner else {
            return self.send_ask(message).await;
        };
        let slot = cell
            .mailbox
            .reserve()
            .await
            .map_err(|_| AskError::Stopped)?;
        let (tx, rx) = oneshot::channel();
        slot.send(MessageEnvelope::ask(message, Waited::new(tx, waits)));
        Ok(PendingReply {
            inner: Pending::Local(rx),
        })
    }

    /// Whether this ref is to an actor on another node that its transport
    /// knows to be gone (stopped, or its node lost).
    pub(crate) fn is_known_gone(&self) -> bool {
        match &self.inner {
            Target::Local(_) => false,
            Target::Remote(remote) => !remote.transport.is_alive(remote.id),
        }
    }

    /// Where this ref's messages go: the local actor's message lane, or the
    /// remote node's transport.
    pub(crate) fn destination(&self) -> Destination<'_, A> {
        match &self.inner {
            Target::Local(cell) => Destination::Local(&cell.mailbox),
            Target::Remote(remote) => Destination::Remote(remote),
        }
    }

    pub(crate) fn default_ask_timeout(&self) -> Duration {
        match &self.inner {
            Target::Local(cell) => cell.ask_timeout(),
            Target::Remote(remote) => remote.ask_timeout,
        }
    }

    /// Asks the actor to stop gracefully: it accepts no new messages from now
    /// on, handles those already queued, stops its children, runs
    /// [`on_stop`](crate::Actor::on_stop), and stops. Does nothing if it has
    /// already stopped. Use [`wait_stopped`](Self::wait_stopped) to wait for it.
    pub fn stop(&self) {
        match &self.inner {
            Target::Local(cell) => cell.stop(),
            Target::Remote(remote) => remote.transport.stop(remote.id),
        }
    }

    /// Stops the actor after the message it is handling now. Queued asks fail
    /// with [`AskError::Stopped`]; queued tells go to the
    /// [dead letters](crate::System::dead_letters). Its children are killed
    /// too, then [`on_stop`](crate::Actor::on_stop) runs.
    pub fn kill(&self) {
        match &self.inner {
            Target::Local(cell) => cell.kill(),
            Target::Remote(remote) => remote.transport.kill(remote.id),
        }
    }

    /// Waits until the actor has stopped and is cleaned up (its names are
    /// free, its watchers notified), and returns why it stopped. Resolves at
    /// once for an actor that already has.
    pub async fn wait_stopped(&self) -> StopReason {
        match &self.inner {
            Target::Local(cell) => cell.life.wait().await,
            Target::Remote(remote) => remote.transport.wait_stopped(remote.id).await,
        }
    }

    /// Waits until the actor is up: its first [`on_start`](crate::Actor::on_start)
    /// has completed and, for a [`Supervisor`](crate::Supervisor), every one
    /// of its children has started too. Resolves at once if that has
    /// happened already, also for an actor that has stopped since.
    ///
    /// `spawn` returns before `on_start` runs; this is the one call that
    /// waits for it, from outside any actor or from the parent that spawned
    /// it (the outcome is published before the actor reports a failure to
    /// its parent, so such a parent is answered rather than left waiting).
    ///
    /// # Errors
    ///
    /// [`StartError::Failed`] if that first start failed (even if a
    /// supervisor restarts the actor afterwards), [`StartError::Stopped`]
    /// if the actor stopped (was killed) before it started. For an actor on
    /// another node the network layer does not report starts: the answer
    /// is `Ok` at once while it is alive, else the error its stop reason
    /// maps to.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_runtime::{Actor, ChildSpec, Supervisor, SupervisorStrategy, System};
    ///
    /// #[derive(Default)]
    /// struct Cache;
    /// impl Actor for Cache {}
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let system = System::new();
    /// let tree = Supervisor::new(SupervisorStrategy::one_for_one())
    ///     .child(ChildSpec::new(Cache::default).name("cache"));
    /// let tree = system.spawn(tree)?;
    /// tree.wait_started().await?; // the cache's `on_start` has completed
    /// assert!(system.lookup::<Cache>("cache").is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn wait_started(&self) -> Result<(), StartError> {
        match &self.inner {
            Target::Local(cell) => Ok(cell.life.wait_started().await?),
            Target::Remote(remote) if remote.transport.is_alive(remote.id) => Ok(()),
            Target::Remote(remote) => Err(remote.transport.wait_stopped(remote.id).await.into()),
        }
    }

    /// Hands `watcher` to this actor: it is notified exactly once, when the
    /// actor stops (at once if it already has).
    pub(crate) fn add_watcher(&self, watcher: Watcher) {
        match &self.inner {
            Target::Local(cell) => cell.add_watcher(watcher),
            Target::Remote(remote) => remote.transport.watch(remote.id, watcher),
        }
    }

    pub(crate) fn remove_watcher(&self, watcher: ActorId) {
        match &self.inner {
            Target::Local(cell) => {
                let _ = cell.signal(Signal::Unwatch(watcher));
            }
            Target::Remote(remote) => remote.transport.unwatch(remote.id, watcher),
        }
    }
}

/// The reply to an ask queued with [`ActorRef::send_ask`].
pub struct PendingReply<R> {
    inner: Pending<R>,
}

enum Pending<R> {
    Local(oneshot::Receiver<Result<R, AskError>>),
    /// The transport's wait, which has the ref's default deadline.
    Remote(Pin<Box<dyn Future<Output = Result<R, AskError>> + Send>>),
}

impl<R> PendingReply<R> {
    /// Waits for the reply.
    ///
    /// # Errors
    ///
    /// As for [`ActorRef::ask`]. From a local actor there is no deadline:
    /// wrap it in `tokio::time::timeout` for one. From a remote actor,
    /// [`AskError::Timeout`] once the ref's default ask timeout has passed
    /// since [`send_ask`](ActorRef::send_ask).
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the reply; the message may still be handled.
    pub async fn recv(self) -> Result<R, AskError> {
        match self.inner {
            Pending::Local(rx) => rx.await.unwrap_or(Err(AskError::Stopped)),
            Pending::Remote(reply) => reply.await,
        }
    }
}

impl<R> fmt::Debug for PendingReply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let remote = matches!(self.inner, Pending::Remote(_));
        f.debug_struct("PendingReply")
            .field("remote", &remote)
            .finish_non_exhaustive()
    }
}

/// The instant `timeout` from now. A timeout too long to be represented
/// (`Duration::MAX`, say) means no practical deadline: thirty years.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 60 * 60);
    let now = Instant::now();
    now.checked_add(timeout).unwrap_or_else(|| now + FAR)
}

/// Waits for `reply` until `deadline` (or, without one, until `timeout`
/// after the first time the reply was not there); `Err(())` when the
/// deadline passes.
///
/// With `yield_first`, the deadline's timer is armed only if the reply has
/// not come after one yield. A timer costs an insertion into tokio's timer
/// wheel and a removal, under its lock, about a third of a local ask round
/// trip; most replies from an actor on the asker's runtime arrive within
/// that one yield, and never need it (nor a read of the clock).
///
/// Without it the timer is armed at once: the actor runs on another thread
/// (a per-core one), so the reply cannot come within a yield, and the
/// yield only made the asker's worker run again, and on two cores take a
/// core from the actor's thread. Asks from outside to a per-core actor, the
/// `ask` workload on two cores, four invocations each: p50 2.5–37 µs and
/// mean 13–43 µs with the yield, p50 2.3–2.4 µs and mean 6.2–6.3 µs
/// without it.
async fn reply_before<T>(
    mut reply: oneshot::Receiver<T>,
    deadline: Option<Instant>,
    timeout: Duration,
    yield_first: bool,
) -> Result<Result<T, oneshot::error::RecvError>, ()> {
    let mut yielded = !yield_first;
    let mut timer = std::pin::pin!(None::<tokio::time::Sleep>);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = Pin::new(&mut reply).poll(cx) {
            return Poll::Ready(Ok(result));
        }
        if !yielded {
            yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if timer.is_none() {
            let deadline = deadline.unwrap_or_else(|| deadline_after(timeout));
            timer.set(Some(tokio::time::sleep_until(deadline)));
        }
        match timer.as_mut().as_pin_mut().map(|sleep| sleep.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(Err(())),
            _ => Poll::Pending,
        }
    })
    .await
}

// ===== impl RemoteTarget =====

impl RemoteTarget {
    /// Tells, first waiting while the connection to the node has no room.
    pub(crate) async fn tell<M: Message>(&self, message: M) -> Result<(), SendError<M>> {
        if let Some(room) = self.transport.tell_ready(self.id) {
            room.await;
        }
        self.send(message)
    }

    /// Tells if the connection to the node has room now.
    pub(crate) fn try_tell<M: Message>(&self, message: M) -> Result<(), TrySendError<M>> {
        if self.transport.tell_ready(self.id).is_some() {
            return Err(TrySendError::Full(message));
        }
        self.send(message).map_err(Into::into)
    }

    fn send<M: Message>(&self, message: M) -> Result<(), SendError<M>> {
        self.transport
            .tell(self.id, AnyMessage::new(message))
            .map_err(RemoteSendError::into_send_error)
    }

    /// Asks; the message is queued by the transport before this returns,
    /// so asks made in turn keep their order even when their replies are
    /// awaited apart ([`ask_all`](crate::ask_all) relies on it).
    pub(crate) fn ask<M: Message>(
        &self,
        message: M,
        timeout: Duration,
    ) -> impl Future<Output = Result<M::Reply, AskError>> + Send + 'static {
        let reply = self
            .transport
            .ask(self.id, AnyMessage::new(message), timeout);
        async move { downcast_reply(reply.await?) }
    }
}

// ===== std trait impls =====

impl<A: Actor> Clone for ActorRef<A> {
    fn clone(&self) -> Self {
        let inner = match &self.inner {
            Target::Local(cell) => Target::Local(Arc::clone(cell)),
            Target::Remote(remote) => Target::Remote(Arc::clone(remote)),
        };
        Self { inner }
    }
}

impl<A: Actor> fmt::Debug for ActorRef<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorRef")
            .field("id", &self.id())
            .field("actor", &std::any::type_name::<A>())
            .field("local", &self.is_local())
            .finish()
    }
}

impl<A: Actor> PartialEq for ActorRef<A> {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl<A: Actor> Eq for ActorRef<A> {}

impl<A: Actor> Hash for ActorRef<A> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}
