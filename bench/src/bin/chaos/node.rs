//! One node process of the soak, its actors and the messages they exchange.
//!
//! Every node serves three actors: `sink` counts the numbered tells
//! ([`Record`]) it receives, per stream (and naps when told, [`Nap`]); `echo` answers [`Echo`]; `relay`
//! asks or tells another node's actors on the driver's behalf ([`Relay`]),
//! so that nodes talk to each other, and counts what it sent and what came
//! back to its system's dead letters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proscenium_net::{Node, NodeStats, Registry, RemoteMessage};
use proscenium_runtime::{
    Actor, ActorId, ActorRef, AskError, Context, DeadLetter, Handler, Message, NodeId,
};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, BufReader};

/// The cluster secret of the soak's nodes (loopback only).
pub(crate) const SECRET: &[u8] = b"proscenium chaos soak loopback secret";

/// How long a node's own asks (made by `relay`) wait for a reply.
pub(crate) const NODE_ASK_TIMEOUT: Duration = Duration::from_secs(1);

/// Every remote message of the soak, under stable tags.
pub(crate) fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Sink, Record>()
        .handler::<Sink, Received>()
        .handler::<Sink, Nap>()
        .handler::<Echo, Ping>()
        .handler::<Relay, RelayOp>()
        .handler::<Relay, Sent>();
    registry
}

/// How long a relay lets one of its asks or tells run before it calls it
/// hung (the ask has its own, shorter, deadline).
pub(crate) const NODE_HUNG_AFTER: Duration = Duration::from_secs(5);

/// The tells of one sender to one sink, numbered in send order: what
/// [`Sink`] counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Stream {
    /// The sending node run.
    pub(crate) from: NodeId,
    /// Which of its senders (the driver's load tasks are several).
    pub(crate) lane: u32,
    /// The sink it addressed.
    pub(crate) to: ActorId,
}

// ===== sink =====

/// Counts numbered tells per stream and checks their order.
#[derive(Debug, Default)]
pub(crate) struct Sink {
    streams: HashMap<Stream, StreamSeen>,
}
impl Actor for Sink {}

#[derive(Debug, Default, Clone, Copy)]
struct StreamSeen {
    count: u64,
    last_seq: u64,
    out_of_order: u64,
}

/// One numbered tell; `seq` grows by one per send attempt of its stream.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Whose tell, to which sink.
    pub(crate) stream: Stream,
    /// Its number in the stream, from 1.
    pub(crate) seq: u64,
}
impl Message for Record {
    type Reply = ();
}
impl RemoteMessage for Record {
    const TAG: &'static str = "chaos::Record";
}
impl Handler<Record> for Sink {
    async fn handle(&mut self, record: Record, _: &mut Context<Self>) {
        let seen = self.streams.entry(record.stream).or_default();
        seen.count += 1;
        if record.seq <= seen.last_seq {
            seen.out_of_order += 1;
        }
        seen.last_seq = seen.last_seq.max(record.seq);
    }
}

/// Makes a sink's handler sleep this many milliseconds: a slow actor whose
/// mailbox fills, so that its senders must wait (and nothing else should).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Nap(pub(crate) u64);
impl Message for Nap {
    type Reply = ();
}
impl RemoteMessage for Nap {
    const TAG: &'static str = "chaos::Nap";
}
impl Handler<Nap> for Sink {
    async fn handle(&mut self, Nap(ms): Nap, _: &mut Context<Self>) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// What a sink has received so far: per stream, the count and how many
/// arrived out of order (or twice).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Received;
impl Message for Received {
    /// This sink, and per stream: received, out of order.
    type Reply = (ActorId, Vec<(Stream, u64, u64)>);
}
impl RemoteMessage for Received {
    const TAG: &'static str = "chaos::Received";
}
impl Handler<Received> for Sink {
    async fn handle(
        &mut self,
        _: Received,
        ctx: &mut Context<Self>,
    ) -> (ActorId, Vec<(Stream, u64, u64)>) {
        let streams = self
            .streams
            .iter()
            .map(|(stream, seen)| (*stream, seen.count, seen.out_of_order))
            .collect();
        (ctx.id(), streams)
    }
}

// ===== echo =====

/// Answers each [`Ping`] with its number.
#[derive(Debug)]
pub(crate) struct Echo;
impl Actor for Echo {}

/// Asks for its own number back.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Ping(pub u64);
impl Message for Ping {
    type Reply = u64;
}
impl RemoteMessage for Ping {
    const TAG: &'static str = "chaos::Ping";
}
impl Handler<Ping> for Echo {
    async fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n
    }
}

// ===== relay =====

/// Asks and tells other nodes' actors for the driver, and counts its tells.
#[derive(Debug)]
pub(crate) struct Relay {
    node: Node,
    next_seq: HashMap<ActorId, u64>,
    sent: HashMap<ActorId, u64>,
    dead: Arc<Mutex<HashMap<ActorId, DeadRecords>>>,
}
impl Actor for Relay {}

/// What the driver asks a relay to do.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum RelayOp {
    /// Ask this echo for `n`.
    Ask(ActorRef<Echo>, u64),
    /// Tell this sink `count` numbered records.
    Tell(ActorRef<Sink>, u32),
}
impl Message for RelayOp {
    type Reply = Relayed;
}
impl RemoteMessage for RelayOp {
    const TAG: &'static str = "chaos::RelayOp";
}

/// How a relayed operation ended.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Relayed {
    /// The ask was answered with the right number.
    Answered,
    /// The ask failed with this error.
    AskFailed(AskError),
    /// The ask was still unresolved after [`NODE_HUNG_AFTER`].
    AskHung,
    /// The ask was answered with another number (a bug).
    WrongAnswer,
    /// The tells: how many were accepted, and the kinds of those refused.
    Told {
        /// Accepted for delivery.
        sent: u32,
        /// Refused at send, by kind.
        refused: Vec<String>,
        /// Still waiting to be sent after [`NODE_HUNG_AFTER`] (then dropped, unsent).
        hung: u32,
    },
}

impl Handler<RelayOp> for Relay {
    async fn handle(&mut self, op: RelayOp, _: &mut Context<Self>) -> Relayed {
        match op {
            RelayOp::Ask(echo, n) => {
                match tokio::time::timeout(NODE_HUNG_AFTER, echo.ask(Ping(n))).await {
                    Ok(Ok(back)) if back == n => Relayed::Answered,
                    Ok(Ok(_)) => Relayed::WrongAnswer,
                    Ok(Err(error)) => Relayed::AskFailed(error),
                    Err(_) => Relayed::AskHung,
                }
            }
            RelayOp::Tell(sink, count) => {
                let to = sink.id();
                let (mut sent, mut hung) = (0, 0);
                let mut refused = Vec::new();
                for _ in 0..count {
                    let seq = self.next_seq.entry(to).or_default();
                    *seq += 1;
                    let stream = Stream {
                        from: self.node.id(),
                        lane: 0,
                        to,
                    };
                    let record = Record { stream, seq: *seq };
                    match tokio::time::timeout(NODE_HUNG_AFTER, sink.tell(record)).await {
                        Ok(Ok(())) => {
                            sent += 1;
                            *self.sent.entry(to).or_default() += 1;
                        }
                        Ok(Err(error)) => refused.push(send_error_kind(&error).to_owned()),
                        Err(_) => hung += 1,
                    }
                }
                Relayed::Told {
                    sent,
                    refused,
                    hung,
                }
            }
        }
    }
}

/// What a relay has sent, per sink, and how many of those its system's
/// dead letters returned (as never sent, or as possibly delivered); and its
/// node's statistics.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Sent;
impl Message for Sent {
    type Reply = SentReport;
}

/// The answer to [`Sent`].
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SentReport {
    /// The relay's node run.
    pub(crate) run: NodeId,
    /// Per sink: tells sent, and of those, dead-lettered.
    pub(crate) sinks: Vec<(ActorId, u64, DeadRecords)>,
    /// The node's [`NodeStats`], by name.
    pub(crate) stats: Vec<(String, u64)>,
}

/// A node's statistics by name, for the report.
pub(crate) fn stats_by_name(stats: &NodeStats) -> Vec<(String, u64)> {
    [
        ("tells unsent", stats.tells_unsent),
        ("tells unacknowledged", stats.tells_unacknowledged),
        ("frames unsent", stats.frames_unsent),
        ("asks expired", stats.asks_expired),
        ("tells to missing actors", stats.tells_to_missing_actors),
        ("tells unregistered", stats.tells_unregistered),
        ("tells undecodable", stats.tells_undecodable),
        ("pauses", stats.pauses),
        ("links stalled", stats.links_stalled),
        ("links overloaded", stats.links_overloaded),
    ]
    .into_iter()
    .map(|(name, n)| (name.to_owned(), n))
    .collect()
}
impl RemoteMessage for Sent {
    const TAG: &'static str = "chaos::Sent";
}
impl Handler<Sent> for Relay {
    async fn handle(&mut self, _: Sent, _: &mut Context<Self>) -> SentReport {
        let dead = self.dead.lock().map(|d| d.clone()).unwrap_or_default();
        let mut sinks: Vec<ActorId> = self.sent.keys().chain(dead.keys()).copied().collect();
        sinks.sort();
        sinks.dedup();
        let sinks = sinks
            .into_iter()
            .map(|to| {
                let sent = self.sent.get(&to).copied().unwrap_or(0);
                (to, sent, dead.get(&to).copied().unwrap_or_default())
            })
            .collect();
        SentReport {
            run: self.node.id(),
            sinks,
            stats: stats_by_name(&self.node.stats()),
        }
    }
}

/// The kind of a refused tell, for the report.
pub(crate) fn send_error_kind<M>(error: &proscenium_runtime::SendError<M>) -> &'static str {
    use proscenium_runtime::SendError;
    match error {
        SendError::Stopped(_) => "Stopped",
        SendError::NodeDown(_) => "NodeDown",
        SendError::NotRemote(_) => "NotRemote",
        _ => "other",
    }
}

/// The dead letters of `Record`s to one sink.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DeadRecords {
    /// Never sent: certainly not delivered.
    pub(crate) unsent: u64,
    /// Sent, but the link ended before the sink's node acknowledged them:
    /// possibly delivered.
    pub(crate) doubtful: u64,
}

impl DeadRecords {
    /// Counts one dead letter.
    pub(crate) fn count(&mut self, letter: &DeadLetter) {
        if letter.possibly_delivered {
            self.doubtful += 1;
        } else {
            self.unsent += 1;
        }
    }
}

/// Counts the dead letters of `Record`s of `node`'s system, per recipient,
/// into `dead`, until the system is gone.
pub(crate) fn count_dead_records(node: &Node, dead: Arc<Mutex<HashMap<ActorId, DeadRecords>>>) {
    let mut letters = node.system().dead_letters();
    tokio::spawn(async move {
        while let Some(letter) = letters.recv().await {
            if letter.message_type == std::any::type_name::<Record>() {
                if let Ok(mut dead) = dead.lock() {
                    dead.entry(letter.recipient).or_default().count(&letter);
                }
            }
        }
    });
}

// ===== the node process =====

/// Runs node `name` on `listen` until stdin closes: connects to `peers`
/// (retrying until each answers once; the node redials lost links itself),
/// prints `READY <address> <node id>`, and serves the three actors.
pub(crate) async fn serve(
    name: &str,
    listen: SocketAddr,
    peers: Vec<SocketAddr>,
) -> Result<(), Box<dyn std::error::Error>> {
    let label = name.to_owned();
    std::panic::set_hook(Box::new(move |info| eprintln!("[{label}] PANIC: {info}")));
    let node = Node::builder(name)
        .secret(SECRET)
        .registry(registry())
        .listen(listen)
        .ask_timeout(NODE_ASK_TIMEOUT)
        .start()
        .await?;
    let dead = Arc::new(Mutex::new(HashMap::new()));
    count_dead_records(&node, dead.clone());
    node.system().spawn_named("sink", Sink::default())?;
    node.system().spawn_named("echo", Echo)?;
    node.system().spawn_named(
        "relay",
        Relay {
            node: node.clone(),
            next_seq: HashMap::new(),
            sent: HashMap::new(),
            dead,
        },
    )?;
    for peer in peers {
        let node = node.clone();
        tokio::spawn(async move {
            // A peer may be down now: try until it answers once.
            while node.connect(peer).await.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
    }
    let addr = node.local_addr().ok_or("the node is not listening")?;
    println!("READY {addr} {}", node.id());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim() == "quit" {
            break;
        }
    }
    node.shutdown().await;
    Ok(())
}
