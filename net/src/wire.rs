//! The wire format: how values become bytes and back. The only module that
//! calls bincode.
//!
//! Every value that crosses the network, a [`Frame`](crate::Frame), a
//! handshake message or a user message's payload, goes through [`encode`]
//! and [`decode`]. Keeping bincode behind these two functions means the
//! format can be swapped (postcard is the maintained alternative) without
//! touching the rest of the crate; see `DESIGN.md` for why bincode is pinned
//! to `=1.3.3`.
//!
//! # The format
//!
//! bincode 1.3 with these options, fixed here for both directions:
//!
//! * **varint integers**: small numbers (tags, lengths, correlation ids,
//!   sequence numbers) take one byte instead of eight, which matters when
//!   many small messages share a connection. The cost is at most one extra
//!   byte for a `u64` that uses all its bits, like a random incarnation.
//! * **little endian** for the fixed-size parts;
//! * **a byte limit on every call**: [`encode`] refuses to produce more than
//!   the limit, and [`decode`] refuses input longer than the limit;
//! * **trailing bytes are rejected**: one message is exactly one value.
//!
//! # Why decoding cannot be made to allocate without bound
//!
//! [`decode`] reads from a slice that is already in memory and at most
//! `limit` bytes long. A string or byte buffer (`String`, [`bytes::Bytes`])
//! whose length prefix points past the end of that slice fails with
//! [`WireError::Truncated`] *before* anything is allocated for it, so no
//! buffer is ever larger than the input. Other sequences (`Vec<T>`) are read
//! element by element: the input runs out long before a lying length is
//! reached, and serde caps what it reserves up front for one sequence at
//! 1 MiB whatever the length claims. Wire types therefore carry bulk data as
//! `Bytes`, never as `Vec<u8>`.
//!
//! Changing any of these options changes the protocol: bump
//! [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::WireError;

/// The one set of bincode options the protocol uses, with a byte limit.
fn options(limit: u64) -> impl Options {
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(limit)
}

/// Encodes `value`, refusing to produce more than `limit` bytes.
///
/// The size is computed before any buffer is allocated, so an oversized
/// value costs no more than a walk over it.
///
/// # Errors
///
/// [`WireError::TooLarge`] when the encoding would exceed `limit`, and
/// [`WireError::Unencodable`] when serde refuses the value (for example a
/// sequence whose length is not known up front).
///
/// # Examples
///
/// ```
/// use proscenium_net::wire;
///
/// let bytes = wire::encode(&(7u32, "hi".to_owned()), 64)?;
/// let back: (u32, String) = wire::decode(&bytes, 64)?;
/// assert_eq!(back, (7, "hi".to_owned()));
/// # Ok::<(), proscenium_net::WireError>(())
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T, limit: u64) -> Result<Vec<u8>, WireError> {
    options(limit).serialize(value).map_err(|e| match *e {
        bincode::ErrorKind::SizeLimit => WireError::TooLarge {
            // Only on the error path: measure without a limit to say by how much.
            len: options(u64::MAX).serialized_size(value).unwrap_or(u64::MAX),
            limit,
        },
        other => WireError::Unencodable {
            reason: other.to_string(),
        },
    })
}

/// Decodes exactly one `T` from `bytes`, reading at most `limit` bytes.
///
/// `bytes` is untrusted input: this never panics, and a length inside it
/// that points past the end of the input is refused before anything is
/// allocated for it (see the [module docs](self)).
///
/// # Errors
///
/// [`WireError::LimitExceeded`] when the input is longer than `limit`
/// bytes, [`WireError::Truncated`] when it ends inside a value (including
/// a length prefix that claims more bytes than follow it), and
/// [`WireError::Malformed`] for anything else that is not a valid `T`,
/// including bytes left over after it.
///
/// # Examples
///
/// ```
/// use proscenium_net::{wire, WireError};
///
/// // A string whose length prefix claims 2^40 bytes: refused, nothing allocated.
/// let evil = [0xfd, 0, 0, 0, 0, 0, 1, 0, 0];
/// assert_eq!(wire::decode::<String>(&evil, 1024), Err(WireError::Truncated));
/// // Input longer than the limit is refused whole.
/// let long = wire::encode(&"x".repeat(100), 1024)?;
/// let err = wire::decode::<String>(&long, 64).unwrap_err();
/// assert_eq!(err, WireError::LimitExceeded { limit: 64 });
/// # Ok::<(), WireError>(())
/// ```
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, WireError> {
    // bincode does not apply its limit to slices (the slice bounds every
    // read), so the limit is the slice's length, checked here.
    if u64::try_from(bytes.len()).map_or(true, |len| len > limit) {
        return Err(WireError::LimitExceeded { limit });
    }
    options(limit).deserialize(bytes).map_err(|e| match *e {
        bincode::ErrorKind::SizeLimit => WireError::LimitExceeded { limit },
        bincode::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            WireError::Truncated
        }
        other => WireError::Malformed {
            reason: other.to_string(),
        },
    })
}

/// Decodes one `T` from the front of `bytes`, ignoring what follows it.
///
/// Only for reading the frozen prefix of a message whose full layout may
/// belong to another protocol version (the handshake's hello).
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, WireError> {
    if u64::try_from(bytes.len()).map_or(true, |len| len > limit) {
        return Err(WireError::LimitExceeded { limit });
    }
    bincode::DefaultOptions::new()
        .with_varint_encoding()
        .with_little_endian()
        .allow_trailing_bytes()
        .with_limit(limit)
        .deserialize(bytes)
        .map_err(|e| WireError::Malformed {
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_integers_take_one_byte() {
        assert_eq!(encode(&5u64, 16), Ok(vec![5]));
    }

    #[test]
    fn encode_over_limit_reports_the_size() {
        let err = encode(&vec![0u8; 100], 10).unwrap_err();
        assert_eq!(
            err,
            WireError::TooLarge {
                len: 101,
                limit: 10
            }
        );
    }

    #[test]
    fn decode_rejects_trailing_bytes() {
        let err = decode::<u8>(&[1, 2], 16).unwrap_err();
        assert!(matches!(err, WireError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn decode_reports_truncation() {
        assert_eq!(decode::<(u8, u8)>(&[1], 16), Err(WireError::Truncated));
    }

    #[test]
    fn decode_refuses_input_past_the_limit() {
        let err = decode::<u64>(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 1], 8).unwrap_err();
        assert_eq!(err, WireError::LimitExceeded { limit: 8 });
    }

    #[test]
    fn decode_refuses_a_length_past_the_input() {
        // A string and a byte buffer claiming 250 bytes, with one present.
        assert_eq!(
            decode::<String>(&[250, b'x'], 100),
            Err(WireError::Truncated)
        );
        let bytes = decode::<bytes::Bytes>(&[250, b'x'], 100);
        assert_eq!(bytes, Err(WireError::Truncated));
    }

    #[test]
    fn decode_of_a_long_sequence_stops_at_the_end_of_input() {
        // Sequences are read element by element; the input runs out first.
        assert_eq!(
            decode::<Vec<u64>>(&[250, 1], 100),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn decode_reports_invalid_utf8() {
        let err = decode::<String>(&[2, 0xff, 0xfe], 16).unwrap_err();
        assert!(matches!(err, WireError::Malformed { .. }), "{err:?}");
    }
}
