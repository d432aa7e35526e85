//! Property tests: arbitrary bytes, split at arbitrary points, into the frame
//! decoder and the handshake never panic and never make them reserve more
//! than their limits; valid frames round-trip however they are split.

mod support;

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;
use proscenium_net::encryption::Encryption;
use proscenium_net::handshake::{
    self, Handshake, HandshakeMessage, Hello, Nonce, Outcome, Proof, RejectReason, MAGIC,
};
use proscenium_net::{
    Frame, FrameCodec, FrameError, MessageTag, HEADER_LEN, MAX_ASK_WAITS, PROTOCOL_VERSION,
};
use proscenium_runtime::remote::{Seal, WaitFor};
use proscenium_runtime::{ActorId, AskError, NodeId, StopReason};
use support::handshake::{config, secret};
use tokio::io::AsyncWriteExt;
use tokio_util::codec::{Decoder, Encoder};

/// A small limit, so arbitrary inputs reach it often.
const MAX: usize = 256;

fn config_cases() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ===== strategies =====

fn text() -> impl Strategy<Value = String> {
    vec(any::<char>(), 0..12).prop_map(String::from_iter)
}

fn seal() -> impl Strategy<Value = Seal> {
    any::<[u8; 8]>().prop_map(Seal::new)
}

fn actor_id() -> impl Strategy<Value = ActorId> {
    (any::<u64>(), any::<u64>(), any::<u64>())
        .prop_map(|(node, inc, seq)| ActorId::new(NodeId::new(node, inc), seq))
}

fn waits() -> impl Strategy<Value = Vec<WaitFor>> {
    vec(
        (actor_id(), actor_id()).prop_map(|(asker, callee)| WaitFor { asker, callee }),
        0..MAX_ASK_WAITS * 2,
    )
}

fn payload() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn ask_error() -> impl Strategy<Value = AskError> {
    prop_oneof![
        Just(AskError::Stopped),
        any::<u32>().prop_map(|ms| AskError::Timeout(Duration::from_millis(ms.into()))),
        text().prop_map(|reason| AskError::Failed { reason }),
        vec(actor_id(), 0..4).prop_map(|cycle| AskError::Deadlock { cycle }),
        Just(AskError::NodeDown),
        text().prop_map(|message| AskError::NotRemote { message }),
        text().prop_map(AskError::Remote),
    ]
}

fn stop_reason() -> impl Strategy<Value = StopReason> {
    prop_oneof![
        Just(StopReason::Normal),
        Just(StopReason::Killed),
        text().prop_map(|text| StopReason::Failed(text.into())),
        Just(StopReason::NodeDown),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    let tag = any::<u64>().prop_map(MessageTag::new);
    prop_oneof![
        (actor_id(), seal(), tag.clone(), payload()).prop_map(|(to, seal, tag, payload)| {
            Frame::Tell {
                to,
                seal,
                tag,
                payload,
            }
        }),
        (actor_id(), seal(), any::<u64>(), tag, payload(), waits()).prop_map(
            |(to, seal, correlation, tag, payload, waits)| Frame::Ask {
                to,
                seal,
                correlation,
                tag,
                payload,
                waits,
            }
        ),
        (
            any::<u64>(),
            prop_oneof![payload().prop_map(Ok), ask_error().prop_map(Err)]
        )
            .prop_map(|(correlation, result)| Frame::Reply {
                correlation,
                result
            }),
        (actor_id(), seal()).prop_map(|(to, seal)| Frame::Stop { to, seal }),
        (actor_id(), seal()).prop_map(|(to, seal)| Frame::Kill { to, seal }),
        (actor_id(), seal(), actor_id()).prop_map(|(target, seal, watcher)| Frame::Watch {
            target,
            seal,
            watcher
        }),
        (actor_id(), actor_id()).prop_map(|(target, watcher)| Frame::Unwatch { target, watcher }),
        (actor_id(), stop_reason()).prop_map(|(id, reason)| Frame::Terminated { id, reason }),
        Just(Frame::Heartbeat),
        Just(Frame::Goodbye),
        actor_id().prop_map(|actor| Frame::Pause { actor }),
        actor_id().prop_map(|actor| Frame::Resume { actor }),
        any::<u64>().prop_map(|tells| Frame::Ack { tells }),
        any::<u64>().prop_map(|correlation| Frame::Inspect { correlation }),
        any::<u64>().prop_map(|stamp| Frame::Ping { stamp }),
        any::<u64>().prop_map(|stamp| Frame::Pong { stamp }),
        (any::<u64>(), payload()).prop_map(|(correlation, snapshot)| Frame::Inspected {
            correlation,
            snapshot
        }),
        (actor_id(), seal(), actor_id(), any::<u64>()).prop_map(|(to, seal, from, token)| {
            Frame::Link {
                to,
                seal,
                from,
                token,
            }
        }),
        (actor_id(), actor_id(), any::<u64>()).prop_map(|(to, from, token)| Frame::Unlink {
            to,
            from,
            token
        }),
        (actor_id(), actor_id(), any::<u64>(), stop_reason()).prop_map(
            |(to, from, token, reason)| Frame::LinkDown {
                to,
                from,
                token,
                reason
            }
        ),
    ]
}

fn handshake_message() -> impl Strategy<Value = HandshakeMessage> {
    let hello = (
        any::<bool>(),
        any::<u16>(),
        text(),
        any::<(u64, u64)>(),
        any::<[u8; 32]>(),
    );
    prop_oneof![
        hello.prop_map(|(magic, version, name, (node, inc), nonce)| {
            HandshakeMessage::Hello(Hello {
                magic: if magic { MAGIC } else { *b"XXXX" },
                version: if version % 2 == 0 {
                    PROTOCOL_VERSION
                } else {
                    version
                },
                name,
                node: NodeId::new(node, inc),
                nonce: Nonce::from_bytes(nonce),
                heartbeat_ms: 1000,
                encryption: if magic {
                    Encryption::Aes256Gcm
                } else {
                    Encryption::InsecurePlaintext
                },
            })
        }),
        any::<[u8; 32]>().prop_map(|mac| HandshakeMessage::Proof(Proof { mac })),
        prop_oneof![
            any::<u16>().prop_map(|version| RejectReason::VersionMismatch { version }),
            Just(RejectReason::AuthFailed),
            Just(RejectReason::ProtocolViolation),
            Just(RejectReason::EncryptionMismatch {
                encryption: Encryption::InsecurePlaintext
            }),
        ]
        .prop_map(HandshakeMessage::Reject),
    ]
}

/// `bytes` cut at the given points (taken modulo its length), in order.
fn split(bytes: &[u8], mut cuts: Vec<usize>) -> Vec<&[u8]> {
    cuts.iter_mut().for_each(|c| *c %= bytes.len() + 1);
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for cut in cuts.into_iter().chain([bytes.len()]) {
        chunks.push(&bytes[start..cut]);
        start = cut;
    }
    chunks
}

/// Feeds `chunks` to a decoder the way `FramedRead` does, checking after
/// every call that the buffer never holds more room than the input plus one
/// frame could need. Returns the frames, and the error that ended it, if any.
fn feed(chunks: &[&[u8]], max: usize) -> (Vec<Frame>, Option<FrameError>) {
    let (mut codec, mut buf) = (FrameCodec::with_max_frame_length(max), BytesMut::new());
    let (mut frames, mut fed) = (Vec::new(), 0);
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        fed += chunk.len();
        loop {
            let decoded = codec.decode(&mut buf);
            let bound = 2 * (fed + HEADER_LEN + max) + 64;
            assert!(
                buf.capacity() <= bound,
                "reserved {} > {bound}",
                buf.capacity()
            );
            match decoded {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(Some(frame)) => frames.push(frame),
        Ok(None) => {}
        Err(e) => return (frames, Some(e)),
    }
    (frames, None)
}

// ===== frame decoder =====

proptest! {
    #![proptest_config(config_cases())]

    #[test]
    fn arbitrary_bytes_split_anywhere_never_panic(
        bytes in vec(any::<u8>(), 0..2048),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        feed(&split(&bytes, cuts), MAX);
    }

    #[test]
    fn valid_frames_round_trip_split_anywhere(
        frames in vec(frame(), 0..8),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let mut bytes = BytesMut::new();
        let mut codec = FrameCodec::new();
        for frame in &frames {
            codec.encode(frame, &mut bytes).unwrap();
        }
        let (decoded, error) = feed(&split(&bytes, cuts), proscenium_net::DEFAULT_MAX_FRAME_LENGTH);
        prop_assert!(error.is_none(), "{error:?}");
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn corrupted_frames_never_panic(
        frames in vec(frame(), 1..4),
        flips in vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in vec(any::<usize>(), 0..4),
    ) {
        let mut bytes = BytesMut::new();
        for frame in &frames {
            FrameCodec::new().encode(frame, &mut bytes).unwrap();
        }
        let len = bytes.len();
        for (at, value) in flips {
            bytes[at % len] ^= value;
        }
        feed(&split(&bytes, cuts), MAX);
    }

    #[test]
    fn oversized_length_prefix_is_rejected_before_allocation(len in (MAX as u32 + 1)..=u32::MAX) {
        let mut buf = BytesMut::with_capacity(HEADER_LEN);
        buf.put_u32(len);
        let result = FrameCodec::with_max_frame_length(MAX).decode(&mut buf);
        prop_assert!(matches!(result, Err(FrameError::Oversized { .. })), "{result:?}");
        prop_assert!(buf.capacity() <= 2 * HEADER_LEN);
    }
}

// ===== handshake =====

/// Runs `body` on a fresh single-threaded runtime with a paused clock.
fn block_on<F: std::future::Future>(body: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
        .block_on(body)
}

proptest! {
    #![proptest_config(config_cases())]

    #[test]
    fn arbitrary_bodies_never_establish_a_handshake(
        acceptor in any::<bool>(),
        bodies in vec(vec(any::<u8>(), 0..128), 1..6),
    ) {
        let config = config("b", 2, secret(7));
        let mut machine = if acceptor {
            Handshake::acceptor(&config, Nonce::from_bytes([2; 32]))
        } else {
            Handshake::initiator(&config, Nonce::from_bytes([2; 32])).0
        };
        for body in bodies {
            let outcome = machine.receive(&body).outcome;
            prop_assert!(!matches!(outcome, Outcome::Established(_)));
        }
    }

    #[test]
    fn arbitrary_messages_never_establish_a_handshake(
        acceptor in any::<bool>(),
        messages in vec(handshake_message(), 1..6),
    ) {
        let config = config("b", 2, secret(7));
        let mut machine = if acceptor {
            Handshake::acceptor(&config, Nonce::from_bytes([2; 32]))
        } else {
            Handshake::initiator(&config, Nonce::from_bytes([2; 32])).0
        };
        for message in messages {
            let Ok(body) = message.encode() else { continue };
            let outcome = machine.receive(&body).outcome;
            prop_assert!(!matches!(outcome, Outcome::Established(_)));
        }
    }

    #[test]
    fn arbitrary_bytes_into_the_handshake_driver_fail_cleanly(
        acceptor in any::<bool>(),
        bytes in vec(any::<u8>(), 0..2048),
        cuts in vec(any::<usize>(), 0..8),
    ) {
        let result = block_on(async {
            let config = config("b", 2, secret(7));
            let (mut peer, ours) = tokio::io::duplex(64 * 1024);
            let run = tokio::spawn(async move {
                if acceptor {
                    handshake::accept(ours, &config, FrameCodec::new()).await.map(|_| ())
                } else {
                    handshake::initiate(ours, &config, FrameCodec::new()).await.map(|_| ())
                }
            });
            for chunk in split(&bytes, cuts) {
                // The handshake may already have failed and closed its end.
                if peer.write_all(chunk).await.is_err() {
                    break;
                }
            }
            drop(peer);
            run.await
        });
        prop_assert!(matches!(result, Ok(Err(_))), "{result:?}");
    }
}
