//! The cap on connections in handshake, so that a flood of connections
//! that never finish one cannot take a node's file descriptors and tasks.
//!
//! When the cap is reached, a new connection makes room by closing the
//! oldest pending one that has not yet sent a valid hello: idle and
//! garbage connections go first, and a real peer, whose hello arrives one
//! round trip after it connects, is not pushed out by later arrivals. Only
//! when every pending connection has sent a valid hello is the newcomer
//! closed instead; those pending ones end within the handshake deadline.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio_util::sync::CancellationToken;

/// The connections of one node that are in handshake.
#[derive(Debug)]
pub(crate) struct PendingHandshakes {
    cap: usize,
    /// Oldest first.
    slots: Mutex<VecDeque<Slot>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Slot {
    id: u64,
    evict: CancellationToken,
    said_hello: Arc<AtomicBool>,
}

/// A connection's place among the pending handshakes; freed when dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    id: u64,
    /// Cancelled when a newer connection takes the place.
    pub(crate) evict: CancellationToken,
    /// Set by the handshake once the peer's hello has checked out.
    pub(crate) said_hello: Arc<AtomicBool>,
    pending: Arc<PendingHandshakes>,
}

impl PendingHandshakes {
    pub(crate) fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            slots: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
        })
    }

    /// A place for one more connection, closing an older idle one if the
    /// cap is reached; `None` if every place is taken by a connection that
    /// has sent a valid hello.
    pub(crate) fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if slots.len() >= self.cap {
            let idle = slots
                .iter()
                .position(|slot| !slot.said_hello.load(Ordering::Acquire))?;
            if let Some(evicted) = slots.remove(idle) {
                evicted.evict.cancel();
            }
        }
        let admitted = Admitted {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            evict: CancellationToken::new(),
            said_hello: Arc::new(AtomicBool::new(false)),
            pending: Arc::clone(self),
        };
        slots.push_back(Slot {
            id: admitted.id,
            evict: admitted.evict.clone(),
            said_hello: Arc::clone(&admitted.said_hello),
        });
        Some(admitted)
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut slots = self
            .pending
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = slots.iter().position(|slot| slot.id == self.id) {
            slots.remove(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_table_closes_the_oldest_idle_connection() {
        let pending = PendingHandshakes::new(2);
        let first = pending.admit().expect("room");
        let second = pending.admit().expect("room");
        first.said_hello.store(true, Ordering::Release);
        let third = pending.admit().expect("room made");
        assert!(
            !first.evict.is_cancelled(),
            "a connection that said hello stays"
        );
        assert!(second.evict.is_cancelled(), "the oldest idle one goes");
        third.said_hello.store(true, Ordering::Release);
        assert!(pending.admit().is_none(), "nobody idle to close");
        drop(first);
        assert!(pending.admit().is_some(), "a place freed on drop");
    }
}
