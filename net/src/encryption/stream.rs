//! [`EncryptedStream`]: the record layer over any byte stream.
//!
//! A record on the wire is a 4-byte big-endian length `n`, then `n` bytes:
//! the ciphertext and its 16-byte GCM tag. The nonce is the record's
//! number in its direction (4 zero bytes, then the counter as 8 big-endian
//! bytes); the length header is the associated data.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use bytes::{Buf, BufMut, BytesMut};
use ring::aead::{Aad, LessSafeKey, Nonce, Tag};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::io::poll_read_buf;

use super::{RecordError, SessionKeys};

/// The most plaintext one record carries: 64 KiB. Larger writes are split
/// into several records; a reader buffers at most one whole record.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

const HEADER_LEN: usize = 4;
const TAG_LEN: usize = 16;

/// What a record adds to the bytes it carries: its length header and its tag.
pub const RECORD_OVERHEAD: usize = HEADER_LEN + TAG_LEN;

/// How much to read from the socket at a time while a record is incomplete.
const READ_CHUNK: usize = 16 * 1024;

/// A byte stream whose bytes travel in sealed records (see the
/// [module docs](super)), or, for
/// [`Encryption::InsecurePlaintext`](super::Encryption::InsecurePlaintext), as
/// they are.
///
/// Writes are buffered until a flush or until a record is full; a read
/// returns plaintext only from records that authenticated. After a failed
/// record every read fails with the same [`RecordError`], carried inside the
/// [`io::Error`] (kind `InvalidData`).
#[derive(Debug)]
pub struct EncryptedStream<S> {
    io: S,
    records: Option<Box<Records>>,
    arrived: Option<Arc<AtomicBool>>,
}

impl<S> EncryptedStream<S> {
    /// `io`'s bytes sealed with `keys`. `already_read` holds bytes of the
    /// peer's first records that arrived together with its last handshake
    /// message.
    pub fn encrypted(io: S, keys: &SessionKeys, already_read: BytesMut) -> Self {
        Self {
            io,
            records: Some(Box::new(Records::new(keys, already_read))),
            arrived: None,
        }
    }

    /// `io` as it is: no encryption, no integrity check.
    pub fn plaintext(io: S) -> Self {
        Self {
            io,
            records: None,
            arrived: None,
        }
    }

    /// Whether records are sealed (false for insecure plaintext).
    pub fn is_encrypted(&self) -> bool {
        self.records.is_some()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// Sets `arrived` whenever bytes arrive, even in the middle of a record,
    /// so a large frame arriving slowly still counts as the peer being heard.
    pub(crate) fn reporting_arrivals(mut self, arrived: Option<Arc<AtomicBool>>) -> Self {
        self.arrived = arrived;
        self
    }
}

/// One direction's cipher and the number of its next record.
struct Direction {
    /// `None` only if ring refused the key, which it does only for a key
    /// of the wrong length: every record then fails, none goes out unsealed.
    cipher: Option<LessSafeKey>,
    next: u64,
}

impl Direction {
    /// The next record's nonce and number; never the same twice.
    fn next_nonce(&mut self) -> Result<(Nonce, u64), RecordError> {
        let number = self.next;
        self.next = number.checked_add(1).ok_or(RecordError::Exhausted)?;
        let mut nonce = [0; ring::aead::NONCE_LEN];
        nonce[4..].copy_from_slice(&number.to_be_bytes());
        Ok((Nonce::assume_unique_for_key(nonce), number))
    }
}

/// The buffers and ciphers of a sealed stream.
struct Records {
    sealer: Direction,
    opener: Direction,
    /// Room for a header, then the plaintext written since the last seal.
    unsealed: BytesMut,
    /// Sealed records not yet written to the stream.
    sealed: BytesMut,
    /// Bytes read from the stream: the record being read out, if any,
    /// decrypted in place, then whatever has arrived after it.
    incoming: BytesMut,
    /// Where in `incoming` the authenticated plaintext not yet read is.
    opened: std::ops::Range<usize>,
    /// Where in `incoming` the opened record ends (0 when none is open).
    opened_end: usize,
    /// The error that ended reading, repeated to every later read.
    failed: Option<RecordError>,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("sent", &self.sealer.next)
            .field("received", &self.opener.next)
            .finish_non_exhaustive()
    }
}

impl Records {
    fn new(keys: &SessionKeys, already_read: BytesMut) -> Self {
        let (sealer, opener) = keys.ciphers().unzip();
        let mut unsealed = BytesMut::with_capacity(READ_CHUNK);
        unsealed.put_bytes(0, HEADER_LEN);
        Self {
            sealer: Direction {
                cipher: sealer,
                next: 0,
            },
            opener: Direction {
                cipher: opener,
                next: 0,
            },
            unsealed,
            sealed: BytesMut::new(),
            incoming: already_read,
            opened: 0..0,
            opened_end: 0,
            failed: None,
        }
    }

    fn buffered(&self) -> usize {
        self.unsealed.len() - HEADER_LEN
    }

    /// Seals the buffered plaintext, if any, as one record behind those
    /// already waiting to be written.
    fn seal_buffered(&mut self) -> Result<(), RecordError> {
        let plaintext = self.buffered();
        if plaintext == 0 {
            return Ok(());
        }
        let (nonce, number) = self.sealer.next_nonce()?;
        let len = plaintext + TAG_LEN;
        let oversized = RecordError::Oversized {
            len,
            max: MAX_RECORD_LEN + TAG_LEN,
        };
        let header = u32::try_from(len).map_err(|_| oversized.clone())?;
        self.unsealed[..HEADER_LEN].copy_from_slice(&header.to_be_bytes());
        let (header, body) = self.unsealed.split_at_mut(HEADER_LEN);
        let tag = self
            .sealer
            .cipher
            .as_ref()
            .ok_or(RecordError::Forged { record: number })?
            .seal_in_place_separate_tag(nonce, Aad::from(&*header), body)
            .map_err(|_| oversized)?;
        self.unsealed.extend_from_slice(tag.as_ref());
        // The buffers trade places rather than split, so each keeps its
        // allocation: `sealed` is empty here (a record is sealed only once
        // the previous one is written), and its memory takes the next
        // plaintext.
        if self.sealed.is_empty() {
            std::mem::swap(&mut self.sealed, &mut self.unsealed);
            self.unsealed.clear();
        } else {
            self.sealed.extend_from_slice(&self.unsealed);
            self.unsealed.clear();
        }
        self.unsealed.put_bytes(0, HEADER_LEN);
        Ok(())
    }

    /// Opens the next record if it has arrived whole; `Ok(false)` if more
    /// bytes are needed. The record opened before it must have been read.
    fn open_next(&mut self) -> Result<bool, RecordError> {
        // Drop the record read out, so the buffer's start is free again.
        self.incoming.advance(std::mem::take(&mut self.opened_end));
        let Some(header) = self.incoming.get(..HEADER_LEN) else {
            return Ok(false);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > MAX_RECORD_LEN + TAG_LEN {
            return Err(RecordError::Oversized {
                len,
                max: MAX_RECORD_LEN + TAG_LEN,
            });
        }
        if self.incoming.len() < HEADER_LEN + len {
            self.incoming
                .reserve(HEADER_LEN + len - self.incoming.len());
            return Ok(false);
        }
        let record = &mut self.incoming[..HEADER_LEN + len];
        let (nonce, number) = self.opener.next_nonce()?;
        let forged = RecordError::Forged { record: number };
        let Some(body_len) = len.checked_sub(TAG_LEN) else {
            return Err(forged);
        };
        let (header, rest) = record.split_at_mut(HEADER_LEN);
        let (body, tag) = rest.split_at_mut(body_len);
        if tag.len() != TAG_LEN {
            return Err(forged);
        }
        let tag = Tag::try_from(&*tag).map_err(|_| forged.clone())?;
        self.opener
            .cipher
            .as_ref()
            .ok_or(forged.clone())?
            .open_in_place_separate_tag(nonce, Aad::from(&*header), tag, body, 0..)
            .map_err(|_| forged)?;
        self.opened = HEADER_LEN..HEADER_LEN + body_len;
        self.opened_end = HEADER_LEN + len;
        Ok(true)
    }

    /// Writes the sealed records out; ready once all are written.
    fn poll_write_sealed<S: AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.sealed.is_empty() {
            let n = ready!(Pin::new(&mut *io).poll_write(cx, &self.sealed))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sealed.advance(n);
        }
        Poll::Ready(Ok(()))
    }

    fn fail(&mut self, error: RecordError) -> io::Error {
        self.failed = Some(error.clone());
        error.into()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EncryptedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Self {
            io,
            records,
            arrived,
        } = self.get_mut();
        let Some(records) = records.as_deref_mut() else {
            return Pin::new(io).poll_read(cx, buf);
        };
        loop {
            if let Some(error) = &records.failed {
                return Poll::Ready(Err(error.clone().into()));
            }
            if !records.opened.is_empty() {
                let n = records.opened.len().min(buf.remaining());
                let start = records.opened.start;
                buf.put_slice(&records.incoming[start..start + n]);
                records.opened.start += n;
                return Poll::Ready(Ok(()));
            }
            match records.open_next() {
                Ok(true) => continue,
                Ok(false) => {}
                Err(error) => return Poll::Ready(Err(records.fail(error))),
            }
            if records.incoming.capacity() - records.incoming.len() < HEADER_LEN {
                records.incoming.reserve(READ_CHUNK);
            }
            if ready!(poll_read_buf(Pin::new(&mut *io), cx, &mut records.incoming))? == 0 {
                if records.incoming.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                let buffered = records.incoming.len();
                return Poll::Ready(Err(records.fail(RecordError::Truncated { buffered })));
            }
            if let Some(arrived) = arrived {
                arrived.store(true, Ordering::Relaxed);
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EncryptedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Self { io, records, .. } = self.get_mut();
        let Some(records) = records.as_deref_mut() else {
            return Pin::new(io).poll_write(cx, buf);
        };
        loop {
            let room = MAX_RECORD_LEN - records.buffered();
            if room > 0 || buf.is_empty() {
                let n = room.min(buf.len());
                records.unsealed.extend_from_slice(&buf[..n]);
                return Poll::Ready(Ok(n));
            }
            // A full record: seal it, and write it before taking more, so
            // a peer that reads nothing holds back the writer, not memory.
            if records.sealed.is_empty() {
                records.seal_buffered()?;
            }
            ready!(records.poll_write_sealed(io, cx))?;
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Self { io, records, .. } = self.get_mut();
        if let Some(records) = records.as_deref_mut() {
            ready!(records.poll_write_sealed(io, cx))?;
            if records.buffered() > 0 {
                records.seal_buffered()?;
                ready!(records.poll_write_sealed(io, cx))?;
            }
        }
        Pin::new(io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn keys() -> (SessionKeys, SessionKeys) {
        let prk = [42u8; 32];
        (
            SessionKeys::derive(&prk, true),
            SessionKeys::derive(&prk, false),
        )
    }

    /// The sealed bytes `writes` produce, one flush after each write.
    async fn sealed_bytes(writes: &[&[u8]]) -> Vec<u8> {
        let (initiator, _) = keys();
        let mut out = EncryptedStream::encrypted(Vec::new(), &initiator, BytesMut::new());
        for write in writes {
            out.write_all(write).await.expect("writes to a Vec succeed");
            out.flush().await.expect("flushes to a Vec succeed");
        }
        out.io
    }

    /// Everything the acceptor reads from `wire`, or the error that ended it.
    async fn read_all(wire: Vec<u8>) -> Result<Vec<u8>, io::Error> {
        let (_, acceptor) = keys();
        let mut input = EncryptedStream::encrypted(&wire[..], &acceptor, BytesMut::new());
        let mut plaintext = Vec::new();
        input.read_to_end(&mut plaintext).await?;
        Ok(plaintext)
    }

    fn seal_error(error: &io::Error) -> Option<&RecordError> {
        RecordError::carried_by(error)
    }

    #[tokio::test]
    async fn records_round_trip_in_order() {
        let wire = sealed_bytes(&[b"one", b"two", &[7; 200_000]]).await;
        let mut expected = b"onetwo".to_vec();
        expected.extend_from_slice(&[7; 200_000]);
        assert_eq!(read_all(wire.clone()).await.expect("authentic"), expected);
        assert!(
            !wire.windows(3).any(|w| w == b"one" || w == b"two"),
            "plaintext on the wire"
        );
    }

    /// The records are standard AES-256-GCM, as every earlier version
    /// wrote them (with the `aes-gcm` crate): that crate opens what this
    /// seals, under the record number as nonce and the header as AAD.
    #[tokio::test]
    async fn records_open_with_an_independent_aes_256_gcm() {
        use aes_gcm::aead::{AeadInPlace, KeyInit};
        let wire = sealed_bytes(&[b"first record", b"second"]).await;
        let (initiator, _) = keys();
        let cipher = aes_gcm::Aes256Gcm::new(&initiator.seal);
        let mut rest = &wire[..];
        let mut opened = Vec::new();
        for number in 0u64..2 {
            let (header, after) = rest.split_at(HEADER_LEN);
            let len = u32::from_be_bytes(header.try_into().expect("4 bytes")) as usize;
            let mut nonce = [0u8; 12];
            nonce[4..].copy_from_slice(&number.to_be_bytes());
            let (body, tag) = after[..len].split_at(len - TAG_LEN);
            let mut plaintext = body.to_vec();
            cipher
                .decrypt_in_place_detached(
                    aes_gcm::Nonce::from_slice(&nonce),
                    header,
                    &mut plaintext,
                    aes_gcm::Tag::from_slice(tag),
                )
                .expect("a standard AES-256-GCM record");
            opened.push(plaintext);
            rest = &after[len..];
        }
        assert_eq!(opened, vec![b"first record".to_vec(), b"second".to_vec()]);
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn a_flipped_byte_anywhere_is_forged() {
        let wire = sealed_bytes(&[b"hello", b"world"]).await;
        for at in 0..wire.len() {
            let mut altered = wire.clone();
            altered[at] ^= 0x01;
            let error = read_all(altered).await.expect_err("altered record read");
            assert!(
                matches!(
                    seal_error(&error),
                    Some(RecordError::Forged { .. } | RecordError::Truncated { .. })
                        | Some(RecordError::Oversized { .. })
                ),
                "byte {at}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn replayed_reordered_and_dropped_records_are_forged() {
        let wire = sealed_bytes(&[b"first", b"second"]).await;
        let first_len = RECORD_OVERHEAD + 5;
        let (first, second) = wire.split_at(first_len);
        for (case, bytes) in [
            ("replayed", [first, first].concat()),
            ("reordered", [second, first].concat()),
            ("dropped", second.to_vec()),
        ] {
            let error = read_all(bytes).await.expect_err(case);
            assert!(
                matches!(seal_error(&error), Some(RecordError::Forged { .. })),
                "{case}: {error}"
            );
        }
    }

    #[tokio::test]
    async fn a_record_cut_short_is_truncated() {
        let wire = sealed_bytes(&[b"complete"]).await;
        let error = read_all(wire[..wire.len() - 1].to_vec())
            .await
            .expect_err("truncated");
        assert_eq!(
            seal_error(&error),
            Some(&RecordError::Truncated {
                buffered: wire.len() - 1
            })
        );
    }

    #[tokio::test]
    async fn an_injected_record_from_other_keys_is_forged() {
        let other = SessionKeys::derive(&[9u8; 32], true);
        let mut out = EncryptedStream::encrypted(Vec::new(), &other, BytesMut::new());
        out.write_all(b"kill")
            .await
            .expect("writes to a Vec succeed");
        out.flush().await.expect("flushes to a Vec succeed");
        let error = read_all(out.io).await.expect_err("injected");
        assert_eq!(seal_error(&error), Some(&RecordError::Forged { record: 0 }));
    }

    #[tokio::test]
    async fn a_header_over_the_limit_is_refused_before_buffering() {
        let mut wire = u32::MAX.to_be_bytes().to_vec();
        wire.extend_from_slice(&[0; 64]);
        let error = read_all(wire).await.expect_err("oversized");
        assert!(matches!(
            seal_error(&error),
            Some(RecordError::Oversized { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_open(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
            let read = runtime.block_on(read_all(bytes.clone()));
            match read {
                Ok(plaintext) => proptest::prop_assert!(plaintext.is_empty() && bytes.is_empty()),
                Err(error) => proptest::prop_assert!(seal_error(&error).is_some(), "{}", error),
            }
        }
    }
}
