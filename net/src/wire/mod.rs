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
//! `limit` bytes long, and bounds what it allocates in two ways:
//!
//! * A string or byte buffer (`String`, [`bytes::Bytes`]) whose length
//!   prefix points past the end of that slice fails with
//!   [`WireError::Truncated`] *before* anything is allocated for it, so all
//!   the strings and buffers of one value together take at most `limit`
//!   bytes.
//! * Every element of every sequence and map (`Vec<T>`, `HashMap<K, V>`, at
//!   any depth) is charged `size_of::<T>()` bytes (at least one) against a
//!   budget of [`DECODE_MEMORY_FACTOR`] × `limit` *before* it is read; past
//!   the budget decoding fails with [`WireError::MemoryLimitExceeded`]. An
//!   element can be far larger in memory than on the wire (a `None` of an
//!   `Option<[u64; 32]>` is 1 byte on the wire and 264 in memory; a `()` is
//!   0 and 0, and would let a lying length loop for ever), so the byte limit
//!   alone would not bound this. A `Vec` may hold up to twice its elements'
//!   size in spare capacity while it grows; serde caps what it reserves up
//!   front at 1 MiB whatever the length claims.
//!
//! So decoding one value allocates at most about `limit` +
//! 2 × [`DECODE_MEMORY_FACTOR`] × `limit` bytes. The one thing outside the
//! budget is the pointee of a `Box<T>` or `Arc<T>` of a sized `T`, charged
//! as a pointer: keep large fixed-size types out of boxed fields of wire
//! types. Bulk data belongs in `Bytes`, never in `Vec<u8>` (charged per
//! byte, at one byte each) or in vectors of small numbers (`Vec<u64>` of
//! small values takes eight times its wire size, and is refused past half
//! the frame with the default factor).
//!
//! Changing any of these options changes the protocol: bump
//! [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).

mod budget;

use std::marker::PhantomData;

use bincode::Options;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::WireError;

use budget::{Budget, Budgeted};

/// How many times its byte limit the elements of a decoded value's
/// sequences and maps may take in memory (see the [module docs](self)).
///
/// Four lets any value whose elements are at most four times larger in
/// memory than on the wire use the whole limit (most structs of numbers
/// and strings), and bounds what a hostile frame can make a node allocate
/// to a small multiple of the frame size.
pub const DECODE_MEMORY_FACTOR: u64 = 4;

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
    options(limit)
        .serialize(value)
        .map_err(|e| encode_error(*e, value, limit))
}

/// Like [`encode`], appending to `dst` instead of allocating a buffer: a
/// sender that encodes many messages reuses one. On an error `dst` may hold
/// part of the value after what it held before.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    limit: u64,
    dst: &mut Vec<u8>,
) -> Result<(), WireError> {
    options(limit)
        .serialize_into(dst, value)
        .map_err(|e| encode_error(*e, value, limit))
}

fn encode_error<T: Serialize + ?Sized>(
    error: bincode::ErrorKind,
    value: &T,
    limit: u64,
) -> WireError {
    match error {
        bincode::ErrorKind::SizeLimit => WireError::TooLarge {
            // Only on the error path: measure without a limit to say by how much.
            len: options(u64::MAX).serialized_size(value).unwrap_or(u64::MAX),
            limit,
        },
        other => WireError::Unencodable {
            reason: other.to_string(),
        },
    }
}

/// Decodes exactly one `T` from `bytes`, reading at most `limit` bytes.
///
/// `bytes` is untrusted input: this never panics, a length inside it that
/// points past the end of the input is refused before anything is
/// allocated for it, and its sequences and maps may take at most
/// [`DECODE_MEMORY_FACTOR`] × `limit` bytes (see the [module docs](self)).
///
/// # Errors
///
/// [`WireError::LimitExceeded`] when the input is longer than `limit`
/// bytes, [`WireError::MemoryLimitExceeded`] when its sequences and maps
/// would take more than their budget in memory, [`WireError::Truncated`] when it ends inside a value (including
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
    decode_with(options(limit), bytes, limit)
}

/// Decodes one `T` from the front of `bytes`, ignoring what follows it.
///
/// Only for reading the frozen prefix of a message whose full layout may
/// belong to another protocol version (the handshake's hello).
pub(crate) fn decode_prefix<T: DeserializeOwned>(bytes: &[u8], limit: u64) -> Result<T, WireError> {
    let options = bincode::DefaultOptions::new()
        .with_varint_encoding()
        .with_little_endian()
        .allow_trailing_bytes()
        .with_limit(limit);
    decode_with(options, bytes, limit)
}

/// Decodes with `options` under the byte `limit` and the memory budget
/// that goes with it.
fn decode_with<T: DeserializeOwned>(
    options: impl Options,
    bytes: &[u8],
    limit: u64,
) -> Result<T, WireError> {
    // bincode does not apply its limit to slices (the slice bounds every
    // read), so the limit is the slice's length, checked here.
    if u64::try_from(bytes.len()).map_or(true, |len| len > limit) {
        return Err(WireError::LimitExceeded { limit });
    }
    let budget = Budget::new(memory_budget(limit));
    let seed = Budgeted::new(PhantomData::<T>, &budget);
    options.deserialize_seed(seed, bytes).map_err(|e| {
        if budget.exceeded() {
            return WireError::MemoryLimitExceeded {
                budget: memory_budget(limit),
            };
        }
        match *e {
            bincode::ErrorKind::SizeLimit => WireError::LimitExceeded { limit },
            bincode::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
                WireError::Truncated
            }
            other => WireError::Malformed {
                reason: other.to_string(),
            },
        }
    })
}

/// What the elements of sequences and maps decoded under `limit` may take.
fn memory_budget(limit: u64) -> u64 {
    limit.saturating_mul(DECODE_MEMORY_FACTOR)
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

    /// In memory an element takes 264 bytes; on the wire `None` takes one.
    type Amplifier = Vec<Option<[u64; 32]>>;

    /// A sequence of `len` `None`s: about `len` bytes on the wire.
    fn nones(len: u64) -> Vec<u8> {
        let mut bytes = encode(&len, 16).unwrap();
        bytes.resize(bytes.len() + len as usize, 0);
        bytes
    }

    #[test]
    fn decode_refuses_a_sequence_that_would_outgrow_its_memory_budget() {
        // 64 KiB of input that would decode into 16.5 MiB of elements.
        let limit = 64 * 1024;
        let bytes = nones(limit - 8);
        assert_eq!(
            decode::<Amplifier>(&bytes, limit).map(|v| v.len()),
            Err(WireError::MemoryLimitExceeded {
                budget: limit * DECODE_MEMORY_FACTOR
            })
        );
    }

    #[test]
    fn decode_of_zero_sized_elements_is_charged_too() {
        // 2^62 unit values in nine bytes: refused, not looped over.
        let bytes = encode(&(1u64 << 62), 16).unwrap();
        let err = decode::<Vec<()>>(&bytes, 1024).unwrap_err();
        assert_eq!(
            err,
            WireError::MemoryLimitExceeded {
                budget: 1024 * DECODE_MEMORY_FACTOR
            }
        );
    }

    #[test]
    fn decode_charges_sequences_nested_in_options_enums_and_maps() {
        let limit = 64 * 1024;
        let over = WireError::MemoryLimitExceeded {
            budget: limit * DECODE_MEMORY_FACTOR,
        };
        // `Some(amplifier)`, and `Err(amplifier)` (variant 1).
        let mut some = vec![1];
        some.extend(nones(limit - 16));
        let err = decode::<Option<Amplifier>>(&some, limit).map(|v| v.map(|v| v.len()));
        assert_eq!(err, Err(over.clone()));
        let err = decode::<Result<(), Amplifier>>(&some, limit).map(|v| v.map_err(|v| v.len()));
        assert_eq!(err, Err(over.clone()));
        // A map of distinct small keys to `None`s: two bytes an entry.
        let entries = (limit - 16) / 2;
        let mut map = encode(&entries, 16).unwrap();
        for key in 0..entries {
            map.extend([(key % 250) as u8, 0]);
        }
        let err = decode::<std::collections::BTreeMap<u8, Option<[u64; 32]>>>(&map, limit);
        assert_eq!(err.map(|m| m.len()), Err(over));
    }

    #[test]
    fn decode_accepts_a_sequence_within_its_memory_budget() {
        let limit = 64 * 1024;
        let fits = limit * DECODE_MEMORY_FACTOR / 264 - 1;
        let decoded = decode::<Amplifier>(&nones(fits), limit).unwrap();
        assert_eq!(decoded.len() as u64, fits);
    }

    #[test]
    fn decode_reports_invalid_utf8() {
        let err = decode::<String>(&[2, 0xff, 0xfe], 16).unwrap_err();
        assert!(matches!(err, WireError::Malformed { .. }), "{err:?}");
    }
}
