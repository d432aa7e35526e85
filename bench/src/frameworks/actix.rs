//! The workloads on actix, each on a fresh `actix::System` (a
//! single-threaded runtime: actix runs every actor of a system on its
//! arbiter's one thread). Tells are `do_send`, which ignores the mailbox
//! capacity, so actix's mailboxes act unbounded here too.

use std::time::Instant;

use actix::prelude::*;
use futures_util::future::join_all;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

use super::{Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome, Report,
};

/// actix, from crates.io.
#[derive(Debug, Clone, Copy)]
pub struct Actix;

fn on_actix<F: std::future::Future>(driver: F) -> F::Output {
    actix::System::new().block_on(driver)
}

impl Framework for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn version(&self) -> &'static str {
        env!("ACTIX_VERSION")
    }

    fn runtime(&self) -> &'static str {
        "its own actix::System: one thread"
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, sum) = oneshot::channel();
            let summer = Summer(tell::Summer::new(&p, done)).start();
            let start = Instant::now();
            for i in 1..=p.messages {
                summer.do_send(Add(i));
            }
            let sum = sum.await.expect("the summer reports");
            p.measured(start.elapsed(), sum)
        })
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let echo = Echo.start();
            let mut latencies = Vec::with_capacity(p.asks as usize);
            for i in 0..p.asks {
                let start = Instant::now();
                let reply = echo.send(Inc(i)).await.expect("ask");
                latencies.push(start.elapsed());
                assert_eq!(reply, i + 1, "ask: wrong reply");
            }
            p.measured(latencies)
        })
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (started, all_started) = Countdown::new(p.actors);
            let (stopped, all_stopped) = Countdown::new(p.actors);
            let before = resident_bytes();
            let start = Instant::now();
            let addrs: Vec<Addr<Idle>> = (0..p.actors)
                .map(|_| Idle(started.clone(), stopped.clone()).start())
                .collect();
            all_started.await.expect("every actor starts");
            let spawn = start.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let start = Instant::now();
            for addr in &addrs {
                addr.do_send(Stop);
            }
            all_stopped.await.expect("every actor stops");
            let stop = start.elapsed();
            p.measured(spawn::Sample {
                spawn,
                rss_growth,
                stop,
                started: started.count(),
            })
        })
    }

    fn big(&self, params: &big::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<Addr<BigWorker>> = (0..p.workers)
                .map(|index| {
                    BigWorker {
                        game: big::Worker::new(index, &p, done.clone()),
                        peers: Vec::new(),
                    }
                    .start()
                })
                .collect();
            for worker in &workers {
                worker.do_send(BigPeers(workers.clone()));
            }
            let start = Instant::now();
            for worker in &workers {
                worker.do_send(BigStart);
            }
            let mut pongs = 0;
            for _ in 0..p.workers {
                pongs += reports.recv().await.expect("every worker reports");
            }
            p.measured(start.elapsed(), pongs)
        })
    }

    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, faded) = oneshot::channel();
            let mall = Mall(chameneos::Mall::new(&p, done)).start();
            let chameneos: Vec<Addr<Chameneo>> = (0..p.chameneos)
                .map(|i| {
                    Chameneo {
                        creature: Creature::new(i),
                        mall: mall.clone(),
                    }
                    .start()
                })
                .collect();
            let start = Instant::now();
            for chameneo in &chameneos {
                chameneo.do_send(ChamStart);
            }
            let (faded, total) = faded.await.expect("the mall reports");
            p.measured(start.elapsed(), faded, total)
        })
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, pongs) = oneshot::channel();
            let ponger = Ponger.start();
            let pinger = Pinger {
                ponger,
                rally: ping_pong::Rally::new(&p, done),
            }
            .start();
            let start = Instant::now();
            pinger.do_send(Serve);
            let pongs = pongs.await.expect("the pinger reports");
            p.measured(start.elapsed(), pongs)
        })
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, count) = oneshot::channel();
            let counter = Counter(0).start();
            let producer = Producer {
                counter,
                messages: p.messages,
                done: Report::new(done),
            }
            .start();
            let start = Instant::now();
            producer.do_send(Serve);
            let count = count.await.expect("the producer reports");
            p.measured(start.elapsed(), count)
        })
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, mut holder) = mpsc::unbounded_channel();
            let nodes: Vec<Addr<RingNode>> = (0..p.actors)
                .map(|index| {
                    RingNode {
                        place: ring::Place::new(index, done.clone()),
                        next: None,
                    }
                    .start()
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                node.do_send(SetNext(nodes[(i + 1) % nodes.len()].clone()));
            }
            let start = Instant::now();
            nodes[0].do_send(Token(p.hops));
            let holder = holder.recv().await.expect("the last holder reports");
            p.measured(start.elapsed(), holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<Addr<Worker>> = (0..p.actors)
                .map(|_| Worker(fork_join_throughput::Worker::new(&p, done.clone())).start())
                .collect();
            let start = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    worker.do_send(Work(m as f64));
                }
            }
            let mut handled = Vec::with_capacity(p.actors);
            while handled.len() < p.actors {
                handled.push(reports.recv().await.expect("every worker reports"));
            }
            p.measured(start.elapsed(), &handled)
        })
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let start = Instant::now();
            for i in 0..p.actors {
                Once(done.clone()).start().do_send(Work(i as f64));
            }
            let mut count = 0;
            while count < p.actors {
                reports.recv().await.expect("every actor reports");
                count += 1;
            }
            p.measured(start.elapsed(), count)
        })
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        let p = *params;
        on_actix(async move {
            let nodes: Vec<Addr<FanNode>> =
                (0..p.actors as u64).map(|i| FanNode(i).start()).collect();
            let start = Instant::now();
            for round in 0..p.rounds {
                let replies = join_all(nodes.iter().map(|n| n.send(Get(round)))).await;
                let sum: u64 = replies.into_iter().map(|r| r.expect("ask")).sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            p.measured(start.elapsed())
        })
    }
}

// ===== messages =====

struct Add(u64);
struct Inc(u64);
struct Serve;
struct Stop;
struct Ping(Addr<Pinger>);
struct Pong;
struct Increment;
struct Retrieve(Addr<Producer>);
struct Count(u64);
struct SetNext(Addr<RingNode>);
struct Token(u64);
struct Work(f64);
struct Get(u64);

macro_rules! messages {
    ($($message:ty => $reply:ty),* $(,)?) => {
        $(impl Message for $message {
            type Result = $reply;
        })*
    };
}

messages! {
    Add => (), Inc => u64, Serve => (), Stop => (), Ping => (), Pong => (), Increment => (),
    Retrieve => (), Count => (), SetNext => (), Token => (), Work => (), Get => u64,
}

macro_rules! plain_actors {
    ($($actor:ty),* $(,)?) => {
        $(impl Actor for $actor {
            type Context = Context<Self>;
        })*
    };
}

plain_actors!(Summer, Echo, Pinger, Ponger, Counter, Producer, RingNode, Worker, Once, FanNode);

struct Summer(tell::Summer);

impl Handler<Add> for Summer {
    type Result = ();
    fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
        self.0.add(n);
    }
}

struct Echo;

impl Handler<Inc> for Echo {
    type Result = u64;
    fn handle(&mut self, Inc(n): Inc, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

struct Idle(Arc<Countdown>, Arc<Countdown>);

impl Actor for Idle {
    type Context = Context<Self>;
    fn started(&mut self, _: &mut Context<Self>) {
        self.0.tick();
    }
    fn stopped(&mut self, _: &mut Context<Self>) {
        self.1.tick();
    }
}

impl Handler<Stop> for Idle {
    type Result = ();
    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

struct Pinger {
    ponger: Addr<Ponger>,
    rally: ping_pong::Rally,
}

impl Handler<Serve> for Pinger {
    type Result = ();
    fn handle(&mut self, _: Serve, ctx: &mut Context<Self>) {
        self.ponger.do_send(Ping(ctx.address()));
    }
}

impl Handler<Pong> for Pinger {
    type Result = ();
    fn handle(&mut self, _: Pong, ctx: &mut Context<Self>) {
        if self.rally.pong() {
            self.ponger.do_send(Ping(ctx.address()));
        }
    }
}

struct Ponger;

impl Handler<Ping> for Ponger {
    type Result = ();
    fn handle(&mut self, Ping(from): Ping, _: &mut Context<Self>) {
        from.do_send(Pong);
    }
}

struct Counter(u64);

impl Handler<Increment> for Counter {
    type Result = ();
    fn handle(&mut self, _: Increment, _: &mut Context<Self>) {
        self.0 += 1;
    }
}

impl Handler<Retrieve> for Counter {
    type Result = ();
    fn handle(&mut self, Retrieve(to): Retrieve, _: &mut Context<Self>) {
        to.do_send(Count(self.0));
    }
}

struct Producer {
    counter: Addr<Counter>,
    messages: u64,
    done: Report<u64>,
}

impl Handler<Serve> for Producer {
    type Result = ();
    fn handle(&mut self, _: Serve, ctx: &mut Context<Self>) {
        for _ in 0..self.messages {
            self.counter.do_send(Increment);
        }
        self.counter.do_send(Retrieve(ctx.address()));
    }
}

impl Handler<Count> for Producer {
    type Result = ();
    fn handle(&mut self, Count(n): Count, _: &mut Context<Self>) {
        self.done.send(n);
    }
}

struct RingNode {
    place: ring::Place,
    next: Option<Addr<RingNode>>,
}

impl Handler<SetNext> for RingNode {
    type Result = ();
    fn handle(&mut self, SetNext(next): SetNext, _: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for RingNode {
    type Result = ();
    fn handle(&mut self, Token(hops): Token, _: &mut Context<Self>) {
        if let Some(hops) = self.place.token(hops) {
            let next = self.next.as_ref().expect("linked before the token");
            next.do_send(Token(hops));
        }
    }
}

struct Worker(fork_join_throughput::Worker);

impl Handler<Work> for Worker {
    type Result = ();
    fn handle(&mut self, Work(theta): Work, _: &mut Context<Self>) {
        self.0.work(theta);
    }
}

struct Once(mpsc::UnboundedSender<()>);

impl Handler<Work> for Once {
    type Result = ();
    fn handle(&mut self, Work(theta): Work, ctx: &mut Context<Self>) {
        fork_join_create::work_once(theta, &self.0);
        ctx.stop();
    }
}

struct FanNode(u64);

impl Handler<Get> for FanNode {
    type Result = u64;
    fn handle(&mut self, Get(round): Get, _: &mut Context<Self>) -> u64 {
        self.0 + round
    }
}

// ===== big =====

struct BigWorker {
    game: big::Worker,
    peers: Vec<Addr<BigWorker>>,
}

struct BigPeers(Vec<Addr<BigWorker>>);
struct BigStart;
struct BigPing(usize);
struct BigPong;

messages! { BigPeers => (), BigStart => (), BigPing => (), BigPong => () }
plain_actors!(BigWorker, Mall, Chameneo);

impl BigWorker {
    fn ping_next(&mut self) {
        let to = self.game.next_peer(self.peers.len());
        self.peers[to].do_send(BigPing(self.game.index()));
    }
}

impl Handler<BigPeers> for BigWorker {
    type Result = ();
    fn handle(&mut self, BigPeers(peers): BigPeers, _: &mut Context<Self>) {
        self.peers = peers;
    }
}

impl Handler<BigStart> for BigWorker {
    type Result = ();
    fn handle(&mut self, _: BigStart, _: &mut Context<Self>) {
        self.ping_next();
    }
}

impl Handler<BigPing> for BigWorker {
    type Result = ();
    fn handle(&mut self, BigPing(from): BigPing, _: &mut Context<Self>) {
        self.peers[from].do_send(BigPong);
    }
}

impl Handler<BigPong> for BigWorker {
    type Result = ();
    fn handle(&mut self, _: BigPong, _: &mut Context<Self>) {
        if self.game.pong() {
            self.ping_next();
        }
    }
}

// ===== chameneos =====

struct Mall(chameneos::Mall<Addr<Chameneo>>);

struct Chameneo {
    creature: Creature,
    mall: Addr<Mall>,
}

struct MeetMall(Color, Addr<Chameneo>);
struct Faded(u64);
struct ChamStart;
struct Meet(Color, Addr<Chameneo>);
struct Change(Color);
struct Exit;

messages! {
    MeetMall => (), Faded => (), ChamStart => (), Meet => (), Change => (), Exit => (),
}

impl Handler<MeetMall> for Mall {
    type Result = ();
    fn handle(&mut self, MeetMall(color, from): MeetMall, _: &mut Context<Self>) {
        match self.0.arrive(from) {
            Meeting::Exit(from) => from.do_send(Exit),
            Meeting::Pair { waiting, arrived } => waiting.do_send(Meet(color, arrived)),
            Meeting::Wait => {}
        }
    }
}

impl Handler<Faded> for Mall {
    type Result = ();
    fn handle(&mut self, Faded(meetings): Faded, _: &mut Context<Self>) {
        self.0.faded(meetings);
    }
}

impl Chameneo {
    fn ask_mall(&self, ctx: &Context<Self>) {
        self.mall
            .do_send(MeetMall(self.creature.color(), ctx.address()));
    }
}

impl Handler<ChamStart> for Chameneo {
    type Result = ();
    fn handle(&mut self, _: ChamStart, ctx: &mut Context<Self>) {
        self.ask_mall(ctx);
    }
}

impl Handler<Meet> for Chameneo {
    type Result = ();
    fn handle(&mut self, Meet(color, other): Meet, ctx: &mut Context<Self>) {
        other.do_send(Change(self.creature.meet(color)));
        self.ask_mall(ctx);
    }
}

impl Handler<Change> for Chameneo {
    type Result = ();
    fn handle(&mut self, Change(color): Change, ctx: &mut Context<Self>) {
        self.creature.change(color);
        self.ask_mall(ctx);
    }
}

impl Handler<Exit> for Chameneo {
    type Result = ();
    fn handle(&mut self, _: Exit, ctx: &mut Context<Self>) {
        self.mall.do_send(Faded(self.creature.meetings()));
        ctx.stop();
    }
}
