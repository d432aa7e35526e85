//! One member process of the benchmark: a cluster node that prints every
//! membership event with the wall-clock time it saw it, and its traffic
//! counters when asked.
//!
//! Its stdout, line by line:
//!
//! ```text
//! READY <addr> <node id>
//! EVENT <ns since 1970> <up|suspect|down|left> <name> <node id>
//! STATS <datagrams sent> <bytes sent> <datagrams received> <bytes received> <dropped>
//! ```
//!
//! It answers `stats` on stdin with a `STATS` line and exits when its
//! stdin closes. All members run on one machine, so their wall clocks are
//! the driver's: an event's time minus the time the driver killed a
//! process is how long that member took to notice.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proscenium_net::{MembershipConfig, Node, NodeEvent};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::broadcast::error::RecvError;

/// The cluster secret of the benchmark's members.
const SECRET: &[u8] = b"the membership benchmark's secret";

/// The failure-detector settings a member is started with; `None` keeps
/// the library's default.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tuning {
    pub(crate) probe_period: Option<Duration>,
    pub(crate) probe_timeout: Option<Duration>,
    pub(crate) suspicion: Option<Duration>,
    /// The fraction of outgoing membership datagrams to drop.
    pub(crate) loss: f64,
}

impl Tuning {
    /// The command-line flags that give a member process these settings.
    pub(crate) fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut millis = |flag: &str, value: Option<Duration>| {
            if let Some(value) = value {
                args.push(flag.to_owned());
                args.push(value.as_millis().to_string());
            }
        };
        millis("--probe-period-ms", self.probe_period);
        millis("--probe-timeout-ms", self.probe_timeout);
        millis("--suspicion-ms", self.suspicion);
        if self.loss > 0.0 {
            args.push("--loss".to_owned());
            args.push(self.loss.to_string());
        }
        args
    }

    /// Reads one flag of [`args`](Self::args); `false` if `flag` is not one.
    pub(crate) fn parse_flag(&mut self, flag: &str, value: &str) -> Result<bool, String> {
        let millis = || {
            value
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag {
            "--probe-period-ms" => self.probe_period = Some(millis()?),
            "--probe-timeout-ms" => self.probe_timeout = Some(millis()?),
            "--suspicion-ms" => self.suspicion = Some(millis()?),
            "--loss" => {
                self.loss = value.parse().map_err(|e| format!("--loss {value}: {e}"))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The membership configuration these settings make.
    pub(crate) fn config(&self) -> MembershipConfig {
        let mut config = MembershipConfig::default().outgoing_loss(self.loss);
        if let Some(period) = self.probe_period {
            config = config.probe_period(period);
        }
        if let Some(timeout) = self.probe_timeout {
            config = config.probe_timeout(timeout);
        }
        if let Some(suspicion) = self.suspicion {
            config = config.suspicion(suspicion);
        }
        config
    }
}

/// Nanoseconds since 1970 by the wall clock.
pub(crate) fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos())
}

/// Runs member `name` on `listen`, joining through `seeds`, until stdin closes.
pub(crate) async fn serve(
    name: &str,
    listen: SocketAddr,
    seeds: Vec<SocketAddr>,
    tuning: &Tuning,
) -> Result<(), Box<dyn std::error::Error>> {
    let node = Node::builder(name)
        .secret(SECRET.to_vec())
        .listen(listen)
        .cluster()
        .seeds(seeds)
        .membership(tuning.config())
        .start()
        .await?;
    let mut events = node.events();
    let addr = node.local_addr().ok_or("the member does not listen")?;
    println!("READY {addr} {}", node.id());
    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) => print_event(&event),
                Err(RecvError::Lagged(missed)) => eprintln!("missed {missed} events"),
                Err(RecvError::Closed) => break,
            },
            command = commands.next_line() => match command {
                Ok(Some(command)) if command.trim() == "stats" => {
                    let stats = node.stats();
                    println!(
                        "STATS {} {} {} {} {}",
                        stats.membership_datagrams_sent,
                        stats.membership_bytes_sent,
                        stats.membership_datagrams_received,
                        stats.membership_bytes_received,
                        stats.membership_datagrams_dropped,
                    );
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            },
        }
    }
    node.shutdown().await;
    Ok(())
}

fn print_event(event: &NodeEvent) {
    let (state, node, name) = match event {
        NodeEvent::MemberUp { node, name, .. } => ("up", node, name),
        NodeEvent::MemberSuspect { node, name, .. } => ("suspect", node, name),
        NodeEvent::MemberDown { node, name, .. } => ("down", node, name),
        NodeEvent::MemberLeft { node, name, .. } => ("left", node, name),
        _ => return,
    };
    println!("EVENT {} {state} {name} {node}", now_ns());
}
