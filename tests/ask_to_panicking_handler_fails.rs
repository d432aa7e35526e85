//! An ask whose handler panics gets `AskError::Failed` with the panic text,
//! not a timeout; under a supervisor the actor then serves the next ask.

use std::time::Duration;

use proscenium::prelude::*;

#[derive(Default)]
struct Fragile {
    calls: u32,
}

impl Actor for Fragile {}

struct Divide(u32);
impl Message for Divide {
    type Reply = u32;
}

impl Handler<Divide> for Fragile {
    async fn handle(&mut self, Divide(by): Divide, _: &mut Context<Self>) -> u32 {
        self.calls += 1;
        if by == 0 {
            panic!("division by zero requested");
        }
        100 / by
    }
}

/// Spawns a `Fragile` child and forwards asks to it.
struct Parent {
    child: Option<ActorRef<Fragile>>,
}

impl Actor for Parent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        self.child = Some(ctx.spawn(Fragile::default())?);
        Ok(())
    }
}

struct GetChild;
impl Message for GetChild {
    type Reply = Option<ActorRef<Fragile>>;
}

impl Handler<GetChild> for Parent {
    async fn handle(&mut self, _: GetChild, _: &mut Context<Self>) -> Option<ActorRef<Fragile>> {
        self.child.clone()
    }
}

// A deadline of an hour under paused time: a hang would show up as a
// timeout error, not as a slow test.
const NEVER: Duration = Duration::from_secs(3_600);

#[tokio::test(start_paused = true)]
async fn ask_gets_failed_with_the_panic_text() {
    let system = System::new();
    let fragile = system.spawn(Fragile::default()).unwrap();
    let error = fragile.ask_timeout(Divide(0), NEVER).await.unwrap_err();
    match error {
        AskError::Failed { reason } => {
            assert!(reason.contains("division by zero requested"), "{reason}")
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    // Unsupervised, the failure stops the actor.
    assert!(matches!(
        fragile.wait_stopped().await,
        StopReason::Failed(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn supervised_child_keeps_serving_after_the_failed_ask() {
    let system = System::new();
    let parent = system.spawn(Parent { child: None }).unwrap();
    let child = parent.ask(GetChild).await.unwrap().unwrap();
    assert!(matches!(
        child.ask_timeout(Divide(0), NEVER).await,
        Err(AskError::Failed { .. })
    ));
    assert_eq!(child.ask_timeout(Divide(4), NEVER).await, Ok(25));
    assert!(child.is_alive());
}

/// Fails itself (without panicking) on a bad request.
#[derive(Default)]
struct Strict {
    handled: u32,
}

impl Actor for Strict {}

struct Check(bool);
impl Message for Check {
    type Reply = Result<u32, String>;
}

impl Handler<Check> for Strict {
    async fn handle(&mut self, Check(ok): Check, ctx: &mut Context<Self>) -> Result<u32, String> {
        self.handled += 1;
        if !ok {
            ctx.fail("a bad check");
            return Err("bad".into());
        }
        Ok(ctx.restart_count())
    }
}

struct StrictParent {
    child: Option<ActorRef<Strict>>,
}

impl Actor for StrictParent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        self.child = Some(ctx.spawn(Strict::default())?);
        Ok(())
    }
}

struct GetStrict;
impl Message for GetStrict {
    type Reply = Option<ActorRef<Strict>>;
}

impl Handler<GetStrict> for StrictParent {
    async fn handle(&mut self, _: GetStrict, _: &mut Context<Self>) -> Option<ActorRef<Strict>> {
        self.child.clone()
    }
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_calls_fail_is_a_supervised_failure() {
    let system = System::new();
    let parent = system.spawn(StrictParent { child: None }).unwrap();
    let strict = parent.ask(GetStrict).await.unwrap().unwrap();
    assert_eq!(strict.ask_timeout(Check(true), NEVER).await, Ok(Ok(0)));
    // The asker gets the handler's reply; then the actor fails and restarts.
    assert_eq!(
        strict.ask_timeout(Check(false), NEVER).await,
        Ok(Err("bad".into()))
    );
    assert_eq!(strict.ask_timeout(Check(true), NEVER).await, Ok(Ok(1)));
    // Unsupervised, the same failure stops it with the reason.
    let lone = system.spawn(Strict::default()).unwrap();
    let _ = lone.ask_timeout(Check(false), NEVER).await;
    assert_eq!(
        lone.wait_stopped().await,
        StopReason::Failed("a bad check".into())
    );
}
