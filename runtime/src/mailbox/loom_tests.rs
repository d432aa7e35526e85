//! Loom models of the message queue and the lane: each test runs a few
//! threads through every interleaving (up to a bound on preemptions) and
//! every outcome the memory model allows their atomics. Run with
//! `.ci/loom`; they exist only in that build (`RUSTFLAGS="--cfg loom"`).
//!
//! The models stay small (two or three threads, a message or two each):
//! loom's cost grows with every atomic operation, and the bugs it finds in
//! code like this need few of them.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool as StdAtomicBool, AtomicUsize as StdAtomicUsize};
use std::task::{Context as TaskContext, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::sync::Arc;
use loom::thread;

use super::lane::{MessageLane, NoRoom};
use super::queue::Queue;
use super::Mailbox;
use crate::envelope::{BoxEnvelope, MessageEnvelope};
use crate::{Actor, AskError, Context, Handler, Message};

/// Preemptions per execution when `LOOM_MAX_PREEMPTIONS` does not say.
/// Two catch every bug planted in the queue and the lane while writing
/// these (a relaxed publishing store, a lost wake-up), and all the models
/// take 14 s; three take 80 s, the three-producer model 61 of them.
const PREEMPTIONS: usize = 2;

fn model(test: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = builder.preemption_bound.or(Some(PREEMPTIONS));
    builder.check(test);
}

struct Sink;
impl Actor for Sink {}

/// Message `seq` of producer `producer`.
struct Numbered {
    producer: usize,
    seq: usize,
    /// Counts drops. std's atomic, not loom's: loom runs its threads one
    /// at a time, and a counter that is not a synchronisation under test
    /// would only multiply the interleavings.
    drops: std::sync::Arc<StdAtomicUsize>,
}
impl Message for Numbered {
    type Reply = ();
}
impl Drop for Numbered {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}
impl Handler<Numbered> for Sink {
    async fn handle(&mut self, _: Numbered, _: &mut Context<Self>) {}
}

/// Counts the messages made and dropped in one execution.
#[derive(Clone, Default)]
struct Drops(std::sync::Arc<StdAtomicUsize>);

impl Drops {
    fn message(&self, producer: usize, seq: usize) -> BoxEnvelope<Sink> {
        MessageEnvelope::tell(Numbered {
            producer,
            seq,
            drops: std::sync::Arc::clone(&self.0),
        })
    }

    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

/// The (producer, seq) a popped envelope carries; drops the message.
fn open(envelope: BoxEnvelope<Sink>) -> (usize, usize) {
    let message = envelope.reject(AskError::Stopped).expect("a tell");
    let message = message.downcast::<Numbered>().expect("a Numbered");
    (message.producer, message.seq)
}

/// Asserts that `received` holds `each` messages of each of `producers`,
/// each producer's in the order it sent them.
fn assert_all_in_order(received: &[(usize, usize)], producers: usize, each: usize) {
    for producer in 0..producers {
        let seqs: Vec<usize> = received
            .iter()
            .filter(|&&(from, _)| from == producer)
            .map(|&(_, seq)| seq)
            .collect();
        assert_eq!(seqs, (0..each).collect::<Vec<_>>(), "producer {producer}");
    }
    assert_eq!(received.len(), producers * each);
}

/// Starts `producers` threads that push `each` messages into `queue`.
fn push_from_threads(
    queue: &Arc<Queue<Sink>>,
    drops: &Drops,
    producers: usize,
    each: usize,
) -> Vec<thread::JoinHandle<()>> {
    (0..producers)
        .map(|producer| {
            let (queue, drops) = (Arc::clone(queue), drops.clone());
            thread::spawn(move || {
                for seq in 0..each {
                    queue.push(drops.message(producer, seq));
                }
            })
        })
        .collect()
}

// ===== the queue =====

/// Pops until `want` messages came, yielding while the queue looks empty
/// (a producer may be between its swap and its link).
fn pop_until(queue: &Queue<Sink>, want: usize) -> Vec<(usize, usize)> {
    let mut received = Vec::new();
    while received.len() < want {
        // SAFETY: the model's one consumer.
        match unsafe { queue.pop() } {
            Some(envelope) => received.push(open(envelope)),
            None => thread::yield_now(),
        }
    }
    received
}

#[test]
fn pushes_from_two_threads_lose_nothing_and_keep_their_order() {
    model(|| {
        let queue = Arc::new(Queue::new());
        let drops = Drops::default();
        let producers = push_from_threads(&queue, &drops, 2, 2);
        let received = pop_until(&queue, 4);
        producers.into_iter().for_each(|p| p.join().unwrap());
        // SAFETY: the one consumer.
        assert!(unsafe { queue.pop() }.is_none());
        assert_all_in_order(&received, 2, 2);
        assert_eq!(drops.count(), 4);
    });
}

#[test]
fn pushes_from_three_threads_lose_nothing() {
    model(|| {
        let queue = Arc::new(Queue::new());
        let drops = Drops::default();
        let producers = push_from_threads(&queue, &drops, 3, 1);
        let received = pop_until(&queue, 3);
        producers.into_iter().for_each(|p| p.join().unwrap());
        assert_all_in_order(&received, 3, 1);
        assert_eq!(drops.count(), 3);
    });
}

/// One pop on an empty queue while a push is under way: it finds the
/// message or nothing, never half of one, and the message is there after.
#[test]
fn a_pop_racing_a_push_takes_it_whole_or_leaves_it() {
    model(|| {
        let queue = Arc::new(Queue::new());
        let drops = Drops::default();
        let producers = push_from_threads(&queue, &drops, 1, 1);
        // SAFETY (both pops): the one consumer.
        let early = unsafe { queue.pop() }.map(open);
        producers.into_iter().for_each(|p| p.join().unwrap());
        let late = unsafe { queue.pop() }.map(open);
        match (early, late) {
            (Some(message), None) | (None, Some(message)) => assert_eq!(message, (0, 0)),
            other => panic!("one message, popped once: {other:?}"),
        }
        assert_eq!(drops.count(), 1);
    });
}

/// The consumer pops the only message while a second push races it: the
/// stub goes back behind the message, and the second push must not be lost
/// behind it.
#[test]
fn popping_the_last_message_while_another_arrives_loses_neither() {
    model(|| {
        let queue = Arc::new(Queue::new());
        let drops = Drops::default();
        queue.push(drops.message(0, 0));
        let producers = push_from_threads(&queue, &drops, 1, 1);
        let mut received = pop_until(&queue, 1);
        producers.into_iter().for_each(|p| p.join().unwrap());
        received.extend(pop_until(&queue, 1));
        assert_eq!(received, [(0, 0), (0, 0)]);
        assert_eq!(drops.count(), 2);
    });
}

/// A queue dropped with messages in it, by whichever thread lets go of it
/// last (a producer, possibly): each message is dropped exactly once.
#[test]
fn a_queue_dropped_with_messages_drops_each_once() {
    model(|| {
        let queue = Arc::new(Queue::new());
        let drops = Drops::default();
        let producers = push_from_threads(&queue, &drops, 2, 1);
        // SAFETY: the one consumer.
        let popped = unsafe { queue.pop() }.map(open);
        drop(queue);
        producers.into_iter().for_each(|p| p.join().unwrap());
        assert_eq!(drops.count(), 2, "popped {popped:?}");
    });
}

// ===== the lane =====

/// The actor task's waker: records that it was woken.
#[derive(Default)]
struct Woken(StdAtomicBool);

impl Wake for Woken {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// Receives as the actor's task does, until the lane reports its end or
/// `want` messages came. Where the task would sleep, the model waits for
/// its wake-up, and fails if every sender is done (`senders_done`) and
/// none came: the task would sleep forever.
fn receive(
    lane: &MessageLane<Sink>,
    want: usize,
    senders: usize,
    senders_done: &AtomicUsize,
) -> Vec<(usize, usize)> {
    let woken = std::sync::Arc::new(Woken::default());
    let waker = Waker::from(std::sync::Arc::clone(&woken));
    let mut cx = TaskContext::from_waker(&waker);
    let mut received = Vec::new();
    while received.len() < want {
        woken.0.store(false, SeqCst);
        // SAFETY: the model's one receiver.
        match unsafe { lane.poll_recv(&mut cx) } {
            Poll::Ready(Some(envelope)) => received.push(open(envelope)),
            Poll::Ready(None) => break,
            // Yield first, also when the task woke itself: a task that
            // polls again at once would keep a sender from ever running.
            Poll::Pending => loop {
                thread::yield_now();
                if woken.0.load(SeqCst) {
                    break;
                }
                let all_done = senders_done.load(SeqCst) == senders;
                assert!(
                    woken.0.load(SeqCst) || !all_done,
                    "the task sleeps forever: every sender is done, none woke it \
                     (received {received:?})"
                );
            },
        }
    }
    received
}

/// Starts a sender that reserves room, then sends (or, with `give_back`,
/// drops the reservation); returns whether its message went in.
fn sender(
    lane: &Arc<MessageLane<Sink>>,
    drops: &Drops,
    producer: usize,
    done: &Arc<AtomicUsize>,
    give_back: bool,
) -> thread::JoinHandle<bool> {
    let (lane, drops, done) = (Arc::clone(lane), drops.clone(), Arc::clone(done));
    thread::spawn(move || {
        let sent = match lane.try_reserve() {
            Ok(slot) if give_back => {
                drop(slot);
                false
            }
            Ok(slot) => {
                slot.send(drops.message(producer, 0));
                true
            }
            Err(NoRoom::Closed) => false,
            Err(NoRoom::Full) => panic!("room for every sender"),
        };
        done.fetch_add(1, SeqCst);
        sent
    })
}

/// Two senders race a receiver that waits on an empty lane: both messages
/// arrive, and the receiver is woken for them.
#[test]
fn a_waiting_receiver_is_woken_for_every_send() {
    model(|| {
        let lane = Arc::new(MessageLane::new(Mailbox::Bounded(2)));
        let (drops, done) = (Drops::default(), Arc::new(AtomicUsize::new(0)));
        let senders = [
            sender(&lane, &drops, 0, &done, false),
            sender(&lane, &drops, 1, &done, false),
        ];
        let mut received = receive(&lane, 2, 2, &done);
        for sender in senders {
            assert!(sender.join().unwrap());
        }
        received.sort_unstable();
        assert_eq!(received, [(0, 0), (1, 0)]);
        assert_eq!(drops.count(), 2);
    });
}

/// A send racing the actor's graceful stop (`close_and_drain`): the
/// message is refused, or it is received before the lane reports its
/// end. Never accepted and then lost.
#[test]
fn a_send_racing_a_graceful_stop_is_refused_or_received() {
    model(|| {
        let lane = Arc::new(MessageLane::new(Mailbox::Bounded(1)));
        let (drops, done) = (Drops::default(), Arc::new(AtomicUsize::new(0)));
        let sending = sender(&lane, &drops, 0, &done, false);
        lane.close_and_drain();
        let received = receive(&lane, usize::MAX, 1, &done);
        let sent = sending.join().unwrap();
        assert_eq!(received.len(), usize::from(sent), "sent: {sent}");
        assert!(matches!(lane.try_reserve(), Err(NoRoom::Closed)));
        assert_eq!(drops.count(), usize::from(sent));
    });
}

/// A sender gives its reservation back while the actor drains its lane
/// to stop: the lane still reaches its end, and the receiver hears of it.
#[test]
fn a_reservation_given_back_lets_a_draining_lane_end() {
    model(|| {
        let lane = Arc::new(MessageLane::new(Mailbox::Bounded(1)));
        let (drops, done) = (Drops::default(), Arc::new(AtomicUsize::new(0)));
        let sending = sender(&lane, &drops, 0, &done, true);
        lane.close_and_drain();
        let received = receive(&lane, usize::MAX, 1, &done);
        assert!(!sending.join().unwrap());
        assert!(received.is_empty());
    });
}

/// A plain `close` (a kill) racing a send: the lane refuses what comes
/// after it, and what it accepted before stays receivable.
#[test]
fn a_send_racing_a_close_is_refused_or_kept() {
    model(|| {
        let lane = Arc::new(MessageLane::new(Mailbox::Bounded(1)));
        let drops = Drops::default();
        let done = Arc::new(AtomicUsize::new(0));
        let sending = sender(&lane, &drops, 0, &done, false);
        lane.close();
        let sent = sending.join().unwrap();
        // SAFETY: the one receiver.
        let kept = unsafe { lane.try_recv() }.map(open);
        assert_eq!(kept.is_some(), sent);
        assert!(matches!(lane.try_reserve(), Err(NoRoom::Closed)));
        assert!(lane.is_closed());
        assert_eq!(drops.count(), usize::from(sent));
    });
}
