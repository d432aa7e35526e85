//! The main demo: two nodes, two OS processes, one command.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example ping_pong_cluster
//! ```
//!
//! Node `alpha` (this process) starts node `beta` as a child process on
//! 127.0.0.1, connects to it, and then uses actors on `beta` through the
//! very same `ActorRef` calls it would use for local ones: tell, ask, a ref
//! sent inside a message for `beta` to answer to, a remote spawn, a crash
//! that `beta` supervises, one `ask_all` to workers on both nodes, a remote
//! watch, and finally `beta` going away.

#[path = "support/cluster.rs"]
mod cluster;

use std::process::Stdio;

use cluster::{Add, Collected, Collector, Counter, Crash, Ping, Ponger, Values, WhoAreYou, Worker};
use proscenium::net::{Node, NodeEvent, RemoteSpawn};
use proscenium::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--node") {
        let name = args.next().unwrap_or_else(|| "beta".to_owned());
        return cluster::serve_node(&name, "127.0.0.1:0".parse()?, &[]).await;
    }
    run_alpha().await
}

async fn run_alpha() -> Result<(), Error> {
    let alpha = cluster::with_secret(Node::builder("alpha"))
        .registry(cluster::registry())
        .start()
        .await?;
    let (mut beta_process, beta_addr) = start_beta().await?;
    let mut events = alpha.events();
    let beta = alpha.connect(beta_addr.parse()?).await?;
    println!(
        "alpha ({}) connected to beta ({beta}) at {beta_addr}",
        alpha.id()
    );

    // tell and ask: the counter lives on beta.
    let counter = alpha
        .lookup_on::<Counter>(beta, "counter")
        .await?
        .ok_or("no counter on beta")?;
    for n in 1..=5 {
        counter.tell(Add(n)).await?;
    }
    let values = counter.ask(Values).await?;
    println!("told beta's counter 1..=5, asked it back: {values:?}");
    assert_eq!(values, [1, 2, 3, 4, 5]);

    // A ref inside a message: beta's ponger answers to alpha's collector.
    let collector = alpha.system().spawn(Collector::default())?;
    let ponger = alpha
        .lookup_on::<Ponger>(beta, "ponger")
        .await?
        .ok_or("no ponger on beta")?;
    for n in 1..=3 {
        let answered_from = ponger
            .ask(Ping {
                n,
                reply_to: collector.clone(),
            })
            .await?;
        assert_eq!(answered_from, beta.full().to_string());
    }
    let pongs = collector.ask(Collected).await?;
    println!("sent 3 pings carrying a ref to alpha's collector; it got: {pongs:?}");
    assert_eq!(pongs.iter().map(|(n, _)| *n).collect::<Vec<_>>(), [1, 2, 3]);

    // Remote spawn: the worker runs (and is supervised) on beta.
    let worker = alpha.spawn_remote::<Worker>(beta, "w1".to_owned()).await?;
    let (label, node) = worker.ask(WhoAreYou).await?;
    println!("spawned worker {label} on node {node} as {}", worker.id());
    let crashed = worker.ask(Crash).await;
    println!("asked it to crash: {crashed:?}");
    assert!(matches!(crashed, Err(AskError::Failed { .. })));
    let (label, _) = worker.ask(WhoAreYou).await?;
    println!("beta restarted it in place; it still answers as {label}");

    // Scatter-gather: one ask_all to workers on both nodes, replies in order.
    let second = alpha.spawn_remote::<Worker>(beta, "w2".to_owned()).await?;
    let here = alpha.system().spawn(Worker::from_args("w3".to_owned()))?;
    let workers = [&worker, &second, &here];
    let answers = ask_all(workers.map(|w| (w, WhoAreYou))).await;
    let mut nodes = Vec::new();
    for answer in answers {
        let (label, node) = answer?;
        println!("ask_all: {label} answered from node {node}");
        nodes.push(node);
    }
    assert_eq!(
        nodes,
        [
            beta.full().to_string(),
            beta.full().to_string(),
            alpha.id().full().to_string()
        ]
    );

    // Remote watch: a local monitor learns when the remote worker stops.
    let (stopped_tx, stopped) = oneshot::channel();
    let monitor = alpha.system().spawn(Monitor {
        stopped: Some(stopped_tx),
    })?;
    monitor.ask(WatchWorker(worker.clone())).await?;
    worker.stop();
    let terminated = stopped.await?;
    println!(
        "monitor on alpha saw {} stop: {}",
        terminated.id, terminated.reason
    );
    assert_eq!(terminated.id, worker.id());

    // Beta goes away: alpha notices, and asks to it fail at once.
    stop_beta(&mut beta_process).await?;
    wait_for_node_down(&mut events).await?;
    let after = counter.ask(Values).await;
    println!("beta is gone: NodeDown seen; an ask to its counter now gives {after:?}");
    assert_eq!(after, Err(AskError::NodeDown));

    alpha.shutdown().await;
    println!("done");
    Ok(())
}

/// Starts `beta` as a child process of this very program and returns its address.
async fn start_beta() -> Result<(Child, String), Error> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--node", "beta"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout from beta")?;
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await? {
        if let Some(addr) = line.strip_prefix("READY ") {
            return Ok((child, addr.to_owned()));
        }
    }
    Err("beta exited before it was ready".into())
}

/// Asks beta to quit and waits for the process to end.
async fn stop_beta(beta: &mut Child) -> Result<(), Error> {
    if let Some(mut stdin) = beta.stdin.take() {
        stdin.write_all(b"quit\n").await?;
    }
    let status = beta.wait().await?;
    println!("beta exited with {status}");
    Ok(())
}

async fn wait_for_node_down(
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
) -> Result<(), Error> {
    loop {
        if let NodeEvent::NodeDown { name, .. } = events.recv().await? {
            println!("alpha: node {name} is down");
            return Ok(());
        }
    }
}

/// Reports the first `Terminated` it receives.
struct Monitor {
    stopped: Option<oneshot::Sender<Terminated>>,
}
impl Actor for Monitor {}

/// Watch this worker.
struct WatchWorker(ActorRef<Worker>);
impl Message for WatchWorker {
    type Reply = ();
}
impl Handler<WatchWorker> for Monitor {
    async fn handle(&mut self, WatchWorker(worker): WatchWorker, ctx: &mut Context<Self>) {
        ctx.watch(&worker);
    }
}
impl Handler<Terminated> for Monitor {
    async fn handle(&mut self, terminated: Terminated, _: &mut Context<Self>) {
        if let Some(tx) = self.stopped.take() {
            let _ = tx.send(terminated);
        }
    }
}
