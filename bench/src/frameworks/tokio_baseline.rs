//! The workloads on raw tokio: one task per actor, a
//! `tokio::sync::mpsc::unbounded_channel` as its mailbox and a `oneshot` per
//! ask. No supervision, no ids, no signal lane: the floor a tokio-based
//! actor runtime is measured against.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::{on_tokio, tokio_runtime, Countdown, Framework};
use crate::machine::resident_bytes;
use crate::workloads::chameneos::{Color, Creature, Meeting};
use crate::workloads::{
    ask, big, chameneos, counting, fan_out, fork_join_create, fork_join_throughput, ping_pong,
    ring, spawn, tell, Outcome,
};

/// Plain tokio tasks and channels.
#[derive(Debug, Clone, Copy)]
pub struct TokioBaseline;

type Mailbox<M> = mpsc::UnboundedSender<M>;

/// Spawns a task that calls `handle` on every message until every sender is gone.
fn actor<M, S>(mut state: S, mut handle: impl FnMut(&mut S, M) + Send + 'static) -> Mailbox<M>
where
    M: Send + 'static,
    S: Send + 'static,
{
    actor_with_handle(move |mut rx| async move {
        while let Some(message) = rx.recv().await {
            handle(&mut state, message);
        }
    })
    .0
}

/// Spawns `body` on a fresh mailbox; returns the mailbox and the task.
fn actor_with_handle<M, F>(
    body: impl FnOnce(mpsc::UnboundedReceiver<M>) -> F,
) -> (Mailbox<M>, JoinHandle<()>)
where
    M: Send + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, tokio::spawn(body(rx)))
}

impl Framework for TokioBaseline {
    fn name(&self) -> &'static str {
        "tokio (baseline)"
    }

    fn version(&self) -> &'static str {
        env!("TOKIO_VERSION")
    }

    fn runtime(&self) -> &'static str {
        tokio_runtime()
    }

    fn tell(&self, params: &tell::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, sum) = oneshot::channel();
            let summer = actor(tell::Summer::new(&p, done), tell::Summer::add);
            let start = Instant::now();
            for i in 1..=p.messages {
                summer.send(i).expect("send");
            }
            let sum = sum.await.expect("the summer reports");
            p.measured(start.elapsed(), sum)
        })
    }

    fn ask(&self, params: &ask::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let echo = actor((), |(), (n, reply): (u64, oneshot::Sender<u64>)| {
                let _ = reply.send(n + 1);
            });
            let mut latencies = Vec::with_capacity(p.asks as usize);
            for i in 0..p.asks {
                let start = Instant::now();
                let (tx, rx) = oneshot::channel();
                echo.send((i, tx)).expect("send");
                let reply = rx.await.expect("reply");
                latencies.push(start.elapsed());
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
            let start = Instant::now();
            let actors: Vec<(Mailbox<()>, JoinHandle<()>)> = (0..p.actors)
                .map(|_| {
                    let started = started.clone();
                    actor_with_handle(move |mut rx| async move {
                        started.tick();
                        while rx.recv().await.is_some() {}
                    })
                })
                .collect();
            all_started.await.expect("every actor starts");
            let spawn = start.elapsed();
            let rss_growth = resident_bytes().saturating_sub(before);
            let start = Instant::now();
            let (mailboxes, tasks): (Vec<_>, Vec<_>) = actors.into_iter().unzip();
            drop(mailboxes);
            for task in tasks {
                task.await.expect("the task ends");
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
            let (done, pongs) = oneshot::channel();
            let ponger = actor((), |(), from: Mailbox<()>| {
                from.send(()).expect("send");
            });
            let (me, mut mine) = mpsc::unbounded_channel();
            let start = Instant::now();
            // The pinger: a task of its own with `mine` as its mailbox.
            let mut rally = ping_pong::Rally::new(&p, done);
            tokio::spawn(async move {
                ponger.send(me.clone()).expect("send");
                while mine.recv().await.is_some() && rally.pong() {
                    ponger.send(me.clone()).expect("send");
                }
            });
            let pongs = pongs.await.expect("the pinger reports");
            let elapsed = start.elapsed();
            p.measured(elapsed, pongs)
        })
    }

    fn counting(&self, params: &counting::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            enum ToCounter {
                Increment,
                Retrieve(oneshot::Sender<u64>),
            }
            let counter = actor(0u64, |count, message| match message {
                ToCounter::Increment => *count += 1,
                ToCounter::Retrieve(to) => {
                    let _ = to.send(*count);
                }
            });
            let (done, count) = oneshot::channel();
            let start = Instant::now();
            // The producer: a task of its own, like the actor in the other frameworks.
            tokio::spawn(async move {
                for _ in 0..p.messages {
                    counter.send(ToCounter::Increment).expect("send");
                }
                let (to, count) = oneshot::channel();
                counter.send(ToCounter::Retrieve(to)).expect("send");
                let _ = done.send(count.await.expect("count"));
            });
            let count = count.await.expect("the producer reports");
            p.measured(start.elapsed(), count)
        })
    }

    fn ring(&self, params: &ring::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut holder) = mpsc::unbounded_channel();
            // Each node's first message is its successor's mailbox, then tokens.
            enum Node {
                SetNext(Mailbox<Node>),
                Token(u64),
            }
            let nodes: Vec<Mailbox<Node>> = (0..p.actors)
                .map(|index| {
                    let place = ring::Place::new(index, done.clone());
                    actor(None, move |next: &mut Option<Mailbox<Node>>, m| match m {
                        Node::SetNext(n) => *next = Some(n),
                        Node::Token(hops) => {
                            if let Some(hops) = place.token(hops) {
                                let next = next.as_ref().expect("linked before the token");
                                next.send(Node::Token(hops)).expect("send");
                            }
                        }
                    })
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % nodes.len()].clone();
                node.send(Node::SetNext(next)).expect("send");
            }
            let start = Instant::now();
            nodes[0].send(Node::Token(p.hops)).expect("send");
            let holder = holder.recv().await.expect("the last holder reports");
            p.measured(start.elapsed(), holder)
        })
    }

    fn fork_join_throughput(&self, params: &fork_join_throughput::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let workers: Vec<Mailbox<f64>> = (0..p.actors)
                .map(|_| {
                    let worker = fork_join_throughput::Worker::new(&p, done.clone());
                    actor(worker, fork_join_throughput::Worker::work)
                })
                .collect();
            let start = Instant::now();
            for m in 0..p.messages {
                for worker in &workers {
                    worker.send(m as f64).expect("send");
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
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel::<()>();
            let start = Instant::now();
            for i in 0..p.actors {
                let done = done.clone();
                let (once, _task) = actor_with_handle(move |mut rx| async move {
                    if let Some(theta) = rx.recv().await {
                        fork_join_create::work_once(theta, &done);
                    }
                });
                once.send(i as f64).expect("send");
            }
            let mut count = 0;
            while count < p.actors {
                reports.recv().await.expect("every actor reports");
                count += 1;
            }
            p.measured(start.elapsed(), count)
        })
    }

    fn big(&self, params: &big::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let (done, mut reports) = mpsc::unbounded_channel();
            let (senders, receivers): (Vec<_>, Vec<_>) =
                (0..p.workers).map(|_| mpsc::unbounded_channel()).unzip();
            let peers = Arc::new(senders);
            let start = Instant::now();
            for (index, mut rx) in receivers.into_iter().enumerate() {
                let peers = peers.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    let mut game = big::Worker::new(index, &p, done);
                    let ping_next = |game: &mut big::Worker| {
                        let to = game.next_peer(peers.len());
                        peers[to].send(BigMsg::Ping(game.index())).expect("send");
                    };
                    ping_next(&mut game);
                    while let Some(message) = rx.recv().await {
                        match message {
                            BigMsg::Ping(from) => peers[from].send(BigMsg::Pong).expect("send"),
                            BigMsg::Pong => {
                                if game.pong() {
                                    ping_next(&mut game);
                                }
                            }
                        }
                    }
                });
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
        on_tokio(async move {
            let (mall, mut mall_rx) = mpsc::unbounded_channel::<MallMsg>();
            let (senders, receivers): (Vec<_>, Vec<_>) =
                (0..p.chameneos).map(|_| mpsc::unbounded_channel()).unzip();
            let chameneos = Arc::new(senders);
            let (done, faded) = oneshot::channel();
            let start = Instant::now();
            let all = chameneos.clone();
            // The mall addresses a chameneo by its index into `all`.
            let mut rules = chameneos::Mall::<usize>::new(&p, done);
            tokio::spawn(async move {
                while let Some(message) = mall_rx.recv().await {
                    match message {
                        MallMsg::Meet(color, from) => match rules.arrive(from) {
                            Meeting::Exit(from) => all[from].send(ChamMsg::Exit).expect("send"),
                            Meeting::Pair { waiting, arrived } => all[waiting]
                                .send(ChamMsg::Meet(color, arrived))
                                .expect("send"),
                            Meeting::Wait => {}
                        },
                        MallMsg::Faded(meetings) => {
                            if rules.faded(meetings) {
                                break;
                            }
                        }
                    }
                }
            });
            for (index, mut rx) in receivers.into_iter().enumerate() {
                let chameneos = chameneos.clone();
                let mall = mall.clone();
                tokio::spawn(async move {
                    let mut creature = Creature::new(index);
                    mall.send(MallMsg::Meet(creature.color(), index))
                        .expect("send");
                    while let Some(message) = rx.recv().await {
                        match message {
                            ChamMsg::Meet(other_color, other) => {
                                let color = creature.meet(other_color);
                                chameneos[other].send(ChamMsg::Change(color)).expect("send");
                            }
                            ChamMsg::Change(color) => creature.change(color),
                            ChamMsg::Exit => {
                                mall.send(MallMsg::Faded(creature.meetings()))
                                    .expect("send");
                                break;
                            }
                        }
                        mall.send(MallMsg::Meet(creature.color(), index))
                            .expect("send");
                    }
                });
            }
            let (faded, total) = faded.await.expect("the mall reports");
            p.measured(start.elapsed(), faded, total)
        })
    }

    fn remote_tell(&self, params: &crate::workloads::remote_tell::Params) -> Outcome {
        crate::remote::tokio_tell(params)
    }

    fn remote_ask(&self, params: &crate::workloads::remote_ask::Params) -> Outcome {
        crate::remote::tokio_ask(params)
    }

    fn fan_out(&self, params: &fan_out::Params) -> Outcome {
        let p = *params;
        on_tokio(async move {
            let nodes: Vec<Mailbox<(u64, oneshot::Sender<u64>)>> = (0..p.actors as u64)
                .map(|i| {
                    actor(
                        (),
                        move |(), (round, reply): (u64, oneshot::Sender<u64>)| {
                            let _ = reply.send(i + round);
                        },
                    )
                })
                .collect();
            let start = Instant::now();
            for round in 0..p.rounds {
                let asks = nodes.iter().map(|node| async move {
                    let (tx, rx) = oneshot::channel();
                    node.send((round, tx)).expect("send");
                    rx.await.expect("reply")
                });
                let sum: u64 = join_all(asks).await.into_iter().sum();
                assert_eq!(sum, p.expected_round_sum(round), "fan-out: wrong sum");
            }
            p.measured(start.elapsed())
        })
    }
}

// ===== big and chameneos =====

enum BigMsg {
    Ping(usize),
    Pong,
}

enum MallMsg {
    Meet(Color, usize),
    Faded(u64),
}

enum ChamMsg {
    Meet(Color, usize),
    Change(Color),
    Exit,
}
