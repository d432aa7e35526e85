//! A tour of the core API in one process: spawn, tell, ask, watch, stop.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use proscenium::prelude::*;

/// Keeps a running total.
#[derive(Default)]
struct Counter {
    total: u64,
}

impl Actor for Counter {
    async fn on_stop(&mut self, ctx: &mut Context<Self>, reason: &StopReason) {
        println!(
            "counter {} stopping ({reason}) with total {}",
            ctx.id(),
            self.total
        );
    }
}

/// Adds to the total; told, not asked.
struct Add(u64);
impl Message for Add {
    type Reply = ();
}

/// Asks for the total.
struct Total;
impl Message for Total {
    type Reply = u64;
}

impl Handler<Add> for Counter {
    async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) {
        self.total += n;
    }
}

impl Handler<Total> for Counter {
    async fn handle(&mut self, _: Total, _ctx: &mut Context<Self>) -> u64 {
        self.total
    }
}

/// Watches another actor and reports when it stops.
struct Monitor {
    stopped: Option<tokio::sync::oneshot::Sender<Terminated>>,
}

impl Actor for Monitor {}

/// Asks the monitor to watch a counter.
struct WatchCounter(ActorRef<Counter>);
impl Message for WatchCounter {
    type Reply = ();
}

impl Handler<WatchCounter> for Monitor {
    async fn handle(&mut self, WatchCounter(counter): WatchCounter, ctx: &mut Context<Self>) {
        ctx.watch(&counter);
    }
}

impl Handler<Terminated> for Monitor {
    async fn handle(&mut self, terminated: Terminated, _ctx: &mut Context<Self>) {
        if let Some(tx) = self.stopped.take() {
            let _ = tx.send(terminated);
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let system = System::new();

    // spawn: the ref comes back at once; the actor runs in its own task.
    let counter = system.spawn_named("counter", Counter::default())?;
    println!("spawned counter {}", counter.id());

    // tell: fire and forget, in order per sender.
    for n in 1..=10 {
        counter.tell(Add(n)).await?;
    }

    // ask: wait for the reply, with the default deadline or one of our own.
    let total = counter.ask(Total).await?;
    println!("total after ten tells: {total}");
    assert_eq!(total, 55);
    let total = counter.ask_timeout(Total, Duration::from_secs(1)).await?;
    assert_eq!(total, 55);

    // lookup by name.
    let found = system
        .lookup::<Counter>("counter")
        .ok_or("counter not registered")?;
    assert_eq!(found, counter);

    // watch: the monitor receives exactly one Terminated when the counter stops.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let monitor = system.spawn(Monitor { stopped: Some(tx) })?;
    monitor.ask(WatchCounter(counter.clone())).await?;

    // stop: graceful; what is queued is handled first.
    counter.tell(Add(45)).await?;
    counter.stop();
    let reason = counter.wait_stopped().await;
    let terminated = rx.await?;
    println!("monitor saw {} stop: {}", terminated.id, terminated.reason);
    assert_eq!(terminated.id, counter.id());
    assert_eq!(reason, StopReason::Normal);

    // A stopped actor refuses messages and hands them back.
    let refused = counter.tell(Add(1)).await.map_err(SendError::into_inner);
    assert!(matches!(refused, Err(Add(1))));
    println!("a tell to the stopped counter was refused and handed back");
    assert!(system.lookup::<Counter>("counter").is_none());

    system.shutdown().await;
    println!("system shut down");
    Ok(())
}
