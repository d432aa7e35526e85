//! The network layer of [Proscenium](https://docs.rs/proscenium): the wire
//! format, framing and the authenticated handshake between nodes.
//!
//! A tour of the modules, one line each:
//!
//! * [`wire`]: the wire format (bincode 1.3, size-limited); the only caller of bincode;
//! * `error`: every error type, each naming what to do about it.
#![doc(test(attr(deny(warnings))))]

mod error;
pub mod wire;

pub use error::WireError;

/// The version of the wire protocol this crate speaks.
///
/// Two nodes connect only if their versions are equal; the handshake checks
/// it first. Bump it on any change to the framing, the wire format options,
/// the handshake messages or the [`Frame`] layout.
pub const PROTOCOL_VERSION: u16 = 1;
