//! The workloads on ractor. ractor actors take one message enum each and
//! keep their state apart from the actor value; `spawn` awaits `pre_start`.
//! Tells are `cast` (unbounded mailboxes), asks are `call`.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::{mpsc, oneshot};

use super::{on_tokio, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome, Report,
};

/// ractor, from crates.io.
#[derive(Debug, Clone, Copy)]
pub struct Ractor;

type Handled = Result<(), ActorProcessingErr>;

async fn start<A: Actor<Arguments = S, State = S>, S>(actor: A, state: S) -> ActorRef<A::Msg> {
    Actor::spawn(None, actor, state).await.expect("spawn").0
}

fn reply<T>(result: Result<CallResult<T>, impl std::fmt::Debug>) -> T {
    match result.expect("call") {
        CallResult::Success(value) => value,
        _ => panic!("call failed"),
    }
}

impl Framework for Ractor {
    fn name(&self) -> &'static str {
        "ractor"
    }

    fn version(&self) -> &'static str {
        env!("RACTOR_VERSION")
    }

    fn runtime(&self) -> &'static str {
        /// The tokio runtime's description, then where the remote
        /// workloads run.
        macro_rules! with_cluster {
            ($tokio:expr) => {
                concat!(
                    $tokio,
                    "; remote workloads on ractor_cluster ",
                    env!("RACTOR_CLUSTER_VERSION"),
                    " (bench/ractor-cluster)"
                )
            };
        }
        if super::on_current_thread() {
            with_cluster!(super::tokio_current_thread!())
        } else {
            with_cluster!(super::tokio_multi_thread!())
        }
    }

    fn remote_tell(&self, params: &crate::workloads::remote_tell::Params) -> Outcome {
        crate::ractor_cluster::tell(params)
    }

    fn remote_ask(&self, params: &crate::workloads::remote_ask::Params) -> Outcome {
        crate::ractor_cluster::ask(params)
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, sum) = oneshot::channel();
            let summer = start(Summer, tell::Summer::new(&p, done)).await;
            let begin = Instant::now();
            for i in 1..=p.messages {
                summer.cast(i).expect("cast");
            }
            let sum = sum.await.expect("the summer reports");
            let elapsed = begin.elapsed();
            summer.stop(None);
            p.measured(elapsed, sum)
        })
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let echo = start(Echo, ()).await;
            let mut latencies = Vec::with_capacity(p.asks as usize);
            for i in 0..p.asks {
                let begin = Instant::now();
                let r = reply(echo.call(|port| (i, port), None).await);
                latencies.push(begin.elapsed());
                assert_eq!(r, i + 1, "ask: wrong reply");
            }
            echo.stop(None);
            p.measured(latencies)
        })
    }

    fn spawn(&self, params: &spawn::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (started, all_started) = Countdown::new(p.actors);
            let before = resident_bytes();
            let begin = Instant::now();
            let mut actors = Vec::with_capacity(p.actors);
            for _ in 0..p.actors {
                let spawned = Actor::spawn(None, Idle, started.clone()).await;
                actors.push(spawned.expect("spawn"));
            }
            all_started.await.expect("every actor starts");
            let spawn = begin.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let begin = Instant::now();
            for (actor, _) in &actors {
                actor.stop(None);
            }
            for (_, handle) in actors {
                handle.await.expect("the actor ends");
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
            let mut workers = Vec::with_capacity(p.workers);
            for index in 0..p.workers {
                let state = BigState {
                    game: big::Worker::new(index, &p, done.clone()),
                    peers: Vec::new(),
                };
                workers.push(start(BigWorker, state).await);
            }
            for worker in &workers {
                worker.cast(BigMsg::Peers(workers.clone())).expect("cast");
            }
            let begin = Instant::now();
            for worker in &workers {
                worker.cast(BigMsg::Start).expect("cast");
            }
            let mut pongs = 0;
            for _ in 0..p.workers {
                pongs += reports.recv().await.expect("every worker reports");
            }
            let elapsed = begin.elapsed();
            workers.iter().for_each(|w| w.stop(None));
            p.measured(elapsed, pongs)
        })
    }

    fn chameneos(&self, params: &chameneos::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, faded) = oneshot::channel();
            let mall = start(Mall, chameneos::Mall::new(&p, done)).await;
            let mut chameneos = Vec::with_capacity(p.chameneos);
            for i in 0..p.chameneos {
                let state = ChameneoState {
                    creature: Creature::new(i),
                    mall: mall.clone(),
                };
                chameneos.push(start(Chameneo, state).await);
            }
            let begin = Instant::now();
            for chameneo in &chameneos {
                chameneo.cast(ChamMsg::Start).expect("cast");
            }
            let (faded, total) = faded.await.expect("the mall reports");
            let elapsed = begin.elapsed();
            mall.stop(None);
            p.measured(elapsed, faded, total)
        })
    }

    fn ping_pong(&self, params: &ping_pong::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, pongs) = oneshot::channel();
            let ponger = start(Ponger, ()).await;
            let state = PingerState {
                ponger: ponger.clone(),
                rally: ping_pong::Rally::new(&p, done),
            };
            let pinger = start(Pinger, state).await;
            let begin = Instant::now();
            pinger.cast(PingerMsg::Serve).expect("cast");
            let pongs = pongs.await.expect("the pinger reports");
            let elapsed = begin.elapsed();
            pinger.stop(None);
            ponger.stop(None);
            p.measured(elapsed, pongs)
        })
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, count) = oneshot::channel();
            let counter = start(Counter, 0).await;
            let state = ProducerState {
                counter: counter.clone(),
                messages: p.messages,
                done: Report::new(done),
            };
            let producer = start(Producer, state).await;
            let begin = Instant::now();
            producer.cast(ProducerMsg::Serve).expect("cast");
            let count = count.await.expect("the producer reports");
            let elapsed = begin.elapsed();
            producer.stop(None);
            counter.stop(None);
            p.measured(elapsed, count)
        })
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut holder) = mpsc::unbounded_channel();
            let mut nodes = Vec::with_capacity(p.actors);
            for index in 0..p.actors {
                let state = RingState {
                    place: ring::Place::new(index, done.clone()),
                    next: None,
                };
                nodes.push(start(RingNode, state).await);
            }
            for (i, node) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % nodes.len()].clone();
                node.cast(RingMsg::SetNext(next)).expect("cast");
            }
            let begin = Instant::now();
            nodes[0].cast(RingMsg::Token(p.hops)).expect("cast");
            let holder = holder.recv().await.expect("the last holder reports");
            let elapsed = begin.elapsed();
            nodes.iter().for_each(|n| n.stop(None));
            p.measured(elapsed, holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let mut workers = Vec::with_capacity(p.actors);
            for _ in 0..p.actors {
                let worker = fork_join_throughput::Worker::new(&p, done.clone());
                workers.push(start(Worker, worker).await);
            }
            let begin = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    worker.cast(m as f64).expect("cast");
                }
            }
            let mut handled = Vec::with_capacity(p.actors);
            while handled.len() < p.actors {
                handled.push(reports.recv().await.expect("every worker reports"));
            }
            let elapsed = begin.elapsed();
            workers.iter().for_each(|w| w.stop(None));
            p.measured(elapsed, &handled)
        })
    }

    fn fork_join_create(&self, params: &fork_join_create::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let begin = Instant::now();
            for i in 0..p.actors {
                let once = start(Once, done.clone()).await;
                once.cast(i as f64).expect("cast");
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
            let mut nodes = Vec::with_capacity(p.actors);
            for i in 0..p.actors as u64 {
                nodes.push(start(FanNode, i).await);
            }
            let begin = Instant::now();
            for round in 0..p.rounds {
                let asks = nodes
                    .iter()
                    .map(|n| n.call(move |port| (round, port), None));
                let sum: u64 = join_all(asks).await.into_iter().map(reply).sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            let elapsed = begin.elapsed();
            nodes.iter().for_each(|n| n.stop(None));
            p.measured(elapsed)
        })
    }
}

/// Implements `Actor` whose state is its arguments.
macro_rules! actor {
    ($actor:ident, $msg:ty, $state:ty, |$myself:ident, $message:ident, $st:ident| $body:block) => {
        struct $actor;

        impl Actor for $actor {
            type Msg = $msg;
            type State = $state;
            type Arguments = $state;

            async fn pre_start(&self, _: ActorRef<$msg>, args: $state) -> Result<$state, ActorProcessingErr> {
                Ok(args)
            }

            #[allow(unused_variables)]
            async fn handle(&self, $myself: ActorRef<$msg>, $message: $msg, $st: &mut $state) -> Handled {
                $body
                Ok(())
            }
        }
    };
}

actor!(Summer, u64, tell::Summer, |myself, n, s| {
    s.add(n);
});

actor!(Echo, (u64, RpcReplyPort<u64>), (), |myself, m, s| {
    let _ = m.1.send(m.0 + 1);
});

struct Idle;

impl Actor for Idle {
    type Msg = ();
    type State = ();
    type Arguments = Arc<Countdown>;

    async fn pre_start(
        &self,
        _: ActorRef<()>,
        started: Arc<Countdown>,
    ) -> Result<(), ActorProcessingErr> {
        started.tick();
        Ok(())
    }
}

enum PingerMsg {
    Serve,
    Pong,
}

struct PingerState {
    ponger: ActorRef<ActorRef<PingerMsg>>,
    rally: ping_pong::Rally,
}

actor!(Pinger, PingerMsg, PingerState, |myself, m, s| {
    let ping = match m {
        PingerMsg::Serve => true,
        PingerMsg::Pong => s.rally.pong(),
    };
    if ping {
        s.ponger.cast(myself).expect("cast");
    }
});

actor!(Ponger, ActorRef<PingerMsg>, (), |myself, from, s| {
    from.cast(PingerMsg::Pong).expect("cast");
});

enum CounterMsg {
    Increment,
    Retrieve(ActorRef<ProducerMsg>),
}

actor!(Counter, CounterMsg, u64, |myself, m, count| {
    match m {
        CounterMsg::Increment => *count += 1,
        CounterMsg::Retrieve(to) => to.cast(ProducerMsg::Count(*count)).expect("cast"),
    }
});

enum ProducerMsg {
    Serve,
    Count(u64),
}

struct ProducerState {
    counter: ActorRef<CounterMsg>,
    messages: u64,
    done: Report<u64>,
}

actor!(Producer, ProducerMsg, ProducerState, |myself, m, s| {
    match m {
        ProducerMsg::Serve => {
            for _ in 0..s.messages {
                s.counter.cast(CounterMsg::Increment).expect("cast");
            }
            s.counter.cast(CounterMsg::Retrieve(myself)).expect("cast");
        }
        ProducerMsg::Count(n) => s.done.send(n),
    }
});

enum RingMsg {
    SetNext(ActorRef<RingMsg>),
    Token(u64),
}

struct RingState {
    place: ring::Place,
    next: Option<ActorRef<RingMsg>>,
}

actor!(RingNode, RingMsg, RingState, |myself, m, s| {
    match m {
        RingMsg::SetNext(next) => s.next = Some(next),
        RingMsg::Token(hops) => {
            if let Some(hops) = s.place.token(hops) {
                let next = s.next.as_ref().expect("linked before the token");
                next.cast(RingMsg::Token(hops)).expect("cast");
            }
        }
    }
});

actor!(
    Worker,
    f64,
    fork_join_throughput::Worker,
    |myself, theta, s| {
        s.work(theta);
    }
);

actor!(
    Once,
    f64,
    mpsc::UnboundedSender<()>,
    |myself, theta, done| {
        fork_join_create::work_once(theta, done);
        myself.stop(None);
    }
);

actor!(FanNode, (u64, RpcReplyPort<u64>), u64, |myself, m, i| {
    let _ = m.1.send(*i + m.0);
});

// ===== big =====

enum BigMsg {
    Peers(Vec<ActorRef<BigMsg>>),
    Start,
    Ping(usize),
    Pong,
}

struct BigState {
    game: big::Worker,
    peers: Vec<ActorRef<BigMsg>>,
}

impl BigState {
    fn ping_next(&mut self) {
        let to = self.game.next_peer(self.peers.len());
        let ping = BigMsg::Ping(self.game.index());
        self.peers[to].cast(ping).expect("cast");
    }
}

actor!(BigWorker, BigMsg, BigState, |myself, m, s| {
    match m {
        BigMsg::Peers(peers) => s.peers = peers,
        BigMsg::Start => s.ping_next(),
        BigMsg::Ping(from) => s.peers[from].cast(BigMsg::Pong).expect("cast"),
        BigMsg::Pong => {
            if s.game.pong() {
                s.ping_next();
            }
        }
    }
});

// ===== chameneos =====

enum MallMsg {
    Meet(Color, ActorRef<ChamMsg>),
    Faded(u64),
}

actor!(
    Mall,
    MallMsg,
    chameneos::Mall<ActorRef<ChamMsg>>,
    |myself, m, s| {
        match m {
            MallMsg::Meet(color, from) => match s.arrive(from) {
                Meeting::Exit(from) => from.cast(ChamMsg::Exit).expect("cast"),
                Meeting::Pair { waiting, arrived } => {
                    waiting.cast(ChamMsg::Meet(color, arrived)).expect("cast");
                }
                Meeting::Wait => {}
            },
            MallMsg::Faded(meetings) => {
                s.faded(meetings);
            }
        }
    }
);

enum ChamMsg {
    Start,
    Meet(Color, ActorRef<ChamMsg>),
    Change(Color),
    Exit,
}

struct ChameneoState {
    creature: Creature,
    mall: ActorRef<MallMsg>,
}

actor!(Chameneo, ChamMsg, ChameneoState, |myself, m, s| {
    match m {
        ChamMsg::Start => {}
        ChamMsg::Meet(color, other) => {
            let color = s.creature.meet(color);
            other.cast(ChamMsg::Change(color)).expect("cast");
        }
        ChamMsg::Change(color) => s.creature.change(color),
        ChamMsg::Exit => {
            s.mall
                .cast(MallMsg::Faded(s.creature.meetings()))
                .expect("cast");
            myself.stop(None);
            return Ok(());
        }
    }
    s.mall
        .cast(MallMsg::Meet(s.creature.color(), myself.clone()))
        .expect("cast");
});
