//! The handshake over in-memory streams: success, every refusal, attacks.

mod support;

use std::time::Duration;

use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use proscenium_net::encryption::{EncryptedStream, Encryption};
use proscenium_net::handshake::{
    self, Handshake, HandshakeMessage, Hello, Nonce, Outcome, Proof, RejectReason, MAGIC,
};
use proscenium_net::{Frame, FrameCodec, FrameError, HandshakeError, PROTOCOL_VERSION};
use proscenium_runtime::NodeId;
use support::handshake::{config, recv, secret, send, send_raw};
use tokio::io::{duplex, AsyncWriteExt};

#[tokio::test]
async fn handshake_succeeds_and_frames_flow_both_ways() {
    let (a, b) = (config("a", 1, secret(7)), config("b", 2, secret(7)));
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &a, FrameCodec::new()),
        handshake::accept(right, &b, FrameCodec::new()),
    );
    let (mut dialed, mut accepted) = (dialed.unwrap(), accepted.unwrap());
    assert_eq!(
        (dialed.peer.name.as_str(), dialed.peer.node),
        ("b", NodeId::new(2, 1))
    );
    assert_eq!(
        (accepted.peer.name.as_str(), accepted.peer.node),
        ("a", NodeId::new(1, 1))
    );
    dialed.framed.send(Frame::Heartbeat).await.unwrap();
    assert_eq!(
        accepted.framed.next().await.unwrap().unwrap(),
        Frame::Heartbeat
    );
    accepted.framed.send(Frame::Goodbye).await.unwrap();
    assert_eq!(dialed.framed.next().await.unwrap().unwrap(), Frame::Goodbye);
}

#[tokio::test]
async fn frames_sent_with_the_last_proof_are_not_lost() {
    // A scripted acceptor writes its proof and a frame in one write, the
    // frame sealed with its session keys or, for plaintext, as it is.
    for encryption in [Encryption::Aes256Gcm, Encryption::InsecurePlaintext] {
        let a = config("a", 1, secret(7)).with_encryption(encryption);
        let b = config("b", 2, secret(7)).with_encryption(encryption);
        let (left, mut right) = duplex(4096);
        let dial =
            tokio::spawn(async move { handshake::initiate(left, &a, FrameCodec::new()).await });
        let mut acceptor = Handshake::acceptor(&b, Nonce::from_bytes([2; 32]));
        let hello = recv(&mut right).await.unwrap();
        send(
            &mut right,
            &acceptor.receive(&hello.encode().unwrap()).send.unwrap(),
        )
        .await;
        let proof = recv(&mut right).await.unwrap();
        let mine = acceptor.receive(&proof.encode().unwrap()).send.unwrap();
        let mut bytes = Vec::new();
        let body = mine.encode().unwrap();
        bytes.extend_from_slice(&(body.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&body);
        let heartbeat = [0, 0, 0, 1, 8];
        let mut stream = match acceptor.session_keys() {
            Some(keys) => EncryptedStream::encrypted(Vec::new(), keys, BytesMut::new()),
            None => EncryptedStream::plaintext(Vec::new()),
        };
        stream.write_all(&heartbeat).await.unwrap();
        stream.flush().await.unwrap();
        assert_eq!(
            stream.get_ref() == &heartbeat,
            encryption == Encryption::InsecurePlaintext
        );
        bytes.extend_from_slice(stream.get_ref());
        right.write_all(&bytes).await.unwrap();
        let mut dialed = dial.await.unwrap().unwrap();
        assert_eq!(
            dialed.framed.next().await.unwrap().unwrap(),
            Frame::Heartbeat,
            "{encryption}"
        );
    }
}

#[tokio::test]
async fn wrong_secret_is_rejected_on_both_sides() {
    let (a, b) = (config("a", 1, secret(7)), config("b", 2, secret(8)));
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &a, FrameCodec::new()),
        handshake::accept(right, &b, FrameCodec::new()),
    );
    assert!(
        matches!(dialed, Err(HandshakeError::ProofRejected)),
        "{dialed:?}"
    );
    assert!(
        matches!(accepted, Err(HandshakeError::BadProof)),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn peer_without_the_secret_gets_only_a_hello() {
    let b = config("b", 2, secret(8));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    let (mut intruder, hello) =
        Handshake::initiator(&config("x", 9, secret(1)), Nonce::from_bytes([9; 32]));
    send(&mut left, &hello).await;
    let reply = recv(&mut left).await.unwrap();
    assert!(matches!(reply, HandshakeMessage::Hello(_)));
    send(
        &mut left,
        &intruder.receive(&reply.encode().unwrap()).send.unwrap(),
    )
    .await;
    let rejection = recv(&mut left).await;
    assert_eq!(
        rejection,
        Some(HandshakeMessage::Reject(RejectReason::AuthFailed))
    );
    assert_eq!(recv(&mut left).await, None, "nothing after the rejection");
    assert!(matches!(
        acceptor.await.unwrap(),
        Err(HandshakeError::BadProof)
    ));
}

#[tokio::test]
async fn version_mismatch_is_reported_on_both_sides() {
    let a = config("a", 1, secret(7));
    let (ours, other) = (PROTOCOL_VERSION, PROTOCOL_VERSION + 1);
    let b = config("b", 2, secret(7)).with_protocol_version(other);
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &a, FrameCodec::new()),
        handshake::accept(right, &b, FrameCodec::new()),
    );
    let expected = |ours, theirs| move |e: &HandshakeError| matches!(e, HandshakeError::VersionMismatch { ours: o, theirs: t } if *o == ours && *t == theirs);
    assert!(
        dialed.as_ref().err().is_some_and(expected(ours, other)),
        "{dialed:?}"
    );
    assert!(
        accepted.as_ref().err().is_some_and(expected(other, ours)),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn version_mismatch_is_found_in_a_hello_of_unknown_layout() {
    let b = config("b", 2, secret(7));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    // Variant 0, the magic, version 99 (varint), then fields this version does not know.
    let mut body = vec![0];
    body.extend_from_slice(&MAGIC);
    body.extend_from_slice(&[99, 0xff, 0xff, 0xff]);
    send_raw(&mut left, &body).await;
    let reply = recv(&mut left).await;
    assert_eq!(
        reply,
        Some(HandshakeMessage::Reject(RejectReason::VersionMismatch {
            version: PROTOCOL_VERSION
        }))
    );
    let err = acceptor.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: 99
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn replayed_initiator_messages_are_rejected() {
    let (a, b) = (config("a", 1, secret(7)), config("b", 2, secret(7)));
    // Record a genuine initiator's hello and proof from one handshake...
    let (mut initiator, hello) = Handshake::initiator(&a, Nonce::from_bytes([1; 32]));
    let mut first = Handshake::acceptor(&b, Nonce::from_bytes([2; 32]));
    let their_hello = first.receive(&hello.encode().unwrap()).send.unwrap();
    let proof = initiator
        .receive(&their_hello.encode().unwrap())
        .send
        .unwrap();
    // ...and replay them to the same acceptor in a new handshake.
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    send(&mut left, &hello).await;
    assert!(matches!(
        recv(&mut left).await,
        Some(HandshakeMessage::Hello(_))
    ));
    send(&mut left, &proof).await;
    assert_eq!(
        recv(&mut left).await,
        Some(HandshakeMessage::Reject(RejectReason::AuthFailed))
    );
    assert!(matches!(
        acceptor.await.unwrap(),
        Err(HandshakeError::BadProof)
    ));
}

#[tokio::test]
async fn reflected_proof_is_rejected() {
    // A fake acceptor without the secret sends the initiator's own proof back.
    let a = config("a", 1, secret(7));
    let (left, mut right) = duplex(4096);
    let dial = tokio::spawn(async move { handshake::initiate(left, &a, FrameCodec::new()).await });
    let Some(HandshakeMessage::Hello(theirs)) = recv(&mut right).await else {
        panic!("no hello")
    };
    let fake = Hello {
        name: "b".into(),
        node: NodeId::new(2, 1),
        nonce: Nonce::from_bytes([5; 32]),
        ..theirs
    };
    send(&mut right, &HandshakeMessage::Hello(fake)).await;
    let proof = recv(&mut right).await.unwrap();
    assert!(matches!(proof, HandshakeMessage::Proof(_)));
    send(&mut right, &proof).await;
    assert_eq!(
        recv(&mut right).await,
        Some(HandshakeMessage::Reject(RejectReason::AuthFailed))
    );
    assert!(matches!(dial.await.unwrap(), Err(HandshakeError::BadProof)));
}

#[tokio::test]
async fn reflected_hello_is_rejected() {
    // An attacker relays node a's outgoing hello into node a's own listener,
    // hoping to have a prove itself to itself.
    let a = config("a", 1, secret(7));
    let a2 = a.clone();
    let (out_a, mut attacker_out) = duplex(4096);
    let (mut attacker_in, in_a) = duplex(4096);
    let dial = tokio::spawn(async move { handshake::initiate(out_a, &a, FrameCodec::new()).await });
    let listen = tokio::spawn(async move { handshake::accept(in_a, &a2, FrameCodec::new()).await });
    let hello = recv(&mut attacker_out).await.unwrap();
    send(&mut attacker_in, &hello).await;
    assert_eq!(
        recv(&mut attacker_in).await,
        None,
        "the listener answers nothing"
    );
    assert!(matches!(
        listen.await.unwrap(),
        Err(HandshakeError::Reflected)
    ));
    drop(attacker_out);
    assert!(matches!(dial.await.unwrap(), Err(HandshakeError::Closed)));
}

#[tokio::test]
async fn forged_proof_is_rejected() {
    let b = config("b", 2, secret(7));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    let (_, hello) = Handshake::initiator(&config("x", 9, secret(7)), Nonce::from_bytes([3; 32]));
    send(&mut left, &hello).await;
    recv(&mut left).await.unwrap();
    send(&mut left, &HandshakeMessage::Proof(Proof { mac: [0; 32] })).await;
    assert!(matches!(
        acceptor.await.unwrap(),
        Err(HandshakeError::BadProof)
    ));
}

#[tokio::test(start_paused = true)]
async fn stalled_peer_hits_the_deadline() {
    let b = config("b", 2, secret(7)).with_timeout(Duration::from_secs(5));
    let (_silent, right) = duplex(4096);
    let result = handshake::accept(right, &b, FrameCodec::new()).await;
    assert!(matches!(result, Err(HandshakeError::Timeout(d)) if d == Duration::from_secs(5)));
}

#[tokio::test(start_paused = true)]
async fn peer_stalling_inside_a_message_hits_the_deadline() {
    let a = config("a", 1, secret(7)).with_timeout(Duration::from_secs(5));
    let (left, mut right) = duplex(4096);
    let dial = tokio::spawn(async move { handshake::initiate(left, &a, FrameCodec::new()).await });
    recv(&mut right).await.unwrap();
    right.write_all(&[0, 0, 0, 50, 0, 1]).await.unwrap(); // 2 of 50 bytes, then silence
    assert!(matches!(
        dial.await.unwrap(),
        Err(HandshakeError::Timeout(_))
    ));
}

#[tokio::test]
async fn garbage_instead_of_hello_is_rejected() {
    let b = config("b", 2, secret(7));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    left.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .await
        .unwrap();
    let err = acceptor.await.unwrap().unwrap_err();
    assert!(
        matches!(err, HandshakeError::Malformed(FrameError::Oversized { .. })),
        "{err:?}"
    );
    assert_eq!(recv(&mut left).await, None, "nothing is sent back");
}

#[tokio::test]
async fn hello_without_magic_is_not_proscenium() {
    let b = config("b", 2, secret(7));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    send_raw(&mut left, &[0, b'H', b'T', b'T', b'P', 1, 2, 3]).await;
    let err = acceptor.await.unwrap().unwrap_err();
    assert!(matches!(err, HandshakeError::NotProscenium), "{err:?}");
}

#[tokio::test]
async fn message_out_of_turn_is_a_protocol_violation() {
    let b = config("b", 2, secret(7));
    let (mut left, right) = duplex(4096);
    let acceptor =
        tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
    send(&mut left, &HandshakeMessage::Proof(Proof { mac: [1; 32] })).await;
    assert_eq!(
        recv(&mut left).await,
        Some(HandshakeMessage::Reject(RejectReason::ProtocolViolation))
    );
    let err = acceptor.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            HandshakeError::UnexpectedMessage {
                expected: "hello",
                got: "proof"
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn peer_closing_mid_handshake_is_closed() {
    let a = config("a", 1, secret(7));
    let (left, mut right) = duplex(4096);
    let dial = tokio::spawn(async move { handshake::initiate(left, &a, FrameCodec::new()).await });
    recv(&mut right).await.unwrap();
    drop(right);
    assert!(matches!(dial.await.unwrap(), Err(HandshakeError::Closed)));
}

#[test]
fn machine_refuses_everything_after_it_finished() {
    let b = config("b", 2, secret(7));
    let mut acceptor = Handshake::acceptor(&b, Nonce::from_bytes([2; 32]));
    let reject = HandshakeMessage::Reject(RejectReason::AuthFailed)
        .encode()
        .unwrap();
    assert!(matches!(
        acceptor.receive(&reject).outcome,
        Outcome::Failed(HandshakeError::ProofRejected)
    ));
    assert!(acceptor.is_finished());
    let t = acceptor.receive(&reject);
    assert!(t.send.is_none() && matches!(t.outcome, Outcome::Failed(_)));
}

#[tokio::test]
async fn each_side_learns_the_heartbeat_the_other_announced() {
    let a = config("a", 1, secret(7)).with_heartbeat(Duration::from_millis(250));
    let b = config("b", 2, secret(7)).with_heartbeat(Duration::from_secs(3));
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &a, FrameCodec::new()),
        handshake::accept(right, &b, FrameCodec::new()),
    );
    assert_eq!(dialed.unwrap().peer.heartbeat, Duration::from_secs(3));
    assert_eq!(accepted.unwrap().peer.heartbeat, Duration::from_millis(250));
}

#[tokio::test]
async fn a_hello_announcing_no_heartbeat_is_refused() {
    // A heartbeat of 0 would make the silence check spin; one of years would
    // keep a dead link up.
    for heartbeat_ms in [0, u32::MAX] {
        let b = config("b", 2, secret(7));
        let (mut left, right) = duplex(4096);
        let acceptor =
            tokio::spawn(async move { handshake::accept(right, &b, FrameCodec::new()).await });
        let hello = Hello {
            magic: MAGIC,
            version: PROTOCOL_VERSION,
            name: "a".into(),
            node: NodeId::new(1, 1),
            nonce: Nonce::from_bytes([1; 32]),
            heartbeat_ms,
            encryption: Encryption::Aes256Gcm,
        };
        send(&mut left, &HandshakeMessage::Hello(hello)).await;
        assert_eq!(
            recv(&mut left).await,
            Some(HandshakeMessage::Reject(RejectReason::ProtocolViolation))
        );
        let err = acceptor.await.unwrap().unwrap_err();
        assert!(
            matches!(err, HandshakeError::InvalidHello { .. }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_plaintext_node_and_an_encrypting_one_refuse_each_other_on_both_sides() {
    let a = config("a", 1, secret(7));
    let b = config("b", 2, secret(7)).with_encryption(Encryption::InsecurePlaintext);
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &a, FrameCodec::new()),
        handshake::accept(right, &b, FrameCodec::new()),
    );
    assert!(
        matches!(
            dialed,
            Err(HandshakeError::EncryptionMismatch {
                ours: Encryption::Aes256Gcm,
                theirs: Encryption::InsecurePlaintext
            })
        ),
        "{dialed:?}"
    );
    assert!(
        matches!(
            accepted,
            Err(HandshakeError::EncryptionMismatch {
                ours: Encryption::InsecurePlaintext,
                theirs: Encryption::Aes256Gcm
            })
        ),
        "{accepted:?}"
    );
}

#[tokio::test]
async fn nodes_on_either_side_of_a_secret_change_connect_and_talk_both_ways() {
    // Step 2 of a change: `a` has moved to the new secret (8), keeping the
    // old one (7) as previous; `b` still proves the old one, with the new
    // one as previous.
    let a = config("a", 1, secret(8)).with_previous_secret(secret(7));
    let b = config("b", 2, secret(7)).with_previous_secret(secret(8));
    for (dialer, acceptor) in [(&a, &b), (&b, &a)] {
        let (left, right) = duplex(4096);
        let (dialed, accepted) = tokio::join!(
            handshake::initiate(left, dialer, FrameCodec::new()),
            handshake::accept(right, acceptor, FrameCodec::new()),
        );
        let (mut dialed, mut accepted) = (dialed.unwrap(), accepted.unwrap());
        dialed.framed.send(Frame::Heartbeat).await.unwrap();
        accepted.framed.send(Frame::Goodbye).await.unwrap();
        assert_eq!(
            accepted.framed.next().await.unwrap().unwrap(),
            Frame::Heartbeat
        );
        assert_eq!(dialed.framed.next().await.unwrap().unwrap(), Frame::Goodbye);
    }
    // A node that only knows the old secret cannot dial one that has
    // moved on without keeping it.
    let moved_on = config("c", 3, secret(8));
    let (left, right) = duplex(4096);
    let (dialed, accepted) = tokio::join!(
        handshake::initiate(left, &b, FrameCodec::new()),
        handshake::accept(right, &moved_on, FrameCodec::new()),
    );
    assert!(
        matches!(dialed, Err(HandshakeError::ProofRejected)),
        "{dialed:?}"
    );
    assert!(
        matches!(accepted, Err(HandshakeError::BadProof)),
        "{accepted:?}"
    );
}
