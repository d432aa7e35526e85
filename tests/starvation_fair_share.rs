//! A flooded actor gets its fair share and no more: other actors keep
//! answering, and stop and kill reach it before its backlog.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use proscenium::prelude::*;

const BACKLOG: u64 = 1_000_000;

/// Counts the work it has done.
struct Flooded {
    handled: Arc<AtomicU64>,
}

impl Actor for Flooded {
    fn mailbox() -> Mailbox {
        Mailbox::Unbounded
    }
}

struct Work;
impl Message for Work {
    type Reply = ();
}

impl Handler<Work> for Flooded {
    async fn handle(&mut self, _: Work, _: &mut Context<Self>) {
        self.handled.fetch_add(1, Ordering::Relaxed);
    }
}

struct Echo;
impl Actor for Echo {}

struct Ping(u32);
impl Message for Ping {
    type Reply = u32;
}

impl Handler<Ping> for Echo {
    async fn handle(&mut self, Ping(n): Ping, _: &mut Context<Self>) -> u32 {
        n
    }
}

async fn flood(system: &System) -> (ActorRef<Flooded>, Arc<AtomicU64>) {
    let handled = Arc::new(AtomicU64::new(0));
    let flooded = system
        .spawn(Flooded {
            handled: handled.clone(),
        })
        .unwrap();
    for _ in 0..BACKLOG {
        flooded.tell(Work).await.unwrap();
    }
    (flooded, handled)
}

// One worker thread: the flooded actor and the echo actor share it, so only
// the per-turn budget lets the echo actor in.
#[tokio::test(flavor = "current_thread")]
async fn other_actors_answer_while_one_is_flooded() {
    let system = System::new();
    let (_flooded, handled) = flood(&system).await;
    let echo = system.spawn(Echo).unwrap();
    for n in 0..1_000 {
        assert_eq!(echo.ask(Ping(n)).await.unwrap(), n);
    }
    let done = handled.load(Ordering::Relaxed);
    assert!(
        done < BACKLOG,
        "the backlog was drained ({done}) before the asks were answered"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn stop_overtakes_the_backlog() {
    let system = System::new();
    let (flooded, handled) = flood(&system).await;
    flooded.stop();
    // The stop is seen when the mailbox refuses new messages.
    let mut accepted_after_stop = 0;
    while flooded.try_tell(Work).is_ok() {
        accepted_after_stop += 1;
        tokio::task::yield_now().await;
    }
    let when_refused = handled.load(Ordering::Relaxed);
    assert!(
        when_refused < BACKLOG,
        "stop was seen only after the backlog ({when_refused})"
    );
    // A graceful stop still handles everything that was queued.
    assert_eq!(flooded.wait_stopped().await, StopReason::Normal);
    assert_eq!(
        handled.load(Ordering::Relaxed),
        BACKLOG + accepted_after_stop
    );
}

#[tokio::test(flavor = "current_thread")]
async fn kill_overtakes_the_backlog() {
    let system = System::new();
    let (flooded, handled) = flood(&system).await;
    // Let it work a little first, so the kill lands mid-backlog.
    let echo = system.spawn(Echo).unwrap();
    echo.ask(Ping(0)).await.unwrap();
    let at_kill = handled.load(Ordering::Relaxed);
    flooded.kill();
    assert_eq!(flooded.wait_stopped().await, StopReason::Killed);
    assert_eq!(handled.load(Ordering::Relaxed), at_kill);
    assert!(at_kill < BACKLOG);
}
