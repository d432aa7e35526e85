//! The sockets of a build with the `simulation` feature: tokio's, or
//! turmoil's when made inside a turmoil simulation.
//!
//! A simulated host has one address and turmoil binds only the unspecified
//! or the loopback address; binding the host's own address (as a node's
//! `listen` does in a simulation) binds the unspecified one on that port,
//! and `local_addr` answers with the address asked for, as on a real host.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Whether sockets made now are simulated.
fn simulated() -> bool {
    turmoil::in_simulation()
}

/// What turmoil can bind for `addr`: the unspecified address of its family
/// in place of a host address.
fn bindable(addr: SocketAddr) -> SocketAddr {
    let ip = addr.ip();
    if ip.is_unspecified() || ip.is_loopback() {
        return addr;
    }
    let any = match ip {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(any, addr.port())
}

/// The address a socket bound for `asked` listens on, once bound to `bound`.
fn reported(asked: SocketAddr, bound: SocketAddr) -> SocketAddr {
    SocketAddr::new(asked.ip(), bound.port())
}

// ===== impl Listener =====

/// A TCP listener: tokio's, or turmoil's in a simulation.
pub(crate) enum Listener {
    Os(tokio::net::TcpListener),
    Simulated {
        listener: turmoil::net::TcpListener,
        /// The address asked for, reported by `local_addr`.
        asked: SocketAddr,
    },
}

impl Listener {
    pub(crate) async fn bind(addr: SocketAddr) -> io::Result<Self> {
        if !simulated() {
            return tokio::net::TcpListener::bind(addr).await.map(Self::Os);
        }
        let listener = turmoil::net::TcpListener::bind(bindable(addr)).await?;
        Ok(Self::Simulated {
            listener,
            asked: addr,
        })
    }

    pub(crate) async fn accept(&self) -> io::Result<(Stream, SocketAddr)> {
        match self {
            Self::Os(listener) => {
                let (stream, from) = listener.accept().await?;
                Ok((Stream::Os(stream), from))
            }
            Self::Simulated { listener, .. } => {
                let (stream, from) = listener.accept().await?;
                Ok((Stream::Simulated(stream), from))
            }
        }
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        match self {
            Self::Os(listener) => listener.local_addr(),
            Self::Simulated { listener, asked } => Ok(reported(*asked, listener.local_addr()?)),
        }
    }
}

// ===== impl Stream =====

/// A TCP stream: tokio's, or turmoil's in a simulation.
#[derive(Debug)]
pub(crate) enum Stream {
    Os(tokio::net::TcpStream),
    Simulated(turmoil::net::TcpStream),
}

impl Stream {
    pub(crate) async fn connect(addr: SocketAddr) -> io::Result<Self> {
        if simulated() {
            turmoil::net::TcpStream::connect(addr)
                .await
                .map(Self::Simulated)
        } else {
            tokio::net::TcpStream::connect(addr).await.map(Self::Os)
        }
    }

    pub(crate) fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        match self {
            Self::Os(stream) => stream.set_nodelay(nodelay),
            Self::Simulated(stream) => stream.set_nodelay(nodelay),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Os(stream) => Pin::new(stream).poll_read(cx, buf),
            Self::Simulated(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Os(stream) => Pin::new(stream).poll_write(cx, buf),
            Self::Simulated(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Os(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            Self::Simulated(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Os(stream) => stream.is_write_vectored(),
            Self::Simulated(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Os(stream) => Pin::new(stream).poll_flush(cx),
            Self::Simulated(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Os(stream) => Pin::new(stream).poll_shutdown(cx),
            Self::Simulated(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

// ===== impl Datagram =====

/// A UDP socket: tokio's, or turmoil's in a simulation.
#[derive(Debug)]
pub(crate) enum Datagram {
    Os(tokio::net::UdpSocket),
    Simulated(turmoil::net::UdpSocket),
}

impl Datagram {
    pub(crate) async fn bind(addr: SocketAddr) -> io::Result<Self> {
        if simulated() {
            turmoil::net::UdpSocket::bind(bindable(addr))
                .await
                .map(Self::Simulated)
        } else {
            tokio::net::UdpSocket::bind(addr).await.map(Self::Os)
        }
    }

    pub(crate) async fn send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<usize> {
        match self {
            Self::Os(socket) => socket.send_to(datagram, to).await,
            Self::Simulated(socket) => socket.send_to(datagram, to).await,
        }
    }

    pub(crate) async fn recv_from(&self, buffer: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        match self {
            Self::Os(socket) => socket.recv_from(buffer).await,
            Self::Simulated(socket) => socket.recv_from(buffer).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{bindable, reported};

    #[test]
    fn a_host_address_binds_the_unspecified_one_and_is_reported_back() {
        let host = "192.168.0.7:4000".parse().unwrap();
        assert_eq!(bindable(host), "0.0.0.0:4000".parse().unwrap());
        let bound = "0.0.0.0:49152".parse().unwrap();
        assert_eq!(
            reported("192.168.0.7:0".parse().unwrap(), bound),
            "192.168.0.7:49152".parse().unwrap()
        );
        let loopback = "127.0.0.1:0".parse().unwrap();
        assert_eq!(bindable(loopback), loopback);
        let v6 = "[fe80::1]:9".parse().unwrap();
        assert_eq!(bindable(v6), "[::]:9".parse().unwrap());
    }
}
