//! A peer that stops reading (its TCP window stays shut) costs bounded
//! memory and bounded time: the link is closed once the peer has taken no
//! bytes, or acknowledged no tell, for the write-stall timeout, or once
//! frames that never wait (asks) pile past twice the outbox's capacity (at
//! least 1 MiB over it); asks whose asker gave up are not sent; every tell
//! left queued or unacknowledged becomes a dead letter; and
//! `Node::shutdown` returns whatever the peer does.
//!
//! The stalled peer is a fault proxy on 127.0.0.1 that is frozen: it keeps
//! both sockets open and reads nothing (zero TCP window).

mod support_cluster;

use std::future::Future;
use std::time::Duration;

use proscenium::net::{Node, NodeBuilder, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use support_cluster::cluster::{self, Add, Counter};
use support_cluster::fault_proxy::FaultProxy;
use support_cluster::{in_process_node, node_down, within};

/// Long enough never to matter: only the behaviour under test may end a link.
const NEVER: Duration = Duration::from_secs(600);
/// More asks than the sockets' buffers and a bounded outbox can hold.
const ASKS: usize = 2_000;
/// The size of each ask's payload.
const BLOB: usize = 64 * 1024;

/// Takes blobs and counts them.
#[derive(Default)]
struct Sink {
    blobs: usize,
}
impl Actor for Sink {}

#[derive(Serialize, Deserialize)]
struct Blob(Vec<u8>);
impl Message for Blob {
    type Reply = ();
}
impl RemoteMessage for Blob {
    const TAG: &'static str = "tests::stalled::Blob";
}
impl Handler<Blob> for Sink {
    async fn handle(&mut self, _: Blob, _: &mut Context<Self>) {
        self.blobs += 1;
    }
}

/// A blob that encodes as fast as a copy.
#[derive(Serialize, Deserialize)]
struct Chunk(bytes::Bytes);
impl Message for Chunk {
    type Reply = ();
}
impl RemoteMessage for Chunk {
    const TAG: &'static str = "tests::stalled::Chunk";
}
impl Handler<Chunk> for Sink {
    async fn handle(&mut self, _: Chunk, _: &mut Context<Self>) {
        self.blobs += 1;
    }
}

#[derive(Serialize, Deserialize)]
struct Blobs;
impl Message for Blobs {
    type Reply = usize;
}
impl RemoteMessage for Blobs {
    const TAG: &'static str = "tests::stalled::Blobs";
}
impl Handler<Blobs> for Sink {
    async fn handle(&mut self, _: Blobs, _: &mut Context<Self>) -> usize {
        self.blobs
    }
}

fn registry() -> Registry {
    let mut registry = cluster::registry();
    registry
        .handler::<Sink, Blob>()
        .handler::<Sink, Chunk>()
        .handler::<Sink, Blobs>();
    registry
}

/// Alpha listens; beta reaches it through a proxy that can be frozen.
struct Pair {
    alpha: Node,
    beta: Node,
    relay: FaultProxy,
}

async fn pair(beta: impl FnOnce(NodeBuilder) -> NodeBuilder) -> Pair {
    let quiet = |node: NodeBuilder| {
        node.registry(registry())
            .heartbeat(NEVER)
            .write_stall_timeout(NEVER)
    };
    let alpha = in_process_node("alpha", true, quiet).await;
    alpha
        .system()
        .spawn_named("counter", Counter::default())
        .unwrap();
    alpha.system().spawn_named("sink", Sink::default()).unwrap();
    let beta = in_process_node("beta", false, |node| beta(quiet(node))).await;
    let relay = FaultProxy::start(alpha.local_addr().unwrap()).await;
    within("beta to connect", beta.connect(relay.addr()))
        .await
        .unwrap();
    Pair { alpha, beta, relay }
}

/// `try_tell` refusals in a row (with yields between, so the link's writer
/// can run) after which the writer is taken to be stuck on the frozen socket.
const STUCK: u32 = 200;

/// Tells until beta holds tells back for good (its outbox is full of tells
/// queued or waiting for an acknowledgement), or the link has ended.
/// Returns how many went. Runs on a worker thread, where a yield lets the
/// link's writer run.
async fn fill_with_tells<M, F>(mut tell: F) -> u64
where
    M: Send + 'static,
    F: FnMut(u64) -> Result<(), TrySendError<M>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut accepted = 0;
        let mut refused_in_a_row = 0;
        while refused_in_a_row < STUCK {
            match tell(accepted) {
                Ok(()) => {
                    accepted += 1;
                    refused_in_a_row = 0;
                }
                Err(TrySendError::Full(_)) => refused_in_a_row += 1,
                Err(TrySendError::Send(SendError::NodeDown(_))) => break,
                Err(other) => panic!("unexpected {other:?}"),
            }
            assert!(accepted < 10_000_000, "tells were never held back");
            tokio::task::yield_now().await;
        }
        accepted
    })
    .await
    .unwrap()
}

/// Counts `n` dead letters of tells to `to`: (possibly delivered, not delivered).
async fn dead_letters_to(letters: &mut DeadLetters, to: ActorId, n: u64) -> (u64, u64) {
    let mut counts = (0, 0);
    for i in 0..n {
        let letter = within(&format!("dead letter {i} of {n}"), letters.recv())
            .await
            .expect("dead letters");
        assert_eq!(letter.recipient, to);
        assert_eq!(letter.reason, StopReason::NodeDown);
        if letter.possibly_delivered {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    counts
}

/// Polls `future` once: a remote ask is queued on its link by then.
async fn poll_once<F: Future + Unpin>(future: &mut F) -> Option<F::Output> {
    tokio::select! {
        biased;
        output = future => Some(output),
        () = std::future::ready(()) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_takes_no_bytes_is_dropped_and_every_tell_it_was_sent_is_a_dead_letter() {
    // An outbox far larger than the sockets' buffers: the writer blocks on
    // the full socket with tells still queued. (A stall timeout long enough
    // for the sockets to fill and the outbox after them, with room to spare
    // on a busy machine: until then, only missing acknowledgements would
    // show the stall. Filling takes 0.1 to 0.3 s in a debug build.)
    let pair = pair(|node| {
        node.outbox_bytes(64 * 1024 * 1024)
            .write_stall_timeout(Duration::from_secs(3))
    })
    .await;
    let sink = within("the lookup", pair.beta.lookup::<Sink>("sink"))
        .await
        .expect("the sink on alpha");
    let mut events = pair.beta.events();
    let mut dead_letters = pair.beta.system().dead_letters();

    pair.relay.freeze();
    let blob = bytes::Bytes::from(vec![0; BLOB]);
    let accepted = fill_with_tells({
        let sink = sink.clone();
        move |_| sink.try_tell(Chunk(blob.clone()))
    })
    .await;
    node_down(&mut events, "alpha").await;

    let stats = pair.beta.stats();
    assert_eq!(stats.links_stalled, 1, "{stats:?}");
    assert!(stats.tells_unsent > 0, "the outbox held tells: {stats:?}");
    assert!(
        stats.tells_unacknowledged > 0,
        "tells were written: {stats:?}"
    );
    assert_eq!(
        stats.tells_unsent + stats.tells_unacknowledged,
        accepted,
        "{stats:?}"
    );
    let (possibly_delivered, undelivered) =
        dead_letters_to(&mut dead_letters, sink.id(), accepted).await;
    assert_eq!(possibly_delivered, stats.tells_unacknowledged);
    assert_eq!(undelivered, stats.tells_unsent);

    within("beta's shutdown", pair.beta.shutdown()).await;
    pair.relay.thaw();
    within("alpha's shutdown", pair.alpha.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_acknowledges_no_tell_is_dropped_and_its_tells_are_dead_letters() {
    // An outbox the sockets' buffers can hold: every tell is written, and
    // the writer has nothing left to block on; the missing acknowledgements
    // show that the peer takes nothing.
    let pair = pair(|node| {
        node.outbox_bytes(4 * 1024)
            .write_stall_timeout(Duration::from_millis(200))
    })
    .await;
    let counter = within("the lookup", pair.beta.lookup::<Counter>("counter"))
        .await
        .expect("the counter on alpha");
    let mut events = pair.beta.events();
    let mut dead_letters = pair.beta.system().dead_letters();

    pair.relay.freeze();
    let accepted = fill_with_tells({
        let counter = counter.clone();
        move |n| counter.try_tell(Add(n))
    })
    .await;
    node_down(&mut events, "alpha").await;

    let stats = pair.beta.stats();
    assert_eq!(stats.links_stalled, 1, "{stats:?}");
    assert_eq!(
        (stats.tells_unsent, stats.tells_unacknowledged),
        (0, accepted),
        "{stats:?}"
    );
    let (possibly_delivered, _) = dead_letters_to(&mut dead_letters, counter.id(), accepted).await;
    assert_eq!(possibly_delivered, accepted);

    within("beta's shutdown", pair.beta.shutdown()).await;
    pair.relay.thaw();
    within("alpha's shutdown", pair.alpha.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_to_a_stalled_peer_are_bounded_in_bytes() {
    let pair = pair(|node| node.outbox_bytes(1024 * 1024)).await;
    let sink = within("the lookup", pair.beta.lookup::<Sink>("sink"))
        .await
        .expect("the sink on alpha");
    let mut events = pair.beta.events();

    pair.relay.freeze();
    // On a worker thread, where a yield lets the link's writer run.
    let (refused, pending) = tokio::spawn({
        let beta = pair.beta.clone();
        async move {
            let mut pending = Vec::new();
            for n in 0..ASKS {
                if beta.peers().is_empty() {
                    return (Some(n), pending);
                }
                let sink = sink.clone();
                let mut ask =
                    Box::pin(async move { sink.ask_timeout(Blob(vec![0; BLOB]), NEVER).await });
                if let Some(answer) = poll_once(&mut ask).await {
                    assert_eq!(answer, Err(AskError::NodeDown));
                } else {
                    pending.push(ask);
                }
                tokio::task::yield_now().await;
            }
            (None, pending)
        }
    })
    .await
    .unwrap();
    assert!(
        refused.is_some(),
        "{ASKS} asks of {BLOB} bytes were all queued for a peer that reads nothing"
    );
    node_down(&mut events, "alpha").await;
    assert_eq!(pair.beta.stats().links_overloaded, 1);
    for ask in pending {
        let answer = within("a pending ask", ask).await;
        assert_eq!(answer, Err(AskError::NodeDown));
    }

    within("beta's shutdown", pair.beta.shutdown()).await;
    pair.relay.thaw();
    within("alpha's shutdown", pair.alpha.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asks_whose_asker_gave_up_are_not_sent() {
    const EXPIRING: usize = 200;
    let pair = pair(|node| node).await;
    let sink = within("the lookup", pair.beta.lookup::<Sink>("sink"))
        .await
        .expect("the sink on alpha");

    pair.relay.freeze();
    let mut asks = Vec::new();
    for _ in 0..EXPIRING {
        let sink = sink.clone();
        asks.push(tokio::spawn(async move {
            sink.ask_timeout(Blob(vec![0; BLOB]), Duration::from_millis(100))
                .await
        }));
    }
    for ask in asks {
        let answer = within("an expiring ask", ask).await.unwrap();
        assert!(matches!(answer, Err(AskError::Timeout(_))), "{answer:?}");
    }
    pair.relay.thaw();

    let handled = within("the count", sink.ask(Blobs)).await.unwrap();
    assert!(
        handled < EXPIRING,
        "every expired ask was still sent and handled"
    );
    assert_eq!(pair.beta.stats().asks_expired as usize, EXPIRING - handled);

    within("beta's shutdown", pair.beta.shutdown()).await;
    within("alpha's shutdown", pair.alpha.shutdown()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_returns_while_a_peer_reads_nothing() {
    let pair = pair(|node| {
        node.outbox_bytes(4 * 1024)
            .shutdown_timeout(Duration::from_millis(100))
    })
    .await;
    let counter = within("the lookup", pair.beta.lookup::<Counter>("counter"))
        .await
        .expect("the counter on alpha");

    pair.relay.freeze();
    let accepted = fill_with_tells({
        let counter = counter.clone();
        move |n| counter.try_tell(Add(n))
    })
    .await;
    within("beta's shutdown", pair.beta.shutdown()).await;
    let stats = pair.beta.stats();
    assert_eq!(
        stats.tells_unsent + stats.tells_unacknowledged,
        accepted,
        "{stats:?}"
    );

    pair.relay.thaw();
    within("alpha's shutdown", pair.alpha.shutdown()).await;
}
