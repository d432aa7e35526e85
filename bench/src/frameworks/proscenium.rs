//! The workloads on Proscenium, written as a user writes them: through the
//! `proscenium` facade, with `#[derive(Actor)]` and `#[derive(Message)]`.
//!
//! Every actor has an unbounded mailbox (`#[actor(unbounded)]`), like the
//! peers' actors, so that a sender never waits for room. The handlers are
//! `impl Handler<M>` blocks: the derives expand to exactly the `Actor` and
//! `Message` impls this file used to write by hand, so the numbers measure
//! the same code (see `macros/src/expand.rs`).

use std::sync::Arc;
use std::time::Instant;

use proscenium::net::encryption::Encryption;
use proscenium::{
    ask_all, Actor, ActorError, ActorRef, Context, Handler, Mailbox, Message, SpawnError, System,
    SystemBuilder,
};
use tokio::sync::{mpsc, oneshot};

use super::{on_tokio, tokio_runtime, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome, Report,
};

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
        Setup::SHARED.tell(params)
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        Setup::SHARED.ask(params)
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        Setup::SHARED.spawn(params)
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        Setup::SHARED.ping_pong(params)
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        Setup::SHARED.counting(params)
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        Setup::SHARED.ring(params)
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        Setup::SHARED.fork_join_throughput(params)
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        Setup::SHARED.fork_join_create(params)
    }

    fn big(&self, params: &big::Params) -> Outcome {
        Setup::SHARED.big(params)
    }

    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        Setup::SHARED.chameneos(params)
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        Setup::SHARED.fan_out(params)
    }

    fn remote_tell(&self, params: &crate::workloads::remote_tell::Params) -> Outcome {
        crate::remote::proscenium_tell(params, Encryption::Aes256Gcm)
    }

    fn remote_ask(&self, params: &crate::workloads::remote_ask::Params) -> Outcome {
        crate::remote::proscenium_ask(params, Encryption::Aes256Gcm)
    }
}

/// How a row runs the workloads: the system it builds, and where it puts
/// the actors of one conversation.
#[derive(Clone, Copy)]
pub(super) struct Setup {
    builder: fn() -> SystemBuilder,
    /// The actors that talk to each other (ring, ping-pong, counting, big,
    /// chameneos) all on per-core thread 0, as actix's one thread has them;
    /// otherwise, and for workloads of independent actors, where the
    /// system places them.
    together: bool,
}

impl Setup {
    /// The `proscenium` row: the default, shared multi-thread runtime.
    pub(super) const SHARED: Self = Self::shared(System::builder);

    /// The default placement, with a system from `builder`.
    pub(super) const fn shared(builder: fn() -> SystemBuilder) -> Self {
        Self {
            builder,
            together: false,
        }
    }

    /// Per-core placement, one thread per core, a conversation's actors on one.
    pub(super) const fn per_core(builder: fn() -> SystemBuilder) -> Self {
        Self {
            builder,
            together: true,
        }
    }

    fn build(self) -> System {
        (self.builder)().build()
    }

    /// Spawns an actor of a conversation: on core 0 if `together`.
    fn place<A: Actor>(self, system: &System, actor: A) -> Result<ActorRef<A>, SpawnError> {
        if self.together {
            system.spawn_on(0, actor)
        } else {
            system.spawn(actor)
        }
    }

    pub(super) fn spawn(self, params: &spawn::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
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

    pub(super) fn ping_pong(self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, pongs) = oneshot::channel();
            let ponger = self.place(&system, Ponger).expect("spawn");
            let rally = ping_pong::Rally::new(&p, done);
            let pinger = self
                .place(&system, Pinger { ponger, rally })
                .expect("spawn");
            let start = Instant::now();
            pinger.tell(Serve).await.expect("tell");
            let pongs = pongs.await.expect("the pinger reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, pongs)
        })
    }

    pub(super) fn counting(self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, count) = oneshot::channel();
            let counter = self.place(&system, Counter(0)).expect("spawn");
            let producer = self
                .place(
                    &system,
                    Producer {
                        counter,
                        messages: p.messages,
                        done: Report::new(done),
                    },
                )
                .expect("spawn");
            let start = Instant::now();
            producer.tell(Serve).await.expect("tell");
            let count = count.await.expect("the producer reports");
            let elapsed = start.elapsed();
            system.shutdown().await;
            p.measured(elapsed, count)
        })
    }

    pub(super) fn ring(self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, mut holder) = mpsc::unbounded_channel();
            let nodes: Vec<ActorRef<RingNode>> = (0..p.actors)
                .map(|index| {
                    let node = RingNode {
                        place: ring::Place::new(index, done.clone()),
                        next: None,
                    };
                    self.place(&system, node).expect("spawn")
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

    pub(super) fn fork_join_throughput(self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<ActorRef<Worker>> = (0..p.actors)
                .map(|_| {
                    let worker = Worker(fork_join_throughput::Worker::new(&p, done.clone()));
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

    pub(super) fn fork_join_create(self, params: &fork_join_create::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
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

    pub(super) fn big(self, params: &big::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<ActorRef<BigWorker>> = (0..p.workers)
                .map(|index| {
                    let worker = BigWorker {
                        game: big::Worker::new(index, &p, done.clone()),
                        peers: Vec::new(),
                    };
                    self.place(&system, worker).expect("spawn")
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

    pub(super) fn chameneos(self, params: &chameneos::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, faded) = oneshot::channel();
            let mall = self
                .place(&system, Mall(chameneos::Mall::new(&p, done)))
                .expect("spawn");
            let chameneos: Vec<ActorRef<Chameneo>> = (0..p.chameneos)
                .map(|i| {
                    let chameneo = Chameneo {
                        creature: Creature::new(i),
                        mall: mall.clone(),
                    };
                    self.place(&system, chameneo).expect("spawn")
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

    pub(super) fn fan_out(self, params: &fan_out::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
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

// ===== tell =====

impl Setup {
    /// The tell workload (the `proscenium-metrics` row builds its system
    /// with metrics on).
    pub(super) fn tell(self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
            let (done, sum) = oneshot::channel();
            let summer = system
                .spawn(Summer(tell::Summer::new(&p, done)))
                .expect("spawn");
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

    /// The ask workload.
    pub(super) fn ask(self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let system = self.build();
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
}

#[derive(Actor)]
#[actor(unbounded)]
struct Summer(tell::Summer);

#[derive(Message)]
struct Add(u64);

impl Handler<Add> for Summer {
    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
        self.0.add(n);
    }
}

// ===== ask =====

#[derive(Actor)]
#[actor(unbounded)]
struct Echo;

#[derive(Message)]
#[message(reply = u64)]
struct Inc(u64);

impl Handler<Inc> for Echo {
    async fn handle(&mut self, Inc(n): Inc, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

// ===== spawn =====

/// Ticks the countdown when started: a hook, so `Actor` is written out
/// (the derive keeps the default hooks).
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

// ===== ping-pong and counting =====

/// Starts a pinger or a producer.
#[derive(Message)]
struct Serve;

#[derive(Actor)]
#[actor(unbounded)]
struct Pinger {
    ponger: ActorRef<Ponger>,
    rally: ping_pong::Rally,
}

#[derive(Actor)]
#[actor(unbounded)]
struct Ponger;

#[derive(Message)]
struct Ping(ActorRef<Pinger>);

#[derive(Message)]
struct Pong;

impl Handler<Serve> for Pinger {
    async fn handle(&mut self, _: Serve, ctx: &mut Context<Self>) {
        let me = ctx.actor_ref().clone();
        self.ponger.tell(Ping(me)).await.expect("tell");
    }
}

impl Handler<Pong> for Pinger {
    async fn handle(&mut self, _: Pong, ctx: &mut Context<Self>) {
        if self.rally.pong() {
            let me = ctx.actor_ref().clone();
            self.ponger.tell(Ping(me)).await.expect("tell");
        }
    }
}

impl Handler<Ping> for Ponger {
    async fn handle(&mut self, Ping(from): Ping, _: &mut Context<Self>) {
        from.tell(Pong).await.expect("tell");
    }
}

#[derive(Actor)]
#[actor(unbounded)]
struct Counter(u64);

#[derive(Actor)]
#[actor(unbounded)]
struct Producer {
    counter: ActorRef<Counter>,
    messages: u64,
    done: Report<u64>,
}

#[derive(Message)]
struct Increment;

#[derive(Message)]
struct Retrieve(ActorRef<Producer>);

#[derive(Message)]
struct Count(u64);

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
        self.done.send(n);
    }
}

// ===== ring =====

#[derive(Actor)]
#[actor(unbounded)]
struct RingNode {
    place: ring::Place,
    next: Option<ActorRef<RingNode>>,
}

#[derive(Message)]
struct SetNext(ActorRef<RingNode>);

#[derive(Message)]
struct Token(u64);

impl Handler<SetNext> for RingNode {
    async fn handle(&mut self, SetNext(next): SetNext, _: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for RingNode {
    async fn handle(&mut self, Token(hops): Token, _: &mut Context<Self>) {
        if let Some(hops) = self.place.token(hops) {
            let next = self.next.as_ref().expect("linked before the token");
            next.tell(Token(hops)).await.expect("tell");
        }
    }
}

// ===== fork-join =====

#[derive(Message)]
struct Work(f64);

#[derive(Actor)]
#[actor(unbounded)]
struct Worker(fork_join_throughput::Worker);

impl Handler<Work> for Worker {
    async fn handle(&mut self, Work(theta): Work, _: &mut Context<Self>) {
        self.0.work(theta);
    }
}

#[derive(Actor)]
#[actor(unbounded)]
struct Once(mpsc::UnboundedSender<()>);

impl Handler<Work> for Once {
    async fn handle(&mut self, Work(theta): Work, ctx: &mut Context<Self>) {
        fork_join_create::work_once(theta, &self.0);
        ctx.stop();
    }
}

// ===== fan-out =====

#[derive(Actor)]
#[actor(unbounded)]
struct FanNode(u64);

#[derive(Message)]
#[message(reply = u64)]
struct Get(u64);

impl Handler<Get> for FanNode {
    async fn handle(&mut self, Get(round): Get, _: &mut Context<Self>) -> u64 {
        self.0 + round
    }
}

// ===== big =====

#[derive(Actor)]
#[actor(unbounded)]
struct BigWorker {
    game: big::Worker,
    peers: Vec<ActorRef<BigWorker>>,
}

#[derive(Message)]
struct BigPeers(Vec<ActorRef<BigWorker>>);

#[derive(Message)]
struct BigStart;

#[derive(Message)]
struct BigPing(usize);

#[derive(Message)]
struct BigPong;

impl BigWorker {
    async fn ping_next(&mut self) {
        let to = self.game.next_peer(self.peers.len());
        let ping = BigPing(self.game.index());
        self.peers[to].tell(ping).await.expect("tell");
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
        if self.game.pong() {
            self.ping_next().await;
        }
    }
}

// ===== chameneos =====

#[derive(Actor)]
#[actor(unbounded)]
struct Mall(chameneos::Mall<ActorRef<Chameneo>>);

#[derive(Actor)]
#[actor(unbounded)]
struct Chameneo {
    creature: Creature,
    mall: ActorRef<Mall>,
}

#[derive(Message)]
struct MeetMall(Color, ActorRef<Chameneo>);

#[derive(Message)]
struct Faded(u64);

#[derive(Message)]
struct ChamStart;

#[derive(Message)]
struct Meet(Color, ActorRef<Chameneo>);

#[derive(Message)]
struct Change(Color);

#[derive(Message)]
struct Exit;

impl Handler<MeetMall> for Mall {
    async fn handle(&mut self, MeetMall(color, from): MeetMall, _: &mut Context<Self>) {
        match self.0.arrive(from) {
            Meeting::Exit(from) => from.tell(Exit).await.expect("tell"),
            Meeting::Pair { waiting, arrived } => {
                waiting.tell(Meet(color, arrived)).await.expect("tell");
            }
            Meeting::Wait => {}
        }
    }
}

impl Handler<Faded> for Mall {
    async fn handle(&mut self, Faded(meetings): Faded, _: &mut Context<Self>) {
        self.0.faded(meetings);
    }
}

impl Chameneo {
    async fn ask_mall(&self, ctx: &mut Context<Self>) {
        let me = ctx.actor_ref().clone();
        let color = self.creature.color();
        self.mall.tell(MeetMall(color, me)).await.expect("tell");
    }
}

impl Handler<ChamStart> for Chameneo {
    async fn handle(&mut self, _: ChamStart, ctx: &mut Context<Self>) {
        self.ask_mall(ctx).await;
    }
}

impl Handler<Meet> for Chameneo {
    async fn handle(&mut self, Meet(color, other): Meet, ctx: &mut Context<Self>) {
        let color = self.creature.meet(color);
        other.tell(Change(color)).await.expect("tell");
        self.ask_mall(ctx).await;
    }
}

impl Handler<Change> for Chameneo {
    async fn handle(&mut self, Change(color): Change, ctx: &mut Context<Self>) {
        self.creature.change(color);
        self.ask_mall(ctx).await;
    }
}

impl Handler<Exit> for Chameneo {
    async fn handle(&mut self, _: Exit, ctx: &mut Context<Self>) {
        let meetings = self.creature.meetings();
        self.mall.tell(Faded(meetings)).await.expect("tell");
        ctx.stop();
    }
}

/// Proscenium with [`NodeBuilder::insecure_plaintext`](proscenium::net::NodeBuilder::insecure_plaintext)
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
