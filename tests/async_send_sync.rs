//! The auto traits of the public handles, futures and errors, checked at
//! compile time as tokio's `tests/async_send_sync.rs` does: refs and systems
//! cross threads, and the futures of `tell`/`ask` can be spawned, even for
//! actors and messages that are not `Sync`.

use std::cell::Cell;
use std::future::Future;

use proscenium::prelude::*;
use proscenium::{DeadLetter, DeadLetters, RegisterError, TimerHandle};

fn send<T: Send>(_: &T) {}
fn send_sync<T: Send + Sync>() {}
fn send_sync_clone<T: Send + Sync + Clone>() {}
fn send_sync_error<T: std::error::Error + Send + Sync + 'static>() {}
fn send_future<F: Future + Send>(_: &F) {}

/// An actor whose state is `Send` but not `Sync`.
struct Unshared(Cell<u64>);
impl Actor for Unshared {}

/// A message that is `Send` but not `Sync`.
struct Poke(Cell<u64>);
impl Message for Poke {
    type Reply = u64;
}

impl Handler<Poke> for Unshared {
    async fn handle(&mut self, Poke(n): Poke, _ctx: &mut Context<Self>) -> u64 {
        self.0.set(self.0.get() + n.get());
        self.0.get()
    }
}

impl Handler<Terminated> for Unshared {
    async fn handle(&mut self, _: Terminated, _ctx: &mut Context<Self>) {}
}

/// Compiles only if a handler may hold the context across an await.
struct HoldsContext;
impl Message for HoldsContext {
    type Reply = ();
}

impl Handler<HoldsContext> for Unshared {
    async fn handle(&mut self, _: HoldsContext, ctx: &mut Context<Self>) {
        tokio::task::yield_now().await;
        let _ = ctx.id();
    }
}

#[test]
fn handles_are_send_sync_clone() {
    send_sync_clone::<ActorRef<Unshared>>();
    send_sync_clone::<Recipient<Poke>>();
    send_sync_clone::<System>();
    send_sync_clone::<TimerHandle>();
    send_sync::<Context<Unshared>>();
    send_sync::<ActorId>();
    send_sync::<StopReason>();
    send_sync::<Terminated>();
    send_sync::<DeadLetter>();
}

#[test]
fn errors_are_send_sync_errors() {
    send_sync_error::<AskError>();
    send_sync_error::<SpawnError>();
    send_sync_error::<RegisterError>();
    send_sync_error::<SendError<String>>();
    send_sync_error::<TrySendError<String>>();
}

#[test]
fn a_send_error_holding_a_non_sync_message_is_still_send() {
    fn send_only<T: Send>() {}
    send_only::<SendError<Poke>>();
    send_only::<TrySendError<Poke>>();
}

#[tokio::test]
async fn futures_of_refs_and_recipients_are_send() {
    let system = System::new();
    let actor = system.spawn(Unshared(Cell::new(0))).unwrap();
    let recipient: Recipient<Poke> = actor.recipient();
    let mut dead_letters: DeadLetters = system.dead_letters();

    send_future(&actor.tell(Poke(Cell::new(1))));
    send_future(&actor.ask(Poke(Cell::new(1))));
    send_future(&actor.ask_timeout(Poke(Cell::new(1)), std::time::Duration::from_secs(1)));
    send_future(&actor.wait_stopped());
    send_future(&recipient.tell(Poke(Cell::new(1))));
    send_future(&recipient.ask(Poke(Cell::new(1))));
    send_future(&dead_letters.recv());
    send_future(&system.shutdown());
    send(&dead_letters);

    // And they really run on another task.
    let reply = tokio::spawn(async move { actor.ask(Poke(Cell::new(2))).await })
        .await
        .unwrap();
    assert_eq!(reply, Ok(2));
}
