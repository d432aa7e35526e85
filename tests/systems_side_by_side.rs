//! Several systems live in one process without sharing anything: the same
//! names in each, distinct ids, and shutting one down leaves the other serving.

mod support;

use proscenium::prelude::*;
use proscenium::RegisterError;
use support::{Record, Recorder, Seen};

#[tokio::test]
async fn the_same_name_lives_in_both_systems() {
    let left = System::new();
    let right = System::new();

    let in_left = left.spawn_named("service", Recorder::<16>::new()).unwrap();
    let in_right = right.spawn_named("service", Recorder::<16>::new()).unwrap();

    assert_eq!(
        left.lookup::<Recorder<16>>("service"),
        Some(in_left.clone())
    );
    assert_eq!(
        right.lookup::<Recorder<16>>("service"),
        Some(in_right.clone())
    );
    in_left.tell(Record(1)).await.unwrap();
    in_right.tell(Record(2)).await.unwrap();
    assert_eq!(in_left.ask(Seen).await, Ok(vec![1]));
    assert_eq!(in_right.ask(Seen).await, Ok(vec![2]));
}

#[tokio::test]
async fn ids_differ_by_node_incarnation() {
    let left = System::new();
    let right = System::new();

    let a = left.spawn(Recorder::<16>::new()).unwrap();
    let b = right.spawn(Recorder::<16>::new()).unwrap();

    assert_ne!(left.node_id(), right.node_id());
    assert_ne!(left.node_id().incarnation(), right.node_id().incarnation());
    assert_eq!(a.id().node(), left.node_id());
    assert_eq!(b.id().node(), right.node_id());
    assert_ne!(a.id(), b.id());
    assert_ne!(a, b);
}

#[tokio::test]
async fn shutting_one_down_leaves_the_other_serving() {
    let left = System::new();
    let right = System::new();
    let in_left = left.spawn_named("service", Recorder::<16>::new()).unwrap();
    let in_right = right.spawn_named("service", Recorder::<16>::new()).unwrap();

    left.shutdown().await;

    assert!(left.is_shut_down());
    assert!(!right.is_shut_down());
    assert!(!in_left.is_alive());
    assert!(left.lookup::<Recorder<16>>("service").is_none());
    assert_eq!(
        left.spawn(Recorder::<16>::new()).unwrap_err(),
        SpawnError::ShutDown
    );
    in_right.tell(Record(7)).await.unwrap();
    assert_eq!(in_right.ask(Seen).await, Ok(vec![7]));
    assert_eq!(
        right.lookup::<Recorder<16>>("service"),
        Some(in_right.clone())
    );
    right.spawn(Recorder::<16>::new()).unwrap();
}

#[tokio::test]
async fn a_system_does_not_register_another_systems_actor() {
    let left = System::new();
    let right = System::new();
    let in_left = left.spawn(Recorder::<16>::new()).unwrap();

    assert_eq!(
        right.register("foreign", &in_left),
        Err(RegisterError::NotLocal)
    );
    assert!(right.lookup::<Recorder<16>>("foreign").is_none());
}

#[tokio::test]
async fn dead_letters_stay_in_their_own_system() {
    let left = System::new();
    let right = System::new();
    let mut left_letters = left.dead_letters();
    let mut right_letters = right.dead_letters();
    let (gate, mut control) = support::gate();
    let in_left = left.spawn(Recorder::<16>::new()).unwrap();
    in_left.tell(support::Block(gate, 0)).await.unwrap();
    control.entered().await;
    in_left.tell(Record(1)).await.unwrap();

    in_left.kill();
    control.open();
    in_left.wait_stopped().await;

    assert_eq!(
        left_letters.try_recv().map(|letter| letter.recipient),
        Some(in_left.id())
    );
    assert_eq!(right_letters.try_recv(), None);
}

#[tokio::test]
async fn actor_counts_are_per_system() {
    let left = System::new();
    let right = System::new();

    left.spawn(Recorder::<16>::new()).unwrap();
    left.spawn(Recorder::<16>::new()).unwrap();
    right.spawn(Recorder::<16>::new()).unwrap();

    assert_eq!(left.actor_count(), 2);
    assert_eq!(right.actor_count(), 1);
}

#[tokio::test]
async fn a_system_does_not_register_another_systems_actor_with_the_same_node_id() {
    let node = proscenium::NodeId::new(4, 2);
    let left = System::builder().node_id(node).build();
    let right = System::builder().node_id(node).build();
    let in_left = left.spawn(Recorder::<16>::new()).unwrap();

    assert_eq!(
        right.register("foreign", &in_left),
        Err(RegisterError::NotLocal)
    );
    assert!(right.lookup::<Recorder<16>>("foreign").is_none());
}
