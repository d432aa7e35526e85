//! A flood of connections that never finish a handshake cannot exhaust a
//! node: it holds at most `max_pending_handshakes` of them, closes the
//! excess at once, and a real peer still connects in the middle of it.

mod support_cluster;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::{in_process_node, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Handshakes a node may have in progress at once, in this test.
const CAP: usize = 8;

/// Waits until the node closes `stream` (end of stream or a reset).
async fn closed_by_the_node(mut stream: TcpStream) {
    let mut sink = [0u8; 64];
    while let Ok(n) = stream.read(&mut sink).await {
        if n == 0 {
            break;
        }
    }
}

#[tokio::test]
async fn idle_and_garbage_connections_cannot_lock_a_peer_out() {
    // A deadline far beyond the test: only the cap may close anything.
    let b = in_process_node("b", true, |n| {
        n.max_pending_handshakes(CAP)
            .handshake_timeout(Duration::from_secs(3600))
    })
    .await;
    let addr = b.local_addr().expect("b listens");
    b.system()
        .spawn_named("counter", Counter::default())
        .expect("spawn the counter");

    // Idle connections: all but the newest CAP are closed at once.
    let mut idle = Vec::new();
    for _ in 0..500 {
        idle.push(TcpStream::connect(addr).await.expect("connect"));
    }
    let kept = idle.split_off(idle.len() - CAP);
    within("the node to close the excess", async {
        for stream in idle {
            closed_by_the_node(stream).await;
        }
    })
    .await;

    // A flood goes on (idle connections and half-sent garbage) while a real
    // peer connects and is served.
    let stop = Arc::new(AtomicBool::new(false));
    let flood = tokio::spawn({
        let stop = Arc::clone(&stop);
        async move {
            let mut held = Vec::new();
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut stream) = TcpStream::connect(addr).await else {
                    continue;
                };
                if n % 2 == 1 {
                    // A header announcing more than ever comes.
                    let _ = stream.write_all(&[0, 0, 0, 200, 1, 2, 3]).await;
                }
                held.push(stream);
                n += 1;
                tokio::task::yield_now().await;
            }
            n
        }
    });
    let a = in_process_node("a", false, |n| n).await;
    within("a real peer to connect", a.connect(addr))
        .await
        .expect("a connects in the middle of the flood");
    let counter = a
        .lookup::<Counter>("counter")
        .await
        .expect("the counter, on b");
    counter.tell(Add(1)).await.expect("tell");
    assert_eq!(
        within("b to answer", counter.ask(Values)).await,
        Ok(vec![1])
    );
    stop.store(true, Ordering::Relaxed);
    let flooded = within("the flood to stop", flood).await.expect("the flood");
    assert!(flooded > 0);
    drop(kept);
    a.shutdown().await;
    b.shutdown().await;
}
