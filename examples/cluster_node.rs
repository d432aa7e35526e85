//! One node of an example cluster, as its own OS process.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example cluster_node -- <name> [listen-address] [--connect <address>]... [--cluster] [--seed <address>]...
//! ```
//!
//! It listens (on `127.0.0.1:0` by default), connects to every node given
//! with `--connect`, is a cluster member with `--cluster` (the first one)
//! or `--seed` (joining through that node; printing a `MEMBER ...` line per
//! membership change and answering `members`, `join <group>`,
//! `register <name>`, `whereis <name>` and `stop <name>` on stdin; see
//! `serve_cluster_node` in `support/cluster.rs`), serves a `counter`, a `ponger` and a `relay` actor,
//! prints `READY <address>`, and runs until its standard input says `quit`
//! or closes. `ping_pong_cluster` and the multi-process tests start it; the
//! cluster secret comes from `PROSCENIUM_SECRET`.

#[path = "support/cluster.rs"]
mod cluster;

use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut name = None;
    let mut listen: Option<SocketAddr> = None;
    let mut connect = Vec::new();
    let mut seeds: Option<Vec<SocketAddr>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--connect" {
            let addr = args.next().ok_or("--connect needs an address")?;
            connect.push(addr.parse::<SocketAddr>()?);
        } else if arg == "--seed" {
            let addr = args.next().ok_or("--seed needs an address")?;
            seeds.get_or_insert_with(Vec::new).push(addr.parse()?);
        } else if arg == "--cluster" {
            seeds.get_or_insert_with(Vec::new);
        } else if name.is_none() {
            name = Some(arg);
        } else if listen.is_none() {
            listen = Some(arg.parse()?);
        } else {
            return Err(format!("unexpected argument `{arg}`").into());
        }
    }
    let name = name.unwrap_or_else(|| "node".to_owned());
    let listen = listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    cluster::serve_cluster_node(&name, listen, &connect, seeds).await
}
