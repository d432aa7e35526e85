//! A failure keeps the error the actor failed with: a watcher on the same
//! node, `wait_stopped` and the restarted actor's `on_restart` can
//! downcast it; a watcher on another node gets its text.

mod support_cluster;

use std::fmt;

use proscenium::prelude::*;
use support_cluster::{connected_pair, within, Monitor, Watch};
use tokio::sync::mpsc;

/// The typed error the actors below fail with.
#[derive(Debug, PartialEq)]
struct DiskFull {
    free_bytes: u64,
}

impl fmt::Display for DiskFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "disk full: {} bytes free", self.free_bytes)
    }
}

impl std::error::Error for DiskFull {}

/// Fails with `DiskFull` when told to, and reports each restart's reason.
#[derive(Default)]
struct Journal {
    restarts: Option<mpsc::UnboundedSender<StopReason>>,
}

impl Actor for Journal {
    async fn on_restart(
        &mut self,
        _: &mut Context<Self>,
        reason: &StopReason,
    ) -> Result<(), ActorError> {
        if let Some(restarts) = &self.restarts {
            let _ = restarts.send(reason.clone());
        }
        Ok(())
    }
}

struct Write {
    free_bytes: u64,
}
impl Message for Write {
    type Reply = ();
}
impl Handler<Write> for Journal {
    async fn handle(&mut self, Write { free_bytes }: Write, ctx: &mut Context<Self>) {
        ctx.fail(DiskFull { free_bytes });
    }
}

struct Explode;
impl Message for Explode {
    type Reply = ();
}
impl Handler<Explode> for Journal {
    async fn handle(&mut self, _: Explode, _: &mut Context<Self>) {
        panic!("journal exploded");
    }
}

fn failure_of(reason: &StopReason) -> &proscenium::Failure {
    match reason {
        StopReason::Failed(failure) => failure,
        other => panic!("expected a failure, got {other}"),
    }
}

#[tokio::test]
async fn a_local_watcher_downcasts_the_error_the_actor_failed_with() {
    let system = System::new();
    let journal = system.spawn(Journal::default()).unwrap();
    let (monitor, mut reports) = Monitor::spawn(&system);
    monitor.ask(Watch(journal.clone())).await.unwrap();

    journal.tell(Write { free_bytes: 12 }).await.unwrap();
    let terminated = within("the Terminated", reports.recv()).await.unwrap();
    assert_eq!(terminated.id, journal.id());
    let failure = failure_of(&terminated.reason);
    assert_eq!(
        failure.downcast_ref::<DiskFull>(),
        Some(&DiskFull { free_bytes: 12 })
    );
    assert_eq!(failure.message(), "disk full: 12 bytes free");
    assert!(!failure.is_panic());

    let stopped = within("wait_stopped", journal.wait_stopped()).await;
    assert!(failure_of(&stopped).is::<DiskFull>());
    system.shutdown().await;
}

#[tokio::test]
async fn a_restarted_actor_sees_the_typed_error_in_on_restart() {
    struct Parent(
        mpsc::UnboundedSender<ActorRef<Journal>>,
        mpsc::UnboundedSender<StopReason>,
    );
    impl Actor for Parent {
        async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
            let journal = ctx.spawn(Journal {
                restarts: Some(self.1.clone()),
            })?;
            let _ = self.0.send(journal);
            Ok(())
        }
    }

    let system = System::new();
    let (child_tx, mut child_rx) = mpsc::unbounded_channel();
    let (restarts_tx, mut restarts) = mpsc::unbounded_channel();
    system.spawn(Parent(child_tx, restarts_tx)).unwrap();
    let journal = within("the child", child_rx.recv()).await.unwrap();

    journal.tell(Write { free_bytes: 3 }).await.unwrap();
    let reason = within("the first restart", restarts.recv()).await.unwrap();
    assert_eq!(
        failure_of(&reason).downcast_ref::<DiskFull>(),
        Some(&DiskFull { free_bytes: 3 })
    );

    journal.tell(Explode).await.unwrap();
    let reason = within("the second restart", restarts.recv()).await.unwrap();
    let failure = failure_of(&reason);
    assert!(failure.is_panic());
    assert!(failure.error().is_none());
    assert!(failure.message().contains("journal exploded"), "{failure}");
    system.shutdown().await;
}

#[tokio::test]
async fn a_remote_watcher_gets_the_text_of_the_failure() {
    let (a, b, b_id) = connected_pair().await;
    let journal = b
        .system()
        .spawn_named("journal", Journal::default())
        .unwrap();
    let remote = a
        .lookup_on::<Journal>(b_id, "journal")
        .await
        .expect("b answers")
        .expect("b has the journal");
    let (far, mut far_reports) = Monitor::spawn(a.system());
    far.ask(Watch(remote.clone())).await.unwrap();
    // The watch went out on the link before this lookup, and b answers
    // frames in order: once the lookup is answered, b holds the watch.
    a.lookup_on::<Journal>(b_id, "journal")
        .await
        .expect("b answers")
        .expect("b still has the journal");
    let (near, mut near_reports) = Monitor::spawn(b.system());
    near.ask(Watch(journal.clone())).await.unwrap();

    journal.tell(Write { free_bytes: 7 }).await.unwrap();
    let near_terminated = within("b's Terminated", near_reports.recv()).await.unwrap();
    let far_terminated = within("a's Terminated", far_reports.recv()).await.unwrap();
    assert_eq!(far_terminated.id, journal.id());
    let (near_failure, far_failure) = (
        failure_of(&near_terminated.reason),
        failure_of(&far_terminated.reason),
    );
    assert!(near_failure.is::<DiskFull>());
    // Only the text crossed: equal by message, without the typed error.
    assert_eq!(far_failure.message(), "disk full: 7 bytes free");
    assert_eq!(far_failure, near_failure);
    assert!(far_failure.error().is_none());
    assert!(!far_failure.is::<DiskFull>());
    a.shutdown().await;
    b.shutdown().await;
}
