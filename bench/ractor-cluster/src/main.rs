//! The ractor_cluster side of proscenium-bench's remote workloads: the same
//! messages as Proscenium's `remote-tell` and `remote-ask`, between two
//! ractor_cluster nodes in two OS processes on 127.0.0.1.
//!
//! ```text
//! proscenium-bench-ractor-cluster tell <n>   # prints RESULT <elapsed ns> <count> <byte sum>
//! proscenium-bench-ractor-cluster ask <n>    # prints RESULT <ns of ask 0> <ns of ask 1> ...
//! proscenium-bench-ractor-cluster sink       # the receiving node (started by the two above)
//! ```
//!
//! `tell` and `ask` start this binary again as `sink`, in a child process
//! held with `kill_on_drop`: it prints `READY <address>`, serves until its
//! stdin closes, and exits. The measuring process is a second node that
//! connects to it, finds the sink through ractor's process groups, and uses
//! the remote `ActorRef` it gets: `cast` for tells, `call` for asks. Both
//! processes run a multi-thread tokio runtime with one worker per core, as
//! every tokio-based framework in proscenium-bench does.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::{Duration, Instant};

use ractor::rpc::CallResult;
use ractor::{pg, Actor, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use ractor_cluster::node::NodeConnectionMode;
use ractor_cluster::{NodeServer, NodeServerMessage, RactorClusterMessage};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The nodes' shared cookie (loopback only).
const COOKIE: &str = "proscenium-bench loopback cookie";
/// The process group the sink joins and the driver looks in.
const SINK_GROUP: &str = "proscenium-bench-sink";
/// Bytes of payload per chunk, as in proscenium-bench's `remote-tell`.
const PAYLOAD_LEN: usize = 100;
/// How long setup steps (child start, connect, group sync) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts to bind a node to a port the OS just handed out.
const BIND_ATTEMPTS: usize = 5;

fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .enable_all()
        .build()?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["sink"] => runtime.block_on(serve_sink()),
        ["tell", n] => {
            let (elapsed, count, byte_sum) = runtime.block_on(measure_tells(n.parse()?))?;
            println!("RESULT {} {count} {byte_sum}", elapsed.as_nanos());
            Ok(())
        }
        ["ask", n] => {
            let latencies = runtime.block_on(measure_asks(n.parse()?))?;
            let ns: Vec<String> = latencies.iter().map(|d| d.as_nanos().to_string()).collect();
            println!("RESULT {}", ns.join(" "));
            Ok(())
        }
        _ => Err("usage: proscenium-bench-ractor-cluster (sink | tell <n> | ask <n>)".into()),
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ===== messages and the sink =====

/// The sink's messages: the same three as Proscenium's bench sink.
#[derive(RactorClusterMessage)]
enum SinkMsg {
    /// A 100-byte payload to count.
    Chunk(Vec<u8>),
    /// The number of chunks so far and the sum of their bytes.
    #[rpc]
    Tally(RpcReplyPort<Vec<u64>>),
    /// `n + 1`.
    #[rpc]
    Inc(u64, RpcReplyPort<u64>),
}

/// Counts chunks and their bytes; answers `Tally` and `Inc`.
struct Sink;

#[derive(Default)]
struct SinkState {
    count: u64,
    byte_sum: u64,
}

impl Actor for Sink {
    type Msg = SinkMsg;
    type State = SinkState;
    type Arguments = ();

    async fn pre_start(
        &self,
        myself: ActorRef<SinkMsg>,
        (): (),
    ) -> Result<SinkState, ActorProcessingErr> {
        pg::join(SINK_GROUP.to_owned(), vec![myself.get_cell()]);
        Ok(SinkState::default())
    }

    async fn handle(
        &self,
        _: ActorRef<SinkMsg>,
        message: SinkMsg,
        state: &mut SinkState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SinkMsg::Chunk(bytes) => {
                state.count += 1;
                state.byte_sum += bytes.iter().map(|&b| u64::from(b)).sum::<u64>();
            }
            SinkMsg::Tally(reply) => {
                let _ = reply.send(vec![state.count, state.byte_sum]);
            }
            SinkMsg::Inc(n, reply) => {
                let _ = reply.send(n + 1);
            }
        }
        Ok(())
    }
}

// ===== nodes =====

/// Starts a node server listening on 127.0.0.1 and returns its address.
///
/// ractor_cluster cannot report the port the OS picks for port 0, so the
/// port comes from a listener bound and closed just before; if another
/// process takes it in between, the next attempt gets a fresh one.
async fn start_node(name: &str) -> Result<(ActorRef<NodeServerMessage>, SocketAddr), Failure> {
    let mut last_error: Failure = "no attempt made".into();
    for _ in 0..BIND_ATTEMPTS {
        let addr = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
        let server = NodeServer::new(
            addr.port(),
            COOKIE.to_owned(),
            name.to_owned(),
            Ipv4Addr::LOCALHOST.to_string(),
            None,
            Some(NodeConnectionMode::Isolated),
        )
        .with_listen_addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
        match Actor::spawn(None, server, ()).await {
            Ok((node, _)) => return Ok((node, addr)),
            Err(error) => last_error = error.into(),
        }
    }
    Err(last_error)
}

async fn serve_sink() -> Result<(), Failure> {
    let (node, addr) = start_node("bench-sink").await?;
    let (sink, _) = Actor::spawn(None, Sink, ()).await?;
    println!("READY {addr}");
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(_)) = lines.next_line().await {}
    sink.stop(None);
    node.stop(None);
    Ok(())
}

/// The sink in a child process, and this process's node connected to it.
struct Pair {
    child: Child,
    node: ActorRef<NodeServerMessage>,
    sink: ActorRef<SinkMsg>,
}

impl Pair {
    async fn start() -> Result<Self, Failure> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg("sink")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or("the sink's stdout is not piped")?;
        let line = tokio::time::timeout(SETUP_TIMEOUT, BufReader::new(stdout).lines().next_line())
            .await??
            .ok_or("the sink exited before READY")?;
        let sink_addr: SocketAddr = line
            .strip_prefix("READY ")
            .ok_or_else(|| format!("expected `READY <address>`, got `{line}`"))?
            .parse()?;
        let (node, _) = start_node("bench-driver").await?;
        let sink_joined = watch_group().await?;
        ractor_cluster::client_connect(&node, sink_addr).await?;
        let sink = tokio::time::timeout(SETUP_TIMEOUT, sink_joined).await??;
        Ok(Self { child, node, sink })
    }

    async fn stop(mut self) -> Result<(), Failure> {
        self.node.stop(None);
        drop(self.child.stdin.take());
        let status = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await??;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the sink exited with {status}").into())
        }
    }
}

/// Resolves to the sink's remote `ActorRef` once the sink node's process
/// groups have reached this node.
async fn watch_group() -> Result<oneshot::Receiver<ActorRef<SinkMsg>>, Failure> {
    let (found, sink) = oneshot::channel();
    Actor::spawn(None, GroupWatch, Some(found)).await?;
    Ok(sink)
}

/// Monitors the sink's group and hands on its first remote member.
struct GroupWatch;

type Found = Option<oneshot::Sender<ActorRef<SinkMsg>>>;

impl Actor for GroupWatch {
    type Msg = ();
    type State = Found;
    type Arguments = Found;

    async fn pre_start(
        &self,
        myself: ActorRef<()>,
        found: Found,
    ) -> Result<Found, ActorProcessingErr> {
        pg::monitor(SINK_GROUP.to_owned(), myself.get_cell());
        Ok(found)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<()>,
        event: SupervisionEvent,
        found: &mut Found,
    ) -> Result<(), ActorProcessingErr> {
        if let SupervisionEvent::ProcessGroupChanged(pg::GroupChangeMessage::Join(_, _, members)) =
            event
        {
            if let Some(member) = members.into_iter().find(|m| !m.get_id().is_local()) {
                if let Some(found) = found.take() {
                    let _ = found.send(member.into());
                }
                myself.stop(None);
            }
        }
        Ok(())
    }
}

fn answer<T>(result: Result<CallResult<T>, impl std::fmt::Debug>) -> Result<T, Failure> {
    match result {
        Ok(CallResult::Success(value)) => Ok(value),
        Ok(CallResult::Timeout) => Err("a call timed out".into()),
        Ok(CallResult::SenderError) => Err("a call's reply port was dropped".into()),
        Err(error) => Err(format!("a call failed: {error:?}").into()),
    }
}

// ===== the workloads =====

/// Tells `n` 100-byte chunks, then asks for the tally: the elapsed time,
/// the count and the byte sum.
async fn measure_tells(n: u64) -> Result<(Duration, u64, u64), Failure> {
    let pair = Pair::start().await?;
    let start = Instant::now();
    for i in 0..n {
        pair.sink
            .cast(SinkMsg::Chunk(vec![(i % 251) as u8; PAYLOAD_LEN]))?;
    }
    let tally = answer(pair.sink.call(SinkMsg::Tally, None).await)?;
    let elapsed = start.elapsed();
    pair.stop().await?;
    match tally[..] {
        [count, byte_sum] => Ok((elapsed, count, byte_sum)),
        _ => Err(format!("a tally of {} numbers", tally.len()).into()),
    }
}

/// `n` sequential asks `Inc(i)`, each checked and timed.
async fn measure_asks(n: u64) -> Result<Vec<Duration>, Failure> {
    let pair = Pair::start().await?;
    let mut latencies = Vec::with_capacity(n as usize);
    for i in 0..n {
        let start = Instant::now();
        let reply = answer(pair.sink.call(|port| SinkMsg::Inc(i, port), None).await)?;
        latencies.push(start.elapsed());
        if reply != i + 1 {
            return Err(format!("ask {i} answered {reply}").into());
        }
    }
    pair.stop().await?;
    Ok(latencies)
}
