//! The message queue: an intrusive multi-producer, single-consumer linked
//! list (Dmitry Vyukov's non-blocking MPSC queue).
//!
//! Every envelope carries a [`Link`], so the envelope allocated by `tell` is
//! itself the queue node: a push allocates nothing more and an empty queue
//! owns no buffer at all (tokio's channels allocate a block of 32 slots and
//! a cache-padded core, about 1 KB, for every actor, even an idle one).
//!
//! A push is one atomic swap and one release store; it never waits. A pop
//! may find the list briefly inconsistent, when a producer has swapped the
//! head but not yet linked its node; it then reports the queue empty, and
//! that producer's wake-up, which follows its link, makes the consumer look
//! again.
//!
//! This module holds the runtime's `unsafe` data structure; the only other
//! `unsafe` code calls into it: the message lane's receive functions
//! (`lane.rs`) and their one caller, the actor's task (`lifecycle.rs`), each
//! with the single-consumer promise below. The invariants it relies on:
//!
//! * a node is owned by the queue from [`Queue::push`] until [`Queue::pop`]
//!   returns it, and by nobody else;
//! * only one thread at a time pops: the actor's task, which owns the
//!   consumer side (see [`Queue::pop`]);
//! * the queue does not move once shared (it lives inside the actor's
//!   `Arc`ed cell), because the list may point at its `stub`.
#![allow(unsafe_code)]

use std::ptr::{self, NonNull};

use super::sync::{AtomicPtr, Ordering, UnsafeCell};
use crate::envelope::{BoxEnvelope, Envelope};
use crate::Actor;

/// The queue's hook inside every envelope.
pub(crate) struct Link<A: Actor> {
    /// The node pushed after this one; null while this one is the newest.
    next: AtomicPtr<Link<A>>,
    /// The envelope this link is part of (a fat pointer, which an atomic
    /// cannot hold), written by the producer before it publishes the node.
    node: UnsafeCell<Option<NonNull<dyn Envelope<A>>>>,
}

// SAFETY: `node` is written only by the producer that owns the envelope,
// before the release store that publishes it, and read only by the consumer
// after the matching acquire load; the envelope itself is `Send`.
unsafe impl<A: Actor> Send for Link<A> {}
// SAFETY: as above; `next` is atomic.
unsafe impl<A: Actor> Sync for Link<A> {}

impl<A: Actor> Link<A> {
    /// A link that is not in any queue.
    pub(crate) fn new() -> Self {
        Self {
            next: AtomicPtr::new(ptr::null_mut()),
            node: UnsafeCell::new(None),
        }
    }
}

/// The queue of one actor's messages.
pub(crate) struct Queue<A: Actor> {
    /// The newest node; null stands for `stub` (the queue cannot point at
    /// itself before it has reached its final place in memory).
    head: AtomicPtr<Link<A>>,
    /// The oldest node, or `stub`; null stands for `stub`. Consumer only.
    tail: UnsafeCell<*mut Link<A>>,
    /// A node without an envelope that keeps the list non-empty.
    stub: Link<A>,
}

// SAFETY: producers touch only `head` (atomic) and their own nodes; `tail`
// is touched only by the single consumer (see `pop`).
unsafe impl<A: Actor> Send for Queue<A> {}
// SAFETY: as above.
unsafe impl<A: Actor> Sync for Queue<A> {}

impl<A: Actor> Queue<A> {
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
            tail: UnsafeCell::new(ptr::null_mut()),
            stub: Link::new(),
        }
    }

    fn stub(&self) -> *mut Link<A> {
        ptr::from_ref(&self.stub).cast_mut()
    }

    /// Appends `envelope`. Never waits, never allocates.
    pub(crate) fn push(&self, envelope: BoxEnvelope<A>) {
        let node = envelope.into_raw();
        // SAFETY: `node` comes from `BoxEnvelope::into_raw`; the queue owns
        // it until `pop` takes it back. Nobody else sees it before the
        // `swap` below publishes it.
        let link = unsafe {
            let link = ptr::from_ref((*node.as_ptr()).link()).cast_mut();
            *(*link).node.get() = Some(node);
            (*link).next.store(ptr::null_mut(), Ordering::Relaxed);
            link
        };
        self.link_after_head(link);
    }

    fn link_after_head(&self, link: *mut Link<A>) {
        let prev = self.head.swap(link, Ordering::AcqRel);
        let prev = if prev.is_null() { self.stub() } else { prev };
        // SAFETY: `prev` is the stub or a node still in the queue: the
        // consumer never hands out a node whose `next` is still null, and
        // `prev.next` is null until this store.
        unsafe { (*prev).next.store(link, Ordering::Release) };
    }

    /// Takes the oldest envelope, if one is fully linked.
    ///
    /// # Safety
    ///
    /// Only one thread may pop at a time: the caller must be the queue's
    /// single consumer (the actor's task, or the queue's own `Drop`).
    pub(crate) unsafe fn pop(&self) -> Option<BoxEnvelope<A>> {
        let stub = self.stub();
        let tail_slot = self.tail.get();
        // SAFETY (whole body): the caller is the only consumer, so `tail`
        // is ours; every node reached through `next` stays valid until we
        // return it, and its `node` field was written before its release.
        unsafe {
            let mut tail = *tail_slot;
            if tail.is_null() {
                tail = stub;
            }
            let mut next = (*tail).next.load(Ordering::Acquire);
            if tail == stub {
                if next.is_null() {
                    return None;
                }
                *tail_slot = next;
                tail = next;
                next = (*next).next.load(Ordering::Acquire);
            }
            if !next.is_null() {
                *tail_slot = next;
                return Some(Self::envelope_of(tail));
            }
            let head = self.head.load(Ordering::Acquire);
            if tail != head {
                // A producer has swapped the head but not linked its node
                // yet; its wake-up follows the link.
                return None;
            }
            // `tail` is the only node: put the stub behind it, so `tail`
            // can be handed out without emptying the list.
            (*stub).next.store(ptr::null_mut(), Ordering::Relaxed);
            self.link_after_head(stub);
            next = (*tail).next.load(Ordering::Acquire);
            if next.is_null() {
                return None;
            }
            *tail_slot = next;
            Some(Self::envelope_of(tail))
        }
    }

    /// The envelope a popped link belongs to.
    ///
    /// # Safety
    ///
    /// `link` must be a node (not the stub) that `pop` has just unlinked.
    unsafe fn envelope_of(link: *mut Link<A>) -> BoxEnvelope<A> {
        // SAFETY: `push` stored the envelope's own pointer, from
        // `BoxEnvelope::into_raw`, before publishing the link.
        unsafe {
            match *(*link).node.get() {
                Some(node) => BoxEnvelope::from_raw(node),
                None => unreachable!("the stub is never handed out"),
            }
        }
    }
}

impl<A: Actor> Drop for Queue<A> {
    /// Drops the envelopes still queued.
    ///
    /// Not through [`pop`](Queue::pop): under Stacked Borrows, the `&mut
    /// self` of `drop` invalidates every pointer to `stub` that the list
    /// kept from earlier `&self` calls (Miri's `.ci/miri` caught that), so
    /// the list is walked by address and the stub reached only through a
    /// pointer taken here.
    fn drop(&mut self) {
        let stub = self.stub();
        let mut link = match *self.tail.get_mut() {
            tail if tail.is_null() => stub,
            tail => tail,
        };
        loop {
            let current = if ptr::addr_eq(link, stub) { stub } else { link };
            // SAFETY: `&mut self`: no producer or consumer is left, and
            // every node from the tail on was pushed and not popped, so the
            // queue owns it; the stub is reached through `stub`.
            let next = unsafe { (*current).next.load(Ordering::Acquire) };
            if current != stub {
                // SAFETY: as above; `next` was read before the node goes.
                drop(unsafe { Self::envelope_of(current) });
            }
            if next.is_null() {
                return;
            }
            link = next;
        }
    }
}

// Not in the loom build: loom's atomics work only inside a loom model
// (those tests are in `loom_tests.rs`).
#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::Queue;
    use crate::envelope::{BoxEnvelope, MessageEnvelope};
    use crate::{Actor, AskError, Context, Handler, Message};

    struct Sink;
    impl Actor for Sink {}

    /// Message `seq` of producer `producer`; counts its drops.
    struct Numbered {
        producer: usize,
        seq: usize,
        dropped: Arc<AtomicUsize>,
    }
    impl Message for Numbered {
        type Reply = ();
    }
    impl Drop for Numbered {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    impl Handler<Numbered> for Sink {
        async fn handle(&mut self, _: Numbered, _: &mut Context<Self>) {}
    }

    fn numbered(producer: usize, seq: usize, dropped: &Arc<AtomicUsize>) -> BoxEnvelope<Sink> {
        MessageEnvelope::tell(Numbered {
            producer,
            seq,
            dropped: Arc::clone(dropped),
        })
    }

    /// The (producer, seq) a popped envelope carries.
    fn open(envelope: BoxEnvelope<Sink>) -> (usize, usize) {
        let message = envelope.reject(AskError::Stopped).expect("a tell");
        let message = message.downcast::<Numbered>().expect("a Numbered");
        (message.producer, message.seq)
    }

    #[test]
    fn producers_on_threads_lose_nothing_and_keep_their_order() {
        const PRODUCERS: usize = 4;
        // Miri runs this interpreted, exploring interleavings: fewer will do.
        const EACH: usize = if cfg!(miri) { 200 } else { 50_000 };
        let queue = Arc::new(Queue::<Sink>::new());
        let dropped = Arc::new(AtomicUsize::new(0));
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let (queue, dropped) = (Arc::clone(&queue), Arc::clone(&dropped));
                std::thread::spawn(move || {
                    for seq in 0..EACH {
                        queue.push(numbered(producer, seq, &dropped));
                    }
                })
            })
            .collect();
        let mut next = [0; PRODUCERS];
        let mut received = 0;
        while received < PRODUCERS * EACH {
            // SAFETY: this thread is the only one that pops.
            match unsafe { queue.pop() } {
                Some(envelope) => {
                    let (producer, seq) = open(envelope);
                    assert_eq!(seq, next[producer], "producer {producer}");
                    next[producer] += 1;
                    received += 1;
                }
                None => std::hint::spin_loop(),
            }
        }
        for producer in producers {
            producer.join().unwrap();
        }
        // SAFETY: as above.
        assert!(unsafe { queue.pop() }.is_none());
        assert_eq!(next, [EACH; PRODUCERS]);
        assert_eq!(dropped.load(Ordering::Relaxed), PRODUCERS * EACH);
    }

    #[test]
    fn a_dropped_queue_drops_what_it_still_holds() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let queue = Queue::<Sink>::new();
        for seq in 0..10 {
            queue.push(numbered(0, seq, &dropped));
        }
        // SAFETY: the only consumer.
        let first = unsafe { queue.pop() }.expect("queued");
        assert_eq!(open(first), (0, 0));
        drop(queue);
        assert_eq!(dropped.load(Ordering::Relaxed), 10);
    }

    #[test]
    fn an_emptied_queue_takes_new_messages() {
        let dropped = Arc::new(AtomicUsize::new(0));
        let queue = Queue::<Sink>::new();
        for round in 0..3 {
            // SAFETY (each pop): the only consumer.
            assert!(unsafe { queue.pop() }.is_none());
            queue.push(numbered(0, round, &dropped));
            queue.push(numbered(1, round, &dropped));
            assert_eq!(open(unsafe { queue.pop() }.unwrap()), (0, round));
            assert_eq!(open(unsafe { queue.pop() }.unwrap()), (1, round));
        }
        assert!(unsafe { queue.pop() }.is_none());
    }
}
