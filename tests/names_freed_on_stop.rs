//! Names map to live actors only: `lookup` is typed, a taken name is refused,
//! and once the actor has stopped its names are free for reuse.

mod support;

use proscenium::prelude::*;
use proscenium::RegisterError;
use support::{Panic, Record, Recorder, Seen};

/// Another actor type, to look a name up with the wrong type.
struct Other;
impl Actor for Other {}

#[tokio::test]
async fn spawn_named_can_be_looked_up_with_its_type() {
    let system = System::new();
    let actor = system
        .spawn_named("recorder", Recorder::<1024>::new())
        .unwrap();

    let found = system.lookup::<Recorder>("recorder");

    assert_eq!(found.as_ref(), Some(&actor));
    found.unwrap().tell(Record(3)).await.unwrap();
    assert_eq!(actor.ask(Seen).await, Ok(vec![3]));
}

#[tokio::test]
async fn lookup_with_another_type_or_name_finds_nothing() {
    let system = System::new();
    system
        .spawn_named("recorder", Recorder::<1024>::new())
        .unwrap();

    assert!(system.lookup::<Other>("recorder").is_none());
    assert!(system.lookup::<Recorder>("nobody").is_none());
}

#[tokio::test]
async fn spawn_named_refuses_a_taken_name() {
    let system = System::new();
    let first = system
        .spawn_named("recorder", Recorder::<1024>::new())
        .unwrap();

    let second = system.spawn_named("recorder", Other);

    assert_eq!(
        second.unwrap_err(),
        SpawnError::NameTaken("recorder".to_owned())
    );
    assert_eq!(system.lookup::<Recorder>("recorder"), Some(first));
}

#[tokio::test]
async fn register_names_a_running_actor() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();

    system.register("late", &actor).unwrap();

    assert_eq!(system.lookup::<Recorder>("late"), Some(actor));
}

#[tokio::test]
async fn register_refuses_a_taken_name() {
    let system = System::new();
    let first = system
        .spawn_named("taken", Recorder::<1024>::new())
        .unwrap();
    let second = system.spawn(Recorder::<1024>::new()).unwrap();

    assert_eq!(
        system.register("taken", &second),
        Err(RegisterError::NameTaken("taken".to_owned()))
    );
    assert_eq!(system.lookup::<Recorder>("taken"), Some(first));
}

#[tokio::test]
async fn register_refuses_a_stopped_actor() {
    let system = System::new();
    let actor = system.spawn(Recorder::<1024>::new()).unwrap();
    actor.stop();
    actor.wait_stopped().await;

    assert_eq!(
        system.register("ghost", &actor),
        Err(RegisterError::Stopped)
    );
    assert!(system.lookup::<Recorder>("ghost").is_none());
    system.spawn_named("ghost", Other).unwrap();
}

#[tokio::test]
async fn one_actor_may_have_several_names() {
    let system = System::new();
    let actor = system
        .spawn_named("first", Recorder::<1024>::new())
        .unwrap();
    system.register("second", &actor).unwrap();

    assert_eq!(system.lookup::<Recorder>("first"), Some(actor.clone()));
    assert_eq!(system.lookup::<Recorder>("second"), Some(actor));
}

#[tokio::test]
async fn a_stopped_actors_names_are_free_for_reuse() {
    let system = System::new();
    let old = system
        .spawn_named("first", Recorder::<1024>::new())
        .unwrap();
    system.register("second", &old).unwrap();

    old.stop();
    old.wait_stopped().await;

    assert!(system.lookup::<Recorder>("first").is_none());
    assert!(system.lookup::<Recorder>("second").is_none());
    let new = system
        .spawn_named("first", Recorder::<1024>::new())
        .unwrap();
    system.register("second", &new).unwrap();
    assert_ne!(new.id(), old.id());
    assert_eq!(system.lookup::<Recorder>("first"), Some(new.clone()));
    assert_eq!(system.lookup::<Recorder>("second"), Some(new));
}

#[tokio::test]
async fn a_killed_or_failed_actors_name_is_free() {
    let system = System::new();
    let killed = system
        .spawn_named("killed", Recorder::<1024>::new())
        .unwrap();
    let failed = system
        .spawn_named("failed", Recorder::<1024>::new())
        .unwrap();

    killed.kill();
    failed.tell(Panic("down")).await.unwrap();
    killed.wait_stopped().await;
    failed.wait_stopped().await;

    assert!(system.lookup::<Recorder>("killed").is_none());
    assert!(system.lookup::<Recorder>("failed").is_none());
    system.spawn_named("killed", Other).unwrap();
    system.spawn_named("failed", Other).unwrap();
}

/// Names a child in `on_start`; answers `Ready` once started.
struct Parent;
impl Actor for Parent {
    async fn on_start(&mut self, ctx: &mut Context<Self>) -> Result<(), ActorError> {
        ctx.spawn_named("child", Recorder::<1024>::new())?;
        Ok(())
    }
}

struct Ready;
impl Message for Ready {
    type Reply = ();
}

impl Handler<Ready> for Parent {
    async fn handle(&mut self, _: Ready, _ctx: &mut Context<Self>) {}
}

#[tokio::test]
async fn a_named_childs_name_is_freed_when_its_parent_stops() {
    let system = System::new();
    let parent = system.spawn(Parent).unwrap();
    parent.ask(Ready).await.unwrap();
    let child = system.lookup::<Recorder>("child").unwrap();

    parent.stop();
    parent.wait_stopped().await;

    assert!(!child.is_alive());
    assert!(system.lookup::<Recorder>("child").is_none());
    system.spawn_named("child", Other).unwrap();
}

#[tokio::test]
async fn a_child_name_taken_fails_the_parents_start() {
    let system = System::new();
    let first = system.spawn(Parent).unwrap();
    first.ask(Ready).await.unwrap();

    let second = system.spawn(Parent).unwrap();

    match second.wait_stopped().await {
        StopReason::Failed(reason) => {
            assert!(reason.message().contains("on_start failed"), "{reason}");
            assert!(reason.message().contains("`child`"), "{reason}");
        }
        other => panic!("expected the second parent to fail, got {other:?}"),
    }
    assert!(first.is_alive());
}
