//! Erlang distribution on the remote workloads, when `erl` is installed.
//!
//! Issue 6 compares Proscenium's network layer with Erlang's own, the
//! model it follows; the local workloads are not measured on Erlang (n/a).
//! `bench/erlang/bench_remote.erl` is compiled with `erlc` on first use
//! (into `target/erlang`). Each run starts two BEAM nodes on 127.0.0.1
//! without epmd (`-start_epmd false -erl_epmd_port P`, with P picked by the
//! OS): the sink, a registered process that counts chunks and answers
//! asks, and the measuring node (`-dist_listen false`), which connects,
//! sends plain messages (`{sink, Node} ! ...`; an ask is a send and a
//! `receive` on a fresh ref, as `gen_server:call` does) and prints one
//! `RESULT` line, checked here like every other framework's answer. The
//! BEAM runs one scheduler per core, its default.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::process::Command;

use super::{on_tokio, Framework};
use crate::remote::{self, ChildNode};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    remote_ask, remote_tell, ring, spawn, tell, Outcome,
};

/// Erlang/OTP's distribution, through the `erl` on `PATH`.
#[derive(Debug, Clone, Copy)]
pub struct Erlang;

/// Why the local workloads have no Erlang row.
const REMOTE_ONLY: &str = "Erlang is measured on the remote workloads only";
/// Why no Erlang row at all.
const NO_ERL: &str = "`erl` and `erlc` are not installed (Erlang/OTP's `erlang-base`)";

const SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/erlang/bench_remote.erl");
const BEAM_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/erlang");
/// The nodes' shared cookie (loopback only).
const COOKIE: &str = "proscenium_bench_loopback";
const SINK_NODE: &str = "proscenium_bench_sink@127.0.0.1";
const DRIVER_NODE: &str = "proscenium_bench_driver@127.0.0.1";

/// The compiled module's directory, or why there is none.
static COMPILED: OnceLock<Result<PathBuf, &'static str>> = OnceLock::new();
/// The OTP version, or `"not installed"`.
static VERSION: OnceLock<String> = OnceLock::new();

fn compiled() -> Result<&'static Path, &'static str> {
    match COMPILED.get_or_init(compile) {
        Ok(dir) => Ok(dir),
        Err(why) => Err(why),
    }
}

fn compile() -> Result<PathBuf, &'static str> {
    std::fs::create_dir_all(BEAM_DIR).map_err(|_| "target/erlang cannot be created")?;
    let status = StdCommand::new("erlc")
        .args(["-o", BEAM_DIR, SOURCE])
        .status()
        .map_err(|_| NO_ERL)?;
    assert!(
        status.success(),
        "erlc could not compile {SOURCE}: {status}"
    );
    Ok(PathBuf::from(BEAM_DIR))
}

fn otp_version() -> String {
    let version = "io:format(\"~s\", [erlang:system_info(otp_release)]), halt().";
    StdCommand::new("erl")
        .args(["-noshell", "-eval", version])
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "not installed".to_owned(),
            |output| format!("OTP {}", String::from_utf8_lossy(&output.stdout)),
        )
}

/// An `erl` node named `name` on 127.0.0.1 that finds its peers on `port`
/// without epmd, and runs `bench_remote` with `start`.
fn node(name: &str, port: u16, beams: &Path, start: &[&str]) -> Command {
    let mut command = Command::new("erl");
    command
        .args(["-noshell", "-start_epmd", "false", "-erl_epmd_port"])
        .arg(port.to_string())
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-name", name, "-setcookie", COOKIE, "-pa"])
        .arg(beams)
        .args(start)
        .kill_on_drop(true);
    command
}

/// How many ports the sink node is offered before the run gives up.
const SINK_ATTEMPTS: usize = 5;

/// A port on 127.0.0.1 that was free a moment ago.
///
/// BEAM cannot report a port it was given as 0 without epmd, so the OS
/// picks one here and it is closed again before the node binds it; another
/// process may take it meanwhile, hence [`start_sink`]'s retries.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// Starts the sink node on the first of `ports` it can listen on, and
/// returns it with that port. A node that cannot listen exits before it
/// is ready.
async fn start_sink(beams: &Path, ports: impl IntoIterator<Item = u16>) -> (ChildNode, u16) {
    let mut refused = Vec::new();
    for port in ports {
        let sink = node(SINK_NODE, port, beams, &["-s", "bench_remote", "sink"]);
        match ChildNode::try_launch(sink).await {
            Ok((process, _)) => {
                let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                return (ChildNode::new(process, addr), port);
            }
            Err(printed) => refused.push((port, printed)),
        }
    }
    panic!("the Erlang sink node did not start: {refused:?}");
}

/// Starts the sink node, runs the measuring node with `args` (`tell n`
/// or `ask n`) and returns the numbers of its `RESULT` line.
fn measure(args: [String; 2]) -> Result<Vec<u64>, &'static str> {
    let beams = compiled()?;
    Ok(on_tokio(async move {
        let ports = std::iter::repeat_with(free_port).take(SINK_ATTEMPTS);
        let (sink, port) = start_sink(beams, ports).await;
        let driver_args = ["-dist_listen", "false", "-run", "bench_remote"];
        let mut driver = node(DRIVER_NODE, port, beams, &driver_args);
        driver.args(&args).arg(SINK_NODE);
        let output = tokio::time::timeout(Duration::from_secs(600), driver.output())
            .await
            .expect("the Erlang measuring node finishes")
            .expect("the Erlang measuring node starts");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "erl {args:?} failed: {stdout}");
        sink.stop().await;
        remote::reported_numbers(&stdout, &format!("erl {args:?}"))
    }))
}

/// The local workloads' methods, each answering [`REMOTE_ONLY`].
macro_rules! remote_only {
    ($($workload:ident: $params:ty,)*) => {
        $(
            fn $workload(&self, _: &$params) -> Outcome {
                Outcome::NotApplicable(REMOTE_ONLY)
            }
        )*
    };
}

impl Framework for Erlang {
    fn name(&self) -> &'static str {
        "erlang"
    }

    fn version(&self) -> &'static str {
        VERSION.get_or_init(otp_version)
    }

    fn runtime(&self) -> &'static str {
        "BEAM, one scheduler per core (its default); remote workloads only"
    }

    fn remote_tell(&self, params: &remote_tell::Params) -> Outcome {
        let report = measure(["tell".to_owned(), params.messages.to_string()]);
        remote::reported_tell(params, report)
    }

    fn remote_ask(&self, params: &remote_ask::Params) -> Outcome {
        remote::reported_ask(params, measure(["ask".to_owned(), params.asks.to_string()]))
    }

    remote_only! {
        tell: tell::Params,
        ask: ask::Params,
        spawn: spawn::Params,
        ping_pong: ping_pong::Params,
        counting: counting::Params,
        ring: ring::Params,
        fork_join_throughput: fork_join_throughput::Params,
        fork_join_create: fork_join_create::Params,
        fan_out: fan_out::Params,
        big: big::Params,
        chameneos: chameneos::Params,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink whose first port is taken starts on the next one.
    #[test]
    fn the_sink_moves_on_from_a_port_in_use() {
        let Ok(beams) = compiled() else {
            // Without Erlang the remote rows say n/a; nothing to start.
            return;
        };
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a port on 127.0.0.1");
        let taken_port = taken.local_addr().expect("its address").port();
        let next = free_port();
        on_tokio(async move {
            let (sink, port) = start_sink(beams, [taken_port, next]).await;
            assert_eq!(port, next);
            sink.stop().await;
        });
    }
}
