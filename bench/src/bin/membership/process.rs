//! The member processes: start one, kill it, stop and continue it; their
//! stdout lines, parsed, on one channel for the driver.

use std::net::SocketAddr;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;

use crate::member::Tuning;

/// What a member process printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// It listens at this address as this node run.
    Ready { addr: SocketAddr, node: String },
    /// It saw member `name` (run `node`) become `state` at `at_ns`.
    Event {
        at_ns: u128,
        state: String,
        name: String,
        node: String,
    },
    /// Its membership traffic counters so far.
    Stats(Traffic),
}

/// A member's membership traffic counters (see `NodeStats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Traffic {
    pub(crate) datagrams_sent: u64,
    pub(crate) bytes_sent: u64,
    pub(crate) datagrams_received: u64,
    pub(crate) bytes_received: u64,
    pub(crate) dropped: u64,
}

impl Line {
    /// Parses one line; `None` for a line of another kind.
    pub(crate) fn parse(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        match words.next()? {
            "READY" => Some(Self::Ready {
                addr: words.next()?.parse().ok()?,
                node: words.next()?.to_owned(),
            }),
            "EVENT" => Some(Self::Event {
                at_ns: words.next()?.parse().ok()?,
                state: words.next()?.to_owned(),
                name: words.next()?.to_owned(),
                node: words.next()?.to_owned(),
            }),
            "STATS" => {
                let mut number = || words.next()?.parse::<u64>().ok();
                Some(Self::Stats(Traffic {
                    datagrams_sent: number()?,
                    bytes_sent: number()?,
                    datagrams_received: number()?,
                    bytes_received: number()?,
                    dropped: number()?,
                }))
            }
            _ => None,
        }
    }
}

/// One member process, killed with SIGKILL when dropped.
#[derive(Debug)]
pub(crate) struct MemberProcess {
    child: Child,
    /// Held open: the member exits when its stdin closes.
    stdin: Option<ChildStdin>,
}

impl MemberProcess {
    /// Starts member `name` on `listen`, joining through `seeds`; its
    /// parsed lines go to `lines`, tagged with its name.
    pub(crate) fn start(
        name: &str,
        listen: SocketAddr,
        seeds: &[SocketAddr],
        tuning: &Tuning,
        lines: mpsc::UnboundedSender<(String, Line)>,
    ) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("the bench binary's path: {e}"))?;
        let mut command = Command::new(exe);
        command
            .arg(crate::MEMBER_FLAG)
            .arg(name)
            .arg(listen.to_string());
        for seed in seeds {
            command.arg("--seed").arg(seed.to_string());
        }
        command.args(tuning.args());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("start member {name}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let name = name.to_owned();
        tokio::spawn(async move {
            let mut stdout = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = stdout.next_line().await {
                if let Some(line) = Line::parse(&line) {
                    if lines.send((name.clone(), line)).is_err() {
                        return;
                    }
                }
            }
        });
        Ok(Self { child, stdin })
    }

    /// Has it print its traffic counters.
    pub(crate) async fn ask_stats(&mut self) {
        if let Some(stdin) = &mut self.stdin {
            let _ = stdin.write_all(b"stats\n").await;
            let _ = stdin.flush().await;
        }
    }

    /// Kills it with SIGKILL (no goodbye) and reaps it.
    pub(crate) async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// Freezes it (`STOP`) or lets it run again (`CONT`).
    pub(crate) async fn signal(&self, signal: &str) -> Result<(), String> {
        let pid = self.child.id().ok_or("the member has exited")?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(pid.to_string())
            .status()
            .await
            .map_err(|e| format!("run kill: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("kill -{signal} {pid}: {status}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_lines_parse() {
        assert_eq!(
            Line::parse("READY 127.0.0.1:4000 17.3"),
            Some(Line::Ready {
                addr: "127.0.0.1:4000".parse().expect("an address"),
                node: "17.3".into()
            })
        );
        assert_eq!(
            Line::parse("EVENT 1700000000000000000 down m3 17.3"),
            Some(Line::Event {
                at_ns: 1_700_000_000_000_000_000,
                state: "down".into(),
                name: "m3".into(),
                node: "17.3".into()
            })
        );
        assert_eq!(
            Line::parse("STATS 1 2 3 4 5"),
            Some(Line::Stats(Traffic {
                datagrams_sent: 1,
                bytes_sent: 2,
                datagrams_received: 3,
                bytes_received: 4,
                dropped: 5
            }))
        );
        assert_eq!(Line::parse("STATS 1 2"), None);
        assert_eq!(Line::parse("something else"), None);
    }
}
