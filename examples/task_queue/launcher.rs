//! Child processes of the demo (and of the tests): each runs one role of
//! this same program, reports `READY <address>`, and is killed and reaped
//! when its handle is dropped, also when the parent fails. Started with
//! `--lifeline`, a child also exits when its stdin closes, so even a
//! parent killed with `kill -9` leaves no child behind.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

/// Errors of the launcher, as text.
pub type LaunchError = Box<dyn std::error::Error + Send + Sync>;

/// Called with a child's name and each line it prints.
pub type LineTap = Arc<dyn Fn(&str, &str) + Send + Sync>;

/// One child process running a role.
pub struct RoleProcess {
    pub name: String,
    /// Where it listens, from its `READY` line.
    pub addr: SocketAddr,
    child: Child,
    /// Held open: with `--lifeline` the child exits when it closes.
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    /// Lines passed over by a wait, kept for later ones.
    backlog: VecDeque<String>,
    /// Every line read so far, taken or not.
    history: Vec<String>,
}

impl std::fmt::Debug for RoleProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleProcess")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RoleProcess {
    /// Starts `binary` with `args` (plus `--lifeline`) and `secret` in
    /// `PROSCENIUM_SECRET`, and waits up to `deadline` for its `READY`
    /// line. Every line it prints also goes to `tap`.
    pub async fn start(
        binary: &Path,
        name: &str,
        args: &[String],
        secret: &[u8],
        tap: LineTap,
        deadline: Duration,
    ) -> Result<Self, LaunchError> {
        let secret = String::from_utf8(secret.to_vec())?;
        let mut child = Command::new(binary)
            .args(args)
            .arg("--lifeline")
            .env("PROSCENIUM_SECRET", secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("the child has no stdout")?;
        let (sender, lines) = mpsc::unbounded_channel();
        let label = name.to_owned();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                tap(&label, &line);
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Self {
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            child,
            stdin,
            lines,
            backlog: VecDeque::new(),
            history: Vec::new(),
        };
        let ready = process
            .wait_for("READY", |line| line.starts_with("READY "), deadline)
            .await?;
        process.addr = ready["READY ".len()..].parse()?;
        Ok(process)
    }

    /// Waits up to `deadline` for the first line not yet taken that
    /// `matches`, and takes it; lines passed over stay for later waits.
    pub async fn wait_for(
        &mut self,
        what: &str,
        matches: impl Fn(&str) -> bool,
        deadline: Duration,
    ) -> Result<String, LaunchError> {
        if let Some(at) = self.backlog.iter().position(|line| matches(line)) {
            if let Some(line) = self.backlog.remove(at) {
                return Ok(line);
            }
        }
        let name = self.name.clone();
        let (lines, backlog, history) = (&mut self.lines, &mut self.backlog, &mut self.history);
        let found = tokio::time::timeout(deadline, async {
            while let Some(line) = lines.recv().await {
                history.push(line.clone());
                if matches(&line) {
                    return Some(line);
                }
                backlog.push_back(line);
            }
            None
        })
        .await
        .map_err(|_| format!("{name} did not print {what} within {deadline:?}"))?;
        found.ok_or_else(|| format!("{name} exited before printing {what}").into())
    }

    /// Every line printed so far and not taken by a wait, in order.
    pub fn drain(&mut self) -> Vec<String> {
        self.read_ready();
        self.backlog.drain(..).collect()
    }

    /// Every line printed so far, taken by a wait or not, in order.
    pub fn history(&mut self) -> &[String] {
        self.read_ready();
        &self.history
    }

    fn read_ready(&mut self) {
        while let Ok(line) = self.lines.try_recv() {
            self.history.push(line.clone());
            self.backlog.push_back(line);
        }
    }

    /// Sends one command line to its stdin.
    pub async fn send(&mut self, command: &str) -> Result<(), LaunchError> {
        let stdin = self.stdin.as_mut().ok_or("its stdin is closed")?;
        stdin.write_all(format!("{command}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Kills it with SIGKILL (no goodbye, no flush) and reaps it.
    pub async fn kill(&mut self) -> Result<(), LaunchError> {
        self.child.start_kill()?;
        self.child.wait().await?;
        Ok(())
    }

    /// Asks it to quit and waits up to `deadline`; kills it if it does not.
    pub async fn quit(mut self, deadline: Duration) -> Result<(), LaunchError> {
        // A child that already exited cannot take the line; that is fine.
        let _ = self.send("quit").await;
        self.stdin = None;
        match tokio::time::timeout(deadline, self.child.wait()).await {
            Ok(status) => match status? {
                status if status.success() => Ok(()),
                status => Err(format!("{} exited with {status}", self.name).into()),
            },
            Err(_) => {
                self.kill().await?;
                Err(format!("{} did not quit within {deadline:?}", self.name).into())
            }
        }
    }
}
