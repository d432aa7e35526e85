//! Actors and messages shared by the cluster examples and the multi-process
//! tests, plus the node process they all start. The derives declare which
//! types cross the wire and under which tags, so every node knows the same
//! ones without registering them by hand (see `registry`); `Add` shows the
//! impls they write.

#![allow(dead_code, unreachable_pub)] // each program uses a different part; `pub` for tests

use std::net::SocketAddr;

use std::collections::HashMap;

use proscenium::net::{
    MemberState, NameEvent, Node, NodeBuilder, NodeEvent, Registry, RemoteMessage, RemoteSpawn,
};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The secret the example nodes share, unless `PROSCENIUM_SECRET` gives one.
pub const DEMO_SECRET: &str = "proscenium demo secret: change me in production";

/// The cluster secret from `PROSCENIUM_SECRET`, or the demo one.
pub fn secret() -> Vec<u8> {
    std::env::var("PROSCENIUM_SECRET")
        .unwrap_or_else(|_| DEMO_SECRET.to_owned())
        .into_bytes()
}

/// `builder` with the cluster secret. The demo secret is published (it is
/// right above), so a node refuses it unless told to accept a weak one:
/// this does so, and says so on stderr, for the demo's sake only.
pub fn with_secret(builder: NodeBuilder) -> NodeBuilder {
    let secret = secret();
    if secret != DEMO_SECRET.as_bytes() {
        return builder.secret(secret);
    }
    eprintln!(
        "warning: PROSCENIUM_SECRET is not set; using the PUBLIC demo secret. \
         Anyone can join this cluster. Generate a secret with `openssl rand -hex 32` \
         and set PROSCENIUM_SECRET to it on every node."
    );
    builder.secret(secret).allow_weak_secret()
}

/// Every remote-capable type of the examples: what the derives declared
/// (`#[message(remote = ..)]`, `#[actor(remote(..))]`), found at link time
/// by `Registry::discovered`, plus `Worker` as an actor other nodes may
/// spawn, which no derive declares.
pub fn registry() -> Registry {
    let mut registry = Registry::discovered();
    registry.spawnable::<Worker>();
    registry
}

// ===== Counter: keeps every value it is told, in order =====

/// Records the values it is told.
#[derive(Actor, Default)]
#[actor(remote(Add, Values, Stall))]
pub struct Counter {
    values: Vec<u64>,
}

/// Appends a value.
///
/// Written out by hand to show what the derives write for every other
/// message here: `#[derive(Message)]` with
/// `#[message(remote = "examples::Add")]` expands to these two impls (and
/// registers `Add` at link time, which `Counter`'s `#[actor(remote(Add,
/// ..))]` does for it here).
#[derive(Clone, Serialize, Deserialize)]
pub struct Add(pub u64);
impl Message for Add {
    type Reply = ();
}
impl RemoteMessage for Add {
    const TAG: &'static str = "examples::Add";
}
impl Handler<Add> for Counter {
    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
        self.values.push(n);
    }
}

/// Asks for every value so far, in arrival order.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = Vec<u64>, remote = "examples::Values")]
pub struct Values;
impl Handler<Values> for Counter {
    async fn handle(&mut self, _: Values, _: &mut Context<Self>) -> Vec<u64> {
        self.values.clone()
    }
}

/// Never answered: the handler waits forever, so an ask stays pending
/// (the multi-process tests kill the node under it).
#[derive(Message, Serialize, Deserialize)]
#[message(remote = "examples::Stall")]
pub struct Stall;
impl Handler<Stall> for Counter {
    async fn handle(&mut self, _: Stall, _: &mut Context<Self>) {
        std::future::pending::<()>().await;
    }
}

// ===== Ponger and Collector: a reply-to ref crossing the wire =====

/// Answers each `Ping` by telling a `Pong` to the ref inside it.
#[derive(Actor)]
#[actor(remote(Ping))]
pub struct Ponger;

/// Carries a ref to an actor on the sending node; the pong goes there.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = String, remote = "examples::Ping")]
pub struct Ping {
    pub n: u64,
    pub reply_to: ActorRef<Collector>,
}
impl Handler<Ping> for Ponger {
    async fn handle(&mut self, ping: Ping, ctx: &mut Context<Self>) -> String {
        let from = ctx.system().node_id().full().to_string();
        // A failed send only means the collector's node is gone.
        let _ = ping
            .reply_to
            .tell(Pong {
                n: ping.n,
                from: from.clone(),
            })
            .await;
        from
    }
}

/// Collects pongs.
#[derive(Actor, Default)]
#[actor(remote(Pong, Collected))]
pub struct Collector {
    pongs: Vec<(u64, String)>,
}

/// One answer to a ping.
#[derive(Message, Serialize, Deserialize)]
#[message(remote = "examples::Pong")]
pub struct Pong {
    pub n: u64,
    pub from: String,
}
impl Handler<Pong> for Collector {
    async fn handle(&mut self, pong: Pong, _: &mut Context<Self>) {
        self.pongs.push((pong.n, pong.from));
    }
}

/// Asks for the pongs so far.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = Vec<(u64, String)>, remote = "examples::Collected")]
pub struct Collected;
impl Handler<Collected> for Collector {
    async fn handle(&mut self, _: Collected, _: &mut Context<Self>) -> Vec<(u64, String)> {
        self.pongs.clone()
    }
}

// ===== Relay: a ref handed on to a third node =====

/// Adds `value` to `to`, wherever `to` lives, and answers once it is there.
#[derive(Actor)]
#[actor(remote(Forward))]
pub struct Relay;

/// Forward a value to a counter named by ref.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = bool, remote = "examples::Forward")]
pub struct Forward {
    pub to: ActorRef<Counter>,
    pub value: u64,
}
impl Handler<Forward> for Relay {
    async fn handle(&mut self, forward: Forward, _: &mut Context<Self>) -> bool {
        // An ask, not a tell: the answer means the counter has the value, so
        // whoever asked the relay can read the counter next without a race.
        forward.to.ask(Add(forward.value)).await.is_ok()
    }
}

// ===== Worker: spawned remotely =====

/// A worker other nodes can spawn here, with a label.
#[derive(Actor)]
#[actor(remote(WhoAreYou, Crash, LinkWith))]
pub struct Worker {
    label: String,
}
impl RemoteSpawn for Worker {
    type Args = String;
    const TAG: &'static str = "examples::Worker";
    fn from_args(label: String) -> Self {
        Self { label }
    }
}

/// Asks a worker for its label and the node it runs on.
#[derive(Message, Serialize, Deserialize)]
#[message(reply = (String, String), remote = "examples::WhoAreYou")]
pub struct WhoAreYou;
impl Handler<WhoAreYou> for Worker {
    async fn handle(&mut self, _: WhoAreYou, ctx: &mut Context<Self>) -> (String, String) {
        (
            self.label.clone(),
            ctx.system().node_id().full().to_string(),
        )
    }
}

/// Makes a worker panic, to show it is supervised where it runs.
#[derive(Message, Serialize, Deserialize)]
#[message(remote = "examples::Crash")]
pub struct Crash;
impl Handler<Crash> for Worker {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("worker {} crashed on request", self.label);
    }
}

/// Links a worker to another (see `Context::link`), wherever each runs:
/// from then on a failure of either fails the other.
#[derive(Message, Serialize, Deserialize)]
#[message(remote = "examples::LinkWith")]
pub struct LinkWith(pub ActorRef<Worker>);
impl Handler<LinkWith> for Worker {
    async fn handle(&mut self, LinkWith(other): LinkWith, ctx: &mut Context<Self>) {
        ctx.link(&other);
    }
}

// ===== the node process =====

/// Runs a node process: starts node `name` listening on `listen`, connects
/// to each node listening at an address in `connect`, spawns a `counter`, a
/// `ponger` and a `relay`, prints `READY <address>` on stdout, and serves
/// until stdin says `quit` or closes (so a node whose parent dies goes away
/// too).
pub async fn serve_node(
    name: &str,
    listen: SocketAddr,
    connect: &[SocketAddr],
) -> Result<(), Box<dyn std::error::Error>> {
    serve_cluster_node(name, listen, connect, None).await
}

/// [`serve_node`], and with `seeds` a cluster member joining through them
/// (an empty list: the first member). A member also prints a line for each
/// membership change, `MEMBER <up|suspect|down|left> <name> <node id>`, and
/// answers the stdin command `members` with one line,
/// `MEMBERS <name>=<state>,...` in name order; `join <group>` puts its
/// counter into that process group (as a receiver of `Add`) and answers
/// `JOINED <group>`; `join-many <prefix> <n>` puts it into the groups
/// `<prefix>-0` to `<prefix>-<n-1>` and answers `JOINED-MANY <prefix> <n>`;
/// `stall` tells the counter a `Stall`, so it handles nothing more and its
/// mailbox grows, and answers `STALLED`.
///
/// Cluster-wide names: `register <name>` spawns a new counter and registers
/// it under `name`, answering `REGISTERED <name> <actor id>` or
/// `NOT-REGISTERED <name> <why>`; `stop <name>` stops that counter and
/// answers `STOPPED <name>`; `whereis <name>` answers `WHEREIS <name>
/// <actor id>` or `WHEREIS <name> none`. Each name change is printed as
/// `NAME registered <name> <id>`, `NAME unregistered <name> <id>` or
/// `NAME conflict <name> <winner id> <loser id>`.
pub async fn serve_cluster_node(
    name: &str,
    listen: SocketAddr,
    connect: &[SocketAddr],
    seeds: Option<Vec<SocketAddr>>,
) -> Result<(), Box<dyn std::error::Error>> {
    // A crashing actor is an expected event here: one line, no backtrace.
    let label = name.to_owned();
    std::panic::set_hook(Box::new(move |info| {
        eprintln!("[{label}] an actor panicked: {info}")
    }));
    let mut builder = with_secret(Node::builder(name))
        .registry(registry())
        .listen(listen);
    if let Some(seeds) = seeds {
        builder = builder.cluster().seeds(seeds);
    }
    let node = builder.start().await?;
    // Subscribed first, then the members so far: no change is missed
    // (one may be printed twice).
    let mut events = node.events();
    print_name_events(&node);
    for member in node.members().iter().filter(|m| m.name != name) {
        println!(
            "MEMBER {} {} {}",
            state_word(member.state),
            member.name,
            member.id.full()
        );
    }
    tokio::spawn(async move {
        while let Ok(event) = events.recv().await {
            let (state, node, name) = match event {
                NodeEvent::MemberUp { node, name, .. } => ("up", node, name),
                NodeEvent::MemberSuspect { node, name, .. } => ("suspect", node, name),
                NodeEvent::MemberDown { node, name, .. } => ("down", node, name),
                NodeEvent::MemberLeft { node, name, .. } => ("left", node, name),
                _ => continue,
            };
            println!("MEMBER {state} {name} {}", node.full());
        }
    });
    let counter = node.system().spawn_named("counter", Counter::default())?;
    node.system().spawn_named("ponger", Ponger)?;
    node.system().spawn_named("relay", Relay)?;
    // Connected before READY: whoever waits for READY may rely on the links.
    for &peer in connect {
        node.connect(peer).await?;
    }
    let addr = node.local_addr().ok_or("the node is not listening")?;
    println!("READY {addr}");
    let mut named: HashMap<String, ActorRef<Counter>> = HashMap::new();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["quit"] => break,
            ["members"] => println!("MEMBERS {}", members_line(&node)),
            ["stall"] => {
                counter.tell(Stall).await?;
                println!("STALLED");
            }
            ["join", group] => {
                node.join_group::<Add, Counter>(group, &counter)?;
                println!("JOINED {group}");
            }
            ["join-many", prefix, n] => {
                let n: usize = n.parse()?;
                for i in 0..n {
                    node.join_group::<Add, Counter>(&format!("{prefix}-{i}"), &counter)?;
                }
                println!("JOINED-MANY {prefix} {n}");
            }
            ["register", name] => {
                let holder = node.system().spawn(Counter::default())?;
                match node.register_global(name, &holder) {
                    Ok(()) => {
                        println!("REGISTERED {name} {}", holder.id().full());
                        named.insert(name.to_owned(), holder);
                    }
                    Err(error) => println!("NOT-REGISTERED {name} {error}"),
                }
            }
            ["stop", name] => {
                if let Some(holder) = named.remove(name) {
                    holder.stop();
                    holder.wait_stopped().await;
                }
                println!("STOPPED {name}");
            }
            ["whereis", name] => match node.lookup_global::<Counter>(name) {
                Some(holder) => println!("WHEREIS {name} {}", holder.id().full()),
                None => println!("WHEREIS {name} none"),
            },
            _ => {}
        }
    }
    node.shutdown().await;
    Ok(())
}

/// Prints each cluster-wide name change as a `NAME ...` line.
fn print_name_events(node: &Node) {
    let mut names = node.name_events();
    tokio::spawn(async move {
        while let Ok(event) = names.recv().await {
            match event {
                NameEvent::Registered { name, actor } => {
                    println!("NAME registered {name} {}", actor.full())
                }
                NameEvent::Unregistered { name, actor } => {
                    println!("NAME unregistered {name} {}", actor.full())
                }
                NameEvent::Conflict {
                    name,
                    winner,
                    loser,
                } => println!("NAME conflict {name} {} {}", winner.full(), loser.full()),
                _ => {}
            }
        }
    });
}

/// `a=up,b=down,...`: the node's members by name.
pub fn members_line(node: &Node) -> String {
    let members: Vec<String> = node
        .members()
        .iter()
        .map(|member| format!("{}={}", member.name, state_word(member.state)))
        .collect();
    members.join(",")
}

/// A member state as one lowercase word.
pub fn state_word(state: MemberState) -> &'static str {
    match state {
        MemberState::Up => "up",
        MemberState::Suspect => "suspect",
        MemberState::Down => "down",
        MemberState::Left => "left",
        _ => "unknown",
    }
}
