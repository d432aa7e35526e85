//! One node of an example cluster, as its own OS process.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example cluster_node -- <name> [listen-address]
//! ```
//!
//! It listens (on `127.0.0.1:0` by default), serves a `counter`, a `ponger`
//! and a `relay` actor, prints `READY <address>`, and runs until its
//! standard input says `quit` or closes. `ping_pong_cluster` and the
//! multi-process tests start it; the cluster secret comes from
//! `PROSCENIUM_SECRET`.

#[path = "support/cluster.rs"]
mod cluster;

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "node".to_owned());
    let listen: SocketAddr = match args.next() {
        Some(addr) => addr.parse()?,
        None => "127.0.0.1:0".parse()?,
    };
    cluster::serve_node(&name, listen).await
}
