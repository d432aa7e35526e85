//! The workloads on xtra (with its `tokio` feature), every actor on
//! `Mailbox::unbounded()`. Tells are `send(..).detach().await` (queued, reply
//! not awaited), asks `send(..).await`. An xtra actor stops when its last
//! strong `Address` is dropped or it calls `stop_self`.
//!
//! xtra 0.6 does not promise per-sender order; the counting workload, whose
//! `Retrieve` must come after every `Increment`, checks it.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use xtra::{Actor, Address, Context, Handler, Mailbox, WeakAddress};

use super::{on_tokio, tokio_runtime, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome, Report,
};

/// xtra, from crates.io.
#[derive(Debug, Clone, Copy)]
pub struct Xtra;

fn start<A: Actor<Stop = ()>>(actor: A) -> (Address<A>, JoinHandle<()>) {
    let (address, mailbox) = Mailbox::unbounded();
    (address, tokio::spawn(xtra::run(mailbox, actor)))
}

fn addr<A: Actor<Stop = ()>>(actor: A) -> Address<A> {
    start(actor).0
}

fn sent<T>(result: Result<T, xtra::Error>) -> T {
    result.expect("xtra: send failed")
}

/// A detached send went through; its reply receiver is not wanted.
fn told<T>(result: Result<T, xtra::Error>) {
    drop(sent(result));
}

impl Framework for Xtra {
    fn name(&self) -> &'static str {
        "xtra"
    }

    fn version(&self) -> &'static str {
        env!("XTRA_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, sum) = oneshot::channel();
            let summer = addr(Summer(tell::Summer::new(&p, done)));
            let begin = Instant::now();
            for i in 1..=p.messages {
                told(summer.send(Add(i)).detach().await);
            }
            let sum = sum.await.expect("the summer reports");
            p.measured(begin.elapsed(), sum)
        })
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let echo = addr(Echo);
            let mut latencies = Vec::with_capacity(p.asks as usize);
            for i in 0..p.asks {
                let begin = Instant::now();
                let reply = sent(echo.send(Inc(i)).await);
                latencies.push(begin.elapsed());
                assert_eq!(reply, i + 1, "ask: wrong reply");
            }
            p.measured(latencies)
        })
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (started, all_started) = Countdown::new(p.actors);
            let before = resident_bytes();
            let begin = Instant::now();
            let actors: Vec<_> = (0..p.actors)
                .map(|_| start(Idle(started.clone())))
                .collect();
            all_started.await.expect("every actor starts");
            let spawn = begin.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let begin = Instant::now();
            let (addresses, tasks): (Vec<_>, Vec<_>) = actors.into_iter().unzip();
            drop(addresses);
            for task in tasks {
                task.await.expect("the actor ends");
            }
            let stop = begin.elapsed();
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
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            // The mailboxes first, so that each worker starts knowing every
            // peer: xtra does not keep per-sender order, so a separate
            // "here are your peers" message could arrive after `BigStart`.
            let (peers, mailboxes): (Vec<Address<BigWorker>>, Vec<_>) =
                (0..p.workers).map(|_| Mailbox::unbounded()).unzip();
            for (index, mailbox) in mailboxes.into_iter().enumerate() {
                let worker = BigWorker {
                    game: big::Worker::new(index, &p, done.clone()),
                    peers: peers.clone(),
                };
                tokio::spawn(xtra::run(mailbox, worker));
            }
            let begin = Instant::now();
            for worker in &peers {
                told(worker.send(BigStart).detach().await);
            }
            let mut pongs = 0;
            for _ in 0..p.workers {
                pongs += reports.recv().await.expect("every worker reports");
            }
            p.measured(begin.elapsed(), pongs)
        })
    }

    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, faded) = oneshot::channel();
            let mall = addr(Mall(chameneos::Mall::new(&p, done)));
            let chameneos: Vec<Address<Chameneo>> = (0..p.chameneos)
                .map(|i| {
                    addr(Chameneo {
                        creature: Creature::new(i),
                        mall: mall.clone(),
                    })
                })
                .collect();
            let begin = Instant::now();
            for chameneo in &chameneos {
                told(chameneo.send(ChamStart).detach().await);
            }
            let (faded, total) = faded.await.expect("the mall reports");
            p.measured(begin.elapsed(), faded, total)
        })
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, pongs) = oneshot::channel();
            let ponger = addr(Ponger);
            let pinger = addr(Pinger {
                ponger,
                rally: ping_pong::Rally::new(&p, done),
            });
            let begin = Instant::now();
            told(pinger.send(Serve).detach().await);
            let pongs = pongs.await.expect("the pinger reports");
            p.measured(begin.elapsed(), pongs)
        })
    }

    fn counting(&self, _: &counting::Params) -> Outcome {
        // Measured with the same actors as the others (`Producer`, `Counter`
        // below), the `Retrieve` overtook most `Increment`s (a count of 873
        // out of 10,000 in quick mode): xtra 0.6 does not keep per-sender
        // order, which this workload needs. `run_counting` keeps the code.
        Outcome::NotApplicable("xtra 0.6 does not keep per-sender order: `Retrieve` overtakes the `Increment`s (wrong count)")
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut holder) = mpsc::unbounded_channel();
            let nodes: Vec<Address<RingNode>> = (0..p.actors)
                .map(|index| {
                    addr(RingNode {
                        place: ring::Place::new(index, done.clone()),
                        next: None,
                    })
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % nodes.len()].downgrade();
                told(node.send(SetNext(next)).detach().await);
            }
            let begin = Instant::now();
            told(nodes[0].send(Token(p.hops)).detach().await);
            let holder = holder.recv().await.expect("the last holder reports");
            p.measured(begin.elapsed(), holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<Address<Worker>> = (0..p.actors)
                .map(|_| addr(Worker(fork_join_throughput::Worker::new(&p, done.clone()))))
                .collect();
            let begin = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    told(worker.send(Work(m as f64)).detach().await);
                }
            }
            let mut handled = Vec::with_capacity(p.actors);
            while handled.len() < p.actors {
                handled.push(reports.recv().await.expect("every worker reports"));
            }
            p.measured(begin.elapsed(), &handled)
        })
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let begin = Instant::now();
            for i in 0..p.actors {
                let once = addr(Once(done.clone()));
                told(once.send(Work(i as f64)).detach().await);
            }
            let mut count = 0;
            while count < p.actors {
                reports.recv().await.expect("every actor reports");
                count += 1;
            }
            p.measured(begin.elapsed(), count)
        })
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let nodes: Vec<Address<FanNode>> =
                (0..p.actors as u64).map(|i| addr(FanNode(i))).collect();
            let begin = Instant::now();
            for round in 0..p.rounds {
                let asks = nodes.iter().map(|n| n.send(Get(round)));
                let sum: u64 = join_all(asks).await.into_iter().map(sent).sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            p.measured(begin.elapsed())
        })
    }
}

/// Savina counting on xtra; it fails its count assertion (see `Xtra::counting`).
pub fn run_counting(p: counting::Params) -> Outcome {
    on_tokio(async move {
        let (done, count) = oneshot::channel();
        let counter = addr(Counter(0));
        let producer = addr(Producer {
            counter,
            messages: p.messages,
            done: Report::new(done),
        });
        let begin = Instant::now();
        told(producer.send(Serve).detach().await);
        let count = count.await.expect("the producer reports");
        p.measured(begin.elapsed(), count)
    })
}

// ===== messages and actors =====

struct Add(u64);
struct Inc(u64);
struct Serve;
struct Ping(WeakAddress<Pinger>);
struct Pong;
struct Increment;
struct Retrieve(WeakAddress<Producer>);
struct Count(u64);
struct SetNext(WeakAddress<RingNode>);
struct Token(u64);
struct Work(f64);
struct Get(u64);

macro_rules! plain_actors {
    ($($actor:ty),* $(,)?) => {
        $(impl Actor for $actor {
            type Stop = ();

            async fn stopped(self) {}
        })*
    };
}

plain_actors!(Summer, Echo, Pinger, Ponger, Counter, Producer, RingNode, Worker, Once, FanNode);

/// `impl Handler<$msg> for $actor`, with the handler body as a closure-like block.
macro_rules! handler {
    ($actor:ty, $msg:ty => $reply:ty, |$this:ident, $m:pat_param, $ctx:ident| $body:block) => {
        impl Handler<$msg> for $actor {
            type Return = $reply;

            #[allow(unused_variables)]
            async fn handle(&mut self, $m: $msg, $ctx: &mut Context<Self>) -> $reply {
                let $this = self;
                $body
            }
        }
    };
}

struct Summer(tell::Summer);

handler!(Summer, Add => (), |s, Add(n), ctx| {
    s.0.add(n);
});

struct Echo;

handler!(Echo, Inc => u64, |s, Inc(n), ctx| { n + 1 });

struct Idle(Arc<Countdown>);

impl Actor for Idle {
    type Stop = ();

    async fn started(&mut self, _: &Mailbox<Self>) -> Result<(), ()> {
        self.0.tick();
        Ok(())
    }

    async fn stopped(self) {}
}

struct Pinger {
    ponger: Address<Ponger>,
    rally: ping_pong::Rally,
}

handler!(Pinger, Serve => (), |s, _, ctx| {
    told(s.ponger.send(Ping(ctx.mailbox().address())).detach().await);
});

handler!(Pinger, Pong => (), |s, _, ctx| {
    if s.rally.pong() {
        told(s.ponger.send(Ping(ctx.mailbox().address())).detach().await);
    }
});

struct Ponger;

handler!(Ponger, Ping => (), |s, Ping(from), ctx| {
    told(from.send(Pong).detach().await);
});

struct Counter(u64);

handler!(Counter, Increment => (), |s, _, ctx| {
    s.0 += 1;
});

handler!(Counter, Retrieve => (), |s, Retrieve(to), ctx| {
    told(to.send(Count(s.0)).detach().await);
});

struct Producer {
    counter: Address<Counter>,
    messages: u64,
    done: Report<u64>,
}

handler!(Producer, Serve => (), |s, _, ctx| {
    for _ in 0..s.messages {
        told(s.counter.send(Increment).detach().await);
    }
    told(s.counter.send(Retrieve(ctx.mailbox().address())).detach().await);
});

handler!(Producer, Count => (), |s, Count(n), ctx| {
    s.done.send(n);
});

struct RingNode {
    place: ring::Place,
    next: Option<WeakAddress<RingNode>>,
}

handler!(RingNode, SetNext => (), |s, SetNext(next), ctx| {
    s.next = Some(next);
});

handler!(RingNode, Token => (), |s, Token(hops), ctx| {
    if let Some(hops) = s.place.token(hops) {
        let next = s.next.as_ref().expect("linked before the token");
        told(next.send(Token(hops)).detach().await);
    }
});

struct Worker(fork_join_throughput::Worker);

handler!(Worker, Work => (), |s, Work(theta), ctx| {
    s.0.work(theta);
});

struct Once(mpsc::UnboundedSender<()>);

handler!(Once, Work => (), |s, Work(theta), ctx| {
    fork_join_create::work_once(theta, &s.0);
    ctx.stop_self();
});

struct FanNode(u64);

handler!(FanNode, Get => u64, |s, Get(round), ctx| { s.0 + round });

// ===== big =====

struct BigWorker {
    game: big::Worker,
    peers: Vec<Address<BigWorker>>,
}

struct BigStart;
struct BigPing(usize);
struct BigPong;

plain_actors!(BigWorker, Mall, Chameneo);

impl BigWorker {
    async fn ping_next(&mut self) {
        let to = self.game.next_peer(self.peers.len());
        told(
            self.peers[to]
                .send(BigPing(self.game.index()))
                .detach()
                .await,
        );
    }
}

handler!(BigWorker, BigStart => (), |s, _, ctx| {
    s.ping_next().await;
});

handler!(BigWorker, BigPing => (), |s, BigPing(from), ctx| {
    told(s.peers[from].send(BigPong).detach().await);
});

handler!(BigWorker, BigPong => (), |s, _, ctx| {
    if s.game.pong() {
        s.ping_next().await;
    }
});

// ===== chameneos =====

struct Mall(chameneos::Mall<WeakAddress<Chameneo>>);

struct Chameneo {
    creature: Creature,
    mall: Address<Mall>,
}

struct MeetMall(Color, WeakAddress<Chameneo>);
struct Faded(u64);
struct ChamStart;
struct Meet(Color, WeakAddress<Chameneo>);
struct Change(Color);
struct Exit;

handler!(Mall, MeetMall => (), |s, MeetMall(color, from), ctx| {
    match s.0.arrive(from) {
        Meeting::Exit(from) => told(from.send(Exit).detach().await),
        Meeting::Pair { waiting, arrived } => {
            told(waiting.send(Meet(color, arrived)).detach().await);
        }
        Meeting::Wait => {}
    }
});

handler!(Mall, Faded => (), |s, Faded(meetings), ctx| {
    s.0.faded(meetings);
});

impl Chameneo {
    async fn ask_mall(&self, me: WeakAddress<Self>) {
        told(
            self.mall
                .send(MeetMall(self.creature.color(), me))
                .detach()
                .await,
        );
    }
}

handler!(Chameneo, ChamStart => (), |s, _, ctx| {
    s.ask_mall(ctx.mailbox().address()).await;
});

handler!(Chameneo, Meet => (), |s, Meet(color, other), ctx| {
    let color = s.creature.meet(color);
    told(other.send(Change(color)).detach().await);
    s.ask_mall(ctx.mailbox().address()).await;
});

handler!(Chameneo, Change => (), |s, Change(color), ctx| {
    s.creature.change(color);
    s.ask_mall(ctx.mailbox().address()).await;
});

handler!(Chameneo, Exit => (), |s, _, ctx| {
    told(s.mall.send(Faded(s.creature.meetings())).detach().await);
});
