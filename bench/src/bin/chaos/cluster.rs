//! The node processes of the soak: start, kill, restart, stop and continue
//! them, and read their peak memory.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use proscenium_runtime::{ActorId, NodeId};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// How long a node process may take to say `READY`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// One node run (an OS process), killed with SIGKILL when dropped.
#[derive(Debug)]
pub(crate) struct NodeProcess {
    /// The node run's id, from its `READY` line.
    pub(crate) id: NodeId,
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    child: Child,
    /// Held open: the node quits when its stdin closes.
    stdin: Option<ChildStdin>,
}

impl NodeProcess {
    /// Starts node `name` of the soak binary on `listen`, connecting to
    /// `peers`, and waits for its `READY` line. Lines on its stderr that
    /// report a panic are counted in `panics`.
    pub(crate) async fn start(
        name: &str,
        listen: SocketAddr,
        peers: &[SocketAddr],
        panics: Arc<AtomicU64>,
    ) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("the soak binary's path: {e}"))?;
        let mut command = Command::new(exe);
        command
            .arg(super::NODE_FLAG)
            .arg(name)
            .arg(listen.to_string());
        for peer in peers {
            command.arg(peer.to_string());
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("start node {name}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        if let Some(stderr) = child.stderr.take() {
            let label = name.to_owned();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains("PANIC") {
                        panics.fetch_add(1, Ordering::Relaxed);
                        eprintln!("[{label}] {line}");
                    }
                }
            });
        }
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(READY_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("READY ") {
                    return Some(rest.to_owned());
                }
            }
            None
        })
        .await;
        let Ok(Some(ready)) = ready else {
            return Err(format!("node {name} did not say READY"));
        };
        let (addr, id) = ready
            .split_once(' ')
            .ok_or_else(|| format!("node {name}: bad READY line `{ready}`"))?;
        let addr = addr
            .parse()
            .map_err(|e| format!("node {name}: bad address `{addr}`: {e}"))?;
        // A node id prints as `node.incarnation`, an actor id as `<node.incarnation.seq>`.
        let id = format!("<{id}.0>")
            .parse::<ActorId>()
            .map_err(|e| format!("node {name}: bad node id: {e}"))?
            .node();
        // Keep draining stdout so the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self {
            id,
            addr,
            child,
            stdin,
        })
    }

    /// Its peak resident memory so far (VmHWM), in KiB, if readable.
    pub(crate) fn peak_memory_kib(&self) -> Option<u64> {
        let pid = self.child.id()?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Kills it with SIGKILL (no goodbye) and reaps it.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Freezes it (SIGSTOP) or lets it run again (SIGCONT).
    pub(crate) async fn signal(&self, signal: &str) {
        if let Some(pid) = self.child.id() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status()
                .await;
        }
    }

    /// Asks it to quit; kills it if it has not exited within `grace`.
    pub(crate) async fn quit(mut self, grace: Duration) {
        self.signal("CONT").await;
        self.stdin.take();
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            self.kill().await;
        }
    }
}
