//! Byte-level tests of `FrameCodec`: framing, limits, bad input.

mod support;

use bytes::{BufMut, BytesMut};
use proscenium_net::{wire, Frame, FrameCodec, FrameError, WireError};
use proscenium_runtime::{ActorId, AskError, NodeId};
use support::{actor, every_frame_kind, seal};
use tokio_util::codec::{Decoder, Encoder};

/// The bytes of `frame` as it goes on the wire, header included.
fn encoded(frame: &Frame) -> BytesMut {
    let mut buf = BytesMut::new();
    FrameCodec::new()
        .encode(frame, &mut buf)
        .expect("test frame encodes");
    buf
}

#[test]
fn decode_empty_buffer_waits() {
    let mut buf = BytesMut::new();
    assert!(FrameCodec::new().decode(&mut buf).unwrap().is_none());
}

#[test]
fn decode_split_header() {
    let full = encoded(&Frame::Heartbeat);
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&full[..2]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&full[2..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::Heartbeat));
}

#[test]
fn decode_truncated_frame_waits() {
    let full = encoded(&Frame::Stop {
        to: actor(1),
        seal: seal(1),
    });
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::from(&full[..full.len() - 1]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(codec.decode(&mut buf).unwrap().is_none());
    buf.extend_from_slice(&full[full.len() - 1..]);
    assert_eq!(
        codec.decode(&mut buf).unwrap(),
        Some(Frame::Stop {
            to: actor(1),
            seal: seal(1),
        })
    );
}

#[test]
fn decode_one_byte_at_a_time() {
    let frame = Frame::Kill {
        to: actor(9),
        seal: seal(9),
    };
    let (mut codec, mut buf) = (FrameCodec::new(), BytesMut::new());
    let mut out = Vec::new();
    for byte in encoded(&frame) {
        buf.put_u8(byte);
        out.extend(codec.decode(&mut buf).unwrap());
    }
    assert_eq!(out, vec![frame]);
}

#[test]
fn decode_two_frames_in_one_read() {
    let mut buf = encoded(&Frame::Heartbeat);
    buf.extend_from_slice(&encoded(&Frame::Goodbye));
    let mut codec = FrameCodec::new();
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::Heartbeat));
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::Goodbye));
    assert!(codec.decode(&mut buf).unwrap().is_none());
}

#[test]
fn decode_oversized_frame_is_error() {
    let mut codec = FrameCodec::with_max_frame_length(100);
    let mut buf = BytesMut::from(&[0, 0, 0, 101][..]);
    let err = codec.decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Oversized { len: 101, max: 100 }),
        "{err:?}"
    );
}

#[test]
fn decode_oversized_header_reserves_nothing() {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::with_capacity(16);
    buf.put_u32(u32::MAX);
    assert!(codec.decode(&mut buf).is_err());
    assert!(buf.capacity() <= 16, "reserved {} bytes", buf.capacity());
}

#[test]
fn decode_reserves_at_most_the_announced_length() {
    let mut codec = FrameCodec::with_max_frame_length(1024);
    let mut buf = BytesMut::new();
    buf.put_u32(1024);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert!(
        buf.capacity() <= 2 * 1024,
        "reserved {} bytes",
        buf.capacity()
    );
}

#[test]
fn decode_frame_of_exactly_max_length_is_accepted() {
    let frame = Frame::Stop {
        to: actor(1),
        seal: seal(1),
    };
    let len = encoded(&frame).len() - proscenium_net::HEADER_LEN;
    let mut buf = encoded(&frame);
    let decoded = FrameCodec::with_max_frame_length(len).decode(&mut buf);
    assert_eq!(decoded.unwrap(), Some(frame));
}

#[test]
fn decode_garbage_payload_is_error() {
    let mut buf = BytesMut::from(&[0, 0, 0, 3, 0xde, 0xad, 0xbe][..]);
    let err = FrameCodec::new().decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameError::Decode(_)), "{err:?}");
}

#[test]
fn decode_unknown_frame_kind_is_error() {
    // Variant index 200: no such frame kind.
    let mut buf = BytesMut::from(&[0, 0, 0, 1, 200][..]);
    let err = FrameCodec::new().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Decode(WireError::Malformed { .. })),
        "{err:?}"
    );
}

#[test]
fn decode_trailing_bytes_in_frame_is_error() {
    // A heartbeat (kind 8) followed by a stray byte inside the same frame.
    let mut buf = BytesMut::from(&[0, 0, 0, 2, 8, 0][..]);
    let err = FrameCodec::new().decode(&mut buf).unwrap_err();
    assert!(matches!(err, FrameError::Decode(_)), "{err:?}");
}

#[test]
fn decode_empty_frame_is_error() {
    let mut buf = BytesMut::from(&[0, 0, 0, 0][..]);
    let err = FrameCodec::new().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Decode(WireError::Truncated)),
        "{err:?}"
    );
}

#[test]
fn decode_payload_length_past_frame_end_is_error() {
    // A tell whose payload claims 100 bytes inside a 30-byte frame.
    let mut body = wire::encode(
        &Frame::Tell {
            to: actor(1),
            seal: seal(1),
            tag: proscenium_net::MessageTag::new(7),
            payload: bytes::Bytes::from_static(&[1]),
        },
        1024,
    )
    .unwrap();
    let last = body.len() - 2;
    body[last] = 100;
    let mut buf = BytesMut::new();
    buf.put_u32(body.len() as u32);
    buf.extend_from_slice(&body);
    let err = FrameCodec::new().decode(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Decode(WireError::Truncated)),
        "{err:?}"
    );
}

#[test]
fn decode_frame_that_would_outgrow_its_memory_budget_is_error() {
    // A reply whose deadlock cycle holds ids of three zero bytes each: the
    // frame fits its 64 KiB limit, the ids would take eight times that.
    let max = 64 * 1024;
    let zero = ActorId::new(NodeId::new(0, 0), 0);
    let frame = Frame::Reply {
        correlation: 1,
        result: Err(AskError::Deadlock {
            cycle: vec![zero; (max - 16) / 3],
        }),
    };
    let mut codec = FrameCodec::with_max_frame_length(max);
    let mut buf = BytesMut::new();
    codec.encode(&frame, &mut buf).unwrap();
    let budget = (max as u64) * wire::DECODE_MEMORY_FACTOR;
    let err = codec.decode(&mut buf).map(|frame| frame.map(|f| f.kind()));
    assert!(
        matches!(
            err,
            Err(FrameError::Decode(WireError::MemoryLimitExceeded { budget: b })) if b == budget
        ),
        "{err:?}"
    );
}

#[test]
fn decode_eof_mid_frame_is_truncated() {
    let full = encoded(&Frame::Goodbye);
    let mut buf = BytesMut::from(&full[..3]);
    let err = FrameCodec::new().decode_eof(&mut buf).unwrap_err();
    assert!(
        matches!(err, FrameError::Truncated { buffered: 3 }),
        "{err:?}"
    );
}

#[test]
fn decode_eof_on_frame_boundary_is_clean() {
    let mut buf = encoded(&Frame::Goodbye);
    let mut codec = FrameCodec::new();
    assert_eq!(codec.decode_eof(&mut buf).unwrap(), Some(Frame::Goodbye));
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn encode_then_decode_every_frame_kind() {
    let mut codec = FrameCodec::new();
    let mut buf = BytesMut::new();
    for frame in every_frame_kind() {
        codec.encode(&frame, &mut buf).unwrap();
    }
    for frame in every_frame_kind() {
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(frame));
    }
    assert!(buf.is_empty());
}

#[test]
fn encode_oversized_frame_is_error_and_writes_nothing() {
    let frame = Frame::Tell {
        to: actor(1),
        seal: seal(1),
        tag: proscenium_net::MessageTag::new(1),
        payload: bytes::Bytes::from(vec![0; 200]),
    };
    let mut buf = BytesMut::new();
    let err = FrameCodec::with_max_frame_length(100)
        .encode(frame, &mut buf)
        .unwrap_err();
    assert!(
        matches!(err, FrameError::Oversized { max: 100, .. }),
        "{err:?}"
    );
    assert!(buf.is_empty());
}

#[test]
fn encode_heartbeat_bytes_are_stable() {
    // Length 1, then frame kind 8 (heartbeat): part of protocol version 1.
    assert_eq!(&encoded(&Frame::Heartbeat)[..], &[0, 0, 0, 1, 8]);
}

#[test]
fn encode_every_frame_kind_bytes_are_stable() {
    // The variant index (first body byte) of each kind is frozen; see `Frame`.
    let kinds: Vec<u8> = every_frame_kind()
        .iter()
        .map(|frame| encoded(frame)[proscenium_net::HEADER_LEN])
        .collect();
    assert_eq!(
        kinds,
        vec![0, 1, 2, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16, 21, 22, 23]
    );
}

#[test]
fn encode_stop_bytes_are_stable() {
    // Kind 3, then the actor id <1.abc.3> as varints: node 1,
    // incarnation 0xabc (u16 marker 251, little endian), sequence 3; then
    // the seal's eight bytes as they are.
    let bytes = encoded(&Frame::Stop {
        to: actor(3),
        seal: proscenium_runtime::remote::Seal::new(*b"sealed!!"),
    });
    let mut expected = vec![0, 0, 0, 14, 3, 1, 251, 0xbc, 0x0a, 3];
    expected.extend_from_slice(b"sealed!!");
    assert_eq!(&bytes[..], &expected[..]);
}
