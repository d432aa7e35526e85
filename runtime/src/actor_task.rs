//! The future tokio runs for one actor: its lifecycle, polled as that
//! actor (for the deadlock detector) and inside its tracing span.
//!
//! Everything this wrapper needs lives in the actor's cell, not in the
//! future: an idle actor's memory is mostly its parked task, and tokio
//! lays a task out in 128-byte steps on x86_64 (its task cell is
//! `repr(align(128))` there). With the `Asker` (32 bytes) and the span (40)
//! carried in the future, an idle actor's future was 448 bytes and its
//! task 640; with one `Arc` of the cell instead the future is 384 bytes
//! and the task 512. The cell, allocated once per actor anyway, grows by
//! less than that: a full spawn run (100,000 idle actors) measured 1,302
//! bytes an actor before and 1,212 after.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use pin_project_lite::pin_project;

use crate::cell::Cell;
use crate::deadlock::CurrentActor;
use crate::Actor;

pin_project! {
    /// An actor's task: `lifecycle` run as the actor of `cell`.
    ///
    /// The actor's state is dropped inside the span when its lifecycle
    /// ends; a task aborted by the runtime drops it outside.
    pub(crate) struct ActorTask<A: Actor, F> {
        cell: Arc<Cell<A>>,
        #[pin]
        lifecycle: F,
    }
}

impl<A: Actor, F: Future> ActorTask<A, F> {
    pub(crate) fn new(cell: Arc<Cell<A>>, lifecycle: F) -> Self {
        Self { cell, lifecycle }
    }
}

impl<A: Actor, F: Future> Future for ActorTask<A, F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _current = CurrentActor::enter(&this.cell.asker);
        let _span = this.cell.span.enter();
        this.lifecycle.poll(cx)
    }
}
