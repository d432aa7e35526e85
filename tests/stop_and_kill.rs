//! `stop` refuses new messages at once and handles the queued ones; `kill`
//! finishes the current message only, fails queued asks and dead-letters
//! queued tells. Either way `on_stop` runs once and `wait_stopped` says why.

mod support;

use std::pin::pin;

use proscenium::prelude::*;
use proscenium::DeadLetter;
use support::{gate, poll_once, Block, Record, Recorder, Seen, Stopped};

#[tokio::test]
async fn stop_handles_every_queued_message_before_stopping() {
    let system = System::new();
    let (recorder, stopped) = Recorder::<8>::reporting();
    let actor = system.spawn(recorder).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    for value in 1..=3 {
        actor.tell(Record(value)).await.unwrap();
    }

    actor.stop();
    control.open();

    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
    assert_eq!(
        stopped.await.unwrap(),
        Stopped {
            reason: StopReason::Normal,
            seen: vec![0, 1, 2, 3],
        }
    );
    assert!(!actor.is_alive());
}

#[tokio::test]
async fn an_ask_queued_before_stop_is_answered() {
    let system = System::new();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();
    let mut asking = pin!(actor.ask(Seen));
    assert!(poll_once(asking.as_mut()).await.is_pending());

    actor.stop();
    control.open();

    assert_eq!(asking.await, Ok(vec![0, 1]));
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
}

#[tokio::test]
async fn tell_after_stop_is_refused_with_the_message() {
    let system = System::new();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();

    actor.stop();

    assert_eq!(
        actor.tell(Record(5)).await,
        Err(SendError::Stopped(Record(5)))
    );
    assert_eq!(
        actor.try_tell(Record(6)),
        Err(TrySendError::Send(SendError::Stopped(Record(6))))
    );
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
}

#[tokio::test]
async fn tell_after_stop_is_refused_while_the_actor_is_busy() {
    let system = System::new();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    actor.stop();
    let refused = actor.tell(Record(5)).await;
    control.open();

    assert_eq!(refused, Err(SendError::Stopped(Record(5))));
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
}

#[tokio::test]
async fn tell_after_the_actor_stopped_is_refused_with_the_message() {
    let system = System::new();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    actor.stop();
    actor.wait_stopped().await;

    assert_eq!(
        actor.tell(Record(5)).await,
        Err(SendError::Stopped(Record(5)))
    );
    assert_eq!(
        actor.try_tell(Record(6)),
        Err(TrySendError::Send(SendError::Stopped(Record(6))))
    );
}

#[tokio::test]
async fn a_tell_waiting_for_room_gets_its_message_back_on_stop() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();
    let mut waiting = pin!(actor.tell(Record(2)));
    assert!(poll_once(waiting.as_mut()).await.is_pending());

    actor.stop();
    control.open();

    assert_eq!(waiting.await, Err(SendError::Stopped(Record(2))));
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
}

#[tokio::test]
async fn kill_finishes_the_current_message_and_skips_the_queue() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let (recorder, stopped) = Recorder::<3>::reporting();
    let actor = system.spawn(recorder).unwrap();
    let (gate, mut control) = gate();
    let mut current = pin!(actor.ask(Block(gate, 0)));
    assert!(poll_once(current.as_mut()).await.is_pending());
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();
    let mut queued_ask = pin!(actor.ask(Seen));
    assert!(poll_once(queued_ask.as_mut()).await.is_pending());
    actor.tell(Record(2)).await.unwrap();
    // All three sit in the three-slot mailbox.
    assert!(actor.try_tell(Record(9)).unwrap_err().is_full());

    actor.kill();
    control.open();

    assert_eq!(current.await, Ok(0));
    assert_eq!(queued_ask.await, Err(AskError::Stopped));
    assert_eq!(actor.wait_stopped().await, StopReason::Killed);
    assert_eq!(
        stopped.await.unwrap(),
        Stopped {
            reason: StopReason::Killed,
            seen: vec![0],
        }
    );
    let letter = DeadLetter {
        recipient: actor.id(),
        message_type: std::any::type_name::<Record>(),
        reason: StopReason::Killed,
        possibly_delivered: false,
    };
    assert_eq!(dead_letters.try_recv(), Some(letter.clone()));
    assert_eq!(dead_letters.try_recv(), Some(letter));
    assert_eq!(dead_letters.try_recv(), None);
}

#[tokio::test]
async fn kill_while_draining_after_stop_skips_the_rest() {
    let system = System::new();
    let mut dead_letters = system.dead_letters();
    let (recorder, stopped) = Recorder::<8>::reporting();
    let actor = system.spawn(recorder).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    actor.tell(Record(1)).await.unwrap();

    actor.stop();
    actor.kill();
    control.open();

    assert_eq!(actor.wait_stopped().await, StopReason::Killed);
    assert_eq!(stopped.await.unwrap().seen, vec![0]);
    assert_eq!(
        dead_letters.try_recv().map(|l| l.reason),
        Some(StopReason::Killed)
    );
}

#[tokio::test]
async fn stop_and_kill_after_the_actor_stopped_change_nothing() {
    let system = System::new();
    let (recorder, stopped) = Recorder::<8>::reporting();
    let actor = system.spawn(recorder).unwrap();
    actor.stop();
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);

    actor.stop();
    actor.kill();

    assert_eq!(actor.wait_stopped().await, StopReason::Normal);
    assert_eq!(stopped.await.unwrap().reason, StopReason::Normal);
}

#[tokio::test]
async fn is_alive_until_stopped() {
    let system = System::new();
    let actor = system.spawn(Recorder::<8>::new()).unwrap();
    assert!(actor.is_alive());

    actor.kill();

    assert_eq!(actor.wait_stopped().await, StopReason::Killed);
    assert!(!actor.is_alive());
}

/// A kill closes the mailbox before the kill signal arrives; an idle actor
/// must not take its empty, closed mailbox for a graceful end and stop
/// `Normal` in between. Many rounds on two threads, because the window is
/// small.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_an_idle_actor_always_reports_killed() {
    let system = System::new();
    for round in 0..300 {
        let actor = system.spawn(Recorder::<16>::new()).unwrap();
        // An answered ask: the actor has started and is idle now.
        actor.ask(Seen).await.unwrap();
        actor.kill();
        assert_eq!(
            actor.wait_stopped().await,
            StopReason::Killed,
            "round {round}"
        );
    }
    system.shutdown().await;
}
