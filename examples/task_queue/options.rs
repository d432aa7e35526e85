//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::batch::Batch;
use crate::broker::{Backoff, BrokerOptions};
use crate::client::ClientOptions;
use crate::worker::WorkerOptions;

pub const USAGE: &str = "\
usage: task_queue [role] [options]

roles (default: the whole demo on this machine: a broker, --nodes worker
processes and a client, all on 127.0.0.1):
  --broker                  run the broker only
  --worker                  run a worker node only (needs --seed)
  --client                  submit a batch and follow it (needs --seed)

cluster:
  --listen ADDR             where this node listens (default 127.0.0.1:0)
  --seed ADDR               a member to join through (repeatable)
  --name NAME               a worker's node name (default worker-<pid>)
  --data DIR                the broker's journal directory (default for
                            --broker: ./task_queue-data; for the demo: a
                            temporary directory, removed at the end)

workers:
  --nodes N                 worker processes in the demo (default 3)
  --workers N               executors per worker node (default: the cores)
  --prefetch N              tasks a worker holds per executor (default 1)

batch (default: the sum of the primes below 10000000 in 200 ranges; with
--chaos below 40000000 in 400 ranges):
  --quick                   a small batch (primes below 300000 in 30 ranges)
  --below N --tasks N       the primes batch's size
  --sleep-ms MS             tasks that sleep MS each instead (--tasks of them)
  --long-ms MS              one task of MS first, then --tasks of --sleep-ms
  --failures                tasks that fail on purpose (retries, time limit,
                            dead letters)
  --trivial                 --tasks tasks that do nothing (throughput)
  --latency N               N trivial tasks one at a time (latency)
  --lines                   print a RESULT line per task
  --backoff-ms MS           first retry delay (default 100)
  --backoff-cap-ms MS       longest retry delay (default 5000)

chaos:
  --chaos                   kill -9 a random worker every --chaos-every-ms and
                            start a new one; kill -9 and restart the broker once
  --chaos-every-ms MS       (default 2000)

The cluster secret comes from PROSCENIUM_SECRET (the same on every node);
without it a public demo secret is used, with a warning.";

/// Which part this process plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Demo,
    Broker,
    Worker,
    Client,
    Help,
}

/// Everything the command line can say.
#[derive(Debug, Clone)]
pub struct Options {
    pub role: Role,
    pub listen: SocketAddr,
    pub seeds: Vec<SocketAddr>,
    pub name: Option<String>,
    pub data: Option<PathBuf>,
    pub nodes: usize,
    pub workers: usize,
    pub prefetch: u32,
    pub batch: Batch,
    pub lines: bool,
    pub backoff: Backoff,
    pub chaos: Option<Duration>,
    /// Exit when stdin closes (set by the demo for its children).
    pub lifeline: bool,
}

impl Options {
    /// Parses the arguments after the program name.
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut options = Self {
            role: Role::Demo,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seeds: Vec::new(),
            name: None,
            data: None,
            nodes: 3,
            workers: std::thread::available_parallelism().map_or(2, usize::from),
            prefetch: 1,
            batch: Batch::Primes {
                below: 10_000_000,
                tasks: 200,
            },
            lines: false,
            backoff: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(5),
            },
            chaos: None,
            lifeline: false,
        };
        let (mut below, mut tasks, mut sleep_ms, mut long_ms) = (None, None, None, None);
        let (mut failures, mut trivial, mut latency, mut quick) = (false, false, None, false);
        let mut chaos = false;
        let mut chaos_every = Duration::from_secs(2);
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
            match arg.as_str() {
                "--help" | "-h" => options.role = Role::Help,
                "--broker" => options.role = Role::Broker,
                "--worker" => options.role = Role::Worker,
                "--client" => options.role = Role::Client,
                "--listen" => options.listen = parse(&arg, &value(&arg)?)?,
                "--seed" => options.seeds.push(parse(&arg, &value(&arg)?)?),
                "--name" => options.name = Some(value(&arg)?),
                "--data" => options.data = Some(PathBuf::from(value(&arg)?)),
                "--nodes" => options.nodes = parse(&arg, &value(&arg)?)?,
                "--workers" => options.workers = parse(&arg, &value(&arg)?)?,
                "--prefetch" => options.prefetch = parse(&arg, &value(&arg)?)?,
                "--below" => below = Some(parse(&arg, &value(&arg)?)?),
                "--tasks" => tasks = Some(parse(&arg, &value(&arg)?)?),
                "--sleep-ms" => sleep_ms = Some(parse(&arg, &value(&arg)?)?),
                "--long-ms" => long_ms = Some(parse(&arg, &value(&arg)?)?),
                "--failures" => failures = true,
                "--trivial" => trivial = true,
                "--latency" => latency = Some(parse(&arg, &value(&arg)?)?),
                "--quick" => quick = true,
                "--lines" => options.lines = true,
                "--backoff-ms" => {
                    options.backoff.base = Duration::from_millis(parse(&arg, &value(&arg)?)?)
                }
                "--backoff-cap-ms" => {
                    options.backoff.cap = Duration::from_millis(parse(&arg, &value(&arg)?)?)
                }
                "--chaos" => chaos = true,
                "--chaos-every-ms" => {
                    chaos_every = Duration::from_millis(parse(&arg, &value(&arg)?)?)
                }
                "--lifeline" => options.lifeline = true,
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        options.chaos = chaos.then_some(chaos_every);
        let default_tasks = if quick { 30 } else { 200 };
        options.batch = if failures {
            Batch::Failures
        } else if let Some(count) = latency {
            Batch::Latency { count }
        } else if trivial {
            Batch::Trivial {
                tasks: tasks.unwrap_or(10_000),
            }
        } else if let Some(long_ms) = long_ms {
            Batch::Prefetch {
                short: tasks.unwrap_or(20),
                long_ms,
                short_ms: sleep_ms.unwrap_or(10),
            }
        } else if let Some(ms) = sleep_ms {
            Batch::Sleep {
                tasks: tasks.unwrap_or(default_tasks),
                ms,
            }
        } else {
            // Chaos needs a run that outlasts a few kills.
            let (default_below, default_tasks) = match (quick, chaos) {
                (true, _) => (300_000, default_tasks),
                (false, true) => (40_000_000, 400),
                (false, false) => (10_000_000, default_tasks),
            };
            Batch::Primes {
                below: below.unwrap_or(default_below),
                tasks: tasks.unwrap_or(default_tasks),
            }
        };
        if matches!(options.role, Role::Worker | Role::Client) && options.seeds.is_empty() {
            return Err("a worker or a client needs --seed ADDR (the broker's address)".into());
        }
        Ok(options)
    }

    /// The broker's settings (`--data` is required outside the demo).
    pub fn broker(&self) -> BrokerOptions {
        BrokerOptions {
            listen: self.listen,
            data: self
                .data
                .clone()
                .unwrap_or_else(|| PathBuf::from("task_queue-data")),
            seeds: self.seeds.clone(),
            backoff: self.backoff,
        }
    }

    /// A worker's settings.
    pub fn worker(&self) -> Result<WorkerOptions, String> {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => format!("worker-{}", std::process::id()),
        };
        Ok(WorkerOptions {
            name,
            listen: self.listen,
            seeds: self.seeds.clone(),
            slots: self.workers.max(1),
            prefetch: self.prefetch.max(1),
        })
    }

    /// A client's settings.
    pub fn client(&self) -> ClientOptions {
        ClientOptions {
            listen: self.listen,
            seeds: self.seeds.clone(),
            batch: self.batch.clone(),
            lines: self.lines,
            announce: self.role == Role::Client,
        }
    }
}

fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.parse().map_err(|e| format!("{name} {value}: {e}"))
}
