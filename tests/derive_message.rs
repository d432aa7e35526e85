//! `#[derive(Message)]`: reply types, struct and enum shapes, generics.

use std::any::type_name;
use std::marker::PhantomData;

use proscenium::prelude::*;

#[derive(Message)]
#[message(reply = u64)]
struct Add(u64);

#[derive(Message)]
#[message(reply = String)]
struct Greet {
    name: String,
}

#[derive(Message)]
struct Tick;

#[derive(Message)]
#[message(reply = Result<Vec<u8>, String>)]
enum Command {
    Read { len: usize },
    Fail,
}

#[derive(Message)]
#[message(reply = T)]
struct Echo<T>(T);

#[derive(Message)]
#[message(reply = Option<&'a str>)]
struct Lookup<'a> {
    key: &'a str,
}

#[derive(Message)]
#[message(reply = usize)]
struct Count<T>
where
    T: Default,
{
    _items: PhantomData<T>,
}

fn reply_of<M: Message>() -> &'static str {
    type_name::<M::Reply>()
}

#[test]
fn reply_types_come_from_the_attribute() {
    assert_eq!(reply_of::<Add>(), "u64");
    assert_eq!(reply_of::<Greet>(), type_name::<String>());
    assert_eq!(reply_of::<Tick>(), "()");
    assert_eq!(
        reply_of::<Command>(),
        type_name::<Result<Vec<u8>, String>>()
    );
    assert_eq!(reply_of::<Echo<i8>>(), "i8");
    assert_eq!(reply_of::<Lookup<'static>>(), type_name::<Option<&str>>());
    assert_eq!(reply_of::<Count<u8>>(), "usize");
}

#[derive(Actor, Default)]
struct Store {
    total: u64,
}

impl Handler<Add> for Store {
    async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) -> u64 {
        self.total += n;
        self.total
    }
}
impl Handler<Greet> for Store {
    async fn handle(&mut self, msg: Greet, _ctx: &mut Context<Self>) -> String {
        format!("hello, {}", msg.name)
    }
}
impl Handler<Tick> for Store {
    async fn handle(&mut self, _: Tick, _ctx: &mut Context<Self>) {}
}
impl Handler<Command> for Store {
    async fn handle(&mut self, cmd: Command, _ctx: &mut Context<Self>) -> Result<Vec<u8>, String> {
        match cmd {
            Command::Read { len } => Ok(vec![0; len]),
            Command::Fail => Err("asked to fail".to_owned()),
        }
    }
}
impl<T: Send + 'static> Handler<Echo<T>> for Store {
    async fn handle(&mut self, Echo(value): Echo<T>, _ctx: &mut Context<Self>) -> T {
        value
    }
}
impl Handler<Lookup<'static>> for Store {
    async fn handle(
        &mut self,
        msg: Lookup<'static>,
        _ctx: &mut Context<Self>,
    ) -> Option<&'static str> {
        (msg.key == "answer").then_some("42")
    }
}

#[tokio::test]
async fn derived_messages_round_trip_through_an_actor() {
    let system = System::new();
    let store = system.spawn(Store::default()).unwrap();
    assert_eq!(store.ask(Add(2)).await.unwrap(), 2);
    store.tell(Tick).await.unwrap();
    let greeting = store.ask(Greet { name: "ada".into() }).await.unwrap();
    assert_eq!(greeting, "hello, ada");
    assert_eq!(
        store.ask(Command::Read { len: 3 }).await.unwrap(),
        Ok(vec![0; 3])
    );
    assert!(store.ask(Command::Fail).await.unwrap().is_err());
    assert_eq!(store.ask(Echo(vec!['x'])).await.unwrap(), vec!['x']);
    assert_eq!(
        store.ask(Lookup { key: "answer" }).await.unwrap(),
        Some("42")
    );
    system.shutdown().await;
}
