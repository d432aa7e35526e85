//! The messages of the handshake and their limits.

use std::fmt;

use proscenium_runtime::NodeId;
use serde::{Deserialize, Serialize};

use crate::encryption::Encryption;
use crate::{wire, FrameError, HandshakeError};

/// The first four bytes of every hello: "PRSC". A peer whose hello lacks
/// them is not a Proscenium node.
pub const MAGIC: [u8; 4] = *b"PRSC";

/// The longest handshake message accepted, in bytes (excluding the 4-byte
/// frame header). A hello with the longest allowed name fits with room to spare.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// Bytes of a [`Nonce`] and of a [`Proof`]'s MAC (HMAC-SHA256 output).
pub const NONCE_LEN: usize = 32;

/// A fresh random challenge, one per handshake per side.
///
/// Each side's proof covers both nonces, so a proof recorded from one
/// handshake is worthless in any other.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nonce([u8; NONCE_LEN]);

impl Nonce {
    /// A nonce from the operating system's secure random source.
    ///
    /// # Errors
    ///
    /// [`HandshakeError::Entropy`] if the OS cannot supply random bytes.
    pub fn random() -> Result<Self, HandshakeError> {
        let mut bytes = [0; NONCE_LEN];
        getrandom::fill(&mut bytes).map_err(|e| HandshakeError::Entropy(e.to_string()))?;
        Ok(Self(bytes))
    }

    /// A nonce with the given bytes; for tests and replays of recorded traffic.
    pub const fn from_bytes(bytes: [u8; NONCE_LEN]) -> Self {
        Self(bytes)
    }

    /// The nonce's bytes.
    pub const fn as_bytes(&self) -> &[u8; NONCE_LEN] {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Nonce(")?;
        for byte in &self.0[..4] {
            write!(f, "{byte:02x}")?;
        }
        f.write_str("..)")
    }
}

/// A side's introduction: who it is and its challenge to the other side.
///
/// # Compatibility
///
/// `Hello` is variant 0 of [`HandshakeMessage`] and its first two fields,
/// `magic` and `version`, come first in every protocol version, so a node
/// can always tell an incompatible peer's version from its hello, even when
/// the rest of that hello has a layout it does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Always [`MAGIC`].
    pub magic: [u8; 4],
    /// The sender's [`PROTOCOL_VERSION`](crate::PROTOCOL_VERSION).
    pub version: u16,
    /// The sender's node name, for logs; 1 to [`MAX_NAME_LEN`](super::MAX_NAME_LEN) bytes.
    pub name: String,
    /// The sender's node number and incarnation.
    pub node: NodeId,
    /// The sender's challenge; the other side's proof must cover it.
    pub nonce: Nonce,
    /// How often the sender's idle writer sends a heartbeat, in
    /// milliseconds ([`MIN_HEARTBEAT_MS`] to [`MAX_HEARTBEAT_MS`]): both
    /// sides derive their silence limit from the larger of the two.
    pub heartbeat_ms: u32,
    /// How the sender protects the frames after the handshake; both sides
    /// must use the same.
    pub encryption: Encryption,
}

/// The shortest heartbeat interval a hello may announce, in milliseconds.
pub const MIN_HEARTBEAT_MS: u32 = 1;

/// The longest heartbeat interval a hello may announce, in milliseconds
/// (ten minutes).
pub const MAX_HEARTBEAT_MS: u32 = 600_000;

/// A side's answer to the challenge: an HMAC-SHA256 over the transcript,
/// keyed with the cluster secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The MAC; see `net/docs/protocol.md` for exactly what it covers.
    pub mac: [u8; NONCE_LEN],
}

impl fmt::Debug for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Proof(..)")
    }
}

/// Why a side ends the handshake; sent before it closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// The sender speaks only `version`.
    VersionMismatch {
        /// The sender's protocol version.
        version: u16,
    },
    /// The receiver's proof did not verify: the two sides hold different secrets.
    AuthFailed,
    /// The receiver sent a message that was not expected at that point.
    ProtocolViolation,
    /// The sender protects frames with `encryption`, which the receiver does not.
    EncryptionMismatch {
        /// The sender's frame protection.
        encryption: Encryption,
    },
}

/// One message of the handshake, before [`Frame`](crate::Frame)s start.
///
/// Framed like frames (4-byte big-endian length, then the
/// [`wire`]-encoded message), with a limit of [`MAX_MESSAGE_LEN`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum HandshakeMessage {
    /// First message of each side. Must stay variant 0.
    Hello(Hello),
    /// The initiator's, then the acceptor's, proof of the cluster secret.
    Proof(Proof),
    /// The sender gives up; it closes the connection after this.
    Reject(RejectReason),
}

impl HandshakeMessage {
    /// A short lowercase name of the message's kind, for errors and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Proof(_) => "proof",
            Self::Reject(_) => "reject",
        }
    }

    /// Encodes the message as a frame body.
    ///
    /// # Errors
    ///
    /// [`FrameError::Oversized`] if it exceeds [`MAX_MESSAGE_LEN`] (only a
    /// hello with a name over the allowed length can).
    pub fn encode(&self) -> Result<bytes::Bytes, FrameError> {
        crate::codec::encode_body(self, MAX_MESSAGE_LEN)
    }

    /// Decodes a frame body.
    ///
    /// # Errors
    ///
    /// Any [`WireError`](crate::WireError) of the body, wrapped.
    pub fn decode(body: &[u8]) -> Result<Self, FrameError> {
        wire::decode(body, MAX_MESSAGE_LEN as u64).map_err(FrameError::Decode)
    }
}

/// The frozen start of a hello: variant index, magic, version.
#[derive(Deserialize)]
struct Preamble {
    variant: u32,
    magic: [u8; 4],
    version: u16,
}

/// The magic and version of `body`, if it starts like a hello of any
/// protocol version.
pub(crate) fn peek_hello(body: &[u8]) -> Option<([u8; 4], u16)> {
    let preamble: Preamble = wire::decode_prefix(body, MAX_MESSAGE_LEN as u64).ok()?;
    (preamble.variant == 0).then_some((preamble.magic, preamble.version))
}
