//! Each control of the fault-injecting proxy, between a plain TCP client
//! and a plain TCP endpoint on 127.0.0.1 (an echo server or a sink that
//! counts what it receives), asserting what arrives and what does not.

mod support_cluster;

use std::net::SocketAddr;
use std::time::Duration;

use support_cluster::fault_proxy::{Direction, FaultProxy, Flow};
use support_cluster::within;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// More than any loopback socket pair buffers: filling stops before this.
const FAR_MORE_THAN_BUFFERED: usize = 256 * 1024 * 1024;

/// A plain TCP endpoint on 127.0.0.1 that counts connections and bytes.
struct Endpoint {
    addr: SocketAddr,
    connections: watch::Receiver<u64>,
    received: watch::Receiver<u64>,
}

impl Endpoint {
    /// Writes back what it reads.
    async fn echo() -> Self {
        Self::start(true).await
    }

    /// Reads and discards.
    async fn sink() -> Self {
        Self::start(false).await
    }

    async fn start(echo: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (connections_tx, connections) = watch::channel(0);
        let (received_tx, received) = watch::channel(0);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                connections_tx.send_modify(|n| *n += 1);
                let received_tx = received_tx.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0; 64 * 1024];
                    while let Ok(n @ 1..) = stream.read(&mut buffer).await {
                        received_tx.send_modify(|total| *total += n as u64);
                        if echo && stream.write_all(&buffer[..n]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            connections,
            received,
        }
    }

    fn connections(&self) -> u64 {
        *self.connections.borrow()
    }

    fn received(&self) -> u64 {
        *self.received.borrow()
    }

    async fn wait_received(&mut self, total: u64) {
        within(
            "the endpoint to receive everything",
            self.received.wait_for(|n| *n == total),
        )
        .await
        .unwrap();
    }
}

async fn connect(proxy: &FaultProxy) -> TcpStream {
    within("connect to the proxy", TcpStream::connect(proxy.addr()))
        .await
        .unwrap()
}

/// Sends `message` and reads the same number of bytes back.
async fn round_trip(stream: &mut TcpStream, message: &[u8]) -> Vec<u8> {
    stream.write_all(message).await.unwrap();
    let mut back = vec![0; message.len()];
    within("the echo", stream.read_exact(&mut back))
        .await
        .unwrap();
    back
}

/// Waits until the other end closes `stream`, asserting nothing arrives first.
async fn assert_closed(stream: &mut TcpStream) {
    let mut byte = [0; 1];
    match within("the proxy to close the connection", stream.read(&mut byte)).await {
        Ok(0) | Err(_) => {}
        Ok(_) => panic!("data arrived on a connection that should close"),
    }
}

/// Writes without waiting until the socket takes no more; returns what it wrote.
fn fill_until_blocked(stream: &TcpStream) -> Vec<u8> {
    let mut written = Vec::new();
    let chunk: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8).collect();
    loop {
        match stream.try_write(&chunk) {
            Ok(n) => written.extend_from_slice(&chunk[..n]),
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return written,
            Err(error) => panic!("write failed: {error}"),
        }
        assert!(
            written.len() < FAR_MORE_THAN_BUFFERED,
            "the writer never blocked"
        );
    }
}

#[tokio::test]
async fn forwards_both_ways_and_counts_what_it_forwards() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut client = connect(&proxy).await;

    assert_eq!(round_trip(&mut client, b"hello").await, b"hello");

    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.connected, stats.live), (1, 1, 1));
    assert_eq!(stats.bytes_forwarded(Direction::ToTarget), 5);
    assert_eq!(stats.bytes_forwarded(Direction::ToClient), 5);
    assert_eq!(echo.connections(), 1);
}

#[tokio::test]
async fn delay_holds_each_chunk_for_at_least_the_delay() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut client = connect(&proxy).await;
    let delay = Duration::from_millis(50);
    proxy.delay(Flow::Both, delay);

    let started = std::time::Instant::now();
    assert_eq!(round_trip(&mut client, b"ping").await, b"ping");
    // A lower bound only: one delay each way, however slow the machine.
    assert!(started.elapsed() >= 2 * delay, "the delay was not applied");
}

#[tokio::test]
async fn a_held_chunk_is_released_when_the_delay_is_lifted() {
    let mut sink = Endpoint::sink().await;
    let proxy = FaultProxy::start(sink.addr).await;
    let mut client = connect(&proxy).await;
    proxy.delay(Flow::ToTarget, Duration::from_secs(3600));

    client.write_all(b"held").await.unwrap();
    let stats = within(
        "the proxy to read the chunk",
        proxy.wait_for(|s| s.bytes_read(Direction::ToTarget) == 4),
    )
    .await;
    assert_eq!(stats.bytes_forwarded(Direction::ToTarget), 0);
    assert_eq!(sink.received(), 0);

    proxy.delay(Flow::ToTarget, Duration::ZERO);
    sink.wait_received(4).await;
}

#[tokio::test]
async fn throttle_paces_the_bytes_and_keeps_them_intact() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut client = connect(&proxy).await;
    let rate = 20_000;
    proxy.throttle(Flow::ToTarget, rate);

    let message: Vec<u8> = (0..10_000).map(|i| (i % 251) as u8).collect();
    let started = std::time::Instant::now();
    assert_eq!(round_trip(&mut client, &message).await, message);
    // A lower bound only: 10,000 bytes at 20,000 bytes per second.
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "not throttled"
    );

    proxy.unthrottle(Flow::ToTarget);
    assert_eq!(round_trip(&mut client, b"free").await, b"free");
}

#[tokio::test]
async fn stalled_reads_fill_the_senders_window_until_resumed() {
    let mut sink = Endpoint::sink().await;
    let proxy = FaultProxy::start(sink.addr).await;
    proxy.stall_reads(Flow::ToTarget);
    let client = connect(&proxy).await;
    within("the proxy to stall", proxy.wait_for(|s| s.stalled == 1)).await;

    let written = fill_until_blocked(&client);
    assert!(!written.is_empty());
    assert_eq!(proxy.stats().bytes_read(Direction::ToTarget), 0);
    assert_eq!(sink.received(), 0);

    proxy.resume_reads(Flow::ToTarget);
    within("the proxy to resume", proxy.wait_for(|s| s.stalled == 0)).await;
    sink.wait_received(written.len() as u64).await;
}

#[tokio::test]
async fn a_frozen_connection_carries_nothing_until_thawed() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut client = connect(&proxy).await;
    assert_eq!(round_trip(&mut client, b"before").await, b"before");

    proxy.freeze();
    within("the proxy to freeze", proxy.wait_for(|s| s.stalled == 2)).await;
    let written = fill_until_blocked(&client);
    let stats = proxy.stats();
    assert_eq!(stats.bytes_read(Direction::ToTarget), 6);
    assert_eq!(stats.live, 1, "a frozen connection stays open");

    proxy.thaw();
    let mut back = vec![0; written.len()];
    within("the echo after the thaw", client.read_exact(&mut back))
        .await
        .unwrap();
    assert_eq!(back, written);
}

#[tokio::test]
async fn a_blackhole_accepts_but_never_connects_until_healed() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    proxy.blackhole();

    let mut held = connect(&proxy).await;
    held.write_all(b"anyone?").await.unwrap();
    let stats = within("the proxy to accept", proxy.wait_for(|s| s.accepted == 1)).await;
    assert_eq!(stats.connected, 0);
    assert_eq!(stats.bytes_read(Direction::ToTarget), 0);
    assert_eq!(echo.connections(), 0);

    proxy.heal();
    assert_closed(&mut held).await;
    let mut client = connect(&proxy).await;
    assert_eq!(round_trip(&mut client, b"hello").await, b"hello");
    assert_eq!(echo.connections(), 1);
}

#[tokio::test]
async fn drop_connections_closes_live_ones_and_serves_new_ones() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut first = connect(&proxy).await;
    assert_eq!(round_trip(&mut first, b"one").await, b"one");

    proxy.drop_connections();
    assert_closed(&mut first).await;
    within("the proxy to let go", proxy.wait_for(|s| s.live == 0)).await;

    let mut second = connect(&proxy).await;
    assert_eq!(round_trip(&mut second, b"two").await, b"two");
    assert_eq!(proxy.stats().accepted, 2);
}

#[tokio::test]
async fn a_cut_closes_everything_until_healed() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut before = connect(&proxy).await;
    assert_eq!(round_trip(&mut before, b"one").await, b"one");

    proxy.cut();
    assert_closed(&mut before).await;
    let mut during = connect(&proxy).await;
    let _ = during.write_all(b"two").await;
    assert_closed(&mut during).await;
    let stats = proxy.stats();
    assert_eq!((stats.accepted, stats.connected), (2, 1));
    assert_eq!(echo.connections(), 1);

    proxy.heal();
    let mut after = connect(&proxy).await;
    assert_eq!(round_trip(&mut after, b"three").await, b"three");
}

#[tokio::test]
async fn drop_probability_one_closes_a_connection_at_its_first_chunk() {
    let mut sink = Endpoint::sink().await;
    let proxy = FaultProxy::start(sink.addr).await;
    proxy.drop_probability(1.0);
    let mut dropped = connect(&proxy).await;
    dropped.write_all(b"lost").await.unwrap();
    assert_closed(&mut dropped).await;
    assert_eq!(proxy.stats().bytes_forwarded(Direction::ToTarget), 0);

    proxy.drop_probability(0.0);
    let mut kept = connect(&proxy).await;
    kept.write_all(b"kept").await.unwrap();
    sink.wait_received(4).await;
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_connections() {
    let echo = Endpoint::echo().await;
    let proxy = FaultProxy::start(echo.addr).await;
    let mut client = connect(&proxy).await;
    assert_eq!(round_trip(&mut client, b"hello").await, b"hello");

    drop(proxy);
    assert_closed(&mut client).await;
}
