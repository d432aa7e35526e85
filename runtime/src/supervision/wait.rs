//! Waiting for a child while still reading this actor's signal lane: a
//! parent that waits for a child to start, stop or restart must keep
//! answering the signals that concern that wait (a kill, another child's
//! failure), and keep the others for later.

use std::future::Future;
use std::ops::ControlFlow;

use crate::lifecycle::Lifecycle;
use crate::signal::Signal;
use crate::Actor;

impl<A: Actor> Lifecycle<A> {
    /// Waits for `done`, handing each signal that arrives meanwhile to
    /// `on_signal`, which may end the wait early with a value of its own.
    /// `done` wins when both are ready.
    pub(crate) async fn wait_reading_signals<T, B>(
        &mut self,
        done: impl Future<Output = T>,
        mut on_signal: impl FnMut(&mut Self, Signal<A>) -> ControlFlow<B>,
    ) -> Result<T, B> {
        let mut done = std::pin::pin!(done);
        loop {
            tokio::select! {
                biased;
                outcome = &mut done => return Ok(outcome),
                signal = self.cell.signals.recv() => {
                    if let ControlFlow::Break(early) = on_signal(self, signal) {
                        return Err(early);
                    }
                }
            }
        }
    }

    /// Keeps `signal` to be read once the wait is over.
    pub(crate) fn postpone<B>(&mut self, signal: Signal<A>) -> ControlFlow<B> {
        self.books().postponed.push_back(signal);
        ControlFlow::Continue(())
    }
}
