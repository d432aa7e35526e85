//! Helpers for the multi-process tests: node processes started from the
//! `cluster_node` example, the node the test process itself runs, and an
//! actor that reports the `Terminated` notices it receives.
//!
//! Each node process listens on `127.0.0.1:0` and reports its address in a
//! `READY <addr>` line; a [`NodeProcess`] is killed and reaped when dropped,
//! also when the test fails or panics. Every test file compiles this module
//! on its own and uses only part of it.
#![allow(dead_code, unreachable_pub)]

#[path = "../../examples/support/cluster.rs"]
pub mod cluster;
pub mod fault_proxy;
pub mod rogue;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use proscenium::net::{Node, NodeBuilder, NodeEvent};
use proscenium::prelude::*;
use proscenium::NodeId;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{broadcast, mpsc};

/// A hang guard for waits that should end in milliseconds: long enough
/// never to fire on a loaded CI machine, short enough to fail a stuck test.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Awaits `future`, failing the test with `what` if it hangs.
pub async fn within<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(HANG_GUARD, future).await {
        Ok(value) => value,
        Err(_) => panic!("hung for {HANG_GUARD:?} waiting for {what}"),
    }
}

/// The `cluster_node` example binary next to this test binary.
fn node_binary() -> PathBuf {
    example_binary("cluster_node")
}

/// Example `name`'s binary next to this test binary:
/// `target/<profile>/deps/<test>` → `target/<profile>/examples/<name>`.
pub fn example_binary(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test binary lives in target/<profile>/deps");
    let binary = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "the example binary {} is missing; run `cargo build --examples` (with the same profile) first",
        binary.display()
    );
    binary
}

/// How to start a node process.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Where it listens; `127.0.0.1:0` unless set.
    pub listen: Option<SocketAddr>,
    /// Nodes it connects to before it says `READY`.
    pub connect: Vec<SocketAddr>,
}

/// How to start a node process that is a cluster member.
#[derive(Debug, Clone, Default)]
pub struct MemberOptions {
    /// Where it listens; `127.0.0.1:0` unless set.
    pub listen: Option<SocketAddr>,
    /// The seeds it joins through; none: the first member.
    pub seeds: Vec<SocketAddr>,
    /// Its cluster secret, if not the examples' one.
    pub secret: Option<String>,
}

/// A node running in a child process; killed and reaped on drop.
#[derive(Debug)]
pub struct NodeProcess {
    /// The node's name.
    pub name: String,
    /// The address it listens on, from its `READY` line.
    pub addr: SocketAddr,
    child: Child,
    /// Held open: the node quits when its stdin closes.
    stdin: Option<ChildStdin>,
    /// Its stdout after `READY`, line by line.
    lines: mpsc::UnboundedReceiver<String>,
    /// Lines read while waiting for another, kept for later waits.
    backlog: VecDeque<String>,
}

impl NodeProcess {
    /// Starts node `name` on `127.0.0.1:0` and waits for its `READY` line.
    pub async fn start(name: &str) -> Self {
        Self::start_with(
            name,
            NodeOptions {
                listen: None,
                connect: Vec::new(),
            },
        )
        .await
    }

    /// Starts node `name` as `options` say and waits for its `READY` line.
    pub async fn start_with(name: &str, options: NodeOptions) -> Self {
        let mut command = Command::new(node_binary());
        command.arg(name);
        if let Some(listen) = options.listen {
            command.arg(listen.to_string());
        }
        for addr in &options.connect {
            command.arg("--connect").arg(addr.to_string());
        }
        Self::spawn(name, command, None).await
    }

    /// Starts cluster member `name` as `options` say and waits for its
    /// `READY` line.
    pub async fn start_member(name: &str, options: MemberOptions) -> Self {
        let mut command = Command::new(node_binary());
        command.arg(name);
        if let Some(listen) = options.listen {
            command.arg(listen.to_string());
        }
        command.arg("--cluster");
        for seed in &options.seeds {
            command.arg("--seed").arg(seed.to_string());
        }
        Self::spawn(name, command, options.secret).await
    }

    async fn spawn(name: &str, mut command: Command, secret: Option<String>) -> Self {
        let secret = secret.unwrap_or_else(|| String::from_utf8(cluster::secret()).unwrap());
        let mut child = command
            .env("PROSCENIUM_SECRET", secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the cluster_node process");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (line_sender, lines) = mpsc::unbounded_channel();
        // The guard exists from here on: a failure below still kills the child.
        let mut process = Self {
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            stdin,
            lines,
            backlog: VecDeque::new(),
        };
        // Its stderr goes to the test's output (shown when a test fails).
        let label = name.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[{label}] {line}");
            }
        });
        let mut lines = BufReader::new(stdout).lines();
        let backlog = &mut process.backlog;
        let ready = within(&format!("node {name} to say READY"), async {
            while let Some(line) = lines.next_line().await.expect("read the node's stdout") {
                if let Some(addr) = line.strip_prefix("READY ") {
                    return addr.parse::<SocketAddr>().expect("READY <addr>");
                }
                // A member may print its first membership changes before READY.
                backlog.push_back(line);
            }
            panic!("node {name} exited before it was ready (see its stderr above)")
        })
        .await;
        process.addr = ready;
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = line_sender.send(line);
            }
        });
        process
    }

    /// Waits for the first line of its stdout not yet taken that
    /// `matches`; the lines it passes over stay for later waits.
    pub async fn line_where(&mut self, what: &str, matches: impl Fn(&str) -> bool) -> String {
        if let Some(at) = self.backlog.iter().position(|line| matches(line)) {
            return self.backlog.remove(at).expect("a line at that index");
        }
        let name = self.name.clone();
        let (lines, backlog) = (&mut self.lines, &mut self.backlog);
        within(&format!("{what} from node {name}"), async {
            loop {
                match lines.recv().await {
                    Some(line) if matches(&line) => return line,
                    Some(line) => backlog.push_back(line),
                    None => panic!("node {name} closed its stdout before {what}"),
                }
            }
        })
        .await
    }

    /// Waits for its line saying member `name` became `state` (`up`,
    /// `suspect`, `down`, `left`) and returns that member's node id.
    pub async fn member_event(&mut self, state: &str, name: &str) -> String {
        let prefix = format!("MEMBER {state} {name} ");
        let line = self
            .line_where(&format!("`{prefix}...`"), |line| line.starts_with(&prefix))
            .await;
        line[prefix.len()..].to_owned()
    }

    /// Writes `line` to its stdin (a command: `members`, `join <group>`).
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the node's stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write to the node");
        stdin.flush().await.expect("flush to the node");
    }

    /// Its member list, as `name=state` entries in name order.
    pub async fn members(&mut self) -> Vec<String> {
        self.send_line("members").await;
        let line = self
            .line_where("its member list", |line| line.starts_with("MEMBERS "))
            .await;
        line["MEMBERS ".len()..]
            .split(',')
            .filter(|entry| !entry.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Stops the process with SIGSTOP: it holds its sockets open but
    /// answers nothing, until [`resume`](Self::resume). Returns once every
    /// thread of it has stopped: `kill` returns when the signal is sent,
    /// and on a loaded machine a thread may still run a while after.
    pub async fn pause(&mut self) {
        self.signal("-STOP").await;
        let pid = self.child.id().expect("the node process runs");
        within("the paused process to stop", async {
            while !all_threads_stopped(pid) {
                tokio::task::yield_now().await;
            }
        })
        .await;
    }

    /// Lets a paused process run again (SIGCONT).
    pub async fn resume(&mut self) {
        self.signal("-CONT").await;
    }

    async fn signal(&mut self, signal: &str) {
        let pid = self.child.id().expect("the node process runs");
        let status = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .await
            .expect("run kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// Kills the process with SIGKILL (no goodbye, no shutdown) and reaps it.
    pub async fn kill(&mut self) {
        self.child.start_kill().expect("kill the node process");
        within("the killed node to exit", self.child.wait())
            .await
            .expect("reap the node process");
    }

    /// Asks the node to quit and waits for it to exit cleanly.
    pub async fn quit(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"quit\n").await;
        }
        let status = within("the node to quit", self.child.wait())
            .await
            .expect("reap the node process");
        assert!(status.success(), "node {} exited with {status}", self.name);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // SIGKILL, then reap: the process cannot outlive the test, whatever
        // state the test left it in. SIGKILL takes effect at once; the short
        // wait is for the kernel to finish tearing it down (`kill_on_drop`
        // covers the case where even that does not happen in time).
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.start_kill();
            for _ in 0..2000 {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Starts `names[0]` as the seed and the others joining through it, and
/// waits until every one has seen every other up.
pub async fn start_cluster(names: &[&str]) -> Vec<NodeProcess> {
    let seed = NodeProcess::start_member(names[0], MemberOptions::default()).await;
    let seeds = vec![seed.addr];
    let mut nodes = vec![seed];
    for name in &names[1..] {
        let options = MemberOptions {
            seeds: seeds.clone(),
            ..MemberOptions::default()
        };
        nodes.push(NodeProcess::start_member(name, options).await);
    }
    for node in &mut nodes {
        let me = node.name.clone();
        for other in names.iter().filter(|&&other| other != me) {
            node.member_event("up", other).await;
        }
    }
    nodes
}

/// Starts the test process's own node `name` (not listening).
pub async fn test_node(name: &str) -> Node {
    Node::builder(name)
        .secret(cluster::secret())
        .allow_weak_secret()
        .registry(cluster::registry())
        .start()
        .await
        .expect("start the test's node")
}

/// A node of the test process with the examples' secret and registry,
/// listening on `127.0.0.1:0` if `listen`, and set up further by `configure`.
pub async fn in_process_node(
    name: &str,
    listen: bool,
    configure: impl FnOnce(NodeBuilder) -> NodeBuilder,
) -> Node {
    let mut builder = Node::builder(name)
        .secret(cluster::secret())
        .allow_weak_secret()
        .registry(cluster::registry());
    if listen {
        builder = builder.listen("127.0.0.1:0".parse().expect("a loopback address"));
    }
    configure(builder)
        .start()
        .await
        .expect("start an in-process node")
}

/// Two in-process nodes, `a` connected to `b` (which listens), and b's id
/// as `a` knows it.
pub async fn connected_pair() -> (Node, Node, NodeId) {
    let a = in_process_node("a", false, |n| n).await;
    let b = in_process_node("b", true, |n| n).await;
    let b_id = within(
        "a to connect",
        a.connect(b.local_addr().expect("b listens")),
    )
    .await
    .expect("a dials b");
    (a, b, b_id)
}

/// Waits for the next `NodeDown` of the node called `name`.
pub async fn node_down(events: &mut broadcast::Receiver<NodeEvent>, name: &str) -> NodeId {
    within(&format!("NodeDown of {name}"), async {
        loop {
            match events.recv().await.expect("node events") {
                NodeEvent::NodeDown { node, name: n } if n == name => return node,
                _ => {}
            }
        }
    })
    .await
}

/// Waits for the next membership event `matches` accepts.
pub async fn member_event(
    events: &mut broadcast::Receiver<NodeEvent>,
    what: &str,
    matches: impl Fn(&NodeEvent) -> bool,
) -> NodeEvent {
    within(what, async {
        loop {
            let event = events.recv().await.expect("node events");
            if matches(&event) {
                return event;
            }
        }
    })
    .await
}

/// Waits for the next `NodeUp` of the node called `name`.
pub async fn node_up(events: &mut broadcast::Receiver<NodeEvent>, name: &str) -> NodeId {
    within(&format!("NodeUp of {name}"), async {
        loop {
            match events.recv().await.expect("node events") {
                NodeEvent::NodeUp { node, name: n } if n == name => return node,
                _ => {}
            }
        }
    })
    .await
}

// ===== Monitor: watches actors, reports each Terminated =====

/// Watches the actors it is told to and sends every `Terminated` it gets
/// to a channel, in order.
pub struct Monitor {
    seen: mpsc::UnboundedSender<Terminated>,
}
impl Actor for Monitor {}

impl Monitor {
    /// A monitor on `system` and the receiving end of its reports.
    pub fn spawn(system: &System) -> (ActorRef<Monitor>, mpsc::UnboundedReceiver<Terminated>) {
        let (seen, reports) = mpsc::unbounded_channel();
        let monitor = system.spawn(Monitor { seen }).expect("spawn the monitor");
        (monitor, reports)
    }
}

/// Watch this actor (answered once the watch is in place).
pub struct Watch<A: Actor>(pub ActorRef<A>);
impl<A: Actor> Message for Watch<A> {
    type Reply = ();
}
impl<A: Actor> Handler<Watch<A>> for Monitor {
    async fn handle(&mut self, Watch(target): Watch<A>, ctx: &mut Context<Self>) {
        ctx.watch(&target);
    }
}
impl Handler<Terminated> for Monitor {
    async fn handle(&mut self, terminated: Terminated, _: &mut Context<Self>) {
        let _ = self.seen.send(terminated);
    }
}

/// Whether every thread of process `pid` is stopped (state `T` in
/// `/proc/PID/task/TID/stat`).
fn all_threads_stopped(pid: u32) -> bool {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.flatten().all(|thread| {
        std::fs::read_to_string(thread.path().join("stat")).is_ok_and(|stat| {
            // The state follows the command name, which is in parentheses.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['T', 't']))
        })
    })
}
