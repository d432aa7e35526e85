//! [`RoundRobin`]: each worker in turn.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Route, Routee, Router};

/// Sends each message to the next worker in turn.
///
/// # Examples
///
/// ```
/// use proscenium_runtime::{Actor, ActorRef, RoundRobin, Router, System};
///
/// struct W;
/// impl Actor for W {}
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let system = System::new();
/// let workers: Vec<ActorRef<W>> = (0..3).map(|_| system.spawn(W).unwrap()).collect();
/// let router = RoundRobin::default();
/// let picks: Vec<_> = (0..4).map(|_| router.route(&(), &workers).index()).collect();
/// assert_eq!(picks, [Some(0), Some(1), Some(2), Some(0)]);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl<M> Router<M> for RoundRobin {
    fn route<W: Routee>(&self, _: &M, workers: &[W]) -> Route<M> {
        Route::One(self.next.fetch_add(1, Ordering::Relaxed) % workers.len())
    }
}
