//! The record layer under the frames: after the handshake, every byte a
//! connection carries is encrypted and authenticated with
//! AES-256-GCM under keys only the two ends know.
//!
//! # Why a record layer, and not a seal per frame
//!
//! The link's writer hands the stream whole batches of frames and then
//! flushes; [`EncryptedStream`] seals what it was given since the last flush
//! (up to [`MAX_RECORD_LEN`] bytes) as one *record*. A burst of small tells
//! costs one AEAD call and one 16-byte tag per batch instead of one per
//! frame, which is what keeps encrypted throughput near plaintext's (see
//! BENCHMARKS.md, "Encryption"). TLS does the same for the same reason.
//!
//! # What it guarantees
//!
//! Each direction has its own key ([`SessionKeys`], derived with HKDF from
//! the cluster secret and the handshake transcript, so both fresh nonces)
//! and its own record counter, which is the AEAD nonce and is never sent.
//! A record that was altered, injected, replayed, reordered, or that comes
//! after a dropped record fails authentication, because the receiver opens
//! it under the counter it expects; the read fails with
//! [`RecordError::Forged`], the connection closes, and nothing of that record
//! or any later one reaches an actor. A stream that ends inside a record
//! fails with [`RecordError::Truncated`]. The record's length header is
//! authenticated as associated data.
//!
//! A stream cut cleanly between two records is indistinguishable from a
//! lost connection and is handled as one (the link's goodbye frame tells a
//! deliberate end from a cut).

mod keys;
mod stream;

pub use keys::SessionKeys;
pub use stream::{EncryptedStream, MAX_RECORD_LEN, RECORD_OVERHEAD};

use serde::{Deserialize, Serialize};

/// How the frames after the handshake are protected. Both nodes of a
/// connection must agree; the handshake refuses a mismatch with
/// [`HandshakeError::EncryptionMismatch`](crate::HandshakeError::EncryptionMismatch)
/// on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Encryption {
    /// Every record is encrypted and authenticated with AES-256-GCM
    /// under per-direction session keys. The default.
    #[default]
    Aes256Gcm,
    /// Frames travel as plaintext with no integrity check: anyone on the
    /// network path can read, alter and inject them. Only for benchmarks
    /// and hosts whose network is trusted (see
    /// [`NodeBuilder::insecure_plaintext`](crate::NodeBuilder::insecure_plaintext)).
    InsecurePlaintext,
    /// The link is a TLS session (the `tls` feature, `NodeBuilder::tls`),
    /// which protects the frames; no records are added on top.
    Tls,
}

impl std::fmt::Display for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Aes256Gcm => "AES-256-GCM",
            Self::Tls => "TLS",
            Self::InsecurePlaintext => "insecure plaintext",
        })
    }
}

/// A connection's record layer found bytes that did not come from its peer
/// unaltered, in order and complete. The connection is closed; reconnecting
/// starts a new session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record failed authentication.
    #[error(
        "record {record} failed authentication: it was altered, injected, replayed or \
         reordered, or a record before it was dropped; closing the connection \
         (something on the network path is tampering with it)"
    )]
    Forged {
        /// The receiving counter the record was opened under (0 for the
        /// first record of the connection).
        record: u64,
    },
    /// A record's header announced more than a record may hold.
    #[error(
        "a record of {len} bytes exceeds the limit of {max}; closing the connection \
         (the peer is not a Proscenium node of this version, or the stream was altered)"
    )]
    Oversized {
        /// The length the header announced.
        len: usize,
        /// The longest sealed record accepted.
        max: usize,
    },
    /// The connection ended inside a record.
    #[error(
        "the connection ended inside a record ({buffered} bytes of it had arrived); \
         the peer crashed or the stream was cut or truncated"
    )]
    Truncated {
        /// Bytes of the incomplete record that had arrived.
        buffered: usize,
    },
    /// The record counter would repeat a nonce; the connection must be
    /// reopened (after 2^64 records, so never in practice).
    #[error("the record counter is exhausted; reconnect to start a new session")]
    Exhausted,
}

impl From<RecordError> for std::io::Error {
    fn from(error: RecordError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error)
    }
}

impl RecordError {
    /// The record-layer error an I/O error carries, if it is one.
    pub(crate) fn carried_by(error: &std::io::Error) -> Option<&RecordError> {
        error.get_ref()?.downcast_ref::<RecordError>()
    }
}
