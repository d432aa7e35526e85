//! A supervisor's stop always ends, whatever its children do meanwhile.
//!
//! * A child that fails while its supervisor stops is restarted only to
//!   drain what it had already accepted, and such restarts count against
//!   the supervisor's intensity: past it, the child is dismissed with its
//!   failure and the stop goes on (before, a child whose restart always
//!   failed was restarted forever and the stop never ended).
//!
//! These run on real time: a spinning stop keeps the runtime busy, so
//! paused time would never reach the hang guard.

mod support;

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, Supervisor, SupervisorStrategy, WhichChildren};
use support::{gate, within, Gate};
use tokio::sync::mpsc;

/// Fails on `Boom`, and fails every restart: it can never come back.
struct Doomed {
    restarts: mpsc::UnboundedSender<()>,
}

impl Actor for Doomed {
    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), ActorError> {
        let _ = self.restarts.send(());
        Err("cannot come back".into())
    }
}

struct Hold(Gate);
impl Message for Hold {
    type Reply = ();
}

impl Handler<Hold> for Doomed {
    async fn handle(&mut self, Hold(gate): Hold, _: &mut Context<Self>) {
        gate.pass().await;
    }
}

struct Boom;
impl Message for Boom {
    type Reply = ();
}

impl Handler<Boom> for Doomed {
    async fn handle(&mut self, _: Boom, _: &mut Context<Self>) {
        panic!("boom while draining");
    }
}

struct Tick;
impl Message for Tick {
    type Reply = ();
}

impl Handler<Tick> for Doomed {
    async fn handle(&mut self, _: Tick, _: &mut Context<Self>) {}
}

#[tokio::test]
async fn a_child_whose_restart_always_fails_does_not_stall_its_supervisors_stop() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let (restarts_tx, mut restarts) = mpsc::unbounded_channel();
    let spec = ChildSpec::new(move || Doomed {
        restarts: restarts_tx.clone(),
    })
    .name("doomed");
    let (max, within_window) = (3, Duration::from_secs(3_600));
    let strategy = SupervisorStrategy::one_for_one().intensity(max, within_window);
    let supervisor = system.spawn(Supervisor::new(strategy).child(spec)).unwrap();
    supervisor.ask(WhichChildren).await.unwrap();
    let doomed = system.lookup::<Doomed>("doomed").unwrap();

    // Queue a failure behind a held message, then stop the supervisor: the
    // child meets the failure while it drains for that stop.
    let (held, mut control) = gate();
    doomed.tell(Hold(held)).await.unwrap();
    control.entered().await;
    doomed.tell(Boom).await.unwrap();
    doomed.tell(Tick).await.unwrap();
    supervisor.stop();
    // Refused once the supervisor has told the child to stop.
    while doomed.try_tell(Tick).is_ok() {
        tokio::task::yield_now().await;
    }
    control.open();

    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Normal
    );
    match doomed.wait_stopped().await {
        StopReason::Failed(why) => assert!(why.contains("cannot come back"), "{why}"),
        other => panic!("the child ended with {other:?}"),
    }
    // Restarted to drain as long as the intensity allowed, then dismissed.
    let mut tries = 0;
    while restarts.try_recv().is_ok() {
        tries += 1;
    }
    assert_eq!(tries, max);
    // The tell it could not handle is not lost silently.
    let letter = dead_letters.try_recv().expect("a dead letter for the Tick");
    assert_eq!(letter.recipient, doomed.id());
}

/// A failed child that its parent cannot restart during the stop is
/// dismissed; a child whose restart succeeds still drains its queue (the
/// promise of `restart_keeps_queued_messages`), so this pins the other
/// side: a supervisor whose intensity is already spent dismisses at once.
#[tokio::test]
async fn with_the_intensity_spent_a_child_failing_during_the_stop_is_dismissed_at_once() {
    let system = System::new();
    let (restarts_tx, mut restarts) = mpsc::unbounded_channel();
    let spec = ChildSpec::new(move || Doomed {
        restarts: restarts_tx.clone(),
    })
    .name("doomed");
    let strategy = SupervisorStrategy::one_for_one().intensity(0, Duration::from_secs(3_600));
    let supervisor = system.spawn(Supervisor::new(strategy).child(spec)).unwrap();
    supervisor.ask(WhichChildren).await.unwrap();
    let doomed = system.lookup::<Doomed>("doomed").unwrap();

    let (held, mut control) = gate();
    doomed.tell(Hold(held)).await.unwrap();
    control.entered().await;
    doomed.tell(Boom).await.unwrap();
    supervisor.stop();
    while doomed.try_tell(Tick).is_ok() {
        tokio::task::yield_now().await;
    }
    control.open();

    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Normal
    );
    match doomed.wait_stopped().await {
        StopReason::Failed(why) => assert!(why.contains("boom while draining"), "{why}"),
        other => panic!("the child ended with {other:?}"),
    }
    assert!(restarts.try_recv().is_err(), "restarted past the intensity");
}
