//! Helpers shared by the integration tests of `proscenium-net`.
#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use proscenium_net::{Frame, MessageTag};
use proscenium_runtime::{ActorId, AskError, NodeId, StopReason};

/// An actor id on node 1, incarnation `0xabc`.
pub fn actor(seq: u64) -> ActorId {
    ActorId::new(NodeId::new(1, 0xabc), seq)
}

/// One frame of every kind, with non-trivial contents.
pub fn every_frame_kind() -> Vec<Frame> {
    let tag = MessageTag::from_name("test.Ping");
    vec![
        Frame::Tell {
            to: actor(1),
            tag,
            payload: Bytes::from_static(b"hello"),
        },
        Frame::Ask {
            to: actor(2),
            correlation: 42,
            tag,
            payload: Bytes::from_static(&[0, 1, 2, 255]),
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
        Frame::Stop { to: actor(3) },
        Frame::Kill { to: actor(4) },
        Frame::Watch {
            target: actor(5),
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
    ]
}
