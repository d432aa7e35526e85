//! Streams attached to actors: every item arrives, in order, as a told
//! message, then the end notice; a full mailbox holds the stream back
//! instead of buffering it; the stream is dropped when its actor stops or
//! the attachment is cancelled, without an end notice.

mod support_cluster;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::stream::{self, StreamExt};
use proscenium::prelude::*;
use proscenium::{StreamEnd, StreamHandle};
use support_cluster::within;
use tokio::sync::{mpsc, oneshot};

/// The mailbox capacity of `Sink`: small, so backpressure shows.
const CAPACITY: usize = 4;

/// Records the items it is told, and reports them when the stream ends.
struct Sink {
    seen: Vec<u64>,
    done: Option<oneshot::Sender<Vec<u64>>>,
    /// A stream to attach from `on_start`.
    source: Option<Vec<u64>>,
}
impl Actor for Sink {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(CAPACITY)
    }

    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        if let Some(items) = self.source.take() {
            ctx.attach_stream(stream::iter(items).map(Item), Ended);
        }
        Ok(())
    }
}

fn sink(done: oneshot::Sender<Vec<u64>>) -> Sink {
    Sink {
        seen: Vec::new(),
        done: Some(done),
        source: None,
    }
}

struct Item(u64);
impl Message for Item {
    type Reply = ();
}
impl Handler<Item> for Sink {
    async fn handle(&mut self, Item(n): Item, _: &mut Context<Self>) {
        self.seen.push(n);
    }
}

/// The end notice.
struct Ended;
impl Message for Ended {
    type Reply = ();
}
impl Handler<Ended> for Sink {
    async fn handle(&mut self, _: Ended, _: &mut Context<Self>) {
        if let Some(done) = self.done.take() {
            let _ = done.send(std::mem::take(&mut self.seen));
        }
    }
}

/// Holds the actor until the test opens the gate.
struct Gate(oneshot::Receiver<()>);
impl Message for Gate {
    type Reply = ();
}
impl Handler<Gate> for Sink {
    async fn handle(&mut self, Gate(open): Gate, _: &mut Context<Self>) {
        let _ = open.await;
    }
}

/// A stream fed by the test; `closed()` on its sender tells the test when
/// the stream has been dropped.
fn fed() -> (
    mpsc::Sender<u64>,
    impl futures_util::Stream<Item = Item> + Send + 'static,
) {
    let (feed, items) = mpsc::channel(16);
    let stream = stream::unfold(items, |mut items| async move {
        items.recv().await.map(|n| (Item(n), items))
    });
    (feed, stream)
}

#[tokio::test]
async fn every_item_arrives_in_order_then_the_end_notice() {
    let system = System::new();
    let (done, seen) = oneshot::channel();
    let items: Vec<u64> = (0..1_000).collect();
    system
        .spawn(Sink {
            source: Some(items.clone()),
            ..sink(done)
        })
        .expect("spawn");
    assert_eq!(within("the end notice", seen).await, Ok(items));
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mailbox_holds_the_stream_back() {
    let system = System::new();
    let (done, seen) = oneshot::channel();
    let actor = system.spawn(sink(done)).expect("spawn");
    let (open, gate) = oneshot::channel();
    actor.tell(Gate(gate)).await.expect("tell the gate");
    let pulled = Arc::new(AtomicUsize::new(0));
    let counted = stream::iter(0..10_000u64).map({
        let pulled = Arc::clone(&pulled);
        move |n| {
            pulled.fetch_add(1, Ordering::SeqCst);
            Item(n)
        }
    });
    let attached = actor.attach_stream(counted, Ended);
    // The actor is held at the gate: the mailbox fills, then one more item
    // waits for room in the forwarding task, and no further one is pulled.
    within("a full mailbox", async {
        while pulled.load(Ordering::SeqCst) < CAPACITY + 1 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    for _ in 0..1_000 {
        tokio::task::yield_now().await;
    }
    assert_eq!(pulled.load(Ordering::SeqCst), CAPACITY + 1);
    assert_eq!(actor.mailbox_len(), CAPACITY);
    assert!(!attached.is_finished());

    open.send(()).expect("the actor waits at the gate");
    assert_eq!(
        within("the end notice", seen).await,
        Ok((0..10_000).collect::<Vec<_>>())
    );
    assert_eq!(
        within("the end", attached.ended()).await,
        StreamEnd::Finished
    );
    system.shutdown().await;
}

#[tokio::test]
async fn the_actor_stopping_drops_its_stream_without_an_end_notice() {
    let system = System::new();
    let (done, seen) = oneshot::channel();
    let actor = system.spawn(sink(done)).expect("spawn");
    let (feed, stream) = fed();
    let attached: StreamHandle = actor.attach_stream(stream, Ended);
    feed.send(1).await.expect("the stream is attached");
    actor.stop();
    // The stream is idle: it is dropped on the stop, not at its next item.
    within("the stream dropped", feed.closed()).await;
    assert_eq!(
        within("the end", attached.ended()).await,
        StreamEnd::ActorStopped
    );
    assert!(within("the end notice", seen).await.is_err());
    system.shutdown().await;
}

#[tokio::test]
async fn cancel_detaches_the_stream_and_the_actor_carries_on() {
    let system = System::new();
    let (done, seen) = oneshot::channel();
    let actor = system.spawn(sink(done)).expect("spawn");
    let (feed, stream) = fed();
    let attached = actor.attach_stream(stream, Ended);
    attached.cancel();
    within("the stream dropped", feed.closed()).await;
    assert_eq!(
        within("the end", attached.ended()).await,
        StreamEnd::Cancelled
    );
    // Still alive and serving: a second stream ends with its notice.
    actor.attach_stream(stream::iter([7, 8]).map(Item), Ended);
    assert_eq!(within("the end notice", seen).await, Ok(vec![7, 8]));
    system.shutdown().await;
}
