//! An ask that would close a wait cycle fails at once with `Deadlock`
//! naming the cycle; asks that form no cycle proceed.

use std::time::Duration;

use proscenium::prelude::*;

/// Forwards a call along a route of nodes, each asking the next.
struct Node;
impl Actor for Node {}

/// Ask the first actor of the route, passing it the rest; a node with an
/// empty route answers with its own id.
struct Call(Vec<ActorRef<Node>>);
impl Message for Call {
    type Reply = Result<Vec<ActorId>, AskError>;
}

const NEVER: Duration = Duration::from_secs(3_600);

impl Handler<Call> for Node {
    async fn handle(
        &mut self,
        Call(mut route): Call,
        ctx: &mut Context<Self>,
    ) -> Result<Vec<ActorId>, AskError> {
        if route.is_empty() {
            return Ok(vec![ctx.id()]);
        }
        let next = route.remove(0);
        let mut path = next.ask_timeout(Call(route), NEVER).await??;
        path.insert(0, ctx.id());
        Ok(path)
    }
}

/// Ask two nodes at once, each of which calls `shared`.
struct Fan {
    left: ActorRef<Node>,
    right: ActorRef<Node>,
    shared: ActorRef<Node>,
}
impl Message for Fan {
    type Reply = (
        Result<Vec<ActorId>, AskError>,
        Result<Vec<ActorId>, AskError>,
    );
}

impl Handler<Fan> for Node {
    async fn handle(&mut self, fan: Fan, _: &mut Context<Self>) -> <Fan as Message>::Reply {
        let (left, right) = tokio::join!(
            fan.left.ask_timeout(Call(vec![fan.shared.clone()]), NEVER),
            fan.right.ask_timeout(Call(vec![fan.shared.clone()]), NEVER),
        );
        (left.and_then(|r| r), right.and_then(|r| r))
    }
}

fn spawn_nodes<const N: usize>(system: &System) -> [ActorRef<Node>; N] {
    std::array::from_fn(|_| system.spawn(Node).unwrap())
}

#[tokio::test(start_paused = true)]
async fn two_actor_cycle_fails_with_deadlock() {
    let system = System::new();
    let [a, b] = spawn_nodes(&system);
    // a asks b, b asks a while a waits on b.
    let result = a
        .ask_timeout(Call(vec![b.clone(), a.clone()]), NEVER)
        .await
        .unwrap();
    assert_eq!(
        result,
        Err(AskError::Deadlock {
            cycle: vec![b.id(), a.id()]
        })
    );
}

#[tokio::test(start_paused = true)]
async fn three_actor_cycle_fails_with_deadlock() {
    let system = System::new();
    let [a, b, c] = spawn_nodes(&system);
    let result = a
        .ask_timeout(Call(vec![b.clone(), c.clone(), a.clone()]), NEVER)
        .await
        .unwrap();
    assert_eq!(
        result,
        Err(AskError::Deadlock {
            cycle: vec![c.id(), a.id(), b.id()]
        })
    );
}

#[tokio::test(start_paused = true)]
async fn asking_itself_from_a_handler_is_a_deadlock() {
    let system = System::new();
    let [a] = spawn_nodes(&system);
    let result = a.ask_timeout(Call(vec![a.clone()]), NEVER).await.unwrap();
    assert_eq!(
        result,
        Err(AskError::Deadlock {
            cycle: vec![a.id()]
        })
    );
}

#[tokio::test(start_paused = true)]
async fn a_chain_without_cycle_proceeds() {
    let system = System::new();
    let [a, b, c] = spawn_nodes(&system);
    let path = a
        .ask_timeout(Call(vec![b.clone(), c.clone()]), NEVER)
        .await
        .unwrap();
    assert_eq!(path, Ok(vec![a.id(), b.id(), c.id()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_diamond_is_not_a_deadlock() {
    let system = System::new();
    let [a, b, c, d] = spawn_nodes(&system);
    let fan = Fan {
        left: b.clone(),
        right: c.clone(),
        shared: d.clone(),
    };
    let (left, right) = a.ask_timeout(fan, NEVER).await.unwrap();
    assert_eq!(left, Ok(vec![b.id(), d.id()]));
    assert_eq!(right, Ok(vec![c.id(), d.id()]));
}

#[tokio::test(start_paused = true)]
async fn the_wait_ends_with_the_ask() {
    let system = System::new();
    let [a, b] = spawn_nodes(&system);
    // a waited on b once; that wait is over, so b may now ask a.
    a.ask_timeout(Call(vec![b.clone()]), NEVER)
        .await
        .unwrap()
        .unwrap();
    let path = b.ask_timeout(Call(vec![a.clone()]), NEVER).await.unwrap();
    assert_eq!(path, Ok(vec![b.id(), a.id()]));
}
