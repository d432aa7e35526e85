//! [`LeastLoaded`]: the worker with the shortest mailbox.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Route, Routee, Router};

/// Sends each message to the worker with the fewest queued messages
/// ([`Routee::load`]: the mailbox length of a local worker, the reported
/// depth plus what was sent since for one on another node); among equals,
/// to each in turn.
#[derive(Debug, Default)]
pub struct LeastLoaded {
    next: AtomicUsize,
}

impl<M> Router<M> for LeastLoaded {
    fn route<W: Routee>(&self, _: &M, workers: &[W]) -> Route<M> {
        // Scanning from a rotating start spreads work over idle workers
        // instead of always picking the first.
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let best = (0..workers.len())
            .map(|offset| (start + offset) % workers.len())
            .min_by_key(|&i| workers[i].load())
            .unwrap_or(0);
        Route::One(best)
    }
}
