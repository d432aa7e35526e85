//! The network layer of [Proscenium](https://docs.rs/proscenium): the wire
//! format, framing and the authenticated handshake between nodes.
//!
//! A tour of the modules, one line each:
//!
//! * [`wire`]: the wire format (bincode 1.3, size-limited); the only caller of bincode;
//! * `frame`: [`Frame`], the one message enum that crosses a connection, and [`MessageTag`];
//! * `codec`: [`FrameCodec`], length-delimited framing of `Frame`s with a hard size limit;
//! * [`handshake`]: versions, identities and mutual HMAC proof of the cluster secret;
//! * `error`: every error type, each naming what to do about it.
#![doc(test(attr(deny(warnings))))]

mod codec;
mod error;
mod frame;
pub mod handshake;
pub mod wire;

pub use codec::{FrameCodec, DEFAULT_MAX_FRAME_LENGTH, HEADER_LEN};
pub use error::{ConfigError, FrameError, HandshakeError, WireError};
pub use frame::{Frame, MessageTag};

/// The version of the wire protocol this crate speaks.
///
/// Two nodes connect only if their versions are equal; the handshake checks
/// it first. Bump it on any change to the framing, the wire format options,
/// the handshake messages or the [`Frame`] layout.
pub const PROTOCOL_VERSION: u16 = 1;
