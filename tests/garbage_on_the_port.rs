//! Bad bytes on a node's port, before or after a handshake, close at most
//! that one connection: the node keeps serving its other peers, whose
//! links are not even interrupted, and accepts new ones.

mod support_cluster;

use std::net::SocketAddr;

use bytes::Bytes;
use proscenium::net::encryption::EncryptedStream;
use proscenium::net::handshake::{self, ClusterSecret, HandshakeConfig};
use proscenium::net::{wire, Frame, FrameCodec, MessageTag, RemoteMessage};
use proscenium::prelude::*;
use proscenium::runtime::remote::Seal;
use proscenium::NodeId;
use support_cluster::cluster::{self, Add, Counter, Values};
use support_cluster::{test_node, within, NodeProcess};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Deterministic pseudo-random bytes (xorshift), different per seed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes `bytes` (then ends the write side if `eof`) and reads until the
/// node closes the connection: the sign that it has dealt with them.
async fn send_and_wait_for_close<S>(mut stream: S, bytes: &[u8], eof: bool)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The node may close (and reset) before all is written; that is fine.
    let _ = stream.write_all(bytes).await;
    let _ = stream.flush().await;
    if eof {
        let _ = stream.shutdown().await;
    }
    within("the node to close the connection", async {
        let mut sink = [0u8; 4096];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// A length-prefixed frame around `body`, as `FrameCodec` writes it.
fn framed(body: &[u8]) -> Vec<u8> {
    let mut bytes = u32::try_from(body.len()).unwrap().to_be_bytes().to_vec();
    bytes.extend_from_slice(body);
    bytes
}

/// Runs a real handshake with the cluster secret as node `name`, and
/// returns the stream behind the framing: sealed, so what a test writes
/// reaches the node's frame decoder as it was written.
async fn authenticated(addr: SocketAddr, name: &str, number: u64) -> EncryptedStream<TcpStream> {
    let secret = ClusterSecret::allowing_weak(cluster::secret()).expect("secret");
    let config = HandshakeConfig::new(name, NodeId::new(number, 1), secret).expect("config");
    let stream = TcpStream::connect(addr).await.expect("connect");
    let established = handshake::initiate(stream, &config, FrameCodec::new())
        .await
        .expect("handshake with the right secret");
    let parts = established.framed.into_parts();
    assert!(parts.read_buf.is_empty() || parts.read_buf.len() < 64);
    parts.io
}

/// Asks b's counter for its values through `a`'s link; it must be `expected`.
/// Looks `name` up over a raw authenticated stream, as a peer that was
/// told the name: the actor's id and the seal that reaches it.
async fn lookup_raw(stream: &mut EncryptedStream<TcpStream>, name: &str) -> (ActorId, Seal) {
    let lookup = Frame::Lookup {
        correlation: 77,
        name: name.to_owned(),
    };
    let body = wire::encode(&lookup, 1 << 20).expect("encode");
    stream.write_all(&framed(&body)).await.expect("write");
    stream.flush().await.expect("flush");
    within("the lookup's answer", async {
        loop {
            let len = stream.read_u32().await.expect("a frame header");
            let mut body = vec![0; len as usize];
            stream.read_exact(&mut body).await.expect("a frame body");
            if let Ok(Frame::Found { actor, .. }) = wire::decode::<Frame>(&body, 1 << 20) {
                let (id, seal, _) = actor.expect("the name is registered");
                return (id, seal);
            }
        }
    })
    .await
}

async fn still_serving(counter: &ActorRef<Counter>, expected: &[u64]) {
    let values = within("b to answer", counter.ask(Values)).await;
    assert_eq!(values.as_deref(), Ok(expected));
}

#[tokio::test]
async fn garbage_before_the_handshake_leaves_the_node_serving() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let mut events = a.events();
    let counter = a.lookup::<Counter>("counter").await.expect("found on b");
    counter.tell(Add(1)).await.expect("tell");
    still_serving(&counter, &[1]).await;

    let attacks: Vec<(&str, Vec<u8>, bool)> = vec![
        ("random bytes", noise(1, 4096), true),
        ("more random bytes, left open", noise(2, 64), false),
        (
            "an oversized length prefix",
            vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3],
            false,
        ),
        (
            "a truncated frame",
            {
                let mut bytes = 200u32.to_be_bytes().to_vec();
                bytes.extend_from_slice(&noise(3, 20));
                bytes
            },
            true,
        ),
        ("an empty frame", vec![0, 0, 0, 0], true),
        ("http", b"GET / HTTP/1.1\r\nHost: b\r\n\r\n".to_vec(), false),
    ];
    for (n, (what, bytes, eof)) in attacks.into_iter().enumerate() {
        let stream = TcpStream::connect(b.addr).await.expect("connect raw");
        send_and_wait_for_close(stream, &bytes, eof).await;
        let value = 10 + n as u64;
        counter
            .tell(Add(value))
            .await
            .unwrap_or_else(|_| panic!("tell after {what}"));
    }
    still_serving(&counter, &[1, 10, 11, 12, 13, 14, 15]).await;

    // A node connecting after all that is served too.
    let late = test_node("late").await;
    assert_eq!(
        late.connect(b.addr).await.expect("connect after garbage"),
        b_id
    );
    let seen = late.lookup::<Counter>("counter").await.expect("found");
    still_serving(&seen, &[1, 10, 11, 12, 13, 14, 15]).await;

    // a's link was never interrupted: same peer run, no NodeDown.
    assert_eq!(
        a.peers().iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [b_id]
    );
    assert!(events.try_recv().is_err(), "a saw a node event");
    late.shutdown().await;
    a.shutdown().await;
}

#[tokio::test]
async fn garbage_after_the_handshake_closes_only_that_link() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let mut events = a.events();
    let counter = a.lookup::<Counter>("counter").await.expect("found on b");
    let mut expected = Vec::new();

    let bad_frames: Vec<(&str, Vec<u8>, bool)> = vec![
        ("random bytes", noise(4, 4096), true),
        ("a frame of random bytes", framed(&noise(5, 300)), false),
        (
            "an oversized length prefix",
            vec![0x7f, 0xff, 0xff, 0xff],
            false,
        ),
        (
            "a truncated frame",
            {
                let mut bytes = 1000u32.to_be_bytes().to_vec();
                bytes.extend_from_slice(&noise(6, 10));
                bytes
            },
            true,
        ),
    ];
    for (n, (what, bytes, eof)) in bad_frames.into_iter().enumerate() {
        // Each a fresh "mallory" run, authenticated with the right secret.
        let stream = authenticated(b.addr, "mallory", 0xbad).await;
        // Traffic from a interleaved with the attack.
        let value = 100 + n as u64;
        counter
            .tell(Add(value))
            .await
            .unwrap_or_else(|_| panic!("tell before {what}"));
        expected.push(value);
        send_and_wait_for_close(stream, &bytes, eof).await;
        counter
            .tell(Add(value + 50))
            .await
            .unwrap_or_else(|_| panic!("tell after {what}"));
        expected.push(value + 50);
        still_serving(&counter, &expected).await;
    }

    // a's link was never interrupted: same peer run, no NodeDown.
    assert_eq!(
        a.peers().iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [b_id]
    );
    assert!(events.try_recv().is_err(), "a saw a node event");
    a.shutdown().await;
}

/// Well-formed frames that b cannot act on: an unknown tag, an undecodable
/// payload, an actor that does not exist. Each is answered or dropped, and
/// the connection stays usable.
#[tokio::test]
async fn unknown_tags_and_undecodable_payloads_are_refused_without_closing() {
    let b = NodeProcess::start("b").await;
    let a = test_node("a").await;
    let b_id = a.connect(b.addr).await.expect("connect to b");
    let counter = a.lookup::<Counter>("counter").await.expect("found on b");
    let mut stream = authenticated(b.addr, "prober", 0x9e0b).await;
    let (id, seal) = lookup_raw(&mut stream, "counter").await;
    assert_eq!(id, counter.id());

    let frames = [
        Frame::Tell {
            to: counter.id(),
            seal,
            tag: MessageTag::from_name("no such message"),
            payload: Bytes::from_static(b"whatever"),
        },
        Frame::Tell {
            to: counter.id(),
            seal,
            tag: MessageTag::from_name(Add::TAG),
            payload: Bytes::new(),
        },
        Frame::Ask {
            to: counter.id(),
            seal,
            correlation: 1,
            tag: MessageTag::from_name("no such message"),
            payload: Bytes::new(),
            waits: Vec::new(),
        },
        Frame::Ask {
            to: counter.id(),
            seal,
            correlation: 2,
            tag: MessageTag::from_name(Values::TAG),
            payload: Bytes::from(noise(7, 3)),
            waits: Vec::new(),
        },
        Frame::Ask {
            to: ActorId::new(b_id, u64::MAX),
            seal,
            correlation: 3,
            tag: MessageTag::from_name(Values::TAG),
            payload: Bytes::new(),
            waits: Vec::new(),
        },
        // A valid ask, last: its answer means every frame above was read.
        Frame::Ask {
            to: counter.id(),
            seal,
            correlation: 4,
            tag: MessageTag::from_name(Values::TAG),
            payload: Bytes::from(wire::encode(&Values, 1024).unwrap()),
            waits: Vec::new(),
        },
    ];
    for frame in &frames {
        let body = wire::encode(frame, 1 << 20).expect("encode");
        stream.write_all(&framed(&body)).await.expect("write");
        stream.flush().await.expect("flush");
    }
    let mut replies = Vec::new();
    within("b's replies", async {
        while replies.len() < 4 {
            let mut header = [0u8; 4];
            stream
                .read_exact(&mut header)
                .await
                .expect("a frame header");
            let mut body = vec![0; u32::from_be_bytes(header) as usize];
            stream.read_exact(&mut body).await.expect("a frame body");
            match wire::decode::<Frame>(&body, 1 << 20).expect("a frame") {
                Frame::Reply {
                    correlation,
                    result,
                } => replies.push((correlation, result)),
                // Keep-alives, and the acknowledgement of the tells.
                Frame::Heartbeat | Frame::Ack { .. } => {}
                other => panic!("unexpected {other:?}"),
            }
        }
    })
    .await;
    replies.sort_by_key(|(correlation, _)| *correlation);
    assert!(
        matches!(replies[0], (1, Err(AskError::Remote(_)))),
        "{:?}",
        replies[0]
    );
    assert!(
        matches!(replies[1], (2, Err(AskError::Remote(_)))),
        "{:?}",
        replies[1]
    );
    assert!(
        matches!(replies[2], (3, Err(AskError::Stopped))),
        "{:?}",
        replies[2]
    );
    let (4, Ok(values)) = &replies[3] else {
        panic!("{:?}", replies[3])
    };
    let values: Vec<u64> = wire::decode(values, 1024).expect("values");
    assert_eq!(values, Vec::<u64>::new(), "a bad tell reached the counter");
    still_serving(&counter, &[]).await;
    a.shutdown().await;
}
