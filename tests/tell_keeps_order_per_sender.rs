//! Messages from one sender to one actor are handled in the order they were
//! sent, even while other senders interleave with them, and none is lost.

mod support;

use proscenium::prelude::*;
use support::{Record, Recorder, Seen};

const SENDERS: u64 = 8;
const PER_SENDER: u64 = 500;

/// Encodes (sender, sequence number) into one recorded value.
fn tag(sender: u64, seq: u64) -> u64 {
    sender * 1_000_000 + seq
}

/// The sequence numbers each sender's messages arrived with, per sender.
fn per_sender(seen: &[u64]) -> Vec<Vec<u64>> {
    let mut by_sender = vec![Vec::new(); SENDERS as usize];
    for value in seen {
        by_sender[(value / 1_000_000) as usize].push(value % 1_000_000);
    }
    by_sender
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_senders_each_keep_their_order() {
    let system = System::new();
    // A small mailbox, so senders also wait for room on the way.
    let actor = system.spawn(Recorder::<16>::new()).unwrap();

    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let actor = actor.clone();
            tokio::spawn(async move {
                for seq in 0..PER_SENDER {
                    actor.tell(Record(tag(sender, seq))).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }

    // Every tell above completed before this ask was sent, so all are handled before it.
    let seen = actor.ask(Seen).await.unwrap();
    assert_eq!(seen.len() as u64, SENDERS * PER_SENDER);
    let expected: Vec<u64> = (0..PER_SENDER).collect();
    for (sender, sequence) in per_sender(&seen).into_iter().enumerate() {
        assert_eq!(sequence, expected, "sender {sender} out of order");
    }
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn recipients_and_refs_mixed_keep_each_senders_order() {
    let system = System::new();
    let actor = system.spawn(Recorder::<16>::new()).unwrap();

    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let actor = actor.clone();
            let recipient: Recipient<Record> = actor.recipient();
            tokio::spawn(async move {
                for seq in 0..PER_SENDER {
                    let record = Record(tag(sender, seq));
                    if sender % 2 == 0 {
                        recipient.tell(record).await.unwrap();
                    } else {
                        actor.tell(record).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }

    let seen = actor.ask(Seen).await.unwrap();
    assert_eq!(seen.len() as u64, SENDERS * PER_SENDER);
    let expected: Vec<u64> = (0..PER_SENDER).collect();
    for (sender, sequence) in per_sender(&seen).into_iter().enumerate() {
        assert_eq!(sequence, expected, "sender {sender} out of order");
    }
    system.shutdown().await;
}

#[tokio::test]
async fn tells_then_ask_from_one_sender_arrive_in_order() {
    let system = System::new();
    let actor = system.spawn(Recorder::<4>::new()).unwrap();

    for value in 0..100 {
        actor.tell(Record(value)).await.unwrap();
    }

    assert_eq!(actor.ask(Seen).await.unwrap(), (0..100).collect::<Vec<_>>());
    system.shutdown().await;
}
