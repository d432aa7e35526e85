//! Cluster membership, watched from outside: three node processes join
//! through one seed, one is killed, the others notice, it comes back.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example cluster_members
//! ```
//!
//! This process starts three copies of itself as cluster members on
//! 127.0.0.1: `seed` first, then `n2` and `n3` given the seed's address.
//! It prints each member's changes as they happen, with the time since
//! the start, and the member lists once all three see each other. Then it
//! kills `n3` with SIGKILL (no goodbye), prints when each of the others
//! declared it down, restarts `n3` at the same address and prints when the
//! others see its new run, and exits 0. Every wait has a deadline, so a
//! stuck cluster ends the program with an error instead of hanging.

#[path = "support/cluster.rs"]
mod cluster;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

type Error = Box<dyn std::error::Error>;

/// How long any one step may take before the demo gives up.
const STEP_DEADLINE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--node") {
        let name = args.next().ok_or("--node needs a name")?;
        let listen: SocketAddr = args.next().ok_or("--node needs an address")?.parse()?;
        let seeds = args
            .map(|seed| seed.parse())
            .collect::<Result<Vec<_>, _>>()?;
        return cluster::serve_cluster_node(&name, listen, &[], Some(seeds)).await;
    }
    Demo::new().run().await
}

/// A line one member printed, and who printed it.
struct Line {
    from: String,
    text: String,
}

struct Demo {
    start: Instant,
    lines: (mpsc::UnboundedSender<Line>, mpsc::UnboundedReceiver<Line>),
    /// Lines already printed, not yet waited for.
    backlog: Vec<Line>,
    nodes: HashMap<String, (Child, ChildStdin)>,
}

impl Demo {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            lines: mpsc::unbounded_channel(),
            backlog: Vec::new(),
            nodes: HashMap::new(),
        }
    }

    async fn run(mut self) -> Result<(), Error> {
        let any_port: SocketAddr = "127.0.0.1:0".parse()?;
        let seed = self.start_node("seed", any_port, None).await?;
        self.start_node("n2", any_port, Some(seed)).await?;
        let n3 = self.start_node("n3", any_port, Some(seed)).await?;
        let everyone = ["seed", "n2", "n3"];
        for name in everyone {
            for other in everyone.iter().filter(|&&other| other != name) {
                self.wait_for(name, &format!("MEMBER up {other} ")).await?;
            }
        }
        println!("all three see each other:");
        for name in everyone {
            self.send(name, "members").await?;
            let list = self.wait_for(name, "MEMBERS ").await?;
            println!("  {name}: {}", &list["MEMBERS ".len()..]);
        }

        let (mut victim, _) = self.nodes.remove("n3").ok_or("n3 is not running")?;
        victim.start_kill()?;
        victim.wait().await?;
        let killed = self.start.elapsed();
        println!("{:>7.2?}  killed n3 with SIGKILL", killed);
        for name in ["seed", "n2"] {
            self.wait_for(name, "MEMBER down n3 ").await?;
            let noticed = self.start.elapsed().saturating_sub(killed);
            println!("         {name} declared n3 down {noticed:.2?} after the kill");
        }

        // Only changes from now on count: n3 was up before.
        self.backlog.clear();
        self.start_node("n3", n3, Some(seed)).await?;
        for name in ["seed", "n2"] {
            self.wait_for(name, "MEMBER up n3 ").await?;
        }
        println!("n3 is back as a new run; the lists:");
        for name in everyone {
            self.send(name, "members").await?;
            let list = self.wait_for(name, "MEMBERS ").await?;
            println!("  {name}: {}", &list["MEMBERS ".len()..]);
        }
        for (name, (mut child, mut stdin)) in self.nodes.drain() {
            stdin.write_all(b"quit\n").await?;
            let status = child.wait().await?;
            if !status.success() {
                return Err(format!("{name} exited with {status}").into());
            }
        }
        Ok(())
    }

    /// Starts member `name` listening on `listen`, joining through `seed`
    /// (none: the first member), and returns its address.
    async fn start_node(
        &mut self,
        name: &str,
        listen: SocketAddr,
        seed: Option<SocketAddr>,
    ) -> Result<SocketAddr, Error> {
        let mut command = Command::new(std::env::current_exe()?);
        command.args(["--node", name, &listen.to_string()]);
        if let Some(seed) = seed {
            command.arg(seed.to_string());
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (sender, from) = (self.lines.0.clone(), name.to_owned());
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(text)) = lines.next_line().await {
                let from = from.clone();
                let _ = sender.send(Line { from, text });
            }
        });
        self.nodes.insert(name.to_owned(), (child, stdin));
        let ready = self.wait_for(name, "READY ").await?;
        Ok(ready["READY ".len()..].parse()?)
    }

    async fn send(&mut self, name: &str, command: &str) -> Result<(), Error> {
        let (_, stdin) = self.nodes.get_mut(name).ok_or("no such node")?;
        stdin.write_all(format!("{command}\n").as_bytes()).await?;
        Ok(())
    }

    /// Prints member changes as they arrive until `name` prints a line
    /// starting with `prefix`, and returns that line.
    async fn wait_for(&mut self, name: &str, prefix: &str) -> Result<String, Error> {
        let matches = |line: &Line| line.from == name && line.text.starts_with(prefix);
        if let Some(at) = self.backlog.iter().position(matches) {
            return Ok(self.backlog.remove(at).text);
        }
        let deadline = Instant::now() + STEP_DEADLINE;
        loop {
            let line = tokio::time::timeout_at(deadline, self.lines.1.recv())
                .await
                .map_err(|_| format!("{name} did not print `{prefix}...` in time"))?
                .ok_or("every node has exited")?;
            if let Some(change) = line.text.strip_prefix("MEMBER ") {
                let at = self.start.elapsed();
                println!("{at:>7.2?}  {}: member {change}", line.from);
            }
            if matches(&line) {
                return Ok(line.text);
            }
            self.backlog.push(line);
        }
    }
}
