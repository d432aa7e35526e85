//! Frames for local actors whose mailboxes are full, held per link so that
//! the link's reader never waits on one actor.
//!
//! When a tell or ask from a peer finds its actor's mailbox full, the
//! frame is *parked*: it and every later frame for that actor from the same
//! link wait in a queue of their own, which a task feeds to the actor as it
//! makes room, in order. The peer is sent [`Frame::Pause`] for the actor, so
//! its senders' tells wait (their `try_tell` returns `Full`); once the queue
//! is empty the task sends [`Frame::Resume`]. Frames for other actors,
//! replies and control frames never wait behind a parked actor.
//!
//! What a compliant peer can still have in flight when it learns of the
//! pause is bounded by its outbox; to bound memory whatever the peer does,
//! the parked bytes of one link are capped by a budget, past which the
//! reader stops reading that link until the parked frames drain (TCP then
//! pushes back on the peer, as it did for every frame before parking).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use proscenium_runtime::remote::{AnyActorRef, WaitFor};
use proscenium_runtime::ActorId;

use crate::link::Link;
use crate::registry::{DeliverAsk, DeliverTell};
use crate::shared::NodeShared;
use crate::stats::bump;
use crate::Frame;

/// A future that is `Send` and lives on the heap.
pub(crate) type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// One frame waiting for its actor.
pub(crate) enum Parked {
    /// Decoded already and waiting for room (the frame that found the
    /// mailbox full); resolves once it is handed over.
    Waiting(BoxFuture<()>),
    /// A tell that came while the actor was parked, still encoded.
    Tell {
        /// How to decode and queue it.
        deliver: DeliverTell,
        /// The message.
        payload: Bytes,
    },
    /// An ask that came while the actor was parked, still encoded.
    Ask {
        /// How to decode and queue it.
        deliver: DeliverAsk,
        /// The ask's correlation id, for its reply.
        correlation: u64,
        /// The message.
        payload: Bytes,
        /// The wait-for edges that lead to the asker.
        waits: Vec<WaitFor>,
    },
    /// A graceful stop: after what was parked before it, like a local one.
    Stop,
}

impl Parked {
    /// The same frame holding its payload in an allocation of its own: a
    /// tell's payload arrives as a slice of the link's read buffer (see
    /// `FrameCodec`), which a parked frame would otherwise keep whole,
    /// outside the parking budget, which counts the payload's own bytes.
    fn detached(self) -> Self {
        match self {
            Self::Tell { deliver, payload } => Self::Tell {
                deliver,
                payload: Bytes::copy_from_slice(&payload),
            },
            other => other,
        }
    }
}

/// The queue of one actor.
struct Park {
    actor: AnyActorRef,
    items: VecDeque<(Parked, usize)>,
}

/// The parked frames of one link.
pub(crate) struct Parking {
    parks: Mutex<HashMap<ActorId, Park>>,
    /// How many actors are parked, so the common case (none) costs one load.
    count: AtomicUsize,
    /// Bytes parked now, against `budget`.
    bytes: AtomicUsize,
    budget: usize,
    /// Notified whenever parked bytes are released.
    freed: tokio::sync::Notify,
}

impl Parking {
    /// No actor parked; at most `budget` bytes may be, per link.
    pub(crate) fn new(budget: usize) -> Arc<Self> {
        Arc::new(Self {
            parks: Mutex::new(HashMap::new()),
            count: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            budget: budget.max(1),
            freed: tokio::sync::Notify::new(),
        })
    }

    /// Queues `item` behind the frames already parked for `to`, or hands it
    /// back if `to` is not parked (then nothing is waiting for it, and it
    /// may be delivered at once).
    pub(crate) fn push_if_parked(
        &self,
        to: ActorId,
        item: Parked,
        weight: usize,
    ) -> Result<(), Parked> {
        if self.count.load(Ordering::SeqCst) == 0 {
            return Err(item);
        }
        let Ok(mut parks) = self.parks.lock() else {
            return Err(item);
        };
        match parks.get_mut(&to) {
            Some(park) => {
                self.bytes.fetch_add(weight, Ordering::SeqCst);
                park.items.push_back((item.detached(), weight));
                Ok(())
            }
            None => Err(item),
        }
    }

    /// Parks `actor` with `first`, the frame that found its mailbox full:
    /// pauses the peer's tells to it and starts the task that feeds it.
    pub(crate) fn start(
        self: &Arc<Self>,
        node: &Arc<NodeShared>,
        link: &Arc<Link>,
        actor: AnyActorRef,
        first: Parked,
        weight: usize,
    ) {
        let id = actor.id();
        {
            let Ok(mut parks) = self.parks.lock() else {
                return;
            };
            let mut items = VecDeque::new();
            items.push_back((first, weight));
            parks.insert(id, Park { actor, items });
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(weight, Ordering::SeqCst);
        bump(&node.stats.pauses);
        link.send(Frame::Pause { actor: id });
        let (parking, feeder, link) = (Arc::clone(self), Arc::clone(node), Arc::clone(link));
        node.tasks
            .spawn(async move { parking.feed(&feeder, &link, id).await });
    }

    /// Hands `id`'s parked frames to it in order, then unparks it.
    async fn feed(&self, node: &Arc<NodeShared>, link: &Arc<Link>, id: ActorId) {
        while let Some((actor, item, weight)) = self.next(id) {
            crate::inbound::run_parked(node, link, &actor, item).await;
            self.bytes.fetch_sub(weight, Ordering::SeqCst);
            self.freed.notify_waiters();
        }
        link.send(Frame::Resume { actor: id });
    }

    /// The next frame parked for `id`, or `None` after unparking it (under
    /// the same lock as `push_if_parked`, so no frame is left behind).
    fn next(&self, id: ActorId) -> Option<(AnyActorRef, Parked, usize)> {
        let mut parks = self.parks.lock().ok()?;
        let park = parks.get_mut(&id)?;
        match park.items.pop_front() {
            Some((item, weight)) => Some((park.actor.clone(), item, weight)),
            None => {
                parks.remove(&id);
                self.count.fetch_sub(1, Ordering::SeqCst);
                None
            }
        }
    }

    /// Whether the link has parked as much as it may.
    pub(crate) fn over_budget(&self) -> bool {
        self.bytes.load(Ordering::SeqCst) >= self.budget
    }

    /// Waits until parked frames are released below the budget.
    pub(crate) async fn below_budget(&self) {
        loop {
            let freed = self.freed.notified();
            let mut freed = std::pin::pin!(freed);
            freed.as_mut().enable();
            if !self.over_budget() {
                return;
            }
            freed.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{DecodeCx, TellOutcome};

    fn never_called(
        _: &DecodeCx,
        _: AnyActorRef,
        _: &[u8],
    ) -> Result<TellOutcome, crate::WireError> {
        unreachable!("only detached, never delivered")
    }

    /// A parked tell no longer shares the read buffer its frame came in:
    /// the buffer is freed (or reused) while the tell waits.
    #[test]
    fn a_parked_tell_keeps_its_payload_not_the_read_buffer() {
        let read_buffer = Bytes::from(vec![7u8; 4096]);
        let payload = read_buffer.slice(100..200);
        let parked = Parked::Tell {
            deliver: never_called,
            payload,
        }
        .detached();
        let Parked::Tell { payload, .. } = parked else {
            panic!("a tell stays a tell");
        };
        assert_eq!(&payload[..], &[7u8; 100][..]);
        assert!(
            !read_buffer.as_ptr_range().contains(&payload.as_ptr()),
            "the parked payload still points into the read buffer"
        );
        // Only this handle is left: the buffer's memory was not shared.
        assert!(read_buffer.is_unique());
    }
}
