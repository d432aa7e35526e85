//! One-for-all and rest-for-one restart exactly the right siblings, in
//! place (same ids); one-for-one restarts only the failed child.

use std::time::Duration;

use proscenium::prelude::*;
use proscenium::{ChildSpec, RestartPolicy, Supervisor, SupervisorStrategy, WhichChildren};
use tokio::sync::mpsc;

/// A child that reports each restart and can be made to crash.
struct Member {
    name: &'static str,
    restarted: mpsc::UnboundedSender<&'static str>,
}

impl Actor for Member {
    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        _: &StopReason,
    ) -> Result<(), ActorError> {
        self.restarted.send(self.name).unwrap();
        Ok(())
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

struct Family {
    system: System,
    members: Vec<ActorRef<Member>>,
    restarted: mpsc::UnboundedReceiver<&'static str>,
}

async fn family(strategy: SupervisorStrategy, policies: [RestartPolicy; 3]) -> Family {
    let system = System::new();
    let (tx, restarted) = mpsc::unbounded_channel();
    let names = ["a", "b", "c"];
    let mut supervisor = Supervisor::new(strategy.intensity(10, Duration::from_secs(3_600)));
    for (name, policy) in names.into_iter().zip(policies) {
        let tx = tx.clone();
        let spec = ChildSpec::new(move || Member {
            name,
            restarted: tx.clone(),
        })
        .name(name)
        .restart(policy);
        supervisor = supervisor.child(spec);
    }
    let supervisor = system.spawn(supervisor).unwrap();
    let ids = supervisor.ask(WhichChildren).await.unwrap();
    let members: Vec<_> = names
        .iter()
        .map(|n| system.lookup::<Member>(n).unwrap())
        .collect();
    assert_eq!(
        ids,
        members.iter().map(ActorRef::id).collect::<Vec<_>>(),
        "children in start order"
    );
    Family {
        system,
        members,
        restarted,
    }
}

impl Family {
    /// Crashes `b`, waits until `expected` members report a restart, and
    /// returns each member's restart count afterwards.
    async fn crash_b(&mut self, expected: usize) -> (Vec<&'static str>, Vec<u32>) {
        let crashed = self.members[1].ask(Crash).await;
        assert!(
            matches!(crashed, Err(AskError::Failed { .. })),
            "{crashed:?}"
        );
        let mut restarted = Vec::new();
        for _ in 0..expected {
            restarted.push(self.restarted.recv().await.unwrap());
        }
        restarted.sort_unstable();
        // Restart signals were all sent before the first restart report, and
        // signals overtake messages, so these asks see every restart.
        let mut counts = Vec::new();
        for member in &self.members {
            counts.push(member.ask(Restarts).await.unwrap_or(u32::MAX));
        }
        assert!(
            self.restarted.try_recv().is_err(),
            "an unexpected member restarted"
        );
        (restarted, counts)
    }

    fn ids_unchanged(&self) {
        for (member, name) in self.members.iter().zip(["a", "b", "c"]) {
            assert_eq!(
                self.system.lookup::<Member>(name).unwrap().id(),
                member.id()
            );
        }
    }
}

const PERMANENT: [RestartPolicy; 3] = [RestartPolicy::Permanent; 3];

#[tokio::test]
async fn one_for_one_restarts_only_the_failed_child() {
    let mut family = family(SupervisorStrategy::one_for_one(), PERMANENT).await;
    let (restarted, counts) = family.crash_b(1).await;
    assert_eq!(restarted, ["b"]);
    assert_eq!(counts, [0, 1, 0]);
    family.ids_unchanged();
}

#[tokio::test]
async fn one_for_all_restarts_every_child() {
    let mut family = family(SupervisorStrategy::one_for_all(), PERMANENT).await;
    let (restarted, counts) = family.crash_b(3).await;
    assert_eq!(restarted, ["a", "b", "c"]);
    assert_eq!(counts, [1, 1, 1]);
    family.ids_unchanged();
}

#[tokio::test]
async fn rest_for_one_restarts_the_failed_child_and_later_ones() {
    let mut family = family(SupervisorStrategy::rest_for_one(), PERMANENT).await;
    let (restarted, counts) = family.crash_b(2).await;
    assert_eq!(restarted, ["b", "c"]);
    assert_eq!(counts, [0, 1, 1]);
    family.ids_unchanged();
}

#[tokio::test]
async fn temporary_child_is_not_restarted() {
    let policies = [
        RestartPolicy::Permanent,
        RestartPolicy::Temporary,
        RestartPolicy::Permanent,
    ];
    let family = family(SupervisorStrategy::one_for_one(), policies).await;
    let crashed = family.members[1].ask(Crash).await;
    assert!(matches!(crashed, Err(AskError::Failed { .. })));
    assert!(matches!(
        family.members[1].wait_stopped().await,
        StopReason::Failed(_)
    ));
    assert!(family.members[0].is_alive() && family.members[2].is_alive());
}
