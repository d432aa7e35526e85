//! The mailbox queue under contention: many senders on several threads,
//! bounded and unbounded, with stops racing the sends. Nothing accepted is
//! lost or handled twice, each sender's order holds, and a sender that
//! waits for room is woken when room comes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proscenium::prelude::*;

const SENDERS: usize = 8;
const PER_SENDER: u64 = 20_000;

/// Checks each sender's order as messages arrive and counts them.
struct Checker<const CAPACITY: usize> {
    next: Vec<u64>,
    handled: Arc<AtomicU64>,
}

impl<const CAPACITY: usize> Checker<CAPACITY> {
    fn new(handled: Arc<AtomicU64>) -> Self {
        Self {
            next: vec![0; SENDERS],
            handled,
        }
    }
}

impl<const CAPACITY: usize> Actor for Checker<CAPACITY> {
    fn mailbox() -> Mailbox {
        if CAPACITY == 0 {
            Mailbox::Unbounded
        } else {
            Mailbox::Bounded(CAPACITY)
        }
    }
}

/// Message `seq` from sender `sender`.
struct Numbered {
    sender: usize,
    seq: u64,
}

impl Message for Numbered {
    type Reply = ();
}

impl<const CAPACITY: usize> Handler<Numbered> for Checker<CAPACITY> {
    async fn handle(&mut self, msg: Numbered, _ctx: &mut Context<Self>) {
        // A panic here fails the actor, which the final ask reports.
        assert_eq!(msg.seq, self.next[msg.sender], "sender {}", msg.sender);
        self.next[msg.sender] += 1;
        self.handled.fetch_add(1, Ordering::Relaxed);
    }
}

/// How many messages of each sender were handled.
struct Counts;

impl Message for Counts {
    type Reply = Vec<u64>;
}

impl<const CAPACITY: usize> Handler<Counts> for Checker<CAPACITY> {
    async fn handle(&mut self, _msg: Counts, _ctx: &mut Context<Self>) -> Vec<u64> {
        self.next.clone()
    }
}

/// A system with one checker and the count of messages it handled.
fn start<const CAPACITY: usize>() -> (System, ActorRef<Checker<CAPACITY>>, Arc<AtomicU64>) {
    let system = System::new();
    let handled = Arc::new(AtomicU64::new(0));
    let actor = system
        .spawn(Checker::<CAPACITY>::new(handled.clone()))
        .unwrap();
    (system, actor, handled)
}

/// Runs `send` as `SENDERS` tasks, one per sender number.
fn spawn_senders<A: Actor, F, T>(
    actor: &ActorRef<A>,
    send: impl Fn(ActorRef<A>, usize) -> F,
) -> Vec<tokio::task::JoinHandle<T>>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    (0..SENDERS)
        .map(|sender| tokio::spawn(send(actor.clone(), sender)))
        .collect()
}

async fn every_message_once_in_order<const CAPACITY: usize>() {
    let (system, actor, handled) = start::<CAPACITY>();
    let senders = spawn_senders(&actor, |actor, sender| async move {
        for seq in 0..PER_SENDER {
            actor.tell(Numbered { sender, seq }).await.unwrap();
        }
    });
    for sender in senders {
        sender.await.unwrap();
    }
    let counts = actor.ask(Counts).await.unwrap();
    assert_eq!(counts, vec![PER_SENDER; SENDERS]);
    assert_eq!(handled.load(Ordering::Relaxed), SENDERS as u64 * PER_SENDER);
    assert_eq!(actor.mailbox_len(), 0);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unbounded_mailbox_loses_nothing_and_keeps_each_senders_order() {
    every_message_once_in_order::<0>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounded_mailbox_of_one_wakes_every_waiting_sender() {
    every_message_once_in_order::<1>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounded_mailbox_of_seven_wakes_every_waiting_sender() {
    every_message_once_in_order::<7>().await;
}

/// Senders tell until the actor refuses; a graceful stop races them. Every
/// tell that was accepted is handled before the actor stops.
async fn stop_racing_senders<const CAPACITY: usize>() {
    let (system, actor, handled) = start::<CAPACITY>();
    let senders = spawn_senders(&actor, |actor, sender| async move {
        let mut accepted = 0;
        while actor
            .tell(Numbered {
                sender,
                seq: accepted,
            })
            .await
            .is_ok()
        {
            accepted += 1;
            // A tell into an unbounded mailbox never waits: yield, so that
            // the actor and the stop get the threads too.
            if accepted % 64 == 0 {
                tokio::task::yield_now().await;
            }
        }
        accepted
    });
    // Let every sender get some messages in before the stop.
    while handled.load(Ordering::Relaxed) < 1_000 {
        tokio::task::yield_now().await;
    }
    actor.stop();
    let mut accepted = 0;
    for sender in senders {
        accepted += sender.await.unwrap();
    }
    let reason = actor.wait_stopped().await;
    assert_eq!(reason, StopReason::Normal);
    assert_eq!(handled.load(Ordering::Relaxed), accepted);
    system.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_racing_unbounded_senders_handles_every_accepted_tell() {
    stop_racing_senders::<0>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stop_racing_bounded_senders_handles_every_accepted_tell() {
    stop_racing_senders::<3>().await;
}
