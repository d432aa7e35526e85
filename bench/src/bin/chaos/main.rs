//! The chaos soak: node processes on 127.0.0.1 exchange asks and tells
//! while a driver kills (SIGKILL), restarts, partitions, freezes and stalls
//! (SIGSTOP) them at random, then reports whether anything hung or went
//! missing. Not a test: run it by hand (see BENCHMARKS.md, "Reliability").
//!
//! ```text
//! cargo run --release -p proscenium-bench --bin chaos -- [--nodes 4] [--duration 60s] [--seed N]
//! ```
//!
//! The driver is itself a node (`driver`) and never faulted. Each node
//! process `n0`, `n1`, … serves a `sink`, an `echo` and a `relay` (see
//! `node.rs`). Every link goes through a [`FaultProxy`]: one from the
//! driver to each node, one from each node to each higher-numbered node
//! (node `i` dials node `j > i`). The driver's load tasks ask `echo`s, tell
//! numbered records to `sink`s, and have `relay`s ask and tell other
//! nodes; a chaos task injects one fault at a time: kill a node and restart
//! it on the same port, stall it, partition the cluster in two (cutting the
//! proxies between the halves), freeze a link (zero window), drop a link's
//! connections, slow a link down, or make a `sink` nap so that its mailbox
//! fills (a slow actor, which should hold up only the tells to it). After the set duration it heals everything, waits
//! for every node's final counts, and prints the report; `ledger.rs` says
//! how tells are accounted for. The exit status is 1 if any ask hung, any
//! tell is unaccounted or anything panicked.
//!
//! Everything stops by itself: the load and chaos loops end at the
//! deadline, every wait has a deadline, and the node processes are killed
//! if they do not quit.

mod cluster;
#[path = "../../../../tests/support_cluster/fault_proxy.rs"]
mod fault_proxy;
mod ledger;
mod node;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proscenium_net::{Node, NodeEvent};
use proscenium_runtime::{ActorId, ActorRef, AskError, NodeId};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use tokio::time::Instant;

use cluster::NodeProcess;
use fault_proxy::{FaultProxy, Flow};
use ledger::{ask_error_kind, by_kind, AskTally, Ledger};
use node::{Echo, Nap, Ping, Received, Record, Relay, RelayOp, Relayed, Sent, Sink, Stream};

/// The flag that makes the soak binary a node process: `--node NAME LISTEN [PEER…]`.
const NODE_FLAG: &str = "--node";

const USAGE: &str = "usage: chaos [--nodes N] [--duration 60s] [--seed N]";

/// The driver's ask deadline (to `echo`s).
const DRIVER_ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// The deadline of a request to a relay (it may ask or tell with its own deadlines).
const RELAY_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a tell may wait for room before the soak calls it hung.
const TELL_HUNG_AFTER: Duration = Duration::from_secs(30);
/// How long the end of the soak waits for the cluster to settle.
const SETTLE: Duration = Duration::from_secs(60);

/// An ask is hung if it is still unresolved this long after it was made.
fn hung_after(deadline: Duration) -> Duration {
    deadline * 2 + Duration::from_secs(5)
}

static DRIVER_PANICS: AtomicU64 = AtomicU64::new(0);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start tokio: {e}")));
    if args.first().map(String::as_str) == Some(NODE_FLAG) {
        let name = args.get(1).cloned().unwrap_or_else(|| fail(USAGE));
        let listen = parse_addr(args.get(2));
        let peers = args[3..].iter().map(|a| parse_addr(Some(a))).collect();
        if let Err(error) = runtime.block_on(node::serve(&name, listen, peers)) {
            fail(&format!("node {name}: {error}"));
        }
        return;
    }
    let options = Options::parse(&args);
    std::panic::set_hook(Box::new(|info| {
        DRIVER_PANICS.fetch_add(1, Ordering::Relaxed);
        eprintln!("[driver] PANIC: {info}");
    }));
    let clean = runtime.block_on(soak(options));
    std::process::exit(if clean { 0 } else { 1 });
}

fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(2);
}

fn parse_addr(arg: Option<&String>) -> SocketAddr {
    let addr: SocketAddr = arg
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| fail("expected an address"));
    if !addr.ip().is_loopback() {
        fail("the soak uses 127.0.0.1 only");
    }
    addr
}

/// The command line.
#[derive(Debug)]
struct Options {
    nodes: usize,
    duration: Duration,
    seed: u64,
}

impl Options {
    fn parse(args: &[String]) -> Self {
        let mut options = Options {
            nodes: 4,
            duration: Duration::from_secs(60),
            seed: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if arg == "-h" || arg == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = args.next().unwrap_or_else(|| fail(USAGE));
            match arg.as_str() {
                "--nodes" => options.nodes = value.parse().unwrap_or_else(|_| fail(USAGE)),
                "--duration" => options.duration = parse_duration(value),
                "--seed" => options.seed = value.parse().unwrap_or_else(|_| fail(USAGE)),
                _ => fail(USAGE),
            }
        }
        if options.nodes < 2 {
            fail("--nodes must be at least 2");
        }
        options
    }
}

/// `90`, `90s`, `1500ms` or `2m`.
fn parse_duration(text: &str) -> Duration {
    let (number, unit) = text
        .find(|c: char| !c.is_ascii_digit())
        .map_or((text, "s"), |at| text.split_at(at));
    let n: u64 = number.parse().unwrap_or_else(|_| fail(USAGE));
    match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => fail(USAGE),
    }
}

// ===== the driver =====

/// The refs the driver uses on one node run.
#[derive(Debug, Clone)]
struct Refs {
    sink: ActorRef<Sink>,
    echo: ActorRef<Echo>,
    relay: ActorRef<Relay>,
}

/// What the driver's tasks share.
#[derive(Debug)]
struct Driver {
    node: Node,
    ledger: Mutex<Ledger>,
    /// Per node slot, the refs on its current run once looked up.
    targets: Mutex<Vec<Option<Refs>>>,
    deadline: Instant,
    /// Set when the load has stopped: the reporter's last rounds.
    stopping: AtomicBool,
}

impl Driver {
    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn target(&self, slot: usize) -> Option<Refs> {
        let targets = self.targets.lock().unwrap_or_else(|p| p.into_inner());
        targets.get(slot).cloned().flatten()
    }
}

/// One node slot: its name, port and peers stay; its process comes and goes.
#[derive(Debug)]
struct Slot {
    name: String,
    listen: SocketAddr,
    peers: Vec<SocketAddr>,
    process: Option<NodeProcess>,
    /// The highest VmHWM of its runs so far, in KiB.
    peak_kib: u64,
    /// Its runs so far (processes started).
    runs: u32,
}

impl Slot {
    fn note_peak(&mut self) {
        if let Some(kib) = self.process.as_ref().and_then(NodeProcess::peak_memory_kib) {
            self.peak_kib = self.peak_kib.max(kib);
        }
    }
}

/// The node processes and the proxies on every link.
#[derive(Debug)]
struct World {
    slots: Vec<Slot>,
    /// `to_node[j]`: the driver's link to node `j`.
    to_node: Vec<FaultProxy>,
    /// `between[(i, j)]`, `i < j`: node `i`'s link to node `j`.
    between: BTreeMap<(usize, usize), FaultProxy>,
    panics: Arc<AtomicU64>,
}

impl World {
    fn proxies(&self) -> impl Iterator<Item = &FaultProxy> {
        self.to_node.iter().chain(self.between.values())
    }

    /// Every link, named for the log: `driver-n2`, `n0-n3`.
    fn links(&self) -> Vec<(String, &FaultProxy)> {
        let to_node = self
            .to_node
            .iter()
            .enumerate()
            .map(|(j, proxy)| (format!("driver-n{j}"), proxy));
        let between = self
            .between
            .iter()
            .map(|((i, j), proxy)| (format!("n{i}-n{j}"), proxy));
        to_node.chain(between).collect()
    }
}

async fn soak(options: Options) -> bool {
    println!(
        "chaos soak: {} nodes, {:?}, seed {} (rerun with --seed {})",
        options.nodes, options.duration, options.seed, options.seed
    );
    let started = Instant::now();
    let world = match start_world(options.nodes).await {
        Ok(world) => world,
        Err(error) => fail(&format!("cannot start the cluster: {error}")),
    };
    let node = Node::builder("driver")
        .secret(node::SECRET)
        .registry(node::registry())
        .ask_timeout(DRIVER_ASK_TIMEOUT)
        .start()
        .await
        .unwrap_or_else(|e| fail(&format!("cannot start the driver's node: {e}")));
    let driver = Arc::new(Driver {
        node,
        ledger: Mutex::new(Ledger::default()),
        targets: Mutex::new(vec![None; options.nodes]),
        deadline: Instant::now() + options.duration,
        stopping: AtomicBool::new(false),
    });
    for slot in &world.slots {
        name_run(&driver, slot);
    }
    tokio::spawn(follow_node_runs(driver.clone()));
    tokio::spawn(count_driver_dead_letters(driver.clone()));
    for proxy in &world.to_node {
        if let Err(error) = driver.node.connect(proxy.addr()).await {
            fail(&format!("the driver cannot connect: {error}"));
        }
    }
    if !wait_for_targets(&driver, &world).await {
        fail("the driver did not find every node's actors");
    }
    println!("cluster up after {:.1?}; chaos starts", started.elapsed());

    let reporter = tokio::spawn(report_loop(driver.clone()));
    let lanes = 2 * options.nodes as u32;
    let load: Vec<_> = (0..lanes)
        .map(|lane| {
            let seed = options.seed ^ (u64::from(lane) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            tokio::spawn(load(driver.clone(), lane, seed, options.nodes))
        })
        .collect();
    let chaos = tokio::spawn(chaos(driver.clone(), world, options.seed));
    for lane in load {
        let _ = lane.await;
    }
    let Ok(mut world) = chaos.await else {
        fail("the chaos task failed");
    };
    println!(
        "{:>7.1}s  load stopped; healing and settling",
        secs(started)
    );

    heal_all(&world).await;
    let settled = wait_for_targets(&driver, &world).await;
    let complete = final_reports(&driver).await;
    driver.stopping.store(true, Ordering::Relaxed);
    let _ = reporter.await;
    for slot in &mut world.slots {
        slot.note_peak();
    }
    let driver_stats = node::stats_by_name(&driver.node.stats());
    let shutdown_started = Instant::now();
    let driver_shutdown =
        tokio::time::timeout(Duration::from_secs(10), driver.node.shutdown()).await;
    let driver_shutdown = driver_shutdown.map(|()| shutdown_started.elapsed());
    for slot in &mut world.slots {
        if let Some(process) = slot.process.take() {
            process.quit(Duration::from_secs(5)).await;
        }
    }
    let report = Report {
        options: &options,
        elapsed: started.elapsed(),
        settled: settled && complete,
        driver_shutdown,
        driver_stats,
        panics: world.panics.load(Ordering::Relaxed) + DRIVER_PANICS.load(Ordering::Relaxed),
        world: &world,
    };
    let ledger = driver.ledger();
    report.print(&ledger, driver.node.id())
}

fn secs(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

/// Starts the node processes (highest first, so that each can be given the
/// proxies to the nodes it dials) and the proxies.
async fn start_world(nodes: usize) -> Result<World, String> {
    let panics = Arc::new(AtomicU64::new(0));
    let mut slots: Vec<Option<Slot>> = (0..nodes).map(|_| None).collect();
    let mut between = BTreeMap::new();
    let mut addrs = vec![None; nodes];
    for j in (0..nodes).rev() {
        let mut peers = Vec::new();
        for (k, addr) in addrs.iter().enumerate().skip(j + 1) {
            let target = addr.ok_or("a higher node has no address")?;
            let proxy = FaultProxy::start(target).await;
            peers.push(proxy.addr());
            between.insert((j, k), proxy);
        }
        let name = format!("n{j}");
        let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
        let process = NodeProcess::start(&name, loopback, &peers, panics.clone()).await?;
        addrs[j] = Some(process.addr);
        slots[j] = Some(Slot {
            name,
            listen: process.addr,
            peers,
            process: Some(process),
            peak_kib: 0,
            runs: 1,
        });
    }
    let mut to_node = Vec::new();
    for addr in &addrs {
        to_node.push(FaultProxy::start(addr.ok_or("a node has no address")?).await);
    }
    Ok(World {
        slots: slots.into_iter().flatten().collect(),
        to_node,
        between,
        panics,
    })
}

/// Keeps `targets` pointing at each slot's current run: looks its actors
/// up whenever the driver's node links to a run of it.
async fn follow_node_runs(driver: Arc<Driver>) {
    let mut events = driver.node.events();
    loop {
        match events.recv().await {
            Ok(NodeEvent::NodeUp { node, name }) => {
                let Some(slot) = name.strip_prefix('n').and_then(|n| n.parse::<usize>().ok())
                else {
                    continue;
                };
                tokio::spawn(look_up(driver.clone(), slot, node));
            }
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Looks up the three actors of run `node` of slot `slot`, a few times.
async fn look_up(driver: Arc<Driver>, slot: usize, node: NodeId) {
    for _ in 0..10 {
        let found = async {
            Some(Refs {
                sink: driver.node.lookup_on(node, "sink").await.ok()??,
                echo: driver.node.lookup_on(node, "echo").await.ok()??,
                relay: driver.node.lookup_on(node, "relay").await.ok()??,
            })
        }
        .await;
        if let Some(refs) = found {
            let mut targets = driver.targets.lock().unwrap_or_else(|p| p.into_inner());
            // A lookup of an older run that finishes late must not win.
            let newer = targets[slot]
                .as_ref()
                .is_none_or(|current| current.sink.id().node() != node);
            if newer {
                targets[slot] = Some(refs);
            }
            return;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits (at most [`SETTLE`]) until the driver has refs on every slot's current run.
async fn wait_for_targets(driver: &Driver, world: &World) -> bool {
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        let current = world.slots.iter().enumerate().all(|(j, slot)| {
            let run = slot.process.as_ref().map(|p| p.id);
            driver.target(j).map(|t| t.sink.id().node()) == run
        });
        if current {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn count_driver_dead_letters(driver: Arc<Driver>) {
    let me = driver.node.id();
    let mut letters = driver.node.system().dead_letters();
    while let Some(letter) = letters.recv().await {
        if letter.message_type == std::any::type_name::<Record>() {
            driver
                .ledger()
                .driver_dead(me, letter.recipient, letter.possibly_delivered);
        }
    }
}

// ===== load =====

/// One load lane: random asks and tells until the deadline.
async fn load(driver: Arc<Driver>, lane: u32, seed: u64, nodes: usize) {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut seqs: HashMap<ActorId, u64> = HashMap::new();
    let mut n = 0_u64;
    while Instant::now() < driver.deadline {
        n += 1;
        let j = rng.random_range(0..nodes);
        let i = (j + rng.random_range(1..nodes)) % nodes;
        let (Some(to), Some(via)) = (driver.target(j), driver.target(i)) else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        match rng.random_range(0..10) {
            0..=2 => ping(&driver, &to.echo, n).await,
            3..=5 => {
                let count = rng.random_range(1..=50);
                tell(&driver, lane, &to.sink, count, &mut seqs).await;
            }
            6..=7 => relay(&driver, &via.relay, RelayOp::Ask(to.echo, n)).await,
            _ => {
                let count = rng.random_range(1..=50);
                relay(&driver, &via.relay, RelayOp::Tell(to.sink, count)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..3))).await;
    }
}

/// Counts one ask: `Err(())` if it hung, else its result.
fn count_ask<T>(
    tally: &mut AskTally,
    outcome: Result<Result<T, AskError>, ()>,
    right: impl FnOnce(&T) -> bool,
) {
    tally.issued += 1;
    match outcome {
        Ok(Ok(reply)) if right(&reply) => tally.answered += 1,
        Ok(Ok(_)) => tally.wrong += 1,
        Ok(Err(error)) => tally.failed(ask_error_kind(&error)),
        Err(()) => tally.hung += 1,
    }
}

async fn ping(driver: &Driver, echo: &ActorRef<Echo>, n: u64) {
    let outcome = tokio::time::timeout(hung_after(DRIVER_ASK_TIMEOUT), echo.ask(Ping(n)))
        .await
        .map_err(|_| ());
    count_ask(&mut driver.ledger().driver_asks, outcome, |back| *back == n);
}

async fn tell(
    driver: &Driver,
    lane: u32,
    sink: &ActorRef<Sink>,
    count: u32,
    seqs: &mut HashMap<ActorId, u64>,
) {
    let to = sink.id();
    let stream = Stream {
        from: driver.node.id(),
        lane,
        to,
    };
    for _ in 0..count {
        let seq = seqs.entry(to).or_default();
        *seq += 1;
        let record = Record { stream, seq: *seq };
        let outcome = tokio::time::timeout(TELL_HUNG_AFTER, sink.tell(record)).await;
        let mut ledger = driver.ledger();
        match outcome {
            Ok(Ok(())) => ledger.driver_sent(stream),
            Ok(Err(error)) => {
                *ledger
                    .tells_refused
                    .entry(node::send_error_kind(&error).to_owned())
                    .or_default() += 1;
            }
            Err(_) => ledger.tells_hung += 1,
        }
    }
}

async fn relay(driver: &Driver, relay: &ActorRef<Relay>, op: RelayOp) {
    let is_ask = matches!(op, RelayOp::Ask(..));
    let outcome = tokio::time::timeout(
        hung_after(RELAY_TIMEOUT),
        relay.ask_timeout(op, RELAY_TIMEOUT),
    )
    .await
    .map_err(|_| ());
    let mut ledger = driver.ledger();
    let relayed = match &outcome {
        Ok(Ok(relayed)) => Some(relayed),
        _ => None,
    };
    match relayed {
        None if is_ask => ledger.node_asks_unreported += 1,
        None => {}
        Some(Relayed::Answered) => {
            ledger.node_asks.issued += 1;
            ledger.node_asks.answered += 1;
        }
        Some(Relayed::WrongAnswer) => {
            ledger.node_asks.issued += 1;
            ledger.node_asks.wrong += 1;
        }
        Some(Relayed::AskFailed(error)) => {
            ledger.node_asks.issued += 1;
            ledger.node_asks.failed(ask_error_kind(error));
        }
        Some(Relayed::AskHung) => {
            ledger.node_asks.issued += 1;
            ledger.node_asks.hung += 1;
        }
        Some(Relayed::Told { refused, hung, .. }) => {
            for kind in refused {
                *ledger.tells_refused.entry(kind.clone()).or_default() += 1;
            }
            ledger.tells_hung += u64::from(*hung);
        }
    }
    count_ask(&mut ledger.driver_asks, outcome, |_| true);
}

// ===== reports from the nodes =====

/// Collects every node's counts once a second until the soak ends.
async fn report_loop(driver: Arc<Driver>) {
    while !driver.stopping.load(Ordering::Relaxed) {
        collect_reports(&driver).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Asks every current node run for its counts; `true` if all answered.
async fn collect_reports(driver: &Driver) -> bool {
    let slots = driver.targets.lock().map(|t| t.len()).unwrap_or(0);
    let mut all = true;
    for slot in 0..slots {
        let Some(target) = driver.target(slot) else {
            all = false;
            continue;
        };
        all &= collect_report(driver, &target).await;
    }
    all
}

/// Asks one node run for its counts; `true` if it answered.
async fn collect_report(driver: &Driver, target: &Refs) -> bool {
    let deadline = Duration::from_secs(2);
    let mut answered = true;
    match target.sink.ask_timeout(Received, deadline).await {
        Ok((sink, streams)) => driver.ledger().sink_report(sink, streams),
        Err(_) => answered = false,
    }
    match target.relay.ask_timeout(Sent, deadline).await {
        Ok(report) => {
            let mut ledger = driver.ledger();
            ledger.relay_report(report.run, report.sinks);
            ledger.node_stats(report.run, report.stats);
        }
        Err(_) => answered = false,
    }
    answered
}

/// The last counts: rounds until every node answered twice with nothing new.
async fn final_reports(driver: &Driver) -> bool {
    let until = Instant::now() + SETTLE;
    let mut last = None;
    while Instant::now() < until {
        let all = collect_reports(driver).await;
        let now = driver.ledger().tells(driver.node.id());
        let key = (
            now.sent,
            now.delivered,
            now.dead_lettered,
            now.possibly_undelivered,
        );
        if all && last == Some(key) {
            return true;
        }
        last = all.then_some(key);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

// ===== chaos =====

/// The faults, with their weights.
const FAULTS: [(&str, u32); 7] = [
    ("kill -9 and restart", 2),
    ("SIGSTOP, then SIGCONT", 2),
    ("partition, then heal", 2),
    ("freeze a link, then thaw", 1),
    ("drop a link's connections", 1),
    ("slow a link (20 ms a chunk, 256 KiB/s)", 1),
    ("make a sink nap (its mailbox fills)", 1),
];

/// Injects one fault at a time until the deadline; hands the world back.
async fn chaos(driver: Arc<Driver>, mut world: World, seed: u64) -> World {
    let mut rng = SmallRng::seed_from_u64(seed);
    let started = Instant::now();
    let nodes = world.slots.len();
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(200..1500))).await;
        if Instant::now() >= driver.deadline {
            return world;
        }
        let total: u32 = FAULTS.iter().map(|(_, w)| w).sum();
        let mut pick = rng.random_range(0..total);
        let fault = FAULTS
            .iter()
            .position(|(_, w)| {
                let hit = pick < *w;
                pick = pick.saturating_sub(*w);
                hit
            })
            .unwrap_or(0);
        let hold = Duration::from_millis(rng.random_range(500..4000));
        let j = rng.random_range(0..nodes);
        let at = started.elapsed().as_secs_f64();
        *driver.ledger().faults.entry(FAULTS[fault].0).or_default() += 1;
        match fault {
            0 => {
                println!("{at:>7.1}s  kill -9 n{j}, restart after {hold:.1?}");
                let panics = world.panics.clone();
                snapshot_before_kill(&driver, j, &world.slots[j]).await;
                kill_and_restart(&driver, &mut world.slots[j], hold, panics).await;
            }
            1 => {
                println!("{at:>7.1}s  SIGSTOP n{j} for {hold:.1?}");
                if let Some(process) = &world.slots[j].process {
                    process.signal("STOP").await;
                    tokio::time::sleep(hold).await;
                    process.signal("CONT").await;
                }
            }
            2 => {
                let far: Vec<bool> = (0..nodes).map(|_| rng.random_bool(0.5)).collect();
                let cut = partition(&world, &far);
                println!(
                    "{at:>7.1}s  partition {far:?} ({} links cut) for {hold:.1?}",
                    cut.len()
                );
                for proxy in &cut {
                    proxy.cut();
                }
                tokio::time::sleep(hold).await;
                for proxy in &cut {
                    proxy.heal();
                }
            }
            6 => {
                println!("{at:>7.1}s  sink of n{j} naps for {hold:.1?}");
                if let Some(target) = driver.target(j) {
                    let nap = Nap(hold.as_millis() as u64);
                    let _ = tokio::time::timeout(hold, target.sink.tell(nap)).await;
                    tokio::time::sleep(hold).await;
                }
            }
            _ => {
                let links = world.links();
                let (link, proxy) = &links[rng.random_range(0..links.len())];
                match fault {
                    3 => {
                        println!("{at:>7.1}s  freeze link {link} for {hold:.1?}");
                        proxy.freeze();
                        tokio::time::sleep(hold).await;
                        proxy.thaw();
                    }
                    4 => {
                        println!("{at:>7.1}s  drop link {link}");
                        proxy.drop_connections();
                    }
                    _ => {
                        println!("{at:>7.1}s  slow link {link} for {hold:.1?}");
                        proxy.delay(Flow::Both, Duration::from_millis(20));
                        proxy.throttle(Flow::Both, 256 * 1024);
                        tokio::time::sleep(hold).await;
                        proxy.delay(Flow::Both, Duration::ZERO);
                        proxy.unthrottle(Flow::Both);
                    }
                }
            }
        }
    }
}

/// The proxies to cut to separate the nodes marked `far` (and the driver's
/// links to them) from the others and the driver.
fn partition<'w>(world: &'w World, far: &[bool]) -> Vec<&'w FaultProxy> {
    let mut cut: Vec<&FaultProxy> = world
        .to_node
        .iter()
        .zip(far)
        .filter(|(_, &far)| far)
        .map(|(proxy, _)| proxy)
        .collect();
    for (&(i, j), proxy) in &world.between {
        if far[i] != far[j] {
            cut.push(proxy);
        }
    }
    cut
}

/// Takes the victim's counts just before it is killed, so that "lost in a
/// crash" holds only what was in flight at the kill (and what was sent to
/// it after), not everything since the last regular report.
async fn snapshot_before_kill(driver: &Driver, j: usize, slot: &Slot) {
    let run = slot.process.as_ref().map(|p| p.id);
    let Some(target) = driver.target(j).filter(|t| Some(t.sink.id().node()) == run) else {
        return;
    };
    collect_report(driver, &target).await;
}

async fn kill_and_restart(
    driver: &Driver,
    slot: &mut Slot,
    down: Duration,
    panics: Arc<AtomicU64>,
) {
    slot.note_peak();
    if let Some(mut process) = slot.process.take() {
        driver.ledger().killed.insert(process.id);
        process.kill().await;
    }
    tokio::time::sleep(down).await;
    for _ in 0..10 {
        match NodeProcess::start(&slot.name, slot.listen, &slot.peers, panics.clone()).await {
            Ok(process) => {
                slot.process = Some(process);
                slot.runs += 1;
                name_run(driver, slot);
                return;
            }
            Err(error) => {
                eprintln!("restart of {} failed: {error}", slot.name);
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    driver.ledger().restart_failures += 1;
}

/// Names the slot's current run in the report.
fn name_run(driver: &Driver, slot: &Slot) {
    if let Some(process) = &slot.process {
        let name = format!("{} run {}", slot.name, slot.runs);
        driver.ledger().runs.insert(process.id, name);
    }
}

/// Undoes every fault: every process runs, every link forwards.
async fn heal_all(world: &World) {
    for slot in &world.slots {
        if let Some(process) = &slot.process {
            process.signal("CONT").await;
        }
    }
    for proxy in world.proxies() {
        proxy.heal();
        proxy.thaw();
        proxy.delay(Flow::Both, Duration::ZERO);
        proxy.unthrottle(Flow::Both);
    }
}

// ===== the report =====

struct Report<'a> {
    options: &'a Options,
    elapsed: Duration,
    settled: bool,
    driver_shutdown: Result<Duration, tokio::time::error::Elapsed>,
    driver_stats: Vec<(String, u64)>,
    panics: u64,
    world: &'a World,
}

impl Report<'_> {
    /// Prints the report; `true` if nothing hung, went missing or panicked.
    fn print(&self, ledger: &Ledger, driver: NodeId) -> bool {
        let tells = ledger.tells(driver);
        let o = self.options;
        println!();
        println!("## Chaos soak report");
        println!();
        println!(
            "{} nodes, {:?} of chaos (seed {}), {:.0?} in all",
            o.nodes, o.duration, o.seed, self.elapsed
        );
        println!("faults: {}", by_kind(&ledger.faults));
        println!();
        for (what, tally) in [
            ("asks, driver to node", &ledger.driver_asks),
            ("asks, node to node (relayed)", &ledger.node_asks),
        ] {
            println!(
                "{what}: {} issued, {} answered, {} wrong answers, {} hung; failed: {}",
                tally.issued,
                tally.answered,
                tally.wrong,
                tally.hung,
                by_kind(&tally.failed)
            );
        }
        println!(
            "relayed asks whose outcome never came back (the request to the relay failed): {}",
            ledger.node_asks_unreported
        );
        println!(
            "tells: {} sent, {} delivered, {} dead-lettered as unsent, {} dead-lettered as possibly undelivered, {} lost in a crash, {} unaccounted",
            tells.sent,
            tells.delivered,
            tells.dead_lettered,
            tells.possibly_undelivered,
            tells.lost_in_crash,
            tells.unaccounted
        );
        println!(
            "possibly undelivered: {} not delivered, {} delivered after all (counted once, as delivered); over-reported: {}",
            tells.reported_lost, tells.reported_delivered, tells.over_reported
        );
        println!(
            "tells refused at send: {}; hung: {}",
            by_kind(&ledger.tells_refused),
            ledger.tells_hung
        );
        println!(
            "tells delivered out of order or twice: {}; delivered to the wrong run: {}; over-delivered: {}; reported after their sender was killed: {}",
            tells.out_of_order, ledger.misdelivered, tells.over_delivered, tells.reported_late
        );
        for example in tells.examples.iter().take(5) {
            println!("  unaccounted: {example}");
        }
        let nonzero = |stats: BTreeMap<String, u64>| -> BTreeMap<String, u64> {
            stats.into_iter().filter(|(_, n)| *n > 0).collect()
        };
        println!(
            "node statistics (NodeStats, every run's last report, summed): {}",
            by_kind(&nonzero(ledger.node_stats_total()))
        );
        println!(
            "the driver's node statistics: {}",
            by_kind(&nonzero(self.driver_stats.iter().cloned().collect()))
        );
        println!("panics: {}", self.panics);
        let peaks: Vec<String> = self
            .world
            .slots
            .iter()
            .map(|s| format!("{} {:.1} MiB", s.name, s.peak_kib as f64 / 1024.0))
            .collect();
        println!("peak memory (VmHWM, highest run): {}", peaks.join(", "));
        println!(
            "node runs killed: {}; restarts failed: {}",
            ledger.killed.len(),
            ledger.restart_failures
        );
        println!(
            "cluster settled and every node reported at the end: {}",
            if self.settled { "yes" } else { "NO" }
        );
        match self.driver_shutdown {
            Ok(took) => println!("driver's Node::shutdown took {took:.1?}"),
            Err(_) => println!("driver's Node::shutdown did NOT finish within 10s"),
        }
        let hung = ledger.driver_asks.hung + ledger.node_asks.hung + ledger.tells_hung;
        let clean = hung == 0
            && tells.unaccounted == 0
            && tells.over_delivered == 0
            && tells.over_reported == 0
            && ledger.misdelivered == 0
            && ledger.driver_asks.wrong + ledger.node_asks.wrong == 0
            && self.panics == 0
            && self.settled
            && self.driver_shutdown.is_ok();
        println!();
        println!(
            "verdict: {}",
            if clean {
                "clean"
            } else {
                "FAILED (see the lines above)"
            }
        );
        clean
    }
}
