//! Deadlock detection across nodes: an ask that would close a wait cycle
//! spanning several nodes fails at once with `Deadlock` naming the cycle,
//! whether it is made with `ask`, `ask_timeout`, through a `Recipient` or
//! in an `ask_all` batch; chains that close no cycle proceed.
//!
//! The nodes run in this process and talk TCP on 127.0.0.1. Every ask has
//! a two-minute deadline, so a missed detection fails on the hang guard
//! instead of passing by timeout.

mod support_cluster;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use proscenium::net::{Node, NodeEvent, Registry, RemoteMessage};
use proscenium::prelude::*;
use proscenium::{ask_all_timeout, NodeId};
use serde::{Deserialize, Serialize};
use support_cluster::within;
use tokio::sync::{mpsc, Semaphore};

/// Far longer than any test: a missed deadlock hangs into the hang guard.
const LONG: Duration = Duration::from_secs(120);

/// What an actor does with a [`Run`]: the plan of a request chain.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Plan {
    /// Answer with its own id.
    Reply,
    /// Report being at the gate, wait for the test to open it, then run
    /// the plan.
    Gated(Box<Plan>),
    /// Panic while handling.
    Panic,
    /// Ask one actor to run a plan, by `ActorRef` or by `Recipient`.
    Ask {
        to: ActorRef<Hop>,
        plan: Box<Plan>,
        recipient: bool,
    },
    /// Ask several actors at once with `ask_all`.
    All(Vec<(ActorRef<Hop>, Plan)>),
}

/// What an actor did, nested as the plan was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Outcome {
    Replied(ActorId),
    Asked(ActorId, Box<Result<Outcome, AskError>>),
    AskedAll(ActorId, Vec<Result<Outcome, AskError>>),
    /// Only reported: the actor waits at its gate.
    AtGate(ActorId),
}

#[derive(Serialize, Deserialize)]
struct Run(Plan);
impl Message for Run {
    type Reply = Outcome;
}
impl RemoteMessage for Run {
    const TAG: &'static str = "tests::deadlock_across_nodes::Run";
}

/// Runs plans; reports each outcome to the test as well as replying it.
struct Hop {
    gate: Arc<Semaphore>,
    report: mpsc::UnboundedSender<Outcome>,
}
impl Actor for Hop {}

impl Handler<Run> for Hop {
    async fn handle(&mut self, Run(plan): Run, ctx: &mut Context<Self>) -> Outcome {
        let me = ctx.id();
        let mut plan = plan;
        if let Plan::Gated(then) = plan {
            let _ = self.report.send(Outcome::AtGate(me));
            if let Ok(permit) = self.gate.acquire().await {
                permit.forget();
            }
            plan = *then;
        }
        let outcome = match plan {
            Plan::Reply | Plan::Gated(_) => Outcome::Replied(me),
            Plan::Panic => panic!("asked to fail"),
            Plan::Ask {
                to,
                plan,
                recipient,
            } => {
                let reply = if recipient {
                    to.recipient::<Run>().ask_timeout(Run(*plan), LONG).await
                } else {
                    to.ask_timeout(Run(*plan), LONG).await
                };
                Outcome::Asked(me, Box::new(reply))
            }
            Plan::All(asks) => {
                let replies =
                    ask_all_timeout(asks.iter().map(|(to, plan)| (to, Run(plan.clone()))), LONG)
                        .await;
                Outcome::AskedAll(me, replies)
            }
        };
        let _ = self.report.send(outcome.clone());
        outcome
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry.handler::<Hop, Run>();
    registry
}

/// Nodes in this process, all connected to each other, with `per_node`
/// `Hop`s each; refs are as node 0 sees them.
struct Cluster {
    nodes: Vec<Node>,
    ids: Vec<NodeId>,
    /// `hops[n][i]`: actor `i` of node `n`, as node 0 sees it.
    hops: Vec<Vec<ActorRef<Hop>>>,
    /// The gate of each actor, by id.
    gates: HashMap<ActorId, Arc<Semaphore>>,
    reports: mpsc::UnboundedReceiver<Outcome>,
}

impl Cluster {
    async fn start(nodes: usize, per_node: usize) -> Self {
        let (report, reports) = mpsc::unbounded_channel();
        let mut started = Vec::new();
        for n in 0..nodes {
            let node = Node::builder(format!("n{n}"))
                .secret(b"deadlock across nodes: a 32-byte secret".to_vec())
                .registry(registry())
                .listen("127.0.0.1:0".parse().expect("a loopback address"))
                .start()
                .await
                .expect("start a node");
            started.push(node);
        }
        let ids: Vec<NodeId> = started.iter().map(Node::id).collect();
        for (i, node) in started.iter().enumerate() {
            for other in &started[i + 1..] {
                let addr = other.local_addr().expect("the node listens");
                within("connect", node.connect(addr))
                    .await
                    .expect("connect");
            }
        }
        let mut gates = HashMap::new();
        let mut hops = Vec::new();
        for (n, node) in started.iter().enumerate() {
            let mut here = Vec::new();
            for i in 0..per_node {
                let gate = Arc::new(Semaphore::new(0));
                let hop = Hop {
                    gate: Arc::clone(&gate),
                    report: report.clone(),
                };
                let local = node.system().spawn(hop).expect("spawn");
                let name = format!("hop{i}");
                node.system().register(&name, &local).expect("register");
                gates.insert(local.id(), gate);
                let seen = if n == 0 {
                    local
                } else {
                    within("lookup", started[0].lookup_on::<Hop>(ids[n], &name))
                        .await
                        .expect("lookup")
                        .expect("the hop is registered")
                };
                here.push(seen);
            }
            hops.push(here);
        }
        Self {
            nodes: started,
            ids,
            hops,
            gates,
            reports,
        }
    }

    fn hop(&self, node: usize, i: usize) -> ActorRef<Hop> {
        self.hops[node][i].clone()
    }

    fn open_gate(&self, actor: &ActorRef<Hop>) {
        self.gates[&actor.id()].add_permits(1);
    }

    /// Waits until `actor` reports `report`, skipping other reports.
    async fn wait_report(&mut self, report: Outcome) {
        within("a report", async {
            while let Some(seen) = self.reports.recv().await {
                if seen == report {
                    return;
                }
            }
            panic!("the reports ended before {report:?}");
        })
        .await;
    }

    async fn shutdown(self) {
        for node in &self.nodes {
            node.shutdown().await;
        }
    }
}

fn ask(to: &ActorRef<Hop>, plan: Plan) -> Plan {
    Plan::Ask {
        to: to.clone(),
        plan: Box::new(plan),
        recipient: false,
    }
}

fn deadlock(cycle: &[&ActorRef<Hop>]) -> Result<Outcome, AskError> {
    Err(AskError::Deadlock {
        cycle: cycle.iter().map(|hop| hop.id()).collect(),
    })
}

fn asked(by: &ActorRef<Hop>, reply: Result<Outcome, AskError>) -> Outcome {
    Outcome::Asked(by.id(), Box::new(reply))
}

async fn run(root: &ActorRef<Hop>, plan: Plan) -> Outcome {
    within("the chain's answer", root.ask_timeout(Run(plan), LONG))
        .await
        .expect("the root answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_node_cycle_fails_at_once_naming_it() {
    let cluster = Cluster::start(2, 1).await;
    let (a, b) = (cluster.hop(0, 0), cluster.hop(1, 0));
    // a asks b on the other node, b asks a back.
    let outcome = run(&a, ask(&b, ask(&a, Plan::Reply))).await;
    let at_b = asked(&b, deadlock(&[&b, &a]));
    assert_eq!(outcome, asked(&a, Ok(at_b)));
    // The cycle names the nodes too: b is on node 1, a on node 0.
    assert_eq!(b.id().node(), cluster.ids[1]);
    assert_eq!(a.id().node(), cluster.ids[0]);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_node_cycle_fails_at_once_naming_it() {
    let cluster = Cluster::start(3, 1).await;
    let (a, b, c) = (cluster.hop(0, 0), cluster.hop(1, 0), cluster.hop(2, 0));
    let outcome = run(&a, ask(&b, ask(&c, ask(&a, Plan::Reply)))).await;
    let at_c = asked(&c, deadlock(&[&c, &a, &b]));
    assert_eq!(outcome, asked(&a, Ok(asked(&b, Ok(at_c)))));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_through_a_local_hop_and_a_recipient_is_found() {
    // a0 -> a1 on node 0 (local), a1 -> b on node 1, b -> a0 by recipient:
    // the wait a0 -> a1 travels with a1's remote ask.
    let cluster = Cluster::start(2, 2).await;
    let (a0, a1, b) = (cluster.hop(0, 0), cluster.hop(0, 1), cluster.hop(1, 0));
    let back = Plan::Ask {
        to: a0.clone(),
        plan: Box::new(Plan::Reply),
        recipient: true,
    };
    let outcome = run(&a0, ask(&a1, ask(&b, back))).await;
    let at_b = asked(&b, deadlock(&[&b, &a0, &a1]));
    assert_eq!(outcome, asked(&a0, Ok(asked(&a1, Ok(at_b)))));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_all_batch_that_closes_a_cycle_fails_that_entry_only() {
    let cluster = Cluster::start(3, 1).await;
    let (a, b, c) = (cluster.hop(0, 0), cluster.hop(1, 0), cluster.hop(2, 0));
    // a asks b; b asks a (a cycle) and c (none) in one batch.
    let batch = Plan::All(vec![(a.clone(), Plan::Reply), (c.clone(), Plan::Reply)]);
    let outcome = run(&a, ask(&b, batch)).await;
    let at_b = Outcome::AskedAll(
        b.id(),
        vec![deadlock(&[&b, &a]), Ok(Outcome::Replied(c.id()))],
    );
    assert_eq!(outcome, asked(&a, Ok(at_b)));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_back_into_an_ask_all_batch_is_found_from_every_branch() {
    let cluster = Cluster::start(3, 1).await;
    let (a, b, c) = (cluster.hop(0, 0), cluster.hop(1, 0), cluster.hop(2, 0));
    // a asks b and c at once; each asks a back.
    let batch = Plan::All(vec![
        (b.clone(), ask(&a, Plan::Reply)),
        (c.clone(), ask(&a, Plan::Reply)),
    ]);
    let outcome = run(&a, batch).await;
    let expected = Outcome::AskedAll(
        a.id(),
        vec![
            Ok(asked(&b, deadlock(&[&b, &a]))),
            Ok(asked(&c, deadlock(&[&c, &a]))),
        ],
    );
    assert_eq!(outcome, expected);
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chains_through_the_same_actors_at_different_times_proceed() {
    let cluster = Cluster::start(2, 1).await;
    let (a, b) = (cluster.hop(0, 0), cluster.hop(1, 0));
    for _ in 0..3 {
        let there = run(&a, ask(&b, Plan::Reply)).await;
        assert_eq!(there, asked(&a, Ok(Outcome::Replied(b.id()))));
        let back = run(&b, ask(&a, Plan::Reply)).await;
        assert_eq!(back, asked(&b, Ok(Outcome::Replied(a.id()))));
    }
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ask_back_while_the_reply_is_on_its_way_is_no_deadlock() {
    let mut cluster = Cluster::start(2, 1).await;
    let (a, b) = (cluster.hop(0, 0), cluster.hop(1, 0));
    // a asks b, whose handler waits at its gate; meanwhile a second
    // request, which asks a, queues at b. Once the gate opens b replies to
    // a and goes on to ask a while that reply may still be travelling.
    let first = tokio::spawn({
        let (a, b) = (a.clone(), b.clone());
        async move { run(&a, ask(&b, Plan::Gated(Box::new(Plan::Reply)))).await }
    });
    cluster.wait_report(Outcome::AtGate(b.id())).await;
    let second = tokio::spawn({
        let (a, b) = (a.clone(), b.clone());
        async move { run(&b, ask(&a, Plan::Reply)).await }
    });
    cluster.open_gate(&b);
    let first = within("the first chain", first).await.expect("task");
    let second = within("the second chain", second).await.expect("task");
    assert_eq!(first, asked(&a, Ok(Outcome::Replied(b.id()))));
    assert_eq!(second, asked(&b, Ok(Outcome::Replied(a.id()))));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_restarted_mid_chain_is_asked_as_usual_afterwards() {
    let cluster = Cluster::start(2, 1).await;
    let a = cluster.hop(0, 0);
    // b on node 1, under a supervisor that restarts it.
    let (report, _reports) = mpsc::unbounded_channel();
    let gate = Arc::new(Semaphore::new(0));
    let spec = ChildSpec::new(move || Hop {
        gate: Arc::clone(&gate),
        report: report.clone(),
    })
    .name("restarted");
    let strategy = SupervisorStrategy::one_for_one().intensity(10, Duration::from_secs(3_600));
    let supervisor = cluster.nodes[1]
        .system()
        .spawn(Supervisor::new(strategy).child(spec))
        .expect("spawn the supervisor");
    within("children", supervisor.ask(proscenium::WhichChildren))
        .await
        .expect("children");
    let b = within(
        "lookup",
        cluster.nodes[0].lookup_on::<Hop>(cluster.ids[1], "restarted"),
    )
    .await
    .expect("lookup")
    .expect("registered");
    // a asks b, which fails in the middle of the chain and is restarted.
    let failed = run(&a, ask(&b, Plan::Panic)).await;
    assert!(
        matches!(&failed, Outcome::Asked(_, reply) if matches!(**reply, Err(AskError::Failed { .. }))),
        "{failed:?}"
    );
    // The same actors, both ways, after the restart: no wait is left over.
    let there = run(&a, ask(&b, Plan::Reply)).await;
    assert_eq!(there, asked(&a, Ok(Outcome::Replied(b.id()))));
    let back = run(&b, ask(&a, Plan::Reply)).await;
    assert_eq!(back, asked(&b, Ok(Outcome::Replied(a.id()))));
    cluster.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asker_whose_node_dies_mid_chain_leaves_no_deadlock_behind() {
    let mut cluster = Cluster::start(3, 1).await;
    let (a, b, c) = (cluster.hop(0, 0), cluster.hop(1, 0), cluster.hop(2, 0));
    // a (node 0) asks b (node 1), which asks c (node 2); c waits at its
    // gate, then asks a. Node 0 goes away meanwhile: c's ask must fail as
    // without detection (node down), not as a deadlock.
    let mut events = cluster.nodes[2].events();
    let chain = ask(&b, ask(&c, Plan::Gated(Box::new(ask(&a, Plan::Reply)))));
    let root = a.clone();
    let _orphan = tokio::spawn(async move { root.ask_timeout(Run(chain), LONG).await });
    cluster.wait_report(Outcome::AtGate(c.id())).await;
    let node0 = cluster.nodes.remove(0);
    node0.shutdown().await;
    within("node 0 seen down from node 2", async {
        loop {
            match events.recv().await {
                Ok(NodeEvent::NodeDown { node, .. }) if node == cluster.ids[0] => break,
                Ok(_) => {}
                Err(error) => panic!("node events ended: {error}"),
            }
        }
    })
    .await;
    cluster.open_gate(&c);
    cluster
        .wait_report(asked(&c, Err(AskError::NodeDown)))
        .await;
    cluster.shutdown().await;
}

// ===== The property: detection matches a reference cycle check =====

/// A plan tree over actor indices: each ask goes either back to an actor
/// on the path to it (a cycle) or to an actor used nowhere else in the
/// tree, so branches of a batch never wait on each other.
#[derive(Clone, Debug)]
enum Shape {
    Reply,
    Ask(usize, Box<Shape>, bool),
    All(Vec<(usize, Shape)>),
}

fn shape(actors: usize) -> impl Strategy<Value = (usize, Shape)> {
    // Raw trees with arbitrary indices; `assign` makes them valid.
    let leaf = Just(RawShape::Reply).boxed();
    let tree = leaf.prop_recursive(4, 12, 3, |inner| {
        prop_oneof![
            (any::<prop::sample::Index>(), inner.clone(), any::<bool>())
                .prop_map(|(to, next, recipient)| RawShape::Ask(to, Box::new(next), recipient)),
            prop::collection::vec((any::<prop::sample::Index>(), inner), 1..3)
                .prop_map(RawShape::All),
        ]
    });
    (0..actors, tree, any::<u64>()).prop_map(move |(root, raw, seed)| {
        let mut unused: Vec<usize> = (0..actors).filter(|&i| i != root).collect();
        // A fixed shuffle from the seed, so fresh actors vary.
        let mut state = seed | 1;
        for i in (1..unused.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            unused.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shape = assign(&raw, &[root], &mut unused);
        (root, shape)
    })
}

#[derive(Clone, Debug)]
enum RawShape {
    Reply,
    Ask(prop::sample::Index, Box<RawShape>, bool),
    All(Vec<(prop::sample::Index, RawShape)>),
}

/// Picks each ask's target: a path actor (closing a cycle, so nothing
/// below it runs) or a fresh one.
fn assign(raw: &RawShape, path: &[usize], unused: &mut Vec<usize>) -> Shape {
    match raw {
        RawShape::Reply => Shape::Reply,
        RawShape::Ask(index, next, recipient) => {
            let (to, next) = assign_ask(index, next, path, unused);
            Shape::Ask(to, Box::new(next), *recipient)
        }
        RawShape::All(entries) => Shape::All(
            entries
                .iter()
                .map(|(index, next)| assign_ask(index, next, path, unused))
                .collect(),
        ),
    }
}

/// One ask in three goes back along the path (when no fresh actor is
/// left, every one does); nothing runs below an ask that closes a cycle.
fn assign_ask(
    index: &prop::sample::Index,
    next: &RawShape,
    path: &[usize],
    unused: &mut Vec<usize>,
) -> (usize, Shape) {
    if index.index(3) == 0 || unused.is_empty() {
        return (path[index.index(path.len())], Shape::Reply);
    }
    let to = unused.remove(index.index(unused.len()));
    (to, assign(next, &[path, &[to]].concat(), unused))
}

fn to_plan(shape: &Shape, actors: &[ActorRef<Hop>]) -> Plan {
    match shape {
        Shape::Reply => Plan::Reply,
        Shape::Ask(to, next, recipient) => Plan::Ask {
            to: actors[*to].clone(),
            plan: Box::new(to_plan(next, actors)),
            recipient: *recipient,
        },
        Shape::All(entries) => Plan::All(
            entries
                .iter()
                .map(|(to, next)| (actors[*to].clone(), to_plan(next, actors)))
                .collect(),
        ),
    }
}

/// The reference: an ask closes a cycle exactly when its target is on the
/// path of waits leading to the asker; the cycle runs from the asker
/// through the target back along that path.
fn expected(at: usize, shape: &Shape, path: &[usize], ids: &[ActorId]) -> Outcome {
    let answer = |to: usize, next: &Shape| -> Result<Outcome, AskError> {
        match path.iter().position(|&p| p == to) {
            Some(from) => {
                let mut cycle = vec![ids[at]];
                cycle.extend(path[from..path.len() - 1].iter().map(|&p| ids[p]));
                Err(AskError::Deadlock { cycle })
            }
            None => Ok(expected(to, next, &[path, &[to]].concat(), ids)),
        }
    };
    match shape {
        Shape::Reply => Outcome::Replied(ids[at]),
        Shape::Ask(to, next, _) => Outcome::Asked(ids[at], Box::new(answer(*to, next))),
        Shape::All(entries) => Outcome::AskedAll(
            ids[at],
            entries.iter().map(|(to, next)| answer(*to, next)).collect(),
        ),
    }
}

#[test]
fn detection_matches_a_reference_cycle_check_on_random_ask_graphs() {
    // Few cases in CI; `PROSCENIUM_DEADLOCK_CASES=500` for a longer sweep.
    let cases = std::env::var("PROSCENIUM_DEADLOCK_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let cluster = runtime.block_on(Cluster::start(3, 3));
    let actors: Vec<ActorRef<Hop>> = cluster.hops.iter().flatten().cloned().collect();
    let ids: Vec<ActorId> = actors.iter().map(ActorRef::id).collect();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&shape(actors.len()), |(root, shape)| {
        let plan = to_plan(&shape, &actors);
        let outcome = runtime.block_on(run(&actors[root], plan));
        prop_assert_eq!(outcome, expected(root, &shape, &[root], &ids));
        Ok(())
    });
    runtime.block_on(cluster.shutdown());
    if let Err(failure) = result {
        panic!("{failure}");
    }
}
