//! Children, and their children, stop before their parent's `on_stop` runs,
//! whether the parent is stopped, killed or fails; a failing child does not
//! take its parent down.

use proscenium::prelude::*;
use tokio::sync::mpsc;

/// Spawns children on request and reports its own `on_stop`.
struct Node {
    name: &'static str,
    children: Vec<ActorRef<Node>>,
    log: mpsc::UnboundedSender<Stop>,
}

/// One `on_stop` as a [`Node`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stop {
    name: &'static str,
    reason: StopReason,
    /// Children that were still alive when `on_stop` ran.
    live_children: usize,
}

impl Node {
    fn new(name: &'static str, log: &mpsc::UnboundedSender<Stop>) -> Self {
        Self {
            name,
            children: Vec::new(),
            log: log.clone(),
        }
    }
}

impl Actor for Node {
    async fn on_stop(&mut self, ctx: &mut Context<Self>, reason: &StopReason) {
        let live_children = self.children.iter().filter(|c| c.is_alive()).count();
        assert_eq!(ctx.children().count(), 0, "children left in the context");
        let _ = self.log.send(Stop {
            name: self.name,
            reason: reason.clone(),
            live_children,
        });
    }
}

struct SpawnChild(&'static str);
impl Message for SpawnChild {
    type Reply = ActorRef<Node>;
}

impl Handler<SpawnChild> for Node {
    async fn handle(
        &mut self,
        SpawnChild(name): SpawnChild,
        ctx: &mut Context<Self>,
    ) -> ActorRef<Node> {
        let child = ctx.spawn(Node::new(name, &self.log)).unwrap();
        self.children.push(child.clone());
        child
    }
}

struct Children;
impl Message for Children {
    type Reply = Vec<ActorId>;
}

impl Handler<Children> for Node {
    async fn handle(&mut self, _: Children, ctx: &mut Context<Self>) -> Vec<ActorId> {
        let mut ids: Vec<_> = ctx.children().collect();
        ids.sort();
        ids
    }
}

struct Fail;
impl Message for Fail {
    type Reply = ();
}

impl Handler<Fail> for Node {
    async fn handle(&mut self, _: Fail, _ctx: &mut Context<Self>) {
        panic!("node failed on purpose");
    }
}

/// A root with children `a` and `b`, and grandchildren `a1` and `a2` under `a`.
struct Tree {
    root: ActorRef<Node>,
    a: ActorRef<Node>,
    b: ActorRef<Node>,
    a1: ActorRef<Node>,
    a2: ActorRef<Node>,
}

impl Tree {
    async fn spawn(system: &System, log: &mpsc::UnboundedSender<Stop>) -> Self {
        let root = system.spawn(Node::new("root", log)).unwrap();
        let a = root.ask(SpawnChild("a")).await.unwrap();
        let b = root.ask(SpawnChild("b")).await.unwrap();
        let a1 = a.ask(SpawnChild("a1")).await.unwrap();
        let a2 = a.ask(SpawnChild("a2")).await.unwrap();
        Self { root, a, b, a1, a2 }
    }

    fn all(&self) -> [&ActorRef<Node>; 5] {
        [&self.root, &self.a, &self.b, &self.a1, &self.a2]
    }
}

fn drain(log: &mut mpsc::UnboundedReceiver<Stop>) -> Vec<Stop> {
    let mut stops = Vec::new();
    while let Ok(stop) = log.try_recv() {
        stops.push(stop);
    }
    stops
}

fn position(stops: &[Stop], name: &str) -> usize {
    let found: Vec<_> = stops
        .iter()
        .enumerate()
        .filter(|(_, s)| s.name == name)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(found.len(), 1, "{name} ran on_stop {} times", found.len());
    found[0]
}

fn assert_children_first(stops: &[Stop]) {
    assert_eq!(stops.len(), 5, "{stops:?}");
    assert!(position(stops, "a1") < position(stops, "a"));
    assert!(position(stops, "a2") < position(stops, "a"));
    assert!(position(stops, "a") < position(stops, "root"));
    assert!(position(stops, "b") < position(stops, "root"));
    assert!(stops.iter().all(|s| s.live_children == 0), "{stops:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_parent_stops_the_whole_tree_children_first() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    tree.root.stop();
    assert_eq!(tree.root.wait_stopped().await, StopReason::Normal);

    let stops = drain(&mut log);
    assert_children_first(&stops);
    assert!(stops.iter().all(|s| s.reason == StopReason::Normal));
    assert!(tree.all().iter().all(|actor| !actor.is_alive()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_parent_kills_the_whole_tree_children_first() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    tree.root.kill();
    assert_eq!(tree.root.wait_stopped().await, StopReason::Killed);

    let stops = drain(&mut log);
    assert_children_first(&stops);
    assert!(stops.iter().all(|s| s.reason == StopReason::Killed));
    for actor in tree.all() {
        assert_eq!(actor.wait_stopped().await, StopReason::Killed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_parent_stops_its_children_first() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    tree.root.tell(Fail).await.unwrap();
    let reason = tree.root.wait_stopped().await;

    assert!(
        matches!(&reason, StopReason::Failed(text) if text.message().contains("node failed on purpose"))
    );
    let stops = drain(&mut log);
    assert_children_first(&stops);
    for child in [&tree.a, &tree.b, &tree.a1, &tree.a2] {
        assert_eq!(child.wait_stopped().await, StopReason::Normal);
    }
}

#[tokio::test]
async fn stopping_a_middle_node_leaves_the_rest_of_the_tree_running() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    tree.a.stop();
    tree.a.wait_stopped().await;

    let stops = drain(&mut log);
    let names: Vec<_> = stops.iter().map(|s| s.name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(position(&stops, "a1") < position(&stops, "a"));
    assert!(position(&stops, "a2") < position(&stops, "a"));
    assert!(tree.root.is_alive() && tree.b.is_alive());
    assert_eq!(tree.root.ask(Children).await, Ok(vec![tree.b.id()]));
}

#[tokio::test]
async fn a_failing_child_is_restarted_and_its_parent_keeps_running() {
    let system = System::new();
    let (tx, _log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    tree.b.tell(Fail).await.unwrap();
    // Queued behind the failing message, so answered after the restart.
    assert_eq!(tree.b.ask(Children).await, Ok(vec![]));
    assert!(tree.b.is_alive());

    let mut expected = vec![tree.a.id(), tree.b.id()];
    expected.sort();
    assert_eq!(tree.root.ask(Children).await, Ok(expected));
    assert!(tree.root.is_alive());
}

#[tokio::test]
async fn children_lists_the_live_children() {
    let system = System::new();
    let (tx, _log) = mpsc::unbounded_channel();
    let tree = Tree::spawn(&system, &tx).await;

    let mut expected = vec![tree.a.id(), tree.b.id()];
    expected.sort();
    assert_eq!(tree.root.ask(Children).await, Ok(expected));
    let mut grandchildren = vec![tree.a1.id(), tree.a2.id()];
    grandchildren.sort();
    assert_eq!(tree.a.ask(Children).await, Ok(grandchildren));
    assert_eq!(tree.b.ask(Children).await, Ok(vec![]));
}
