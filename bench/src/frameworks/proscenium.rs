//! The workloads on Proscenium, through its public API only.
//!
//! Every actor has an unbounded mailbox (`fn mailbox() -> Mailbox::Unbounded`),
//! like the peers' actors, so that a sender never waits for room.

use std::sync::Arc;
use std::time::Instant;

use proscenium_runtime::{
    ask_all, Actor, ActorError, ActorRef, Context, Handler, Mailbox, Message, System, SystemBuilder,
};
use tokio::sync::{mpsc, oneshot};

use super::{on_tokio, tokio_runtime, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::Color;
use crate::workloads::{
    ask, compute, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong, ring,
    spawn, tell, Outcome,
};
use proscenium_net::encryption::Encryption;

/// Proscenium, this workspace's runtime.
#[derive(Debug, Clone, Copy)]
pub struct Proscenium;

impl Framework for Proscenium {
    fn name(&self) -> &'static str {
        "proscenium"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        tell_on(params, System::builder)
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        ask_on(params, System::builder)
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (started, all_started) = Countdown::new(p.actors);
            let before = resident_bytes();
            let start = Instant::now();
            let refs: Vec<ActorRef<Idle>> = (0..p.actors)
                .map(|_| system.spawn(Idle(started.clone())).expect("spawn"))
                .collect();
            all_started.await.expect("every actor starts");
            let spawn = start.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let start = Instant::now();
            for r in &refs {
                r.stop();
            }
            for r in &refs {
                r.wait_stopped().await;
            }
            let stop = start.elapsed();
            p.measured(spawn::Sample {
                spawn,
                rss_growth,
                stop,
                started: started.count(),
            })
        })
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, pongs) = oneshot::channel();
            let ponger = system.spawn(Ponger).expect("spawn");
            let pinger = system
                .spawn(Pinger {
                    ponger,
                    pings: p.pings,
                    pongs: 0,
                    done: Some(done),
                })
                .expect("spawn");
            let start = Instant::now();
            pinger.tell(Serve).await.expect("tell");
            let pongs = pongs.await.expect("the pinger reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, pongs)
        })
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, count) = oneshot::channel();
            let counter = system.spawn(Counter(0)).expect("spawn");
            let producer = system
                .spawn(Producer {
                    counter,
                    messages: p.messages,
                    done: Some(done),
                })
                .expect("spawn");
            let start = Instant::now();
            producer.tell(Serve).await.expect("tell");
            let count = count.await.expect("the producer reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, count)
        })
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, mut holder) = mpsc::unbounded_channel();
            let nodes: Vec<ActorRef<RingNode>> = (0..p.actors)
                .map(|index| {
                    let node = RingNode {
                        index,
                        next: None,
                        done: done.clone(),
                    };
                    system.spawn(node).expect("spawn")
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % nodes.len()].clone();
                node.tell(SetNext(next)).await.expect("tell");
            }
            let start = Instant::now();
            nodes[0].tell(Token(p.hops)).await.expect("tell");
            let holder = holder.recv().await.expect("the last holder reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<ActorRef<Worker>> = (0..p.actors)
                .map(|_| {
                    let worker = Worker {
                        expected: p.messages,
                        handled: 0,
                        done: done.clone(),
                    };
                    system.spawn(worker).expect("spawn")
                })
                .collect();
            let start = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    worker.tell(Work(m as f64)).await.expect("tell");
                }
            }
            let mut handled = Vec::with_capacity(p.actors);
            while handled.len() < p.actors {
                handled.push(reports.recv().await.expect("every worker reports"));
            }
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, &handled)
        })
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, mut reports) = mpsc::unbounded_channel();
            let start = Instant::now();
            for i in 0..p.actors {
                let once = system.spawn(Once(done.clone())).expect("spawn");
                once.tell(Work(i as f64)).await.expect("tell");
            }
            let mut count = 0;
            while count < p.actors {
                reports.recv().await.expect("every actor reports");
                count += 1;
            }
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, count)
        })
    }

    fn big(&self, params: &crate::workloads::big::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<ActorRef<BigWorker>> = (0..p.workers)
                .map(|index| {
                    let worker = BigWorker {
                        index,
                        peers: Vec::new(),
                        rng: crate::workloads::big::seed(index),
                        pongs: 0,
                        target: p.pings,
                        done: done.clone(),
                    };
                    system.spawn(worker).expect("spawn")
                })
                .collect();
            for worker in &workers {
                worker.tell(BigPeers(workers.clone())).await.expect("tell");
            }
            let start = Instant::now();
            for worker in &workers {
                worker.tell(BigStart).await.expect("tell");
            }
            let mut pongs = 0;
            for _ in 0..p.workers {
                pongs += reports.recv().await.expect("every worker reports");
            }
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, pongs)
        })
    }

    fn chameneos(&self, params: &crate::workloads::chameneos::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let (done, faded) = oneshot::channel();
            let mall = system
                .spawn(Mall {
                    remaining: p.meetings,
                    waiting: None,
                    chameneos: p.chameneos,
                    faded: 0,
                    total: 0,
                    done: Some(done),
                })
                .expect("spawn");
            let chameneos: Vec<ActorRef<Chameneo>> = (0..p.chameneos)
                .map(|i| {
                    system
                        .spawn(Chameneo {
                            color: Color::of(i),
                            mall: mall.clone(),
                            meetings: 0,
                        })
                        .expect("spawn")
                })
                .collect();
            let start = Instant::now();
            for chameneo in &chameneos {
                chameneo.tell(ChamStart).await.expect("tell");
            }
            let (faded, total) = faded.await.expect("the mall reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, faded, total)
        })
    }

    fn remote_tell(&self, params: &crate::workloads::remote_tell::Params) -> Outcome {
        crate::remote::proscenium_tell(params, Encryption::Aes256Gcm)
    }

    fn remote_ask(&self, params: &crate::workloads::remote_ask::Params) -> Outcome {
        crate::remote::proscenium_ask(params, Encryption::Aes256Gcm)
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = System::new();
            let nodes: Vec<ActorRef<FanNode>> = (0..p.actors as u64)
                .map(|i| system.spawn(FanNode(i)).expect("spawn"))
                .collect();
            let start = Instant::now();
            for round in 0..p.rounds {
                let replies = ask_all(nodes.iter().map(|n| (n, Get(round)))).await;
                let sum: u64 = replies.into_iter().map(|r| r.expect("ask")).sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed)
        })
    }
}

// ===== messages =====

struct Add(u64);
struct Inc(u64);
/// Starts a pinger or a producer.
struct Serve;
struct Ping(ActorRef<Pinger>);
struct Pong;
struct Increment;
struct Retrieve(ActorRef<Producer>);
struct Count(u64);
struct SetNext(ActorRef<RingNode>);
struct Token(u64);
struct Work(f64);
struct Get(u64);

macro_rules! messages {
    ($($message:ty => $reply:ty),* $(,)?) => {
        $(impl Message for $message {
            type Reply = $reply;
        })*
    };
}

messages! {
    Add => (), Inc => u64, Serve => (), Ping => (), Pong => (), Increment => (),
    Retrieve => (), Count => (), SetNext => (), Token => (), Work => (), Get => u64,
}

macro_rules! unbounded_actors {
    ($($actor:ty),* $(,)?) => {
        $(impl Actor for $actor {
            fn mailbox() -> Mailbox {
                Mailbox::Unbounded
            }
        })*
    };
}

unbounded_actors!(Summer, Echo, Pinger, Ponger, Counter, Producer, RingNode, Worker, Once, FanNode);

// ===== tell =====

/// The tell workload on a system from `builder` (the `proscenium-metrics`
/// row builds one with metrics on).
pub(super) fn tell_on(params: &tell::Params, builder: fn() -> SystemBuilder) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let system = builder().build();
        let (done, sum) = oneshot::channel();
        let summer = system.spawn(Summer::new(p.messages, done)).expect("spawn");
        let start = Instant::now();
        for i in 1..=p.messages {
            summer.tell(Add(i)).await.expect("tell");
        }
        let sum = sum.await.expect("the summer reports");
        let elapsed = start.elapsed();
        system.shutdown().await;
        p.measured(elapsed, sum)
    })
}

/// The ask workload on a system from `builder`.
pub(super) fn ask_on(params: &ask::Params, builder: fn() -> SystemBuilder) -> Outcome {
    let p = *params;
    on_tokio(async move {
        let system = builder().build();
        let echo = system.spawn(Echo).expect("spawn");
        let mut latencies = Vec::with_capacity(p.asks as usize);
        for i in 0..p.asks {
            let start = Instant::now();
            let reply = echo.ask(Inc(i)).await.expect("ask");
            latencies.push(start.elapsed());
            assert_eq!(reply, i + 1, "ask: wrong reply");
        }
        system.shutdown().await;
        p.measured(latencies)
    })
}

struct Summer {
    expected: u64,
    handled: u64,
    sum: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Summer {
    fn new(expected: u64, done: oneshot::Sender<u64>) -> Self {
        Self {
            expected,
            handled: 0,
            sum: 0,
            done: Some(done),
        }
    }
}

impl Handler<Add> for Summer {
    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
        self.sum += n;
        self.handled += 1;
        if self.handled == self.expected {
            let _ = self.done.take().map(|done| done.send(self.sum));
        }
    }
}

// ===== ask =====

struct Echo;

impl Handler<Inc> for Echo {
    async fn handle(&mut self, Inc(n): Inc, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

// ===== spawn =====

struct Idle(Arc<Countdown>);

impl Actor for Idle {
    fn mailbox() -> Mailbox {
        Mailbox::Unbounded
    }

    async fn on_start(&mut self, _: &mut Context<Self>) -> Result<(), ActorError> {
        self.0.tick();
        Ok(())
    }
}

// ===== ping-pong =====

struct Pinger {
    ponger: ActorRef<Ponger>,
    pings: u64,
    pongs: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Handler<Serve> for Pinger {
    async fn handle(&mut self, _: Serve, ctx: &mut Context<Self>) {
        let me = ctx.actor_ref().clone();
        self.ponger.tell(Ping(me)).await.expect("tell");
    }
}

impl Handler<Pong> for Pinger {
    async fn handle(&mut self, _: Pong, ctx: &mut Context<Self>) {
        self.pongs += 1;
        if self.pongs == self.pings {
            let _ = self.done.take().map(|done| done.send(self.pongs));
        } else {
            let me = ctx.actor_ref().clone();
            self.ponger.tell(Ping(me)).await.expect("tell");
        }
    }
}

struct Ponger;

impl Handler<Ping> for Ponger {
    async fn handle(&mut self, Ping(from): Ping, _: &mut Context<Self>) {
        from.tell(Pong).await.expect("tell");
    }
}

// ===== counting =====

struct Counter(u64);

impl Handler<Increment> for Counter {
    async fn handle(&mut self, _: Increment, _: &mut Context<Self>) {
        self.0 += 1;
    }
}

impl Handler<Retrieve> for Counter {
    async fn handle(&mut self, Retrieve(to): Retrieve, _: &mut Context<Self>) {
        to.tell(Count(self.0)).await.expect("tell");
    }
}

struct Producer {
    counter: ActorRef<Counter>,
    messages: u64,
    done: Option<oneshot::Sender<u64>>,
}

impl Handler<Serve> for Producer {
    async fn handle(&mut self, _: Serve, ctx: &mut Context<Self>) {
        for _ in 0..self.messages {
            self.counter.tell(Increment).await.expect("tell");
        }
        let me = ctx.actor_ref().clone();
        self.counter.tell(Retrieve(me)).await.expect("tell");
    }
}

impl Handler<Count> for Producer {
    async fn handle(&mut self, Count(n): Count, _: &mut Context<Self>) {
        let _ = self.done.take().map(|done| done.send(n));
    }
}

// ===== ring =====

struct RingNode {
    index: usize,
    next: Option<ActorRef<RingNode>>,
    done: mpsc::UnboundedSender<usize>,
}

impl Handler<SetNext> for RingNode {
    async fn handle(&mut self, SetNext(next): SetNext, _: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for RingNode {
    async fn handle(&mut self, Token(hops): Token, _: &mut Context<Self>) {
        if hops == 0 {
            let _ = self.done.send(self.index);
        } else {
            let next = self.next.as_ref().expect("linked before the token");
            next.tell(Token(hops - 1)).await.expect("tell");
        }
    }
}

// ===== fork-join =====

struct Worker {
    expected: u64,
    handled: u64,
    done: mpsc::UnboundedSender<u64>,
}

impl Handler<Work> for Worker {
    async fn handle(&mut self, Work(theta): Work, _: &mut Context<Self>) {
        std::hint::black_box(compute(theta));
        self.handled += 1;
        if self.handled == self.expected {
            let _ = self.done.send(self.handled);
        }
    }
}

struct Once(mpsc::UnboundedSender<()>);

impl Handler<Work> for Once {
    async fn handle(&mut self, Work(theta): Work, ctx: &mut Context<Self>) {
        std::hint::black_box(compute(theta));
        let _ = self.0.send(());
        ctx.stop();
    }
}

// ===== fan-out =====

struct FanNode(u64);

impl Handler<Get> for FanNode {
    async fn handle(&mut self, Get(round): Get, _: &mut Context<Self>) -> u64 {
        self.0 + round
    }
}

// ===== big =====

struct BigWorker {
    index: usize,
    peers: Vec<ActorRef<BigWorker>>,
    rng: u64,
    pongs: u64,
    target: u64,
    done: mpsc::UnboundedSender<u64>,
}

struct BigPeers(Vec<ActorRef<BigWorker>>);
struct BigStart;
struct BigPing(usize);
struct BigPong;

messages! { BigPeers => (), BigStart => (), BigPing => (), BigPong => () }
unbounded_actors!(BigWorker, Mall, Chameneo);

impl BigWorker {
    async fn ping_next(&mut self) {
        let to = crate::workloads::big::next_peer(&mut self.rng, self.peers.len());
        self.peers[to]
            .tell(BigPing(self.index))
            .await
            .expect("tell");
    }
}

impl Handler<BigPeers> for BigWorker {
    async fn handle(&mut self, BigPeers(peers): BigPeers, _: &mut Context<Self>) {
        self.peers = peers;
    }
}

impl Handler<BigStart> for BigWorker {
    async fn handle(&mut self, _: BigStart, _: &mut Context<Self>) {
        self.ping_next().await;
    }
}

impl Handler<BigPing> for BigWorker {
    async fn handle(&mut self, BigPing(from): BigPing, _: &mut Context<Self>) {
        self.peers[from].tell(BigPong).await.expect("tell");
    }
}

impl Handler<BigPong> for BigWorker {
    async fn handle(&mut self, _: BigPong, _: &mut Context<Self>) {
        self.pongs += 1;
        if self.pongs == self.target {
            let _ = self.done.send(self.pongs);
        } else {
            self.ping_next().await;
        }
    }
}

// ===== chameneos =====

struct Mall {
    remaining: u64,
    waiting: Option<ActorRef<Chameneo>>,
    chameneos: usize,
    faded: usize,
    total: u64,
    done: Option<oneshot::Sender<(usize, u64)>>,
}

struct Chameneo {
    color: Color,
    mall: ActorRef<Mall>,
    meetings: u64,
}

struct MeetMall(Color, ActorRef<Chameneo>);
struct Faded(u64);
struct ChamStart;
struct Meet(Color, ActorRef<Chameneo>);
struct Change(Color);
struct Exit;

messages! {
    MeetMall => (), Faded => (), ChamStart => (), Meet => (), Change => (), Exit => (),
}

impl Handler<MeetMall> for Mall {
    async fn handle(&mut self, MeetMall(color, from): MeetMall, _: &mut Context<Self>) {
        if self.remaining == 0 {
            from.tell(Exit).await.expect("tell");
        } else if let Some(waiting) = self.waiting.take() {
            self.remaining -= 1;
            waiting.tell(Meet(color, from)).await.expect("tell");
        } else {
            self.waiting = Some(from);
        }
    }
}

impl Handler<Faded> for Mall {
    async fn handle(&mut self, Faded(meetings): Faded, _: &mut Context<Self>) {
        self.faded += 1;
        self.total += meetings;
        if self.faded == self.chameneos {
            let _ = self
                .done
                .take()
                .map(|done| done.send((self.faded, self.total)));
        }
    }
}

impl Chameneo {
    async fn ask_mall(&self, ctx: &mut Context<Self>) {
        let me = ctx.actor_ref().clone();
        self.mall
            .tell(MeetMall(self.color, me))
            .await
            .expect("tell");
    }
}

impl Handler<ChamStart> for Chameneo {
    async fn handle(&mut self, _: ChamStart, ctx: &mut Context<Self>) {
        self.ask_mall(ctx).await;
    }
}

impl Handler<Meet> for Chameneo {
    async fn handle(&mut self, Meet(color, other): Meet, ctx: &mut Context<Self>) {
        self.color = self.color.complement(color);
        self.meetings += 1;
        other.tell(Change(self.color)).await.expect("tell");
        self.ask_mall(ctx).await;
    }
}

impl Handler<Change> for Chameneo {
    async fn handle(&mut self, Change(color): Change, ctx: &mut Context<Self>) {
        self.color = color;
        self.meetings += 1;
        self.ask_mall(ctx).await;
    }
}

impl Handler<Exit> for Chameneo {
    async fn handle(&mut self, _: Exit, ctx: &mut Context<Self>) {
        self.mall.tell(Faded(self.meetings)).await.expect("tell");
        ctx.stop();
    }
}

/// Proscenium with [`NodeBuilder::insecure_plaintext`](proscenium_net::NodeBuilder::insecure_plaintext)
/// on both nodes: the remote rows only, to show what encrypting every frame
/// (the default, the `proscenium` rows) costs.
#[derive(Debug, Clone, Copy)]
pub struct ProsceniumPlaintext;

/// Why the plaintext variant has no local rows.
const REMOTE_ONLY: &str = "remote rows only: local messages are never encrypted";

impl Framework for ProsceniumPlaintext {
    fn name(&self) -> &'static str {
        "proscenium-plaintext"
    }

    fn version(&self) -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, _: &tell::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn ask(&self, _: &ask::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn spawn(&self, _: &spawn::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn ping_pong(&self, _: &ping_pong::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn counting(&self, _: &counting::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn ring(&self, _: &ring::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn fork_join_throughput(&self, _: &fork_join_throughput::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn fork_join_create(&self, _: &fork_join_create::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn fan_out(&self, _: &fan_out::Params) -> Outcome {
        Outcome::NotApplicable(REMOTE_ONLY)
    }

    fn remote_tell(&self, params: &crate::workloads::remote_tell::Params) -> Outcome {
        crate::remote::proscenium_tell(params, Encryption::InsecurePlaintext)
    }

    fn remote_ask(&self, params: &crate::workloads::remote_ask::Params) -> Outcome {
        crate::remote::proscenium_ask(params, Encryption::InsecurePlaintext)
    }
}
