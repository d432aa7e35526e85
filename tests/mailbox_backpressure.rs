//! A bounded mailbox holds at most its capacity: `try_tell` hands the message
//! back as `Full`, `tell` and `ask` wait for room. An unbounded one never fills.

mod support;

use std::pin::pin;

use proscenium::prelude::*;
use support::{gate, poll_once, Block, GateControl, Record, Recorder, Seen, UNBOUNDED};

/// A recorder of capacity `N` that has recorded 0 and is held inside its
/// handler until the control opens, so that its mailbox fills.
async fn busy_recorder<const N: usize>(system: &System) -> (ActorRef<Recorder<N>>, GateControl) {
    let actor = system.spawn(Recorder::<N>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;
    (actor, control)
}

#[tokio::test]
async fn try_tell_hands_the_message_back_when_full() {
    let system = System::new();
    let (actor, control) = busy_recorder::<3>(&system).await;

    for value in 1..=3 {
        assert_eq!(actor.try_tell(Record(value)), Ok(()));
    }
    assert_eq!(
        actor.try_tell(Record(4)),
        Err(TrySendError::Full(Record(4)))
    );
    control.open();

    assert_eq!(actor.ask(Seen).await, Ok(vec![0, 1, 2, 3]));
    system.shutdown().await;
}

#[tokio::test]
async fn tell_waits_for_room_and_completes_once_the_actor_moves_on() {
    let system = System::new();
    let (actor, control) = busy_recorder::<2>(&system).await;
    actor.tell(Record(1)).await.unwrap();
    actor.tell(Record(2)).await.unwrap();

    let mut waiting = pin!(actor.tell(Record(3)));
    assert!(poll_once(waiting.as_mut()).await.is_pending());
    control.open();

    assert_eq!(waiting.await, Ok(()));
    assert_eq!(actor.ask(Seen).await, Ok(vec![0, 1, 2, 3]));
    system.shutdown().await;
}

#[tokio::test]
async fn a_tell_dropped_while_waiting_for_room_is_never_queued() {
    let system = System::new();
    let (actor, control) = busy_recorder::<1>(&system).await;
    actor.tell(Record(1)).await.unwrap();

    {
        let mut dropped = pin!(actor.tell(Record(2)));
        assert!(poll_once(dropped.as_mut()).await.is_pending());
    }
    let mut waiting = pin!(actor.tell(Record(3)));
    assert!(poll_once(waiting.as_mut()).await.is_pending());
    control.open();

    assert_eq!(waiting.await, Ok(()));
    assert_eq!(actor.ask(Seen).await, Ok(vec![0, 1, 3]));
    system.shutdown().await;
}

#[tokio::test]
async fn ask_waits_for_room_when_full() {
    let system = System::new();
    let (actor, control) = busy_recorder::<1>(&system).await;
    actor.tell(Record(1)).await.unwrap();

    let mut asking = pin!(actor.ask(Seen));
    assert!(poll_once(asking.as_mut()).await.is_pending());
    control.open();

    assert_eq!(asking.await, Ok(vec![0, 1]));
    system.shutdown().await;
}

#[tokio::test]
async fn try_tell_through_a_recipient_hands_the_message_back_when_full() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1>::new()).unwrap();
    let record: Recipient<Record> = actor.recipient();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    assert_eq!(record.try_tell(Record(1)), Ok(()));
    let full = record.try_tell(Record(2)).unwrap_err();
    assert!(full.is_full());
    assert_eq!(full.into_inner(), Record(2));
    control.open();

    assert_eq!(actor.ask(Seen).await, Ok(vec![0, 1]));
    system.shutdown().await;
}

#[tokio::test]
async fn a_capacity_of_zero_holds_one_message() {
    let system = System::new();
    let (actor, control) = busy_recorder::<0>(&system).await;

    assert_eq!(actor.try_tell(Record(1)), Ok(()));
    assert_eq!(
        actor.try_tell(Record(2)),
        Err(TrySendError::Full(Record(2)))
    );
    control.open();

    assert_eq!(actor.ask(Seen).await, Ok(vec![0, 1]));
    system.shutdown().await;
}

#[tokio::test]
async fn an_unbounded_mailbox_is_never_full() {
    let system = System::new();
    let actor = system.spawn(Recorder::<UNBOUNDED>::new()).unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    // Far past the default capacity, with the actor unable to take any.
    for value in 1..=10_000 {
        assert_eq!(actor.try_tell(Record(value)), Ok(()));
    }
    control.open();

    assert_eq!(actor.ask(Seen).await, Ok((0..=10_000).collect::<Vec<_>>()));
    system.shutdown().await;
}

#[tokio::test]
async fn a_default_sized_mailbox_holds_exactly_its_capacity() {
    let system = System::new();
    let actor = system
        .spawn(Recorder::<{ Mailbox::DEFAULT_CAPACITY }>::new())
        .unwrap();
    let (gate, mut control) = gate();
    actor.tell(Block(gate, 0)).await.unwrap();
    control.entered().await;

    for value in 1..=Mailbox::DEFAULT_CAPACITY as u64 {
        assert_eq!(actor.try_tell(Record(value)), Ok(()));
    }
    assert_eq!(
        actor.try_tell(Record(0)),
        Err(TrySendError::Full(Record(0)))
    );
    control.open();

    let seen = actor.ask(Seen).await.unwrap();
    assert_eq!(seen.len(), Mailbox::DEFAULT_CAPACITY + 1);
    system.shutdown().await;
}
