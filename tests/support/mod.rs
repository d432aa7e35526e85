//! Helpers shared by the integration tests: a recording actor, a gate that
//! holds a handler until the test opens it, a single poll of a future, and a
//! hang guard.
//!
//! Every test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::Poll;

use proscenium::prelude::*;
use tokio::sync::oneshot;

/// Capacity that makes a [`Recorder`] mailbox unbounded.
pub(crate) const UNBOUNDED: usize = usize::MAX;

/// Records every [`Record`] it handles and hands the list out on [`Seen`].
///
/// `CAPACITY` picks the mailbox: bounded with that many slots, or
/// [`UNBOUNDED`]. Optionally reports how it stopped through a oneshot.
pub(crate) struct Recorder<const CAPACITY: usize = 1024> {
    seen: Vec<u64>,
    stopped: Option<oneshot::Sender<Stopped>>,
}

/// What a [`Recorder`] reports from `on_stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stopped {
    pub(crate) reason: StopReason,
    pub(crate) seen: Vec<u64>,
}

impl<const CAPACITY: usize> Recorder<CAPACITY> {
    pub(crate) fn new() -> Self {
        Self {
            seen: Vec::new(),
            stopped: None,
        }
    }

    /// A recorder that sends its stop reason and what it saw to the receiver.
    pub(crate) fn reporting() -> (Self, oneshot::Receiver<Stopped>) {
        let (tx, rx) = oneshot::channel();
        let recorder = Self {
            seen: Vec::new(),
            stopped: Some(tx),
        };
        (recorder, rx)
    }
}

impl<const CAPACITY: usize> Actor for Recorder<CAPACITY> {
    fn mailbox() -> Mailbox {
        if CAPACITY == UNBOUNDED {
            Mailbox::Unbounded
        } else {
            Mailbox::Bounded(CAPACITY)
        }
    }

    async fn on_stop(&mut self, _ctx: &mut Context<Self>, reason: &StopReason) {
        if let Some(tx) = self.stopped.take() {
            let _ = tx.send(Stopped {
                reason: reason.clone(),
                seen: std::mem::take(&mut self.seen),
            });
        }
    }
}

/// Appends the value to what the recorder has seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record(pub(crate) u64);
impl Message for Record {
    type Reply = ();
}

impl<const CAPACITY: usize> Handler<Record> for Recorder<CAPACITY> {
    async fn handle(&mut self, Record(value): Record, _ctx: &mut Context<Self>) {
        self.seen.push(value);
    }
}

/// Everything recorded so far, in order.
#[derive(Debug)]
pub(crate) struct Seen;
impl Message for Seen {
    type Reply = Vec<u64>;
}

impl<const CAPACITY: usize> Handler<Seen> for Recorder<CAPACITY> {
    async fn handle(&mut self, _: Seen, _ctx: &mut Context<Self>) -> Vec<u64> {
        self.seen.clone()
    }
}

/// Holds the handler at a gate, then records the value once it is open.
#[derive(Debug)]
pub(crate) struct Block(pub(crate) Gate, pub(crate) u64);
impl Message for Block {
    type Reply = u64;
}

impl<const CAPACITY: usize> Handler<Block> for Recorder<CAPACITY> {
    async fn handle(&mut self, Block(gate, value): Block, _ctx: &mut Context<Self>) -> u64 {
        gate.pass().await;
        self.seen.push(value);
        value
    }
}

/// Panics in the handler with the given text.
#[derive(Debug)]
pub(crate) struct Panic(pub(crate) &'static str);
impl Message for Panic {
    type Reply = ();
}

impl<const CAPACITY: usize> Handler<Panic> for Recorder<CAPACITY> {
    async fn handle(&mut self, Panic(text): Panic, _ctx: &mut Context<Self>) {
        panic!("{text}");
    }
}

/// The handler's side of a gate: says it has arrived, then waits to be let through.
#[derive(Debug)]
pub(crate) struct Gate {
    entered: oneshot::Sender<()>,
    open: oneshot::Receiver<()>,
}

/// The test's side of a gate.
#[derive(Debug)]
pub(crate) struct GateControl {
    entered: oneshot::Receiver<()>,
    open: oneshot::Sender<()>,
}

/// A closed gate and its control.
pub(crate) fn gate() -> (Gate, GateControl) {
    let (entered_tx, entered_rx) = oneshot::channel();
    let (open_tx, open_rx) = oneshot::channel();
    (
        Gate {
            entered: entered_tx,
            open: open_rx,
        },
        GateControl {
            entered: entered_rx,
            open: open_tx,
        },
    )
}

impl Gate {
    /// Signals arrival, then waits until the gate is opened (or its control dropped).
    pub(crate) async fn pass(self) {
        let _ = self.entered.send(());
        let _ = self.open.await;
    }
}

impl GateControl {
    /// Waits until a handler has arrived at the gate.
    ///
    /// # Panics
    ///
    /// If the gate was dropped without being reached.
    pub(crate) async fn entered(&mut self) {
        (&mut self.entered)
            .await
            .expect("the gate was dropped before a handler reached it");
    }

    /// Lets the waiting handler through.
    pub(crate) fn open(self) {
        let _ = self.open.send(());
    }
}

/// Polls `future` exactly once and returns what that poll gave.
pub(crate) async fn poll_once<F: Future + ?Sized>(mut future: Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

/// A hang guard for waits that should end in milliseconds: long enough
/// never to fire on a loaded CI machine, short enough to fail a stuck test.
pub(crate) const HANG_GUARD: std::time::Duration = std::time::Duration::from_secs(30);

/// Awaits `future`, failing the test with `what` if it hangs.
pub(crate) async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("hung for {HANG_GUARD:?} waiting for {what}"),
    }
}
