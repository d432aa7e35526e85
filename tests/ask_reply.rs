//! `ask` returns the handler's reply, or says exactly why there is none:
//! the deadline passed, the actor is gone, or the handler panicked.

mod support;

use std::pin::pin;
use std::time::Duration;

use proscenium::prelude::*;
use support::{gate, poll_once, Block, Panic, Record, Recorder, Seen};

#[tokio::test]
async fn ask_returns_the_handlers_reply() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();

    actor.tell(Record(4)).await.unwrap();
    actor.tell(Record(2)).await.unwrap();

    assert_eq!(actor.ask(Seen).await, Ok(vec![4, 2]));
    system.shutdown().await;
}

#[tokio::test]
async fn ask_timeout_fails_when_the_handler_never_replies() {
    tokio::time::pause();
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    // The control stays alive and closed: the handler waits for ever.
    let (gate, _never_opened) = gate();

    let reply = actor
        .ask_timeout(Block(gate, 1), Duration::from_millis(250))
        .await;

    assert_eq!(reply, Err(AskError::Timeout(Duration::from_millis(250))));
}

#[tokio::test]
async fn ask_uses_the_systems_default_deadline() {
    tokio::time::pause();
    let system = System::builder()
        .ask_timeout(Duration::from_secs(3))
        .build();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let (gate, _never_opened) = gate();

    let reply = actor.ask(Block(gate, 1)).await;

    assert_eq!(reply, Err(AskError::Timeout(Duration::from_secs(3))));
}

#[tokio::test]
async fn ask_to_a_stopped_actor_fails_at_once_with_stopped() {
    // With time paused, waiting for the deadline would end in `Timeout`.
    tokio::time::pause();
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    actor.stop();
    assert_eq!(actor.wait_stopped().await, StopReason::Normal);

    let reply = actor.ask_timeout(Seen, Duration::from_secs(3600)).await;

    assert_eq!(reply, Err(AskError::Stopped));
}

#[tokio::test]
async fn ask_to_a_panicking_handler_fails_with_the_panic_text() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();

    let reply = actor.ask(Panic("the flux capacitor broke")).await;

    match reply {
        Err(AskError::Failed { reason }) => {
            assert!(reason.contains("the flux capacitor broke"), "{reason}");
        }
        other => panic!("expected AskError::Failed, got {other:?}"),
    }
    match actor.wait_stopped().await {
        StopReason::Failed(reason) => {
            assert!(reason.message().contains("the flux capacitor broke"))
        }
        other => panic!("expected StopReason::Failed, got {other:?}"),
    }
}

#[tokio::test]
async fn asks_queued_behind_a_panic_fail_with_stopped() {
    let system = System::new();
    let actor = system.spawn(Recorder::<2>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 1)).await.unwrap();
    control.entered().await;

    let mut failing = pin!(actor.ask(Panic("boom")));
    let mut behind = pin!(actor.ask(Seen));
    assert!(poll_once(failing.as_mut()).await.is_pending());
    assert!(poll_once(behind.as_mut()).await.is_pending());
    // Both asks sit in the two-slot mailbox now.
    assert_eq!(
        actor.try_tell(Record(9)),
        Err(TrySendError::Full(Record(9)))
    );
    control.open();

    assert!(matches!(failing.await, Err(AskError::Failed { .. })));
    assert_eq!(behind.await, Err(AskError::Stopped));
}

#[tokio::test]
async fn ask_through_a_recipient_returns_the_reply() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let record: Recipient<Record> = actor.recipient();
    let seen: Recipient<Seen> = actor.clone().into();

    record.tell(Record(7)).await.unwrap();
    record.ask(Record(8)).await.unwrap();

    assert_eq!(seen.ask(Seen).await, Ok(vec![7, 8]));
    assert_eq!(seen.id(), actor.id());
    system.shutdown().await;
}

#[tokio::test]
async fn ask_timeout_through_a_recipient_fails_when_no_reply_comes() {
    tokio::time::pause();
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let block: Recipient<Block> = actor.recipient();
    let (gate, _never_opened) = gate();

    let reply = block
        .ask_timeout(Block(gate, 1), Duration::from_millis(10))
        .await;

    assert_eq!(reply, Err(AskError::Timeout(Duration::from_millis(10))));
}

#[tokio::test]
async fn ask_through_a_recipient_of_a_stopped_actor_fails_with_stopped() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let seen: Recipient<Seen> = actor.recipient();
    actor.stop();
    actor.wait_stopped().await;

    assert!(!seen.is_alive());
    assert_eq!(seen.ask(Seen).await, Err(AskError::Stopped));
}

#[tokio::test]
async fn an_ask_with_no_practical_deadline_waits_for_its_reply() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let (gate, mut control) = gate();

    // `Duration::MAX` past now is not a representable instant.
    let mut reply = pin!(actor.ask_timeout(Block(gate, 5), Duration::MAX));
    assert!(poll_once(reply.as_mut()).await.is_pending());
    control.entered().await;
    assert!(poll_once(reply.as_mut()).await.is_pending());
    control.open();

    assert_eq!(reply.await, Ok(5));
    system.shutdown().await;
}

/// An actor keeps its system's default ask timeout in nanoseconds, which
/// saturate at about 584 years: `Duration::MAX` as the default must still
/// mean "wait for the reply", not an overflow or an ask that never waits.
#[tokio::test]
async fn a_default_ask_timeout_of_duration_max_waits_for_the_reply() {
    let system = System::builder().ask_timeout(Duration::MAX).build();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    let (gate, mut control) = gate();

    let mut reply = pin!(actor.ask(Block(gate, 7)));
    assert!(poll_once(reply.as_mut()).await.is_pending());
    control.entered().await;
    assert!(poll_once(reply.as_mut()).await.is_pending());
    control.open();

    assert_eq!(reply.await, Ok(7));
    system.shutdown().await;
}
