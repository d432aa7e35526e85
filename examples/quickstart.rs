//! A tour of the core API in one process: spawn, tell, ask, watch, stop.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example quickstart
//! ```

use std::time::Duration;

use proscenium::prelude::*;

/// Keeps a running total. It implements `Actor` by hand for its `on_stop`
/// hook; actors without hooks can `#[derive(Actor)]` instead.
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

// Each `#[handler]` method becomes a message (`Add { n }`, `Total`), its
// `Handler` impl, and methods on `ActorRef<Counter>` (trait `CounterRef`).
#[handlers]
impl Counter {
    /// Adds to the total; told, not asked.
    #[handler]
    async fn add(&mut self, n: u64) {
        self.total += n;
    }

    /// Asks for the total.
    #[handler]
    async fn total(&mut self) -> u64 {
        self.total
    }
}

/// Watches another actor and reports when it stops.
#[derive(Actor)]
struct Monitor {
    stopped: Option<tokio::sync::oneshot::Sender<Terminated>>,
}

#[handlers]
impl Monitor {
    /// Asks the monitor to watch a counter.
    #[handler]
    async fn watch_counter(&mut self, counter: ActorRef<Counter>, ctx: &mut Context<Self>) {
        ctx.watch(&counter);
    }
}

// `Terminated` is the runtime's own message, so its handler is written out.
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
        counter.tell_add(n).await?; // the same as `counter.tell(Add { n })`
    }

    // ask: wait for the reply, with the default deadline or one of our own.
    let total = counter.total().await?; // the same as `counter.ask(Total)`
    println!("total after ten tells: {total}");
    assert_eq!(total, 55);
    let total = counter.total_timeout(Duration::from_secs(1)).await?;
    assert_eq!(total, 55);
    assert_eq!(counter.ask(Total).await?, 55);

    // lookup by name.
    let found = system
        .lookup::<Counter>("counter")
        .ok_or("counter not registered")?;
    assert_eq!(found, counter);

    // watch: the monitor receives exactly one Terminated when the counter stops.
    let (tx, rx) = tokio::sync::oneshot::channel();
    let monitor = system.spawn(Monitor { stopped: Some(tx) })?;
    monitor.watch_counter(counter.clone()).await?;

    // stop: graceful; what is queued is handled first.
    counter.tell_add(45).await?;
    counter.stop();
    let reason = counter.wait_stopped().await;
    let terminated = rx.await?;
    println!("monitor saw {} stop: {}", terminated.id, terminated.reason);
    assert_eq!(terminated.id, counter.id());
    assert_eq!(reason, StopReason::Normal);

    // A stopped actor refuses messages and hands them back.
    let refused = counter.tell_add(1).await.map_err(SendError::into_inner);
    assert!(matches!(refused, Err(Add { n: 1 })));
    println!("a tell to the stopped counter was refused and handed back");
    assert!(system.lookup::<Counter>("counter").is_none());

    system.shutdown().await;
    println!("system shut down");
    Ok(())
}
