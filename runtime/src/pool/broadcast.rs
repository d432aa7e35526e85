//! [`Broadcast`]: every worker gets every message.

use super::{Route, Routee, Router};

/// Sends a copy of each told message to every worker. An ask goes to every
/// worker too, and the first reply wins (scatter-gather).
#[derive(Debug, Default, Clone, Copy)]
pub struct Broadcast;

impl<M: Clone> Router<M> for Broadcast {
    fn route<W: Routee>(&self, _: &M, _: &[W]) -> Route<M> {
        Route::All(M::clone)
    }
}
