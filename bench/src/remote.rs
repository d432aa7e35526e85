//! The remote workloads' second process, and their implementations.
//!
//! The measuring process re-executes the bench binary as
//! `proscenium-bench --remote-node proscenium|tokio` ([`NODE_FLAG`]): the
//! child listens on `127.0.0.1:0` (never any other address), prints
//! `READY <address>` on stdout, serves until its stdin closes, and exits.
//! The parent holds the child with `kill_on_drop`, so a failed assertion
//! or a panic never leaves it running; at the end of a run the parent closes
//! the child's stdin and waits for it (and kills it after five seconds).
//!
//! * `proscenium`: a [`Node`] with a `sink` actor that counts [`Chunk`]s
//!   and their payload bytes, answers [`Tally`] with both, and answers
//!   [`Inc`]`(i)` with `i + 1`; the parent is a second node that connects
//!   to it, looks the sink up and uses its remote `ActorRef`.
//! * `tokio`: the raw floor, one task per TCP connection reading
//!   length-prefixed frames (`tokio_util::codec::LengthDelimitedCodec`):
//!   a tag byte then a 100-byte payload, a tally request or an `u64` to
//!   increment; replies only to the last two.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use proscenium::net::encryption::Encryption;
use proscenium::net::{Node, NodeBuilder};
use proscenium::{Actor, ActorRef, Context, Handler, Message};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::frameworks::on_tokio;
use crate::workloads::{remote_ask, remote_tell, Outcome};

/// The command-line flag that makes the bench binary a receiving node:
/// `--remote-node proscenium` or `--remote-node tokio`.
pub const NODE_FLAG: &str = "--remote-node";

/// The cluster secret of the two bench nodes (loopback only).
const SECRET: &[u8] = b"proscenium-bench loopback secret";

/// How long the parent waits for the child's `READY` line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

static NODE_EXE: OnceLock<PathBuf> = OnceLock::new();

/// Sets the bench binary to re-execute as the receiving node. Without it,
/// the current executable is used, which is right for the bench binary
/// itself; a test calls this with `env!("CARGO_BIN_EXE_proscenium-bench")`.
pub fn set_node_exe(path: impl Into<PathBuf>) {
    let _ = NODE_EXE.set(path.into());
}

fn node_exe() -> PathBuf {
    NODE_EXE
        .get()
        .cloned()
        .unwrap_or_else(|| std::env::current_exe().expect("the path of the bench binary"))
}

// ===== the child process =====

/// Runs the receiving node of kind `kind` (`proscenium` or `tokio`) until
/// stdin closes. Called by the bench binary's `main` for [`NODE_FLAG`].
///
/// # Errors
///
/// An unknown kind, or a node or listener that cannot start.
pub fn serve(kind: &str) -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(crate::machine::cores())
        .enable_all()
        .build()?;
    match kind {
        "proscenium" => runtime.block_on(serve_proscenium(Encryption::Aes256Gcm)),
        PLAINTEXT_KIND => runtime.block_on(serve_proscenium(Encryption::InsecurePlaintext)),
        "tokio" => runtime.block_on(serve_tokio()),
        other => Err(format!("unknown remote node kind `{other}`").into()),
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// Waits until stdin closes (or says `quit`).
async fn until_stdin_closes() {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == "quit" {
            break;
        }
    }
}

/// The child kind of a Proscenium node that sends frames as plaintext.
const PLAINTEXT_KIND: &str = "proscenium-plaintext";

/// A node builder protecting frames with `encryption`. Its registry is the
/// default one, which the derives below fill.
fn node_builder(name: &str, encryption: Encryption) -> NodeBuilder {
    let builder = Node::builder(name).secret(SECRET);
    match encryption {
        Encryption::InsecurePlaintext => builder.insecure_plaintext(),
        _ => builder,
    }
}

async fn serve_proscenium(encryption: Encryption) -> Result<(), Box<dyn std::error::Error>> {
    let node = node_builder("bench-sink", encryption)
        .listen(loopback())
        .start()
        .await?;
    node.system().spawn_named("sink", Sink::default())?;
    let addr = node.local_addr().ok_or("the node is not listening")?;
    println!("READY {addr}");
    until_stdin_closes().await;
    node.shutdown().await;
    Ok(())
}

async fn serve_tokio() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(loopback()).await?;
    println!("READY {}", listener.local_addr()?);
    let accept = async {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(tokio_connection(stream));
        }
    };
    tokio::select! {
        () = accept => {}
        () = until_stdin_closes() => {}
    }
    Ok(())
}

const TAG_CHUNK: u8 = 0;
const TAG_TALLY: u8 = 1;
const TAG_INC: u8 = 2;

/// Serves one connection of the tokio baseline.
async fn tokio_connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
    let (mut count, mut byte_sum) = (0u64, 0u64);
    while let Some(Ok(mut frame)) = framed.next().await {
        match frame.get_u8() {
            TAG_CHUNK => {
                count += 1;
                byte_sum += frame.iter().map(|&b| u64::from(b)).sum::<u64>();
            }
            TAG_TALLY => {
                let mut reply = BytesMut::with_capacity(16);
                reply.put_u64_le(count);
                reply.put_u64_le(byte_sum);
                if framed.send(reply.freeze()).await.is_err() {
                    return;
                }
            }
            TAG_INC => {
                let n = frame.get_u64_le();
                let mut reply = BytesMut::with_capacity(8);
                reply.put_u64_le(n + 1);
                if framed.send(reply.freeze()).await.is_err() {
                    return;
                }
            }
            other => panic!("tokio remote node: unknown frame tag {other}"),
        }
    }
}

// ===== the parent's side of the child =====

/// A started child node: the process (killed if dropped) and its address.
pub(crate) struct ChildNode {
    process: Child,
    addr: SocketAddr,
}

impl ChildNode {
    /// Starts the bench binary as a node of `kind` and waits for its address.
    async fn start(kind: &str) -> Self {
        let mut command = Command::new(node_exe());
        command.args([NODE_FLAG, kind]);
        let (process, ready) = Self::launch(command).await;
        let addr: SocketAddr = ready
            .parse()
            .unwrap_or_else(|_| panic!("expected `READY <address>`, got `READY {ready}`"));
        Self::new(process, addr)
    }

    /// A child that listens on `addr`, which must be on 127.0.0.1.
    pub(crate) fn new(process: Child, addr: SocketAddr) -> Self {
        assert_eq!(
            addr.ip(),
            Ipv4Addr::LOCALHOST,
            "the remote node must listen on 127.0.0.1"
        );
        Self { process, addr }
    }

    /// Starts `command` with its stdin and stdout piped, to be killed if
    /// dropped, and waits for a line `READY` or `READY <rest>`: returns the
    /// process and `<rest>`.
    pub(crate) async fn launch(command: Command) -> (Child, String) {
        Self::try_launch(command)
            .await
            .unwrap_or_else(|printed| panic!("the remote node exited before READY: {printed:?}"))
    }

    /// Like [`launch`](Self::launch), but when the process exits before
    /// `READY` (a node that could not listen, say) returns what it printed,
    /// so the caller can try again.
    pub(crate) async fn try_launch(mut command: Command) -> Result<(Child, String), String> {
        let mut process = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|error| panic!("the remote node {command:?} starts: {error}"));
        let stdout = process.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = String::new();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Some(line) = lines.next_line().await.ok()? {
                if let Some(rest) = line.strip_prefix("READY") {
                    return Some(rest.trim().to_owned());
                }
                printed.push_str(&line);
                printed.push('\n');
            }
            None
        })
        .await
        .expect("the remote node is ready in time");
        match ready {
            Some(rest) => Ok((process, rest)),
            None => Err(printed),
        }
    }

    /// Closes the child's stdin and waits for it to exit; kills it if it
    /// has not within five seconds.
    pub(crate) async fn stop(mut self) {
        drop(self.process.stdin.take());
        let exited = tokio::time::timeout(Duration::from_secs(5), self.process.wait()).await;
        if !matches!(exited, Ok(Ok(status)) if status.success()) {
            let _ = self.process.kill().await;
            panic!("the remote node did not exit cleanly: {exited:?}");
        }
    }
}

// ===== Proscenium =====

/// Counts the chunks it is told and their payload bytes; echoes `Inc`.
/// The derives register the three messages, and this actor as their
/// receiver, under the tags they name (the ones this file used to
/// register by hand, so the frames are byte for byte the same).
#[derive(Actor, Debug, Default)]
#[actor(unbounded, remote(Chunk, Tally, Inc))]
pub struct Sink {
    count: u64,
    byte_sum: u64,
}

/// A 100-byte payload. `Bytes` (not `Vec<u8>`, which serde encodes and
/// decodes one element at a time), as `proscenium::net::wire` advises for
/// bulk data.
#[derive(Debug, Message, Serialize, Deserialize)]
#[message(remote = "proscenium_bench::Chunk")]
pub struct Chunk(pub bytes::Bytes);

/// Asks for the number of chunks so far and the sum of their bytes.
#[derive(Debug, Message, Serialize, Deserialize)]
#[message(reply = (u64, u64), remote = "proscenium_bench::Tally")]
pub struct Tally;

/// Asks for `n + 1`.
#[derive(Debug, Message, Serialize, Deserialize)]
#[message(reply = u64, remote = "proscenium_bench::Inc")]
pub struct Inc(pub u64);

impl Handler<Chunk> for Sink {
    async fn handle(&mut self, Chunk(bytes): Chunk, _: &mut Context<Self>) {
        self.count += 1;
        self.byte_sum += bytes.iter().map(|&b| u64::from(b)).sum::<u64>();
    }
}

impl Handler<Tally> for Sink {
    async fn handle(&mut self, _: Tally, _: &mut Context<Self>) -> (u64, u64) {
        (self.count, self.byte_sum)
    }
}

impl Handler<Inc> for Sink {
    async fn handle(&mut self, Inc(n): Inc, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

/// Starts a child node and connects a driver node to its sink, both
/// protecting frames with `encryption`.
async fn proscenium_pair(encryption: Encryption) -> (ChildNode, Node, ActorRef<Sink>) {
    let kind = match encryption {
        Encryption::InsecurePlaintext => PLAINTEXT_KIND,
        _ => "proscenium",
    };
    let child = ChildNode::start(kind).await;
    let node = node_builder("bench-driver", encryption)
        // The tally waits behind every queued tell.
        .ask_timeout(Duration::from_secs(600))
        .start()
        .await
        .expect("the driver node starts");
    let peer = node.connect(child.addr).await.expect("connect");
    let sink = node
        .lookup_on::<Sink>(peer, "sink")
        .await
        .expect("lookup")
        .expect("the remote node has a sink");
    (child, node, sink)
}

/// [`remote_tell`] on Proscenium, frames protected with `encryption`.
pub fn proscenium_tell(params: &remote_tell::Params, encryption: Encryption) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let (child, node, sink) = proscenium_pair(encryption).await;
        let start = Instant::now();
        for i in 0..p.messages {
            sink.tell(Chunk(remote_tell::Params::payload(i).into()))
                .await
                .expect("tell");
        }
        let (count, byte_sum) = sink.ask(Tally).await.expect("tally");
        let elapsed = start.elapsed();
        node.shutdown().await;
        child.stop().await;
        p.measured(elapsed, count, byte_sum)
    })
}

/// [`remote_ask`] on Proscenium, frames protected with `encryption`.
pub fn proscenium_ask(params: &remote_ask::Params, encryption: Encryption) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let (child, node, sink) = proscenium_pair(encryption).await;
        let mut latencies = Vec::with_capacity(p.asks as usize);
        for i in 0..p.asks {
            let start = Instant::now();
            let reply = sink.ask(Inc(i)).await.expect("ask");
            latencies.push(start.elapsed());
            assert_eq!(reply, i + 1, "remote-ask: wrong reply");
        }
        node.shutdown().await;
        child.stop().await;
        p.measured(latencies)
    })
}

// ===== raw tokio =====

async fn tokio_pair() -> (ChildNode, Framed<TcpStream, LengthDelimitedCodec>) {
    let child = ChildNode::start("tokio").await;
    let stream = TcpStream::connect(child.addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    (child, Framed::new(stream, LengthDelimitedCodec::new()))
}

async fn request(framed: &mut Framed<TcpStream, LengthDelimitedCodec>, frame: Bytes) -> BytesMut {
    framed.send(frame).await.expect("send");
    framed
        .next()
        .await
        .expect("a reply")
        .expect("a readable reply")
}

/// [`remote_tell`] on raw tokio: frames fed into the codec's buffer, which
/// writes when it fills; one flush with the tally request.
pub fn tokio_tell(params: &remote_tell::Params) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let (child, mut framed) = tokio_pair().await;
        let start = Instant::now();
        for i in 0..p.messages {
            let payload = remote_tell::Params::payload(i);
            let mut frame = BytesMut::with_capacity(1 + payload.len());
            frame.put_u8(TAG_CHUNK);
            frame.extend_from_slice(&payload);
            framed.feed(frame.freeze()).await.expect("feed");
        }
        let mut reply = request(&mut framed, Bytes::from_static(&[TAG_TALLY])).await;
        let elapsed = start.elapsed();
        let (count, byte_sum) = (reply.get_u64_le(), reply.get_u64_le());
        drop(framed);
        child.stop().await;
        p.measured(elapsed, count, byte_sum)
    })
}

/// [`remote_ask`] on raw tokio: one frame out, one back, each flushed.
pub fn tokio_ask(params: &remote_ask::Params) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let (child, mut framed) = tokio_pair().await;
        let mut latencies = Vec::with_capacity(p.asks as usize);
        for i in 0..p.asks {
            let start = Instant::now();
            let mut frame = BytesMut::with_capacity(9);
            frame.put_u8(TAG_INC);
            frame.put_u64_le(i);
            let reply = request(&mut framed, frame.freeze()).await.get_u64_le();
            latencies.push(start.elapsed());
            assert_eq!(reply, i + 1, "remote-ask: wrong reply");
        }
        drop(framed);
        child.stop().await;
        p.measured(latencies)
    })
}

// ===== peers measured by processes of their own (with `peers`) =====

/// The numbers of the `RESULT` line that a peer's own measuring process
/// (ractor_cluster's, Erlang's) printed; `who` names it in a failure.
///
/// # Panics
///
/// Panics when there is no such line or it holds something else than
/// numbers: a failed run, like any framework's wrong answer.
#[cfg(feature = "peers")]
pub(crate) fn reported_numbers(stdout: &str, who: &str) -> Vec<u64> {
    let line = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{who} printed no RESULT line: {stdout}"));
    line.split_whitespace()
        .map(|n| {
            n.parse()
                .unwrap_or_else(|_| panic!("{who}: `{n}` in RESULT is no number"))
        })
        .collect()
}

/// [`remote_tell`]'s outcome from a peer's report `<elapsed ns> <count>
/// <byte sum>`, checked like every answer; or why the peer did not run.
#[cfg(feature = "peers")]
pub(crate) fn reported_tell(
    params: &remote_tell::Params,
    report: Result<Vec<u64>, &'static str>,
) -> Outcome {
    match report.as_deref() {
        Ok(&[elapsed, count, byte_sum]) => {
            params.measured(Duration::from_nanos(elapsed), count, byte_sum)
        }
        Ok(other) => panic!("remote-tell: expected `<ns> <count> <byte sum>`, got {other:?}"),
        Err(why) => Outcome::NotApplicable(why),
    }
}

/// [`remote_ask`]'s outcome from a peer's report, one latency in ns per
/// ask; or why the peer did not run.
#[cfg(feature = "peers")]
pub(crate) fn reported_ask(
    params: &remote_ask::Params,
    report: Result<Vec<u64>, &'static str>,
) -> Outcome {
    match report {
        Ok(ns) => params.measured(ns.into_iter().map(Duration::from_nanos).collect()),
        Err(why) => Outcome::NotApplicable(why),
    }
}
