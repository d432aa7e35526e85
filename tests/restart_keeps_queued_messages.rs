//! A restart keeps the actor's ref and every queued message; only the
//! message whose handling failed is dropped.

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, Supervisor, SupervisorStrategy};
use tokio::sync::mpsc;

mod support;

/// Records every number it handles; panics on multiples of 100.
struct Flaky {
    handled: mpsc::UnboundedSender<u64>,
}

impl Actor for Flaky {}

struct Number(u64);
impl Message for Number {
    type Reply = ();
}

impl Handler<Number> for Flaky {
    async fn handle(&mut self, Number(n): Number, _: &mut Context<Self>) {
        assert!(n % 100 != 0, "boom at {n}");
        self.handled.send(n).unwrap();
    }
}

struct Restarts;
impl Message for Restarts {
    type Reply = u32;
}

impl Handler<Restarts> for Flaky {
    async fn handle(&mut self, _: Restarts, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

fn supervised_flaky(strategy: SupervisorStrategy) -> (Supervisor, mpsc::UnboundedReceiver<u64>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let spec = ChildSpec::new(move || Flaky {
        handled: tx.clone(),
    })
    .name("flaky");
    (Supervisor::new(strategy).child(spec), rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_but_the_failing_ones_is_handled_once_in_order() {
    let system = System::new();
    let strategy = SupervisorStrategy::one_for_one().intensity(1_000, Duration::from_secs(3_600));
    let (supervisor, mut handled) = supervised_flaky(strategy);
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.ask(proscenium::WhichChildren).await.unwrap();
    let flaky = system.lookup::<Flaky>("flaky").unwrap();

    for n in 1..=10_000 {
        flaky.tell(Number(n)).await.unwrap();
    }
    // Queued after every tell, so answered after all of them.
    let restarts = flaky.ask(Restarts).await.unwrap();

    let mut seen = Vec::new();
    while let Ok(n) = handled.try_recv() {
        seen.push(n);
    }
    let expected: Vec<u64> = (1..=10_000).filter(|n| n % 100 != 0).collect();
    assert_eq!(seen, expected);
    assert_eq!(restarts, 100);
    assert!(flaky.is_alive());
    assert_eq!(system.lookup::<Flaky>("flaky").unwrap().id(), flaky.id());
    system.shutdown().await;
}

#[tokio::test]
async fn exceeding_the_intensity_fails_the_supervisor() {
    let system = System::new();
    let strategy = SupervisorStrategy::one_for_one().intensity(3, Duration::from_secs(3_600));
    let (supervisor, _handled) = supervised_flaky(strategy);
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.ask(proscenium::WhichChildren).await.unwrap();
    let flaky = system.lookup::<Flaky>("flaky").unwrap();

    for n in 1..=4 {
        // Sends may race the final stop; the supervisor's end is what counts.
        let _ = flaky.tell(Number(n * 100)).await;
    }
    let reason = supervisor.wait_stopped().await;
    match reason {
        StopReason::Failed(why) => assert!(
            why.message().contains("restart intensity exceeded"),
            "{why}"
        ),
        other => panic!("supervisor ended with {other:?}"),
    }
    assert!(!flaky.is_alive());
}

/// Holds the handler until the test opens the gate.
struct Hold(support::Gate);
impl Message for Hold {
    type Reply = ();
}

impl Handler<Hold> for Flaky {
    async fn handle(&mut self, Hold(gate): Hold, _: &mut Context<Self>) {
        gate.pass().await;
    }
}

/// A child that fails while draining its mailbox for its supervisor's
/// graceful stop still handles the rest of its queue, and the stop ends.
#[tokio::test(start_paused = true)]
async fn a_child_failing_while_its_supervisor_stops_still_drains() {
    let system = System::new();
    let (supervisor, mut handled) = supervised_flaky(SupervisorStrategy::one_for_one());
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.ask(proscenium::WhichChildren).await.unwrap();
    let flaky = system.lookup::<Flaky>("flaky").unwrap();

    let (gate, mut held) = support::gate();
    flaky.tell(Hold(gate)).await.unwrap();
    held.entered().await;
    for n in [1, 100, 2] {
        flaky.tell(Number(n)).await.unwrap();
    }
    supervisor.stop();
    // The supervisor is now waiting for its children: it has stopped flaky.
    while flaky.try_tell(Restarts).is_ok() {
        tokio::task::yield_now().await;
    }
    held.open();
    // Paused time: a hang reaches this deadline at once instead of blocking.
    let stopped = tokio::time::timeout(Duration::from_secs(3_600), supervisor.wait_stopped()).await;
    assert_eq!(
        stopped,
        Ok(StopReason::Normal),
        "the supervisor never stopped"
    );
    assert_eq!(flaky.wait_stopped().await, StopReason::Normal);

    let mut seen = Vec::new();
    while let Ok(n) = handled.try_recv() {
        seen.push(n);
    }
    assert_eq!(seen, [1, 2]);
}
