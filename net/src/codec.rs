//! [`FrameCodec`]: length-delimited framing plus the wire format, as a
//! tokio-util [`Decoder`] and [`Encoder`] of [`Frame`]s.
//!
//! Each frame on a connection is a 4-byte big-endian length followed by
//! that many bytes of [`wire`]-encoded [`Frame`]: the layout of tokio-util's
//! `LengthDelimitedCodec` with a 4-byte big-endian length, written out here
//! with the limit check that names the offending length, and the mapping to
//! `Frame`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::{tell_frame, wire, Frame, FrameError, WireError};

/// The largest frame a [`FrameCodec`] accepts unless told otherwise: 8 MiB.
///
/// Large enough for any sensible single message, small enough that a
/// peer announcing a frame of this size cannot exhaust a node's memory
/// (the decoder reserves at most this much per connection). Messages
/// larger than this belong in a stream of smaller ones. Both nodes of a
/// connection should use the same limit.
pub const DEFAULT_MAX_FRAME_LENGTH: usize = 8 * 1024 * 1024;

/// Bytes of the length prefix in front of every frame.
pub const HEADER_LEN: usize = 4;

/// Encodes and decodes [`Frame`]s on a byte stream, refusing frames longer
/// than [`max_frame_length`](Self::max_frame_length).
///
/// Use it with [`tokio_util::codec::Framed`] over a connected socket, once
/// the handshake has succeeded.
///
/// # Decoding
///
/// Follows the [`Decoder`] contract: `Ok(None)` while a frame is still
/// incomplete (the buffer then already has room reserved for the rest of
/// it, at most `max_frame_length` bytes), `Ok(Some(frame))` per complete
/// frame, and an error only for bad input: a length prefix over the limit
/// ([`FrameError::Oversized`], reported as soon as the 4 header bytes
/// arrive, before anything is reserved), a payload that is not a valid
/// frame ([`FrameError::Decode`]), or a stream that ends inside a frame
/// ([`FrameError::Truncated`]). After an error the stream is out of step:
/// close the connection; other connections are unaffected.
///
/// # Examples
///
/// ```
/// use bytes::BytesMut;
/// use proscenium_net::{Frame, FrameCodec};
/// use tokio_util::codec::{Decoder, Encoder};
///
/// let mut codec = FrameCodec::new();
/// let mut buf = BytesMut::new();
/// codec.encode(Frame::Heartbeat, &mut buf)?;
/// assert_eq!(&buf[..], &[0, 0, 0, 1, 8]);
/// assert_eq!(codec.decode(&mut buf)?, Some(Frame::Heartbeat));
/// assert_eq!(codec.decode(&mut buf)?, None);
/// # Ok::<(), proscenium_net::FrameError>(())
/// ```
#[derive(Debug)]
pub struct FrameCodec {
    framing: Delimited,
    /// Set whenever bytes arrive, also in the middle of a frame, so that a
    /// link can tell a peer sending one large frame slowly from a silent one.
    arrived: Option<Arc<AtomicBool>>,
}

impl FrameCodec {
    /// A codec with the [`DEFAULT_MAX_FRAME_LENGTH`].
    pub fn new() -> Self {
        Self::with_max_frame_length(DEFAULT_MAX_FRAME_LENGTH)
    }

    /// A codec that refuses frames (excluding the 4-byte header) longer
    /// than `max` bytes, in both directions.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::FrameCodec;
    ///
    /// let codec = FrameCodec::with_max_frame_length(64 * 1024);
    /// assert_eq!(codec.max_frame_length(), 64 * 1024);
    /// ```
    pub fn with_max_frame_length(max: usize) -> Self {
        Self {
            framing: Delimited::new(max),
            arrived: None,
        }
    }

    /// Sets `arrived` on every decode that finds bytes: a decoder is called
    /// after each read, so this says "something arrived since you last
    /// cleared it", whether or not it completed a frame.
    pub(crate) fn reporting_arrivals(mut self, arrived: Arc<AtomicBool>) -> Self {
        self.arrived = Some(arrived);
        self
    }

    /// The flag [`reporting_arrivals`](Self::reporting_arrivals) set, for
    /// the record layer beneath to set as well.
    pub(crate) fn arrivals(&self) -> Option<Arc<AtomicBool>> {
        self.arrived.clone()
    }

    /// The longest frame, excluding its header, this codec accepts or emits.
    pub fn max_frame_length(&self) -> usize {
        self.framing.max
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder for FrameCodec {
    type Item = Frame;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        if let (Some(arrived), false) = (&self.arrived, src.is_empty()) {
            arrived.store(true, Ordering::Relaxed);
        }
        match self.framing.decode(src)? {
            Some(body) => decode_frame(body, self.framing.max).map(Some),
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
        match self.framing.decode_eof(src)? {
            Some(body) => decode_frame(body, self.framing.max).map(Some),
            None => Ok(None),
        }
    }
}

impl Encoder<Frame> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(&frame, dst)
    }
}

/// What a link's writer hands its connection: a frame, or tells that their
/// senders framed already (see [`outbox`](crate::outbox)).
#[derive(Debug)]
pub(crate) enum Outgoing {
    Frame(Frame),
    /// Whole frames, headers and bodies, back to back.
    Framed(Bytes),
}

impl Encoder<Outgoing> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: Outgoing, dst: &mut BytesMut) -> Result<(), FrameError> {
        match item {
            Outgoing::Frame(frame) => self.encode(&frame, dst),
            Outgoing::Framed(frames) => {
                dst.extend_from_slice(&frames);
                Ok(())
            }
        }
    }
}

impl Encoder<&Frame> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, frame: &Frame, dst: &mut BytesMut) -> Result<(), FrameError> {
        if let Frame::Tell {
            to,
            seal,
            tag,
            payload,
        } = frame
        {
            return self.framing.encode_with(dst, |dst| {
                tell_frame::encode(*to, *seal, *tag, payload, dst);
            });
        }
        let body = encode_body(frame, self.framing.max)?;
        self.framing.encode(body, dst)
    }
}

/// The frame in `body`. A tell's payload stays where it is, a slice of the
/// read buffer (no allocation, no copy): it lives only until the tell is
/// delivered, and whatever keeps it longer copies it out (see `parking`).
fn decode_frame(body: BytesMut, max: usize) -> Result<Frame, FrameError> {
    if let Some(tell) = tell_frame::decode(&body) {
        return Ok(Frame::Tell {
            to: tell.to,
            seal: tell.seal,
            tag: tell.tag,
            payload: body.freeze().slice(tell.payload),
        });
    }
    wire::decode(&body, max as u64).map_err(FrameError::Decode)
}

/// Encodes `value` for a frame body of at most `max` bytes.
pub(crate) fn encode_body<T: serde::Serialize>(value: &T, max: usize) -> Result<Bytes, FrameError> {
    match wire::encode(value, max as u64) {
        Ok(body) => Ok(Bytes::from(body)),
        Err(WireError::TooLarge { len, .. }) => Err(FrameError::Oversized {
            len: usize::try_from(len).unwrap_or(usize::MAX),
            max,
        }),
        Err(e) => Err(FrameError::Encode(e)),
    }
}

// ===== impl Delimited =====

/// Length-delimited framing with a limit that is checked, and reported with
/// the offending length, before anything is reserved.
///
/// Shared by [`FrameCodec`] and the handshake, which frame their messages
/// the same way with different limits. Written out rather than left to
/// tokio-util's `LengthDelimitedCodec` because it runs once per frame: the
/// header is read where it lies and consumed only with its whole body,
/// about a quarter of the general codec's instructions (BENCHMARKS.md,
/// issue 18).
#[derive(Debug)]
pub(crate) struct Delimited {
    /// The longest body accepted or emitted.
    max: usize,
}

impl Delimited {
    pub(crate) fn new(max: usize) -> Self {
        Self { max }
    }

    /// One complete body, `Ok(None)` if more bytes are needed (room for
    /// the rest of the frame, and no more, is then reserved in `src`).
    pub(crate) fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let Some(&[a, b, c, d]) = src.get(..HEADER_LEN) else {
            return Ok(None);
        };
        // The layout is the protocol: a 4-byte big-endian length of the body.
        let len = usize::try_from(u32::from_be_bytes([a, b, c, d])).unwrap_or(usize::MAX);
        if len > self.max {
            return Err(FrameError::Oversized { len, max: self.max });
        }
        let frame = HEADER_LEN + len;
        if src.len() < frame {
            src.reserve(frame - src.len());
            return Ok(None);
        }
        src.advance(HEADER_LEN);
        Ok(Some(src.split_to(len)))
    }

    /// Like [`decode`](Self::decode), at the end of the stream: leftover
    /// bytes that do not make a whole frame are an error.
    pub(crate) fn decode_eof(
        &mut self,
        src: &mut BytesMut,
    ) -> Result<Option<BytesMut>, FrameError> {
        match self.decode(src)? {
            Some(body) => Ok(Some(body)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated {
                buffered: src.len(),
            }),
        }
    }

    /// Writes `body` with its header to `dst`.
    pub(crate) fn encode(&mut self, body: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode_with(dst, |dst| dst.put_slice(&body))
    }

    /// Writes the body that `write` appends to `dst`, straight into `dst`
    /// with its header in front: no buffer of its own, no copy. A body
    /// over the limit is taken back out and refused.
    pub(crate) fn encode_with(
        &mut self,
        dst: &mut BytesMut,
        write: impl FnOnce(&mut BytesMut),
    ) -> Result<(), FrameError> {
        let start = dst.len();
        dst.put_u32(0);
        write(dst);
        let len = dst.len() - start - HEADER_LEN;
        let header = u32::try_from(len).ok().filter(|_| len <= self.max);
        let Some(header) = header else {
            dst.truncate(start);
            return Err(FrameError::Oversized { len, max: self.max });
        };
        dst[start..start + HEADER_LEN].copy_from_slice(&header.to_be_bytes());
        Ok(())
    }
}
