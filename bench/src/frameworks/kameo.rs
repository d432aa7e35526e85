//! The workloads on kameo, every actor with `mailbox::unbounded()`. Tells
//! are `tell(..).await`, asks `ask(..).await`.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use kameo::actor::{ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use kameo::Actor;
use tokio::sync::{mpsc, oneshot};

use super::{on_tokio, tokio_runtime, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome, Report,
};

/// kameo, from crates.io.
#[derive(Debug, Clone, Copy)]
pub struct Kameo;

fn start<A: Actor<Args = A>>(actor: A) -> ActorRef<A> {
    A::spawn_with_mailbox(actor, mailbox::unbounded())
}

fn sent<T, E>(result: Result<T, E>) -> T {
    result.unwrap_or_else(|_| panic!("kameo: send failed"))
}

impl Framework for Kameo {
    fn name(&self) -> &'static str {
        "kameo"
    }

    fn version(&self) -> &'static str {
        env!("KAMEO_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, sum) = oneshot::channel();
            let summer = start(Summer(tell::Summer::new(&p, done)));
            let begin = Instant::now();
            for i in 1..=p.messages {
                sent(summer.tell(Add(i)).await);
            }
            let sum = sum.await.expect("the summer reports");
            p.measured(begin.elapsed(), sum)
        })
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let echo = start(Echo);
            let mut latencies = Vec::with_capacity(p.asks as usize);
            for i in 0..p.asks {
                let begin = Instant::now();
                let reply = sent(echo.ask(Inc(i)).await);
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
            let refs: Vec<ActorRef<Idle>> = (0..p.actors)
                .map(|_| start(Idle(started.clone())))
                .collect();
            all_started.await.expect("every actor starts");
            let spawn = begin.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let begin = Instant::now();
            for r in &refs {
                sent(r.stop_gracefully().await);
            }
            for r in &refs {
                r.wait_for_shutdown().await;
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
            let workers: Vec<ActorRef<BigWorker>> = (0..p.workers)
                .map(|index| {
                    start(BigWorker {
                        game: big::Worker::new(index, &p, done.clone()),
                        peers: Vec::new(),
                    })
                })
                .collect();
            for worker in &workers {
                sent(worker.tell(BigPeers(workers.clone())).await);
            }
            let begin = Instant::now();
            for worker in &workers {
                sent(worker.tell(BigStart).await);
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
            let mall = start(Mall(chameneos::Mall::new(&p, done)));
            let chameneos: Vec<ActorRef<Chameneo>> = (0..p.chameneos)
                .map(|i| {
                    start(Chameneo {
                        creature: Creature::new(i),
                        mall: mall.clone(),
                    })
                })
                .collect();
            let begin = Instant::now();
            for chameneo in &chameneos {
                sent(chameneo.tell(ChamStart).await);
            }
            let (faded, total) = faded.await.expect("the mall reports");
            p.measured(begin.elapsed(), faded, total)
        })
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, pongs) = oneshot::channel();
            let ponger = start(Ponger);
            let pinger = start(Pinger {
                ponger,
                rally: ping_pong::Rally::new(&p, done),
            });
            let begin = Instant::now();
            sent(pinger.tell(Serve).await);
            let pongs = pongs.await.expect("the pinger reports");
            p.measured(begin.elapsed(), pongs)
        })
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, count) = oneshot::channel();
            let counter = start(Counter(0));
            let producer = start(Producer {
                counter,
                messages: p.messages,
                done: Report::new(done),
            });
            let begin = Instant::now();
            sent(producer.tell(Serve).await);
            let count = count.await.expect("the producer reports");
            p.measured(begin.elapsed(), count)
        })
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut holder) = mpsc::unbounded_channel();
            let nodes: Vec<ActorRef<RingNode>> = (0..p.actors)
                .map(|index| {
                    start(RingNode {
                        place: ring::Place::new(index, done.clone()),
                        next: None,
                    })
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                sent(
                    node.tell(SetNext(nodes[(i + 1) % nodes.len()].clone()))
                        .await,
                );
            }
            let begin = Instant::now();
            sent(nodes[0].tell(Token(p.hops)).await);
            let holder = holder.recv().await.expect("the last holder reports");
            p.measured(begin.elapsed(), holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<ActorRef<Worker>> = (0..p.actors)
                .map(|_| start(Worker(fork_join_throughput::Worker::new(&p, done.clone()))))
                .collect();
            let begin = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    sent(worker.tell(Work(m as f64)).await);
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
                let once = start(Once(done.clone()));
                sent(once.tell(Work(i as f64)).await);
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
            let nodes: Vec<ActorRef<FanNode>> =
                (0..p.actors as u64).map(|i| start(FanNode(i))).collect();
            let begin = Instant::now();
            for round in 0..p.rounds {
                let asks = nodes
                    .iter()
                    .map(|n| async move { sent(n.ask(Get(round)).await) });
                let sum: u64 = join_all(asks).await.into_iter().sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            p.measured(begin.elapsed())
        })
    }
}

// ===== messages and actors =====

struct Add(u64);
struct Inc(u64);
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

macro_rules! plain_actors {
    ($($actor:ty),* $(,)?) => {
        $(impl Actor for $actor {
            type Args = Self;
            type Error = Infallible;

            async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
                Ok(state)
            }
        })*
    };
}

plain_actors!(Summer, Echo, Pinger, Ponger, Counter, Producer, RingNode, Worker, Once, FanNode);

/// `impl Message<$msg> for $actor`, with the handler body as a closure-like block.
macro_rules! handler {
    ($actor:ty, $msg:ty => $reply:ty, |$this:ident, $m:pat_param, $ctx:ident| $body:block) => {
        impl Message<$msg> for $actor {
            type Reply = $reply;

            #[allow(unused_variables)]
            async fn handle(&mut self, $m: $msg, $ctx: &mut Context<Self, $reply>) -> $reply {
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
    type Args = Self;
    type Error = Infallible;

    async fn on_start(state: Self, _: ActorRef<Self>) -> Result<Self, Infallible> {
        state.0.tick();
        Ok(state)
    }
}

struct Pinger {
    ponger: ActorRef<Ponger>,
    rally: ping_pong::Rally,
}

handler!(Pinger, Serve => (), |s, _, ctx| {
    sent(s.ponger.tell(Ping(ctx.actor_ref().clone())).await);
});

handler!(Pinger, Pong => (), |s, _, ctx| {
    if s.rally.pong() {
        sent(s.ponger.tell(Ping(ctx.actor_ref().clone())).await);
    }
});

struct Ponger;

handler!(Ponger, Ping => (), |s, Ping(from), ctx| {
    sent(from.tell(Pong).await);
});

struct Counter(u64);

handler!(Counter, Increment => (), |s, _, ctx| {
    s.0 += 1;
});

handler!(Counter, Retrieve => (), |s, Retrieve(to), ctx| {
    sent(to.tell(Count(s.0)).await);
});

struct Producer {
    counter: ActorRef<Counter>,
    messages: u64,
    done: Report<u64>,
}

handler!(Producer, Serve => (), |s, _, ctx| {
    for _ in 0..s.messages {
        sent(s.counter.tell(Increment).await);
    }
    sent(s.counter.tell(Retrieve(ctx.actor_ref().clone())).await);
});

handler!(Producer, Count => (), |s, Count(n), ctx| {
    s.done.send(n);
});

struct RingNode {
    place: ring::Place,
    next: Option<ActorRef<RingNode>>,
}

handler!(RingNode, SetNext => (), |s, SetNext(next), ctx| {
    s.next = Some(next);
});

handler!(RingNode, Token => (), |s, Token(hops), ctx| {
    if let Some(hops) = s.place.token(hops) {
        let next = s.next.as_ref().expect("linked before the token");
        sent(next.tell(Token(hops)).await);
    }
});

struct Worker(fork_join_throughput::Worker);

handler!(Worker, Work => (), |s, Work(theta), ctx| {
    s.0.work(theta);
});

struct Once(mpsc::UnboundedSender<()>);

handler!(Once, Work => (), |s, Work(theta), ctx| {
    fork_join_create::work_once(theta, &s.0);
    ctx.stop();
});

struct FanNode(u64);

handler!(FanNode, Get => u64, |s, Get(round), ctx| { s.0 + round });

// ===== big =====

struct BigWorker {
    game: big::Worker,
    peers: Vec<ActorRef<BigWorker>>,
}

struct BigPeers(Vec<ActorRef<BigWorker>>);
struct BigStart;
struct BigPing(usize);
struct BigPong;

plain_actors!(BigWorker, Mall, Chameneo);

impl BigWorker {
    async fn ping_next(&mut self) {
        let to = self.game.next_peer(self.peers.len());
        sent(self.peers[to].tell(BigPing(self.game.index())).await);
    }
}

handler!(BigWorker, BigPeers => (), |s, BigPeers(peers), ctx| {
    s.peers = peers;
});

handler!(BigWorker, BigStart => (), |s, _, ctx| {
    s.ping_next().await;
});

handler!(BigWorker, BigPing => (), |s, BigPing(from), ctx| {
    sent(s.peers[from].tell(BigPong).await);
});

handler!(BigWorker, BigPong => (), |s, _, ctx| {
    if s.game.pong() {
        s.ping_next().await;
    }
});

// ===== chameneos =====

struct Mall(chameneos::Mall<ActorRef<Chameneo>>);

struct Chameneo {
    creature: Creature,
    mall: ActorRef<Mall>,
}

struct MeetMall(Color, ActorRef<Chameneo>);
struct Faded(u64);
struct ChamStart;
struct Meet(Color, ActorRef<Chameneo>);
struct Change(Color);
struct Exit;

handler!(Mall, MeetMall => (), |s, MeetMall(color, from), ctx| {
    match s.0.arrive(from) {
        Meeting::Exit(from) => sent(from.tell(Exit).await),
        Meeting::Pair { waiting, arrived } => sent(waiting.tell(Meet(color, arrived)).await),
        Meeting::Wait => {}
    }
});

handler!(Mall, Faded => (), |s, Faded(meetings), ctx| {
    s.0.faded(meetings);
});

impl Chameneo {
    async fn ask_mall(&self, me: ActorRef<Self>) {
        sent(self.mall.tell(MeetMall(self.creature.color(), me)).await);
    }
}

handler!(Chameneo, ChamStart => (), |s, _, ctx| {
    s.ask_mall(ctx.actor_ref().clone()).await;
});

handler!(Chameneo, Meet => (), |s, Meet(color, other), ctx| {
    let color = s.creature.meet(color);
    sent(other.tell(Change(color)).await);
    s.ask_mall(ctx.actor_ref().clone()).await;
});

handler!(Chameneo, Change => (), |s, Change(color), ctx| {
    s.creature.change(color);
    s.ask_mall(ctx.actor_ref().clone()).await;
});

handler!(Chameneo, Exit => (), |s, _, ctx| {
    sent(s.mall.tell(Faded(s.creature.meetings())).await);
});
