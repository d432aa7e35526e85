//! Helpers shared by the integration tests of `proscenium-net`.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use proscenium_net::{Frame, MessageTag};
use proscenium_runtime::remote::{Seal, WaitFor};
use proscenium_runtime::{ActorId, AskError, NodeId, StopReason};

/// An actor id on node 1, incarnation `0xabc`.
pub fn actor(seq: u64) -> ActorId {
    ActorId::new(NodeId::new(1, 0xabc), seq)
}

/// A seal made of `byte` repeated.
pub fn seal(byte: u8) -> Seal {
    Seal::new([byte; 8])
}

/// One frame of every kind, with non-trivial contents.
pub fn every_frame_kind() -> Vec<Frame> {
    let tag = MessageTag::from_name("test.Ping");
    vec![
        Frame::Tell {
            to: actor(1),
            seal: seal(1),
            tag,
            payload: Bytes::from_static(b"hello"),
        },
        Frame::Ask {
            to: actor(2),
            seal: seal(2),
            correlation: 42,
            tag,
            payload: Bytes::from_static(&[0, 1, 2, 255]),
            waits: vec![
                WaitFor {
                    asker: actor(3),
                    callee: actor(2),
                },
                WaitFor {
                    asker: actor(4),
                    callee: actor(3),
                },
            ],
        },
        Frame::Reply {
            correlation: 42,
            result: Ok(Bytes::from_static(b"pong")),
        },
        Frame::Reply {
            correlation: 43,
            result: Err(AskError::Deadlock {
                cycle: vec![actor(1), actor(2)],
            }),
        },
        Frame::Stop {
            to: actor(3),
            seal: seal(3),
        },
        Frame::Kill {
            to: actor(4),
            seal: seal(4),
        },
        Frame::Watch {
            target: actor(5),
            seal: seal(5),
            watcher: actor(6),
        },
        Frame::Unwatch {
            target: actor(5),
            watcher: actor(6),
        },
        Frame::Terminated {
            id: actor(5),
            reason: StopReason::Failed("boom".into()),
        },
        Frame::Heartbeat,
        Frame::Goodbye,
        Frame::Pause { actor: actor(7) },
        Frame::Resume { actor: actor(7) },
        Frame::Ack { tells: 300 },
        Frame::Link {
            to: actor(8),
            seal: seal(8),
            from: actor(9),
            token: 17,
        },
        Frame::Unlink {
            to: actor(8),
            from: actor(9),
            token: 17,
        },
        Frame::LinkDown {
            to: actor(8),
            from: actor(9),
            token: 17,
            reason: StopReason::Failed("linked and lost".into()),
        },
    ]
}

pub mod handshake {
    //! Building configs, and a scripted peer that speaks handshake messages by hand.

    use proscenium_net::handshake::{ClusterSecret, HandshakeConfig, HandshakeMessage};
    use proscenium_runtime::NodeId;
    use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

    /// A secret made of `byte` repeated.
    pub fn secret(byte: u8) -> ClusterSecret {
        ClusterSecret::new(vec![byte; 32]).expect("32 bytes is long enough")
    }

    /// A config for node `node` (incarnation 1) named `name`.
    pub fn config(name: &str, node: u64, secret: ClusterSecret) -> HandshakeConfig {
        HandshakeConfig::new(name, NodeId::new(node, 1), secret).expect("valid test config")
    }

    /// Writes one handshake message, framed.
    pub async fn send<S: AsyncWrite + Unpin>(io: &mut S, message: &HandshakeMessage) {
        let body = message.encode().expect("test message encodes");
        send_raw(io, &body).await;
    }

    /// Writes `body` as one frame.
    pub async fn send_raw<S: AsyncWrite + Unpin>(io: &mut S, body: &[u8]) {
        let len = u32::try_from(body.len()).expect("small test frame");
        io.write_all(&len.to_be_bytes()).await.expect("peer open");
        io.write_all(body).await.expect("peer open");
    }

    /// Reads one handshake message, or `None` at the end of the stream.
    pub async fn recv<S: AsyncRead + Unpin>(io: &mut S) -> Option<HandshakeMessage> {
        let mut header = [0; 4];
        io.read_exact(&mut header).await.ok()?;
        let mut body = vec![0; u32::from_be_bytes(header) as usize];
        io.read_exact(&mut body).await.ok()?;
        Some(HandshakeMessage::decode(&body).expect("well-formed message"))
    }
}
