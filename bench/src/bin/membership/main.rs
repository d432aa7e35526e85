//! The membership benchmark: cluster members as real OS processes on
//! 127.0.0.1, measured from the outside. Not a test: run it by hand (see
//! BENCHMARKS.md, "Membership").
//!
//! ```text
//! cargo run --release -p proscenium-bench --bin membership -- \
//!     [--nodes 5] [--kills 10] [--idle 10s] [--seed N] \
//!     [--soak --rounds 20] [--probe-period-ms 500 --probe-timeout-ms 200 --suspicion-ms 3000 --loss 0.01]
//! ```
//!
//! Without `--soak` it measures, in order:
//!
//! * **join convergence**: the first member starts alone; the others start
//!   at once, all with it as their seed; the time from their start until
//!   every member has seen every other up;
//! * **idle traffic**: membership bytes and datagrams each member sends per
//!   second while nothing happens (`NodeStats`);
//! * **failure detection**, `--kills` times: a random member is killed
//!   with `kill -9`; each other member's time to declare it down, from
//!   the kill (every member's notice, and the last member's, per kill);
//!   then it restarts on its address and the cluster converges again.
//!
//! With `--soak` every member drops `--loss` (default 1 %) of the
//! membership datagrams it sends, and `--rounds` times a random member is
//! stopped (SIGSTOP) for 2 s, then continued; any member declared down is
//! a false down. The exit status is 1 if a kill went unnoticed by some
//! member, or the soak saw a false down.
//!
//! With `MEMBERSHIP_VERBOSE` set it prints every member event as it comes.
//!
//! Everything stops by itself: every wait has a deadline, and the member
//! processes are killed when the driver ends.

mod member;
mod process;
mod report;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::Duration;

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::sync::mpsc;
use tokio::time::Instant;

use member::{now_ns, Tuning};
use process::{Line, MemberProcess, Traffic};
use report::{load_average, Samples};

/// The flag that makes the bench binary a member process:
/// `--member NAME LISTEN [--seed ADDR]… [tuning flags]`.
const MEMBER_FLAG: &str = "--member";

const USAGE: &str = "usage: membership [--nodes N] [--kills N] [--idle 10s] [--seed N] \
     [--soak] [--rounds N] [--probe-period-ms MS] [--probe-timeout-ms MS] [--suspicion-ms MS] [--loss F]";

/// How long the members may take to start and see each other up.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(120);
/// How long every member may take to declare a killed one down before the
/// benchmark counts the kill as missed by those that did not.
const DETECT_DEADLINE: Duration = Duration::from_secs(60);
/// How long a member is stopped in the soak.
const STOP_FOR: Duration = Duration::from_secs(2);
/// Quiet time after the join before the idle traffic is measured.
const SETTLE: Duration = Duration::from_secs(3);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(MEMBER_FLAG) {
        run_member(&args[1..]);
        return;
    }
    let options = Options::parse(&args).unwrap_or_else(|e| fail(&format!("{e}\n{USAGE}")));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start tokio: {e}")));
    let clean = runtime.block_on(drive(options));
    std::process::exit(if clean { 0 } else { 1 });
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}

/// A member process: one thread, like a small service.
fn run_member(args: &[String]) {
    let name = args.first().cloned().unwrap_or_else(|| fail(USAGE));
    let listen: SocketAddr = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| fail("a member needs a listen address"));
    let mut seeds = Vec::new();
    let mut tuning = Tuning::default();
    let mut rest = args[2..].iter();
    while let Some(flag) = rest.next() {
        let value = rest
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        if flag == "--seed" {
            seeds.push(value.parse().unwrap_or_else(|_| fail("bad --seed")));
        } else if !tuning.parse_flag(flag, value).unwrap_or_else(|e| fail(&e)) {
            fail(&format!("unknown member flag {flag}"));
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start tokio: {e}")));
    if let Err(error) = runtime.block_on(member::serve(&name, listen, seeds, &tuning)) {
        fail(&format!("member {name}: {error}"));
    }
}

/// The command line.
#[derive(Debug)]
struct Options {
    nodes: usize,
    kills: usize,
    idle: Duration,
    seed: u64,
    soak: bool,
    rounds: usize,
    tuning: Tuning,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self {
            nodes: 5,
            kills: 10,
            idle: Duration::from_secs(10),
            seed: u64::try_from(now_ns() % u128::from(u32::MAX)).unwrap_or(1),
            soak: false,
            rounds: 20,
            tuning: Tuning::default(),
        };
        let mut loss = None;
        let mut args = args.iter();
        while let Some(flag) = args.next() {
            if flag == "--soak" {
                options.soak = true;
                continue;
            }
            let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let number = || {
                value
                    .parse::<u64>()
                    .map_err(|e| format!("{flag} {value}: {e}"))
            };
            match flag.as_str() {
                "--nodes" => options.nodes = usize::try_from(number()?).unwrap_or(usize::MAX),
                "--kills" => options.kills = usize::try_from(number()?).unwrap_or(usize::MAX),
                "--rounds" => options.rounds = usize::try_from(number()?).unwrap_or(usize::MAX),
                "--seed" => options.seed = number()?,
                "--idle" => {
                    let secs = value.trim_end_matches('s');
                    options.idle = Duration::from_secs(
                        secs.parse().map_err(|e| format!("--idle {value}: {e}"))?,
                    );
                }
                "--loss" => {
                    loss = Some(value.parse().map_err(|e| format!("--loss {value}: {e}"))?);
                }
                _ => {
                    if !options.tuning.parse_flag(flag, value)? {
                        return Err(format!("unknown flag {flag}"));
                    }
                }
            }
        }
        if options.nodes < 3 {
            return Err("--nodes must be at least 3".into());
        }
        options.tuning.loss = loss.unwrap_or(if options.soak { 0.01 } else { 0.0 });
        options.tuning.config().check().map_err(|e| e.to_string())?;
        Ok(options)
    }
}

/// The member processes and what they reported.
struct Cluster {
    tuning: Tuning,
    /// Member `m<i>` is at index `i`; `None` while it is down.
    processes: Vec<Option<MemberProcess>>,
    /// Where each member listens, from its first `READY`.
    addrs: Vec<Option<SocketAddr>>,
    /// Each member's current node run, from its last `READY`.
    runs: Vec<Option<String>>,
    /// Per observer: the members (name, run) it has last seen up.
    up: BTreeMap<String, BTreeMap<String, String>>,
    /// Every `down` event: (observer, name, run, when).
    downs: Vec<(String, String, String, u128)>,
    /// How many `suspect` events were seen.
    suspects: usize,
    /// The last traffic counters each member printed.
    traffic: BTreeMap<String, Traffic>,
    /// Whether to print every member event.
    verbose: bool,
    sender: mpsc::UnboundedSender<(String, Line)>,
    lines: mpsc::UnboundedReceiver<(String, Line)>,
}

fn name_of(index: usize) -> String {
    format!("m{index}")
}

impl Cluster {
    fn new(nodes: usize, tuning: Tuning) -> Self {
        let (sender, lines) = mpsc::unbounded_channel();
        Self {
            tuning,
            processes: (0..nodes).map(|_| None).collect(),
            addrs: vec![None; nodes],
            runs: vec![None; nodes],
            up: BTreeMap::new(),
            downs: Vec::new(),
            suspects: 0,
            traffic: BTreeMap::new(),
            verbose: std::env::var_os("MEMBERSHIP_VERBOSE").is_some(),
            sender,
            lines,
        }
    }

    fn start(&mut self, index: usize, seeds: &[SocketAddr]) -> Result<(), String> {
        let listen = self.addrs[index].unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        self.runs[index] = None;
        let process = MemberProcess::start(
            &name_of(index),
            listen,
            seeds,
            &self.tuning,
            self.sender.clone(),
        )?;
        self.processes[index] = Some(process);
        Ok(())
    }

    /// Takes in member lines until `done` holds or `deadline` passes.
    async fn until(
        &mut self,
        what: &str,
        deadline: Instant,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), String> {
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some((name, line))) => self.record(&name, line),
                Ok(None) => return Err("every member's output closed".into()),
                Err(_) => return Err(format!("timed out waiting for {what}")),
            }
        }
        Ok(())
    }

    /// Takes in the lines that arrive during `period`.
    async fn for_a_while(&mut self, period: Duration) {
        let _ = self.until("", Instant::now() + period, |_| false).await;
    }

    fn record(&mut self, observer: &str, line: Line) {
        let index = observer[1..].parse::<usize>().ok();
        match line {
            Line::Ready { addr, node } => {
                if let Some(index) = index {
                    self.addrs[index].get_or_insert(addr);
                    self.runs[index] = Some(node);
                }
            }
            Line::Event {
                at_ns,
                state,
                name,
                node,
            } => {
                if self.verbose {
                    println!("  {at_ns} {observer}: {state} {name} {node}");
                }
                let seen = self.up.entry(observer.to_owned()).or_default();
                match state.as_str() {
                    "up" => {
                        seen.insert(name, node);
                    }
                    "suspect" => self.suspects += 1,
                    "down" | "left" => {
                        if seen.get(&name) == Some(&node) {
                            seen.remove(&name);
                        }
                        if state == "down" {
                            self.downs.push((observer.to_owned(), name, node, at_ns));
                        }
                    }
                    _ => {}
                }
            }
            Line::Stats(traffic) => {
                self.traffic.insert(observer.to_owned(), traffic);
            }
        }
    }

    fn live(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.processes.len()).filter(|&i| self.processes[i].is_some())
    }

    /// Whether every live member has said `READY` and sees every other
    /// live member's current run up.
    fn converged(&self) -> bool {
        self.live().all(|observer| {
            self.runs[observer].is_some()
                && self.live().filter(|&i| i != observer).all(|other| {
                    let seen = self
                        .up
                        .get(&name_of(observer))
                        .and_then(|seen| seen.get(&name_of(other)));
                    seen.is_some() && seen == self.runs[other].as_ref()
                })
        })
    }

    async fn traffic_snapshot(&mut self) -> Result<BTreeMap<String, Traffic>, String> {
        self.traffic.clear();
        let live: Vec<usize> = self.live().collect();
        for &index in &live {
            if let Some(process) = &mut self.processes[index] {
                process.ask_stats().await;
            }
        }
        let count = live.len();
        self.until(
            "traffic counters",
            Instant::now() + Duration::from_secs(30),
            |cluster| cluster.traffic.len() == count,
        )
        .await?;
        Ok(self.traffic.clone())
    }
}

async fn drive(options: Options) -> bool {
    let config = options.tuning.config();
    println!(
        "membership benchmark: {} member processes on 127.0.0.1, {config:?}, seed {}",
        options.nodes, options.seed
    );
    println!("load average before: {}", load_average());
    let mut cluster = Cluster::new(options.nodes, options.tuning.clone());
    let mut rng = SmallRng::seed_from_u64(options.seed);
    let result = async {
        join(&mut cluster).await?;
        if options.soak {
            soak(&mut cluster, &options, &mut rng).await
        } else {
            idle_traffic(&mut cluster, options.idle).await?;
            detect_kills(&mut cluster, options.kills, &mut rng).await
        }
    }
    .await;
    println!("load average after: {}", load_average());
    match result {
        Ok(clean) => clean,
        Err(error) => {
            eprintln!("membership benchmark failed: {error}");
            false
        }
    }
}

/// Starts the first member, then all others at once through it, and
/// reports how long they took to see each other.
async fn join(cluster: &mut Cluster) -> Result<(), String> {
    let deadline = Instant::now() + CONVERGE_DEADLINE;
    cluster.start(0, &[])?;
    cluster
        .until("the first member", deadline, |c| c.runs[0].is_some())
        .await?;
    let seed = cluster.addrs[0].ok_or("the first member has no address")?;
    let started = Instant::now();
    for index in 1..cluster.processes.len() {
        cluster.start(index, &[seed])?;
    }
    cluster
        .until(
            "the members to see each other",
            deadline,
            Cluster::converged,
        )
        .await?;
    println!(
        "join: {} members converged (each sees all up) {:.2} s after {} of them started at once",
        cluster.processes.len(),
        started.elapsed().as_secs_f64(),
        cluster.processes.len() - 1
    );
    Ok(())
}

async fn idle_traffic(cluster: &mut Cluster, idle: Duration) -> Result<(), String> {
    cluster.for_a_while(SETTLE).await;
    let before = cluster.traffic_snapshot().await?;
    let started = Instant::now();
    cluster.for_a_while(idle).await;
    let after = cluster.traffic_snapshot().await?;
    let secs = started.elapsed().as_secs_f64();
    let rate = |pick: fn(&Traffic) -> u64| {
        let per_node: Vec<f64> = after
            .iter()
            .map(|(name, now)| {
                let then = before.get(name).copied().unwrap_or_default();
                (pick(now).saturating_sub(pick(&then))) as f64 / secs
            })
            .collect();
        Samples::new(per_node)
    };
    let bytes = rate(|t| t.bytes_sent);
    let datagrams = rate(|t| t.datagrams_sent);
    let received = rate(|t| t.bytes_received);
    println!(
        "idle traffic over {secs:.1} s, per member: sent {:.0} B/s median (max {:.0}), \
         {:.1} datagrams/s median, {:.0} B/s with IPv4+UDP headers; received {:.0} B/s median",
        bytes.median(),
        bytes.max(),
        datagrams.median(),
        bytes.median() + 28.0 * datagrams.median(),
        received.median(),
    );
    Ok(())
}

/// Kills a random member `kills` times, measuring how long each other
/// member takes to declare it down, and restarts it.
async fn detect_kills(
    cluster: &mut Cluster,
    kills: usize,
    rng: &mut SmallRng,
) -> Result<bool, String> {
    let members = cluster.processes.len();
    let mut every = Vec::new();
    let mut last = Vec::new();
    let mut missed = 0;
    for round in 0..kills {
        // A random phase against the probe rounds.
        cluster
            .for_a_while(Duration::from_millis(rng.random_range(1000..3000)))
            .await;
        let victim = rng.random_range(0..members);
        let name = name_of(victim);
        let run = cluster.runs[victim]
            .clone()
            .ok_or("the victim has no run")?;
        let seen_before = cluster.downs.len();
        let killed_ns = now_ns();
        if let Some(mut process) = cluster.processes[victim].take() {
            process.kill().await;
        }
        let observers = members - 1;
        let noticed = |c: &Cluster| {
            c.downs[seen_before..]
                .iter()
                .filter(|(_, n, r, _)| *n == name && *r == run)
                .map(|(observer, ..)| observer)
                .collect::<BTreeSet<_>>()
                .len()
        };
        let waited = cluster
            .until(
                "every member to declare the victim down",
                Instant::now() + DETECT_DEADLINE,
                |c| noticed(c) == observers,
            )
            .await;
        let times: Vec<f64> = cluster.downs[seen_before..]
            .iter()
            .filter(|(_, n, r, _)| *n == name && *r == run)
            .map(|(.., at)| at.saturating_sub(killed_ns) as f64 / 1e9)
            .collect();
        missed += observers.saturating_sub(noticed(cluster));
        if waited.is_err() {
            eprintln!(
                "kill {round}: {name} not declared down by every member in {DETECT_DEADLINE:?}"
            );
        }
        let slowest = times.iter().copied().fold(0.0, f64::max);
        println!(
            "kill {round}: {name} declared down by {}/{observers} members, last after {slowest:.2} s",
            times.len()
        );
        every.extend(times);
        last.push(slowest);
        let seeds: Vec<SocketAddr> = cluster.live().filter_map(|i| cluster.addrs[i]).collect();
        cluster.start(victim, &seeds)?;
        cluster
            .until(
                "the restarted member to rejoin",
                Instant::now() + CONVERGE_DEADLINE,
                Cluster::converged,
            )
            .await?;
    }
    let every = Samples::new(every);
    let last = Samples::new(last);
    println!(
        "kill -9 detection over {kills} kills: each member's notice median {:.2} s, p99 {:.2} s, \
         max {:.2} s ({} notices); last member's notice median {:.2} s, p99 {:.2} s, max {:.2} s; \
         missed notices: {missed}",
        every.median(),
        every.p99(),
        every.max(),
        every.len(),
        last.median(),
        last.p99(),
        last.max(),
    );
    Ok(missed == 0)
}

/// Stops a random member for [`STOP_FOR`], `rounds` times, and counts the
/// members declared down meanwhile (false downs: none died).
async fn soak(
    cluster: &mut Cluster,
    options: &Options,
    rng: &mut SmallRng,
) -> Result<bool, String> {
    let members = cluster.processes.len();
    let downs_before = cluster.downs.len();
    let suspects_before = cluster.suspects;
    let started = cluster.traffic_snapshot().await?;
    for round in 0..options.rounds {
        let victim = rng.random_range(0..members);
        let process = cluster.processes[victim]
            .as_ref()
            .ok_or("a soak member is gone")?;
        let stopped_ns = now_ns();
        let downs_so_far = cluster.downs.len();
        process.signal("STOP").await?;
        if cluster.verbose {
            println!("  {stopped_ns} stopped {}", name_of(victim));
        }
        cluster.for_a_while(STOP_FOR).await;
        let process = cluster.processes[victim]
            .as_ref()
            .ok_or("a soak member is gone")?;
        process.signal("CONT").await?;
        // Longer than a suspicion: one raised during the stop ends, one
        // way or the other, before the next stop.
        cluster
            .for_a_while(Duration::from_millis(rng.random_range(4000..6000)))
            .await;
        for (observer, name, _, at) in &cluster.downs[downs_so_far..] {
            let after = at.saturating_sub(stopped_ns) as f64 / 1e9;
            println!("  {observer} declared {name} down {after:.2} s after the stop");
        }
        let false_downs = cluster.downs.len() - downs_before;
        println!(
            "soak round {round}: {} stopped {STOP_FOR:?}; false downs so far {false_downs}, suspects so far {}",
            name_of(victim),
            cluster.suspects - suspects_before
        );
    }
    let ended = cluster.traffic_snapshot().await?;
    let (mut sent, mut dropped) = (0, 0);
    for (name, now) in &ended {
        let then = started.get(name).copied().unwrap_or_default();
        sent += now.datagrams_sent - then.datagrams_sent;
        dropped += now.dropped - then.dropped;
    }
    let false_downs = &cluster.downs[downs_before..];
    println!(
        "soak: {} rounds of one member stopped for {STOP_FOR:?} with {:.1} % of membership \
         datagrams dropped ({dropped} of {}): {} false downs, {} suspect events",
        options.rounds,
        options.tuning.loss * 100.0,
        sent + dropped,
        false_downs.len(),
        cluster.suspects - suspects_before,
    );
    for (observer, name, run, _) in false_downs {
        println!("  false down: {observer} declared {name} ({run}) down");
    }
    Ok(false_downs.is_empty())
}
