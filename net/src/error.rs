//! Errors of the network layer, one type per layer, each saying what to do.
//!
//! "Need more bytes" is never an error here: decoders return `Ok(None)` for
//! that, as the tokio-util `Decoder` contract asks.

/// A value could not be encoded to, or decoded from, the wire format.
///
/// Returned by [`wire::encode`](crate::wire::encode) and
/// [`wire::decode`](crate::wire::decode).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The value would encode to more bytes than allowed.
    #[error(
        "the value encodes to {len} bytes, over the limit of {limit}; \
         send a smaller message or raise the limit on every node"
    )]
    TooLarge {
        /// How many bytes the value needs.
        len: u64,
        /// The limit it was encoded under.
        limit: u64,
    },
    /// The input is longer than the limit it was decoded under.
    #[error(
        "the input is longer than the limit of {limit} bytes; \
         the peer is misbehaving or runs with a larger limit"
    )]
    LimitExceeded {
        /// The limit the input was decoded under.
        limit: u64,
    },
    /// The input ended in the middle of a value, or a length inside it
    /// points past its end; nothing was allocated for that length.
    #[error("the input ended in the middle of a value; the peer sent a truncated message")]
    Truncated,
    /// The input is not a valid encoding of the expected type.
    #[error("the input is not a valid message ({reason}); the peer sent garbage or speaks another protocol version")]
    Malformed {
        /// What the decoder objected to.
        reason: String,
    },
    /// serde refused to encode the value.
    #[error("the value cannot be encoded ({reason}); check its `Serialize` implementation")]
    Unencodable {
        /// What the encoder objected to.
        reason: String,
    },
}

/// A frame could not be read from, or written to, a connection.
///
/// Any of these on a read means the byte stream is out of step: close that
/// connection (other connections are unaffected) and let the peer reconnect.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frame is longer than the codec's maximum; nothing was reserved for it.
    #[error(
        "frame of {len} bytes exceeds the limit of {max} bytes; \
         send smaller messages or raise `max_frame_length` on every node"
    )]
    Oversized {
        /// The length the header announced, or the encoded length when sending.
        len: usize,
        /// The codec's `max_frame_length`.
        max: usize,
    },
    /// The frame's bytes are not a valid frame; the peer sent garbage or
    /// speaks another protocol version.
    #[error("received an undecodable frame, closing the connection: {0}")]
    Decode(#[source] WireError),
    /// The value could not be encoded; nothing was written.
    #[error("could not encode the frame: {0}")]
    Encode(#[source] WireError),
    /// The stream ended in the middle of a frame.
    #[error(
        "the connection closed in the middle of a frame ({buffered} bytes buffered); \
         the peer crashed or was cut off"
    )]
    Truncated {
        /// Bytes of the incomplete frame that had arrived (after its header, if that had been read).
        buffered: usize,
    },
    /// Reading or writing the connection failed.
    #[error("i/o error on the connection: {0}")]
    Io(#[from] std::io::Error),
}
