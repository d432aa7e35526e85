//! What crosses the wire between the client, the broker and the workers:
//! task descriptions, outcomes, and the messages of each conversation.
//!
//! * Discovery: the broker joins the process group [`BROKER_GROUP`] as a
//!   receiver of [`Connect`]; anyone asks a member `Connect` and gets the
//!   broker's full ref back.
//! * Dispatch (pull): an [`Agent`] (one per worker node) [`Register`]s
//!   with the credit it wants (slots × prefetch); the broker sends at most
//!   that many [`Assign`]s before a [`Done`] hands credit back.
//! * Clients: [`Submit`] a batch (ids chosen by the client, so a resubmit
//!   after a broker crash is harmless), [`Subscribe`] to [`Completed`]
//!   outcomes, ask a [`Report`].

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use proscenium::net::{Node, NodeError, Registry, RemoteMessage};
use proscenium::prelude::*;
use serde::{Deserialize, Serialize};

use crate::broker::Broker;
use crate::client::Listener;
use crate::worker::Agent;

/// The process group the broker joins, as a receiver of [`Connect`].
pub const BROKER_GROUP: &str = "task_queue.broker";

/// The secret the demo's nodes share unless `PROSCENIUM_SECRET` gives one.
pub const DEMO_SECRET: &str = "task_queue demo secret: set PROSCENIUM_SECRET in production";

/// The cluster secret: `PROSCENIUM_SECRET`, or the demo's one with a
/// warning (on stderr, once per process) that anyone who has read this
/// file can join such a cluster.
pub fn secret() -> Vec<u8> {
    static SECRET: OnceLock<Vec<u8>> = OnceLock::new();
    SECRET.get_or_init(read_secret).clone()
}

fn read_secret() -> Vec<u8> {
    match std::env::var("PROSCENIUM_SECRET") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => {
            eprintln!(
                "warning: PROSCENIUM_SECRET is not set; using the PUBLIC demo secret. \
                 Anyone can join this cluster: generate a secret with `openssl rand -hex 32` \
                 and set PROSCENIUM_SECRET to it on every host before using it beyond \
                 this machine."
            );
            DEMO_SECRET.as_bytes().to_vec()
        }
    }
}

/// A task's id, chosen by the client: its batch in the high 32 bits, its
/// index in the low ones.
pub type TaskId = u64;

/// What a task computes; every kind answers a `u64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Work {
    /// The sum of the primes `p` with `from <= p < to`.
    SumPrimes { from: u64, to: u64 },
    /// Sleeps `ms` milliseconds, then answers `value`.
    Sleep { ms: u64, value: u64 },
    /// Fails its first `failures` attempts on purpose, then answers `value`.
    Flaky { failures: u32, value: u64 },
    /// Never finishes: only its time limit ends it.
    Hang,
    /// A chord's callback: the sum of its header's results.
    Sum { values: Vec<u64> },
}

/// One task as submitted: what to do and how hard to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    /// Unique in the broker's journal.
    pub id: TaskId,
    /// What to compute.
    pub work: Work,
    /// Retries after a failed attempt before the task is dead-lettered.
    pub retries: u32,
    /// How long one attempt may run before it fails.
    pub time_limit_ms: u64,
}

impl TaskSpec {
    /// The time limit of one attempt.
    pub fn time_limit(&self) -> Duration {
        Duration::from_millis(self.time_limit_ms)
    }
}

/// A group of tasks with a callback task that runs once all of them have
/// succeeded, on their results (Celery's chord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chord {
    /// The tasks whose results the callback sums, all in the same `Submit`.
    pub header: Vec<TaskId>,
    /// The callback's id.
    pub callback: TaskId,
    /// The callback's retries.
    pub retries: u32,
    /// The callback's time limit per attempt.
    pub time_limit_ms: u64,
}

/// How a task ended, for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Its first successful attempt answered `value` on worker node `node`.
    Value {
        value: u64,
        node: String,
        attempt: u32,
    },
    /// It failed on every attempt it had; `reason` is the last failure.
    Dead { reason: String, attempts: u32 },
}

/// Asks a member of [`BROKER_GROUP`] for the broker's full ref.
#[derive(Debug, Serialize, Deserialize)]
pub struct Connect;
impl Message for Connect {
    type Reply = ActorRef<Broker>;
}
impl RemoteMessage for Connect {
    const TAG: &'static str = "task_queue::Connect";
}

/// A worker node's agent offers itself: send it up to `credit` tasks.
#[derive(Debug, Serialize, Deserialize)]
pub struct Register {
    pub agent: ActorRef<Agent>,
    /// The worker node's name, for the per-node counts.
    pub node: String,
    /// How many more tasks the agent takes before a `Done` (replaces
    /// what the broker held for this agent).
    pub credit: u32,
}
impl Message for Register {
    type Reply = ();
}
impl RemoteMessage for Register {
    const TAG: &'static str = "task_queue::Register";
}

/// The agent takes `more` additional tasks (its pool grew).
#[derive(Debug, Serialize, Deserialize)]
pub struct Credit {
    pub agent: ActorId,
    pub more: u32,
}
impl Message for Credit {
    type Reply = ();
}
impl RemoteMessage for Credit {
    const TAG: &'static str = "task_queue::Credit";
}

/// Broker to agent: run attempt `attempt` (from 1) of `task`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Assign {
    pub task: TaskSpec,
    pub attempt: u32,
}
impl Message for Assign {
    type Reply = ();
}
impl RemoteMessage for Assign {
    const TAG: &'static str = "task_queue::Assign";
}

/// Agent to broker: an attempt ended (the acknowledgement: sent only
/// after the work is done), and `credit` tasks more may come. It names
/// the agent in full, so a broker that had given the agent up (declared
/// its node down while it still ran) takes it back.
#[derive(Debug, Serialize, Deserialize)]
pub struct Done {
    pub agent: ActorRef<Agent>,
    /// The agent's node name.
    pub node: String,
    pub task: TaskId,
    pub attempt: u32,
    /// The answer, or why the attempt failed.
    pub result: Result<u64, String>,
    pub credit: u32,
}
impl Message for Done {
    type Reply = ();
}
impl RemoteMessage for Done {
    const TAG: &'static str = "task_queue::Done";
}

/// Client to broker: accept these tasks (ids already accepted are
/// skipped). The answer comes once the new ones are in the journal:
/// how many were new.
#[derive(Debug, Serialize, Deserialize)]
pub struct Submit {
    pub tasks: Vec<TaskSpec>,
    pub chords: Vec<Chord>,
}
impl Message for Submit {
    type Reply = Result<usize, String>;
}
impl RemoteMessage for Submit {
    const TAG: &'static str = "task_queue::Submit";
}

/// Client to broker: tell every outcome from now on to `to`; the answer
/// is every outcome known so far.
#[derive(Debug, Serialize, Deserialize)]
pub struct Subscribe {
    pub to: ActorRef<Listener>,
}
impl Message for Subscribe {
    type Reply = Vec<Completed>;
}
impl RemoteMessage for Subscribe {
    const TAG: &'static str = "task_queue::Subscribe";
}

/// Broker to subscribers: `task` ended for good, and that is journaled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Completed {
    pub task: TaskId,
    pub outcome: Outcome,
}
impl Message for Completed {
    type Reply = ();
}
impl RemoteMessage for Completed {
    const TAG: &'static str = "task_queue::Completed";
}

/// Asks the broker for its counters.
#[derive(Debug, Serialize, Deserialize)]
pub struct Report;
impl Message for Report {
    type Reply = BrokerReport;
}
impl RemoteMessage for Report {
    const TAG: &'static str = "task_queue::Report";
}

/// The broker's counters; the journaled ones survive its restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BrokerReport {
    /// Tasks in the journal (chord callbacks included once created).
    pub accepted: u64,
    /// Tasks with a value.
    pub succeeded: u64,
    /// Tasks dead-lettered.
    pub dead: u64,
    /// Results that arrived for a task that already had one.
    pub duplicates: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
    /// Tasks taken back from a worker node that went down.
    pub requeued: u64,
    /// How many times this data directory's broker started over a journal.
    pub recoveries: u64,
    /// First results per worker node, by name.
    pub per_node: Vec<(String, u64)>,
}

/// Starts this process's cluster node: `name` (unique in the cluster),
/// listening on `listen`, joining through `seeds` (none: the first member).
pub async fn start_node(
    name: &str,
    listen: SocketAddr,
    seeds: &[SocketAddr],
) -> Result<Node, NodeError> {
    let secret = secret();
    // The demo secret is published, so a node accepts it only when told to.
    let demo = secret == DEMO_SECRET.as_bytes();
    let mut builder = Node::builder(name).secret(secret);
    if demo {
        builder = builder.allow_weak_secret();
    }
    builder
        .registry(registry())
        .listen(listen)
        .cluster()
        .seeds(seeds.iter().copied())
        .start()
        .await
}

/// Every remote message type of the demo, registered under its tag.
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Broker, Connect>()
        .handler::<Broker, Register>()
        .handler::<Broker, Credit>()
        .handler::<Broker, Done>()
        .handler::<Broker, Submit>()
        .handler::<Broker, Subscribe>()
        .handler::<Broker, Report>()
        .handler::<Agent, Assign>()
        .handler::<Listener, Completed>();
    registry
}
