//! `#[derive(Actor)]`: struct shapes, generics, and the `#[actor(..)]`
//! attributes taking effect on a running actor.

use std::collections::HashMap;
use std::hash::Hash;

use proscenium::prelude::*;
use tokio::sync::oneshot;

#[derive(Actor, Default)]
struct Named {
    count: u64,
}

#[allow(dead_code)] // only the derive is under test
#[derive(Actor)]
struct Tuple(u64, String);

#[derive(Actor)]
struct Unit;

#[derive(Actor)]
#[actor(mailbox = 256)]
struct Sized256;

const CAPACITY: usize = 8;

#[derive(Actor)]
#[actor(mailbox = CAPACITY)]
struct FromConst;

#[derive(Actor)]
#[actor(unbounded)]
struct Firehose;

#[derive(Actor)]
#[actor(name = "clock", mailbox = 4)]
struct Clock;

#[derive(Actor)]
#[actor(name = "split")]
#[actor(unbounded)]
struct SplitAttrs;

#[derive(Actor)]
struct Cache<K, V>
where
    K: Eq + Hash,
{
    entries: HashMap<K, V>,
}

#[allow(dead_code)] // only the derive is under test
#[derive(Actor)]
struct Greeter<'a> {
    greeting: &'a str,
}

#[allow(dead_code)] // only the derive is under test
#[derive(Actor)]
struct Sized<const N: usize> {
    slots: [u8; N],
}

struct Get;
impl Message for Get {
    type Reply = u64;
}
impl Handler<Get> for Named {
    async fn handle(&mut self, _: Get, _ctx: &mut Context<Self>) -> u64 {
        self.count += 1;
        self.count
    }
}

struct Insert<K, V>(K, V);
impl<K: Send + 'static, V: Send + 'static> Message for Insert<K, V> {
    type Reply = usize;
}
impl<K, V> Handler<Insert<K, V>> for Cache<K, V>
where
    K: Eq + Hash + Send + 'static,
    V: Send + 'static,
{
    async fn handle(&mut self, Insert(k, v): Insert<K, V>, _ctx: &mut Context<Self>) -> usize {
        self.entries.insert(k, v);
        self.entries.len()
    }
}

#[test]
fn defaults_match_a_hand_written_empty_impl() {
    assert_eq!(Named::mailbox(), Mailbox::default());
    assert_eq!(Named::DEFAULT_NAME, None);
    assert_eq!(Tuple::mailbox(), Mailbox::default());
    assert_eq!(Unit::mailbox(), Mailbox::default());
}

#[test]
fn attributes_set_mailbox_and_name() {
    assert_eq!(Sized256::mailbox(), Mailbox::Bounded(256));
    assert_eq!(FromConst::mailbox(), Mailbox::Bounded(CAPACITY));
    assert_eq!(Firehose::mailbox(), Mailbox::Unbounded);
    assert_eq!(Clock::mailbox(), Mailbox::Bounded(4));
    assert_eq!(Clock::DEFAULT_NAME, Some("clock"));
    assert_eq!(SplitAttrs::mailbox(), Mailbox::Unbounded);
    assert_eq!(SplitAttrs::DEFAULT_NAME, Some("split"));
}

#[test]
fn generic_actors_get_the_impl() {
    assert_eq!(Cache::<String, u8>::mailbox(), Mailbox::default());
    assert_eq!(Greeter::<'static>::mailbox(), Mailbox::default());
    assert_eq!(Sized::<4>::mailbox(), Mailbox::default());
}

#[tokio::test]
async fn derived_actors_spawn_and_handle_messages() {
    let system = System::new();
    let named = system.spawn(Named::default()).unwrap();
    assert_eq!(named.ask(Get).await.unwrap(), 1);

    let cache = system
        .spawn(Cache::<String, u8> {
            entries: HashMap::new(),
        })
        .unwrap();
    assert_eq!(cache.ask(Insert("a".to_owned(), 1)).await.unwrap(), 1);
    assert_eq!(cache.ask(Insert("b".to_owned(), 2)).await.unwrap(), 2);

    let tuple = system.spawn(Tuple(1, "one".to_owned())).unwrap();
    let greeter = system.spawn(Greeter { greeting: "hi" }).unwrap();
    let sized = system.spawn(Sized { slots: [0; 2] }).unwrap();
    assert!(tuple.is_alive() && greeter.is_alive() && sized.is_alive());
    system.shutdown().await;
}

#[tokio::test]
async fn spawn_default_named_registers_the_derived_name() {
    let system = System::new();
    let clock = system.spawn_default_named(Clock).unwrap();
    assert_eq!(system.lookup::<Clock>("clock"), Some(clock.clone()));
    let again = system.spawn_default_named(Clock).unwrap_err();
    assert!(matches!(again, SpawnError::NameTaken(name) if name == "clock"));
    clock.stop();
    clock.wait_stopped().await;
    assert!(system.lookup::<Clock>("clock").is_none());
}

#[tokio::test]
async fn spawn_default_named_without_a_name_is_an_error() {
    let error = System::new().spawn_default_named(Unit).unwrap_err();
    assert!(
        matches!(&error, SpawnError::NoDefaultName(name) if name.ends_with("Unit")),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("add `#[actor(name = \"...\")]`"),
        "{error}"
    );
}

// ===== mailbox attributes on a running actor =====

/// Blocks in its handler until released, so its mailbox fills up.
#[derive(Actor)]
#[actor(mailbox = 1)]
struct Tiny;

#[derive(Actor)]
#[actor(unbounded)]
struct Bottomless;

struct Block {
    started: oneshot::Sender<()>,
    release: oneshot::Receiver<()>,
}
impl Message for Block {
    type Reply = ();
}

struct Ping;
impl Message for Ping {
    type Reply = ();
}

async fn block(block: Block) {
    let _ = block.started.send(());
    let _ = block.release.await;
}

impl Handler<Block> for Tiny {
    async fn handle(&mut self, msg: Block, _ctx: &mut Context<Self>) {
        block(msg).await;
    }
}
impl Handler<Ping> for Tiny {
    async fn handle(&mut self, _: Ping, _ctx: &mut Context<Self>) {}
}
impl Handler<Block> for Bottomless {
    async fn handle(&mut self, msg: Block, _ctx: &mut Context<Self>) {
        block(msg).await;
    }
}
impl Handler<Ping> for Bottomless {
    async fn handle(&mut self, _: Ping, _ctx: &mut Context<Self>) {}
}

/// Sends a `Block` and returns once the handler holds the actor.
async fn blocked<A: Handler<Block>>(actor: &ActorRef<A>) -> oneshot::Sender<()> {
    let (started, started_rx) = oneshot::channel();
    let (release, release_rx) = oneshot::channel();
    actor
        .tell(Block {
            started,
            release: release_rx,
        })
        .await
        .unwrap();
    started_rx.await.unwrap();
    release
}

#[tokio::test]
async fn bounded_one_mailbox_is_full_after_one_queued_message() {
    let system = System::new();
    let tiny = system.spawn(Tiny).unwrap();
    let release = blocked(&tiny).await;
    tiny.try_tell(Ping).unwrap();
    let full = tiny.try_tell(Ping).unwrap_err();
    assert!(full.is_full());
    release.send(()).unwrap();
    tiny.ask(Ping).await.unwrap();
    system.shutdown().await;
}

#[tokio::test]
async fn unbounded_mailbox_never_fills() {
    let system = System::new();
    let bottomless = system.spawn(Bottomless).unwrap();
    let release = blocked(&bottomless).await;
    for _ in 0..2 * Mailbox::DEFAULT_CAPACITY {
        bottomless.try_tell(Ping).unwrap();
    }
    release.send(()).unwrap();
    bottomless.ask(Ping).await.unwrap();
    system.shutdown().await;
}
