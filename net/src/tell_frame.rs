//! [`Frame::Tell`] encoded and decoded by hand, byte for byte as
//! [`wire`](crate::wire) (bincode) does it, because tells are most of the
//! traffic: bincode's generic path costs a size pass, a buffer of its own
//! and a copy per frame to encode, and an allocation and a copy of the
//! payload to decode; this costs one copy of the payload out and none in.
//!
//! The layout (see `net/docs/protocol.md`): the variant index 0, the
//! actor's node number, incarnation and sequence number, the seal's 8
//! bytes, the tag, and the payload's length followed by its bytes; every
//! integer but the seal's bytes a bincode varint. Nothing here is a new
//! format: a frame that the fast decoder does not take whole is left to
//! bincode, which then decides, so the two cannot disagree on what a frame
//! means, only on how fast it is read (a property test holds them to it).

use std::ops::Range;

use bytes::{BufMut, BytesMut};
use proscenium_runtime::remote::Seal;
use proscenium_runtime::{ActorId, NodeId};

use crate::MessageTag;

/// The variant index of `Frame::Tell`: its place in the enum.
const TELL: u64 = 0;

/// The largest integer that bincode's varint writes as one byte.
const SINGLE_BYTE_MAX: u8 = 250;
/// Markers of a varint in the next 2, 4 or 8 little-endian bytes.
const U16_BYTE: u8 = 251;
const U32_BYTE: u8 = 252;
const U64_BYTE: u8 = 253;

/// The most bytes a tell adds around its payload: the variant index, five
/// varints of at most 9 bytes and the seal.
pub(crate) const TELL_OVERHEAD: usize = 1 + 5 * 9 + 8;

/// A decoded tell whose payload is still in the frame: `payload` is where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TellHeader {
    pub(crate) to: ActorId,
    pub(crate) seal: Seal,
    pub(crate) tag: MessageTag,
    pub(crate) payload: Range<usize>,
}

/// Appends the body of a `Frame::Tell` (no length header) to `dst`.
pub(crate) fn encode(to: ActorId, seal: Seal, tag: MessageTag, payload: &[u8], dst: &mut BytesMut) {
    // The header is built on the stack and appended once: a `put` per
    // field would check `dst`'s capacity for every byte.
    let mut header = Header::default();
    header.varint(TELL);
    header.varint(to.node().number());
    header.varint(to.node().incarnation());
    header.varint(to.seq());
    header.bytes(&seal.to_bytes());
    header.varint(tag.get());
    header.varint(payload.len() as u64);
    dst.reserve(header.len + payload.len());
    dst.put_slice(&header.bytes[..header.len]);
    dst.put_slice(payload);
}

/// The bytes of a tell before its payload, written as bincode does.
struct Header {
    bytes: [u8; TELL_OVERHEAD],
    len: usize,
}

impl Default for Header {
    fn default() -> Self {
        Self {
            bytes: [0; TELL_OVERHEAD],
            len: 0,
        }
    }
}

impl Header {
    fn bytes(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    #[inline]
    fn varint(&mut self, n: u64) {
        if n <= u64::from(SINGLE_BYTE_MAX) {
            self.bytes[self.len] = n as u8;
            self.len += 1;
        } else if let Ok(n) = u16::try_from(n) {
            self.bytes(&[U16_BYTE]);
            self.bytes(&n.to_le_bytes());
        } else if let Ok(n) = u32::try_from(n) {
            self.bytes(&[U32_BYTE]);
            self.bytes(&n.to_le_bytes());
        } else {
            self.bytes(&[U64_BYTE]);
            self.bytes(&n.to_le_bytes());
        }
    }
}

/// Reads `body` as a whole `Frame::Tell`, or `None` if it is anything else
/// (another kind of frame, or bytes that are no valid tell): those are
/// bincode's to decode, or to refuse with the error it gives.
pub(crate) fn decode(body: &[u8]) -> Option<TellHeader> {
    let mut at = Reader { body, pos: 0 };
    if at.varint()? != TELL {
        return None;
    }
    let node = NodeId::new(at.varint()?, at.varint()?);
    let to = ActorId::new(node, at.varint()?);
    let seal = Seal::new(at.take(8)?.try_into().ok()?);
    let tag = MessageTag::new(at.varint()?);
    let len = usize::try_from(at.varint()?).ok()?;
    let start = at.pos;
    at.take(len)?;
    // One frame is exactly one value: bytes after it are bincode's to refuse.
    (at.pos == body.len()).then_some(TellHeader {
        to,
        seal,
        tag,
        payload: start..at.pos,
    })
}

/// A cursor over untrusted bytes: every read is bounds-checked.
struct Reader<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let bytes = self.body.get(self.pos..end)?;
        self.pos = end;
        Some(bytes)
    }

    /// A varint as bincode reads one: it accepts a number in a wider form
    /// than needed, so this does too.
    fn varint(&mut self) -> Option<u64> {
        let [marker] = *self.take(1)? else {
            return None;
        };
        match marker {
            0..=SINGLE_BYTE_MAX => Some(u64::from(marker)),
            U16_BYTE => Some(u64::from(u16::from_le_bytes(
                self.take(2)?.try_into().ok()?,
            ))),
            U32_BYTE => Some(u64::from(u32::from_le_bytes(
                self.take(4)?.try_into().ok()?,
            ))),
            U64_BYTE => Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{wire, Frame};
    use bytes::Bytes;
    use proptest::collection::vec;
    use proptest::prelude::*;

    const LIMIT: u64 = 1 << 20;

    /// Integers around every boundary of the varint's forms.
    fn number() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..=260u64,
            65_530..=65_540u64,
            (u64::from(u32::MAX) - 4)..=(u64::from(u32::MAX) + 4),
            any::<u64>(),
        ]
    }

    fn tell() -> impl Strategy<Value = Frame> {
        (
            (number(), number(), number()),
            any::<[u8; 8]>(),
            number(),
            vec(any::<u8>(), 0..300),
        )
            .prop_map(
                |((node, incarnation, seq), seal, tag, payload)| Frame::Tell {
                    to: ActorId::new(NodeId::new(node, incarnation), seq),
                    seal: Seal::new(seal),
                    tag: MessageTag::new(tag),
                    payload: Bytes::from(payload),
                },
            )
    }

    fn by_hand(frame: &Frame) -> BytesMut {
        let Frame::Tell {
            to,
            seal,
            tag,
            payload,
        } = frame
        else {
            unreachable!("only tells are generated");
        };
        let mut dst = BytesMut::new();
        encode(*to, *seal, *tag, payload, &mut dst);
        dst
    }

    fn as_frame(body: &[u8], header: TellHeader) -> Frame {
        Frame::Tell {
            to: header.to,
            seal: header.seal,
            tag: header.tag,
            payload: Bytes::copy_from_slice(&body[header.payload]),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn encodes_as_bincode_does(frame in tell()) {
            let bincode = wire::encode(&frame, LIMIT).expect("a tell encodes");
            prop_assert_eq!(&by_hand(&frame)[..], &bincode[..]);
        }

        #[test]
        fn decodes_every_tell_bincode_writes(frame in tell()) {
            let body = wire::encode(&frame, LIMIT).expect("a tell encodes");
            let header = decode(&body).expect("a tell decodes by hand");
            prop_assert_eq!(as_frame(&body, header), frame);
        }

        /// Whatever the bytes, the hand decoder takes exactly the tells
        /// bincode takes, and reads them as bincode does.
        #[test]
        fn agrees_with_bincode_on_any_bytes(tell_index in any::<bool>(), rest in vec(any::<u8>(), 0..64)) {
            // Half of them start as a tell does, to get past the first byte.
            let body: Vec<u8> = tell_index.then_some(0).into_iter().chain(rest).collect();
            prop_assert_eq!(by_both(&body), Ok(()));
        }

        /// A valid tell changed anywhere (a byte altered, cut short, or
        /// with a byte added): the two still agree.
        #[test]
        fn agrees_with_bincode_on_damaged_tells(
            frame in tell(),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0..3u8,
        ) {
            let mut body = wire::encode(&frame, LIMIT).expect("a tell encodes");
            let i = at.index(body.len());
            match how {
                0 => body[i] = byte,
                1 => body.truncate(i),
                _ => body.insert(i, byte),
            }
            prop_assert_eq!(by_both(&body), Ok(()));
        }
    }

    /// Whether the hand decoder and bincode agree on `body`: both read the
    /// same tell, or neither reads a tell.
    fn by_both(body: &[u8]) -> Result<(), String> {
        let by_hand = decode(body).map(|header| as_frame(body, header));
        let by_bincode = wire::decode::<Frame>(body, LIMIT)
            .ok()
            .filter(|frame| matches!(frame, Frame::Tell { .. }));
        if by_hand == by_bincode {
            Ok(())
        } else {
            Err(format!("by hand {by_hand:?}, by bincode {by_bincode:?}"))
        }
    }

    #[test]
    fn other_frames_are_left_to_bincode() {
        let heartbeat = wire::encode(&Frame::Heartbeat, LIMIT).expect("encodes");
        assert_eq!(decode(&heartbeat), None);
        assert_eq!(decode(&[]), None);
    }
}
