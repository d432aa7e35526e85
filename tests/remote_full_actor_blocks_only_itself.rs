//! A remote actor whose bounded mailbox is full (its handler is stuck)
//! delays only the messages addressed to it. Asks to another actor on the
//! same node, `Stop`, `Kill` and watch notices from the same peer keep
//! flowing, while backpressure still reaches the full actor's senders:
//! their `try_tell` returns `Full` and their `tell` waits. Once the actor
//! moves on, every accepted message arrives, in order.

mod support_cluster;

use proscenium::net::{Node, Registry, RemoteMessage};
use proscenium::prelude::*;
use proscenium::Mailbox;
use serde::{Deserialize, Serialize};
use support_cluster::{in_process_node, within, Monitor, Watch};
use tokio::sync::watch;

/// The slow actor's mailbox: one message handled, this many waiting.
const CAPACITY: usize = 2;
/// More tells than the stuck actor and its mailbox can take.
const TELLS: u64 = 40;

/// Records values, each only once its gate is open.
struct Slow {
    gate: watch::Receiver<bool>,
    values: Vec<u64>,
}
impl Actor for Slow {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(CAPACITY)
    }
}

#[derive(Serialize, Deserialize)]
struct Push(u64);
impl Message for Push {
    type Reply = ();
}
impl RemoteMessage for Push {
    const TAG: &'static str = "tests::hol::Push";
}
impl Handler<Push> for Slow {
    async fn handle(&mut self, Push(n): Push, _: &mut Context<Self>) {
        let _ = self.gate.wait_for(|open| *open).await;
        self.values.push(n);
    }
}

#[derive(Serialize, Deserialize)]
struct Pushed;
impl Message for Pushed {
    type Reply = Vec<u64>;
}
impl RemoteMessage for Pushed {
    const TAG: &'static str = "tests::hol::Pushed";
}
impl Handler<Pushed> for Slow {
    async fn handle(&mut self, _: Pushed, _: &mut Context<Self>) -> Vec<u64> {
        self.values.clone()
    }
}

/// Answers at once.
struct Echo;
impl Actor for Echo {}

#[derive(Serialize, Deserialize)]
struct Ping(u64);
impl Message for Ping {
    type Reply = u64;
}
impl RemoteMessage for Ping {
    const TAG: &'static str = "tests::hol::Ping";
}
impl Handler<Ping> for Echo {
    async fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u64 {
        n + 1
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Slow, Push>()
        .handler::<Slow, Pushed>()
        .handler::<Echo, Ping>();
    registry
}

async fn node(name: &str, listen: bool) -> Node {
    in_process_node(name, listen, |node| node.registry(registry())).await
}

/// Alpha hosts a stuck `Slow` and an `Echo`; beta holds refs to both.
struct Setup {
    alpha: Node,
    beta: Node,
    open_gate: watch::Sender<bool>,
    slow: ActorRef<Slow>,
    echo: ActorRef<Echo>,
}

async fn setup() -> Setup {
    let alpha = node("alpha", true).await;
    let (open_gate, gate) = watch::channel(false);
    alpha
        .system()
        .spawn_named(
            "slow",
            Slow {
                gate,
                values: Vec::new(),
            },
        )
        .unwrap();
    alpha.system().spawn_named("echo", Echo).unwrap();
    let beta = node("beta", false).await;
    within("beta to connect", beta.connect(alpha.local_addr().unwrap()))
        .await
        .unwrap();
    let slow = within("lookup slow", beta.lookup::<Slow>("slow"))
        .await
        .expect("slow on alpha");
    let echo = within("lookup echo", beta.lookup::<Echo>("echo"))
        .await
        .expect("echo on alpha");
    Setup {
        alpha,
        beta,
        open_gate,
        slow,
        echo,
    }
}

/// Tells the stuck actor until beta holds tells back (or `TELLS` went),
/// then lets an ask to the idle actor travel behind them: it is answered
/// only if the full actor held up nothing but itself.
async fn fill(setup: &Setup) -> Vec<u64> {
    let mut accepted = Vec::new();
    for n in 0..TELLS {
        match setup.slow.try_tell(Push(n)) {
            Ok(()) => accepted.push(n),
            Err(TrySendError::Full(_)) => break,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        accepted.len() > CAPACITY + 1,
        "too few tells to fill the mailbox"
    );
    let answer = within("an ask to the idle actor", setup.echo.ask(Ping(7))).await;
    assert_eq!(
        answer,
        Ok(8),
        "the idle actor must answer while another is full"
    );
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_actor_delays_only_its_own_messages_and_pushes_back_on_its_senders() {
    let setup = setup().await;
    let mut accepted = fill(&setup).await;

    // The full actor's senders feel it: try_tell is refused, tell waits.
    assert!(
        matches!(
            setup.slow.try_tell(Push(1000)),
            Err(TrySendError::Full(Push(1000)))
        ),
        "try_tell to a full remote actor must return Full"
    );
    let waiting = tokio::spawn({
        let slow = setup.slow.clone();
        async move { slow.tell(Push(1001)).await }
    });
    // Another round trip: the waiting tell has had every chance to go.
    assert_eq!(within("a second ask", setup.echo.ask(Ping(1))).await, Ok(2));
    assert!(!waiting.is_finished(), "a tell went to a full remote actor");

    setup.open_gate.send_replace(true);
    within("the waiting tell", waiting)
        .await
        .unwrap()
        .expect("queued once the actor has room");
    accepted.push(1001);
    let values = within("the values", setup.slow.ask(Pushed)).await;
    assert_eq!(values, Ok(accepted), "every accepted tell, in order");

    setup.beta.shutdown().await;
    setup.alpha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_kill_and_watch_notices_pass_a_full_actor() {
    let setup = setup().await;
    fill(&setup).await;

    // Watch, Stop and Terminated travel while the full actor holds its frames.
    let (monitor, mut terminated) = Monitor::spawn(setup.beta.system());
    within("the watch", monitor.ask(Watch(setup.echo.clone())))
        .await
        .unwrap();
    within("the watch", monitor.ask(Watch(setup.slow.clone())))
        .await
        .unwrap();
    setup.echo.stop();
    let notice = within("Terminated of the stopped actor", terminated.recv())
        .await
        .expect("a notice");
    assert_eq!(
        (notice.id, notice.reason),
        (setup.echo.id(), StopReason::Normal)
    );

    // A kill overtakes the frames parked for the full actor (the runtime
    // acts on it once the running handler returns).
    setup.slow.kill();
    setup.open_gate.send_replace(true);
    let notice = within("Terminated of the killed actor", terminated.recv())
        .await
        .expect("a notice");
    assert_eq!(
        (notice.id, notice.reason),
        (setup.slow.id(), StopReason::Killed)
    );

    setup.beta.shutdown().await;
    setup.alpha.shutdown().await;
}
