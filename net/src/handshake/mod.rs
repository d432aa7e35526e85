//! The handshake that opens every connection: versions, identities, and
//! mutual proof of the cluster secret.
//!
//! # The flow
//!
//! The side that connects is the *initiator*, the side that accepted the
//! connection the *acceptor*. Four messages, each framed like a
//! [`Frame`](crate::Frame) but limited to [`MAX_MESSAGE_LEN`] bytes:
//!
//! ```text
//! initiator                                   acceptor
//!   Hello { magic, version, name, node, nonce_i, heartbeat_i } -->
//!                                                   checks magic and version,
//!                                                   refuses its own id/nonce
//!       <-- Hello { magic, version, name, node, nonce_a, heartbeat_a }
//!   Proof { HMAC(secret, "initiator", transcript) } -->
//!                                                   verifies in constant time
//!       <-- Proof { HMAC(secret, "acceptor", transcript) }
//!   verifies; both sides now exchange Frames
//! ```
//!
//! Any side that gives up sends a [`Reject`](HandshakeMessage::Reject) with
//! the reason (a version mismatch, a proof that did not verify, a message out
//! of turn) and closes, so *both* sides end with a typed
//! [`HandshakeError`] saying what went wrong.
//!
//! # What it protects against
//!
//! * **A peer without the secret** learns the acceptor's hello (version,
//!   name, node id, a random nonce) and nothing else: the acceptor proves the
//!   secret only to an initiator that has proven it first, and the secret
//!   itself never crosses the wire.
//! * **Replay**: the transcript covers both fresh nonces, so a proof
//!   recorded from one handshake fails in every other.
//! * **Reflection**: each proof carries a direction label, so the
//!   initiator's proof can never pass as the acceptor's, and a hello that
//!   carries the receiver's own node id or nonce is refused.
//! * **Stalling**: the whole handshake runs under one deadline
//!   ([`HandshakeConfig::with_timeout`]).
//!
//! # After the handshake
//!
//! Both sides derive per-direction session keys from the secret and the
//! transcript ([`SessionKeys`](crate::encryption::SessionKeys)), and every
//! byte that follows travels in records sealed with AES-256-GCM
//! ([`crate::encryption`]): frames cannot be read, altered, injected,
//! replayed, reordered or dropped unnoticed. Each hello says how its sender
//! protects frames, and the transcript covers it, so nobody on the path can
//! talk two encrypting nodes down to plaintext; a node built with
//! [`insecure_plaintext`](crate::NodeBuilder::insecure_plaintext) and one
//! that encrypts refuse each other with
//! [`HandshakeError::EncryptionMismatch`].
//!
//! # Layers
//!
//! [`Handshake`] is the pure state machine (bytes in, messages out);
//! [`initiate`] and [`accept`] drive it over any `AsyncRead + AsyncWrite`.

mod config;
mod mac;
mod machine;
mod message;

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::codec::{Framed, FramedParts};

use crate::codec::Delimited;
use crate::encryption::EncryptedStream;
use crate::{FrameCodec, FrameError, HandshakeError};

pub(crate) use config::clamp_heartbeat;
pub use config::{
    ClusterSecret, HandshakeConfig, DEFAULT_HEARTBEAT, DEFAULT_TIMEOUT, MAX_NAME_LEN,
    MIN_SECRET_LEN,
};
pub use machine::{Handshake, Outcome, Peer, Role, Transition};
pub use message::{
    HandshakeMessage, Hello, Nonce, Proof, RejectReason, MAGIC, MAX_HEARTBEAT_MS, MAX_MESSAGE_LEN,
    MIN_HEARTBEAT_MS, NONCE_LEN,
};

/// A connection whose handshake succeeded: who is at the other end, and the
/// stream, now sealed and framed for [`Frame`](crate::Frame)s.
#[derive(Debug)]
pub struct Established<S> {
    /// The authenticated peer.
    pub peer: Peer,
    /// The connection, with any bytes the peer sent after its last handshake
    /// message already buffered.
    pub framed: Framed<EncryptedStream<S>, FrameCodec>,
}

/// Runs the handshake as the side that opened the connection.
///
/// On success the stream is handed back framed with `codec`. On failure the
/// peer has been told why where the protocol allows (see the
/// [module docs](self)), and `io` is dropped, closing the connection.
///
/// # Errors
///
/// Every [`HandshakeError`]; [`HandshakeError::Timeout`] if the whole
/// exchange takes longer than the configured deadline.
///
/// # Cancel safety
///
/// Dropping the future drops the connection half-way through the handshake;
/// nothing else is affected.
///
/// # Examples
///
/// ```
/// use proscenium_net::handshake::{self, ClusterSecret, HandshakeConfig};
/// use proscenium_net::FrameCodec;
/// use proscenium_runtime::NodeId;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = ClusterSecret::new(vec![9; 32])?;
/// let a = HandshakeConfig::new("a", NodeId::new(1, 1), secret.clone())?;
/// let b = HandshakeConfig::new("b", NodeId::new(2, 1), secret)?;
/// let (left, right) = tokio::io::duplex(1024);
/// let (dialed, accepted) = tokio::join!(
///     handshake::initiate(left, &a, FrameCodec::new()),
///     handshake::accept(right, &b, FrameCodec::new()),
/// );
/// assert_eq!(dialed?.peer.name, "b");
/// assert_eq!(accepted?.peer.node, NodeId::new(1, 1));
/// # Ok(())
/// # }
/// ```
pub async fn initiate<S>(
    io: S,
    config: &HandshakeConfig,
    codec: FrameCodec,
) -> Result<Established<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (machine, hello) = Handshake::initiator(config, Nonce::random()?);
    drive(
        io,
        machine,
        Some(hello),
        config,
        codec,
        &AtomicBool::new(false),
    )
    .await
}

/// Runs the handshake as the side that accepted the connection.
///
/// Same as [`initiate`] from the other end; see there.
///
/// # Errors
///
/// Every [`HandshakeError`]; [`HandshakeError::Timeout`] if the whole
/// exchange takes longer than the configured deadline.
///
/// # Cancel safety
///
/// Dropping the future drops the connection half-way through the handshake;
/// nothing else is affected.
pub async fn accept<S>(
    io: S,
    config: &HandshakeConfig,
    codec: FrameCodec,
) -> Result<Established<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_tracking(io, config, codec, &AtomicBool::new(false)).await
}

/// [`accept`], setting `said_hello` once the initiator's hello has checked
/// out, so a node can tell a real peer from an idle or garbage connection.
pub(crate) async fn accept_tracking<S>(
    io: S,
    config: &HandshakeConfig,
    codec: FrameCodec,
    said_hello: &AtomicBool,
) -> Result<Established<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let machine = Handshake::acceptor(config, Nonce::random()?);
    drive(io, machine, None, config, codec, said_hello).await
}

#[tracing::instrument(
    name = "handshake",
    level = "debug",
    skip_all,
    fields(role = ?machine.role(), node = %config.node()),
)]
async fn drive<S>(
    mut io: S,
    mut machine: Handshake,
    first: Option<HandshakeMessage>,
    config: &HandshakeConfig,
    codec: FrameCodec,
    said_hello: &AtomicBool,
) -> Result<Established<S>, HandshakeError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut read_buf = BytesMut::with_capacity(256);
    let exchange = async {
        let mut framing = Delimited::new(MAX_MESSAGE_LEN);
        if let Some(hello) = first {
            write_message(&mut io, &mut framing, &hello).await?;
        }
        loop {
            let body = read_body(&mut io, &mut framing, &mut read_buf).await?;
            let Transition { send, outcome } = machine.receive(&body);
            if let Some(message) = send {
                let sent = write_message(&mut io, &mut framing, &message).await;
                match (&outcome, sent) {
                    // The peer may already be gone; the reason we failed matters more.
                    (Outcome::Failed(_), Err(error)) => {
                        tracing::debug!(%error, "could not send the rejection")
                    }
                    (_, sent) => sent?,
                }
            }
            match outcome {
                Outcome::Continue => said_hello.store(true, Ordering::Release),
                Outcome::Established(peer) => return Ok(peer),
                Outcome::Failed(error) => return Err(error),
            }
        }
    };
    let peer = match tokio::time::timeout(config.timeout(), exchange).await {
        Ok(result) => result?,
        Err(_elapsed) => return Err(HandshakeError::Timeout(config.timeout())),
    };
    tracing::debug!(peer = %peer.name, peer_node = %peer.node, encryption = %config.encryption(), "handshake succeeded");
    // Keep whatever the peer sent after its last handshake message: the
    // start of its first records, or of its first frames in plaintext.
    let arrivals = codec.arrivals();
    let (io, read_buf) = match machine.session_keys() {
        Some(keys) => (
            EncryptedStream::encrypted(io, keys, read_buf),
            BytesMut::new(),
        ),
        None => (EncryptedStream::plaintext(io), read_buf),
    };
    let mut parts = FramedParts::new::<crate::Frame>(io.reporting_arrivals(arrivals), codec);
    parts.read_buf = read_buf;
    Ok(Established {
        peer,
        framed: Framed::from_parts(parts),
    })
}

/// Reads the next handshake frame's body.
async fn read_body<S: AsyncRead + Unpin>(
    io: &mut S,
    framing: &mut Delimited,
    buf: &mut BytesMut,
) -> Result<BytesMut, HandshakeError> {
    loop {
        if let Some(body) = framing.decode(buf).map_err(malformed)? {
            return Ok(body);
        }
        if io.read_buf(buf).await? == 0 {
            return Err(HandshakeError::Closed);
        }
    }
}

/// Writes and flushes one handshake message.
async fn write_message<S: AsyncWrite + Unpin>(
    io: &mut S,
    framing: &mut Delimited,
    message: &HandshakeMessage,
) -> Result<(), HandshakeError> {
    let mut buf = BytesMut::new();
    framing
        .encode(message.encode().map_err(malformed)?, &mut buf)
        .map_err(malformed)?;
    io.write_all(&buf).await?;
    io.flush().await?;
    Ok(())
}

fn malformed(error: FrameError) -> HandshakeError {
    match error {
        FrameError::Io(io) => HandshakeError::Io(io),
        other => HandshakeError::Malformed(other),
    }
}
