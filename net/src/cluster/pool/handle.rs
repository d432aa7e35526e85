//! [`ClusterPool`]: routes messages over a process group's members on
//! every node, and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proscenium_runtime::{ActorId, AskError, Recipient, RoundRobin, Route, Router, SendError};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::error::{PoolAskError, PoolTellError};
use super::member::{follow, MemberSet, PoolMember};
use crate::cluster::GroupError;
use crate::{Node, RemoteMessage};

/// A pool whose workers are the members of a process group, on this node
/// and on every other member of the cluster, with router `R` choosing a
/// worker per message: the cluster-wide counterpart of
/// [`Pool`](proscenium_runtime::Pool), with the same routers.
///
/// Each node starts its own workers and joins them to the group with
/// [`Node::join_group`]; a pool over that group on any node routes to all
/// of them. It follows the group: a node that joins the cluster adds its
/// workers as soon as its group table arrives, and a node that goes down
/// or leaves takes its workers out at once (on `MemberDown`/`MemberLeft`);
/// a worker whose node is unreachable right now is skipped.
///
/// # What happens when a worker's node dies
///
/// * A tell that could not be sent (no link to that node, the worker
///   stopped) goes to another member; it was never sent, so it is sent
///   once. One that was sent and is lost with its node is not seen here:
///   tells are at most once.
/// * An ask whose worker's node dies before the reply fails with
///   [`AskError::NodeDown`] at once, never a hang. The work may or may not
///   have been done, so by default the pool does not ask again; for
///   idempotent messages, [`ClusterPoolBuilder::retry_asks`] makes it ask
///   another member instead (at least once).
///
/// # Examples
///
/// ```
/// use proscenium_net::{ClusterPool, Node, RemoteMessage};
/// use proscenium_runtime::{Actor, Context, Handler, LeastLoaded, Message};
/// use serde::{Deserialize, Serialize};
///
/// struct Squarer;
/// impl Actor for Squarer {}
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct Square(u64);
/// impl Message for Square {
///     type Reply = u64;
/// }
/// impl RemoteMessage for Square {
///     const TAG: &'static str = "doc::Square";
/// }
/// impl Handler<Square> for Squarer {
///     async fn handle(&mut self, Square(n): Square, _: &mut Context<Self>) -> u64 {
///         n * n
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let node = Node::builder("a")
///     .secret(*b"an example secret, 32 bytes long")
///     .listen("127.0.0.1:0".parse()?)
///     .cluster()
///     .start()
///     .await?;
/// // On every node: start workers and put them in the group.
/// for _ in 0..2 {
///     let worker = node.system().spawn(Squarer)?;
///     node.join_group::<Square, _>("squarers", &worker)?;
/// }
/// // On any node: one pool over all of them.
/// let pool = ClusterPool::<Square>::builder("squarers")
///     .router(LeastLoaded::default())
///     .retry_asks(2)
///     .start(&node)?;
/// assert_eq!(pool.ask(Square(7)).await?, 49);
/// assert_eq!(pool.size(), 2);
/// # node.shutdown().await;
/// # Ok(())
/// # }
/// ```
pub struct ClusterPool<M: RemoteMessage, R = RoundRobin> {
    members: Arc<MemberSet<M>>,
    router: Arc<R>,
    retry: Option<Retry<M>>,
    ask_timeout: Duration,
}

/// Asking again on another member after a worker's node died.
struct Retry<M> {
    attempts: usize,
    copy: fn(&M) -> M,
}

impl<M> Clone for Retry<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M> Copy for Retry<M> {}

/// Configures a [`ClusterPool`]; made by [`ClusterPool::builder`].
pub struct ClusterPoolBuilder<M: RemoteMessage, R = RoundRobin> {
    group: String,
    router: R,
    retry: Option<Retry<M>>,
    ask_timeout: Option<Duration>,
}

impl<M: RemoteMessage> ClusterPool<M> {
    /// A builder for a pool over the members of `group` that receive `M`,
    /// routing round-robin unless [`router`](ClusterPoolBuilder::router)
    /// says otherwise.
    pub fn builder(group: impl Into<String>) -> ClusterPoolBuilder<M> {
        ClusterPoolBuilder {
            group: group.into(),
            router: RoundRobin::default(),
            retry: None,
            ask_timeout: None,
        }
    }
}

impl<M: RemoteMessage, R> ClusterPoolBuilder<M, R> {
    /// Routes with `router` ([`RoundRobin`], [`LeastLoaded`](proscenium_runtime::LeastLoaded),
    /// [`ConsistentHash`](proscenium_runtime::ConsistentHash) or
    /// [`Broadcast`](proscenium_runtime::Broadcast)). Least-loaded routing
    /// reads remote workers' mailbox depths from the load reports their
    /// nodes send, plus what this pool sent them since.
    pub fn router<R2>(self, router: R2) -> ClusterPoolBuilder<M, R2> {
        ClusterPoolBuilder {
            group: self.group,
            router,
            retry: self.retry,
            ask_timeout: self.ask_timeout,
        }
    }

    /// The deadline of a plain [`ask`](ClusterPool::ask), for all its
    /// attempts together; the node's system default unless set.
    pub fn ask_timeout(mut self, timeout: Duration) -> Self {
        self.ask_timeout = Some(timeout);
        self
    }

    /// Starts following the group on `node`. The pool holds the members
    /// `node` knows now and keeps up with the group from then on.
    ///
    /// # Errors
    ///
    /// [`GroupError::NotClustered`] if `node` is not a cluster member.
    pub fn start(self, node: &Node) -> Result<ClusterPool<M, R>, GroupError> {
        if node.membership().is_none() {
            return Err(GroupError::NotClustered);
        }
        Ok(ClusterPool {
            members: follow::<M>(node, &self.group),
            router: Arc::new(self.router),
            retry: self.retry,
            ask_timeout: self.ask_timeout.unwrap_or(node.system().ask_timeout()),
        })
    }
}

impl<M: RemoteMessage + Clone, R> ClusterPoolBuilder<M, R> {
    /// When an ask's worker is lost before it replies (its node went down,
    /// or it stopped), asks another member, up to `attempts` more times,
    /// within the same deadline. The message may then be handled twice, by
    /// the lost worker and by the next, so use it for idempotent work.
    /// Timeouts and handler failures are never retried.
    pub fn retry_asks(mut self, attempts: usize) -> Self {
        self.retry = Some(Retry {
            attempts,
            copy: M::clone,
        });
        self
    }
}

impl<M: RemoteMessage, R> ClusterPool<M, R> {
    /// The group this pool routes over.
    pub fn group(&self) -> &str {
        &self.members.group
    }

    /// How many members the pool knows now, reachable or not.
    pub fn size(&self) -> usize {
        self.members.snapshot().len()
    }

    /// The members now, ordered by actor id.
    pub fn members(&self) -> Vec<Recipient<M>> {
        self.members
            .snapshot()
            .iter()
            .map(|member| member.recipient.clone())
            .collect()
    }

    /// Each member with the load least-loaded routing sees for it now: its
    /// mailbox length here, its reported depth plus what this pool sent
    /// since for a remote one. For monitoring.
    pub fn loads(&self) -> Vec<(ActorId, usize)> {
        use proscenium_runtime::Routee;
        self.members
            .snapshot()
            .iter()
            .map(|member| (member.id(), member.load()))
            .collect()
    }

    /// Waits until `ready(self)` holds, checking it now and after every
    /// change of the members, of a reported depth, or of a link to a node
    /// (which makes its members reachable or not). Wrap it in a timeout if
    /// the change may never come.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future changes nothing.
    pub async fn wait_until(&self, mut ready: impl FnMut(&Self) -> bool) {
        let mut changes = self.members.subscribe();
        while !ready(self) {
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// The members a message may go to now: reachable and not in `avoid`.
    fn reachable(&self, avoid: &[ActorId]) -> Vec<Arc<PoolMember<M>>> {
        self.members
            .snapshot()
            .iter()
            .filter(|member| member.is_reachable() && !avoid.contains(&member.id()))
            .cloned()
            .collect()
    }
}

impl<M: RemoteMessage, R: Router<M>> ClusterPool<M, R> {
    /// Sends `message` to the member the router picks (to every reachable
    /// member, for [`Broadcast`](proscenium_runtime::Broadcast)), waiting
    /// for room on the way.
    ///
    /// # Errors
    ///
    /// [`PoolTellError::NoMembers`] if no member is reachable;
    /// [`PoolTellError::Send`] if every member tried refused it. Either
    /// way the message comes back.
    pub async fn tell(&self, mut message: M) -> Result<(), PoolTellError<M>> {
        let mut avoid = Vec::new();
        // How the last refusal was made, to hand the message back in it.
        let mut refused: Option<fn(M) -> SendError<M>> = None;
        loop {
            let members = self.reachable(&avoid);
            if members.is_empty() {
                return Err(match refused {
                    Some(refusal) => PoolTellError::Send(refusal(message)),
                    None => PoolTellError::NoMembers {
                        group: self.members.group.clone(),
                        message,
                    },
                });
            }
            let member = match self.router.route(&message, &members) {
                Route::One(i) => &members[i % members.len()],
                Route::All(copy) => return broadcast_tell(&members, message, copy).await,
            };
            member.count_sent();
            message = match member.recipient.tell(message).await {
                Ok(()) => return Ok(()),
                // Never sent: another member gets it.
                Err(SendError::NodeDown(back)) => {
                    refused = Some(SendError::NodeDown);
                    back
                }
                Err(SendError::Stopped(back)) => {
                    refused = Some(SendError::Stopped);
                    back
                }
                Err(other) => return Err(PoolTellError::Send(other)),
            };
            tracing::debug!(group = %self.members.group, worker = %member.id(), "pool worker unreachable; the tell goes to another");
            avoid.push(member.id());
        }
    }

    /// Asks the member the router picks, within the pool's ask deadline.
    /// With [`Broadcast`](proscenium_runtime::Broadcast) every reachable
    /// member is asked and the first reply wins.
    ///
    /// # Errors
    ///
    /// [`PoolAskError::NoMembers`] if no member is reachable (nothing was
    /// sent); [`PoolAskError::Ask`] with the worker's error otherwise:
    /// [`AskError::NodeDown`] at once if its node dies before it replies
    /// (unless [`retry_asks`](ClusterPoolBuilder::retry_asks) asks another),
    /// [`AskError::Timeout`] past the deadline.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future drops the reply; the message may still be handled.
    pub async fn ask(&self, message: M) -> Result<M::Reply, PoolAskError> {
        self.ask_timeout(message, self.ask_timeout).await
    }

    /// Like [`ask`](Self::ask), with a deadline for this call, for all its
    /// attempts together.
    ///
    /// # Errors
    ///
    /// As [`ask`](Self::ask).
    pub async fn ask_timeout(
        &self,
        mut message: M,
        timeout: Duration,
    ) -> Result<M::Reply, PoolAskError> {
        let deadline = Instant::now() + timeout;
        let mut retries = self.retry.map_or(0, |retry| retry.attempts);
        let mut avoid = Vec::new();
        loop {
            let members = self.reachable(&avoid);
            if members.is_empty() {
                return Err(PoolAskError::NoMembers {
                    group: self.members.group.clone(),
                });
            }
            let member = match self.router.route(&message, &members) {
                Route::One(i) => &members[i % members.len()],
                Route::All(copy) => {
                    return broadcast_ask(&members, &message, copy, timeout).await;
                }
            };
            let spare = match self.retry {
                Some(retry) if retries > 0 => Some((retry.copy)(&message)),
                _ => None,
            };
            member.count_sent();
            let left = deadline.saturating_duration_since(Instant::now());
            match member.recipient.ask_timeout(message, left).await {
                Ok(reply) => return Ok(reply),
                Err(error @ (AskError::NodeDown | AskError::Stopped)) => match spare {
                    Some(spare) => {
                        tracing::debug!(group = %self.members.group, worker = %member.id(), %error, "pool worker lost; asking another");
                        retries -= 1;
                        avoid.push(member.id());
                        message = spare;
                    }
                    None => return Err(error.into()),
                },
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// Tells a copy to every member; fine if any took it.
async fn broadcast_tell<M: RemoteMessage>(
    members: &[Arc<PoolMember<M>>],
    message: M,
    copy: fn(&M) -> M,
) -> Result<(), PoolTellError<M>> {
    let mut delivered = false;
    let mut last = None;
    for member in members {
        member.count_sent();
        match member.recipient.tell(copy(&message)).await {
            Ok(()) => delivered = true,
            Err(error) => last = Some(error),
        }
    }
    match last {
        Some(error) if !delivered => Err(PoolTellError::Send(match error {
            SendError::NodeDown(_) => SendError::NodeDown(message),
            SendError::NotRemote(_) => SendError::NotRemote(message),
            _ => SendError::Stopped(message),
        })),
        _ => Ok(()),
    }
}

/// Asks every member at once; the first reply wins, the rest are dropped.
async fn broadcast_ask<M: RemoteMessage>(
    members: &[Arc<PoolMember<M>>],
    message: &M,
    copy: fn(&M) -> M,
    timeout: Duration,
) -> Result<M::Reply, PoolAskError> {
    let mut asks = JoinSet::new();
    for member in members {
        member.count_sent();
        let (recipient, message) = (member.recipient.clone(), copy(message));
        asks.spawn(async move { recipient.ask_timeout(message, timeout).await });
    }
    let mut last_error = AskError::Stopped;
    while let Some(joined) = asks.join_next().await {
        match joined {
            Ok(Ok(reply)) => return Ok(reply),
            Ok(Err(error)) => last_error = error,
            Err(join_error) => {
                last_error = AskError::Failed {
                    reason: join_error.to_string(),
                }
            }
        }
    }
    Err(last_error.into())
}

impl<M: RemoteMessage, R> Clone for ClusterPool<M, R> {
    fn clone(&self) -> Self {
        Self {
            members: Arc::clone(&self.members),
            router: Arc::clone(&self.router),
            retry: self.retry,
            ask_timeout: self.ask_timeout,
        }
    }
}

impl<M: RemoteMessage, R> fmt::Debug for ClusterPool<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterPool")
            .field("group", &self.members.group)
            .field("message", &std::any::type_name::<M>())
            .field("router", &std::any::type_name::<R>())
            .field("size", &self.size())
            .finish()
    }
}

impl<M: RemoteMessage, R: fmt::Debug> fmt::Debug for ClusterPoolBuilder<M, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterPoolBuilder")
            .field("group", &self.group)
            .field("message", &std::any::type_name::<M>())
            .field("router", &self.router)
            .field("retry_asks", &self.retry.map(|retry| retry.attempts))
            .field("ask_timeout", &self.ask_timeout)
            .finish()
    }
}
