//! A supervisor's stop always ends, whatever its children do meanwhile.
//!
//! * A child that fails while its supervisor stops is restarted only to
//!   drain what it had already accepted, and such restarts count against
//!   the supervisor's intensity: past it, the child is dismissed with its
//!   failure and the stop goes on (before, a child whose restart always
//!   failed was restarted forever and the stop never ended).
//!
//! * A child that does not stop within its shutdown timeout (OTP's
//!   `shutdown` in a child spec) is killed, wherever it is stuck, and the
//!   stop goes on; a `BrutalKill` child is killed without a graceful stop.
//!
//! The first two run on real time: a spinning stop keeps the runtime busy,
//! so paused time would never reach the hang guard. The shutdown tests
//! run on paused time: a stuck child leaves the runtime idle, so its
//! (short, configured) timeout is reached at once, and order and outcome
//! are asserted, never durations.

mod support;

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, Shutdown, Supervisor, SupervisorStrategy, WhichChildren};
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
        StopReason::Failed(why) => assert!(why.message().contains("cannot come back"), "{why}"),
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
        StopReason::Failed(why) => assert!(why.message().contains("boom while draining"), "{why}"),
        other => panic!("the child ended with {other:?}"),
    }
    assert!(restarts.try_recv().is_err(), "restarted past the intensity");
}

/// Its `on_stop` logs that it began, then never returns unless `hang` is
/// false; it may spawn a child of the same kind in `on_start`.
struct Stubborn {
    name: &'static str,
    hang: bool,
    log: mpsc::UnboundedSender<String>,
    grandchild: Option<mpsc::UnboundedSender<ActorRef<Stubborn>>>,
}

impl Stubborn {
    fn spec(
        name: &'static str,
        hang: bool,
        log: &mpsc::UnboundedSender<String>,
    ) -> ChildSpec<Stubborn> {
        let log = log.clone();
        ChildSpec::new(move || Stubborn {
            name,
            hang,
            log: log.clone(),
            grandchild: None,
        })
        .name(name)
    }
}

impl Actor for Stubborn {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        if let Some(report) = self.grandchild.take() {
            let grandchild = ctx.spawn(Stubborn {
                name: "grandchild",
                hang: true,
                log: self.log.clone(),
                grandchild: None,
            })?;
            let _ = report.send(grandchild);
        }
        Ok(())
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        let _ = self.log.send(format!("on_stop {}", self.name));
        if self.hang {
            std::future::pending::<()>().await;
        }
    }
}

impl Handler<Hold> for Stubborn {
    async fn handle(&mut self, Hold(gate): Hold, _: &mut Context<Self>) {
        gate.pass().await;
    }
}

impl Handler<Tick> for Stubborn {
    async fn handle(&mut self, _: Tick, _: &mut Context<Self>) {
        let _ = self.log.send(format!("tick {}", self.name));
    }
}

fn drain(log: &mut mpsc::UnboundedReceiver<String>) -> Vec<String> {
    let mut lines = Vec::new();
    while let Ok(line) = log.try_recv() {
        lines.push(line);
    }
    lines
}

/// The shutdown timeout the tests configure: short, so that paused time
/// reaches it as soon as the stuck child leaves the runtime idle.
const SHORT: Shutdown = Shutdown::Timeout(Duration::from_millis(50));

#[tokio::test(start_paused = true)]
async fn a_child_whose_on_stop_hangs_is_killed_after_its_shutdown_timeout() {
    let system = System::new();
    let (log, mut lines) = mpsc::unbounded_channel();
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(Stubborn::spec("first", false, &log))
        .child(Stubborn::spec("stuck", true, &log).shutdown(SHORT));
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.wait_started().await.unwrap();
    let first = system.lookup::<Stubborn>("first").unwrap();
    let stuck = system.lookup::<Stubborn>("stuck").unwrap();

    supervisor.stop();
    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Normal
    );
    assert_eq!(stuck.wait_stopped().await, StopReason::Killed);
    assert_eq!(first.wait_stopped().await, StopReason::Normal);
    // Last started first: the stuck one is killed, then the next stops.
    assert_eq!(drain(&mut lines), ["on_stop stuck", "on_stop first"]);
    assert!(
        system.lookup::<Stubborn>("stuck").is_none(),
        "its name was not freed"
    );
}

#[tokio::test(start_paused = true)]
async fn a_brutal_kill_child_is_killed_at_once_and_no_ask_to_it_hangs() {
    let system = System::new();
    let (log, mut lines) = mpsc::unbounded_channel();
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(Stubborn::spec("brutal", false, &log).shutdown(Shutdown::BrutalKill));
    let supervisor = system.spawn(supervisor).unwrap();
    supervisor.wait_started().await.unwrap();
    let brutal = system.lookup::<Stubborn>("brutal").unwrap();
    let (held, mut control) = gate();
    let holding = tokio::spawn({
        let brutal = brutal.clone();
        async move { brutal.ask(Hold(held)).await }
    });
    control.entered().await;
    let queued = tokio::spawn({
        let brutal = brutal.clone();
        async move { brutal.ask(Tick).await }
    });
    while brutal.mailbox_len() == 0 {
        tokio::task::yield_now().await;
    }

    supervisor.stop();
    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Normal
    );
    assert_eq!(brutal.wait_stopped().await, StopReason::Killed);
    // Neither the held message's ask nor the queued one waits forever.
    let holding = within("the held ask", holding).await.unwrap();
    assert!(holding.is_err(), "{holding:?}");
    assert_eq!(
        within("the queued ask", queued).await.unwrap(),
        Err(AskError::Stopped)
    );
    // Killed mid-handler: the queued tick was not handled, on_stop never ran.
    assert_eq!(drain(&mut lines), Vec::<String>::new());
    drop(control);
}

#[tokio::test(start_paused = true)]
async fn a_killed_child_takes_its_own_stuck_children_with_it() {
    let system = System::new();
    let (log, mut lines) = mpsc::unbounded_channel();
    let (report, mut grandchildren) = mpsc::unbounded_channel();
    let child = {
        let log = log.clone();
        ChildSpec::new(move || Stubborn {
            name: "child",
            hang: false,
            log: log.clone(),
            grandchild: Some(report.clone()),
        })
        .shutdown(SHORT)
    };
    let supervisor = system
        .spawn(Supervisor::new(SupervisorStrategy::one_for_one()).child(child))
        .unwrap();
    supervisor.wait_started().await.unwrap();
    let grandchild = grandchildren.recv().await.unwrap();

    supervisor.stop();
    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Normal
    );
    // The child waited for its stuck grandchild (5 s by default) longer than
    // its own timeout allowed: it was killed, and the grandchild with it.
    assert_eq!(
        within("the grandchild's end", grandchild.wait_stopped()).await,
        StopReason::Killed
    );
    assert_eq!(drain(&mut lines), ["on_stop grandchild"]);
}

/// Fails its start, then hangs in `on_stop`.
struct FailsThenHangs;

impl Actor for FailsThenHangs {
    async fn on_start(&mut self, _: &mut Context<Self>) -> Result<(), ActorError> {
        Err("cannot start".into())
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        std::future::pending::<()>().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_child_that_fails_to_start_and_hangs_in_on_stop_does_not_stall_the_start() {
    let system = System::new();
    let (log, mut lines) = mpsc::unbounded_channel();
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(Stubborn::spec("first", false, &log))
        .child(ChildSpec::new(|| FailsThenHangs).shutdown(SHORT));
    let supervisor = system.spawn(supervisor).unwrap();
    match within("the supervisor's start", supervisor.wait_started()).await {
        Err(StartError::Failed { reason }) => assert!(reason.contains("cannot start"), "{reason}"),
        other => panic!("the start ended with {other:?}"),
    }
    // The failed child was killed, then the one started before it stopped.
    assert_eq!(drain(&mut lines), ["on_stop first"]);
}
