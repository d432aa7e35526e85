//! The live view of a cluster in the browser: three nodes, busy, served
//! by one of them.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example dashboard --features dashboard
//! ```
//!
//! and open the URL it prints (`DASHBOARD http://127.0.0.1:PORT/`). It
//! starts three cluster members in this process, `alpha`, `beta` and
//! `gamma`, all on 127.0.0.1, each with the same work:
//!
//! ```text
//! shop (supervisor, one-for-one) ─┬─ orders    counts the orders it is told
//!                                 ├─ billing   counts them too
//!                                 └─ mailer    panics on every 150th mail
//! pricers: a pool of 4 workers
//! ```
//!
//! A task per node tells them work all the time (each node at its own
//! pace, so the rates differ), `beta` and `gamma` tell `alpha`'s `orders`
//! too (traffic on the links), the `mailer`s crash now and then (restarts
//! in the log) and every few seconds a node kills an actor with mail still
//! in its mailbox (dead letters in the log). `alpha` serves the dashboard.
//!
//! Options: `--port N` (default 0: any free port), `--seconds N` (stop
//! after N seconds; otherwise it runs until Ctrl-C or until its standard
//! input closes), `--interval-ms N` (how often the page updates).

#[path = "support/cluster.rs"]
mod cluster;

use std::net::SocketAddr;
use std::time::Duration;

use proscenium::net::dashboard::Dashboard;
use proscenium::net::{Node, NodeEvent, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::broadcast::error::RecvError;

type Error = Box<dyn std::error::Error>;

/// How long the members may take to find each other before the demo gives up.
const JOIN_DEADLINE: Duration = Duration::from_secs(30);

/// The cluster-wide name of `alpha`'s orders.
const ALPHA_ORDERS: &str = "alpha-orders";

#[tokio::main]
async fn main() -> Result<(), Error> {
    // The crashes are on purpose and the dashboard shows them: keep the
    // default panic hook from printing a backtrace for each.
    std::panic::set_hook(Box::new(|_| {}));
    let options = Options::parse()?;

    let alpha = start_node("alpha", None).await?;
    let seed = alpha.local_addr().ok_or("alpha is not listening")?;
    let beta = start_node("beta", Some(seed)).await?;
    let gamma = start_node("gamma", Some(seed)).await?;
    wait_for_members(&alpha, 3).await?;

    let shops = [
        (&alpha, Shop::open(&alpha).await?, 20),
        (&beta, Shop::open(&beta).await?, 30),
        (&gamma, Shop::open(&gamma).await?, 50),
    ];
    // `beta` and `gamma` tell `alpha`'s orders too, across a link: found
    // by a cluster-wide name, so neither dials a link of its own.
    alpha.register_global(ALPHA_ORDERS, &shops[0].1.orders)?;
    let mut work = Vec::new();
    for (node, shop, pace) in shops {
        let remote = match node.id() == alpha.id() {
            true => None,
            false => Some(alpha_orders_on(node).await?),
        };
        let name = node.name().to_owned();
        work.push(tokio::spawn(async move {
            if let Err(error) = shop.keep_busy(remote, pace).await {
                eprintln!("the work on {name} stopped: {error}");
            }
        }));
    }

    let server = Dashboard::new(alpha.clone())
        .interval(options.interval)
        .serve(([127, 0, 0, 1], options.port))
        .await?;
    println!("DASHBOARD {}", server.url());

    wait_for_the_end(options.seconds).await;
    server.shutdown().await;
    for task in work {
        task.abort();
    }
    for node in [gamma, beta, alpha] {
        node.shutdown().await;
    }
    Ok(())
}

/// The command line.
struct Options {
    port: u16,
    seconds: Option<u64>,
    interval: Duration,
}

impl Options {
    fn parse() -> Result<Self, Error> {
        let mut options = Self {
            port: 0,
            seconds: None,
            interval: Duration::from_secs(1),
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let mut value = || args.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--port" => options.port = value()?.parse()?,
                "--seconds" => options.seconds = Some(value()?.parse()?),
                "--interval-ms" => options.interval = Duration::from_millis(value()?.parse()?),
                other => {
                    return Err(format!(
                        "unknown option {other}; use --port N, --seconds N, --interval-ms N"
                    )
                    .into())
                }
            }
        }
        Ok(options)
    }
}

/// Runs for `seconds` if given, else until standard input closes; either
/// way until Ctrl-C.
async fn wait_for_the_end(seconds: Option<u64>) {
    let stdin_closes = async {
        let mut buffer = [0u8; 256];
        let mut stdin = tokio::io::stdin();
        while matches!(stdin.read(&mut buffer).await, Ok(n) if n > 0) {}
    };
    let end = async {
        match seconds {
            Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
            None => stdin_closes.await,
        }
    };
    tokio::select! {
        () = end => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A cluster member on 127.0.0.1, joining through `seed` (none: the first).
async fn start_node(name: &str, seed: Option<SocketAddr>) -> Result<Node, Error> {
    let mut registry = Registry::new();
    registry.handler::<Ledger, Order>();
    let builder = cluster::with_secret(Node::builder(name))
        .registry(registry)
        .listen("127.0.0.1:0".parse()?)
        .cluster()
        .seeds(seed);
    Ok(builder.start().await?)
}

/// Waits until `node` sees `count` members up, itself included.
async fn wait_for_members(node: &Node, count: usize) -> Result<(), Error> {
    let mut events = node.events();
    let all_up = async {
        while node.members().len() < count {
            if let Err(RecvError::Closed) = events.recv().await {
                return Err("node events ended".to_owned());
            }
            // Any event may be the one; the member list says.
            while let Ok(NodeEvent::MemberUp { .. }) = events.try_recv() {}
        }
        Ok(())
    };
    tokio::time::timeout(JOIN_DEADLINE, all_up)
        .await
        .map_err(|_| "the members did not find each other in time")??;
    Ok(())
}

/// One node's busy actors.
struct Shop {
    system: System,
    orders: ActorRef<Ledger>,
    billing: ActorRef<Ledger>,
    mailer: ActorRef<Mailer>,
    pricers: Pool<Pricer>,
}

impl Shop {
    /// Spawns the shop and the pool on `node`.
    async fn open(node: &Node) -> Result<Self, Error> {
        let system = node.system();
        let lenient = SupervisorStrategy::one_for_one().intensity(1000, Duration::from_secs(60));
        let shop = Supervisor::new(lenient)
            .child(ChildSpec::new(Ledger::default).name("orders"))
            .child(ChildSpec::new(Ledger::default).name("billing"))
            .child(ChildSpec::new(|| Mailer).name("mailer"));
        system.spawn_named("shop", shop)?.wait_started().await?;
        let pricers = Pool::builder(|| Pricer)
            .size(4)
            .supervisor_strategy(lenient)
            .spawn(system)
            .await?;
        Ok(Self {
            system: system.clone(),
            orders: system.lookup("orders").ok_or("no orders")?,
            billing: system.lookup("billing").ok_or("no billing")?,
            mailer: system.lookup("mailer").ok_or("no mailer")?,
            pricers,
        })
    }

    /// Tells the shop work every `pace_ms`, and `remote` orders too, for ever.
    async fn keep_busy(self, remote: Option<ActorRef<Ledger>>, pace_ms: u64) -> Result<(), Error> {
        let mut ticks = tokio::time::interval(Duration::from_millis(pace_ms));
        for n in 1u64.. {
            ticks.tick().await;
            self.orders.tell(Order(n)).await?;
            if n % 2 == 0 {
                self.billing.tell(Order(n)).await?;
            }
            // A restart in progress refuses nothing: the mail waits for it.
            self.mailer.tell(Mail(n)).await?;
            self.pricers.tell(Price(n)).await?;
            self.pricers.tell(Price(n + 1)).await?;
            if let Some(remote) = &remote {
                // A lost tell is a dead letter the page shows; nothing to do here.
                let _ = remote.tell(Order(n)).await;
            }
            if n % (6000 / pace_ms) == 0 {
                kill_a_busy_actor(&self.system).await?;
            }
        }
        Ok(())
    }
}

/// `alpha`'s orders, seen from `node`, once the name has reached it.
async fn alpha_orders_on(node: &Node) -> Result<ActorRef<Ledger>, Error> {
    let mut names = node.name_events(); // before the lookup, so none is missed
    let found = async {
        loop {
            if let Some(orders) = node.lookup_global::<Ledger>(ALPHA_ORDERS) {
                return Ok(orders);
            }
            // Lagged: some events were missed; the lookup above says.
            if let Err(RecvError::Closed) = names.recv().await {
                return Err("name events ended".to_owned());
            }
        }
    };
    let orders = tokio::time::timeout(JOIN_DEADLINE, found)
        .await
        .map_err(|_| format!("{ALPHA_ORDERS} did not reach {} in time", node.name()))??;
    Ok(orders)
}

/// Kills an actor with mail still queued: each queued mail becomes a dead
/// letter.
async fn kill_a_busy_actor(system: &System) -> Result<(), Error> {
    let sleeper = system.spawn(Sleeper)?;
    sleeper.wait_started().await?;
    for _ in 0..3 {
        sleeper.tell(Nap).await?;
    }
    sleeper.kill();
    Ok(())
}

/// An order; told across nodes too, hence a tag.
#[derive(Debug, Serialize, Deserialize)]
struct Order(u64);
impl Message for Order {
    type Reply = ();
}
impl RemoteMessage for Order {
    const TAG: &'static str = "examples::dashboard::Order";
}

/// Counts orders.
#[derive(Default)]
struct Ledger {
    orders: u64,
}
impl Actor for Ledger {}
impl Handler<Order> for Ledger {
    async fn handle(&mut self, _: Order, _: &mut Context<Self>) {
        self.orders += 1;
    }
}

/// A mail to send.
struct Mail(u64);
impl Message for Mail {
    type Reply = ();
}

/// Sends mail, and crashes on every 150th.
struct Mailer;
impl Actor for Mailer {}
impl Handler<Mail> for Mailer {
    async fn handle(&mut self, Mail(n): Mail, _: &mut Context<Self>) {
        assert!(n % 150 != 0, "mail {n} bounced");
    }
}

/// A price to compute.
struct Price(u64);
impl Message for Price {
    type Reply = u64;
}

/// A pool worker: computes prices.
struct Pricer;
impl Actor for Pricer {}
impl Handler<Price> for Pricer {
    async fn handle(&mut self, Price(n): Price, _: &mut Context<Self>) -> u64 {
        n.wrapping_mul(2_654_435_761) % 1000
    }
}

/// A long nap.
struct Nap;
impl Message for Nap {
    type Reply = ();
}

/// Naps, so its mail waits.
struct Sleeper;
impl Actor for Sleeper {}
impl Handler<Nap> for Sleeper {
    async fn handle(&mut self, _: Nap, _: &mut Context<Self>) {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
