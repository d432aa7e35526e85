//! [`LinkStream`]: the byte stream under a link, a TCP stream or, with the
//! `tls` feature, a TLS session over one.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::sys::Stream;

/// What a link's frames travel over. Without the `tls` feature it has one
/// variant, so the match in each poll compiles away.
#[derive(Debug)]
pub(crate) enum LinkStream {
    /// A TCP stream (the record layer encrypts what travels on it).
    Tcp(Stream),
    /// The dialing side of a TLS session.
    #[cfg(feature = "tls")]
    TlsClient(Box<tokio_rustls::client::TlsStream<Stream>>),
    /// The accepting side of a TLS session.
    #[cfg(feature = "tls")]
    TlsServer(Box<tokio_rustls::server::TlsStream<Stream>>),
}

/// Calls `$method` on whichever stream `$self` holds.
macro_rules! each_stream {
    ($self:ident, $stream:ident => $call:expr) => {
        match $self.get_mut() {
            LinkStream::Tcp($stream) => $call,
            #[cfg(feature = "tls")]
            LinkStream::TlsClient($stream) => $call,
            #[cfg(feature = "tls")]
            LinkStream::TlsServer($stream) => $call,
        }
    };
}

impl AsyncRead for LinkStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_read(cx, buf))
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each_stream!(self, stream => Pin::new(stream).poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, stream => Pin::new(stream).poll_shutdown(cx))
    }
}
