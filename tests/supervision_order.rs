//! A supervisor starts its children one at a time in list order, as
//! Erlang/OTP does: each child's `on_start` completes before the next child
//! is spawned, and the supervisor is up only once they all are. One-for-all
//! and rest-for-one restarts take the affected children down in reverse
//! start order, each waited for (its `on_stop` run), then start them again
//! in start order, each `on_restart` completing before the next begins. A
//! child that fails to start stops the ones started before it, in reverse
//! order, and fails the supervisor's start.
//!
//! Every hook yields between its two log lines, so that on a multi-thread
//! runtime a hook running concurrently with another shows up as
//! interleaved lines.

mod support;

use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, RestartPolicy, Supervisor, SupervisorStrategy, WhichChildren};
use support::{gate, poll_once, within, Gate};
use tokio::sync::mpsc;

/// What the hooks report: `"<hook> <name>"` when a hook begins and
/// `"<hook>ed <name>"`-style lines when it ends (see [`Member`]).
type Log = mpsc::UnboundedSender<String>;

/// A child that logs each hook as it begins and ends, and can be made to
/// crash in a handler or in `on_start`.
struct Member {
    name: &'static str,
    log: Log,
    fail_start: bool,
    /// Taken by the first `on_start`, which waits at it.
    gate: Option<Arc<Mutex<Option<Gate>>>>,
}

impl Member {
    fn say(&self, what: &str) {
        // The test may have stopped listening; that is not this actor's failure.
        let _ = self.log.send(format!("{what} {}", self.name));
    }

    /// Lets other tasks run: a hook that overlapped another would show here.
    async fn dawdle() {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
    }
}

impl Actor for Member {
    async fn on_start(&mut self, _: &mut Context<Self>) -> Result<(), ActorError> {
        self.say("start");
        let gate = self.gate.as_ref().and_then(|g| g.lock().unwrap().take());
        if let Some(gate) = gate {
            gate.pass().await;
        }
        Self::dawdle().await;
        assert!(!self.fail_start, "{} cannot start", self.name);
        self.say("started");
        Ok(())
    }

    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), ActorError> {
        self.say("restart");
        Self::dawdle().await;
        self.say("restarted");
        Ok(())
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        self.say("stop");
        Self::dawdle().await;
        self.say("stopped");
    }
}

struct Crash;
impl Message for Crash {
    type Reply = ();
}

impl Handler<Crash> for Member {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("{} crashed on purpose", self.name);
    }
}

struct Restarts;
impl Message for Restarts {
    type Reply = u32;
}

impl Handler<Restarts> for Member {
    async fn handle(&mut self, _: Restarts, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

/// A member's spec: `policy`, named after the member, failing its every
/// start if `fail_start`.
fn member(
    name: &'static str,
    log: &Log,
    policy: RestartPolicy,
    fail_start: bool,
) -> ChildSpec<Member> {
    let log = log.clone();
    ChildSpec::new(move || Member {
        name,
        log: log.clone(),
        fail_start,
        gate: None,
    })
    .name(name)
    .restart(policy)
}

/// A supervisor of permanent members, one per name, that never escalates.
fn team(strategy: SupervisorStrategy, names: &[&'static str], log: &Log) -> Supervisor {
    let strategy = strategy.intensity(100, Duration::from_secs(3_600));
    names.iter().fold(Supervisor::new(strategy), |sup, name| {
        sup.child(member(name, log, RestartPolicy::Permanent, false))
    })
}

/// The next `n` log lines.
async fn lines(log: &mut mpsc::UnboundedReceiver<String>, n: usize) -> Vec<String> {
    let mut lines = Vec::with_capacity(n);
    for _ in 0..n {
        let line = within("a hook's log line", log.recv()).await;
        lines.push(line.expect("the log lives as long as the test"));
    }
    lines
}

/// `"<hook> <name>", "<hook>ed <name>"` for each name, in order.
fn expected(hook: &str, done: &str, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .flat_map(|name| [format!("{hook} {name}"), format!("{done} {name}")])
        .collect()
}

/// Spawns `supervisor`, waits until it is up and checks its members
/// started in order; returns refs to them, in `names` order.
async fn start_team(
    system: &System,
    supervisor: Supervisor,
    names: &[&'static str],
    log: &mut mpsc::UnboundedReceiver<String>,
) -> (ActorRef<Supervisor>, Vec<ActorRef<Member>>) {
    let supervisor = system.spawn(supervisor).unwrap();
    within("the team's start", supervisor.wait_started())
        .await
        .unwrap();
    assert_eq!(
        lines(log, 2 * names.len()).await,
        expected("start", "started", names)
    );
    let members = names
        .iter()
        .map(|name| system.lookup::<Member>(name).unwrap())
        .collect();
    (supervisor, members)
}

/// Asks each member how often it was restarted; also proves that every
/// hook that was going to run has run (the asks queue behind them).
async fn restart_counts(members: &[ActorRef<Member>]) -> Vec<u32> {
    let mut counts = Vec::new();
    for member in members {
        counts.push(
            within("a restart count", member.ask(Restarts))
                .await
                .unwrap(),
        );
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn children_start_one_at_a_time_in_list_order_and_stop_in_reverse() {
    let names = ["a", "b", "c", "d"];
    for _ in 0..50 {
        let system = System::new();
        let (tx, mut log) = mpsc::unbounded_channel();
        let supervisor = team(SupervisorStrategy::one_for_one(), &names, &tx);
        start_team(&system, supervisor, &names, &mut log).await;

        within("shutdown", system.shutdown()).await;
        assert_eq!(
            lines(&mut log, 8).await,
            expected("stop", "stopped", &["d", "c", "b", "a"])
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rest_for_one_stops_later_children_in_reverse_and_restarts_them_in_order() {
    let names = ["a", "b", "c", "d"];
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let supervisor = team(SupervisorStrategy::rest_for_one(), &names, &tx);
    let (_supervisor, members) = start_team(&system, supervisor, &names, &mut log).await;
    let ids: Vec<_> = members.iter().map(ActorRef::id).collect();

    let crashed = members[1].ask(Crash).await;
    assert!(
        matches!(crashed, Err(AskError::Failed { .. })),
        "{crashed:?}"
    );

    let mut want = expected("stop", "stopped", &["d", "c"]);
    want.extend(expected("restart", "restarted", &["b", "c", "d"]));
    assert_eq!(lines(&mut log, want.len()).await, want);
    // `a`, started before `b`, is untouched.
    assert_eq!(restart_counts(&members).await, [0, 1, 1, 1]);
    assert!(log.try_recv().is_err(), "a hook ran that should not have");
    for (name, id) in names.iter().zip(ids) {
        assert_eq!(
            system.lookup::<Member>(name).unwrap().id(),
            id,
            "restarted in place"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_for_all_stops_every_child_in_reverse_and_restarts_them_in_order() {
    let names = ["a", "b", "c", "d"];
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let supervisor = team(SupervisorStrategy::one_for_all(), &names, &tx);
    let (_supervisor, members) = start_team(&system, supervisor, &names, &mut log).await;

    let crashed = members[2].ask(Crash).await;
    assert!(
        matches!(crashed, Err(AskError::Failed { .. })),
        "{crashed:?}"
    );

    let mut want = expected("stop", "stopped", &["d", "b", "a"]);
    want.extend(expected("restart", "restarted", &["a", "b", "c", "d"]));
    assert_eq!(lines(&mut log, want.len()).await, want);
    assert_eq!(restart_counts(&members).await, [1, 1, 1, 1]);
    assert!(log.try_recv().is_err(), "a hook ran that should not have");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_for_all_stops_a_temporary_sibling_and_does_not_restart_it() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let strategy = SupervisorStrategy::one_for_all().intensity(100, Duration::from_secs(3_600));
    let supervisor = Supervisor::new(strategy)
        .child(member("a", &tx, RestartPolicy::Permanent, false))
        .child(member("b", &tx, RestartPolicy::Permanent, false))
        .child(member("t", &tx, RestartPolicy::Temporary, false))
        .child(member("d", &tx, RestartPolicy::Permanent, false));
    let names = ["a", "b", "t", "d"];
    let (supervisor, members) = start_team(&system, supervisor, &names, &mut log).await;
    let temporary = members[2].clone();

    let crashed = members[1].ask(Crash).await;
    assert!(
        matches!(crashed, Err(AskError::Failed { .. })),
        "{crashed:?}"
    );

    let mut want = expected("stop", "stopped", &["d", "t", "a"]);
    want.extend(expected("restart", "restarted", &["a", "b", "d"]));
    assert_eq!(lines(&mut log, want.len()).await, want);
    assert_eq!(
        within("the temporary's stop", temporary.wait_stopped()).await,
        StopReason::Normal
    );
    assert!(system.lookup::<Member>("t").is_none());
    let survivors = [members[0].clone(), members[1].clone(), members[3].clone()];
    assert_eq!(restart_counts(&survivors).await, [1, 1, 1]);
    let children = within("WhichChildren", supervisor.ask(WhichChildren))
        .await
        .unwrap();
    assert_eq!(
        children,
        survivors.iter().map(ActorRef::id).collect::<Vec<_>>()
    );
    assert!(log.try_recv().is_err(), "a hook ran that should not have");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_child_failing_to_start_stops_the_earlier_ones_in_reverse_and_fails_the_supervisor() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let supervisor = ["a", "b", "c"]
        .into_iter()
        .fold(
            Supervisor::new(SupervisorStrategy::one_for_one()),
            |sup, name| sup.child(member(name, &tx, RestartPolicy::Permanent, false)),
        )
        .child(member("d", &tx, RestartPolicy::Permanent, true))
        .child(member("e", &tx, RestartPolicy::Permanent, false));
    let supervisor = system.spawn(supervisor).unwrap();

    let started = within("the supervisor's start", supervisor.wait_started()).await;
    let Err(StartError::Failed { reason }) = started else {
        panic!("the supervisor started: {started:?}");
    };
    assert!(reason.contains("d cannot start"), "{reason}");
    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Failed(reason.into())
    );

    let mut want = expected("start", "started", &["a", "b", "c"]);
    want.push("start d".into());
    // `d` ends for good (its `on_stop` runs), then the others, last first.
    want.extend(expected("stop", "stopped", &["d", "c", "b", "a"]));
    assert_eq!(lines(&mut log, want.len()).await, want);
    // `e` was never spawned, and nobody outlives the supervisor.
    assert!(log.try_recv().is_err(), "a hook ran that should not have");
    assert_eq!(system.actor_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_nested_start_failure_fails_every_start_up_the_tree() {
    // root ─┬─ first
    //       └─ team ─┬─ ok
    //                └─ bad (cannot start)
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let team = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(member("ok", &tx, RestartPolicy::Permanent, false))
        .child(member("bad", &tx, RestartPolicy::Permanent, true));
    let root = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(member("first", &tx, RestartPolicy::Permanent, false))
        .child(ChildSpec::new(move || team.clone()).name("team"));
    let root = system.spawn(root).unwrap();

    let started = within("the root's start", root.wait_started()).await;
    let Err(StartError::Failed { reason }) = started else {
        panic!("the root started: {started:?}");
    };
    // The root names the team, whose reason names its child.
    assert!(reason.contains("bad cannot start"), "{reason}");
    within("the root's stop", root.wait_stopped()).await;

    let mut want = expected("start", "started", &["first", "ok"]);
    want.push("start bad".into());
    want.extend(expected("stop", "stopped", &["bad", "ok", "first"]));
    assert_eq!(lines(&mut log, want.len()).await, want);
    assert!(log.try_recv().is_err(), "a hook ran that should not have");
    assert_eq!(system.actor_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_supervisor_is_up_only_once_its_children_are() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let (held, mut control) = gate();
    let held = Arc::new(Mutex::new(Some(held)));
    let slow = {
        let tx = tx.clone();
        ChildSpec::new(move || Member {
            name: "slow",
            log: tx.clone(),
            fail_start: false,
            gate: Some(held.clone()),
        })
    };
    let supervisor = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(member("a", &tx, RestartPolicy::Permanent, false))
        .child(slow)
        .child(member("c", &tx, RestartPolicy::Permanent, false));
    let supervisor = system.spawn(supervisor).unwrap();
    within("the slow child's start", control.entered()).await;

    let mut up = pin!(supervisor.wait_started());
    let mut children = pin!(supervisor.ask(WhichChildren));
    for _ in 0..10 {
        assert!(
            poll_once(up.as_mut()).await.is_pending(),
            "up before its children"
        );
        assert!(
            poll_once(children.as_mut()).await.is_pending(),
            "answered before its children were up"
        );
        tokio::task::yield_now().await;
    }
    control.open();
    within("the supervisor's start", up).await.unwrap();
    let want = expected("start", "started", &["a", "slow", "c"]);
    assert_eq!(lines(&mut log, want.len()).await, want);
    let children = within("WhichChildren", children).await.unwrap();
    assert_eq!(children.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_during_the_start_ends_it_at_once() {
    let system = System::new();
    let (tx, _log) = mpsc::unbounded_channel();
    let (held, mut control) = gate();
    let held = Arc::new(Mutex::new(Some(held)));
    let slow = ChildSpec::new(move || Member {
        name: "slow",
        log: tx.clone(),
        fail_start: false,
        gate: Some(held.clone()),
    })
    .name("slow");
    let supervisor = system
        .spawn(Supervisor::new(SupervisorStrategy::one_for_one()).child(slow))
        .unwrap();
    within("the slow child's start", control.entered()).await;
    let slow = system.lookup::<Member>("slow").unwrap();

    supervisor.kill();
    assert_eq!(
        within("the supervisor's start", supervisor.wait_started()).await,
        Err(StartError::Stopped(StopReason::Killed))
    );
    // The held child is killed too, once its `on_start` lets it see the kill.
    control.open();
    assert_eq!(
        within("the child's stop", slow.wait_stopped()).await,
        StopReason::Killed
    );
    assert_eq!(
        within("the supervisor's stop", supervisor.wait_stopped()).await,
        StopReason::Killed
    );
}

/// Spawns the team on start and waits until it is up; reports the outcome.
struct Parent {
    team: Option<Supervisor>,
    outcome: mpsc::UnboundedSender<Result<usize, StartError>>,
}

impl Actor for Parent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        let team = self.team.take().expect("started once");
        let team = ctx.spawn(team)?;
        let outcome = match team.wait_started().await {
            Ok(()) => Ok(team.ask(WhichChildren).await?.len()),
            Err(reason) => Err(reason),
        };
        let _ = self.outcome.send(outcome);
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_parent_awaits_its_supervisor_child_up_in_one_call() {
    let system = System::new();
    let (tx, mut log) = mpsc::unbounded_channel();
    let (outcome_tx, mut outcome) = mpsc::unbounded_channel();
    system
        .spawn(Parent {
            team: Some(team(SupervisorStrategy::one_for_one(), &["a", "b"], &tx)),
            outcome: outcome_tx.clone(),
        })
        .unwrap();
    assert_eq!(within("the team up", outcome.recv()).await, Some(Ok(2)));
    assert_eq!(
        lines(&mut log, 4).await,
        expected("start", "started", &["a", "b"])
    );

    // A team that cannot start answers with the failure, not a hang.
    let failing = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(member("x", &tx, RestartPolicy::Permanent, false))
        .child(member("y", &tx, RestartPolicy::Permanent, true));
    system
        .spawn(Parent {
            team: Some(failing),
            outcome: outcome_tx,
        })
        .unwrap();
    match within("the team's failure", outcome.recv()).await {
        Some(Err(StartError::Failed { reason })) => {
            assert!(reason.contains("y cannot start"), "{reason}")
        }
        other => panic!("expected the team's start to fail, got {other:?}"),
    }
}
