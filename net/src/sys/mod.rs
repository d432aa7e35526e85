//! The net layer's one seam to the operating system: its sockets (the TCP
//! listener, TCP streams, the UDP socket of membership), the wall clock and
//! the randomness its choices take ([`Entropy`]).
//!
//! A normal build uses tokio's sockets directly: [`Listener`], [`Stream`]
//! and [`Datagram`] are aliases of `tokio::net` types, so the data path is
//! tokio's, with nothing in between. With the `simulation` cargo feature
//! they become small enums (`simulated`) that hold turmoil's simulated
//! sockets when they are made inside a turmoil simulation
//! (`turmoil::in_simulation()`) and tokio's otherwise: the whole node
//! (handshake, links, membership) then runs on a simulated network in
//! tests, while every other test of the same build keeps real sockets.
//! Code outside this module names only these types and calls only the
//! methods both kinds have (`bind`, `accept`, `connect`, `local_addr`,
//! `set_nodelay`, `send_to`, `recv_from`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(not(feature = "simulation"))]
pub(crate) use tokio::net::{TcpListener as Listener, TcpStream as Stream, UdpSocket as Datagram};

mod entropy;
#[cfg(feature = "simulation")]
mod simulated;

pub(crate) use entropy::Entropy;
#[cfg(feature = "simulation")]
pub(crate) use simulated::{Datagram, Listener, Stream};

/// How long since the Unix epoch, by the host's clock: the simulation's
/// logical clock inside a turmoil simulation, so that what is derived from
/// it (a membership session) repeats with the simulation's seed.
pub(crate) fn since_epoch() -> Duration {
    #[cfg(feature = "simulation")]
    if let Some(simulated) = turmoil::since_epoch() {
        return simulated;
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
