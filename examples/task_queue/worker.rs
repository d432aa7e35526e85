//! A worker node: one [`Agent`] that pulls tasks from the broker, and a
//! local pool of [`Executor`]s (one per core by default) that run them.
//!
//! Dispatch is pull-based: the agent grants the broker credit for
//! `slots × prefetch` tasks and hands one credit back with each result,
//! so the broker never sends a worker more than it asked for. With the
//! default prefetch of 1 a worker holds only tasks it is running: a
//! short task is never queued behind a long one on a busy worker while
//! another worker is free.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;

use proscenium::prelude::*;
use tokio::sync::mpsc;

use crate::broker::Broker;
use crate::discovery::{follow_broker, BrokerChange};
use crate::protocol::{self, Assign, Credit, Done, Register, TaskId};

/// How to run a worker process.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Its node name, unique in the cluster.
    pub name: String,
    pub listen: SocketAddr,
    pub seeds: Vec<SocketAddr>,
    /// Executors (tasks run at once).
    pub slots: usize,
    /// Tasks held per executor, running or waiting.
    pub prefetch: u32,
}

/// Runs a worker node until stdin says `quit` (or closes, with
/// `lifeline`); `resize N` on stdin resizes its pool to N executors and
/// answers `RESIZED N`.
pub async fn serve(options: WorkerOptions, lifeline: bool) -> Result<(), crate::Error> {
    let node = protocol::start_node(&options.name, options.listen, &options.seeds).await?;
    let agent = node.system().spawn(Agent::new(&options))?;
    agent.wait_started().await?;
    let (changes, mut follow) = mpsc::unbounded_channel();
    follow_broker(node.clone(), changes);
    let to_agent = agent.clone();
    tokio::spawn(async move {
        while let Some(change) = follow.recv().await {
            if to_agent.tell(change).await.is_err() {
                break;
            }
        }
    });
    let addr = node.local_addr().ok_or("the worker is not listening")?;
    println!("READY {addr}");
    let mut commands = crate::stdin_commands(lifeline);
    while let Some(command) = commands.recv().await {
        if let Some(size) = command.strip_prefix("resize ") {
            match size.trim().parse::<usize>() {
                Ok(size) => {
                    let size = agent.ask(Resize(size)).await?;
                    println!("RESIZED {size}");
                }
                Err(_) => eprintln!("resize needs a number of executors, got `{size}`"),
            }
        }
    }
    node.shutdown().await;
    Ok(())
}

/// A worker node's contact with the broker: takes assignments, keeps
/// them until an executor is free, and reports each attempt's end.
pub struct Agent {
    name: String,
    slots: usize,
    prefetch: u32,
    pool: Option<Pool<Executor>>,
    /// The pool's current executors.
    executors: HashSet<ActorId>,
    idle: Vec<ActorRef<Executor>>,
    /// Executors running an attempt.
    busy: HashSet<ActorId>,
    /// Assignments waiting for an idle executor.
    waiting: VecDeque<Assign>,
    broker: Option<ActorRef<Broker>>,
    /// Credit to keep back after the pool shrank.
    withheld: u32,
}

impl Agent {
    fn new(options: &WorkerOptions) -> Self {
        Self {
            name: options.name.clone(),
            slots: options.slots.max(1),
            prefetch: options.prefetch.max(1),
            pool: None,
            executors: HashSet::new(),
            idle: Vec::new(),
            busy: HashSet::new(),
            waiting: VecDeque::new(),
            broker: None,
            withheld: 0,
        }
    }

    fn capacity(&self) -> u32 {
        u32::try_from(self.slots).unwrap_or(u32::MAX) * self.prefetch
    }

    fn held(&self) -> u32 {
        u32::try_from(self.waiting.len() + self.busy.len()).unwrap_or(u32::MAX)
    }

    fn refresh_executors(&mut self) {
        let workers = self.pool.as_ref().map(Pool::workers).unwrap_or_default();
        self.executors = workers.iter().map(ActorRef::id).collect();
        self.idle = workers
            .into_iter()
            .filter(|e| !self.busy.contains(&e.id()))
            .collect();
    }

    /// Starts waiting assignments on idle executors.
    async fn start_waiting(&mut self, ctx: &mut Context<Self>) {
        while !self.waiting.is_empty() {
            let Some(executor) = self.idle.pop() else {
                return;
            };
            let Some(assign) = self.waiting.pop_front() else {
                return;
            };
            self.busy.insert(executor.id());
            let run = Run {
                assign,
                agent: ctx.actor_ref().clone(),
            };
            if let Err(refused) = executor.tell(run).await {
                // Only a stopped executor refuses; its task waits for another.
                self.busy.remove(&executor.id());
                self.waiting.push_front(refused.into_inner().assign);
            }
        }
    }
}

impl Actor for Agent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        let pool = Pool::builder(|| Executor)
            .size(self.slots)
            .spawn(ctx.system())
            .await?;
        self.pool = Some(pool);
        self.refresh_executors();
        Ok(())
    }
}

impl Message for BrokerChange {
    type Reply = ();
}

impl Handler<BrokerChange> for Agent {
    async fn handle(&mut self, change: BrokerChange, ctx: &mut Context<Self>) {
        match change {
            BrokerChange::Found(broker) => {
                let credit = self.capacity().saturating_sub(self.held());
                self.withheld = 0;
                let register = Register {
                    agent: ctx.actor_ref().clone(),
                    node: self.name.clone(),
                    credit,
                };
                if broker.tell(register).await.is_ok() {
                    println!("BROKER found {}", broker.id().node());
                    self.broker = Some(broker);
                }
            }
            BrokerChange::Lost => {
                // The broker (or its successor, from the journal) puts
                // these back in its queue; they are not ours any more.
                self.waiting.clear();
                self.broker = None;
                println!("BROKER lost");
            }
        }
    }
}

impl Handler<Assign> for Agent {
    async fn handle(&mut self, assign: Assign, ctx: &mut Context<Self>) {
        self.waiting.push_back(assign);
        self.start_waiting(ctx).await;
    }
}

/// Grows or shrinks the pool; answers the new size.
struct Resize(usize);
impl Message for Resize {
    type Reply = usize;
}

impl Handler<Resize> for Agent {
    async fn handle(&mut self, Resize(size): Resize, ctx: &mut Context<Self>) -> usize {
        let size = size.max(1);
        let Some(pool) = &self.pool else {
            return self.slots;
        };
        if pool.resize(size).await.is_err() {
            return self.slots;
        }
        let before = self.capacity();
        self.slots = size;
        let after = self.capacity();
        self.refresh_executors();
        if after < before {
            self.withheld += before - after;
        } else {
            let mut more = after - before;
            let settled = more.min(self.withheld);
            self.withheld -= settled;
            more -= settled;
            if let (Some(broker), true) = (&self.broker, more > 0) {
                let credit = Credit {
                    agent: ctx.id(),
                    more,
                };
                let _ = broker.tell(credit).await;
            }
        }
        self.start_waiting(ctx).await;
        self.slots
    }
}

/// An executor finished an attempt.
struct Finished {
    executor: ActorRef<Executor>,
    task: TaskId,
    attempt: u32,
    result: Result<u64, String>,
}
impl Message for Finished {
    type Reply = ();
}

impl Handler<Finished> for Agent {
    async fn handle(&mut self, finished: Finished, ctx: &mut Context<Self>) {
        let executor = finished.executor.id();
        self.busy.remove(&executor);
        if self.executors.contains(&executor) {
            self.idle.push(finished.executor);
        }
        let credit = if self.withheld > 0 {
            self.withheld -= 1;
            0
        } else {
            1
        };
        if let Some(broker) = &self.broker {
            let done = Done {
                agent: ctx.actor_ref().clone(),
                node: self.name.clone(),
                task: finished.task,
                attempt: finished.attempt,
                result: finished.result,
                credit,
            };
            // A lost result is run again: the broker requeues what an
            // unreachable worker held.
            let _ = broker.tell(done).await;
        }
        self.start_waiting(ctx).await;
    }
}

/// Runs one attempt at a time for its agent.
pub struct Executor;
impl Actor for Executor {}

/// Run this assignment and tell `agent` how it ended.
struct Run {
    assign: Assign,
    agent: ActorRef<Agent>,
}
impl Message for Run {
    type Reply = ();
}

impl Handler<Run> for Executor {
    async fn handle(&mut self, run: Run, ctx: &mut Context<Self>) {
        let Assign { task, attempt } = run.assign;
        let result = crate::work::run(&task, attempt).await;
        let finished = Finished {
            executor: ctx.actor_ref().clone(),
            task: task.id,
            attempt,
            result,
        };
        // The agent outlives its executors; a failed tell means shutdown.
        let _ = run.agent.tell(finished).await;
    }
}
