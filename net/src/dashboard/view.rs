//! What the page draws, made from cluster snapshots: each node's actors as
//! an indented tree with messages per second, and the log entries that the
//! difference between two snapshots reveals (restarts, dead letters, nodes
//! that stopped or started answering).
//!
//! Rates come from the `messages_handled` counts of two snapshots of the
//! same actor: the page never sees raw counters it would have to subtract,
//! and ids reach it as text (JavaScript numbers lose the low bits of a u64).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proscenium_runtime::{ActorId, ActorKind, ActorTree, NodeId};
use serde::Serialize;
use tokio::time::Instant;

use crate::{ClusterSnapshot, NodeReport, NodeSnapshot};

/// The cluster at one moment, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct View {
    /// When it was taken, in milliseconds since the Unix epoch.
    pub(crate) at_ms: u64,
    /// The node that serves the dashboard.
    pub(crate) taken_by: String,
    /// Messages per second over the nodes that answered twice in a row.
    pub(crate) total_rate: Option<f64>,
    /// The nodes, the serving one first.
    pub(crate) nodes: Vec<NodeView>,
}

/// One node in a [`View`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct NodeView {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) addr: Option<String>,
    /// Why it has no snapshot; `None` when it answered.
    pub(crate) error: Option<String>,
    /// Messages per second its actors handled since the previous snapshot.
    pub(crate) rate: Option<f64>,
    pub(crate) actors: usize,
    pub(crate) actors_spawned: u64,
    pub(crate) actors_omitted: usize,
    pub(crate) dead_letters: u64,
    pub(crate) links: Vec<LinkView>,
    pub(crate) members: Vec<MemberView>,
    /// Its supervision forest, depth first, each actor with its depth.
    pub(crate) tree: Vec<ActorView>,
}

/// A link from a node to a peer.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LinkView {
    pub(crate) peer: String,
    pub(crate) dialed_by_us: bool,
    pub(crate) outbox_bytes: usize,
    pub(crate) tells_written: u64,
    pub(crate) tells_in_flight: usize,
    pub(crate) paused_actors: usize,
}

/// A cluster member as one node sees it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MemberView {
    pub(crate) name: String,
    pub(crate) state: String,
}

/// One actor, at its place in the tree.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ActorView {
    pub(crate) id: String,
    /// 0 for a top-level actor, its parent's plus one below.
    pub(crate) depth: usize,
    pub(crate) short_type: String,
    pub(crate) actor_type: String,
    pub(crate) names: Vec<String>,
    /// `"pool"` for a pool's manager, else `"actor"`.
    pub(crate) kind: &'static str,
    /// A pool's workers (its children); `None` for other actors.
    pub(crate) workers: Option<usize>,
    pub(crate) state: String,
    pub(crate) mailbox_len: usize,
    pub(crate) messages_handled: u64,
    pub(crate) rate: Option<f64>,
    pub(crate) restarts: u32,
    pub(crate) timers: u32,
}

/// Something that happened between two snapshots, or a local dead letter.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LogEntry {
    pub(crate) at_ms: u64,
    pub(crate) kind: LogKind,
    /// The node it happened on.
    pub(crate) node: String,
    /// The actor concerned, if one is.
    pub(crate) actor: Option<String>,
    pub(crate) text: String,
}

/// What a [`LogEntry`] is about; also the name of its server-sent event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LogKind {
    /// An actor's restart count went up.
    Restart,
    /// Messages became dead letters.
    DeadLetter,
    /// A node stopped or started answering.
    Node,
}

impl LogKind {
    /// The event name the page listens for.
    pub(crate) fn event_name(self) -> &'static str {
        match self {
            Self::Restart => "restart",
            Self::DeadLetter => "dead_letter",
            Self::Node => "node",
        }
    }
}

/// One point of the messages-per-second chart.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Point {
    pub(crate) at_ms: u64,
    /// Messages per second by node name.
    pub(crate) rates: BTreeMap<String, f64>,
}

impl View {
    /// The chart point this view adds: the rates of the nodes that have one.
    pub(crate) fn point(&self) -> Point {
        Point {
            at_ms: self.at_ms,
            rates: self
                .nodes
                .iter()
                .filter_map(|node| Some((node.name.clone(), node.rate?)))
                .collect(),
        }
    }
}

/// The counts of one node's previous snapshot, to subtract from the next.
#[derive(Debug)]
struct Sample {
    at: Instant,
    handled: HashMap<ActorId, u64>,
    restarts: HashMap<ActorId, u32>,
    dead_letters: u64,
}

impl Sample {
    fn of(snapshot: &NodeSnapshot, at: Instant) -> Self {
        let actors = &snapshot.system.actors;
        Self {
            at,
            handled: actors.iter().map(|a| (a.id, a.messages_handled)).collect(),
            restarts: actors.iter().map(|a| (a.id, a.restarts)).collect(),
            dead_letters: snapshot.system.dead_letters,
        }
    }
}

/// Turns a sequence of cluster snapshots into views and log entries.
#[derive(Debug)]
pub(crate) struct Differ {
    /// The node serving the dashboard: its dead letters are logged one by
    /// one from its subscription, so its count is not diffed.
    local: NodeId,
    previous: HashMap<NodeId, Sample>,
    /// Whether each node (by name) answered last time.
    answering: HashMap<String, bool>,
}

impl Differ {
    pub(crate) fn new(local: NodeId) -> Self {
        Self {
            local,
            previous: HashMap::new(),
            answering: HashMap::new(),
        }
    }

    /// The view of `cluster`, taken at `at`, and what changed since the
    /// previous one.
    pub(crate) fn observe(
        &mut self,
        cluster: &ClusterSnapshot,
        at: Instant,
    ) -> (View, Vec<LogEntry>) {
        let at_ms = unix_ms();
        let mut log = Vec::new();
        let mut previous = std::mem::take(&mut self.previous);
        let mut nodes = Vec::with_capacity(cluster.nodes.len());
        for report in &cluster.nodes {
            self.note_answer(report, at_ms, &mut log);
            let node = match &report.snapshot {
                Ok(snapshot) => {
                    let before = previous.remove(&snapshot.node);
                    let view = self.node_view(snapshot, before.as_ref(), at, at_ms, &mut log);
                    self.previous
                        .insert(snapshot.node, Sample::of(snapshot, at));
                    view
                }
                Err(error) => unanswered(report, error.to_string()),
            };
            nodes.push(node);
        }
        let rates: Vec<f64> = nodes.iter().filter_map(|node| node.rate).collect();
        let view = View {
            at_ms,
            taken_by: nodes.first().map(|n| n.name.clone()).unwrap_or_default(),
            total_rate: (!rates.is_empty()).then(|| rates.iter().sum()),
            nodes,
        };
        (view, log)
    }

    /// Logs a node that stopped answering, or answers again.
    fn note_answer(&mut self, report: &NodeReport, at_ms: u64, log: &mut Vec<LogEntry>) {
        let answered = report.snapshot.is_ok();
        let before = self.answering.insert(report.name.clone(), answered);
        let text = match (&report.snapshot, before) {
            (Err(error), None | Some(true)) => format!("no snapshot: {error}"),
            (Ok(_), Some(false)) => "answers again".to_owned(),
            _ => return,
        };
        log.push(LogEntry {
            at_ms,
            kind: LogKind::Node,
            node: report.name.clone(),
            actor: None,
            text,
        });
    }

    fn node_view(
        &self,
        snapshot: &NodeSnapshot,
        before: Option<&Sample>,
        at: Instant,
        at_ms: u64,
        log: &mut Vec<LogEntry>,
    ) -> NodeView {
        let elapsed = before.map(|b| at.saturating_duration_since(b.at));
        let rate_of = |id: ActorId, handled: u64| -> Option<f64> {
            let before = before?.handled.get(&id)?;
            per_second(handled.saturating_sub(*before), elapsed?)
        };
        let mut tree = Vec::with_capacity(snapshot.system.actors.len());
        for root in snapshot.system.tree() {
            flatten(&root, 0, &rate_of, &mut tree);
        }
        let rates: Vec<f64> = tree.iter().filter_map(|actor| actor.rate).collect();
        if let Some(before) = before {
            self.log_changes(snapshot, before, at_ms, log);
        }
        NodeView {
            name: snapshot.name.clone(),
            id: snapshot.node.to_string(),
            addr: snapshot.addr.map(|addr| addr.to_string()),
            error: None,
            rate: before.map(|_| rates.iter().sum()),
            actors: snapshot.system.actors.len(),
            actors_spawned: snapshot.system.actors_spawned,
            actors_omitted: snapshot.actors_omitted,
            dead_letters: snapshot.system.dead_letters,
            links: snapshot.links.iter().map(link_view).collect(),
            members: snapshot
                .members
                .iter()
                .map(|member| MemberView {
                    name: member.name.clone(),
                    state: format!("{:?}", member.state).to_lowercase(),
                })
                .collect(),
            tree,
        }
    }

    /// Logs the restarts of `snapshot`'s actors since `before`, and (for
    /// another node) its new dead letters.
    fn log_changes(
        &self,
        snapshot: &NodeSnapshot,
        before: &Sample,
        at_ms: u64,
        log: &mut Vec<LogEntry>,
    ) {
        for actor in &snapshot.system.actors {
            let Some(&was) = before.restarts.get(&actor.id) else {
                continue;
            };
            if actor.restarts > was {
                let times = actor.restarts - was;
                log.push(LogEntry {
                    at_ms,
                    kind: LogKind::Restart,
                    node: snapshot.name.clone(),
                    actor: Some(actor.id.to_string()),
                    text: format!(
                        "{}{} restarted {} (total {})",
                        actor.short_type(),
                        actor
                            .names
                            .first()
                            .map(|name| format!(" \"{name}\""))
                            .unwrap_or_default(),
                        if times == 1 {
                            "once".to_owned()
                        } else {
                            format!("{times} times")
                        },
                        actor.restarts
                    ),
                });
            }
        }
        let new_letters = snapshot
            .system
            .dead_letters
            .saturating_sub(before.dead_letters);
        if snapshot.node != self.local && new_letters > 0 {
            log.push(LogEntry {
                at_ms,
                kind: LogKind::DeadLetter,
                node: snapshot.name.clone(),
                actor: None,
                text: format!(
                    "{new_letters} new dead letter{} (total {})",
                    if new_letters == 1 { "" } else { "s" },
                    snapshot.system.dead_letters
                ),
            });
        }
    }
}

/// A node without a snapshot, with why.
fn unanswered(report: &NodeReport, error: String) -> NodeView {
    NodeView {
        name: report.name.clone(),
        id: report.node.to_string(),
        addr: None,
        error: Some(error),
        rate: None,
        actors: 0,
        actors_spawned: 0,
        actors_omitted: 0,
        dead_letters: 0,
        links: Vec::new(),
        members: Vec::new(),
        tree: Vec::new(),
    }
}

fn link_view(link: &crate::LinkSnapshot) -> LinkView {
    LinkView {
        peer: link.peer_name.clone(),
        dialed_by_us: link.dialed_by_us,
        outbox_bytes: link.outbox_bytes,
        tells_written: link.tells_written,
        tells_in_flight: link.tells_in_flight,
        paused_actors: link.paused_actors,
    }
}

/// Appends `tree` depth first. Recursion is bounded by the depth of the
/// supervision tree, which the application builds by hand.
fn flatten(
    tree: &ActorTree,
    depth: usize,
    rate_of: &impl Fn(ActorId, u64) -> Option<f64>,
    out: &mut Vec<ActorView>,
) {
    let actor = &tree.actor;
    let is_pool = actor.kind == ActorKind::Pool;
    out.push(ActorView {
        id: actor.id.to_string(),
        depth,
        short_type: actor.short_type().to_owned(),
        actor_type: actor.actor_type.clone(),
        names: actor.names.clone(),
        kind: if is_pool { "pool" } else { "actor" },
        workers: is_pool.then_some(tree.children.len()),
        state: actor.state.to_string(),
        mailbox_len: actor.mailbox_len,
        messages_handled: actor.messages_handled,
        rate: rate_of(actor.id, actor.messages_handled),
        restarts: actor.restarts,
        timers: actor.timers,
    });
    for child in &tree.children {
        flatten(child, depth + 1, rate_of, out);
    }
}

/// `count` over `elapsed`; `None` for an interval too short to divide by.
fn per_second(count: u64, elapsed: Duration) -> Option<f64> {
    let seconds = elapsed.as_secs_f64();
    (seconds > 0.0).then(|| count as f64 / seconds)
}

/// Now, in milliseconds since the Unix epoch (0 on a clock set before it).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as u64)
}
