//! The broker: accepts tasks, keeps the queue, hands work to the agents
//! that asked for it, collects results, retries, dead-letters, runs chord
//! callbacks, and journals what it must not forget.
//!
//! Its stdout carries one line per event worth seeing (`AGENT`,
//! `REQUEUED`, `RETRY`, `DEAD`, `RECOVERED`, `PENDING`, `ACCEPTED`), which
//! the demo shows and the tests wait for.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use proscenium::net::NodeEvent;
use proscenium::prelude::*;
use proscenium::NodeId;
use tokio::sync::{broadcast, mpsc};

use crate::client::Listener;
use crate::journal::{Counters, Journal, Recovered};
use crate::protocol::{
    self, Assign, BrokerReport, Chord, Completed, Connect, Credit, Done, Outcome, Register, Report,
    Submit, Subscribe, TaskId, TaskSpec, Work, BROKER_GROUP,
};
use crate::worker::Agent;

/// How the broker retries failed attempts.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The delay before the first retry (before jitter).
    pub base: Duration,
    /// No delay is longer.
    pub cap: Duration,
}

impl Backoff {
    /// The delay before retry `retry` (from 1): `base × 2^(retry-1)`,
    /// capped, then scaled by `0.5 + random / 2` for a `random` in
    /// [0, 1) ("equal jitter"): tasks that failed together retry apart,
    /// and no delay is below half its exponential step.
    pub fn delay(&self, retry: u32, random: f64) -> Duration {
        let exponential = self
            .base
            .saturating_mul(2u32.saturating_pow(retry.saturating_sub(1)));
        exponential
            .min(self.cap)
            .mul_f64(0.5 + random.clamp(0.0, 1.0) / 2.0)
    }
}

/// How to run the broker process.
#[derive(Debug, Clone)]
pub struct BrokerOptions {
    pub listen: SocketAddr,
    /// The journal's directory.
    pub data: PathBuf,
    /// Members to rejoin through (the cluster of a restarted broker).
    pub seeds: Vec<SocketAddr>,
    pub backoff: Backoff,
}

/// Runs the broker node until stdin says `quit` (or closes, with `lifeline`).
pub async fn serve(options: BrokerOptions, lifeline: bool) -> Result<(), crate::Error> {
    let node = protocol::start_node("broker", options.listen, &options.seeds).await?;
    // The journal's thread reports durable outcomes into a channel that
    // a task forwards to the broker once it runs.
    let (committed, mut durable) = mpsc::unbounded_channel();
    let (journal, recovered) = Journal::open(&options.data, move |outcomes| {
        let _ = committed.send(outcomes);
    })?;
    let broker = Broker::recover(journal, recovered, options.backoff);
    let broker = node.system().spawn_named("broker", broker)?;
    let forward = broker.clone();
    tokio::spawn(async move {
        while let Some(outcomes) = durable.recv().await {
            if forward.tell(Journaled(outcomes)).await.is_err() {
                break;
            }
        }
    });
    forward_node_losses(node.events(), broker.clone());
    node.join_group::<Connect, Broker>(BROKER_GROUP, &broker)?;
    let addr = node.local_addr().ok_or("the broker is not listening")?;
    println!("READY {addr}");
    crate::wait_for_quit(lifeline).await;
    node.shutdown().await;
    Ok(())
}

/// Tells the broker about every node that went away: its link closed
/// (a killed process is noticed at once) or membership declared it down
/// or gone.
fn forward_node_losses(mut events: broadcast::Receiver<NodeEvent>, broker: ActorRef<Broker>) {
    tokio::spawn(async move {
        loop {
            let node = match events.recv().await {
                Ok(NodeEvent::NodeDown { node, .. })
                | Ok(NodeEvent::MemberDown { node, .. })
                | Ok(NodeEvent::MemberLeft { node, .. }) => node,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            };
            if broker.tell(NodeLost(node)).await.is_err() {
                break;
            }
        }
    });
}

/// The queue and its bookkeeping; see the module docs.
pub struct Broker {
    journal: Journal,
    backoff: Backoff,
    tasks: HashMap<TaskId, Entry>,
    /// Tasks to hand out, oldest first (entries no longer `Ready` are skipped).
    ready: VecDeque<TaskId>,
    agents: HashMap<ActorId, AgentSlot>,
    /// Durable outcomes.
    outcomes: HashMap<TaskId, Outcome>,
    /// Chords whose callback does not exist yet, by callback id.
    chords: HashMap<TaskId, Chord>,
    /// Header task → its chord's callback.
    chord_of: HashMap<TaskId, TaskId>,
    subscribers: Vec<ActorRef<Listener>>,
    counters: Counters,
    random: u64,
}

impl Actor for Broker {
    async fn on_start(&mut self, _: &mut Context<Self>) -> Result<(), ActorError> {
        // Chords whose header finished before a crash, but whose callback
        // was not journaled yet, get it now.
        let complete: Vec<TaskId> = self
            .chords
            .keys()
            .copied()
            .filter(|&callback| self.chord_header_done(callback))
            .collect();
        for callback in complete {
            self.finish_chord(callback).await;
        }
        Ok(())
    }
}

struct Entry {
    spec: TaskSpec,
    /// Attempts handed out so far.
    attempts: u32,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    Running {
        agent: ActorId,
    },
    /// Waiting out a retry's backoff.
    Backoff,
    /// Has its first result (journaled or on its way there).
    Finished,
}

struct AgentSlot {
    agent: ActorRef<Agent>,
    node: String,
    /// Tasks the agent still takes.
    credit: u32,
    running: HashSet<TaskId>,
}

/// A node run went away: requeue what its agents were running.
struct NodeLost(NodeId);
impl Message for NodeLost {
    type Reply = ();
}

/// A retry's backoff is over.
struct RetryDue(TaskId);
impl Message for RetryDue {
    type Reply = ();
}

/// These outcomes are durable now.
struct Journaled(Vec<(TaskId, Outcome)>);
impl Message for Journaled {
    type Reply = ();
}

impl Broker {
    /// A broker over what the journal held: unfinished tasks are queued again.
    fn recover(journal: Journal, recovered: Recovered, backoff: Backoff) -> Self {
        let outcomes: HashMap<TaskId, Outcome> = recovered.outcomes.into_iter().collect();
        let mut broker = Self {
            journal,
            backoff,
            tasks: HashMap::new(),
            ready: VecDeque::new(),
            agents: HashMap::new(),
            outcomes,
            chords: HashMap::new(),
            chord_of: HashMap::new(),
            subscribers: Vec::new(),
            counters: recovered.counters,
            random: seed(),
        };
        let total = recovered.tasks.len();
        let mut pending = Vec::new();
        for spec in recovered.tasks {
            let finished = broker.outcomes.contains_key(&spec.id);
            if !finished {
                pending.push(spec.id);
            }
            broker.insert(spec, finished);
        }
        for chord in recovered.chords {
            let callback = chord.callback;
            if !broker.tasks.contains_key(&callback) && !broker.outcomes.contains_key(&callback) {
                broker.add_chord(chord);
            }
        }
        if total > 0 {
            let dead = broker
                .outcomes
                .values()
                .filter(|o| matches!(o, Outcome::Dead { .. }))
                .count();
            println!(
                "RECOVERED tasks={total} done={} dead={dead} pending={}",
                broker.outcomes.len() - dead,
                pending.len()
            );
            for task in pending.iter().take(1000) {
                println!("PENDING {task}");
            }
        }
        broker
    }

    fn insert(&mut self, spec: TaskSpec, finished: bool) {
        let id = spec.id;
        let state = if finished {
            State::Finished
        } else {
            self.ready.push_back(id);
            State::Ready
        };
        self.tasks.insert(
            id,
            Entry {
                spec,
                attempts: 0,
                state,
            },
        );
    }

    fn add_chord(&mut self, chord: Chord) {
        for &task in &chord.header {
            self.chord_of.insert(task, chord.callback);
        }
        self.chords.insert(chord.callback, chord);
    }

    fn chord_header_done(&self, callback: TaskId) -> bool {
        self.chords.get(&callback).is_some_and(|chord| {
            chord
                .header
                .iter()
                .all(|task| self.outcomes.contains_key(task))
        })
    }

    /// Creates a chord's callback once its whole header has outcomes: a
    /// sum of their values, or dead if one of them is.
    async fn finish_chord(&mut self, callback: TaskId) {
        let Some(chord) = self.chords.remove(&callback) else {
            return;
        };
        let mut values = Vec::with_capacity(chord.header.len());
        for task in &chord.header {
            self.chord_of.remove(task);
            match self.outcomes.get(task) {
                Some(Outcome::Value { value, .. }) => values.push(*value),
                Some(Outcome::Dead { .. }) | None => {
                    let reason = format!("chord header task {task} is dead");
                    println!("DEAD {callback} {reason}");
                    self.mark_finished(
                        callback,
                        Outcome::Dead {
                            reason,
                            attempts: 0,
                        },
                    );
                    return;
                }
            }
        }
        let spec = TaskSpec {
            id: callback,
            work: Work::Sum { values },
            retries: chord.retries,
            time_limit_ms: chord.time_limit_ms,
        };
        match self.journal.accept(vec![spec.clone()], Vec::new()).await {
            Ok(()) => self.insert(spec, false),
            // The writer exits the process on a failed commit; this is that exit racing us.
            Err(error) => tracing::error!(%error, "could not journal a chord callback"),
        }
    }

    fn mark_finished(&mut self, task: TaskId, outcome: Outcome) {
        if let Some(entry) = self.tasks.get_mut(&task) {
            entry.state = State::Finished;
        }
        self.journal.finish(task, outcome);
    }

    /// Hands ready tasks to agents with credit, the one with the most
    /// credit first, until either runs out.
    async fn dispatch(&mut self) {
        loop {
            let Some(agent) = self
                .agents
                .iter()
                .filter(|(_, slot)| slot.credit > 0)
                .max_by_key(|(_, slot)| slot.credit)
                .map(|(&id, _)| id)
            else {
                return;
            };
            let Some(task) = self.next_ready() else {
                return;
            };
            let (Some(entry), Some(slot)) =
                (self.tasks.get_mut(&task), self.agents.get_mut(&agent))
            else {
                return;
            };
            entry.state = State::Running { agent };
            entry.attempts += 1;
            slot.credit -= 1;
            slot.running.insert(task);
            let assign = Assign {
                task: entry.spec.clone(),
                attempt: entry.attempts,
            };
            if slot.agent.tell(assign).await.is_err() {
                self.lose_agent(agent);
            }
        }
    }

    fn next_ready(&mut self) -> Option<TaskId> {
        while let Some(task) = self.ready.pop_front() {
            if self
                .tasks
                .get(&task)
                .is_some_and(|e| e.state == State::Ready)
            {
                return Some(task);
            }
        }
        None
    }

    /// Forgets an agent and puts the tasks it was running back at the
    /// front of the queue.
    fn lose_agent(&mut self, agent: ActorId) {
        let Some(slot) = self.agents.remove(&agent) else {
            return;
        };
        let mut requeued = 0;
        let mut running: Vec<TaskId> = slot.running.into_iter().collect();
        running.sort_unstable();
        for task in running.into_iter().rev() {
            let Some(entry) = self.tasks.get_mut(&task) else {
                continue;
            };
            if entry.state == (State::Running { agent }) {
                entry.state = State::Ready;
                self.ready.push_front(task);
                requeued += 1;
                println!("REQUEUED {task} from {}", slot.node);
            }
        }
        println!("AGENT lost {} requeued={requeued}", slot.node);
        self.counters.requeued += requeued;
        self.journal.count(Counters {
            requeued,
            ..Counters::default()
        });
    }

    fn next_random(&mut self) -> f64 {
        // xorshift64*: plenty for jitter.
        self.random ^= self.random >> 12;
        self.random ^= self.random << 25;
        self.random ^= self.random >> 27;
        (self.random.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn failed(
        &mut self,
        ctx: &mut Context<Self>,
        agent: ActorId,
        task: TaskId,
        attempt: u32,
        reason: String,
    ) {
        let Some(entry) = self.tasks.get_mut(&task) else {
            return;
        };
        // A failure of an attempt that is no longer the current one (the
        // task was requeued and handed out again) changes nothing.
        let current = entry.state == (State::Running { agent }) && attempt == entry.attempts;
        if !current {
            return;
        }
        if entry.attempts > entry.spec.retries {
            println!("DEAD {task} {reason}");
            let attempts = entry.attempts;
            self.mark_finished(task, Outcome::Dead { reason, attempts });
            return;
        }
        entry.state = State::Backoff;
        let retry = entry.attempts;
        let random = self.next_random();
        let delay = self.backoff.delay(retry, random);
        println!(
            "RETRY {task} attempt={attempt} delay_ms={} {reason}",
            delay.as_millis()
        );
        self.counters.retries += 1;
        self.journal.count(Counters {
            retries: 1,
            ..Counters::default()
        });
        ctx.send_after(RetryDue(task), delay);
    }
}

fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1
}

impl Handler<Connect> for Broker {
    async fn handle(&mut self, _: Connect, ctx: &mut Context<Self>) -> ActorRef<Broker> {
        ctx.actor_ref().clone()
    }
}

impl Handler<Register> for Broker {
    async fn handle(&mut self, register: Register, _: &mut Context<Self>) {
        let id = register.agent.id();
        println!("AGENT up {} credit={}", register.node, register.credit);
        let slot = self.agents.entry(id).or_insert_with(|| AgentSlot {
            agent: register.agent.clone(),
            node: register.node.clone(),
            credit: 0,
            running: HashSet::new(),
        });
        slot.agent = register.agent;
        slot.credit = register.credit;
        self.dispatch().await;
    }
}

impl Handler<Credit> for Broker {
    async fn handle(&mut self, credit: Credit, _: &mut Context<Self>) {
        if let Some(slot) = self.agents.get_mut(&credit.agent) {
            slot.credit += credit.more;
            println!("AGENT credit {} +{}", slot.node, credit.more);
        }
        self.dispatch().await;
    }
}

impl Handler<Done> for Broker {
    async fn handle(&mut self, done: Done, ctx: &mut Context<Self>) {
        let agent = done.agent.id();
        // An agent given up for lost that still works is taken back, with
        // the credit this result returns (and each later one).
        let slot = self.agents.entry(agent).or_insert_with(|| {
            println!("AGENT back {}", done.node);
            AgentSlot {
                agent: done.agent.clone(),
                node: done.node.clone(),
                credit: 0,
                running: HashSet::new(),
            }
        });
        slot.running.remove(&done.task);
        slot.credit += done.credit;
        match done.result {
            Ok(value) => {
                let node = done.node;
                match self.tasks.get(&done.task).map(|e| e.state) {
                    Some(State::Finished) => {
                        self.counters.duplicates += 1;
                        self.journal.count(Counters {
                            duplicates: 1,
                            ..Counters::default()
                        });
                    }
                    Some(_) => {
                        let attempt = done.attempt;
                        self.mark_finished(
                            done.task,
                            Outcome::Value {
                                value,
                                node,
                                attempt,
                            },
                        );
                    }
                    None => {}
                }
            }
            Err(reason) => self.failed(ctx, agent, done.task, done.attempt, reason),
        }
        self.dispatch().await;
    }
}

impl Handler<RetryDue> for Broker {
    async fn handle(&mut self, RetryDue(task): RetryDue, _: &mut Context<Self>) {
        if let Some(entry) = self.tasks.get_mut(&task) {
            if entry.state == State::Backoff {
                entry.state = State::Ready;
                self.ready.push_back(task);
            }
        }
        self.dispatch().await;
    }
}

impl Handler<NodeLost> for Broker {
    async fn handle(&mut self, NodeLost(node): NodeLost, _: &mut Context<Self>) {
        let lost: Vec<ActorId> = self
            .agents
            .keys()
            .copied()
            .filter(|agent| agent.node() == node)
            .collect();
        for agent in lost {
            self.lose_agent(agent);
        }
        self.subscribers.retain(|s| s.id().node() != node);
        self.dispatch().await;
    }
}

impl Handler<Journaled> for Broker {
    async fn handle(&mut self, Journaled(outcomes): Journaled, _: &mut Context<Self>) {
        let mut chords_done = Vec::new();
        for (task, outcome) in outcomes {
            let completed = Completed {
                task,
                outcome: outcome.clone(),
            };
            let mut gone = Vec::new();
            for subscriber in &self.subscribers {
                if subscriber.tell(completed.clone()).await.is_err() {
                    gone.push(subscriber.id());
                }
            }
            self.subscribers.retain(|s| !gone.contains(&s.id()));
            self.outcomes.insert(task, outcome);
            if let Some(&callback) = self.chord_of.get(&task) {
                if self.chord_header_done(callback) {
                    chords_done.push(callback);
                }
            }
        }
        for callback in chords_done {
            self.finish_chord(callback).await;
        }
        self.dispatch().await;
    }
}

impl Handler<Submit> for Broker {
    async fn handle(&mut self, submit: Submit, _: &mut Context<Self>) -> Result<usize, String> {
        let known =
            |task: &TaskId| self.tasks.contains_key(task) || self.outcomes.contains_key(task);
        let tasks: Vec<TaskSpec> = submit.tasks.into_iter().filter(|t| !known(&t.id)).collect();
        let chords: Vec<Chord> = submit
            .chords
            .into_iter()
            .filter(|c| !known(&c.callback) && !self.chords.contains_key(&c.callback))
            .collect();
        let submitted: HashSet<TaskId> = tasks.iter().map(|t| t.id).collect();
        for chord in &chords {
            if let Some(stranger) = chord
                .header
                .iter()
                .find(|task| !submitted.contains(task) && !known(task))
            {
                return Err(format!(
                    "chord {} names task {stranger}, which is neither submitted nor known",
                    chord.callback
                ));
            }
        }
        self.journal.accept(tasks.clone(), chords.clone()).await?;
        let accepted = tasks.len();
        for spec in tasks {
            self.insert(spec, false);
        }
        for chord in chords {
            let callback = chord.callback;
            self.add_chord(chord);
            if self.chord_header_done(callback) {
                self.finish_chord(callback).await;
            }
        }
        println!("ACCEPTED {accepted}");
        self.dispatch().await;
        Ok(accepted)
    }
}

impl Handler<Subscribe> for Broker {
    async fn handle(&mut self, subscribe: Subscribe, _: &mut Context<Self>) -> Vec<Completed> {
        let id = subscribe.to.id();
        self.subscribers.retain(|s| s.id() != id);
        self.subscribers.push(subscribe.to);
        self.outcomes
            .iter()
            .map(|(&task, outcome)| Completed {
                task,
                outcome: outcome.clone(),
            })
            .collect()
    }
}

impl Handler<Report> for Broker {
    async fn handle(&mut self, _: Report, _: &mut Context<Self>) -> BrokerReport {
        let mut per_node: HashMap<&str, u64> = HashMap::new();
        let mut report = BrokerReport {
            accepted: self.tasks.len() as u64,
            duplicates: self.counters.duplicates,
            retries: self.counters.retries,
            requeued: self.counters.requeued,
            recoveries: self.counters.recoveries,
            ..BrokerReport::default()
        };
        for outcome in self.outcomes.values() {
            match outcome {
                Outcome::Value { node, .. } => {
                    report.succeeded += 1;
                    *per_node.entry(node).or_default() += 1;
                }
                Outcome::Dead { .. } => report.dead += 1,
            }
        }
        report.per_node = per_node
            .into_iter()
            .map(|(n, c)| (n.to_owned(), c))
            .collect();
        report.per_node.sort();
        report
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_jitters_and_caps() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        assert_eq!(backoff.delay(1, 0.0), Duration::from_millis(50));
        assert_eq!(backoff.delay(3, 0.0), Duration::from_millis(200));
        assert!(backoff.delay(3, 0.999) < Duration::from_millis(400));
        assert_eq!(backoff.delay(30, 0.0), Duration::from_millis(500));
    }
}
