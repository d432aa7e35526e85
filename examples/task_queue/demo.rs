//! The one-command demo: a broker and worker processes on 127.0.0.1, a
//! client in this process, and with `--chaos` a monkey that kills them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::client::{self, Summary};
use crate::launcher::{LineTap, RoleProcess};
use crate::options::Options;
use crate::progress::Printer;
use crate::protocol;

/// How long a child may take to start, or to quit at the end.
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Runs the demo: exits with an error unless every result is right.
pub async fn run(options: Options) -> Result<(), crate::Error> {
    let secret = protocol::secret();
    let data = DataDir::new(options.data.clone())?;
    let printer = Printer::default();
    let mut cluster = Cluster {
        binary: std::env::current_exe()?,
        secret,
        tap: tap(printer.clone()),
        options: options.clone(),
        data: data.path.clone(),
        broker: None,
        workers: Vec::new(),
        next_worker: 1,
        random: 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()),
        kills: 0,
        broker_restarts: 0,
    };
    let broker_addr = cluster
        .start_broker(SocketAddr::from(([127, 0, 0, 1], 0)), &[])
        .await?;
    for _ in 0..options.nodes {
        cluster.start_worker().await?;
    }
    println!(
        "task_queue: a broker at {broker_addr} (journal in {}), {} worker processes with {} executors each, prefetch {}",
        data.path.display(),
        options.nodes,
        options.workers,
        options.prefetch
    );
    let mut client_options = options.client();
    client_options.seeds = vec![broker_addr];
    let client = client::run(client_options, printer.clone());
    tokio::pin!(client);
    let summary: Summary = match options.chaos {
        None => client.await?,
        Some(every) => loop {
            tokio::select! {
                summary = &mut client => break summary?,
                () = tokio::time::sleep(every) => cluster.chaos_step(&printer).await?,
            }
        },
    };
    if options.chaos.is_some() {
        let submitted = summary.tasks;
        let completed = summary.outcomes.len();
        println!(
            "CHAOS workers_killed={} broker_restarts={} submitted={submitted} completed={completed} duplicated={} lost={}",
            cluster.kills,
            cluster.broker_restarts,
            summary.report.duplicates,
            submitted.saturating_sub(completed)
        );
    }
    cluster.stop().await
}

/// Shows the broker's and workers' notable lines above the progress bar.
fn tap(printer: Printer) -> LineTap {
    Arc::new(move |name: &str, line: &str| {
        let notable = ["AGENT", "REQUEUED", "RETRY", "DEAD", "RECOVERED"];
        if notable.iter().any(|word| line.starts_with(word)) {
            printer.say(&format!("  {name}: {line}"));
        }
    })
}

/// The child processes.
struct Cluster {
    binary: PathBuf,
    secret: Vec<u8>,
    tap: LineTap,
    options: Options,
    data: PathBuf,
    broker: Option<RoleProcess>,
    workers: Vec<RoleProcess>,
    next_worker: u32,
    random: u64,
    kills: u32,
    broker_restarts: u32,
}

impl Cluster {
    async fn start_broker(
        &mut self,
        listen: SocketAddr,
        seeds: &[SocketAddr],
    ) -> Result<SocketAddr, crate::Error> {
        let mut args = vec![
            "--broker".to_owned(),
            "--listen".to_owned(),
            listen.to_string(),
            "--data".to_owned(),
            self.data.display().to_string(),
            "--backoff-ms".to_owned(),
            self.options.backoff.base.as_millis().to_string(),
            "--backoff-cap-ms".to_owned(),
            self.options.backoff.cap.as_millis().to_string(),
        ];
        for seed in seeds {
            args.extend(["--seed".to_owned(), seed.to_string()]);
        }
        let broker = RoleProcess::start(
            &self.binary,
            "broker",
            &args,
            &self.secret,
            self.tap.clone(),
            START_DEADLINE,
        )
        .await?;
        let addr = broker.addr;
        self.broker = Some(broker);
        Ok(addr)
    }

    async fn start_worker(&mut self) -> Result<(), crate::Error> {
        let name = format!("worker-{}", self.next_worker);
        self.next_worker += 1;
        let mut args = vec![
            "--worker".to_owned(),
            "--name".to_owned(),
            name.clone(),
            "--workers".to_owned(),
            self.options.workers.to_string(),
            "--prefetch".to_owned(),
            self.options.prefetch.to_string(),
        ];
        for seed in self.seeds() {
            args.extend(["--seed".to_owned(), seed.to_string()]);
        }
        let worker = RoleProcess::start(
            &self.binary,
            &name,
            &args,
            &self.secret,
            self.tap.clone(),
            START_DEADLINE,
        )
        .await?;
        self.workers.push(worker);
        Ok(())
    }

    /// Every live member's address: any of them lets a newcomer in.
    fn seeds(&self) -> Vec<SocketAddr> {
        self.broker
            .iter()
            .chain(&self.workers)
            .map(|process| process.addr)
            .collect()
    }

    fn next_random(&mut self) -> u64 {
        self.random ^= self.random << 13;
        self.random ^= self.random >> 7;
        self.random ^= self.random << 17;
        self.random
    }

    /// One act of chaos: the second one kills the broker and starts it
    /// again on the same address and journal; every other one kills a
    /// random worker and starts a new one.
    async fn chaos_step(&mut self, printer: &Printer) -> Result<(), crate::Error> {
        let step = self.kills + self.broker_restarts;
        if step == 1 && self.broker_restarts == 0 {
            let mut broker = self.broker.take().ok_or("no broker to kill")?;
            broker.kill().await?;
            printer.say(
                "chaos: killed the broker with SIGKILL; starting it again on the same journal",
            );
            self.broker_restarts += 1;
            let seeds: Vec<SocketAddr> = self.workers.iter().map(|w| w.addr).collect();
            self.start_broker(broker.addr, &seeds).await?;
            return Ok(());
        }
        if self.workers.is_empty() {
            return self.start_worker().await;
        }
        let victim = (self.next_random() % self.workers.len() as u64) as usize;
        let mut worker = self.workers.swap_remove(victim);
        worker.kill().await?;
        self.kills += 1;
        printer.say(&format!(
            "chaos: killed {} with SIGKILL; starting worker-{}",
            worker.name, self.next_worker
        ));
        self.start_worker().await
    }

    /// Asks every child to quit; any that does not is killed.
    async fn stop(&mut self) -> Result<(), crate::Error> {
        let mut failures = Vec::new();
        for worker in self.workers.drain(..) {
            let name = worker.name.clone();
            if let Err(error) = worker.quit(START_DEADLINE).await {
                failures.push(format!("{name}: {error}"));
            }
        }
        if let Some(broker) = self.broker.take() {
            if let Err(error) = broker.quit(START_DEADLINE).await {
                failures.push(format!("broker: {error}"));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; ").into())
        }
    }
}

/// The broker's journal directory: the one given, or a fresh temporary
/// one that is removed when the demo ends.
struct DataDir {
    path: PathBuf,
    temporary: bool,
}

impl DataDir {
    fn new(given: Option<PathBuf>) -> Result<Self, crate::Error> {
        if let Some(path) = given {
            return Ok(Self {
                path,
                temporary: false,
            });
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("task_queue-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self {
            path,
            temporary: true,
        })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(Path::new(&self.path));
        }
    }
}
