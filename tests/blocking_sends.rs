//! Blocking sends: `blocking_tell` and `blocking_ask` from plain threads
//! reach local and remote actors, in order, waiting for room and replies,
//! with typed errors; called where a tokio runtime runs, they panic with a
//! message that says what to do instead.

mod support_cluster;

use std::thread;
use std::time::Duration;

use proscenium::prelude::*;
use support_cluster::cluster::{Add, Counter, Values};
use support_cluster::in_process_node;
use tokio::sync::oneshot;

/// Records what it is told, after an optional gate.
#[derive(Default)]
struct Log {
    seen: Vec<u64>,
}
impl Actor for Log {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(1)
    }
}

struct Note(u64);
impl Message for Note {
    type Reply = ();
}
impl Handler<Note> for Log {
    async fn handle(&mut self, Note(n): Note, _: &mut Context<Self>) {
        self.seen.push(n);
    }
}

struct Seen;
impl Message for Seen {
    type Reply = Vec<u64>;
}
impl Handler<Seen> for Log {
    async fn handle(&mut self, _: Seen, _: &mut Context<Self>) -> Vec<u64> {
        self.seen.clone()
    }
}

/// Holds the actor until the test opens the gate.
struct Gate(oneshot::Receiver<()>);
impl Message for Gate {
    type Reply = ();
}
impl Handler<Gate> for Log {
    async fn handle(&mut self, Gate(open): Gate, _: &mut Context<Self>) {
        let _ = open.await;
    }
}

/// Never answered: its handle is parked until the actor stops.
struct Never;
impl Message for Never {
    type Reply = u64;
}
impl Handler<Never> for Log {
    async fn handle(&mut self, _: Never, ctx: &mut Context<Self>) -> u64 {
        // Held by a task that waits for ever; dropped when the runtime goes.
        let reply = ctx.defer_reply::<u64>();
        tokio::spawn(async move {
            std::future::pending::<()>().await;
            drop(reply);
        });
        0
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn a_plain_thread_tells_in_order_waiting_for_room_and_asks() {
    let runtime = runtime();
    let system = System::builder().runtime(runtime.handle().clone()).build();
    let log = system.spawn(Log::default()).expect("spawn");
    let (open, gate) = oneshot::channel();
    let sender = thread::spawn({
        let log = log.clone();
        move || {
            // The gate holds the actor, and the mailbox has room for one:
            // these tells wait for room, and none is lost or reordered.
            log.blocking_tell(Gate(gate)).expect("tell the gate");
            for n in 0..50 {
                log.blocking_tell(Note(n)).expect("tell");
            }
            log.blocking_ask(Seen).expect("ask")
        }
    });
    open.send(()).expect("the actor waits at the gate");
    let seen = sender.join().expect("the sending thread");
    assert_eq!(seen, (0..50).collect::<Vec<_>>());

    // Through a recipient, and through a second thread's own waits.
    let recipient = log.recipient::<Note>();
    let seen = thread::spawn({
        let log = log.clone();
        move || {
            recipient.blocking_tell(Note(50)).expect("tell");
            log.recipient::<Seen>().blocking_ask(Seen).expect("ask")
        }
    })
    .join()
    .expect("the second thread");
    assert_eq!(seen.last(), Some(&50));
    runtime.block_on(system.shutdown());
}

#[test]
fn blocking_calls_report_timeouts_and_stopped_actors() {
    let runtime = runtime();
    let system = System::builder().runtime(runtime.handle().clone()).build();
    let log = system.spawn(Log::default()).expect("spawn");
    let short = Duration::from_millis(20);
    let (timed_out, stopped) = thread::spawn({
        let log = log.clone();
        move || {
            let timed_out = log.blocking_ask_timeout(Never, short);
            log.stop();
            let told = log.blocking_tell(Note(1));
            let asked = log.blocking_ask(Seen);
            (timed_out, (told, asked))
        }
    })
    .join()
    .expect("the thread");
    assert_eq!(timed_out, Err(AskError::Timeout(short)));
    let (told, asked) = stopped;
    assert!(matches!(told, Err(SendError::Stopped(Note(1)))), "{told:?}");
    assert_eq!(asked, Err(AskError::Stopped));
    runtime.block_on(system.shutdown());
}

#[test]
fn a_plain_thread_asks_an_actor_on_another_node() {
    let runtime = runtime();
    let (a, b, counter) = runtime.block_on(async {
        let b = in_process_node("b", true, |builder| builder).await;
        let local = b.system().spawn(Counter::default()).expect("spawn");
        b.system().register("counter", &local).expect("register");
        let a = in_process_node("a", false, |builder| builder).await;
        let b_addr = b.local_addr().expect("b listens");
        let b_id = a.connect(b_addr).await.expect("connect");
        let counter = a
            .lookup_on::<Counter>(b_id, "counter")
            .await
            .expect("lookup")
            .expect("the counter is registered");
        (a, b, counter)
    });
    assert!(!counter.is_local());
    let values = thread::spawn(move || {
        for n in 1..=3 {
            counter.blocking_tell(Add(n)).expect("tell");
        }
        counter.blocking_ask(Values).expect("ask")
    })
    .join()
    .expect("the thread");
    assert_eq!(values, vec![1, 2, 3]);
    runtime.block_on(async {
        a.shutdown().await;
        b.shutdown().await;
    });
}

#[tokio::test]
#[should_panic(expected = "`ActorRef::blocking_ask` blocks its thread")]
async fn blocking_ask_inside_a_runtime_panics() {
    let system = System::new();
    let log = system.spawn(Log::default()).expect("spawn");
    let _ = log.blocking_ask(Seen);
}

#[tokio::test]
#[should_panic(expected = "`ActorRef::blocking_tell` blocks its thread")]
async fn blocking_tell_inside_a_runtime_panics() {
    let system = System::new();
    let log = system.spawn(Log::default()).expect("spawn");
    let _ = log.blocking_tell(Note(1));
}

#[tokio::test]
async fn blocking_calls_in_spawn_blocking_panic_and_handle_block_on_is_the_way() {
    let system = System::new();
    let log = system.spawn(Log::default()).expect("spawn");
    let blocked = tokio::task::spawn_blocking({
        let log = log.clone();
        move || log.blocking_tell(Note(1))
    })
    .await;
    let panic = blocked.expect_err("a runtime is current in spawn_blocking");
    assert!(panic.is_panic());
    let seen = tokio::task::spawn_blocking({
        let log = log.clone();
        move || {
            let runtime = tokio::runtime::Handle::current();
            runtime.block_on(log.tell(Note(2))).expect("tell");
            runtime.block_on(log.ask(Seen)).expect("ask")
        }
    })
    .await
    .expect("the blocking task");
    assert_eq!(seen, vec![2]);
}
