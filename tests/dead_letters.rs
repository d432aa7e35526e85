//! A dead letter is a told message that was queued but never handled, with
//! the reason its recipient stopped. Refused sends and unanswered asks are
//! not dead letters: their senders hear about them directly.

mod support;

use std::pin::pin;

use proscenium::prelude::*;
use proscenium::DeadLetter;
use support::{gate, poll_once, Block, Gate, Panic, Record, Recorder, Seen};

fn letter(to: ActorId, reason: StopReason) -> DeadLetter {
    DeadLetter {
        recipient: to,
        message_type: std::any::type_name::<Record>(),
        reason,
        possibly_delivered: false,
    }
}

#[tokio::test]
async fn tells_queued_at_a_kill_become_dead_letters_with_killed() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();
    actor.tell(Record(2)).await.unwrap();

    actor.kill();
    control.open();
    actor.wait_stopped().await;

    let expected = letter(actor.id(), StopReason::Killed);
    assert_eq!(dead_letters.recv().await, Some(expected.clone()));
    assert_eq!(dead_letters.recv().await, Some(expected));
    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn tells_queued_behind_a_panic_become_dead_letters_with_the_failure() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Panic("gears jammed")).await.unwrap();
    actor.tell(Record(1)).await.unwrap();

    control.open();
    let reason = actor.wait_stopped().await;

    assert!(matches!(&reason, StopReason::Failed(text) if text.message().contains("gears jammed")));
    assert_eq!(dead_letters.try_recv(), Some(letter(actor.id(), reason)));
    assert_eq!(dead_letters.try_recv(), None);
}

/// Waits at its gate in `on_start`, then fails to start.
struct FailsToStart(Option<Gate>);

impl Actor for FailsToStart {
    async fn on_start(&mut self, _ctx: &mut Context<Self>) -> Result<(), ActorError> {
        if let Some(gate) = self.0.take() {
            gate.pass().await;
        }
        Err("no database".into())
    }
}

impl Handler<Record> for FailsToStart {
    async fn handle(&mut self, _: Record, _ctx: &mut Context<Self>) {}
}

#[tokio::test]
async fn tells_queued_before_a_failed_start_become_dead_letters() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let (gate, mut control) = gate();
    let actor = system.spawn(FailsToStart(Some(gate))).unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();

    control.open();
    let reason = actor.wait_stopped().await;

    assert!(matches!(&reason, StopReason::Failed(text) if text.message().contains("no database")));
    assert_eq!(dead_letters.try_recv(), Some(letter(actor.id(), reason)));
    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn queued_asks_are_not_dead_letters() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<1>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    let mut asking = pin!(actor.ask(Seen));
    assert!(poll_once(asking.as_mut()).await.is_pending());
    assert!(actor.try_tell(Record(9)).unwrap_err().is_full());

    actor.kill();
    control.open();

    assert_eq!(asking.await, Err(AskError::Stopped));
    actor.wait_stopped().await;
    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn refused_tells_are_handed_back_not_dead_lettered() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    actor.stop();
    actor.wait_stopped().await;

    assert_eq!(
        actor.tell(Record(1)).await,
        Err(SendError::Stopped(Record(1)))
    );
    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn a_graceful_stop_leaves_no_dead_letters() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();

    actor.stop();
    control.open();
    actor.wait_stopped().await;

    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn a_subscriber_sees_only_letters_published_after_it_subscribed() {
    let system = System::new();
    let mut early = system.dead_letters();
    let first = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    first.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    first.tell(Record(1)).await.unwrap();
    first.kill();
    control.open();
    first.wait_stopped().await;

    let mut late = system.dead_letters();

    assert_eq!(
        early.try_recv(),
        Some(letter(first.id(), StopReason::Killed))
    );
    assert_eq!(late.try_recv(), None);
}
