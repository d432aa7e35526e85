//! [`SwimCodec`]: foca's messages in the crate's own wire format.
//!
//! Each item (a message header, a member update) is one [`wire`] value
//! behind a two-byte length, so a decoder knows where it ends without
//! trusting anything inside it, and membership datagrams use the same
//! bincode options, and size limits, as frames.

use bytes::{Buf, BufMut};
use foca::{Codec, Header, Member};

use crate::cluster::identity::MemberId;
use crate::{wire, WireError};

/// The largest item: foca never sends a datagram larger than this.
pub(crate) const MAX_ITEM: usize = 1400;

/// foca's codec for [`MemberId`]s.
#[derive(Debug, Default)]
pub(crate) struct SwimCodec;

/// Why an item could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SwimCodecError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the datagram ends inside an item")]
    Truncated,
    #[error("no room left in the datagram")]
    NoRoom,
}

impl SwimCodec {
    fn encode<T: serde::Serialize>(value: &T, mut buf: impl BufMut) -> Result<(), SwimCodecError> {
        let bytes = wire::encode(value, MAX_ITEM as u64)?;
        let len = u16::try_from(bytes.len()).map_err(|_| SwimCodecError::NoRoom)?;
        // Nothing is written unless all of it fits: foca then stops adding.
        if buf.remaining_mut() < 2 + bytes.len() {
            return Err(SwimCodecError::NoRoom);
        }
        buf.put_u16(len);
        buf.put_slice(&bytes);
        Ok(())
    }

    fn decode<T: serde::de::DeserializeOwned>(mut buf: impl Buf) -> Result<T, SwimCodecError> {
        if buf.remaining() < 2 {
            return Err(SwimCodecError::Truncated);
        }
        let len = usize::from(buf.get_u16());
        if buf.remaining() < len {
            return Err(SwimCodecError::Truncated);
        }
        let item = buf.copy_to_bytes(len);
        Ok(wire::decode(&item, MAX_ITEM as u64)?)
    }
}

impl Codec<MemberId> for SwimCodec {
    type Error = SwimCodecError;

    fn encode_header(
        &mut self,
        header: &Header<MemberId>,
        buf: impl BufMut,
    ) -> Result<(), Self::Error> {
        Self::encode(header, buf)
    }

    fn decode_header(&mut self, buf: impl Buf) -> Result<Header<MemberId>, Self::Error> {
        Self::decode(buf)
    }

    fn encode_member(
        &mut self,
        member: &Member<MemberId>,
        buf: impl BufMut,
    ) -> Result<(), Self::Error> {
        Self::encode(member, buf)
    }

    fn decode_member(&mut self, buf: impl Buf) -> Result<Member<MemberId>, Self::Error> {
        Self::decode(buf)
    }
}

#[cfg(test)]
mod tests {
    use foca::{Message, State};
    use proptest::prelude::*;
    use proscenium_runtime::NodeId;

    use super::*;

    fn id() -> MemberId {
        MemberId {
            name: "a".into(),
            node: NodeId::new(1, 2),
            addr: "127.0.0.1:9".parse().expect("an address"),
            session: 3,
            generation: 4,
        }
    }

    #[test]
    fn headers_and_members_round_trip() {
        let header = Header {
            src: id(),
            src_incarnation: 5,
            dst: MemberId::seed("127.0.0.1:10".parse().expect("an address")),
            message: Message::Announce,
        };
        let member = Member::new(id(), 6, State::Suspect);
        let mut buf = Vec::new();
        SwimCodec.encode_header(&header, &mut buf).expect("encodes");
        SwimCodec.encode_member(&member, &mut buf).expect("encodes");
        let mut read = &buf[..];
        assert_eq!(SwimCodec.decode_header(&mut read).expect("decodes"), header);
        assert_eq!(SwimCodec.decode_member(&mut read).expect("decodes"), member);
        assert!(read.is_empty());
    }

    #[test]
    fn an_item_that_does_not_fit_writes_nothing() {
        let mut space = [0u8; 8];
        let mut buf = &mut space[..];
        let member = Member::new(id(), 6, State::Alive);
        assert!(matches!(
            SwimCodec.encode_member(&member, &mut buf),
            Err(SwimCodecError::NoRoom)
        ));
        assert_eq!(space, [0; 8]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_decode_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = SwimCodec.decode_header(&bytes[..]);
            let _ = SwimCodec.decode_member(&bytes[..]);
        }
    }
}
