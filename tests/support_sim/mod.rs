//! A cluster of nodes on turmoil's simulated network, for the deterministic
//! simulation tests and the simulated membership benchmark.
//!
//! Every node is a turmoil host that runs a real [`Node`] (handshake,
//! links, SWIM membership over UDP) on simulated sockets, in simulated
//! time: a minute of cluster life takes a fraction of that. The test
//! drives the simulation step by step from its own thread, faults
//! included (partitions, crashes, latency), and reads each node's
//! [`Node::members`] and the [`NodeEvent`]s it recorded, stamped with
//! the simulated time they happened at.
//!
//! A run is fixed by its seed: turmoil's network (latencies, the order of
//! deliveries) and every node's random choices derive from it. A failing
//! run prints its seed; `PROSCENIUM_SIM_SEED=<seed>` runs that one again,
//! and `PROSCENIUM_SIM_SWEEP=<n>` runs `n` fresh seeds. Every test file
//! compiles this module on its own and uses only part of it.
#![allow(dead_code, unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use proscenium::net::{Member, MemberState, Node, NodeBuilder, NodeEvent};
use tokio::sync::broadcast::error::RecvError;

/// Runs one seed instead of the test's own.
pub const SEED_VAR: &str = "PROSCENIUM_SIM_SEED";
/// Runs this many fresh seeds instead of the test's own.
pub const SWEEP_VAR: &str = "PROSCENIUM_SIM_SWEEP";

/// The port every simulated node listens on (TCP and UDP); each host has
/// its own address.
pub const PORT: u16 = 7000;

/// How many steps [`Cluster::run_until`] runs between two looks at the
/// nodes (a look reads every node's member list: it costs more than a step).
pub const CHECK_EVERY: usize = 5;

/// Every simulated node's cluster secret.
const SECRET: &[u8; 32] = b"the simulated cluster's secret..";

/// The seeds a test runs: the one in [`SEED_VAR`], or as many fresh ones
/// as [`SWEEP_VAR`] says, or else `fixed` (the few CI runs).
pub fn seeds(fixed: &[u64]) -> Vec<u64> {
    if let Some(seed) = env_number(SEED_VAR) {
        return vec![seed];
    }
    if let Some(runs) = env_number(SWEEP_VAR) {
        let start = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(1, |since| since.as_nanos() as u64);
        return (0..runs).map(|run| mix(start, run)).collect();
    }
    fixed.to_vec()
}

fn env_number(var: &str) -> Option<u64> {
    let text = std::env::var(var).ok()?;
    match text.trim().parse() {
        Ok(number) => Some(number),
        Err(_) => panic!("{var}={text:?} is not a number"),
    }
}

/// Runs `scenario` once per seed of [`seeds`]`(fixed)`; a run that fails
/// says which seed it had and how to run it again.
pub fn for_each_seed(fixed: &[u64], scenario: impl Fn(u64)) {
    for seed in seeds(fixed) {
        let _report = SeedReport(seed);
        scenario(seed);
    }
}

/// Prints the seed of a run that panicked.
struct SeedReport(u64);

impl Drop for SeedReport {
    fn drop(&mut self) {
        let seed = self.0;
        if std::thread::panicking() {
            eprintln!(
                "the simulation failed with seed {seed}; run it again with {SEED_VAR}={seed}"
            );
        }
    }
}

/// SplitMix64's finaliser: a well-spread 64-bit number from two inputs.
pub fn mix(seed: u64, salt: u64) -> u64 {
    let mut z = seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// How the simulated network and cluster are set up.
#[derive(Debug, Clone)]
pub struct Setup {
    /// How many nodes; the first one is the seed every other joins through.
    pub nodes: usize,
    /// The fastest and slowest one-way delivery of a message (turmoil
    /// draws each from an exponential curve between the two).
    pub latency: (Duration, Duration),
    /// How much simulated time one step of the simulation is.
    pub tick: Duration,
}

impl Default for Setup {
    /// A LAN-like network: 0 to 5 ms one way, in steps of 10 ms (so a
    /// message takes one step; timings are known to 10 ms).
    fn default() -> Self {
        Self {
            nodes: 3,
            latency: (Duration::ZERO, Duration::from_millis(5)),
            tick: Duration::from_millis(10),
        }
    }
}

/// Something a node saw, and when (simulated time since the start).
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Duration,
    pub observer: String,
    pub event: NodeEvent,
}

/// What the hosts report to the test.
#[derive(Debug, Default)]
struct Reports {
    /// The node each running host started, by name.
    running: BTreeMap<String, Node>,
    /// Every event every node saw, in order.
    seen: Vec<Seen>,
    /// Events a node's recorder missed (its channel overflowed).
    missed: u64,
}

/// A simulated cluster: turmoil's simulation and what its nodes report.
pub struct Cluster {
    sim: turmoil::Sim<'static>,
    seed: u64,
    names: Vec<String>,
    reports: Rc<RefCell<Reports>>,
}

impl Cluster {
    /// Starts `setup.nodes` nodes, named `n00`, `n01`, ..., all joining
    /// through `n00`, on a network and with node choices fixed by `seed`;
    /// `configure` adds to each node's builder.
    pub fn start(seed: u64, setup: &Setup, configure: fn(NodeBuilder) -> NodeBuilder) -> Self {
        let mut sim = turmoil::Builder::new()
            .rng_seed(seed)
            // A fixed epoch: membership sessions come from the clock.
            .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000))
            .simulation_duration(Duration::MAX)
            .tick_duration(setup.tick)
            .min_message_latency(setup.latency.0)
            .max_message_latency(setup.latency.1)
            // Room for every node's SYN to one node at once.
            .tcp_capacity(1024)
            .udp_capacity(1024)
            .build();
        let names: Vec<String> = (0..setup.nodes).map(|i| format!("n{i:02}")).collect();
        let addrs: Vec<SocketAddr> = names
            .iter()
            .map(|name| SocketAddr::new(sim.lookup(name.as_str()), PORT))
            .collect();
        let reports = Rc::new(RefCell::new(Reports::default()));
        for (index, name) in names.iter().enumerate() {
            let host = Host {
                name: name.clone(),
                addr: addrs[index],
                seed_addr: addrs[0],
                rng: mix(seed, index as u64),
                boots: Rc::new(Cell::new(0)),
                reports: Rc::clone(&reports),
                configure,
            };
            sim.host(name.as_str(), move || host.clone().run());
        }
        Self {
            sim,
            seed,
            names,
            reports,
        }
    }

    /// The nodes' names, `n00` first.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Simulated time since the start.
    pub fn now(&self) -> Duration {
        self.sim.elapsed()
    }

    /// Runs one step; a node whose start failed fails the test.
    pub fn step(&mut self) {
        if let Err(error) = self.sim.step() {
            panic!("a simulated node failed: {error}");
        }
    }

    /// Runs for `duration` of simulated time.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now() + duration;
        while self.now() < end {
            self.step();
        }
    }

    /// Runs until `done` holds, and returns the simulated time it took
    /// (known to [`CHECK_EVERY`] steps); fails the test if it does not hold
    /// within `guard` (simulated time: a hang guard, not a timing
    /// assertion).
    pub fn run_until(
        &mut self,
        what: &str,
        guard: Duration,
        mut done: impl FnMut(&Self) -> bool,
    ) -> Duration {
        let start = self.now();
        loop {
            if done(self) {
                return self.now() - start;
            }
            if self.now() - start > guard {
                panic!(
                    "after {guard:?} of simulated time, still waiting for {what}\n{}",
                    self.describe()
                );
            }
            for _ in 0..CHECK_EVERY {
                self.step();
            }
        }
    }

    /// The members `name` lists now (none if it is not running).
    pub fn members_of(&self, name: &str) -> Vec<Member> {
        self.reports
            .borrow()
            .running
            .get(name)
            .map(Node::members)
            .unwrap_or_default()
    }

    /// The names of the nodes running now.
    pub fn running(&self) -> Vec<String> {
        self.reports.borrow().running.keys().cloned().collect()
    }

    /// Whether every node in `names` is running and lists exactly the
    /// nodes in `names`, each of them up.
    pub fn all_list_all_up(&self, names: &[String]) -> bool {
        let reports = self.reports.borrow();
        names.iter().all(|name| {
            reports.running.get(name).is_some_and(|node| {
                let members = node.members();
                members.len() == names.len()
                    && members.iter().zip(names).all(|(member, name)| {
                        member.name == *name && member.state == MemberState::Up
                    })
            })
        })
    }

    /// A copy of every event seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.reports.borrow().seen.clone()
    }

    /// How many events the nodes' recorders missed.
    pub fn missed(&self) -> u64 {
        self.reports.borrow().missed
    }

    /// Stops `name`'s host at once, as `kill -9` would: its tasks end and
    /// its sockets close (peers' TCP links see the connection end; its
    /// membership just falls silent).
    pub fn crash(&mut self, name: &str) {
        self.reports.borrow_mut().running.remove(name);
        self.sim.crash(name);
    }

    /// Starts `name`'s host again after a [`crash`](Self::crash): a new
    /// run of the node, on the same address.
    pub fn restart(&mut self, name: &str) {
        self.sim.bounce(name);
    }

    /// Cuts every link between the nodes of `a` and those of `b`: what is
    /// in flight and what is sent after is lost, both ways.
    pub fn partition(&mut self, a: &[String], b: &[String]) {
        for x in a {
            for y in b {
                self.sim.partition(x.as_str(), y.as_str());
            }
        }
    }

    /// Undoes [`partition`](Self::partition).
    pub fn repair(&mut self, a: &[String], b: &[String]) {
        for x in a {
            for y in b {
                self.sim.repair(x.as_str(), y.as_str());
            }
        }
    }

    /// Holds every message to and from `name` for `duration`, then lets
    /// them through, as if its process were stopped (`SIGSTOP`) for that
    /// long: nothing is lost, everything is late.
    pub fn pause(&mut self, name: &str, duration: Duration) {
        let others: Vec<String> = self
            .names
            .iter()
            .filter(|other| *other != name)
            .cloned()
            .collect();
        for other in &others {
            self.sim.hold(name, other.as_str());
        }
        self.run_for(duration);
        for other in &others {
            self.sim.release(name, other.as_str());
        }
    }

    /// Whether `observer` lists `name` in `state`.
    pub fn sees(&self, observer: &str, name: &str, state: MemberState) -> bool {
        self.members_of(observer)
            .iter()
            .any(|member| member.name == name && member.state == state)
    }

    /// Each running node's view, one line per node, for failure messages.
    pub fn describe(&self) -> String {
        let mut text = format!("seed {} at {:?}:\n", self.seed, self.now());
        for name in &self.names {
            let members = self.members_of(name);
            let view: Vec<String> = members
                .iter()
                .map(|m| format!("{}={:?}", m.name, m.state))
                .collect();
            text.push_str(&format!(
                "  {name} lists {}: {}\n",
                members.len(),
                view.join(" ")
            ));
        }
        text
    }
}

/// What one simulated host runs, made again on every (re)start.
#[derive(Clone)]
struct Host {
    name: String,
    addr: SocketAddr,
    seed_addr: SocketAddr,
    /// This host's share of the simulation's seed.
    rng: u64,
    /// How many times the host has started.
    boots: Rc<Cell<u64>>,
    reports: Rc<RefCell<Reports>>,
    configure: fn(NodeBuilder) -> NodeBuilder,
}

impl Host {
    /// Starts the node, reports it, and records every event it sees.
    async fn run(self) -> turmoil::Result {
        let boot = self.boots.get();
        self.boots.set(boot + 1);
        let builder = Node::builder(self.name.clone())
            .secret(SECRET.to_vec())
            .listen(self.addr)
            .seeds([self.seed_addr])
            .rng_seed(mix(self.rng, boot));
        let node = (self.configure)(builder).start().await?;
        let mut events = node.events();
        self.reports
            .borrow_mut()
            .running
            .insert(self.name.clone(), node);
        loop {
            let event = events.recv().await;
            let at = turmoil::sim_elapsed().unwrap_or_default();
            let mut reports = self.reports.borrow_mut();
            match event {
                Ok(event) => reports.seen.push(Seen {
                    at,
                    observer: self.name.clone(),
                    event,
                }),
                Err(RecvError::Lagged(missed)) => reports.missed += missed,
                Err(RecvError::Closed) => return Ok(()),
            }
        }
    }
}
